"""Runtime operations of the fake through real boto3 clients, over loopback and in-process."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from bedrock_lifecycle.testing import FakeBedrock, FakeModel, FakeUsage, Scenario

SONNET35 = "anthropic.claude-3-5-sonnet-20240620-v1:0"
SONNET4 = "anthropic.claude-sonnet-4-20250514-v1:0"
NOVA = "amazon.nova-pro-v1:0"
LLAMA = "meta.llama3-1-70b-instruct-v1:0"
MESSAGES = [{"role": "user", "content": [{"text": "How far is the moon?"}]}]  # 20 chars


@pytest.fixture
def fake() -> Iterator[FakeBedrock]:
    with FakeBedrock() as instance:
        yield instance


@pytest.fixture(params=["inprocess", "server"])
def mode(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def runtime(fake: FakeBedrock, mode: str) -> Any:
    return fake.client("bedrock-runtime", region_name="us-east-1", mode=mode)  # type: ignore[arg-type]


def test_converse_answers_with_derived_usage(fake: FakeBedrock, runtime: Any, mode: str) -> None:
    response = runtime.converse(modelId=NOVA, messages=MESSAGES)
    assert response["stopReason"] == "end_turn"
    assert response["output"]["message"]["role"] == "assistant"
    reply = response["output"]["message"]["content"][0]["text"]
    assert response["usage"] == {
        "inputTokens": 5,  # ceil(20 / 4)
        "outputTokens": -(-len(reply) // 4),
        "totalTokens": 5 + -(-len(reply) // 4),
    }
    assert response["metrics"] == {"latencyMs": 250}
    (record,) = fake.requests
    assert (record.operation, record.region, record.model_id, record.resolved_model) == (
        "Converse",
        "us-east-1",
        NOVA,
        NOVA,
    )
    assert (record.status_code, record.error_code, record.mode) == (200, None, mode)


def test_configured_usage_and_cache_tokens_are_reported_everywhere(mode: str) -> None:
    usage = FakeUsage(
        input_tokens=1200, output_tokens=300, cache_read_tokens=50, cache_write_tokens=7
    )
    scenario = Scenario(models=(FakeModel(SONNET35, usage=usage, latency_ms=42),))
    with FakeBedrock(scenario, now=Scenario.default().now) as fake:  # type: ignore[arg-type]
        runtime = fake.client("bedrock-runtime", mode=mode)  # type: ignore[arg-type]
        converse = runtime.converse(modelId=SONNET35, messages=MESSAGES)
        assert converse["usage"] == {
            "inputTokens": 1200,
            "outputTokens": 300,
            "cacheReadInputTokens": 50,
            "cacheWriteInputTokens": 7,
            "totalTokens": 1557,
        }
        assert converse["metrics"]["latencyMs"] == 42
        invoke = runtime.invoke_model(modelId=SONNET35, body=json.dumps({"messages": []}))
        headers = invoke["ResponseMetadata"]["HTTPHeaders"]
        assert headers["x-amzn-bedrock-input-token-count"] == "1200"
        assert headers["x-amzn-bedrock-output-token-count"] == "300"
        assert headers["x-amzn-bedrock-invocation-latency"] == "42"
        assert headers["x-amzn-bedrock-cache-read-input-token-count"] == "50"
        assert headers["x-amzn-bedrock-cache-write-input-token-count"] == "7"
        body = json.loads(invoke["body"].read())
        assert body["usage"]["cache_read_input_tokens"] == 50
        count = runtime.count_tokens(modelId=SONNET35, input={"converse": {"messages": MESSAGES}})
        assert count["inputTokens"] == 1200


def test_cache_headers_are_absent_unless_configured(runtime: Any) -> None:
    invoke = runtime.invoke_model(modelId=NOVA, body=b'{"inputText": "abcdefgh"}')
    headers = invoke["ResponseMetadata"]["HTTPHeaders"]
    assert headers["x-amzn-bedrock-input-token-count"] == "2"
    assert not any("cache" in name for name in headers)


def test_invoke_model_bodies_are_provider_shaped(runtime: Any) -> None:
    anthropic = json.loads(runtime.invoke_model(modelId=SONNET35, body=b"{}")["body"].read())
    assert anthropic["type"] == "message"
    assert anthropic["content"][0]["type"] == "text"
    assert set(anthropic["usage"]) == {"input_tokens", "output_tokens"}
    meta = json.loads(runtime.invoke_model(modelId=LLAMA, body=b'{"prompt":"hi"}')["body"].read())
    assert meta["prompt_token_count"] == 1
    nova = json.loads(runtime.invoke_model(modelId=NOVA, body=b"{}")["body"].read())
    assert nova["output"]["message"]["role"] == "assistant"


def test_converse_stream_events_decode_with_botocore(runtime: Any) -> None:
    response = runtime.converse_stream(modelId=NOVA, messages=MESSAGES)
    assert response["ResponseMetadata"]["HTTPHeaders"]["content-type"] == (
        "application/vnd.amazon.eventstream"
    )
    events = list(response["stream"])
    kinds = [next(iter(event)) for event in events]
    assert kinds[0] == "messageStart"
    assert kinds[-3:] == ["contentBlockStop", "messageStop", "metadata"]
    assert set(kinds[1:-3]) == {"contentBlockDelta"}
    text = "".join(event["contentBlockDelta"]["delta"]["text"] for event in events[1:-3])
    whole = runtime.converse(modelId=NOVA, messages=MESSAGES)
    assert text == whole["output"]["message"]["content"][0]["text"]
    assert events[-1]["metadata"]["usage"] == whole["usage"]
    assert events[-1]["metadata"]["metrics"] == {"latencyMs": 250}


@pytest.mark.parametrize("model_id", [SONNET35, NOVA])
def test_invoke_stream_chunks_are_json_with_final_metrics(runtime: Any, model_id: str) -> None:
    response = runtime.invoke_model_with_response_stream(
        modelId=model_id, body=json.dumps({"prompt": "abcd" * 10})
    )
    chunks = [json.loads(event["chunk"]["bytes"]) for event in response["body"]]
    assert len(chunks) >= 2
    assert all("amazon-bedrock-invocationMetrics" not in chunk for chunk in chunks[:-1])
    assert chunks[-1]["amazon-bedrock-invocationMetrics"] == {
        "inputTokenCount": 10,
        "outputTokenCount": chunks[-1]["amazon-bedrock-invocationMetrics"]["outputTokenCount"],
        "invocationLatency": 250,
        "firstByteLatency": 80,
    }
    assert chunks[-1]["amazon-bedrock-invocationMetrics"]["outputTokenCount"] > 0


def test_count_tokens_matches_converse_and_invoke_forms(runtime: Any) -> None:
    by_converse = runtime.count_tokens(modelId=NOVA, input={"converse": {"messages": MESSAGES}})
    assert (
        by_converse["inputTokens"]
        == runtime.converse(modelId=NOVA, messages=MESSAGES)["usage"]["inputTokens"]
    )
    body = json.dumps({"inputText": "x" * 41}).encode()
    by_invoke = runtime.count_tokens(modelId=NOVA, input={"invokeModel": {"body": body}})
    assert by_invoke["inputTokens"] == 11


def test_start_async_invoke_takes_the_model_from_the_body(fake: FakeBedrock, runtime: Any) -> None:
    response = runtime.start_async_invoke(
        modelId=f"us.{NOVA}",
        modelInput={"taskType": "TEXT_VIDEO"},
        outputDataConfig={"s3OutputDataConfig": {"s3Uri": "s3://bucket/out"}},
    )
    assert response["invocationArn"].startswith(
        "arn:aws:bedrock:us-east-1:123456789012:async-invoke/"
    )
    record = fake.requests[-1]
    assert (record.operation, record.model_id, record.resolved_model) == (
        "StartAsyncInvoke",
        f"us.{NOVA}",
        NOVA,
    )


@pytest.mark.parametrize(
    "model_id",
    [
        NOVA,
        f"us.{NOVA}",
        f"global.{NOVA}",
        f"arn:aws:bedrock:us-east-1::foundation-model/{NOVA}",
        f"arn:aws:bedrock:us-east-1:123456789012:inference-profile/us.{NOVA}",
        "arn:aws:bedrock:us-east-1:123456789012:application-inference-profile/app-sonnet",
        "arn:aws:bedrock:us-east-1:123456789012:provisioned-model/prov00000001",
    ],
)
def test_every_identifier_form_is_accepted(fake: FakeBedrock, runtime: Any, model_id: str) -> None:
    runtime.converse(modelId=model_id, messages=MESSAGES)
    record = fake.requests[-1]
    assert record.model_id == model_id
    assert record.status_code == 200
    assert record.resolved_model in (NOVA, SONNET4, SONNET35)


@pytest.mark.parametrize(
    "model_id",
    [
        "anthropic.claude-unknown-v9:0",
        "us.anthropic.claude-unknown-v9:0",
        f"arn:aws:bedrock:eu-west-1::foundation-model/{NOVA}",  # another region's ARN
        f"apac.{NOVA}",  # a geography us-east-1 is not in
        f"eu.{NOVA}",
        f"zz.{NOVA}",  # no such geography
        f"us-gov.{NOVA}",
        f"arn:aws:bedrock:us-east-1:123456789012:foundation-model/{NOVA}",  # with an account
        f"arn:aws:bedrock:us-east-1::inference-profile/us.{NOVA}",  # without one
        "arn:aws:bedrock:us-east-1::application-inference-profile/app-sonnet",
        f"arn:aws-cn:bedrock:us-east-1::foundation-model/{NOVA}",  # another partition
        f"arn:aws-us-gov:bedrock:us-east-1::foundation-model/{NOVA}",
        f"arn:awsx:bedrock:us-east-1::foundation-model/{NOVA}",
        "arn:aws:bedrock:us-east-1:123456789012:application-inference-profile/nope",
        "arn:aws:bedrock:us-east-1:123456789012:provisioned-model/000000000000",
        "arn:aws:bedrock:us-east-1:123456789012:prompt-router/whatever",
        "not an id at all",
    ],
)
def test_unknown_identifiers_are_invalid(runtime: Any, model_id: str) -> None:
    with pytest.raises(ClientError) as caught:
        runtime.converse(modelId=model_id, messages=MESSAGES)
    error = caught.value.response
    assert error["Error"] == {
        "Code": "ValidationException",
        "Message": "The provided model identifier is invalid.",
    }
    assert error["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert error["ResponseMetadata"]["HTTPHeaders"]["x-amzn-errortype"].startswith(
        "ValidationException"
    )


@pytest.mark.parametrize(
    "model_id", [SONNET4, f"arn:aws:bedrock:us-east-1::foundation-model/{SONNET4}"]
)
def test_profile_only_model_refuses_on_demand_calls(runtime: Any, model_id: str) -> None:
    # By base id or by foundation-model ARN: both are on-demand calls.
    with pytest.raises(ClientError) as caught:
        runtime.converse(modelId=model_id, messages=MESSAGES)
    assert caught.value.response["Error"] == {
        "Code": "ValidationException",
        "Message": f"Invocation of model ID {model_id} with on-demand throughput isn't "
        "supported. Retry your request with the ID or ARN of an inference profile that "
        "contains this model.",
    }
    assert runtime.converse(modelId=f"us.{SONNET4}", messages=MESSAGES)["usage"]["inputTokens"] == 5
    profile_arn = f"arn:aws:bedrock:us-east-1:123456789012:inference-profile/us.{SONNET4}"
    assert runtime.converse(modelId=profile_arn, messages=MESSAGES)["usage"]["inputTokens"] == 5


@pytest.mark.parametrize(
    ("region", "geos"),
    [
        ("us-west-2", {"us", "global"}),
        ("eu-central-2", {"eu", "global"}),
        ("ap-northeast-1", {"apac", "jp", "global"}),
    ],
)
def test_a_system_profile_is_called_from_its_own_geography(
    fake: FakeBedrock, region: str, geos: set[str]
) -> None:
    runtime = fake.client("bedrock-runtime", region_name=region)
    for geo in ("us", "eu", "apac", "jp", "au", "ca", "us-gov", "global"):
        if geo in geos:
            runtime.converse(modelId=f"{geo}.{SONNET4}", messages=MESSAGES)
        else:
            with pytest.raises(ClientError, match="model identifier is invalid"):
                runtime.converse(modelId=f"{geo}.{SONNET4}", messages=MESSAGES)


def test_restricted_profile_geos() -> None:
    scenario = Scenario(
        models=(FakeModel(NOVA, regions=("us-east-1", "eu-west-1"), profile_geos=("us",)),)
    )
    with FakeBedrock(scenario) as fake:
        runtime = fake.client("bedrock-runtime")
        runtime.converse(modelId=f"us.{NOVA}", messages=MESSAGES)
        with pytest.raises(ClientError, match="model identifier is invalid"):
            runtime.converse(modelId=f"global.{NOVA}", messages=MESSAGES)
        europe = fake.client("bedrock-runtime", region_name="eu-west-1")
        with pytest.raises(ClientError, match="model identifier is invalid"):
            europe.converse(modelId=f"eu.{NOVA}", messages=MESSAGES)


def test_region_comes_from_the_signature(fake: FakeBedrock, mode: str) -> None:
    west = fake.client("bedrock-runtime", region_name="us-west-2", mode=mode)  # type: ignore[arg-type]
    west.converse(modelId=NOVA, messages=MESSAGES)
    central = fake.client("bedrock-runtime", region_name="eu-central-2", mode=mode)  # type: ignore[arg-type]
    with pytest.raises(ClientError, match="model identifier is invalid"):
        central.converse(modelId=NOVA, messages=MESSAGES)
    assert [record.region for record in fake.requests] == ["us-west-2", "eu-central-2"]


def test_reply_text_is_configurable_and_never_required() -> None:
    scenario = Scenario(models=(FakeModel(NOVA, reply="one two three four five six"),))
    with FakeBedrock(scenario) as fake:
        runtime = fake.client("bedrock-runtime")
        events = list(runtime.converse_stream(modelId=NOVA, messages=MESSAGES)["stream"])
        deltas = [
            e["contentBlockDelta"]["delta"]["text"] for e in events if "contentBlockDelta" in e
        ]
        assert "".join(deltas) == "one two three four five six"
        assert len(deltas) == 3


def test_attach_routes_an_existing_client(
    fake: FakeBedrock, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", "/nonexistent")
    plain = fake.session("us-west-2").client("bedrock-runtime")
    assert plain.converse(modelId=NOVA, messages=MESSAGES)["stopReason"] == "end_turn"
    assert fake.count("Converse", region="us-west-2") == 1
    session = boto3.Session(
        aws_access_key_id="AKIDEXAMPLE", aws_secret_access_key="x", region_name="us-east-1"
    )
    client = fake.attach(session.client("bedrock-runtime"))
    fake.attach(client)  # twice is harmless
    client.converse(modelId=NOVA, messages=MESSAGES)
    assert fake.count("Converse") == 2
    fake.detach(client)


def test_invoke_body_with_base64_payload_is_not_needed() -> None:
    # the fake answers any JSON document; the library must never need the echoed text
    with FakeBedrock() as fake:
        runtime = fake.client("bedrock-runtime")
        body = json.dumps({"image": base64.b64encode(b"\x00" * 8).decode()})
        response = runtime.invoke_model(modelId=NOVA, body=body)
        assert response["contentType"] == "application/json"


def test_output_is_never_reported_past_the_requests_max_tokens(mode: str) -> None:
    """Bedrock stops a model at the request's limit and says so; the fake reports no more
    output tokens than asked for, with each API's own stop reason."""
    usage = FakeUsage(input_tokens=100, output_tokens=500)
    scenario = Scenario(models=(FakeModel(SONNET4, usage=usage), FakeModel(LLAMA, usage=usage)))
    with FakeBedrock(scenario) as fake:
        runtime = fake.client("bedrock-runtime", mode=mode)  # type: ignore[arg-type]
        capped = runtime.converse(
            modelId=SONNET4, messages=MESSAGES, inferenceConfig={"maxTokens": 7}
        )
        assert (capped["stopReason"], capped["usage"]["outputTokens"]) == ("max_tokens", 7)
        assert capped["usage"]["totalTokens"] == 107
        roomy = runtime.converse(
            modelId=SONNET4, messages=MESSAGES, inferenceConfig={"maxTokens": 900}
        )
        assert (roomy["stopReason"], roomy["usage"]["outputTokens"]) == ("end_turn", 500)
        # The text is cut in proportion too: 7 of 500 tokens keep the first character or so.
        [whole] = roomy["output"]["message"]["content"]
        [cut] = capped["output"]["message"]["content"]
        assert whole["text"].startswith(cut["text"])
        assert 1 <= len(cut["text"]) <= max(1, len(whole["text"]) * 7 // 500)
        events = list(
            runtime.converse_stream(
                modelId=SONNET4, messages=MESSAGES, inferenceConfig={"maxTokens": 7}
            )["stream"]
        )
        assert {"messageStop": {"stopReason": "max_tokens"}} in events
        assert events[-1]["metadata"]["usage"]["outputTokens"] == 7
        body = {"anthropic_version": "bedrock-2023-05-31", "max_tokens": 9,
                "messages": [{"role": "user", "content": "How far is the moon?"}]}  # fmt: skip
        answer = runtime.invoke_model(modelId=SONNET4, body=json.dumps(body))
        headers = answer["ResponseMetadata"]["HTTPHeaders"]
        assert headers["x-amzn-bedrock-output-token-count"] == "9"
        document = json.loads(answer["body"].read())
        assert (document["stop_reason"], document["usage"]["output_tokens"]) == ("max_tokens", 9)
        assert len(document["content"][0]["text"]) < len(whole["text"])
        llama = {"prompt": "How far is the moon?", "max_gen_len": 11}
        generated = json.loads(
            runtime.invoke_model(modelId=LLAMA, body=json.dumps(llama))["body"].read()
        )
        assert (generated["stop_reason"], generated["generation_token_count"]) == ("length", 11)
        chunks = [
            json.loads(event["chunk"]["bytes"])
            for event in runtime.invoke_model_with_response_stream(
                modelId=SONNET4, body=json.dumps(body)
            )["body"]
        ]
        assert chunks[-2]["delta"]["stop_reason"] == "max_tokens"
        assert chunks[-1]["amazon-bedrock-invocationMetrics"]["outputTokenCount"] == 9
