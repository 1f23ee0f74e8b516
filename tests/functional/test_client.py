"""The drop-in client through real botocore clients against the fake, for every operation."""

from __future__ import annotations

import json
import threading
import warnings
from datetime import timedelta
from typing import Any

import pytest
from botocore.exceptions import ClientError, EventStreamError

import bedrock_lifecycle as bl

from ._world import (
    ACTIVE_AT,
    EOL_AT,
    EXTENDED_AT,
    LEGACY_AT,
    MID,
    NEW,
    NOVA,
    OLD,
    OPERATIONS,
    RECORDED,
    TITAN,
    TITAN_BODY,
    World,
    call,
    utc,
)

EOL_MESSAGE = (
    "This model version has reached the end of its life. Please refer to the AWS "
    "documentation for more details."
)


def _meta(response: Any) -> dict[str, Any]:
    return response["ResponseMetadata"]["BedrockLifecycle"]  # type: ignore[no-any-return]


# -- Active: nothing happens ----------------------------------------------------------------


@pytest.mark.parametrize("operation", OPERATIONS)
def test_active_model_passes_through_unchanged(world: World, operation: str) -> None:
    client = world.client()
    response = call(client, operation, OLD)  # warnings are errors: none may be raised
    assert world.invoked(operation) == [OLD]
    assert _meta(response) == {
        "requestedModelId": OLD,
        "invokedModelId": OLD,
        "state": "ACTIVE",
        "eolAt": "2026-03-01",
        "fallback": False,
        "adapted": [],
    }


# -- Legacy and extended access: warnings ------------------------------------------------------


@pytest.mark.parametrize("operation", OPERATIONS)
def test_legacy_model_warns_once_with_dates_and_successor(world: World, operation: str) -> None:
    world.at(LEGACY_AT)
    client = world.client(policy=bl.Policy(successors={OLD: NEW}))
    with pytest.warns(bl.LegacyModelWarning) as caught:
        response = call(client, operation, OLD)
    [warning] = [w for w in caught if issubclass(w.category, bl.LifecycleWarning)]
    assert warning.category is bl.LegacyModelWarning
    text = str(warning.message)
    assert OLD in text
    assert "us-east-1" in text
    assert "2025-08-25" in text
    assert "2026-03-01" in text
    assert "(167 days left)" in text
    assert NEW in text
    assert "configured successor" in text
    assert warning.filename.endswith("_world.py")  # call() in _world.py made the call
    assert _meta(response)["state"] == "LEGACY"
    assert world.invoked(operation) == [OLD]
    # Once per (model, region, state) per catalog: the second call is silent.
    call(client, operation, OLD)


def test_warning_points_at_the_callers_line(local_world: World) -> None:
    local_world.at(LEGACY_AT)
    client = local_world.client()
    with pytest.warns(bl.LegacyModelWarning) as caught:
        client.converse(modelId=OLD, messages=[{"role": "user", "content": [{"text": "x"}]}])
    assert caught[0].filename == __file__
    assert caught[0].lineno == _line_of("client.converse(modelId=OLD, messages=[{")


def _line_of(snippet: str) -> int:
    with open(__file__, encoding="utf-8") as handle:
        for number, line in enumerate(handle, 1):
            if snippet in line and "_line_of" not in line:
                return number
    raise AssertionError(snippet)


def test_a_fresh_catalog_warns_again_and_warn_once_false_always_warns(
    local_world: World,
) -> None:
    local_world.at(LEGACY_AT)
    shared = local_world.catalog()
    with pytest.warns(bl.LegacyModelWarning):
        call(local_world.client(catalog=shared), "Converse", OLD)
    call(local_world.client(catalog=shared), "Converse", OLD)  # same catalog: silent
    with pytest.warns(bl.LegacyModelWarning):
        call(local_world.client(), "Converse", OLD)  # new catalog: warns
    noisy = local_world.client(policy=bl.Policy(warn_once=False))
    for _ in range(2):
        with pytest.warns(bl.LegacyModelWarning):
            call(noisy, "Converse", OLD)


def test_extended_access_warning_is_a_legacy_warning(world: World) -> None:
    world.at(EXTENDED_AT)
    client = world.client()
    with pytest.warns(bl.ExtendedAccessWarning) as caught:
        call(client, "Converse", OLD)
    assert issubclass(caught[0].category, bl.LegacyModelWarning)
    assert "public extended access" in str(caught[0].message)
    assert "2025-12-01" in str(caught[0].message)


