"""Shadow traffic: production calls mirrored to the successor, through real clients and the fake.

OLD is Legacy at LEGACY_AT and its successor (by policy) is NEW: every call to OLD is a
candidate for mirroring. The caller must never wait for a shadow, never see its errors, and the
usage ledger must never see a shadow call.
"""

from __future__ import annotations

import json
import logging
import threading
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest

import bedrock_lifecycle as bl
from bedrock_lifecycle.ledger import JsonlLedger, MemoryLedger, read_shadow_records
from bedrock_lifecycle.testing import FakeBedrock, FakeModel, FakeUsage, Scenario

from ._world import ACTIVE_AT, LEGACY_AT, MESSAGES, NEW, OLD, World, call

POLICY = bl.Policy(successors={OLD: NEW})
OPERATIONS = ["Converse", "ConverseStream", "InvokeModel", "InvokeModelWithResponseStream"]
TWIN = {
    "Converse": "Converse",
    "ConverseStream": "Converse",
    "InvokeModel": "InvokeModel",
    "InvokeModelWithResponseStream": "InvokeModel",
}


@pytest.fixture
def local(local_world: World) -> World:
    return local_world


@pytest.fixture(autouse=True)
def _quiet() -> Iterator[None]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", bl.LifecycleWarning)
        yield


def shadow_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name.startswith("bedrock-lifecycle-shadow")]


PRICES = {NEW: {"input_per_1m": 3.0, "output_per_1m": 15.0}}  # not in the bundled book


def governed(world: World, shadow: bl.Shadow, **kwargs: Any) -> bl.LifecycleClient:
    world.at(LEGACY_AT)
    return world.client(policy=POLICY, shadow=shadow, prices=PRICES, **kwargs)


def shadow_calls(world: World) -> list[tuple[str, str | None]]:
    return [(r.operation, r.model_id) for r in world.fake.requests if r.model_id == NEW]


@pytest.mark.parametrize("operation", OPERATIONS)
def test_every_sampled_call_is_mirrored_once_and_the_caller_gets_the_primary(
    world: World, operation: str
) -> None:
    shadow = bl.Shadow(rate=1.0)
    client = governed(world, shadow)
    responses = [call(client, operation, OLD) for _ in range(3)]
    shadow.close()
    for response in responses:
        block = response["ResponseMetadata"]["BedrockLifecycle"]
        assert block["invokedModelId"] == OLD
        assert block["fallback"] is False
    assert shadow_calls(world) == [(TWIN[operation], NEW)] * 3
    records = shadow.records()
    assert len(records) == 3
    for record in records:
        assert (record.primary_model_id, record.shadow_model_id) == (OLD, NEW)
        assert (record.operation, record.shadow_operation) == (operation, TWIN[operation])
        assert record.region == "us-east-1"
        assert record.primary.ok
        assert record.shadow.ok
        assert record.primary.input_tokens == 1000
        assert record.shadow.output_tokens == 500
        assert record.shadow.cost_usd == pytest.approx(0.0105)  # 1000 in, 500 out
        assert record.primary.cost_usd == pytest.approx(0.0105)  # bundled, standard price
        assert record.primary.stop_reason is not None
        assert record.shadow.stop_reason is not None
        assert record.similarity is not None
        assert 0.0 <= record.similarity <= 1.0
        assert record.prompt_hash is not None
        assert len(record.prompt_hash) == 64
        assert record.prompt is None
        assert record.primary.text is None
    assert shadow.stats() == {"sent": 3, "dropped": 0, "failed": 0, "limited": 0}
    # The usage ledger saw the three primary calls and nothing of the shadows.
    usage = client.ledger.records()  # type: ignore[union-attr]
    assert [r.invoked_model_id for r in usage] == [OLD] * 3
    assert not shadow_threads()


def test_a_failing_shadow_changes_nothing_for_the_caller(local: World) -> None:
    shadow = bl.Shadow(rate=1.0)
    client = governed(local, shadow)
    local.fake.inject("Converse", "throttling", model_id=NEW)
    response = call(client, "Converse", OLD)
    shadow.close()
    assert response["output"]["message"]["content"][0]["text"]
    [record] = shadow.records()
    assert record.shadow.error_code == "ThrottlingException"
    assert record.shadow.ok is False
    assert record.similarity is None
    assert record.primary.ok
    assert shadow.stats()["failed"] == 1


def test_the_caller_does_not_wait_for_a_slow_shadow(local: World) -> None:
    shadow = bl.Shadow(rate=1.0)
    client = governed(local, shadow)
    local.fake.inject("Converse", "latency", model_id=NEW, delay=1.0)
    call(client, "Converse", OLD)
    # The primary has returned while its shadow is still waiting on the fake.
    assert shadow.stats()["sent"] == 0
    shadow.close(timeout=5.0)
    assert shadow.stats()["sent"] == 1
    assert len(shadow.records()) == 1


