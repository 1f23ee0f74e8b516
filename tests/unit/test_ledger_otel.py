"""OtelLedger against the OpenTelemetry SDK's in-memory reader."""

from __future__ import annotations

import sys
from datetime import datetime, timezone
from typing import Any, cast

import pytest

from bedrock_lifecycle._errors import ConfigurationError
from bedrock_lifecycle._usage import UsageRecord
from bedrock_lifecycle.ledger import OtelLedger

pytest.importorskip("opentelemetry.sdk.metrics")
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader

from ._records import usage_record

T0 = datetime(2025, 12, 1, tzinfo=timezone.utc)
V1 = "anthropic.claude-3-5-sonnet-20240620-v1:0"


def make(**overrides: Any) -> UsageRecord:
    return usage_record(**{"timestamp": T0, **overrides})


def _points(reader: InMemoryMetricReader) -> dict[str, list[tuple[dict[str, Any], float]]]:
    out: dict[str, list[tuple[dict[str, Any], float]]] = {}
    data = reader.get_metrics_data()
    assert data is not None
    for resource in data.resource_metrics:
        for scope in resource.scope_metrics:
            assert scope.scope.name == "bedrock_lifecycle"
            for metric in scope.metrics:
                out[metric.name] = [
                    (dict(point.attributes or {}), cast(Any, point).value)
                    for point in metric.data.data_points
                ]
    return out


def test_counters_add_up_with_attributes() -> None:
    reader = InMemoryMetricReader()
    ledger = OtelLedger(MeterProvider(metric_readers=[reader]))
    ledger.record(make())
    ledger.record(make())
    ledger.record(make(region="eu-central-2", cost_usd=None, premium_usd=None))
    points = _points(reader)
    attrs = {
        "model": V1,
        "region": "us-east-1",
        "state": "EXTENDED_ACCESS",
        "extended_access": True,
    }
    eu = {**attrs, "region": "eu-central-2"}
    assert sorted(points["bedrock_lifecycle.calls"], key=lambda p: p[0]["region"]) == [
        (eu, 1),
        (attrs, 2),
    ]
    tokens = {(p["region"], p["token.type"]): v for p, v in points["bedrock_lifecycle.tokens"]}
    assert tokens == {
        ("us-east-1", "input"): 2000,
        ("us-east-1", "output"): 1000,
        ("eu-central-2", "input"): 1000,
        ("eu-central-2", "output"): 500,
    }
    ((cost_attrs, cost),) = points["bedrock_lifecycle.cost"]
    ((premium_attrs, premium),) = points["bedrock_lifecycle.premium"]
    assert cost_attrs == premium_attrs == attrs
    assert cost == pytest.approx(0.042)
    assert premium == pytest.approx(0.021)
    assert points["bedrock_lifecycle.unpriced_calls"] == [(eu, 1)]
    assert ledger.errors == 0


def test_missing_opentelemetry_is_a_clear_configuration_error(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(sys.modules, "opentelemetry", None)
    with pytest.raises(ConfigurationError, match=r"bedrock-lifecycle\[otel\]"):
        OtelLedger()