def test_warnings_are_logged_too(local_world: World, caplog: pytest.LogCaptureFixture) -> None:
    local_world.at(LEGACY_AT)
    with pytest.warns(bl.LegacyModelWarning):
        call(local_world.client(), "Converse", OLD)
    logged = [r for r in caplog.records if "LegacyModelWarning" in r.getMessage()]
    assert len(logged) == 1
    assert OLD in logged[0].getMessage()


def test_dates_differ_per_region(local_world: World) -> None:
    local_world.at(EOL_AT)
    client = local_world.client(region="eu-central-2")
    with pytest.warns(bl.ExtendedAccessWarning, match="eu-central-2"):
        response = call(client, "Converse", OLD)
    assert _meta(response)["eolAt"] == "2026-06-01"
    assert local_world.invoked() == [OLD]


def test_legacy_fallback_policy_rewrites_a_legacy_model(local_world: World) -> None:
    local_world.at(LEGACY_AT)
    client = local_world.client(policy=bl.Policy(on_legacy="fallback", successors={OLD: NEW}))
    with pytest.warns(bl.FallbackWarning):
        response = call(client, "Converse", OLD)
    assert local_world.invoked() == [NEW]
    assert _meta(response)["fallback"] is True


@pytest.mark.parametrize(
    ("when", "setting", "error"),
    [
        (LEGACY_AT, "on_legacy", bl.LegacyModelError),
        (EXTENDED_AT, "on_extended_access", bl.ExtendedAccessError),
    ],
)
def test_error_policy_refuses_before_sending(
    local_world: World, when: Any, setting: str, error: type[Exception]
) -> None:
    local_world.at(when)
    client = local_world.client(policy=bl.Policy(**{setting: "error"}))
    with pytest.raises(error) as raised:
        call(client, "Converse", OLD)
    assert isinstance(raised.value, ClientError)
    assert local_world.invoked() == []


def test_ignore_policy_is_silent(local_world: World) -> None:
    local_world.at(EXTENDED_AT)
    client = local_world.client(policy=bl.Policy(on_legacy="ignore", on_extended_access="ignore"))
    call(client, "Converse", OLD)
    assert local_world.invoked() == [OLD]


# -- EOL: proactive fallback -------------------------------------------------------------------


@pytest.mark.parametrize("operation", OPERATIONS)
def test_eol_model_falls_back_before_the_call(world: World, operation: str) -> None:
    world.at(EOL_AT)
    client = world.client(policy=bl.Policy(successors={OLD: NEW}))
    with pytest.warns(bl.FallbackWarning) as caught:
        response = call(client, operation, OLD)
    assert world.invoked(operation) == [NEW]
    assert world.fake.count(operation, model_id=OLD) == 0  # never sent to the dead model
    assert _meta(response) == {
        "requestedModelId": OLD,
        "invokedModelId": NEW,
        "state": "EOL",
        "eolAt": "2026-03-01",
        "fallback": True,
        "adapted": [],
    }
    assert NEW in str(caught[0].message)
    assert "2026-03-01" in str(caught[0].message)


@pytest.mark.parametrize(
    ("requested", "expected"),
    [
        (f"us.{OLD}", f"us.{NEW}"),
        (f"global.{OLD}", f"global.{NEW}"),
        (
            f"arn:aws:bedrock:us-east-1::foundation-model/{OLD}",
            f"arn:aws:bedrock:us-east-1::foundation-model/{NEW}",
        ),
        (
            f"arn:aws:bedrock:us-east-1:123456789012:inference-profile/us.{OLD}",
            f"arn:aws:bedrock:us-east-1:123456789012:inference-profile/us.{NEW}",
        ),
    ],
)
def test_fallback_keeps_the_callers_id_form(world: World, requested: str, expected: str) -> None:
    world.at(EOL_AT)
    client = world.client(policy=bl.Policy(successors={OLD: NEW}))
    with pytest.warns(bl.FallbackWarning):
        response = call(client, "Converse", requested)
    assert world.invoked() == [expected]
    assert _meta(response)["invokedModelId"] == expected


