"""The fake's clock moving models through Active, Legacy, extended access and end of life."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from typing import Any

import pytest
from botocore.exceptions import ClientError, EventStreamError

from bedrock_lifecycle import State
from bedrock_lifecycle.testing import FakeBedrock, FakeModel, LifecycleDates, Scenario

NOVA = "amazon.nova-pro-v1:0"
MESSAGES = [{"role": "user", "content": [{"text": "hello"}]}]
EOL_MESSAGE = (
    "This model version has reached the end of its life. "
    "Please refer to the AWS documentation for more details."
)


def _utc(year: int, month: int, day: int) -> datetime:
    return datetime(year, month, day, tzinfo=timezone.utc)


def _scenario(**model_options: Any) -> Scenario:
    model = FakeModel(
        NOVA,
        regions=("us-east-1",),
        legacy_at=date(2026, 3, 1),
        extended_access_at=date(2026, 6, 1),
        eol_at=date(2026, 9, 1),
        per_region={"eu-west-1": LifecycleDates(eol_at=date(2026, 12, 1))},
        **model_options,
    )
    return Scenario(models=(model,), now=date(2026, 1, 1))


def _status(fake: FakeBedrock, region: str = "us-east-1") -> str | None:
    summaries = fake.client("bedrock", region_name=region).list_foundation_models()[
        "modelSummaries"
    ]
    found = [s["modelLifecycle"]["status"] for s in summaries if s["modelId"] == NOVA]
    return found[0] if found else None


def _error(call: Any) -> tuple[int, str, str]:
    with pytest.raises(ClientError) as caught:
        call()
    response = caught.value.response
    return (
        response["ResponseMetadata"]["HTTPStatusCode"],
        response["Error"]["Code"],
        response["Error"]["Message"],
    )


@pytest.mark.parametrize("mode", ["inprocess", "server"])
def test_clock_walks_a_model_to_end_of_life(mode: str) -> None:
    with FakeBedrock(_scenario(), idle_days=None) as fake:
        runtime = fake.client("bedrock-runtime", mode=mode)  # type: ignore[arg-type]
        assert fake.now == _utc(2026, 1, 1)
        assert _status(fake) == "ACTIVE"
        runtime.converse(modelId=NOVA, messages=MESSAGES)

        fake.set_time(_utc(2026, 3, 1))
        assert _status(fake) == "LEGACY"
        runtime.converse(modelId=NOVA, messages=MESSAGES)

        fake.advance(timedelta(days=92))  # 2026-06-01: extended access
        assert fake.scenario.models[0].state("us-east-1", fake.now) is State.EXTENDED_ACCESS
        assert _status(fake) == "LEGACY"
        runtime.converse(modelId=NOVA, messages=MESSAGES)

        fake.set_time(_utc(2026, 9, 1))
        assert _status(fake) is None  # gone from the list once past EOL
        assert _error(lambda: runtime.converse(modelId=NOVA, messages=MESSAGES)) == (
            404,
            "ResourceNotFoundException",
            EOL_MESSAGE,
        )
        assert _error(lambda: runtime.converse_stream(modelId=NOVA, messages=MESSAGES))[1] == (
            "ResourceNotFoundException"
        )
        assert _error(lambda: runtime.invoke_model(modelId=f"us.{NOVA}", body=b"{}"))[0] == 404
        # the same model lives on in another region
        europe = fake.client("bedrock-runtime", region_name="eu-west-1", mode=mode)  # type: ignore[arg-type]
        europe.converse(modelId=NOVA, messages=MESSAGES)
        assert _status(fake, "eu-west-1") == "ACTIVE"  # per-region dates: only an EOL there
        assert fake.count("Converse", status_code=404) == 1


def test_idle_legacy_model_loses_access() -> None:
    with FakeBedrock(_scenario(last_used=date(2026, 2, 1))) as fake:
        runtime = fake.client("bedrock-runtime")
        fake.set_time(_utc(2026, 3, 1))  # Legacy, last call 28 days ago
        status, code, message = _error(lambda: runtime.converse(modelId=NOVA, messages=MESSAGES))
        assert (status, code) == (404, "ResourceNotFoundException")
        assert message == (
            "Access denied. This Model is marked by provider as Legacy and you have not been "
            "actively using the model in the last 15 days. Please upgrade to an active model on "
            "Amazon Bedrock"
        )
        # a recent call keeps access; a successful call refreshes it
        fake.mark_used(NOVA, fake.now - timedelta(days=3))
        runtime.converse(modelId=NOVA, messages=MESSAGES)
        assert fake.last_used(NOVA, "us-east-1") == fake.now
        fake.advance(timedelta(days=16))
        assert _error(lambda: runtime.converse(modelId=NOVA, messages=MESSAGES))[0] == 404


def test_idle_window_is_configurable_and_active_models_never_idle() -> None:
    with FakeBedrock(_scenario(), idle_days=30) as fake:
        runtime = fake.client("bedrock-runtime")
        fake.mark_idle(NOVA, since=_utc(2025, 1, 1))
        runtime.converse(modelId=NOVA, messages=MESSAGES)  # Active: idleness does not matter
        fake.set_time(_utc(2026, 3, 20))
        fake.mark_idle(NOVA, since=_utc(2026, 2, 25))  # 23 days: inside a 30-day window
        runtime.converse(modelId=NOVA, messages=MESSAGES)
        fake.advance(timedelta(days=31))
        message = _error(lambda: runtime.converse(modelId=NOVA, messages=MESSAGES))[2]
        assert "in the last 30 days" in message
        fake.forget_use(NOVA)
        runtime.converse(modelId=NOVA, messages=MESSAGES)


def test_count_tokens_does_not_count_as_use() -> None:
    with FakeBedrock(_scenario()) as fake:
        runtime = fake.client("bedrock-runtime")
        runtime.count_tokens(modelId=NOVA, input={"converse": {"messages": MESSAGES}})
        assert fake.last_used(NOVA, "us-east-1") is None
        runtime.invoke_model(modelId=NOVA, body=b"{}")
        assert fake.last_used(NOVA, "us-east-1") == fake.now


@pytest.mark.parametrize(
    ("flag", "when", "refused"),
    [
        (True, date(2026, 1, 1), True),
        ((State.EXTENDED_ACCESS,), date(2026, 1, 1), False),
        ((State.EXTENDED_ACCESS,), date(2026, 7, 1), True),
        (("legacy",), date(2026, 4, 1), True),
    ],
)
def test_operation_not_allowed(flag: Any, when: date, refused: bool) -> None:
    with FakeBedrock(_scenario(operation_not_allowed=flag), idle_days=None) as fake:
        fake.set_time(datetime(when.year, when.month, when.day, tzinfo=timezone.utc))
        runtime = fake.client("bedrock-runtime")
        if refused:
            assert _error(lambda: runtime.converse(modelId=NOVA, messages=MESSAGES)) == (
                400,
                "ValidationException",
                "Operation not allowed",
            )
        else:
            runtime.converse(modelId=NOVA, messages=MESSAGES)


def test_live_clock_and_callable_clock() -> None:
    moments = [_utc(2026, 5, 1)]
    with FakeBedrock(_scenario(), now=lambda: moments[0], idle_days=None) as fake:
        assert fake.now == _utc(2026, 5, 1)
        assert _status(fake) == "LEGACY"
        moments[0] = _utc(2026, 1, 2)
        assert _status(fake) == "ACTIVE"
        fake.advance(timedelta(days=1))
        assert fake.now == _utc(2026, 1, 3)
    with FakeBedrock(Scenario(models=(FakeModel(NOVA),))) as live:
        assert abs(live.now - datetime.now(timezone.utc)) < timedelta(minutes=1)


def test_stream_lifecycle_error_arrives_before_any_event() -> None:
    with FakeBedrock(_scenario(), now=_utc(2026, 10, 1)) as fake:
        runtime = fake.client("bedrock-runtime", mode="server")
        with pytest.raises(ClientError) as caught:
            runtime.invoke_model_with_response_stream(modelId=NOVA, body=b"{}")
        assert not isinstance(caught.value, EventStreamError)
        assert caught.value.response["Error"]["Message"] == EOL_MESSAGE