def test_shadows_past_max_in_flight_are_dropped_and_counted(local: World) -> None:
    shadow = bl.Shadow(rate=1.0, max_in_flight=1)
    client = governed(local, shadow)
    local.fake.inject("Converse", "latency", model_id=NEW, delay=0.5)
    for _ in range(4):
        call(client, "Converse", OLD)
    assert shadow.dropped == 3
    shadow.close(timeout=5.0)
    assert shadow.stats() == {"sent": 1, "dropped": 3, "failed": 0, "limited": 0}
    assert len(shadow.records()) == 1
    assert not shadow_threads()


def test_close_abandons_what_it_cannot_finish_within_its_bound(local: World) -> None:
    shadow = bl.Shadow(rate=1.0, max_in_flight=4)
    client = governed(local, shadow)
    local.fake.inject("Converse", "latency", model_id=NEW, delay=0.4)
    for _ in range(8):
        call(client, "Converse", OLD)
    shadow.close(timeout=0.1)
    # A shadow already on the wire ends with its call (here 0.4 s); nothing else runs.
    for thread in shadow_threads():
        thread.join(2.0)
    assert not shadow_threads()
    stats = shadow.stats()
    assert stats["sent"] + stats["dropped"] == 8
    assert stats["dropped"] >= 4  # four had no room; the queued ones were abandoned
    assert len(shadow.records()) == stats["sent"]
    # After close, nothing more is mirrored.
    call(client, "Converse", OLD)
    assert shadow.stats()["sent"] == stats["sent"]


def test_rate_limit_stops_shadowing_for_the_minute_with_one_log_line(
    local: World, caplog: pytest.LogCaptureFixture
) -> None:
    shadow = bl.Shadow(rate=1.0, max_calls_per_minute=2)
    client = governed(local, shadow)
    with caplog.at_level(logging.WARNING, logger="bedrock_lifecycle.shadow"):
        for _ in range(5):
            call(client, "Converse", OLD)
    shadow.close()
    assert shadow.stats()["limited"] == 3
    assert len(shadow.records()) == 2
    lines = [r for r in caplog.records if "shadow_limited" in r.getMessage()]
    assert len(lines) == 1
    assert "max_calls_per_minute" in lines[0].getMessage()
    # The next minute (by the catalog's clock) has room again.
    local.at(LEGACY_AT.replace(minute=LEGACY_AT.minute + 1))
    call(client, "Converse", OLD)
    assert shadow.stats()["limited"] == 3


def test_cost_limit_stops_shadowing_for_the_day(local: World) -> None:
    shadow = bl.Shadow(rate=1.0, max_in_flight=1, max_cost_usd_per_day=0.000001)
    client = governed(local, shadow)
    call(client, "Converse", OLD)
    shadow_done = shadow.stats
    for _ in range(50):  # let the first shadow finish and its cost count
        if shadow_done()["sent"]:
            break
        threading.Event().wait(0.02)
    call(client, "Converse", OLD)
    shadow.close()
    assert shadow.stats()["sent"] == 1
    assert shadow.stats()["limited"] == 1


def test_models_filter_and_explicit_target(local: World) -> None:
    shadow = bl.Shadow(to=bl_nova(), rate=1.0, models=[OLD])
    client = governed(local, shadow)
    call(client, "Converse", NEW)  # not in models: not mirrored
    call(client, "Converse", OLD)
    shadow.close()
    [record] = shadow.records()
    assert record.shadow_model_id == bl_nova()


def bl_nova() -> str:
    return "amazon.nova-lite-v1:0"


def test_a_model_without_successor_and_fallback_calls_are_not_mirrored(local: World) -> None:
    shadow = bl.Shadow(rate=1.0)
    client = governed(local, shadow)
    call(client, "Converse", NEW)  # Active, no successor
    local.at(LEGACY_AT.replace(year=2026, month=3, day=5))  # OLD past end of life
    response = call(client, "Converse", OLD)
    assert response["ResponseMetadata"]["BedrockLifecycle"]["fallback"] is True
    shadow.close()
    assert shadow.records() == []
    assert shadow.stats()["sent"] == 0


def test_scorer_sees_request_and_both_responses(local: World) -> None:
    seen: list[tuple[Any, ...]] = []

    def scorer(request: Any, primary: Any, shadow_response: Any) -> float:
        seen.append((request["modelId"], primary["stopReason"], shadow_response["stopReason"]))
        return 0.75

    shadow = bl.Shadow(rate=1.0, scorer=scorer)
    client = governed(local, shadow)
    call(client, "ConverseStream", OLD)
    shadow.close()
    [record] = shadow.records()
    assert record.score == 0.75
    assert seen == [(OLD, record.primary.stop_reason, record.shadow.stop_reason)]