def test_application_profile_is_judged_by_its_base_model(local_world: World) -> None:
    local_world.at(EOL_AT)
    account = local_world.fake.scenario.account_id
    arn = f"arn:aws:bedrock:us-east-1:{account}:application-inference-profile/app-old"
    client = local_world.client(policy=bl.Policy(successors={OLD: NEW}))
    with pytest.warns(bl.FallbackWarning):
        response = call(client, "Converse", arn)
    # An application profile cannot be re-pointed for the caller: the successor goes on demand.
    assert local_world.invoked() == [f"arn:aws:bedrock:us-east-1::foundation-model/{NEW}"]
    assert _meta(response)["state"] == "EOL"
    assert local_world.fake.count("GetInferenceProfile") == 1


def test_chains_skip_dead_successors(world: World) -> None:
    world.at(EOL_AT)
    client = world.client(policy=bl.Policy(successors={OLD: MID, MID: NEW}))
    with pytest.warns(bl.FallbackWarning):
        call(client, "Converse", f"us.{OLD}")
    assert world.invoked() == [f"us.{NEW}"]


def test_eol_with_error_policy_raises_a_client_error_the_caller_already_catches(
    world: World,
) -> None:
    world.at(EOL_AT)
    client = world.client(policy=bl.Policy(on_eol="error", successors={OLD: NEW}))
    with pytest.raises(client.exceptions.ResourceNotFoundException) as raised:
        call(client, "Converse", OLD)
    error = raised.value
    assert isinstance(error, bl.ModelEndOfLifeError)
    assert isinstance(error, ClientError)
    assert error.response["Error"]["Code"] == "ResourceNotFoundException"
    assert error.model_id == OLD
    assert error.region == "us-east-1"
    assert error.eol_at == utc(2026, 3, 1)
    assert NEW in str(error)
    assert world.invoked() == []


def test_eol_without_successor_raises_no_successor_error(local_world: World) -> None:
    local_world.at(EOL_AT)
    client = local_world.client()
    with pytest.raises(bl.NoSuccessorError, match="no successor") as raised:
        call(client, "Converse", OLD)
    assert isinstance(raised.value, bl.ModelEndOfLifeError)
    assert local_world.invoked() == []


def test_aws_recommendation_is_used_when_no_successor_is_configured(local_world: World) -> None:
    local_world.at(EOL_AT)
    catalog = local_world.catalog(overrides={OLD: {"recommended": [NEW]}})
    client = local_world.client(catalog=catalog)
    with pytest.warns(bl.FallbackWarning):
        call(client, "Converse", OLD)
    assert local_world.invoked() == [NEW]


# -- InvokeModel bodies ------------------------------------------------------------------------


def test_invoke_model_fallback_across_body_formats_is_refused(local_world: World) -> None:
    local_world.at(EOL_AT)
    client = local_world.client(policy=bl.Policy(successors={TITAN: NOVA}))
    with pytest.raises(bl.IncompatibleSuccessorError, match="Converse") as raised:
        call(client, "InvokeModel", TITAN, body=TITAN_BODY)
    assert raised.value.successor == NOVA
    assert local_world.invoked() == []


def test_invoke_model_fallback_uses_a_registered_translator(local_world: World) -> None:
    local_world.at(EOL_AT)

    def titan_to_nova(body: bytes) -> bytes:
        text = json.loads(body)["inputText"]
        return json.dumps({"messages": [{"role": "user", "content": [{"text": text}]}]}).encode()

    policy = bl.Policy(
        successors={TITAN: NOVA},
        translators={("amazon-titan-text", "amazon-nova"): titan_to_nova},
    )
    client = local_world.client(policy=policy)
    with pytest.warns(bl.FallbackWarning):
        call(client, "InvokeModel", TITAN, body=TITAN_BODY)
    assert local_world.invoked() == [NOVA]


def test_converse_falls_back_across_families(local_world: World) -> None:
    local_world.at(EOL_AT)
    client = local_world.client(policy=bl.Policy(successors={TITAN: NOVA}))
    with pytest.warns(bl.FallbackWarning):
        call(client, "Converse", TITAN)
    assert local_world.invoked() == [NOVA]


# -- Reactive fallback ---------------------------------------------------------------------


def _blind_catalog(world: World) -> bl.Catalog:
    """A catalog that knows nothing (offline, no bundled data): only Bedrock's answer tells."""
    return world.catalog(offline=True)


