"""summarize(): totals by model, region, day, state and operation."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

from bedrock_lifecycle._errors import ConfigurationError
from bedrock_lifecycle._usage import UsageRecord
from bedrock_lifecycle.ledger import summarize

from ._records import usage_record

T0 = datetime(2025, 12, 1, 23, 0, tzinfo=timezone.utc)
V1 = "anthropic.claude-3-5-sonnet-20240620-v1:0"
NOVA = "amazon.nova-pro-v1:0"


def make(**overrides: Any) -> UsageRecord:
    return usage_record(**{"timestamp": T0, **overrides})


RECORDS = [
    make(),
    make(timestamp=T0 + timedelta(hours=2)),  # the next UTC day
    make(operation="InvokeModel", region="eu-central-2", input_tokens=10, output_tokens=0,
         cost_usd=0.00006, standard_cost_usd=0.00003, premium_usd=0.00003),
    make(invoked_model_id=NOVA, state="ACTIVE", extended_access=False, cost_usd=None,
         standard_cost_usd=None, premium_usd=None, fallback_from=V1),
    make(invoked_model_id=NOVA, state="ACTIVE", extended_access=False, input_tokens=None,
         output_tokens=None, cost_usd=None, standard_cost_usd=None, premium_usd=None),
]  # fmt: skip


def test_by_model_totals_and_unpriced_calls() -> None:
    rows = summarize(RECORDS)
    assert [row.model for row in rows] == [NOVA, V1]
    nova, claude = rows
    assert (claude.calls, claude.input_tokens, claude.output_tokens) == (3, 2010, 1000)
    assert claude.cost_usd == 0.04206
    assert claude.standard_cost_usd == 0.02103
    assert claude.premium_usd == 0.02103
    assert (claude.unpriced_calls, claude.fully_priced) == (0, True)
    assert (nova.calls, nova.unpriced_calls, nova.unknown_premium_calls) == (2, 2, 2)
    assert nova.unmetered_calls == 1
    assert nova.input_tokens == 1000
    assert nova.cost_usd == 0.0
    assert not nova.fully_priced
    assert (claude.region, claude.day) == (None, None)


def test_by_day_region_and_state() -> None:
    by_day = summarize(RECORDS, by=("day",))
    assert [(row.day, row.calls) for row in by_day] == [("2025-12-01", 4), ("2025-12-02", 1)]
    by_region_state = summarize(RECORDS, by=["region", "state"])
    assert [(r.region, r.state, r.calls) for r in by_region_state] == [
        ("eu-central-2", "EXTENDED_ACCESS", 1),
        ("us-east-1", "ACTIVE", 2),
        ("us-east-1", "EXTENDED_ACCESS", 2),
    ]
    (everything,) = summarize(RECORDS, by=())
    assert everything.calls == 5
    assert everything.unpriced_calls == 2
    assert everything.to_dict()["cost_usd"] == 0.04206


def test_time_window_and_operation() -> None:
    rows = summarize(RECORDS, by="operation", until=T0 + timedelta(hours=1))
    assert [(row.operation, row.calls) for row in rows] == [("Converse", 3), ("InvokeModel", 1)]
    assert summarize(RECORDS, since=T0 + timedelta(hours=1))[0].calls == 1
    assert summarize([], by=("model",)) == []


def test_unknown_grouping_is_refused() -> None:
    with pytest.raises(ConfigurationError, match="prompt"):
        summarize(RECORDS, by=("prompt",))
