"""Inference parameters the fake refuses per model, as Bedrock does, through real boto3 clients."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import date
from typing import Any

import pytest

from bedrock_lifecycle.testing import FakeBedrock, FakeModel, Scenario

SONNET45 = "us.anthropic.claude-sonnet-4-5-20250929-v1:0"
BASE45 = SONNET45.removeprefix("us.")
SONNET4 = "us.anthropic.claude-sonnet-4-20250514-v1:0"
STRICT = "anthropic.claude-opus-9-v1:0"
MESSAGES = [{"role": "user", "content": [{"text": "How far is the moon?"}]}]
OPERATIONS = ["converse", "converse_stream", "invoke_model", "invoke_model_with_response_stream"]
PAIR = (
    "The model returned the following errors: `temperature` and `top_p` cannot both be "
    "specified for this model. Please use only one."
)
CEILING = (
    "The maximum tokens you requested exceeds the model limit of 64000. "
    "Try again with a maximum tokens value that is lower than 64000."
)
_CONVERSE_NAMES = {"temperature": "temperature", "top_p": "topP", "max_tokens": "maxTokens"}


@pytest.fixture
def fake() -> Iterator[FakeBedrock]:
    strict = FakeModel(
        STRICT,
        refuses=("top_k", "top_p", "temperature", "metadata", "stop_sequences"),
        refuses_together=(("temperature", "top_p"),),
        max_tokens=100,
    )
    with FakeBedrock(Scenario.default().with_models(strict)) as instance:
        yield instance


@pytest.fixture(params=["inprocess", "server"])
def runtime(fake: FakeBedrock, request: pytest.FixtureRequest) -> Any:
    return fake.client("bedrock-runtime", mode=request.param)


def _call(
    runtime: Any,
    operation: str,
    model_id: str,
    params: dict[str, Any],
    fields: dict[str, Any] | None = None,
) -> None:
    """Call ``operation`` with Anthropic-named ``params`` (Converse: ``inferenceConfig`` where it
    has the field, else ``additionalModelRequestFields``) and extra ``fields``; drain streams."""
    if operation.startswith("converse"):
        kwargs: dict[str, Any] = {"modelId": model_id, "messages": MESSAGES}
        config = {_CONVERSE_NAMES[k]: v for k, v in params.items() if k in _CONVERSE_NAMES}
        extra = {k: v for k, v in params.items() if k not in _CONVERSE_NAMES} | (fields or {})
        if config:
            kwargs["inferenceConfig"] = config
        if extra:
            kwargs["additionalModelRequestFields"] = extra
        response = getattr(runtime, operation)(**kwargs)
        list(response.get("stream", ()))
        return
    body = {
        "anthropic_version": "bedrock-2023-05-31",
        "max_tokens": 1024,
        "messages": [{"role": "user", "content": "How far is the moon?"}],
        **params,
        **(fields or {}),
    }
    response = getattr(runtime, operation)(modelId=model_id, body=json.dumps(body))
    if operation == "invoke_model":
        response["body"].read()
    else:
        list(response["body"])


def _refusal(runtime: Any, operation: str, model_id: str, params: dict[str, Any]) -> str:
    """The message of the 400 ValidationException the call answers."""
    with pytest.raises(runtime.exceptions.ValidationException) as caught:
        _call(runtime, operation, model_id, params)
    response = caught.value.response
    assert response["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert response["Error"]["Code"] == "ValidationException"
    return str(response["Error"]["Message"])


@pytest.mark.parametrize("operation", OPERATIONS)
def test_sonnet_45_refuses_temperature_with_top_p(
    fake: FakeBedrock, runtime: Any, operation: str
) -> None:
    assert _refusal(runtime, operation, SONNET45, {"temperature": 0.5, "top_p": 0.9}) == PAIR
    (record,) = fake.requests
    assert (record.model_id, record.resolved_model) == (SONNET45, BASE45)
    assert (record.status_code, record.error_code) == (400, "ValidationException")
    assert fake.last_used(BASE45, "us-east-1") is None  # not a use


@pytest.mark.parametrize("operation", ["converse", "converse_stream"])
def test_additional_fields_count_by_their_own_name(runtime: Any, operation: str) -> None:
    with pytest.raises(runtime.exceptions.ValidationException, match="cannot both be specified"):
        _call(runtime, operation, SONNET45, {"temperature": 0.5}, fields={"top_p": 0.9})


@pytest.mark.parametrize("operation", OPERATIONS)
def test_max_tokens_over_the_ceiling_is_refused(runtime: Any, operation: str) -> None:
    assert _refusal(runtime, operation, SONNET45, {"max_tokens": 64001}) == CEILING


@pytest.mark.parametrize("operation", ["invoke_model", "invoke_model_with_response_stream"])
@pytest.mark.parametrize(
    "body",
    [
        {"inferenceConfig": {"max_new_tokens": 64001}, "messages": []},  # Nova
        {"prompt": "x", "max_gen_len": 64001},  # Llama
        {"inputText": "x", "textGenerationConfig": {"maxTokenCount": 64001}},  # Titan Text
    ],
)
def test_the_ceiling_holds_for_every_providers_body(
    runtime: Any, operation: str, body: dict[str, Any]
) -> None:
    with pytest.raises(runtime.exceptions.ValidationException) as caught:
        response = getattr(runtime, operation)(modelId=SONNET45, body=json.dumps(body))
        for _ in response["body"]:
            pass
    assert caught.value.response["Error"]["Message"] == CEILING


@pytest.mark.parametrize("operation", OPERATIONS)
@pytest.mark.parametrize(
    "params", [{"temperature": 0.0, "max_tokens": 64000}, {"top_p": 0.9, "max_tokens": 1000}]
)
def test_one_of_the_pair_within_the_ceiling_is_accepted(
    fake: FakeBedrock, runtime: Any, operation: str, params: dict[str, Any]
) -> None:
    _call(runtime, operation, SONNET45, params, fields={"top_k": 5})
    assert fake.requests[-1].status_code == 200
    assert fake.last_used(BASE45, "us-east-1") is not None


@pytest.mark.parametrize("operation", OPERATIONS)
def test_a_model_without_constraints_accepts_everything(
    fake: FakeBedrock, runtime: Any, operation: str
) -> None:
    params = {"temperature": 0.5, "top_p": 0.9, "top_k": 5, "max_tokens": 1_000_000}
    _call(runtime, operation, SONNET4, params, fields={"metadata": {}})
    assert fake.requests[-1].status_code == 200


@pytest.mark.parametrize(
    ("operation", "prefix"),
    [
        ("converse", "The model returned the following errors: "),
        ("converse_stream", "The model returned the following errors: "),
        ("invoke_model", ""),
        ("invoke_model_with_response_stream", ""),
    ],
)
@pytest.mark.parametrize(
    ("params", "named"),
    [
        ({"top_k": 5, "top_p": 0.9, "temperature": 0.5}, "temperature"),
        ({"top_k": 5, "top_p": 0.9}, "top_p"),
        ({"top_k": 0}, "top_k"),  # present counts, whatever the value
        ({"stop_sequences": [], "metadata": {}, "top_k": 1}, "top_k"),
        ({"stop_sequences": [], "metadata": {}}, "metadata"),
    ],
)
def test_refused_parameter_is_named_one_at_a_time(
    runtime: Any, operation: str, prefix: str, params: dict[str, Any], named: str
) -> None:
    message = _refusal(runtime, operation, STRICT, params)
    assert message == f"{prefix}`{named}` is deprecated for this model."


@pytest.mark.parametrize("operation", ["converse", "invoke_model"])
def test_checks_run_refused_parameter_then_pair_then_ceiling(operation: str) -> None:
    everything = {"top_k": 5, "temperature": 0.5, "top_p": 0.9, "max_tokens": 101}
    model = FakeModel(
        STRICT, refuses=("top_k",), refuses_together=(("top_p", "temperature"),), max_tokens=100
    )
    with FakeBedrock(Scenario(models=(model,))) as fake:
        client = fake.client("bedrock-runtime")
        assert "`top_k` is deprecated" in _refusal(client, operation, STRICT, everything)
        everything.pop("top_k")
        assert "`top_p` and `temperature` cannot both" in _refusal(
            client, operation, STRICT, everything
        )
        everything.pop("top_p")
        assert "model limit of 100." in _refusal(client, operation, STRICT, everything)
        everything["max_tokens"] = 100
        _call(client, operation, STRICT, everything)


@pytest.mark.parametrize("operation", OPERATIONS)
def test_end_of_life_answers_before_any_refusal(operation: str) -> None:
    model = FakeModel(
        STRICT,
        eol_at=date(2026, 1, 1),
        refuses=("temperature",),
        refuses_together=(("temperature", "top_p"),),
        max_tokens=10,
    )
    with FakeBedrock(Scenario(models=(model,), now=date(2026, 2, 1))) as fake:
        client = fake.client("bedrock-runtime")
        params = {"temperature": 0.5, "top_p": 0.9, "max_tokens": 1000}
        with pytest.raises(client.exceptions.ResourceNotFoundException) as caught:
            _call(client, operation, STRICT, params)
        assert caught.value.response["Error"]["Message"].startswith(
            "This model version has reached the end of its life."
        )


def test_invoke_body_that_is_not_an_object_is_not_checked(runtime: Any) -> None:
    with pytest.raises(runtime.exceptions.ValidationException) as caught:
        runtime.invoke_model(modelId=STRICT, body=json.dumps(["temperature", "top_k"]))
    assert caught.value.response["Error"]["Message"] == (
        "Malformed input request, please reformat your input and try again."
    )


def test_constraints_are_normalised_to_tuples() -> None:
    model = FakeModel(STRICT, refuses="top_k", refuses_together=[["temperature", "top_p"]])  # type: ignore[list-item]
    assert model.refuses == ("top_k",)
    assert model.refuses_together == (("temperature", "top_p"),)
    assert FakeModel(STRICT).max_tokens is None
