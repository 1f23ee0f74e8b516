"""``bedrock-lifecycle costs`` on a ledger file holding shadow records: spend reported apart."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest

import bedrock_lifecycle as bl
from bedrock_lifecycle import ShadowRecord, ShadowSide

from .test_cli import CLI, NOVA, SONNET35, SONNET35_V2, assert_one_line_error, usage_record

pytestmark = pytest.mark.slow

UTC = timezone.utc


@pytest.fixture
def offline(tmp_path: Path) -> CLI:
    cli = CLI(tmp_path)
    cli.env["BEDROCK_LIFECYCLE_OFFLINE"] = "1"
    return cli


def shadow(when: datetime, model: str, cost: float | None, *, failed: bool = False) -> ShadowRecord:
    return ShadowRecord(
        timestamp=when,
        region="us-east-1",
        operation="Converse",
        shadow_operation="Converse",
        primary=ShadowSide(SONNET35, input_tokens=1000, output_tokens=500, cost_usd=0.021),
        shadow=ShadowSide(
            model,
            input_tokens=None if failed else 1000,
            output_tokens=None if failed else 400,
            cost_usd=cost,
            error_code="ThrottlingException" if failed else None,
        ),
    )


USAGE = [
    usage_record(
        SONNET35, datetime(2026, 1, day, 9, tzinfo=UTC), extended=True, state="EXTENDED_ACCESS"
    )
    for day in (5, 6)
]
SHADOWS = [
    shadow(datetime(2026, 1, 5, 9, 0, 1, tzinfo=UTC), SONNET35_V2, 0.009),
    shadow(datetime(2026, 1, 6, 9, 0, 1, tzinfo=UTC), SONNET35_V2, 0.009),
    shadow(datetime(2026, 1, 6, 9, 0, 2, tzinfo=UTC), NOVA, None, failed=True),
]


def write(path: Path, records: list[Any]) -> Path:
    ledger = (
        bl.JsonlLedger[bl.UsageRecord | ShadowRecord](path)
        if path.suffix == ".jsonl"
        else bl.SqliteLedger[bl.UsageRecord | ShadowRecord](path)
    )
    for rec in records:
        ledger.record(rec)
    ledger.close()
    return path


@pytest.fixture(params=["usage.jsonl", "usage.db"])
def mixed(request: pytest.FixtureRequest, tmp_path: Path) -> Path:
    return write(tmp_path / request.param, [USAGE[0], SHADOWS[0], USAGE[1], *SHADOWS[1:]])


def test_costs_json_reports_shadow_spend_apart(offline: CLI, mixed: Path, tmp_path: Path) -> None:
    report = offline.json("costs", "--ledger", str(mixed), "--json")
    alone = offline.json("costs", "--ledger", str(write(tmp_path / "alone.jsonl", USAGE)), "--json")
    assert "shadow" not in alone  # a usage-only ledger's report is what it always was
    for key in ("rows", "total", "extended_access_calls"):
        assert report[key] == alone[key]
    assert report["total"]["calls"] == 2
    section = report["shadow"]
    assert [(row["model"], row["calls"]) for row in section["rows"]] == [
        (NOVA, 1),
        (SONNET35_V2, 2),
    ]
    nova, v2 = section["rows"]
    assert v2["cost_usd"] == pytest.approx(0.018)
    assert v2["shadow"] is True
    assert (nova["cost_usd"], nova["failed_calls"], nova["unpriced_calls"]) == (None, 1, 1)
    assert section["total"]["calls"] == 3
    assert section["total"]["cost_usd"] == pytest.approx(0.018)
    later = offline.json("costs", "--ledger", str(mixed), "--json", "--since", "2026-01-06")
    assert later["total"]["calls"] == 1
    assert later["shadow"]["total"]["calls"] == 2


def test_costs_table_has_a_labelled_shadow_section(offline: CLI, mixed: Path) -> None:
    done = offline("costs", "--ledger", str(mixed), "--by", "model")
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    start = lines.index("Shadow traffic (mirrored calls to successors; not in the spend above):")
    usage_part, shadow_part = lines[:start], lines[start:]
    assert "Known spend: $0.0420 over 2 priced call(s)" in usage_part
    assert not any(line.startswith((SONNET35_V2, NOVA)) for line in usage_part)
    assert shadow_part[1].split() == [
        "MODEL",
        "SHADOW",
        "CALLS",
        "INPUT",
        "TOK",
        "OUTPUT",
        "TOK",
        "SHADOW",
        "COST",
        "FAILED",
    ]
    v2 = next(line for line in shadow_part if line.startswith(SONNET35_V2))
    assert v2.split()[1:] == ["2", "2,000", "800", "$0.0180", "0"]
    nova = next(line for line in shadow_part if line.startswith(NOVA))
    assert nova.split()[1:] == ["1", "0", "0", "unknown", "1"]
    assert "Shadow spend: $0.0180 over 2 priced shadow call(s)" in shadow_part
    assert any(line.startswith("Shadow unpriced: 1 shadow call(s)") for line in shadow_part)


def test_costs_on_a_shadow_only_ledger(offline: CLI, tmp_path: Path) -> None:
    path = write(tmp_path / "shadow.jsonl", SHADOWS)
    done = offline("costs", "--ledger", str(path))
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[0] == f"No usage records in {path} for the period asked."
    assert "Shadow spend: $0.0180 over 2 priced shadow call(s)" in done.stdout
    report = offline.json("costs", "--ledger", str(path), "--json")
    assert report["total"] is None
    assert report["shadow"]["total"]["calls"] == 3


def test_costs_names_the_line_of_a_corrupt_shadow_record(offline: CLI, tmp_path: Path) -> None:
    path = write(tmp_path / "usage.jsonl", [USAGE[0], SHADOWS[0]])
    broken = SHADOWS[1].to_dict()
    broken["timestamp"] = "yesterday"
    with path.open("a", encoding="utf-8") as file:
        file.write(json.dumps(broken) + "\n")
    assert_one_line_error(
        offline("costs", "--ledger", str(path)), "usage.jsonl, line 3", "timestamp"
    )
