"""The async face through real aiobotocore clients against the fake, for every operation: the
same behaviour as the sync client (tests/functional/test_client.py), awaited."""

from __future__ import annotations

import asyncio
import json
import os
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError, EventStreamError, ParamValidationError

import bedrock_lifecycle as bl

from ._world import (
    EOL_AT,
    EOL_MESSAGE,
    EXTENDED_AT,
    LEGACY_AT,
    MESSAGES,
    NEW,
    OLD,
    OPERATIONS,
    RECORDED,
    AioWorld,
    call,
    meta,
)

# -- the client itself ----------------------------------------------------------------------


async def test_wrap_recognises_an_aiobotocore_client(world: AioWorld) -> None:
    runtime = await world.aio_runtime()
    client = bl.wrap(runtime, catalog=world.catalog())
    assert isinstance(client, bl.AsyncLifecycleClient)
    assert client.unwrap() is runtime
    assert isinstance(client.catalog, bl.Catalog)
    assert isinstance(client.ledger, bl.MemoryLedger)
    assert client.meta.region_name == "us-east-1"  # everything else passes through
    assert "AsyncLifecycleClient" in repr(client)
    again = bl.wrap(client, catalog=client.catalog)  # a governed client is not governed twice
    assert again.unwrap() is runtime


async def test_async_with_passes_through_and_closes_the_client(world: AioWorld) -> None:
    from aiobotocore.session import get_session

    from ._world import DUMMY_KEY, DUMMY_SECRET

    # A client not entered yet (what ``async with session.create_client(...)`` enters).
    made = await get_session()._create_client(
        "bedrock-runtime",
        region_name="us-east-1",
        endpoint_url=world.fake.endpoint_url,
        aws_access_key_id=DUMMY_KEY,
        aws_secret_access_key=DUMMY_SECRET,
    )
    left = []
    leave = made.__aexit__

    async def spy(*exc: Any) -> None:
        left.append(exc)
        await leave(*exc)

    made.__aexit__ = spy
    client = bl.wrap(made, catalog=world.catalog())
    async with client as entered:
        assert entered is client
        await call(entered, "Converse", OLD)
    assert world.invoked() == [OLD]
    assert left == [(None, None, None)]  # the client underneath was left (closed) once


