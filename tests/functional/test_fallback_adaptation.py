"""Fallbacks the successor accepts: adapted requests, learned constraints and live chains.

Everything goes through real boto3 clients against the fake, whose models refuse what the real
ones refuse with Bedrock's own ``ValidationException`` texts: a fallback that sent a request the
successor refuses would fail these tests the way it would fail in production.
"""

from __future__ import annotations

import json
import logging
import warnings
from collections.abc import Iterator
from datetime import date, datetime, timezone
from typing import Any

import pytest
from botocore.exceptions import ClientError

import bedrock_lifecycle as bl
from bedrock_lifecycle.testing import FakeBedrock, FakeModel, FakeUsage, Scenario

from ._world import World

OLD = "anthropic.claude-3-5-sonnet-20240620-v1:0"
SONNET4 = "anthropic.claude-sonnet-4-20250514-v1:0"
S45 = "anthropic.claude-sonnet-4-5-20250929-v1:0"
SHORT = "anthropic.claude-example-short-v1:0"  # Active, but retires before OLD
STRICT = "anthropic.claude-example-strict-v1:0"  # refuses what no bundled entry says
CAPPED = "anthropic.claude-example-capped-v1:0"  # a max-tokens ceiling no bundled entry says
STRICT3 = "anthropic.claude-example-strict3-v1:0"  # refuses three parameters, one at a time
HIDDEN = "anthropic.claude-example-hidden-v1:0"  # Legacy; the control plane shows no dates
DATED = "anthropic.claude-example-dated-v1:0"  # Legacy, end of life 2026-12-31 published
REGIONS = ("us-east-1", "eu-central-2")
USAGE = FakeUsage(input_tokens=100, output_tokens=20)


def utc(year: int, month: int, day: int) -> datetime:
    return datetime(year, month, day, tzinfo=timezone.utc)


AFTER_OLD_EOL = utc(2026, 3, 2)  # OLD past end of life in us-east-1, Sonnet 4 still Active
AFTER_SONNET4_EOL = utc(2026, 11, 1)  # Sonnet 4 past end of life, Sonnet 4.5 Legacy
OLD_EXTENDED = utc(2026, 2, 1)  # OLD in extended access in us-east-1 (EOL 2026-03-01)

MESSAGES = [{"role": "user", "content": [{"text": "Say hello."}]}]
SAMPLING = {"temperature": 0.2, "topP": 0.9}


def scenario() -> Scenario:
    return Scenario(
        models=(
            FakeModel(
                OLD,
                regions=REGIONS,
                legacy_at=date(2025, 8, 25),
                extended_access_at=date(2025, 12, 1),
                eol_at=date(2026, 3, 1),
                usage=USAGE,
            ),
            FakeModel(
                SONNET4,
                regions=REGIONS,
                legacy_at=date(2026, 4, 14),
                eol_at=date(2026, 10, 14),
                profile_only=True,
                inference_types=("INFERENCE_PROFILE",),
                usage=USAGE,
            ),
            FakeModel(
                S45,
                regions=REGIONS,
                legacy_at=date(2026, 10, 8),
                eol_at=date(2027, 4, 8),
                profile_only=True,
                inference_types=("INFERENCE_PROFILE",),
                refuses_together=(("temperature", "top_p"),),
                max_tokens=64000,
                usage=USAGE,
            ),
            FakeModel(SHORT, regions=REGIONS, eol_at=date(2026, 2, 15), usage=USAGE),
            FakeModel(STRICT, regions=REGIONS, refuses=("temperature", "top_p"), usage=USAGE),
            FakeModel(CAPPED, regions=REGIONS, max_tokens=4096, usage=USAGE),
            FakeModel(
                HIDDEN,
                regions=REGIONS,
                legacy_at=date(2025, 9, 1),
                eol_at=date(2026, 12, 31),
                publish_dates=False,
                usage=USAGE,
            ),
            FakeModel(
                DATED, regions=REGIONS, legacy_at=date(2025, 9, 1), eol_at=date(2026, 12, 31)
            ),
            FakeModel(
                STRICT3, regions=REGIONS, refuses=("temperature", "top_p", "top_k"), usage=USAGE
            ),
        )
    )


