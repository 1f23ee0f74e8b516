"""Fault injection, bad input, the request log under concurrency, and clean shutdown."""

from __future__ import annotations

import http.client
import json
import socket
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from botocore.exceptions import (
    ClientError,
    ConnectionClosedError,
    EventStreamError,
)

from bedrock_lifecycle.testing import FakeBedrock, FaultKind

NOVA = "amazon.nova-pro-v1:0"
SONNET35 = "anthropic.claude-3-5-sonnet-20240620-v1:0"
MESSAGES = [{"role": "user", "content": [{"text": "hello"}]}]
SIGNED = {
    "Authorization": (
        "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20260115/us-west-2/bedrock/aws4_request, "
        "SignedHeaders=host, Signature=0"
    ),
    "Content-Type": "application/json",
}


@pytest.fixture
def fake() -> Iterator[FakeBedrock]:
    with FakeBedrock() as instance:
        yield instance


@pytest.fixture(params=["inprocess", "server"])
def mode(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.mark.parametrize(
    ("kind", "status", "code"),
    [
        ("throttling", 429, "ThrottlingException"),
        ("internal_error", 500, "InternalServerException"),
        ("service_unavailable", 503, "ServiceUnavailableException"),
        ("access_denied", 403, "AccessDeniedException"),
    ],
)
def test_error_faults_answer_like_bedrock(
    fake: FakeBedrock, mode: str, kind: str, status: int, code: str
) -> None:
    runtime = fake.client("bedrock-runtime", mode=mode)  # type: ignore[arg-type]
    fake.inject("Converse", kind, times=2)
    for _ in range(2):
        with pytest.raises(ClientError) as caught:
            runtime.converse(modelId=NOVA, messages=MESSAGES)
        assert caught.value.response["Error"]["Code"] == code
        assert caught.value.response["ResponseMetadata"]["HTTPStatusCode"] == status
    runtime.converse(modelId=NOVA, messages=MESSAGES)
    assert fake.faults == ()
    assert [r.status_code for r in fake.requests] == [status, status, 200]
    assert fake.requests[0].error_code == code


def test_faults_are_scoped_by_operation_and_model(fake: FakeBedrock) -> None:
    runtime = fake.client("bedrock-runtime")
    fake.inject("InvokeModel", FaultKind.THROTTLING)
    fake.inject(None, "access_denied", model_id=SONNET35)
    runtime.converse(modelId=NOVA, messages=MESSAGES)
    with pytest.raises(ClientError, match="ThrottlingException"):
        runtime.invoke_model(modelId=NOVA, body=b"{}")
    with pytest.raises(ClientError, match="AccessDeniedException"):
        runtime.converse(modelId=f"us.{SONNET35}", messages=MESSAGES)  # the resolved base id
    assert {fault.kind for fault in fake.faults} == {FaultKind.THROTTLING, FaultKind.ACCESS_DENIED}
    fake.clear_faults()
    runtime.invoke_model(modelId=NOVA, body=b"{}")
    with pytest.raises(ValueError):
        fake.inject("Converse", "throttling", times=0)


def test_retries_ride_over_a_throttle(fake: FakeBedrock) -> None:
    runtime = fake.client("bedrock-runtime", retries=1)
    fake.inject("Converse", "throttling", times=1)
    response = runtime.converse(modelId=NOVA, messages=MESSAGES)
    assert response["ResponseMetadata"]["RetryAttempts"] == 1
    assert fake.count("Converse") == 2


def test_dropped_connection(fake: FakeBedrock, mode: str) -> None:
    runtime = fake.client("bedrock-runtime", mode=mode)  # type: ignore[arg-type]
    fake.inject("Converse", "drop_connection", times=1)
    with pytest.raises(ConnectionClosedError):
        runtime.converse(modelId=NOVA, messages=MESSAGES)
    assert runtime.converse(modelId=NOVA, messages=MESSAGES)["stopReason"] == "end_turn"
    assert fake.requests[0].error_code == "ConnectionDropped"


def test_latency(fake: FakeBedrock, mode: str) -> None:
    runtime = fake.client("bedrock-runtime", mode=mode)  # type: ignore[arg-type]
    fake.inject("Converse", "latency", delay=0.2, times=1)
    started = time.perf_counter()
    runtime.converse(modelId=NOVA, messages=MESSAGES)
    assert time.perf_counter() - started >= 0.2
    started = time.perf_counter()
    runtime.converse(modelId=NOVA, messages=MESSAGES)
    assert time.perf_counter() - started < 0.2


def test_malformed_json_breaks_the_parser(fake: FakeBedrock, mode: str) -> None:
    control = fake.client("bedrock", mode=mode)  # type: ignore[arg-type]
    fake.inject("ListFoundationModels", "malformed_json", times=1)
    broken = control.list_foundation_models()  # botocore keeps the raw text, drops the fields
    assert "modelSummaries" not in broken
    assert control.list_foundation_models()["modelSummaries"]


def _drain(stream: Any, sink: list[Any]) -> None:
    sink.extend(stream)  # raises EventStreamError at the exception frame


@pytest.mark.parametrize("after", [0, 2])
def test_converse_stream_fails_after_n_events(fake: FakeBedrock, mode: str, after: int) -> None:
    runtime = fake.client("bedrock-runtime", mode=mode)  # type: ignore[arg-type]
    fake.inject(
        "ConverseStream", "stream_error", after_events=after, exception_type="throttlingException"
    )
    response = runtime.converse_stream(modelId=NOVA, messages=MESSAGES)
    seen: list[Any] = []
    with pytest.raises(EventStreamError) as caught:
        _drain(response["stream"], seen)
    assert len(seen) == after
    assert caught.value.response["Error"]["Code"] == "throttlingException"
    assert fake.requests[-1].error_code == "throttlingException"


def test_invoke_stream_fails_after_n_events(fake: FakeBedrock, mode: str) -> None:
    runtime = fake.client("bedrock-runtime", mode=mode)  # type: ignore[arg-type]
    fake.inject(None, "stream_error", after_events=1, message="model broke", times=1)
    runtime.converse(modelId=NOVA, messages=MESSAGES)  # not a stream: untouched
    response = runtime.invoke_model_with_response_stream(modelId=SONNET35, body=b"{}")
    events: list[Any] = []
    with pytest.raises(EventStreamError) as caught:
        _drain(response["body"], events)
    chunks = [json.loads(event["chunk"]["bytes"]) for event in events]
    assert [chunk["type"] for chunk in chunks] == ["message_start"]
    assert caught.value.response["Error"] == {
        "Code": "modelStreamErrorException",
        "Message": "model broke",
    }


def _raw(fake: FakeBedrock, method: str, path: str, body: bytes = b"", **headers: str) -> Any:
    connection = http.client.HTTPConnection("127.0.0.1", fake.port or 0, timeout=5)
    try:
        connection.request(method, path, body=body, headers=headers)
        response = connection.getresponse()
        return response.status, dict(response.getheaders()), response.read()
    finally:
        connection.close()


def test_unknown_paths_and_methods(fake: FakeBedrock) -> None:
    fake.start()
    for method, path in [
        ("GET", "/nothing"),
        ("POST", "/model/x/teleport"),
        ("DELETE", "/foundation-models"),
        ("GET", "/"),
        ("POST", "/foundation-models"),
    ]:
        status, headers, body = _raw(fake, method, path, **SIGNED)
        assert status == 404
        assert headers["x-amzn-ErrorType"].startswith("UnknownOperationException")
        assert "message" in json.loads(body)
    assert fake.count("Unknown") == 5


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/model/amazon.nova-pro-v1%3A0/converse", b"{not json"),
        ("/model/amazon.nova-pro-v1%3A0/converse", b"[1, 2]"),
        ("/model/amazon.nova-pro-v1%3A0/converse", b'{"messages": "hi"}'),
        ("/model/amazon.nova-pro-v1%3A0/invoke", b"\xff\xfe"),
        ("/model/amazon.nova-pro-v1%3A0/count-tokens", b'{"input": {}}'),
        (
            "/model/amazon.nova-pro-v1%3A0/count-tokens",
            b'{"input": {"invokeModel": {"body": "!"}}}',
        ),
        ("/async-invoke", b'{"modelId": "amazon.nova-pro-v1:0"}'),
        ("/async-invoke", b"{}"),
    ],
)
def test_malformed_request_bodies(fake: FakeBedrock, path: str, body: bytes) -> None:
    fake.start()
    status, headers, answer = _raw(fake, "POST", path, body, **SIGNED)
    assert status == 400
    assert headers["x-amzn-ErrorType"].startswith("ValidationException")
    assert json.loads(answer)["message"]
    assert fake.requests[-1].region == "us-west-2"