async def test_the_environments_shared_policy_is_read_off_the_loop(
    world: AioWorld, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from ._world import DUMMY_KEY, DUMMY_SECRET

    # A named pipe as the policy file: reading it waits until a writer (a thread, 1 s later)
    # sends the policy. Read on the loop, it would stop the loop's heartbeat (every 10 ms) for
    # what is left of that second after the client is made.
    pipe = tmp_path / "policy.toml"
    os.mkfifo(pipe)
    monkeypatch.setenv("BEDROCK_LIFECYCLE_POLICY", str(pipe))
    beats = 0

    async def heartbeat() -> None:
        nonlocal beats
        while True:
            await asyncio.sleep(0.01)
            beats += 1

    def send_policy() -> None:
        time.sleep(1.0)
        pipe.write_text(f'[successors]\n"{OLD}" = "{NEW}"\n', "utf-8")

    beating = asyncio.create_task(heartbeat())
    writer = threading.Thread(target=send_policy, daemon=True)
    writer.start()
    try:
        async with bl.aio.client(
            region_name="us-east-1",
            endpoint_url=world.fake.endpoint_url,
            catalog=world.catalog(),
            aws_access_key_id=DUMMY_KEY,
            aws_secret_access_key=DUMMY_SECRET,
        ) as client:
            assert beats >= 30, beats  # the loop kept beating through the read
            assert client.policy.successors == {OLD: NEW}
    finally:
        beating.cancel()
        writer.join(timeout=5)


@pytest.mark.parametrize("operation", OPERATIONS)
async def test_active_model_passes_through_unchanged(world: AioWorld, operation: str) -> None:
    client = await world.aio_client()
    response = await call(client, operation, OLD)  # warnings are errors: none may be raised
    assert world.invoked(operation) == [OLD]
    assert meta(response) == {
        "requestedModelId": OLD,
        "invokedModelId": OLD,
        "state": "ACTIVE",
        "eolAt": "2026-03-01",
        "fallback": False,
        "adapted": [],
    }


@pytest.mark.parametrize("operation", OPERATIONS)
async def test_results_are_aiobotocores_own(world: AioWorld, operation: str) -> None:
    raw = await world.aio_runtime()
    governed = await world.aio_client()
    plain, ours = await call(raw, operation, OLD), await call(governed, operation, OLD)
    for response in (plain, ours):
        response.pop("ResponseMetadata")
    if "events" in plain:
        assert len(ours["events"]) == len(plain["events"])
        assert ours["events"][-1] == plain["events"][-1]
        del plain["events"], ours["events"]
    for response in (plain, ours):
        response.pop("stream", None)
        response.pop("body", None)
    assert ours.keys() == plain.keys()


# -- Legacy: warnings ---------------------------------------------------------------------------


@pytest.mark.parametrize("operation", OPERATIONS)
async def test_legacy_model_warns_once_at_the_callers_line(world: AioWorld, operation: str) -> None:
    world.at(LEGACY_AT)
    client = await world.aio_client(policy=bl.Policy(successors={OLD: NEW}))
    with pytest.warns(bl.LegacyModelWarning) as caught:
        response = await call(client, operation, OLD)
    [warning] = [w for w in caught if issubclass(w.category, bl.LifecycleWarning)]
    text = str(warning.message)
    assert OLD in text
    assert "2026-03-01" in text
    assert NEW in text
    assert warning.filename.endswith("_world.py")  # call() in _world.py awaited the client
    assert meta(response)["state"] == "LEGACY"
    await call(client, operation, OLD)  # once: the second call is silent (warnings are errors)


async def test_the_warning_points_at_the_awaiting_line(world: AioWorld) -> None:
    world.at(EXTENDED_AT)
    client = await world.aio_client()
    with pytest.warns(bl.ExtendedAccessWarning) as caught:
        await client.converse(modelId=OLD, messages=MESSAGES)
    assert caught[0].filename == __file__
    assert caught[0].lineno == _line_of("await client.converse(modelId=OLD, messages=MESSAGES)")


def _line_of(snippet: str) -> int:
    with open(__file__, encoding="utf-8") as handle:
        for number, line in enumerate(handle, 1):
            if snippet in line and "_line_of" not in line:
                return number
    raise AssertionError(snippet)


# -- fallback ------------------------------------------------------------------------------------


@pytest.mark.parametrize("operation", OPERATIONS)
async def test_proactive_fallback_at_end_of_life(world: AioWorld, operation: str) -> None:
    world.at(EOL_AT)
    client = await world.aio_client(policy=bl.Policy(successors={OLD: NEW}))
    with pytest.warns(bl.FallbackWarning) as caught:
        response = await call(client, operation, OLD)
    assert "end of life" in str(caught[0].message)
    assert world.invoked(operation) == [NEW]
    assert world.fake.count(operation, model_id=OLD) == 0
    assert meta(response)["fallback"] is True
    assert meta(response)["invokedModelId"] == NEW
    await call(client, operation, OLD)  # the reused decision: silent, still the successor
    assert world.invoked(operation) == [NEW, NEW]


def _blind_catalog(world: AioWorld) -> bl.Catalog:
    """A catalog that knows nothing (offline, no bundled data): only Bedrock's answer tells."""
    return world.catalog(offline=True, overrides=None)


@pytest.mark.parametrize("operation", OPERATIONS)
async def test_reactive_fallback_after_bedrocks_eol_error(world: AioWorld, operation: str) -> None:
    world.at(EOL_AT)
    catalog = _blind_catalog(world)
    client = await world.aio_client(catalog=catalog, policy=bl.Policy(successors={OLD: NEW}))
    with pytest.warns(bl.FallbackWarning):
        response = await call(client, operation, f"us.{OLD}")
    assert world.fake.count(operation, model_id=f"us.{OLD}", status_code=404) == 1
    assert world.invoked(operation) == [f"us.{NEW}"]
    assert meta(response)["fallback"] is True
    await call(client, operation, f"us.{OLD}")  # marked: straight to the successor
    assert world.fake.count(operation, model_id=f"us.{OLD}") == 1
    assert catalog.withdrawn(OLD, "us-east-1") == "eol"


@pytest.mark.parametrize("operation", ["ConverseStream", "InvokeModelWithResponseStream"])
async def test_reactive_fallback_inside_a_stream_before_the_first_event(
    world: AioWorld, operation: str
) -> None:
    world.fake.inject(
        operation,
        "stream_error",
        model_id=OLD,
        after_events=0,
        exception_type="modelStreamErrorException",
        message=EOL_MESSAGE,
        times=1,
    )
    client = await world.aio_client(
        catalog=_blind_catalog(world), policy=bl.Policy(successors={OLD: NEW})
    )
    with pytest.warns(bl.FallbackWarning):
        response = await call(client, operation, OLD)
    assert response["events"]  # the replacement stream was read to the end
    assert world.invoked(operation)[-1] == NEW
    assert meta(response)["invokedModelId"] == NEW
    records = client.ledger.records()  # type: ignore[union-attr]
    assert [(r.invoked_model_id, r.fallback_from) for r in records] == [(NEW, OLD)]
    assert records[0].input_tokens == 1000


async def test_no_fallback_once_a_stream_has_started(world: AioWorld) -> None:
    world.fake.inject(
        "ConverseStream",
        "stream_error",
        after_events=2,
        exception_type="modelStreamErrorException",
        message=EOL_MESSAGE,
        times=1,
    )
    client = await world.aio_client(
        catalog=_blind_catalog(world), policy=bl.Policy(successors={OLD: NEW})
    )
    response = await client.converse_stream(modelId=OLD, messages=MESSAGES)
    seen = []
    with pytest.raises(EventStreamError):
        async for event in response["stream"]:
            seen.append(event)
    assert len(seen) == 2
    assert world.fake.count("ConverseStream") == 1  # not sent again


# -- request adaptation -------------------------------------------------------------------------

S45 = "anthropic.claude-sonnet-4-5-20250929-v1:0"


@pytest.fixture
def strict_fake() -> Any:
    """The main suite's scenario plus Sonnet 4.5, which refuses temperature with top_p."""
    from dataclasses import replace

    from bedrock_lifecycle.testing import FakeBedrock, FakeModel

    from ._world import ACTIVE_AT, scenario

    base = scenario()
    strict = FakeModel(
        S45,
        regions=("us-east-1",),
        refuses_together=(("temperature", "top_p"),),
        usage=base.models[0].usage,
    )
    bl.ConstraintBook.default().forget_learned()
    with FakeBedrock(replace(base, models=(*base.models, strict)), now=ACTIVE_AT) as fake:
        yield fake
    bl.ConstraintBook.default().forget_learned()


async def test_a_fallback_is_adapted_to_what_the_successor_accepts(strict_fake: Any) -> None:
    async with AioWorld(strict_fake) as world:
        world.at(EOL_AT)
        client = await world.aio_client(
            policy=bl.Policy(successors={OLD: S45}, constraints={S45: bl.ModelConstraints()})
        )
        with pytest.warns(bl.FallbackWarning):
            response = await client.converse(
                modelId=OLD,
                messages=MESSAGES,
                inferenceConfig={"temperature": 0.2, "topP": 0.9, "maxTokens": 50},
            )
        # The fake refuses both together, as Bedrock does: the refusal was learned (or known)
        # and the request sent again without topP.
        bodies = [json.loads(r.body) for r in world.fake.requests if r.model_id == S45]
        assert bodies[-1]["inferenceConfig"] == {"temperature": 0.2, "maxTokens": 50}
        assert meta(response)["adapted"] == ["inferenceConfig.topP"]
        assert world.fake.count("Converse", model_id=S45, status_code=200) == 1


async def test_adapt_requests_false_lets_the_successors_refusal_through(
    strict_fake: Any,
) -> None:
    async with AioWorld(strict_fake) as world:
        world.at(EOL_AT)
        client = await world.aio_client(
            policy=bl.Policy(successors={OLD: S45}, adapt_requests=False)
        )
        with pytest.warns(bl.FallbackWarning), pytest.raises(ClientError, match="top_p"):
            await client.converse(
                modelId=OLD, messages=MESSAGES, inferenceConfig={"temperature": 0.2, "topP": 0.9}
            )


# -- the ledger ----------------------------------------------------------------------------------


@pytest.mark.parametrize("operation", RECORDED)
async def test_each_billed_call_is_recorded_once(world: AioWorld, operation: str) -> None:
    client = await world.aio_client()
    await call(client, operation, OLD)
    await call(client, operation, OLD)  # the second call: a reused decision
    records = client.ledger.records()  # type: ignore[union-attr]
    assert [(r.operation, r.invoked_model_id) for r in records] == [(operation, OLD)] * 2
    assert {(r.input_tokens, r.output_tokens) for r in records} == {(1000, 500)}
    assert all(r.request_id for r in records)


@pytest.mark.parametrize("operation", ["CountTokens", "StartAsyncInvoke"])
async def test_unbilled_calls_are_not_recorded(world: AioWorld, operation: str) -> None:
    client = await world.aio_client()
    await call(client, operation, OLD)
    assert client.ledger.records() == []  # type: ignore[union-attr]


async def test_a_stream_closed_early_records_what_it_saw(world: AioWorld) -> None:
    client = await world.aio_client()
    response = await client.converse_stream(modelId=OLD, messages=MESSAGES)
    async for _ in response["stream"]:
        break  # the usage (the metadata event) was never reached
    response["stream"].close()
    [record] = client.ledger.records()  # type: ignore[union-attr]
    assert record.input_tokens is None
    assert record.invoked_model_id == OLD


# -- budgets and shadow traffic ---------------------------------------------------------------


async def test_a_spent_budget_refuses_the_next_call(world: AioWorld) -> None:
    world.at(EXTENDED_AT)
    budget = bl.Budget(
        0.0001, name="premium", kind="premium", action="error", thresholds=(0.5, 1.0)
    )
    client = await world.aio_client(budgets=[budget], policy=bl.Policy(on_extended_access="ignore"))
    with pytest.warns(bl.BudgetWarning) as caught:
        await call(client, "Converse", OLD)  # charged: the premium is over the limit
    assert caught[0].filename.endswith("_world.py")
    assert budget.spend(EXTENDED_AT) > 0.0001  # by the fake clock (the period is its month)
    with pytest.raises(bl.BudgetExceededError) as refused:
        await call(client, "Converse", OLD)
    assert refused.value.budget == "premium"  # type: ignore[attr-defined]
    assert world.invoked() == [OLD]


async def test_shadow_traffic_mirrors_calls_to_the_successor(world: AioWorld) -> None:
    world.at(LEGACY_AT)
    shadow = bl.Shadow(rate=1.0, max_calls_per_minute=None)
    client = await world.aio_client(
        shadow=shadow, policy=bl.Policy(successors={OLD: NEW}, on_legacy="ignore")
    )
    for operation in ("Converse", "ConverseStream", "InvokeModel", "InvokeModelWithResponseStream"):
        await call(client, operation, OLD)
    await client.drain_shadows()
    await asyncio.to_thread(shadow.close)
    records = sorted(shadow.records(), key=lambda r: r.operation)
    assert [(r.operation, r.shadow_operation) for r in records] == [
        ("Converse", "Converse"),
        ("ConverseStream", "Converse"),
        ("InvokeModel", "InvokeModel"),
        ("InvokeModelWithResponseStream", "InvokeModel"),
    ]
    for record in records:
        assert record.primary.model_id == OLD
        assert record.shadow.model_id == NEW
        assert record.shadow.ok
        assert record.primary.input_tokens == 1000
    assert world.invoked("Converse").count(NEW) == 2  # the two Converse shadows
    assert shadow.stats()["failed"] == 0


# -- errors --------------------------------------------------------------------------------------


async def test_errors_pass_through_unchanged(world: AioWorld) -> None:
    world.fake.inject("Converse", "throttling", times=1)
    raw = await world.aio_runtime()
    client = bl.wrap(raw, catalog=world.catalog(), policy=bl.Policy(successors={OLD: NEW}))
    with pytest.raises(raw.exceptions.ThrottlingException) as raised:
        await call(client, "Converse", OLD)
    assert raised.value.response["Error"]["Code"] == "ThrottlingException"
    assert client.ledger.records() == []  # type: ignore[union-attr]
    await call(client, "Converse", OLD)  # not marked: the model is still used
    assert world.invoked() == [OLD]


async def test_an_ungoverned_call_goes_straight_through(world: AioWorld) -> None:
    client = await world.aio_client()
    with pytest.raises(ParamValidationError):  # no modelId: aiobotocore's own validation
        await client.converse(messages=MESSAGES)  # type: ignore[call-arg]
    assert world.fake.requests == ()


async def test_a_refused_model_raises_the_clients_own_exception_too(world: AioWorld) -> None:
    world.at(EOL_AT)
    client = await world.aio_client(policy=bl.Policy(on_eol="error"))
    with pytest.raises(bl.ModelEndOfLifeError) as raised:
        await call(client, "Converse", OLD)
    assert isinstance(raised.value, client.exceptions.ResourceNotFoundException)
    assert world.invoked() == []