def _world(mode: str) -> Iterator[World]:
    bl.ConstraintBook.default().forget_learned()  # learned constraints are process-wide
    with FakeBedrock(scenario(), now=utc(2025, 6, 1)) as fake:
        yield World(fake, mode)
    bl.ConstraintBook.default().forget_learned()


@pytest.fixture(params=["inprocess", "server"])
def world(request: pytest.FixtureRequest) -> Iterator[World]:
    """The scenario served in-process and over loopback HTTP."""
    yield from _world(request.param)


@pytest.fixture
def local() -> Iterator[World]:
    """In-process only, for tests where the transport does not matter."""
    yield from _world("inprocess")


def governed(world: World, policy: bl.Policy, *, bundled: bool = False) -> bl.LifecycleClient:
    """A client whose catalog knew the models while they were Active (as in production)."""
    return world.client(policy=policy, catalog=world.catalog(bundled=bundled))


def sent(world: World, model_id: str) -> list[dict[str, Any]]:
    """The JSON bodies the fake received for ``model_id`` (runtime calls only)."""
    return [
        json.loads(r.body)
        for r in world.fake.requests
        if r.model_id == model_id and r.body and r.operation != "StartAsyncInvoke"
    ]


def meta(response: Any) -> dict[str, Any]:
    return response["ResponseMetadata"]["BedrockLifecycle"]  # type: ignore[no-any-return]


ANTHROPIC_BODY = {
    "anthropic_version": "bedrock-2023-05-31",
    "max_tokens": 100000,
    "temperature": 0.2,
    "top_p": 0.9,
    "messages": [{"role": "user", "content": "Say hello."}],
}


def call(client: Any, operation: str, model_id: str) -> Any:
    """One call that sets temperature, top p and too many max tokens; streams drained."""
    config = {**SAMPLING, "maxTokens": 100000}
    if operation == "Converse":
        return client.converse(modelId=model_id, messages=MESSAGES, inferenceConfig=config)
    if operation == "ConverseStream":
        response = client.converse_stream(
            modelId=model_id, messages=MESSAGES, inferenceConfig=config
        )
        response["events"] = list(response["stream"])
        return response
    body = json.dumps(ANTHROPIC_BODY).encode()
    if operation == "InvokeModel":
        response = client.invoke_model(modelId=model_id, body=body)
        response["payload"] = response["body"].read()
        return response
    if operation == "InvokeModelWithResponseStream":
        response = client.invoke_model_with_response_stream(modelId=model_id, body=body)
        response["events"] = list(response["body"])
        return response
    raise AssertionError(operation)


CONVERSE_PATHS = ["inferenceConfig.topP", "inferenceConfig.maxTokens"]
BODY_PATHS = ["body.top_p", "body.max_tokens"]
EXPECTED_PATHS = {
    "Converse": CONVERSE_PATHS,
    "ConverseStream": CONVERSE_PATHS,
    "InvokeModel": BODY_PATHS,
    "InvokeModelWithResponseStream": BODY_PATHS,
}


# -- adaptation on a proactive fallback ----------------------------------------------------


@pytest.mark.parametrize("operation", list(EXPECTED_PATHS))
def test_fallback_request_is_adapted_to_what_the_successor_accepts(
    world: World, operation: str, caplog: pytest.LogCaptureFixture
) -> None:
    world.at(AFTER_OLD_EOL)
    client = governed(world, bl.Policy(successors={OLD: S45}))
    with pytest.warns(bl.FallbackWarning) as caught, caplog.at_level(logging.WARNING):
        response = call(client, operation, f"us.{OLD}")
    assert meta(response)["invokedModelId"] == f"us.{S45}"
    assert meta(response)["adapted"] == EXPECTED_PATHS[operation]
    [body] = sent(world, f"us.{S45}")
    if operation.startswith("Converse"):
        assert body["inferenceConfig"] == {"temperature": 0.2, "maxTokens": 64000}
    else:
        assert body["temperature"] == 0.2
        assert body["max_tokens"] == 64000
        assert "top_p" not in body
        assert body["messages"] == ANTHROPIC_BODY["messages"]
    text = str(caught[0].message)
    assert f"The request was adapted to what us.{S45} accepts" in text
    for path in EXPECTED_PATHS[operation]:
        assert path in text
    assert "64000" in text  # the clamp says the ceiling
    assert any(
        "adapted" in r.getMessage() and f"us.{S45}" in r.getMessage() for r in caplog.records
    )
    assert world.fake.count(operation, model_id=f"us.{OLD}") == 0