@pytest.mark.parametrize("operation", OPERATIONS)
def test_reactive_fallback_after_bedrocks_eol_error(world: World, operation: str) -> None:
    world.at(EOL_AT)
    catalog = _blind_catalog(world)
    client = world.client(catalog=catalog, policy=bl.Policy(successors={OLD: NEW}))
    with pytest.warns(bl.FallbackWarning):
        response = call(client, operation, f"us.{OLD}")
    assert world.fake.count(operation, model_id=f"us.{OLD}", status_code=404) == 1
    assert world.invoked(operation) == [f"us.{NEW}"]
    assert _meta(response)["fallback"] is True
    # Marked: the next call goes straight to the successor.
    call(client, operation, f"us.{OLD}")
    assert world.fake.count(operation, model_id=f"us.{OLD}") == 1
    assert world.invoked(operation) == [f"us.{NEW}", f"us.{NEW}"]
    assert catalog.withdrawn(OLD, "us-east-1") == "eol"


def test_reactive_fallback_after_the_idle_legacy_error(local_world: World) -> None:
    local_world.at(EXTENDED_AT)
    local_world.fake.mark_idle(OLD, utc(2025, 12, 1))
    client = local_world.client(
        catalog=_blind_catalog(local_world), policy=bl.Policy(successors={OLD: NEW})
    )
    with pytest.warns(bl.FallbackWarning):
        call(client, "Converse", OLD)
    assert local_world.invoked() == [NEW]


def test_an_invalid_identifier_for_an_unknown_model_is_raised_not_fallen_back(
    local_world: World,
) -> None:
    local_world.at(EOL_AT)
    # Unknown to the catalog: "invalid identifier" is most likely a typo and is raised.
    blind = local_world.client(catalog=_blind_catalog(local_world))
    with pytest.raises(ClientError) as raised:
        call(blind, "Converse", "anthropic.claude-typo-v1:0")
    assert raised.value.response["Error"]["Code"] == "ValidationException"
    assert "model identifier is invalid" in str(raised.value)


def test_operation_not_allowed_for_a_known_legacy_model_falls_back() -> None:
    from dataclasses import replace

    from bedrock_lifecycle.testing import FakeBedrock

    from ._world import scenario

    world_scenario = scenario()
    models = tuple(
        replace(m, operation_not_allowed=True) if m.model_id == OLD else m
        for m in world_scenario.models
    )
    with FakeBedrock(replace(world_scenario, models=models), now=ACTIVE_AT) as fake:
        world = World(fake, "inprocess")
        world.at(EXTENDED_AT)
        client = world.client(policy=bl.Policy(successors={OLD: NEW}, on_extended_access="ignore"))
        with pytest.warns(bl.FallbackWarning):
            call(client, "Converse", OLD)
        assert fake.count("Converse", model_id=OLD, status_code=400) == 1
        assert world.invoked() == [NEW]


def test_no_reactive_fallback_on_throttling(local_world: World) -> None:
    local_world.at(ACTIVE_AT)
    local_world.fake.inject("Converse", "throttling", times=1)
    client = local_world.client(policy=bl.Policy(successors={OLD: NEW}))
    with pytest.raises(ClientError) as raised:
        call(client, "Converse", OLD)
    assert raised.value.response["Error"]["Code"] == "ThrottlingException"
    assert local_world.invoked() == []
    call(client, "Converse", OLD)  # not marked: the model is still used
    assert local_world.invoked() == [OLD]


def test_botocore_retries_still_apply_under_the_wrapper(local_world: World) -> None:
    local_world.fake.inject("Converse", "throttling", times=2)
    runtime = local_world.fake.client("bedrock-runtime", retries=3)
    client = bl.wrap(runtime, catalog=local_world.catalog(), ledger=bl.MemoryLedger())
    call(client, "Converse", OLD)
    assert local_world.fake.count("Converse", status_code=429) == 2
    assert local_world.invoked() == [OLD]


def test_reactive_fallback_can_be_turned_off(local_world: World) -> None:
    local_world.at(EOL_AT)
    client = local_world.client(
        catalog=_blind_catalog(local_world),
        policy=bl.Policy(successors={OLD: NEW}, reactive_fallback=False),
    )
    with pytest.raises(ClientError, match="end of its life"):
        call(client, "Converse", OLD)
    assert local_world.invoked() == []


