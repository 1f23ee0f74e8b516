"""EmfLedger: CloudWatch Embedded Metric Format lines."""

from __future__ import annotations

import io
import json
from datetime import datetime, timezone
from typing import Any

import pytest

from bedrock_lifecycle._errors import ConfigurationError
from bedrock_lifecycle._usage import UsageRecord
from bedrock_lifecycle.ledger import EmfLedger

from ._records import usage_record

T0 = datetime(2025, 12, 1, 12, 0, 0, 250000, tzinfo=timezone.utc)
V2 = "anthropic.claude-3-5-sonnet-20241022-v2:0"
OLD = "anthropic.claude-3-5-sonnet-20240620-v1:0"


def make(**overrides: Any) -> UsageRecord:
    shared = {"timestamp": T0, "requested_model_id": f"us.{V2}", "invoked_model_id": f"us.{V2}"}
    details = {"latency_ms": 812, "request_id": "a1b2"}
    return usage_record(**{**shared, **details, **overrides})


def _check_emf(doc: dict[str, Any]) -> dict[str, str]:
    """Check ``doc`` against the EMF rules; return ``{metric name: unit}``."""
    meta = doc["_aws"]
    assert isinstance(meta["Timestamp"], int)
    units: dict[str, str] = {}
    for directive in meta["CloudWatchMetrics"]:
        assert isinstance(directive["Namespace"], str)
        assert directive["Namespace"]
        for dimension_set in directive["Dimensions"]:
            assert len(dimension_set) <= 30
            for name in dimension_set:
                assert isinstance(doc[name], str)
                assert doc[name]
        for metric in directive["Metrics"]:
            value = doc[metric["Name"]]  # every declared metric has its value at the root
            assert isinstance(value, (int, float))
            assert not isinstance(value, bool)
            units[metric["Name"]] = metric["Unit"]
    return units


def test_emf_line_has_metrics_dimensions_and_timestamp() -> None:
    stream = io.StringIO()
    EmfLedger(stream).record(make())
    (line,) = stream.getvalue().splitlines()
    doc = json.loads(line)
    units = _check_emf(doc)
    assert doc["_aws"]["Timestamp"] == 1764590400250
    (directive,) = doc["_aws"]["CloudWatchMetrics"]
    assert directive["Namespace"] == "BedrockLifecycle"
    assert directive["Dimensions"] == [["model", "region", "state"]]
    assert units == {
        "Calls": "Count",
        "UnpricedCalls": "Count",
        "Fallbacks": "Count",
        "InputTokens": "Count",
        "OutputTokens": "Count",
        "LatencyMs": "Milliseconds",
        "CostUSD": "None",
        "StandardCostUSD": "None",
        "PremiumUSD": "None",
    }
    assert (doc["model"], doc["region"], doc["state"]) == (
        f"us.{V2}",
        "us-east-1",
        "EXTENDED_ACCESS",
    )
    assert (doc["InputTokens"], doc["OutputTokens"], doc["Calls"]) == (1000, 500, 1)
    assert (doc["CostUSD"], doc["PremiumUSD"], doc["UnpricedCalls"]) == (0.021, 0.0105, 0)
    assert doc["request_id"] == "a1b2"
    assert doc["Fallbacks"] == 0
    assert "fallback_from" not in doc


def test_a_fallback_is_counted_and_names_the_model_asked_for() -> None:
    stream = io.StringIO()
    EmfLedger(stream, dimensions=[["requested_model", "model"]]).record(
        make(requested_model_id=f"us.{OLD}", fallback_from=f"us.{OLD}")
    )
    doc = json.loads(stream.getvalue())
    assert _check_emf(doc)["Fallbacks"] == "Count"
    assert doc["Fallbacks"] == 1
    assert (doc["requested_model"], doc["model"], doc["fallback_from"]) == (
        f"us.{OLD}",
        f"us.{V2}",
        f"us.{OLD}",
    )


def test_unknown_cost_is_not_published_as_zero() -> None:
    stream = io.StringIO()
    EmfLedger(stream).record(make(cost_usd=None, premium_usd=None, region=None))
    doc = json.loads(stream.getvalue())
    units = _check_emf(doc)
    assert "CostUSD" not in units
    assert "CostUSD" not in doc
    assert "PremiumUSD" not in units
    assert doc["UnpricedCalls"] == 1
    assert doc["region"] == "unknown"


def test_custom_namespace_and_dimension_sets() -> None:
    stream = io.StringIO()
    ledger = EmfLedger(
        stream, namespace="MyApp/Bedrock", dimensions=[["model"], ["operation", "extended_access"]]
    )
    ledger.record(make())
    doc = json.loads(stream.getvalue())
    _check_emf(doc)
    (directive,) = doc["_aws"]["CloudWatchMetrics"]
    assert directive["Namespace"] == "MyApp/Bedrock"
    assert directive["Dimensions"] == [["model"], ["operation", "extended_access"]]
    assert doc["extended_access"] == "true"


def test_stdout_is_the_default(capsys: pytest.CaptureFixture[str]) -> None:
    ledger = EmfLedger()
    ledger.record(make())
    ledger.record(make(request_id="c3"))
    lines = capsys.readouterr().out.splitlines()
    assert [json.loads(line)["request_id"] for line in lines] == ["a1b2", "c3"]


@pytest.mark.parametrize(
    "kwargs",
    [
        {"dimensions": [["model", "prompt"]]},
        {"dimensions": ["model"]},
        {"namespace": ""},
        {"dimensions": [["model"] * 31]},
    ],
)
def test_bad_configuration_is_refused(kwargs: dict[str, Any]) -> None:
    with pytest.raises(ConfigurationError):
        EmfLedger(io.StringIO(), **kwargs)


def test_a_broken_stream_never_raises() -> None:
    stream = io.StringIO()
    stream.close()
    ledger = EmfLedger(stream)
    ledger.record(make())
    ledger.record(make())
    assert ledger.errors == 2
