"""Usage extraction from Bedrock responses, and usage records."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from typing import Any, cast

import boto3
import pytest
from botocore.awsrequest import AWSResponse
from hypothesis import given
from hypothesis import strategies as st

from bedrock_lifecycle._lifecycle import State
from bedrock_lifecycle._pricing import PriceBook
from bedrock_lifecycle._usage import (
    Usage,
    UsageRecord,
    figures_from_tail,
    invoke_chunk_figures,
    metrics_tail,
    usage_from_converse,
    usage_from_invoke_headers,
    usage_from_invoke_stream_chunk,
    usage_from_stream_metadata,
)

from ._records import usage_record

V2 = "anthropic.claude-3-5-sonnet-20241022-v2:0"
T0 = datetime(2025, 12, 2, 9, 30, tzinfo=timezone.utc)

CONVERSE_RESPONSE: dict[str, Any] = {
    "ResponseMetadata": {"RequestId": "a1b2", "HTTPStatusCode": 200},
    "output": {"message": {"role": "assistant", "content": [{"text": "hello"}]}},
    "stopReason": "end_turn",
    "usage": {
        "inputTokens": 1203,
        "outputTokens": 87,
        "totalTokens": 1290,
        "cacheReadInputTokens": 1024,
        "cacheWriteInputTokens": 0,
    },
    "metrics": {"latencyMs": 812},
}


def test_usage_from_converse() -> None:
    assert usage_from_converse(CONVERSE_RESPONSE) == Usage(
        input_tokens=1203,
        output_tokens=87,
        cache_read_input_tokens=1024,
        cache_write_input_tokens=0,
        latency_ms=812,
    )


def test_usage_from_converse_without_usage_is_unknown() -> None:
    usage = usage_from_converse({"output": {}, "stopReason": "end_turn"})
    assert usage == Usage()
    assert not usage.known


def test_usage_from_stream_metadata_accepts_event_or_inner_dict() -> None:
    event = {
        "metadata": {
            "usage": {"inputTokens": 25, "outputTokens": 400, "totalTokens": 425},
            "metrics": {"latencyMs": 2210},
        }
    }
    expected = Usage(input_tokens=25, output_tokens=400, latency_ms=2210)
    assert usage_from_stream_metadata(event) == expected
    assert usage_from_stream_metadata(event["metadata"]) == expected


def test_usage_from_invoke_headers() -> None:
    headers = {
        "date": "Tue, 02 Dec 2025 09:30:00 GMT",
        "content-type": "application/json",
        "x-amzn-requestid": "6f1c",
        "x-amzn-bedrock-invocation-latency": "1534",
        "x-amzn-bedrock-output-token-count": "161",
        "x-amzn-bedrock-input-token-count": "19",
        "x-amzn-bedrock-cache-read-input-token-count": "0",
        "x-amzn-bedrock-cache-write-input-token-count": "2048",
    }
    assert usage_from_invoke_headers(headers) == Usage(19, 161, 0, 2048, 1534)


def test_usage_from_invoke_headers_tolerates_garbage_and_other_casing() -> None:
    headers = {
        "X-Amzn-Bedrock-Input-Token-Count": "12",
        "X-Amzn-Bedrock-Output-Token-Count": "twelve",
        "X-Amzn-Bedrock-Invocation-Latency": "-5",
    }
    assert usage_from_invoke_headers(headers) == Usage(input_tokens=12)
    assert usage_from_invoke_headers({}) == Usage()


def test_usage_from_invoke_stream_chunk() -> None:
    last = json.dumps(
        {
            "type": "message_stop",
            "amazon-bedrock-invocationMetrics": {
                "inputTokenCount": 14,
                "outputTokenCount": 250,
                "invocationLatency": 3011,
                "firstByteLatency": 420,
            },
        }
    ).encode()
    assert usage_from_invoke_stream_chunk(last) == Usage(
        input_tokens=14, output_tokens=250, latency_ms=3011, first_byte_latency_ms=420
    )


def test_chunks_without_metrics_or_broken_json_give_none() -> None:
    delta = b'{"type":"content_block_delta","delta":{"type":"text_delta","text":"Hi"}}'
    assert usage_from_invoke_stream_chunk(delta) is None
    assert usage_from_invoke_stream_chunk(b'{"amazon-bedrock-invocationMetrics": {') is None
    assert usage_from_invoke_stream_chunk(b'["amazon-bedrock-invocationMetrics"]') is None


@pytest.mark.parametrize(
    ("raw", "expected"),
    [(5, 5), (5.0, 5), ("7", 7), (True, None), (-1, None), (2.5, None), ("x", None), (None, None)],
)
def test_token_counts_are_validated(raw: object, expected: int | None) -> None:
    assert usage_from_converse({"usage": {"inputTokens": raw}}).input_tokens == expected


class _Raw:
    def __init__(self, body: bytes) -> None:
        self._body = body

    def stream(self, **_: Any) -> Any:
        yield self._body


def _client_answering(status: int, headers: dict[str, str], body: bytes) -> Any:
    session = boto3.session.Session(
        aws_access_key_id="AKIDEXAMPLE", aws_secret_access_key="x", region_name="us-east-1"
    )
    client = session.client("bedrock-runtime")

    def answer(request: Any, **_: Any) -> Any:
        return AWSResponse(request.url, status, cast(Any, headers), _Raw(body))

    client.meta.events.register("before-send.bedrock-runtime", answer)
    return client


def test_usage_through_botocore_invoke_model_headers() -> None:
    client = _client_answering(
        200,
        {
            "Content-Type": "application/json",
            "X-Amzn-Bedrock-Input-Token-Count": "19",
            "X-Amzn-Bedrock-Output-Token-Count": "161",
            "X-Amzn-Bedrock-Invocation-Latency": "1534",
        },
        b'{"content": []}',
    )
    response = client.invoke_model(modelId=V2, body=b"{}")
    usage = usage_from_invoke_headers(response["ResponseMetadata"]["HTTPHeaders"])
    assert usage == Usage(input_tokens=19, output_tokens=161, latency_ms=1534)


def test_usage_through_botocore_converse() -> None:
    body = json.dumps({k: v for k, v in CONVERSE_RESPONSE.items() if k != "ResponseMetadata"})
    client = _client_answering(200, {"Content-Type": "application/json"}, body.encode())
    response = client.converse(modelId=V2, messages=[{"role": "user", "content": [{"text": "x"}]}])
    assert usage_from_converse(response) == usage_from_converse(CONVERSE_RESPONSE)


def _record(**overrides: Any) -> UsageRecord:
    shared = {"timestamp": T0, "requested_model_id": f"us.{V2}", "invoked_model_id": f"us.{V2}"}
    details = {"state": State.EXTENDED_ACCESS, "latency_ms": 812, "request_id": "a1b2"}
    return usage_record(**{**shared, **details, **overrides})


def test_record_stores_state_value_and_utc_timestamp() -> None:
    local = T0.astimezone(timezone(timedelta(hours=2)))
    rec = _record(timestamp=local)
    assert rec.state == "EXTENDED_ACCESS"
    assert type(rec.state) is str
    assert rec.timestamp == T0
    assert rec.timestamp.tzinfo is timezone.utc
    with pytest.raises(TypeError):
        _record(timestamp="2025-12-02")


def test_record_round_trips_through_json() -> None:
    rec = _record(cache_read_input_tokens=3, fallback_from="anthropic.claude-v2")
    data = json.loads(json.dumps(rec.to_dict()))
    assert data["timestamp"] == "2025-12-02T09:30:00+00:00"
    assert UsageRecord.from_dict(data) == rec
    unknown = _record(cost_usd=None, premium_usd=None, input_tokens=None)
    assert UsageRecord.from_dict(json.loads(json.dumps(unknown.to_dict()))) == unknown


def test_record_has_no_room_for_text() -> None:
    assert set(_record().to_dict()) == {
        "timestamp", "operation", "region", "requested_model_id", "invoked_model_id", "state",
        "extended_access", "input_tokens", "output_tokens", "cache_read_input_tokens",
        "cache_write_input_tokens", "latency_ms", "cost_usd", "standard_cost_usd", "premium_usd",
        "request_id", "fallback_from",
    }  # fmt: skip


@pytest.mark.parametrize(
    "broken",
    [
        {},
        {"timestamp": 5},
        {**_record().to_dict(), "extended_access": "yes"},
        {**_record().to_dict(), "input_tokens": "12"},
        {**_record().to_dict(), "cost_usd": "0.1"},
        {**_record().to_dict(), "operation": None},
    ],
)
def test_from_dict_rejects_broken_data(broken: dict[str, Any]) -> None:
    with pytest.raises(ValueError):
        UsageRecord.from_dict(broken)


def test_from_usage_prices_the_call() -> None:
    usage = usage_from_converse(
        {"usage": {"inputTokens": 1000, "outputTokens": 500}, "metrics": {"latencyMs": 9}}
    )
    rec = UsageRecord.from_usage(
        usage,
        price=PriceBook.bundled().price_for(V2),
        operation="Converse",
        region="us-west-2",
        requested_model_id=V2,
        invoked_model_id=V2,
        state=State.EXTENDED_ACCESS,
        extended_access=True,
        timestamp=T0,
    )
    assert (rec.cost_usd, rec.standard_cost_usd, rec.premium_usd) == (0.021, 0.0105, 0.0105)
    assert rec.latency_ms == 9
    assert rec.timestamp == T0
    unpriced = UsageRecord.from_usage(
        usage,
        price=None,
        operation="Converse",
        region="us-west-2",
        requested_model_id="x.y-v1:0",
        invoked_model_id="x.y-v1:0",
        state="ACTIVE",
        extended_access=False,
        timestamp=T0,
    )
    assert unpriced.cost_usd is None
    assert unpriced.input_tokens == 1000


# -- The metrics tail kept, unparsed, from a stream's last chunk ------------------------------

METRICS = {"inputTokenCount": 1000, "outputTokenCount": 500, "invocationLatency": 250}
SECRET = "qzxv model output qzxv"


@pytest.mark.parametrize(
    "chunk",
    [
        # The metrics are not the last member: what follows them could be model output.
        {"amazon-bedrock-invocationMetrics": METRICS, "outputText": SECRET},
        # The key appears only inside model output (escaped quotes).
        {"outputText": f'"amazon-bedrock-invocationMetrics": {json.dumps(METRICS)}}}'},
        # Nested, not top level.
        {"outer": {"amazon-bedrock-invocationMetrics": METRICS}},
        # Not a flat object.
        {"amazon-bedrock-invocationMetrics": {**METRICS, "nested": {"text": SECRET}}},
    ],
)
def test_no_metrics_tail_unless_the_chunk_ends_with_the_metrics_alone(chunk: Any) -> None:
    assert metrics_tail(json.dumps(chunk).encode()) is None


@given(
    before=st.dictionaries(
        st.text(alphabet="abcdefgh", min_size=1, max_size=8),
        st.one_of(st.text(), st.integers(), st.none()),
        max_size=4,
    ),
    after=st.dictionaries(
        st.text(alphabet="ijklmnop", min_size=1, max_size=8), st.text(), max_size=2
    ),
    counts=st.fixed_dictionaries(
        {
            "inputTokenCount": st.integers(0, 10**7),
            "outputTokenCount": st.integers(0, 10**7),
            "invocationLatency": st.integers(0, 10**6),
        }
    ),
    indent=st.sampled_from([None, 1]),
)
def test_a_metrics_tail_holds_only_the_metrics_and_reads_as_the_whole_chunk(
    before: dict[str, Any], after: dict[str, str], counts: dict[str, int], indent: int | None
) -> None:
    document = {**before, "amazon-bedrock-invocationMetrics": counts, **after}
    data = json.dumps(document, indent=indent).encode()
    tail = metrics_tail(data)
    if after:  # members after the metrics: never kept
        assert tail is None
        return
    assert tail is not None
    assert json.loads(b"{" + tail) == {"amazon-bedrock-invocationMetrics": counts}
    assert figures_from_tail(tail) == invoke_chunk_figures(data)


@pytest.mark.parametrize("text_after_metrics", [False, True])
def test_a_streams_pending_record_never_holds_model_output(text_after_metrics: bool) -> None:
    from bedrock_lifecycle._streams import LiveStream
    from bedrock_lifecycle.ledger import MemoryLedger

    from ._records import record_template

    last: dict[str, Any] = {"amazon-bedrock-invocationMetrics": METRICS}
    if text_after_metrics:
        last["outputText"] = SECRET
    events = [
        {"chunk": {"bytes": json.dumps({"outputText": SECRET}).encode()}},
        {"chunk": {"bytes": json.dumps(last).encode()}},
    ]
    ledger = MemoryLedger()
    head = (record_template(operation="InvokeModelWithResponseStream"), 0.0, "req")
    stream = LiveStream(
        cast(Any, events), "InvokeModelWithResponseStream", ledger.pending_sink(), head
    )
    assert list(stream) == events
    [pending] = list(ledger._records)
    assert SECRET.encode() not in repr(pending).encode()
    [rec] = ledger.records()
    assert (rec.input_tokens, rec.output_tokens, rec.latency_ms) == (1000, 500, 250)