def _retire_at_the_first_event(world: World, operation: str) -> None:
    """The next ``operation`` stream for OLD fails with Bedrock's end-of-life error at once."""
    world.fake.inject(
        operation,
        "stream_error",
        model_id=OLD,
        after_events=0,
        exception_type="modelStreamErrorException",
        message=EOL_MESSAGE,
        times=1,
    )


@pytest.mark.parametrize("operation", ["ConverseStream", "InvokeModelWithResponseStream"])
def test_reactive_fallback_inside_a_stream_before_the_first_event(
    world: World, operation: str
) -> None:
    _retire_at_the_first_event(world, operation)
    client = world.client(catalog=_blind_catalog(world), policy=bl.Policy(successors={OLD: NEW}))
    with pytest.warns(bl.FallbackWarning):
        response = call(client, operation, OLD)
    assert response["events"]  # the replacement stream was iterated to the end
    assert world.invoked(operation)[-1] == NEW
    assert _meta(response)["invokedModelId"] == NEW
    records = client.ledger.records()  # type: ignore[union-attr]
    assert [(r.invoked_model_id, r.fallback_from) for r in records] == [(NEW, OLD)]


def test_no_fallback_once_a_stream_has_started(local_world: World) -> None:
    local_world.fake.inject(
        "ConverseStream",
        "stream_error",
        after_events=2,
        exception_type="modelStreamErrorException",
        message=EOL_MESSAGE,
        times=1,
    )
    client = local_world.client(
        catalog=_blind_catalog(local_world), policy=bl.Policy(successors={OLD: NEW})
    )
    response = client.converse_stream(modelId=OLD, messages=[{"role": "user", "content": []}])
    seen = []
    with pytest.raises(EventStreamError):
        for event in response["stream"]:
            seen.append(event)
    assert len(seen) == 2
    assert local_world.fake.count("ConverseStream") == 1  # no second request
    assert local_world.fake.count("ConverseStream", model_id=OLD) == 1


# -- Idle guard ------------------------------------------------------------------------------


def test_idle_legacy_model_gets_a_warning_after_ten_days(local_world: World) -> None:
    local_world.at(LEGACY_AT)
    catalog = local_world.catalog()
    client = local_world.client(catalog=catalog)
    with pytest.warns(bl.LegacyModelWarning):
        call(client, "Converse", OLD)
    local_world.at(LEGACY_AT + timedelta(days=9))
    call(client, "Converse", OLD)  # nine days: no idle warning
    local_world.at(LEGACY_AT + timedelta(days=20))
    with pytest.warns(bl.IdleLegacyWarning, match=r"11 days ago.*after 15 days"):
        call(client, "Converse", OLD)
    assert catalog.last_used(OLD, "us-east-1") == LEGACY_AT + timedelta(days=20)


# -- Ledger figures ----------------------------------------------------------------------------


def _sink(kind: str, tmp_path: Any) -> Any:
    if kind == "jsonl":
        return bl.JsonlLedger(tmp_path / "usage.jsonl")
    if kind == "sqlite":
        return bl.SqliteLedger(tmp_path / "usage.db")
    return bl.MemoryLedger()


@pytest.mark.parametrize("sink", ["memory", "jsonl", "sqlite"])
@pytest.mark.parametrize("operation", RECORDED)
@pytest.mark.parametrize(
    ("when", "cost", "standard", "premium"),
    [(ACTIVE_AT, 0.0105, 0.0105, 0.0), (EXTENDED_AT, 0.021, 0.0105, 0.0105)],
)
def test_usage_and_cost_are_recorded_exactly(
    world: World,
    operation: str,
    sink: str,
    when: Any,
    cost: float,
    standard: float,
    premium: float,
    tmp_path: Any,
) -> None:
    from ._world import V2

    world.at(when)
    ledger = _sink(sink, tmp_path)
    client = world.client(policy=bl.Policy(on_extended_access="ignore"), ledger=ledger)
    call(client, operation, f"us.{V2}")
    [record] = ledger.records()
    ledger.close()
    assert record.operation == operation
    assert (record.input_tokens, record.output_tokens) == (1000, 500)
    assert record.requested_model_id == record.invoked_model_id == f"us.{V2}"
    assert record.extended_access is (when == EXTENDED_AT)
    assert record.state == ("EXTENDED_ACCESS" if when == EXTENDED_AT else "ACTIVE")
    assert (record.cost_usd, record.standard_cost_usd, record.premium_usd) == (
        cost,
        standard,
        premium,
    )
    [sent] = [r for r in world.fake.requests if r.operation == operation]
    assert record.request_id
    assert record.region == sent.region == "us-east-1"