def test_a_request_that_needs_no_change_reports_an_empty_list(world: World) -> None:
    world.at(AFTER_OLD_EOL)
    client = governed(world, bl.Policy(successors={OLD: S45}))
    with pytest.warns(bl.FallbackWarning) as caught:
        response = client.converse(
            modelId=f"us.{OLD}", messages=MESSAGES, inferenceConfig={"temperature": 0.3}
        )
    assert meta(response)["adapted"] == []
    assert "adapted" not in str(caught[0].message)
    assert sent(world, f"us.{S45}")[0]["inferenceConfig"] == {"temperature": 0.3}


def test_the_callers_own_request_object_is_never_changed(local: World) -> None:
    local.at(AFTER_OLD_EOL)
    client = governed(local, bl.Policy(successors={OLD: S45}))
    config = {**SAMPLING, "maxTokens": 100000}
    body = json.dumps(ANTHROPIC_BODY).encode()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", bl.FallbackWarning)
        client.converse(modelId=f"us.{OLD}", messages=MESSAGES, inferenceConfig=config)
        client.invoke_model(modelId=f"us.{OLD}", body=body)
    assert [r.error_code for r in local.fake.requests if r.model_id == f"us.{S45}"] == [None, None]
    assert config == {**SAMPLING, "maxTokens": 100000}
    assert json.loads(body) == ANTHROPIC_BODY


def test_a_call_to_the_model_asked_for_is_sent_as_written(world: World) -> None:
    # The caller asked for Sonnet 4.5 itself: the library never edits such a request, so
    # Bedrock's refusal reaches the caller unchanged, and nothing is learned from it.
    world.at(AFTER_OLD_EOL)
    client = governed(world, bl.Policy(successors={OLD: S45}))
    with pytest.raises(ClientError) as raised:
        client.converse(modelId=f"us.{S45}", messages=MESSAGES, inferenceConfig=dict(SAMPLING))
    assert raised.value.response["Error"]["Code"] == "ValidationException"
    assert "cannot both be specified" in raised.value.response["Error"]["Message"]
    assert world.fake.count("Converse", model_id=f"us.{S45}") == 1
    assert bl.ConstraintBook.default().learned() == {}


def test_adapt_requests_false_sends_the_request_as_is(world: World) -> None:
    world.at(AFTER_OLD_EOL)
    client = governed(world, bl.Policy(successors={OLD: S45}, adapt_requests=False))
    with pytest.warns(bl.FallbackWarning), pytest.raises(ClientError) as raised:
        client.converse(modelId=f"us.{OLD}", messages=MESSAGES, inferenceConfig=dict(SAMPLING))
    assert raised.value.response["Error"]["Message"] == (
        "The model returned the following errors: `temperature` and `top_p` cannot both be "
        "specified for this model. Please use only one."
    )
    assert world.fake.count("Converse", model_id=f"us.{S45}") == 1  # no retry either
    assert bl.ConstraintBook.default().learned() == {}


def test_user_constraints_adapt_a_model_the_bundled_data_does_not_know(world: World) -> None:
    world.at(AFTER_OLD_EOL)
    policy = bl.Policy(
        successors={OLD: STRICT},
        constraints={STRICT: bl.ModelConstraints(refuses=("temperature", "topP"))},
    )
    client = governed(world, policy)
    with pytest.warns(bl.FallbackWarning):
        response = client.converse(
            modelId=OLD, messages=MESSAGES, inferenceConfig={**SAMPLING, "maxTokens": 50}
        )
    assert meta(response)["adapted"] == ["inferenceConfig.temperature", "inferenceConfig.topP"]
    assert world.fake.count("Converse", model_id=STRICT) == 1  # right the first time


