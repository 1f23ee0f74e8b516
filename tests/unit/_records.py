"""A usage record factory for the ledger tests: one extended-access Converse call by default."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from bedrock_lifecycle import UsageRecord
from bedrock_lifecycle._pricing import Price
from bedrock_lifecycle._usage import RecordTemplate

V1 = "anthropic.claude-3-5-sonnet-20240620-v1:0"


def usage_record(**overrides: Any) -> UsageRecord:
    """1,000 in / 500 out tokens of Claude 3.5 Sonnet in extended access, with ``overrides``."""
    values: dict[str, Any] = {
        "timestamp": datetime(2025, 12, 1, tzinfo=timezone.utc),
        "operation": "Converse",
        "region": "us-east-1",
        "requested_model_id": V1,
        "invoked_model_id": V1,
        "state": "EXTENDED_ACCESS",
        "extended_access": True,
        "input_tokens": 1000,
        "output_tokens": 500,
        "cost_usd": 0.021,
        "standard_cost_usd": 0.0105,
        "premium_usd": 0.0105,
    }
    values.update(overrides)
    return UsageRecord(**values)


V2 = "anthropic.claude-3-5-sonnet-20241022-v2:0"


def record_template(**overrides: Any) -> RecordTemplate:
    """An Active Claude 3.5 Sonnet v2 Converse call at $3 / $15 per million tokens."""
    values: dict[str, Any] = {
        "price": Price(input_per_1m=3.0, output_per_1m=15.0),
        "operation": "Converse",
        "region": "us-east-1",
        "requested_model_id": V2,
        "invoked_model_id": V2,
        "state": "ACTIVE",
        "extended_access": False,
        "fallback_from": None,
    }
    values.update(overrides)
    return RecordTemplate(**values)