def test_unknown_prices_are_recorded_as_unknown(local_world: World) -> None:
    client = local_world.client(prices=bl.PriceBook({}))
    call(client, "Converse", NEW)
    [record] = client.ledger.records()  # type: ignore[union-attr]
    assert record.input_tokens == 1000
    assert record.cost_usd is None
    assert record.premium_usd is None


def test_count_tokens_and_async_invoke_are_not_billed_records(local_world: World) -> None:
    client = local_world.client()
    call(client, "CountTokens", OLD)
    call(client, "StartAsyncInvoke", OLD)
    assert client.ledger.records() == []  # type: ignore[union-attr]


def test_an_abandoned_stream_records_what_was_seen(local_world: World) -> None:
    client = local_world.client()
    response = client.converse_stream(modelId=OLD, messages=[{"role": "user", "content": []}])
    iterator = iter(response["stream"])
    next(iterator)
    response["stream"].close()
    [record] = client.ledger.records()  # type: ignore[union-attr]
    assert record.invoked_model_id == OLD
    assert record.input_tokens is None  # the metadata event never arrived


def test_a_dropped_stream_is_recorded_when_collected(local_world: World) -> None:
    import gc

    client = local_world.client()
    response = client.converse_stream(modelId=OLD, messages=[{"role": "user", "content": []}])
    assert client.ledger.records() == []  # type: ignore[union-attr]
    del response  # never iterated, never closed
    gc.collect()
    [record] = client.ledger.records()  # type: ignore[union-attr]
    assert record.operation == "ConverseStream"
    assert record.input_tokens is None


def test_stream_events_pass_through_unchanged(local_world: World) -> None:
    raw = local_world.runtime().converse_stream(
        modelId=OLD, messages=[{"role": "user", "content": [{"text": "hi"}]}]
    )
    expected = list(raw["stream"])
    client = local_world.client()
    governed = client.converse_stream(
        modelId=OLD, messages=[{"role": "user", "content": [{"text": "hi"}]}]
    )
    assert list(governed["stream"]) == expected


# -- The client surface ------------------------------------------------------------------------


def test_everything_else_passes_through(local_world: World) -> None:
    runtime = local_world.runtime()
    client = bl.wrap(runtime, catalog=local_world.catalog())
    assert client.unwrap() is runtime
    assert client.meta is runtime.meta
    assert client.exceptions is runtime.exceptions
    assert client._client_config is runtime._client_config
    assert client.can_paginate("list_async_invokes") is True
    assert client.get_paginator("list_async_invokes") is not None
    assert isinstance(client.catalog, bl.Catalog)
    assert isinstance(client.ledger, bl.MemoryLedger)
    assert "converse" in dir(client)
    assert "us-east-1" in repr(client)
    client.close()


def test_wrap_refuses_other_clients(local_world: World) -> None:
    with pytest.raises(TypeError, match="bedrock-runtime"):
        bl.wrap(local_world.fake.client("bedrock"))
    with pytest.raises(TypeError):
        bl.wrap(object())


def test_wrapping_twice_governs_once(local_world: World) -> None:
    local_world.at(EOL_AT)
    once = local_world.client(policy=bl.Policy(successors={OLD: NEW}))
    twice = bl.wrap(once, catalog=once.catalog, policy=bl.Policy(successors={OLD: NEW}))
    assert twice.unwrap() is once.unwrap()


def test_calls_without_a_model_id_reach_botocore_validation(local_world: World) -> None:
    from botocore.exceptions import ParamValidationError

    client = local_world.client()
    with pytest.raises(ParamValidationError):
        client.converse(messages=[])