# -- learning from the successor's refusal -------------------------------------------------


def test_a_refusal_is_learned_dropped_and_retried_within_three_attempts(
    world: World, caplog: pytest.LogCaptureFixture
) -> None:
    world.at(AFTER_OLD_EOL)
    client = governed(world, bl.Policy(successors={OLD: STRICT}))
    with pytest.warns(bl.FallbackWarning) as caught, caplog.at_level(logging.WARNING):
        response = client.converse(
            modelId=OLD, messages=MESSAGES, inferenceConfig={**SAMPLING, "maxTokens": 50}
        )
    # Bedrock names one parameter per refusal: temperature, then top_p, then success.
    assert [r.error_code for r in world.fake.requests if r.model_id == STRICT] == [
        "ValidationException",
        "ValidationException",
        None,
    ]
    assert meta(response)["adapted"] == ["inferenceConfig.temperature", "inferenceConfig.topP"]
    assert sent(world, STRICT)[-1]["inferenceConfig"] == {"maxTokens": 50}
    assert "inferenceConfig.topP" in str(caught[-1].message)
    learned = [r for r in caplog.records if "constraint_learned" in r.getMessage()]
    assert len(learned) == 2
    # Remembered for the process: the next call adapts before sending.
    world.fake.clear_requests()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", bl.FallbackWarning)
        client.converse(modelId=OLD, messages=MESSAGES, inferenceConfig=dict(SAMPLING))
    assert [r.error_code for r in world.fake.requests if r.model_id == STRICT] == [None]


def test_a_learned_ceiling_clamps_max_tokens(world: World) -> None:
    world.at(AFTER_OLD_EOL)
    client = governed(world, bl.Policy(successors={OLD: CAPPED}))
    with pytest.warns(bl.FallbackWarning):
        response = client.converse(
            modelId=OLD, messages=MESSAGES, inferenceConfig={"maxTokens": 10000}
        )
    assert meta(response)["adapted"] == ["inferenceConfig.maxTokens"]
    assert sent(world, CAPPED)[-1]["inferenceConfig"] == {"maxTokens": 4096}
    assert world.fake.count("Converse", model_id=CAPPED) == 2


def test_no_more_than_three_attempts_then_the_refusal_reaches_the_caller(local: World) -> None:
    # STRICT3 refuses temperature, top_p and top_k, naming one per refusal: the third refusal
    # comes on the third attempt, which is the last.
    local.at(AFTER_OLD_EOL)
    client = governed(local, bl.Policy(successors={OLD: STRICT3}))
    extra = {"top_k": 5}
    with pytest.warns(bl.FallbackWarning), pytest.raises(ClientError) as raised:
        client.converse(
            modelId=OLD,
            messages=MESSAGES,
            inferenceConfig=dict(SAMPLING),
            additionalModelRequestFields=extra,
        )
    assert raised.value.response["Error"]["Code"] == "ValidationException"
    assert local.fake.count("Converse", model_id=STRICT3) == 3
    # All three were learned, so the next call is adapted completely and succeeds.
    local.fake.clear_requests()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", bl.FallbackWarning)
        response = client.converse(
            modelId=OLD,
            messages=MESSAGES,
            inferenceConfig=dict(SAMPLING),
            additionalModelRequestFields=extra,
        )
    assert meta(response)["adapted"] == [
        "inferenceConfig.temperature",
        "inferenceConfig.topP",
        "additionalModelRequestFields.top_k",
    ]
    assert local.fake.count("Converse", model_id=STRICT3) == 1