def test_a_scorer_that_raises_leaves_the_score_empty(local: World) -> None:
    def scorer(*_: Any) -> float:
        raise RuntimeError("judge down")

    shadow = bl.Shadow(rate=1.0, scorer=scorer)
    client = governed(local, shadow)
    call(client, "Converse", OLD)
    shadow.close()
    [record] = shadow.records()
    assert record.score is None
    assert record.shadow.ok


PROMPT = "Zanzibar quokka lighthouse"
REPLY = "Marmalade tessellation umbrella"


@pytest.fixture
def talkative() -> Iterator[World]:
    usage = FakeUsage(input_tokens=10, output_tokens=5)
    scenario = Scenario(
        models=(
            FakeModel(
                OLD,
                legacy_at=ACTIVE_AT.date(),
                eol_at=LEGACY_AT.replace(year=2027).date(),
                usage=usage,
                reply=REPLY,
            ),
            FakeModel(NEW, usage=usage, reply=REPLY + " too"),
        )
    )
    with FakeBedrock(scenario, now=ACTIVE_AT) as fake:
        yield World(fake, "inprocess")


@pytest.mark.parametrize("keep_text", [False, True])
def test_no_text_is_stored_unless_asked(talkative: World, tmp_path: Path, keep_text: bool) -> None:
    path = tmp_path / "shadow.jsonl"
    ledger = JsonlLedger[bl.ShadowRecord](str(path))
    shadow = bl.Shadow(rate=1.0, ledger=ledger, keep_text=keep_text)
    talkative.at(LEGACY_AT)
    client = talkative.client(policy=POLICY, shadow=shadow)
    messages = [{"role": "user", "content": [{"text": PROMPT}]}]
    client.converse(modelId=OLD, messages=messages)
    body = json.dumps({"anthropic_version": "bedrock-2023-05-31", "max_tokens": 64,
                       "messages": [{"role": "user", "content": PROMPT}]}).encode()  # fmt: skip
    client.invoke_model(modelId=OLD, body=body)["body"].read()
    shadow.close()
    ledger.close()
    stored = path.read_bytes()
    records = read_shadow_records(path)
    assert len(records) == 2
    assert (path.stat().st_mode & 0o777) == 0o600
    if keep_text:
        assert PROMPT.encode() in stored
        assert REPLY.encode() in stored
        assert all(r.primary.text and r.shadow.text for r in records)
    else:
        assert PROMPT.encode() not in stored
        assert REPLY.encode() not in stored
        assert b"Marmalade" not in stored
        assert all(r.primary.text is None and r.prompt is None for r in records)
    # The similarity was measured on the texts either way.
    assert all(r.similarity is not None and 0.5 < r.similarity < 1.0 for r in records)


def test_an_invoke_body_never_read_is_written_at_close(local: World) -> None:
    shadow = bl.Shadow(rate=1.0)
    client = governed(local, shadow)
    from ._world import ANTHROPIC_BODY

    response = client.invoke_model(modelId=OLD, body=ANTHROPIC_BODY)
    shadow.close()
    [record] = shadow.records()
    assert record.shadow.ok
    assert record.primary.stop_reason is None
    assert record.primary.input_tokens == 1000  # from the headers
    assert response["body"].read()  # the caller can still read its body


def test_install_mirrors_through_an_ungoverned_client_of_the_session(local: World) -> None:
    session: boto3.Session = local.fake.session("us-east-1")
    usage = MemoryLedger()
    shadow = bl.Shadow(rate=1.0)
    local.at(LEGACY_AT)
    bl.install(session, catalog=local.catalog(), policy=POLICY, ledger=usage, shadow=shadow)
    try:
        client = session.client("bedrock-runtime")
        client.converse(modelId=OLD, messages=MESSAGES)
        shadow.close()
    finally:
        bl.uninstall(session)
    [record] = shadow.records()
    assert (record.primary_model_id, record.shadow_model_id) == (OLD, NEW)
    assert [r.invoked_model_id for r in usage.records()] == [OLD]  # the shadow is not governed