def test_threads_share_one_client_safely(local_world: World) -> None:
    local_world.at(EOL_AT)
    client = local_world.client(policy=bl.Policy(successors={OLD: NEW}))
    errors: list[BaseException] = []
    barrier = threading.Barrier(16)

    def work() -> None:
        try:
            barrier.wait()
            for _ in range(20):
                response = client.converse(
                    modelId=OLD, messages=[{"role": "user", "content": [{"text": "hi"}]}]
                )
                assert response["ResponseMetadata"]["BedrockLifecycle"]["invokedModelId"] == NEW
        except BaseException as exc:  # reported below
            errors.append(exc)

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", bl.FallbackWarning)
        threads = [threading.Thread(target=work) for _ in range(16)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
    assert not errors
    assert not any(t.is_alive() for t in threads)
    assert len(client.ledger.records()) == 320  # type: ignore[union-attr]
    assert local_world.invoked() == [NEW] * 320


def test_idle_warning_days_zero_turns_the_idle_guard_off(local_world: World) -> None:
    local_world.at(LEGACY_AT)
    client = local_world.client(policy=bl.Policy(idle_warning_days=0, on_legacy="ignore"))
    call(client, "Converse", OLD)
    local_world.at(LEGACY_AT + timedelta(days=12))
    call(client, "Converse", OLD)  # warnings are errors: an idle warning would fail here


def test_used_models_lists_what_this_machine_called(local_world: World, tmp_path: Any) -> None:
    catalog = local_world.catalog(persist=True, cache_path=tmp_path / "cache.json")
    client = local_world.client(catalog=catalog)
    call(client, "Converse", f"us.{NEW}")
    local_world.at(LEGACY_AT)
    with pytest.warns(bl.LegacyModelWarning):
        call(client, "Converse", OLD)
    assert [(m, r) for m, r, _ in catalog.used_models()] == [
        (OLD, "us-east-1"),
        (NEW, "us-east-1"),
    ]
    # Another process (a new catalog on the same file) sees them too.
    again = local_world.catalog(persist=True, cache_path=tmp_path / "cache.json", warm=False)
    assert {m for m, _, _ in again.used_models()} == {OLD, NEW}


def test_a_reused_decision_ends_at_the_next_transition(local_world: World) -> None:
    local_world.at(utc(2025, 8, 24, 23, 59, 59))  # one second before Legacy
    client = local_world.client(policy=bl.Policy(successors={OLD: NEW}))
    for _ in range(3):
        call(client, "Converse", OLD)  # Active: silent, decided once and reused
    local_world.at(utc(2025, 8, 25))  # Legacy from now: the reused decision must not outlive it
    with pytest.warns(bl.LegacyModelWarning):
        call(client, "Converse", OLD)
    assert local_world.invoked() == [OLD] * 4


def test_a_reused_decision_ends_when_the_catalog_learns_something(local_world: World) -> None:
    client = local_world.client(policy=bl.Policy(successors={OLD: NEW}))
    for _ in range(3):
        call(client, "Converse", OLD)  # Active: silent, decided once and reused
    # New data (Bedrock refused the model) invalidates every reused decision at once.
    client.catalog.mark_unavailable(OLD, "us-east-1", "eol")
    with pytest.warns(bl.FallbackWarning):
        call(client, "Converse", OLD)
    assert local_world.invoked() == [OLD, OLD, OLD, NEW]


# -- Reused decisions: the fast path keeps every behaviour -------------------------------------


@pytest.mark.parametrize("operation", OPERATIONS)
def test_a_reused_decision_still_falls_back_after_bedrocks_eol_error(
    world: World, operation: str
) -> None:
    client = world.client(catalog=_blind_catalog(world), policy=bl.Policy(successors={OLD: NEW}))
    call(client, operation, OLD)  # the model answers: the decision is kept for reuse
    world.at(EOL_AT)  # Bedrock retires it; the blind catalog cannot know
    with pytest.warns(bl.FallbackWarning):
        response = call(client, operation, OLD)
    assert world.fake.count(operation, model_id=OLD, status_code=404) == 1
    assert world.invoked(operation) == [OLD, NEW]
    assert _meta(response)["fallback"] is True
    if operation in RECORDED:
        records = client.ledger.records()  # type: ignore[union-attr]
        assert [(r.invoked_model_id, r.fallback_from) for r in records] == [(OLD, None), (NEW, OLD)]


@pytest.mark.parametrize("operation", ["ConverseStream", "InvokeModelWithResponseStream"])
def test_a_reused_stream_decision_still_falls_back_before_the_first_event(
    world: World, operation: str
) -> None:
    client = world.client(catalog=_blind_catalog(world), policy=bl.Policy(successors={OLD: NEW}))
    call(client, operation, OLD)  # decided and kept for reuse
    _retire_at_the_first_event(world, operation)
    with pytest.warns(bl.FallbackWarning):
        response = call(client, operation, OLD)
    assert response["events"]  # the replacement stream was read to its end
    assert world.invoked(operation)[-1] == NEW
    assert _meta(response)["invokedModelId"] == NEW
    records = client.ledger.records()  # type: ignore[union-attr]
    assert [(r.invoked_model_id, r.fallback_from, r.input_tokens) for r in records] == [
        (OLD, None, 1000),
        (NEW, OLD, 1000),
    ]


def test_a_reused_decision_ends_when_the_governor_is_reconfigured(local_world: World) -> None:
    local_world.at(LEGACY_AT)
    first, second = bl.MemoryLedger(), bl.MemoryLedger()
    governor = bl.Governor(
        catalog=local_world.catalog(),
        policy=bl.Policy(on_legacy="ignore"),
        ledger=first,
        prices=bl.PriceBook.bundled(),
    )
    client = bl.LifecycleClient(local_world.runtime(), governor)
    for _ in range(2):
        call(client, "Converse", OLD)  # Legacy, ignored: silent, decided once and reused
    governor.ledger = second
    call(client, "Converse", OLD)
    assert (len(first), len(second)) == (2, 1)
    governor.policy = bl.Policy(on_legacy="error")
    with pytest.raises(bl.LegacyModelError):
        call(client, "Converse", OLD)


def test_reused_decisions_keep_the_idle_guards_last_use(local_world: World) -> None:
    client = local_world.client()
    call(client, "Converse", OLD)
    call(client, "Converse", OLD)  # reused
    later = ACTIVE_AT + timedelta(hours=2)  # within the catalog's TTL: still reused
    local_world.at(later)
    call(client, "Converse", OLD)
    assert client.catalog.last_used(OLD, "us-east-1") == later
    assert local_world.fake.count("ListFoundationModels") == 0  # no new decision was made


def test_reused_decisions_record_each_call_at_its_own_time(local_world: World) -> None:
    client = local_world.client()
    times = [ACTIVE_AT + timedelta(minutes=minutes) for minutes in (0, 1, 90)]
    request_ids = []
    for when in times:
        local_world.at(when)
        response = call(client, "Converse", OLD)
        request_ids.append(response["ResponseMetadata"]["RequestId"])
    records = client.ledger.records()  # type: ignore[union-attr]
    assert [r.timestamp for r in records] == times
    assert [r.request_id for r in records] == request_ids
    assert len(set(request_ids)) == 3


@pytest.mark.parametrize("operation", ["ConverseStream", "InvokeModelWithResponseStream"])
def test_stream_usage_survives_a_consumer_that_changes_events(
    local_world: World, operation: str
) -> None:
    client = local_world.client()
    for _ in range(2):  # the first call decides, the second reuses the decision
        if operation == "ConverseStream":
            stream = client.converse_stream(modelId=OLD, messages=[{"role": "user", "content": []}])
            for event in stream["stream"]:
                event.get("metadata", {}).pop("usage", None)  # as LangChain does
        else:
            stream = client.invoke_model_with_response_stream(modelId=OLD, body=b"{}")
            for event in stream["body"]:
                event.pop("chunk", None)
    records = client.ledger.records()  # type: ignore[union-attr]
    assert [(r.input_tokens, r.output_tokens) for r in records] == [(1000, 500), (1000, 500)]


def test_a_custom_sink_gets_built_records_from_reused_decisions(local_world: World) -> None:
    class Collect:
        def __init__(self) -> None:
            self.got: list[bl.UsageRecord] = []

        def record(self, rec: bl.UsageRecord) -> None:
            self.got.append(rec)

        def flush(self) -> None: ...

        def close(self) -> None: ...

    sink = Collect()
    client = local_world.client(ledger=sink)
    for operation in RECORDED:
        for _ in range(2):
            call(client, operation, OLD)
    assert all(type(rec) is bl.UsageRecord for rec in sink.got)
    assert [(r.operation, r.input_tokens, r.output_tokens) for r in sink.got] == [
        (operation, 1000, 500) for operation in RECORDED for _ in range(2)
    ]
