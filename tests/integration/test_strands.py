"""Strands Agents' ``BedrockModel``, unchanged, with its client swapped for a governed one.

``BedrockModel`` builds its own ``bedrock-runtime`` client (here pointed at the fake Bedrock over
loopback HTTP by ``AWS_ENDPOINT_URL_BEDROCK_RUNTIME``) and keeps it in ``model.client``; most
tests replace it with ``bl.wrap(model.client, ...)``, the ``install`` ones leave it as built.
Strands calls the client from a worker thread (``asyncio.to_thread``) and ``Agent.__call__`` runs
its own event loop in another thread, so these tests also show that warnings, fallback and usage
recording work across those threads.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import boto3
import pytest
from strands import Agent
from strands.models import BedrockModel

import bedrock_lifecycle as bl
from bedrock_lifecycle.testing import FakeBedrock

from .._examples import run_example
from .conftest import (
    EOL_MODEL,
    EOL_PROFILE,
    SUCCESSOR,
    SUCCESSOR_INPUT_TOKENS,
    SUCCESSOR_OUTPUT_TOKENS,
    SUCCESSOR_PROFILE,
    SUCCESSOR_REPLY,
    CatalogFactory,
)

pytestmark = pytest.mark.integration


RUNTIME_OPERATIONS = {"Converse", "ConverseStream", "InvokeModel", "InvokeModelWithResponseStream"}
PROACTIVE_WARNING = rf"{EOL_PROFILE} reached end of life on 2026-03-01 in us-east-1"
REACTIVE_WARNING = rf"{EOL_PROFILE} was refused by Bedrock \(lifecycle error\)"
HELLO: list[Any] = [{"role": "user", "content": [{"text": "hi"}]}]


@pytest.fixture(autouse=True)
def _endpoint_on_fake(fake: FakeBedrock, monkeypatch: pytest.MonkeyPatch) -> None:
    # Through the environment rather than BedrockModel(endpoint_url=...), which older Strands
    # releases do not take.
    monkeypatch.setenv("AWS_ENDPOINT_URL_BEDROCK_RUNTIME", fake.endpoint_url)


def runtime_calls(fake: FakeBedrock) -> list[tuple[str, str | None, int]]:
    """(operation, model id as sent, HTTP status) of every runtime call the fake answered."""
    return [
        (r.operation, r.model_id, r.status_code)
        for r in fake.requests
        if r.operation in RUNTIME_OPERATIONS
    ]


def strands_model(fake: FakeBedrock, model_id: str = EOL_PROFILE, **config: Any) -> BedrockModel:
    """A BedrockModel whose own client talks to the fake over loopback HTTP."""
    model = BedrockModel(model_id=model_id, region_name="us-east-1", **config)
    assert model.client.meta.service_model.service_name == "bedrock-runtime"
    assert model.client.meta.endpoint_url == fake.endpoint_url
    return model


def govern(
    model: BedrockModel, catalog: bl.Catalog, policy: bl.Policy, ledger: bl.MemoryLedger
) -> bl.LifecycleClient:
    """Swap the model's client for a governed one (the documented one-line change)."""
    governed = bl.wrap(model.client, policy=policy, catalog=catalog, ledger=ledger)
    model.client = governed
    return governed


def check_record(ledger: bl.MemoryLedger, operation: str) -> None:
    (record,) = ledger.records()
    assert record.operation == operation
    assert record.requested_model_id == EOL_PROFILE
    assert record.invoked_model_id == SUCCESSOR_PROFILE
    assert record.fallback_from == EOL_PROFILE
    assert (record.input_tokens, record.output_tokens) == (
        SUCCESSOR_INPUT_TOKENS,
        SUCCESSOR_OUTPUT_TOKENS,
    )


async def collect(events: AsyncIterator[Any]) -> list[Any]:
    return [event async for event in events]


def test_agent_is_answered_by_the_successor(
    fake: FakeBedrock, make_catalog: CatalogFactory, policy: bl.Policy
) -> None:
    ledger = bl.MemoryLedger()
    model = strands_model(fake)
    govern(model, make_catalog(), policy, ledger)
    agent = Agent(model=model, callback_handler=None)

    with pytest.warns(bl.FallbackWarning, match=PROACTIVE_WARNING):
        result = agent("hi")

    assert str(result).strip() == SUCCESSOR_REPLY
    assert result.stop_reason == "end_turn"
    # Strands read the usage from the stream's metadata event, as Bedrock sent it.
    usage = result.metrics.accumulated_usage
    assert (usage["inputTokens"], usage["outputTokens"]) == (
        SUCCESSOR_INPUT_TOKENS,
        SUCCESSOR_OUTPUT_TOKENS,
    )
    assert runtime_calls(fake) == [("ConverseStream", SUCCESSOR_PROFILE, 200)]
    check_record(ledger, "ConverseStream")