def test_a_reactive_fallback_adapts_too(world: World) -> None:
    # The catalog never heard of OLD's end of life (it has no data for OLD): Bedrock's
    # lifecycle error triggers the fallback, and the retry to Sonnet 4.5 is adapted.
    world.at(AFTER_OLD_EOL)
    catalog = world.catalog(warm=False, offline=True)
    client = world.client(policy=bl.Policy(successors={OLD: S45}), catalog=catalog)
    with pytest.warns(bl.FallbackWarning) as caught:
        response = client.converse(
            modelId=f"us.{OLD}", messages=MESSAGES, inferenceConfig=dict(SAMPLING)
        )
    assert meta(response)["invokedModelId"] == f"us.{S45}"
    assert meta(response)["adapted"] == ["inferenceConfig.topP"]
    assert "inferenceConfig.topP" in str(caught[-1].message)
    assert world.fake.count("Converse", model_id=f"us.{S45}") == 1


def test_installed_hooks_adapt_and_learn(local: World) -> None:
    local.at(AFTER_OLD_EOL)
    session = local.fake.session("us-east-1")
    try:
        bl.install(
            session,
            catalog=local.catalog(),
            policy=bl.Policy(successors={OLD: f"us.{S45}"}),
            ledger=bl.MemoryLedger(),
        )
        runtime = session.client("bedrock-runtime")
        with pytest.warns(bl.FallbackWarning):
            response = runtime.converse(
                modelId=OLD, messages=MESSAGES, inferenceConfig=dict(SAMPLING)
            )
        assert meta(response)["adapted"] == ["inferenceConfig.topP"]
        assert sent(local, f"us.{S45}")[-1]["inferenceConfig"] == {"temperature": 0.2}
        # Hooks learn from a refusal too: the failed call raises, the next is adapted.
        bl.install(
            session,
            catalog=local.catalog(),
            policy=bl.Policy(successors={OLD: STRICT}),
            ledger=bl.MemoryLedger(),
        )
        runtime = session.client("bedrock-runtime")
        with pytest.warns(bl.FallbackWarning), pytest.raises(ClientError):
            runtime.converse(modelId=OLD, messages=MESSAGES, inferenceConfig=dict(SAMPLING))
        assert bl.ConstraintBook.default().learned()
        with pytest.warns(bl.FallbackWarning), pytest.raises(ClientError):
            runtime.converse(modelId=OLD, messages=MESSAGES, inferenceConfig=dict(SAMPLING))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", bl.FallbackWarning)
            response = runtime.converse(
                modelId=OLD, messages=MESSAGES, inferenceConfig=dict(SAMPLING)
            )
        assert meta(response)["adapted"] == [
            "inferenceConfig.temperature",
            "inferenceConfig.topP",
        ]
    finally:
        bl.uninstall(session)


# -- chains that end on a live model -------------------------------------------------------


def test_a_dead_configured_successor_walks_on_to_the_aws_recommendation(world: World) -> None:
    # The case: Sonnet 4 was configured, but it is past end of life itself; AWS
    # recommends Sonnet 4.5 for Claude 3.5 Sonnet, and Sonnet 4.5 (Legacy) takes the call.
    world.at(AFTER_SONNET4_EOL)
    client = governed(world, bl.Policy(successors={OLD: SONNET4}), bundled=True)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        response = client.converse(
            modelId=f"us.{OLD}", messages=MESSAGES, inferenceConfig=dict(SAMPLING)
        )
        client.converse(modelId=f"us.{OLD}", messages=MESSAGES, inferenceConfig=dict(SAMPLING))
    assert meta(response)["invokedModelId"] == f"us.{S45}"
    assert meta(response)["adapted"] == ["inferenceConfig.topP"]
    assert world.fake.count("Converse", model_id=f"us.{SONNET4}") == 0
    legacy = [w for w in caught if w.category is bl.LegacyModelWarning]
    assert len(legacy) == 1  # the ageing successor is named once, with its own dates
    assert S45 in str(legacy[0].message)
    assert "2027-04-08" in str(legacy[0].message)
    fallback = [w for w in caught if w.category is bl.FallbackWarning]
    assert len(fallback) == 1