def test_shadow_arguments_are_checked() -> None:
    with pytest.raises(ValueError, match="rate"):
        bl.Shadow(rate=1.5)
    with pytest.raises(ValueError, match="max_in_flight"):
        bl.Shadow(max_in_flight=0)
    with pytest.raises(TypeError, match="models"):
        bl.Shadow(models=OLD)
    with pytest.raises(ValueError, match="max_cost_usd_per_day"):
        bl.Shadow(max_cost_usd_per_day=-1)
    with pytest.raises(TypeError, match="scorer"):
        bl.Shadow(scorer="judge")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="shadow must be a Shadow"):
        bl.wrap(boto3.client("bedrock-runtime", region_name="us-east-1"), shadow=object())  # type: ignore[arg-type]


@pytest.mark.parametrize("reading", ["iter_chunks", "iter_lines", "readlines", "read_in_parts"])
def test_an_invoke_body_read_any_way_reaches_the_pair(world: World, reading: str) -> None:
    from ._world import ANTHROPIC_BODY

    shadow = bl.Shadow(rate=1.0)
    client = governed(world, shadow)
    body = client.invoke_model(modelId=OLD, body=ANTHROPIC_BODY)["body"]
    assert body.readable()
    if reading == "iter_chunks":
        data = b"".join(body.iter_chunks(chunk_size=7))
    elif reading == "iter_lines":
        data = b"".join(body.iter_lines(keepends=True))
    elif reading == "readlines":
        data = b"".join(body.readlines())
    else:
        data = body.read(5) + body.read()
    assert json.loads(data)["content"][0]["text"]  # the caller got the whole body
    shadow.close()
    [record] = shadow.records()
    assert record.primary.stop_reason == json.loads(data)["stop_reason"]
    assert record.primary.output_chars == len(json.loads(data)["content"][0]["text"])


def test_pairs_never_read_are_written_past_a_bound(
    local: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    from bedrock_lifecycle import _shadow

    from ._world import ANTHROPIC_BODY

    monkeypatch.setattr(_shadow, "_MAX_WAITING", 3)  # the bound, small enough to reach here
    shadow = bl.Shadow(rate=1.0, max_in_flight=1)
    client = governed(local, shadow)
    for number in range(8):  # bodies never read: each pair waits for its primary
        client.invoke_model(modelId=OLD, body=ANTHROPIC_BODY)
        for _ in range(200):  # one shadow at a time, so none is dropped
            if shadow.stats()["sent"] == number + 1:
                break
            threading.Event().wait(0.01)
    written_before_close = len(shadow.records())
    shadow.close()
    assert shadow.stats()["dropped"] == 0
    assert written_before_close >= 4  # the oldest were written while the others waited
    assert len(shadow.records()) == 8


@pytest.fixture
def picky() -> Iterator[World]:
    """NEW refuses temperature with top_p, as Claude Sonnet 4.5 does (a real Bedrock refusal)."""
    scenario = Scenario(
        models=(
            FakeModel(OLD, legacy_at=ACTIVE_AT.date(), eol_at=LEGACY_AT.replace(year=2027).date()),
            FakeModel(NEW, refuses_together=(("temperature", "top_p"),)),
        )
    )
    with FakeBedrock(scenario, now=ACTIVE_AT) as fake:
        yield World(fake, "inprocess")


def test_a_shadow_is_adapted_to_what_a_refusing_successor_accepts(picky: World) -> None:
    """The shadow is the request a fallback would send: a successor that refuses temperature
    with topP gets it without topP, and answers, instead of every shadow failing."""
    shadow = bl.Shadow(rate=1.0)
    picky.at(LEGACY_AT)
    client = picky.client(policy=POLICY, shadow=shadow)
    sampling = {"temperature": 0.5, "topP": 0.9}
    client.converse(modelId=OLD, messages=MESSAGES, inferenceConfig=sampling)
    body = json.dumps({"anthropic_version": "bedrock-2023-05-31", "max_tokens": 64,
                       "temperature": 0.5, "top_p": 0.9,
                       "messages": [{"role": "user", "content": "hi"}]}).encode()  # fmt: skip
    client.invoke_model(modelId=OLD, body=body)["body"].read()
    shadow.close()
    records = shadow.records()  # in the order the workers finished them
    assert sorted((r.shadow_operation, r.shadow.ok, r.shadow.error_code) for r in records) == [
        ("Converse", True, None),
        ("InvokeModel", True, None),
    ]
    sent = {r.operation: json.loads(r.body) for r in picky.fake.requests if r.model_id == NEW}
    assert sent["Converse"]["inferenceConfig"] == {"temperature": 0.5}
    assert "top_p" not in sent["InvokeModel"]
    assert sent["InvokeModel"]["temperature"] == 0.5
    # The primary went to OLD as the caller wrote it: both parameters.
    primary = [json.loads(r.body) for r in picky.fake.requests if r.model_id == OLD]
    assert primary[0]["inferenceConfig"] == sampling
    assert primary[1]["top_p"] == 0.9
