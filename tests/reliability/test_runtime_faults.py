"""Runtime faults during governed calls: only lifecycle errors move a call to a successor.

Throttling, server errors, access errors and dropped connections are the caller's to handle (or
botocore's retries): they must never trigger a fallback, never mark a model unavailable, and never
be swallowed. botocore's own retries still apply underneath the wrapper.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import date, datetime, timezone
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError, ConnectionClosedError, EventStreamError

import bedrock_lifecycle as bl
from bedrock_lifecycle.testing import FakeBedrock, FakeModel, FaultKind, Scenario

REGION = "us-east-1"
NOW = datetime(2026, 1, 15, tzinfo=timezone.utc)
OLD = "anthropic.claude-3-5-sonnet-20240620-v1:0"  # past end of life
LEGACY = "anthropic.claude-3-5-sonnet-20241022-v2:0"
NEW = "anthropic.claude-sonnet-4-20250514-v1:0"
OTHER = "anthropic.claude-3-7-sonnet-20250219-v1:0"
MESSAGES = [{"role": "user", "content": [{"text": "Say hello."}]}]
BODY = json.dumps(
    {"anthropic_version": "bedrock-2023-05-31", "max_tokens": 16, "messages": MESSAGES[:0]}
).encode()
RUNTIME = ("Converse", "ConverseStream", "InvokeModel", "InvokeModelWithResponseStream")
FAULTS = (
    FaultKind.THROTTLING,
    FaultKind.INTERNAL_ERROR,
    FaultKind.SERVICE_UNAVAILABLE,
    FaultKind.ACCESS_DENIED,
    FaultKind.DROP_CONNECTION,
)


def scenario() -> Scenario:
    return Scenario(
        models=(
            FakeModel(OLD, regions=(REGION,), legacy_at=date(2025, 6, 1), eol_at=date(2025, 12, 1)),
            FakeModel(
                LEGACY, regions=(REGION,), legacy_at=date(2025, 8, 25), eol_at=date(2026, 10, 1)
            ),
            FakeModel(NEW, regions=(REGION,)),
            FakeModel(OTHER, regions=(REGION,)),
        )
    )


@pytest.fixture(autouse=True)
def _isolated(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("BEDROCK_LIFECYCLE_CACHE_DIR", str(tmp_path / "default-cache"))
    monkeypatch.delenv("BEDROCK_LIFECYCLE_TTL", raising=False)
    monkeypatch.delenv("BEDROCK_LIFECYCLE_OFFLINE", raising=False)


@pytest.fixture
def fake() -> Iterator[FakeBedrock]:
    with FakeBedrock(scenario(), now=NOW) as bedrock:
        yield bedrock


def _catalog(fake: FakeBedrock) -> bl.Catalog:
    return bl.Catalog(
        client_factory=lambda region: fake.client("bedrock", region),
        region_name=REGION,
        clock=fake.clock,
        persist=False,
        bundled=False,
        max_wait=5.0,
        overrides={OLD: {"eol_at": "2025-12-01"}},
    )


def _call(client: Any, operation: str, model: str) -> dict[str, Any]:
    if operation == "Converse":
        return client.converse(modelId=model, messages=MESSAGES)  # type: ignore[no-any-return]
    if operation == "InvokeModel":
        response = client.invoke_model(modelId=model, body=BODY)
        response["body"].read()
        return response  # type: ignore[no-any-return]
    if operation == "ConverseStream":
        response = client.converse_stream(modelId=model, messages=MESSAGES)
        list(response["stream"])
        return response  # type: ignore[no-any-return]
    response = client.invoke_model_with_response_stream(modelId=model, body=BODY)
    list(response["body"])
    return response  # type: ignore[no-any-return]


def _sent(fake: FakeBedrock) -> list[str | None]:
    return [r.model_id for r in fake.requests if r.operation in RUNTIME]


@pytest.mark.parametrize("operation", RUNTIME)
@pytest.mark.parametrize("fault", FAULTS, ids=str)
@pytest.mark.parametrize("model", [LEGACY, OLD], ids=["legacy-with-successor", "eol-fallen-back"])
def test_non_lifecycle_errors_never_trigger_a_fallback(
    fake: FakeBedrock, fault: FaultKind, operation: str, model: str
) -> None:
    catalog = _catalog(fake)
    ledger = bl.MemoryLedger()
    policy = bl.Policy(on_legacy="ignore", successors={LEGACY: OTHER, OLD: NEW, NEW: OTHER})
    client = bl.wrap(
        fake.client("bedrock-runtime", REGION), catalog=catalog, ledger=ledger, policy=policy
    )
    target = NEW if model == OLD else LEGACY  # where the call goes before any fault
    if model == OLD:
        with pytest.warns(bl.FallbackWarning):
            _call(client, operation, model)
    else:
        _call(client, operation, model)
    fake.clear_requests()
    fake.inject(operation, fault, times=1, model_id=target)

    expected = ConnectionClosedError if fault is FaultKind.DROP_CONNECTION else ClientError
    with pytest.raises(expected):
        _call(client, operation, model)
    assert _sent(fake) == [target]  # one attempt, on the same model: no fallback, no chain
    assert catalog.withdrawn(target, REGION) is None
    # The next call goes where it went before, and is recorded once.
    response = _call(client, operation, model)
    assert response["ResponseMetadata"]["BedrockLifecycle"]["invokedModelId"] == target
    assert _sent(fake) == [target, target]
    assert len(ledger) == 2  # the first successful call and this one; the failure is not recorded


@pytest.mark.parametrize("exception_type", ["throttlingException", "internalServerException"])
def test_a_stream_failing_before_its_first_event_with_throttling_is_not_restarted(
    fake: FakeBedrock, exception_type: str
) -> None:
    catalog = _catalog(fake)
    client = bl.wrap(
        fake.client("bedrock-runtime", REGION),
        catalog=catalog,
        policy=bl.Policy(on_legacy="ignore", successors={LEGACY: OTHER}),
    )
    fake.inject("ConverseStream", FaultKind.STREAM_ERROR, times=1, exception_type=exception_type)
    response = client.converse_stream(modelId=LEGACY, messages=MESSAGES)
    with pytest.raises(EventStreamError):
        list(response["stream"])
    assert _sent(fake) == [LEGACY]
    assert catalog.withdrawn(LEGACY, REGION) is None


@pytest.mark.parametrize("model", [NEW, OLD], ids=["active", "eol-fallen-back"])
def test_botocore_retries_still_apply_under_the_wrapper(fake: FakeBedrock, model: str) -> None:
    catalog = _catalog(fake)
    ledger = bl.MemoryLedger()
    runtime = fake.client("bedrock-runtime", REGION, retries=3)
    policy = bl.Policy(successors={OLD: NEW, NEW: OTHER})
    client = bl.wrap(runtime, catalog=catalog, ledger=ledger, policy=policy)
    fake.inject("Converse", FaultKind.THROTTLING, times=2, model_id=NEW)
    if model == OLD:
        with pytest.warns(bl.FallbackWarning):
            response = client.converse(modelId=model, messages=MESSAGES)
    else:
        response = client.converse(modelId=model, messages=MESSAGES)
    assert response["ResponseMetadata"]["RetryAttempts"] == 2
    assert response["ResponseMetadata"]["BedrockLifecycle"]["invokedModelId"] == NEW
    throttled = [r for r in fake.requests if r.error_code == "ThrottlingException"]
    assert len(throttled) == 2
    assert _sent(fake) == [NEW, NEW, NEW]  # botocore's retries, never the old model
    assert [rec.invoked_model_id for rec in ledger.records()] == [NEW]  # recorded once