def test_no_successor_error_lists_every_candidate_and_why(world: World) -> None:
    world.at(AFTER_SONNET4_EOL)
    policy = bl.Policy(successors={OLD: SONNET4}, use_recommended=False)
    client = governed(world, policy, bundled=True)
    with pytest.raises(bl.NoSuccessorError) as raised:
        client.converse(modelId=OLD, messages=MESSAGES)
    assert raised.value.candidates == ((SONNET4, "end of life 2026-10-14 in us-east-1"),)
    assert f"{SONNET4}: end of life 2026-10-14 in us-east-1" in str(raised.value)
    assert "no successor is configured" not in str(raised.value)
    assert world.invoked() == []


def test_a_successor_that_retires_first_is_passed_over(world: World) -> None:
    world.at(OLD_EXTENDED)
    policy = bl.Policy(successors={OLD: SHORT}, on_extended_access="fallback")
    client = governed(world, policy, bundled=True)
    with pytest.warns(bl.FallbackWarning):
        response = client.converse(modelId=f"us.{OLD}", messages=MESSAGES)
    assert meta(response)["invokedModelId"] == f"us.{S45}"
    assert world.fake.count("Converse", model_id=f"us.{SHORT}") == 0


@pytest.mark.parametrize(("requested", "expected"), [(HIDDEN, SHORT), (DATED, None)])
def test_retires_before_is_judged_only_when_both_dates_are_known(
    world: World, requested: str, expected: str | None
) -> None:
    # SHORT retires 2026-02-15. HIDDEN's end of life is unknown to the catalog (status only),
    # so SHORT is not judged and takes the call; DATED retires 2026-12-31, after SHORT, so
    # SHORT is refused and, with no other candidate, the Legacy model keeps the call.
    world.at(utc(2026, 2, 1))
    policy = bl.Policy(successors={requested: SHORT}, on_legacy="fallback")
    client = world.client(policy=policy, catalog=world.catalog(warm=False))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        response = client.converse(modelId=requested, messages=MESSAGES)
    assert meta(response)["invokedModelId"] == (expected or requested)
    assert meta(response)["fallback"] is (expected is not None)
    categories = {w.category for w in caught}
    if expected is None:
        assert categories == {bl.LegacyModelWarning}
    else:
        assert bl.FallbackWarning in categories


@pytest.mark.parametrize("region", REGIONS)
def test_chain_is_judged_per_region(world: World, region: str) -> None:
    world.at(AFTER_SONNET4_EOL)
    client = world.client(
        region=region,
        policy=bl.Policy(successors={OLD: SONNET4}),
        catalog=world.catalog(bundled=True),
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", bl.LifecycleWarning)
        # A system profile of the region's own geography (a us. one is invalid in Europe).
        geo = "eu" if region.startswith("eu-") else "us"
        response = client.converse(modelId=f"{geo}.{OLD}", messages=MESSAGES)
    assert meta(response)["invokedModelId"] == f"{geo}.{S45}"
    assert meta(response)["fallback"] is True


def test_a_dead_model_still_lands_on_a_successor_the_policy_would_rather_not_use(
    world: World,
) -> None:
    # on_legacy="fallback" would move calls off a Legacy Sonnet 4.5, but OLD is past end of
    # life: the Legacy successor that works beats a lost call, and says it is Legacy.
    world.at(AFTER_SONNET4_EOL)
    policy = bl.Policy(successors={OLD: S45}, on_legacy="fallback", use_recommended=False)
    client = governed(world, policy)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        response = client.converse(modelId=f"us.{OLD}", messages=MESSAGES)
    assert meta(response)["invokedModelId"] == f"us.{S45}"
    assert {w.category for w in caught} == {bl.FallbackWarning, bl.LegacyModelWarning}
    # A Legacy model whose only successor is Legacy too keeps its calls, with a warning.
    policy = bl.Policy(successors={DATED: S45}, on_legacy="fallback", use_recommended=False)
    client = world.client(policy=policy, catalog=world.catalog(warm=False))
    with pytest.warns(bl.LegacyModelWarning):
        response = client.converse(modelId=DATED, messages=MESSAGES)
    assert meta(response)["invokedModelId"] == DATED