def test_model_stream_events_are_those_of_the_successor_unchanged(
    fake: FakeBedrock, make_catalog: CatalogFactory, policy: bl.Policy
) -> None:
    ledger = bl.MemoryLedger()
    model = strands_model(fake)
    govern(model, make_catalog(), policy, ledger)

    with pytest.warns(bl.FallbackWarning, match=PROACTIVE_WARNING):
        events = asyncio.run(collect(model.stream(HELLO)))
    # The same request sent straight to the successor, without the wrapper.
    direct = asyncio.run(collect(strands_model(fake, SUCCESSOR_PROFILE).stream(HELLO)))

    assert events == direct
    text = "".join(
        e["contentBlockDelta"]["delta"].get("text", "") for e in events if "contentBlockDelta" in e
    )
    assert text == SUCCESSOR_REPLY
    assert events[-1]["metadata"]["usage"]["inputTokens"] == SUCCESSOR_INPUT_TOKENS
    assert runtime_calls(fake) == [
        ("ConverseStream", SUCCESSOR_PROFILE, 200),
        ("ConverseStream", SUCCESSOR_PROFILE, 200),
    ]
    check_record(ledger, "ConverseStream")


@pytest.mark.parametrize("streaming", [True, False], ids=["converse-stream", "converse"])
def test_reactive_fallback_when_the_catalog_does_not_know(
    fake: FakeBedrock, make_catalog: CatalogFactory, policy: bl.Policy, streaming: bool
) -> None:
    ledger = bl.MemoryLedger()
    catalog = make_catalog(informed=False)
    assert catalog.lookup(EOL_MODEL, "us-east-1").eol_at is None
    model = strands_model(fake, streaming=streaming)
    govern(model, catalog, policy, ledger)
    agent = Agent(model=model, callback_handler=None)
    operation = "ConverseStream" if streaming else "Converse"

    with pytest.warns(bl.FallbackWarning, match=REACTIVE_WARNING):
        result = asyncio.run(agent.invoke_async("hi"))

    assert str(result).strip() == SUCCESSOR_REPLY
    assert runtime_calls(fake) == [
        (operation, EOL_PROFILE, 404),
        (operation, SUCCESSOR_PROFILE, 200),
    ]
    check_record(ledger, operation)


def test_a_refusal_reaches_the_agent_caller(
    fake: FakeBedrock, make_catalog: CatalogFactory
) -> None:
    ledger = bl.MemoryLedger()
    model = strands_model(fake)
    refuse = bl.Policy(successors={EOL_MODEL: SUCCESSOR}, on_eol="error")
    govern(model, make_catalog(), refuse, ledger)
    agent = Agent(model=model, callback_handler=None)

    with pytest.raises(bl.ModelEndOfLifeError) as caught:
        agent("hi")

    assert caught.value.model_id == EOL_PROFILE
    assert caught.value.successor is None
    assert runtime_calls(fake) == []
    assert len(ledger) == 0


def test_install_governs_the_client_strands_builds_from_a_given_session(
    fake: FakeBedrock, make_catalog: CatalogFactory, policy: bl.Policy
) -> None:
    # The per-session form: BedrockModel builds its client from the boto_session it is given,
    # and only that session's clients are governed.
    session = boto3.Session(region_name="us-east-1")
    ledger = bl.MemoryLedger()
    bl.install(session, policy=policy, catalog=make_catalog(), ledger=ledger)
    try:
        model = BedrockModel(model_id=EOL_PROFILE, boto_session=session)
        assert not isinstance(model.client, bl.LifecycleClient)
        agent = Agent(model=model, callback_handler=None)
        with pytest.warns(bl.FallbackWarning, match=PROACTIVE_WARNING):
            result = agent("hi")
    finally:
        bl.uninstall(session)

    assert str(result).strip() == SUCCESSOR_REPLY
    assert runtime_calls(fake) == [("ConverseStream", SUCCESSOR_PROFILE, 200)]
    check_record(ledger, "ConverseStream")


def test_install_governs_the_client_a_default_bedrock_model_builds(
    fake: FakeBedrock,
    make_catalog: CatalogFactory,
    policy: bl.Policy,
    install_everywhere: Callable[..., bl.Governor],
) -> None:
    # No boto_session: BedrockModel makes a boto3.Session() of its own, which install()
    # without a session reaches.
    ledger = bl.MemoryLedger()
    governor = install_everywhere(policy=policy, catalog=make_catalog(), ledger=ledger)
    model = BedrockModel(model_id=EOL_PROFILE)
    assert not isinstance(model.client, bl.LifecycleClient)
    assert model.client.meta.endpoint_url == fake.endpoint_url
    agent = Agent(model=model, callback_handler=None)

    with pytest.warns(bl.FallbackWarning, match=PROACTIVE_WARNING):
        result = agent("hi")

    assert str(result).strip() == SUCCESSOR_REPLY
    assert runtime_calls(fake) == [("ConverseStream", SUCCESSOR_PROFILE, 200)]
    check_record(ledger, "ConverseStream")
    assert bl.installed_governor(boto3.Session()) is governor


@pytest.mark.slow
def test_example_runs_offline_and_reports_the_fallback(tmp_path: Path) -> None:
    lines = run_example("strands_fallback.py", tmp_path)

    assert lines[0] == (
        f"warning: FallbackWarning: {EOL_PROFILE} reached end of life on 2026-03-01 in "
        f"us-east-1; ConverseStream sent to {SUCCESSOR_PROFILE} instead."
    )
    assert lines[1].startswith("answer: ")
    assert lines[1] != "answer: "
    assert [line for line in lines if line.startswith("bedrock saw: ")] == [
        f"bedrock saw: ConverseStream {SUCCESSOR_PROFILE} -> 200"
    ]
    ledger = [line.split()[:4] for line in lines if line.startswith("ledger: ")]
    assert ledger == [
        ["ledger:", "ConverseStream", SUCCESSOR_PROFILE, f"fallback_from={EOL_PROFILE}"]
    ]