def test_garbage_on_the_socket_gets_an_answer_not_a_hang(fake: FakeBedrock) -> None:
    fake.start()
    with socket.create_connection(("127.0.0.1", fake.port or 0), timeout=5) as raw:
        raw.sendall(b"NONSENSE / SPDY/9\r\n\r\n")
        answer = raw.recv(4096)
        assert answer.startswith(b"HTTP/1.")
        assert b" 400 " in answer.split(b"\r\n", 1)[0]
        assert b"x-amzn-ErrorType: ValidationException" in answer
    status, _, _ = _raw(fake, "POST", "/async-invoke", b"x" * 10, **{"Content-Length": "-5"})
    assert status == 400


def test_concurrent_requests_are_all_logged(fake: FakeBedrock) -> None:
    runtime = fake.client("bedrock-runtime", mode="server")
    inprocess = fake.client("bedrock-runtime")

    def call(number: int) -> int:
        client = runtime if number % 2 else inprocess
        return int(client.converse(modelId=NOVA, messages=MESSAGES)["usage"]["inputTokens"])

    with ThreadPoolExecutor(max_workers=8) as pool:
        assert set(pool.map(call, range(80))) == {2}
    assert fake.count("Converse") == 80
    assert fake.count(model_id=NOVA, region="us-east-1") == 80
    assert {r.mode for r in fake.requests} == {"server", "inprocess"}
    fake.clear_requests()
    assert fake.requests == ()


def test_close_leaves_no_thread_and_no_port() -> None:
    before = set(threading.enumerate())
    fake = FakeBedrock()
    with fake:
        runtime = fake.client("bedrock-runtime", mode="server")
        runtime.converse(modelId=NOVA, messages=MESSAGES)  # leaves a keep-alive connection
        port = fake.port
        assert port is not None
        idle = socket.create_connection(("127.0.0.1", port))  # a client that never speaks
        partial = socket.create_connection(("127.0.0.1", port))
        partial.sendall(b"POST /async-invoke HTTP/1.1\r\nContent-Length: 100\r\n\r\n{")
        time.sleep(0.05)
        assert len(set(threading.enumerate()) - before) >= 3
        started = time.perf_counter()
    assert time.perf_counter() - started < 2
    idle.close()
    partial.close()
    assert set(threading.enumerate()) - before == set()
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
    with pytest.raises(RuntimeError):
        fake.start()
    fake.close()  # twice is harmless


def test_inprocess_mode_opens_no_socket() -> None:
    before = set(threading.enumerate())
    with FakeBedrock() as fake:
        fake.client("bedrock-runtime").converse(modelId=NOVA, messages=MESSAGES)
        assert fake.port is None
        assert set(threading.enumerate()) == before
