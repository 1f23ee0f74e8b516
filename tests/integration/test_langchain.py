"""LangChain's Bedrock chat models, unchanged, driven through the governed client.

``ChatBedrockConverse`` (Converse / ConverseStream) and ``ChatBedrock`` (InvokeModel /
InvokeModelWithResponseStream) are given a client from :func:`bedrock_lifecycle.wrap` that talks
to the fake Bedrock over loopback HTTP, so responses and event streams go through botocore's
real parsers. Each test checks what LangChain returns, the warning, the model id the fake was
actually called with, and the ledger.
"""

from __future__ import annotations

import asyncio
import functools
import operator
from collections.abc import Callable
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from langchain_aws import ChatBedrock, ChatBedrockConverse
from langchain_core.messages import AIMessage, AIMessageChunk

import bedrock_lifecycle as bl
from bedrock_lifecycle.testing import FakeBedrock

from .._examples import run_example
from .conftest import (
    DUMMY_ACCESS_KEY,
    DUMMY_SECRET_KEY,
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


def runtime_calls(fake: FakeBedrock) -> list[tuple[str, str | None, int]]:
    """(operation, model id as sent, HTTP status) of every runtime call the fake answered."""
    return [
        (r.operation, r.model_id, r.status_code)
        for r in fake.requests
        if r.operation in RUNTIME_OPERATIONS
    ]


def text_of(content: Any) -> str:
    """The text of a LangChain message's content (a string or a list of content blocks)."""
    if isinstance(content, str):
        return content
    return "".join(
        block.get("text", "") if isinstance(block, dict) else str(block) for block in content
    )


def ask(chat: Any, method: str) -> str:
    """The answer's text, through ``chat.invoke`` or (merging the chunks) ``chat.stream``."""
    if method == "invoke":
        return text_of(chat.invoke("hi").content)
    return text_of(functools.reduce(operator.add, chat.stream("hi")).content)


def governed(
    fake: FakeBedrock, catalog: bl.Catalog, policy: bl.Policy, ledger: bl.MemoryLedger
) -> bl.LifecycleClient:
    return bl.wrap(
        fake.client("bedrock-runtime", mode="server"),
        policy=policy,
        catalog=catalog,
        ledger=ledger,
    )


def converse_chat(fake: FakeBedrock, client: Any) -> ChatBedrockConverse:
    """ChatBedrockConverse on ``client``; its control-plane client is the fake's too, so
    LangChain builds no AWS client of its own."""
    chat = ChatBedrockConverse(
        client=client,
        bedrock_client=fake.client("bedrock"),
        model=EOL_PROFILE,
        region_name="us-east-1",
    )
    assert chat.client is client
    return chat


def check_record(ledger: bl.MemoryLedger, operation: str) -> bl.UsageRecord:
    (record,) = ledger.records()
    assert record.operation == operation
    assert record.requested_model_id == EOL_PROFILE
    assert record.invoked_model_id == SUCCESSOR_PROFILE
    assert record.fallback_from == EOL_PROFILE
    assert record.region == "us-east-1"
    assert (record.input_tokens, record.output_tokens) == (
        SUCCESSOR_INPUT_TOKENS,
        SUCCESSOR_OUTPUT_TOKENS,
    )
    return record


# -- ChatBedrockConverse, wrapped client ------------------------------------------------------


def test_invoke_is_answered_by_the_successor(
    fake: FakeBedrock, make_catalog: CatalogFactory, policy: bl.Policy
) -> None:
    ledger = bl.MemoryLedger()
    chat = converse_chat(fake, governed(fake, make_catalog(), policy, ledger))

    with pytest.warns(bl.FallbackWarning, match=PROACTIVE_WARNING):
        message = chat.invoke("hi")

    assert isinstance(message, AIMessage)
    assert text_of(message.content) == SUCCESSOR_REPLY
    # The successor keeps the caller's "us." inference-profile form; the retired model is never
    # called.
    assert runtime_calls(fake) == [("Converse", SUCCESSOR_PROFILE, 200)]
    check_record(ledger, "Converse")
    # LangChain reports the usage Bedrock sent, untouched by the wrapper.
    assert message.usage_metadata is not None
    assert message.usage_metadata["input_tokens"] == SUCCESSOR_INPUT_TOKENS
    assert message.usage_metadata["output_tokens"] == SUCCESSOR_OUTPUT_TOKENS
    # What was decided reaches the application through LangChain's response metadata.
    decided = message.response_metadata["ResponseMetadata"]["BedrockLifecycle"]
    assert decided["invokedModelId"] == SUCCESSOR_PROFILE
    assert decided["fallback"] is True


def test_stream_is_parsed_by_botocore_and_recorded_at_its_end(
    fake: FakeBedrock, make_catalog: CatalogFactory, policy: bl.Policy
) -> None:
    ledger = bl.MemoryLedger()
    chat = converse_chat(fake, governed(fake, make_catalog(), policy, ledger))

    chunks = chat.stream("hi")
    with pytest.warns(bl.FallbackWarning, match=PROACTIVE_WARNING):
        first = next(chunks)
    # Usage arrives in the stream's last event: nothing is recorded while the stream is open.
    assert len(ledger) == 0
    rest = list(chunks)

    assert all(isinstance(chunk, AIMessageChunk) for chunk in [first, *rest])
    assert len(rest) >= 3
    merged = functools.reduce(operator.add, [first, *rest])
    assert text_of(merged.content) == SUCCESSOR_REPLY
    assert merged.usage_metadata is not None
    assert merged.usage_metadata["input_tokens"] == SUCCESSOR_INPUT_TOKENS
    assert merged.usage_metadata["output_tokens"] == SUCCESSOR_OUTPUT_TOKENS
    assert runtime_calls(fake) == [("ConverseStream", SUCCESSOR_PROFILE, 200)]
    check_record(ledger, "ConverseStream")


@pytest.mark.parametrize("method", ["invoke", "stream"])
def test_reactive_fallback_when_the_catalog_does_not_know(
    fake: FakeBedrock, make_catalog: CatalogFactory, policy: bl.Policy, method: str
) -> None:
    ledger = bl.MemoryLedger()
    catalog = make_catalog(informed=False)
    assert catalog.lookup(EOL_MODEL, "us-east-1").eol_at is None
    chat = converse_chat(fake, governed(fake, catalog, policy, ledger))
    operation = "Converse" if method == "invoke" else "ConverseStream"

    with pytest.warns(bl.FallbackWarning, match=REACTIVE_WARNING):
        text = ask(chat, method)

    assert text == SUCCESSOR_REPLY
    # Bedrock's end-of-life answer, then one retry on the successor, inside a single LangChain call.
    assert runtime_calls(fake) == [
        (operation, EOL_PROFILE, 404),
        (operation, SUCCESSOR_PROFILE, 200),
    ]
    check_record(ledger, operation)

    # The catalog now knows: the next call goes straight to the successor (warned once only).
    fake.clear_requests()
    again = chat.invoke("hi again")
    assert text_of(again.content) == SUCCESSOR_REPLY
    assert runtime_calls(fake) == [("Converse", SUCCESSOR_PROFILE, 200)]


def test_async_invoke_and_stream_run_in_langchain_worker_threads(
    fake: FakeBedrock, make_catalog: CatalogFactory, policy: bl.Policy
) -> None:
    ledger = bl.MemoryLedger()
    chat = converse_chat(fake, governed(fake, make_catalog(informed=False), policy, ledger))

    async def both() -> tuple[str, str]:
        answer = await chat.ainvoke("hi")
        pieces = [chunk async for chunk in chat.astream("hi")]
        return text_of(answer.content), text_of(functools.reduce(operator.add, pieces).content)

    with pytest.warns(bl.FallbackWarning, match=REACTIVE_WARNING):
        answered, streamed = asyncio.run(both())

    assert answered == streamed == SUCCESSOR_REPLY
    assert runtime_calls(fake) == [
        ("Converse", EOL_PROFILE, 404),
        ("Converse", SUCCESSOR_PROFILE, 200),
        ("ConverseStream", SUCCESSOR_PROFILE, 200),
    ]
    assert [r.operation for r in ledger.records()] == ["Converse", "ConverseStream"]
    assert all(r.fallback_from == EOL_PROFILE for r in ledger.records())


def test_a_refusal_reaches_the_caller_unchanged(
    fake: FakeBedrock, make_catalog: CatalogFactory
) -> None:
    ledger = bl.MemoryLedger()
    refuse = bl.Policy(successors={EOL_MODEL: SUCCESSOR}, on_eol="error")
    chat = converse_chat(fake, governed(fake, make_catalog(), refuse, ledger))

    with pytest.raises(bl.ModelEndOfLifeError) as caught:
        chat.invoke("hi")

    error = caught.value
    assert isinstance(error, ClientError)
    assert error.response["Error"]["Code"] == "ResourceNotFoundException"
    assert error.model_id == EOL_PROFILE
    assert runtime_calls(fake) == []
    assert len(ledger) == 0


# -- ChatBedrock (InvokeModel), wrapped client ------------------------------------------------


def test_chat_bedrock_invoke_model_path_falls_back(
    fake: FakeBedrock, make_catalog: CatalogFactory, policy: bl.Policy
) -> None:
    ledger = bl.MemoryLedger()
    client = governed(fake, make_catalog(), policy, ledger)
    chat = ChatBedrock(
        client=client,
        bedrock_client=fake.client("bedrock"),
        model=EOL_PROFILE,
        region="us-east-1",
    )
    assert chat.client is client

    with pytest.warns(bl.FallbackWarning, match=PROACTIVE_WARNING):
        answered = ask(chat, "invoke")
    streamed = ask(chat, "stream")  # warned once per catalog: no second warning

    assert answered == streamed == SUCCESSOR_REPLY
    assert runtime_calls(fake) == [
        ("InvokeModel", SUCCESSOR_PROFILE, 200),
        ("InvokeModelWithResponseStream", SUCCESSOR_PROFILE, 200),
    ]
    records = ledger.records()
    assert [r.operation for r in records] == ["InvokeModel", "InvokeModelWithResponseStream"]
    assert all(r.invoked_model_id == SUCCESSOR_PROFILE for r in records)
    assert all(
        (r.input_tokens, r.output_tokens) == (SUCCESSOR_INPUT_TOKENS, SUCCESSOR_OUTPUT_TOKENS)
        for r in records
    )


# -- install(): clients LangChain builds itself -----------------------------------------------


@pytest.fixture
def default_session_on_fake(
    fake: FakeBedrock, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """A fresh boto3 default session whose clients reach the fake over loopback.

    Credentials come from a (dummy) shared credentials file, as they would from a profile, SSO
    or an instance role: with ``AWS_ACCESS_KEY_ID`` in the environment LangChain builds a
    session of its own instead (see the last test).
    """
    credentials = tmp_path / "credentials"
    credentials.write_text(
        f"[default]\naws_access_key_id = {DUMMY_ACCESS_KEY}\n"
        f"aws_secret_access_key = {DUMMY_SECRET_KEY}\n",
        encoding="utf-8",
    )
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(credentials))
    monkeypatch.setenv("AWS_ENDPOINT_URL_BEDROCK", fake.endpoint_url)
    monkeypatch.setenv("AWS_ENDPOINT_URL_BEDROCK_RUNTIME", fake.endpoint_url)
    monkeypatch.setattr(boto3, "DEFAULT_SESSION", None)


@pytest.mark.usefixtures("default_session_on_fake")
def test_install_governs_the_client_langchain_builds(
    fake: FakeBedrock,
    make_catalog: CatalogFactory,
    policy: bl.Policy,
    install_everywhere: Callable[..., bl.Governor],
) -> None:
    ledger = bl.MemoryLedger()
    install_everywhere(policy=policy, catalog=make_catalog(), ledger=ledger)
    chat = ChatBedrockConverse(model=EOL_PROFILE, region_name="us-east-1")
    assert not isinstance(chat.client, bl.LifecycleClient)
    with pytest.warns(bl.FallbackWarning, match=PROACTIVE_WARNING):
        message = chat.invoke("hi")

    assert text_of(message.content) == SUCCESSOR_REPLY
    assert runtime_calls(fake) == [("Converse", SUCCESSOR_PROFILE, 200)]
    check_record(ledger, "Converse")


@pytest.mark.usefixtures("default_session_on_fake")
def test_install_alone_cannot_retry_a_call_bedrock_refused(
    fake: FakeBedrock,
    make_catalog: CatalogFactory,
    policy: bl.Policy,
    install_everywhere: Callable[..., bl.Governor],
) -> None:
    install_everywhere(
        policy=policy, catalog=make_catalog(informed=False), ledger=bl.MemoryLedger()
    )
    chat = ChatBedrockConverse(model=EOL_PROFILE, region_name="us-east-1")
    with pytest.raises(ClientError) as caught:
        chat.invoke("hi")
    assert caught.value.response["Error"]["Code"] == "ResourceNotFoundException"
    # The hooks noted the lifecycle error: the next call goes to the successor.
    with pytest.warns(bl.FallbackWarning):
        message = chat.invoke("hi")

    assert text_of(message.content) == SUCCESSOR_REPLY
    assert runtime_calls(fake) == [
        ("Converse", EOL_PROFILE, 404),
        ("Converse", SUCCESSOR_PROFILE, 200),
    ]


@pytest.mark.usefixtures("default_session_on_fake")
@pytest.mark.parametrize("keys", ["arguments", "environment"])
def test_install_governs_langchain_given_keys(
    fake: FakeBedrock,
    make_catalog: CatalogFactory,
    policy: bl.Policy,
    install_everywhere: Callable[..., bl.Governor],
    monkeypatch: pytest.MonkeyPatch,
    keys: str,
) -> None:
    # Given keys (as arguments, or read by LangChain itself from AWS_ACCESS_KEY_ID /
    # AWS_SECRET_ACCESS_KEY), ChatBedrockConverse builds a boto3.Session of its own: install()
    # without a session reaches its client all the same.
    options: dict[str, Any] = {}
    if keys == "arguments":
        options.update(aws_access_key_id=DUMMY_ACCESS_KEY, aws_secret_access_key=DUMMY_SECRET_KEY)
    else:
        monkeypatch.setenv("AWS_ACCESS_KEY_ID", DUMMY_ACCESS_KEY)
        monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", DUMMY_SECRET_KEY)
    ledger = bl.MemoryLedger()
    install_everywhere(policy=policy, catalog=make_catalog(), ledger=ledger)
    chat = ChatBedrockConverse(model=EOL_PROFILE, region_name="us-east-1", **options)
    assert boto3.DEFAULT_SESSION is None  # the client is not one of the default session's
    assert not isinstance(chat.client, bl.LifecycleClient)

    with pytest.warns(bl.FallbackWarning, match=PROACTIVE_WARNING):
        message = chat.invoke("hi")

    assert text_of(message.content) == SUCCESSOR_REPLY
    decided = message.response_metadata["ResponseMetadata"]["BedrockLifecycle"]
    assert decided["invokedModelId"] == SUCCESSOR_PROFILE
    assert runtime_calls(fake) == [("Converse", SUCCESSOR_PROFILE, 200)]
    check_record(ledger, "Converse")


@pytest.mark.slow
def test_example_runs_offline_and_reports_the_fallback(tmp_path: Path) -> None:
    lines = run_example("langchain_fallback.py", tmp_path)

    assert lines[0] == (
        f"warning: FallbackWarning: {EOL_PROFILE} reached end of life on 2026-03-01 in "
        f"us-east-1; Converse sent to {SUCCESSOR_PROFILE} instead."
    )
    assert sum(line.startswith("warning:") for line in lines) == 1
    assert f"requested: {EOL_PROFILE} (EOL)" in lines
    assert f"invoked: {SUCCESSOR_PROFILE}" in lines
    answers = [line for line in lines if line.startswith(("answer: ", "streamed: "))]
    assert len(answers) == 2
    assert answers[0].split(": ", 1)[1] == answers[1].split(": ", 1)[1] != ""
    ledger = [line.split()[:4] for line in lines if line.startswith("ledger: ")]
    assert ledger == [
        ["ledger:", operation, SUCCESSOR_PROFILE, f"fallback_from={EOL_PROFILE}"]
        for operation in ("Converse", "ConverseStream")
    ]
