"""The preflight report on its own: verdicts, wording, JSON, and the arguments refused.

Checks against Bedrock (the fake) are in ``tests/functional/test_check.py``.
"""

from __future__ import annotations

import json
from datetime import datetime, timezone

import pytest

import bedrock_lifecycle as bl

UTC = timezone.utc
OLD = "anthropic.claude-3-5-sonnet-20240620-v1:0"
NEW = "anthropic.claude-3-5-sonnet-20241022-v2:0"
AT = datetime(2026, 1, 15, tzinfo=UTC)


def row(**changes: object) -> bl.PreflightRow:
    fields: dict[str, object] = {
        "model_id": OLD,
        "region": "us-east-1",
        "state": bl.State.EXTENDED_ACCESS,
        "role": "chosen",
        "base_model_id": OLD,
        "eol_at": datetime(2026, 3, 1, tzinfo=UTC),
        "successor": NEW,
        "successor_base_model_id": NEW,
        "successor_state": bl.State.ACTIVE,
        "offered": True,
        "on_demand": True,
        "streaming": True,
    }
    fields.update(changes)
    return bl.PreflightRow(**fields)  # type: ignore[arg-type]


def test_a_report_is_ok_only_when_no_row_has_a_problem() -> None:
    good, bad = row(), row(region="eu-central-2", problems=("not offered",))
    assert good.ok
    assert not bad.ok
    assert bl.PreflightReport(rows=(good,), at=AT).ok
    report = bl.PreflightReport(rows=(good, bad), at=AT)
    assert not report.ok
    assert report.problems == (bad,)


def test_text_groups_rows_under_the_model_and_region() -> None:
    report = bl.PreflightReport(
        rows=(
            row(
                role="refused",
                successor="amazon.example-gone-v1:0",
                successor_state=bl.State.EOL,
                successor_eol_at=datetime(2025, 12, 1, tzinfo=UTC),
                refused="end of life 2025-12-01 in us-east-1",
                offered=None,
                on_demand=None,
                streaming=None,
                problems=("a fallback would skip it: end of life 2025-12-01 in us-east-1",),
            ),
            row(adaptations="maxTokens <= 8192", notes=("a note",)),
        ),
        at=AT,
    )
    assert report.to_text().splitlines() == [
        "Preflight as of 2026-01-15: 1 model in use, 1 region",
        "",
        f"{OLD} in us-east-1: extended access, EOL 2026-03-01",
        "  REFUSED  amazon.example-gone-v1:0 (end of life 2025-12-01)",
        "           problem: a fallback would skip it: end of life 2025-12-01 in us-east-1",
        f"  ready    {NEW} (Active)",
        "           offered: yes; on demand: yes; streams: yes",
        "           adaptations: maxTokens <= 8192",
        "           a note",
        "",
        "Not ready: 1 problem in 1 of 2 checks.",
    ]
    assert str(report) == report.to_text()


def test_a_cost_is_shown_in_dollars_and_an_unknown_one_never_as_zero() -> None:
    priced = row(invoke_ok=True, input_tokens=1000, output_tokens=500, cost_usd=0.0105)
    unpriced = row(region="eu-central-2", invoke_ok=True, input_tokens=9, output_tokens=8)
    text = bl.PreflightReport(rows=(priced, unpriced), at=AT).to_text()
    assert "           test call: ok, 1000 in / 500 out tokens, cost $0.010500" in text
    assert "           test call: ok, 9 in / 8 out tokens, cost unknown (no price)" in text
    assert "$0.000000" not in text
    assert "test call" not in bl.PreflightReport(rows=(row(),), at=AT).to_text()


def test_json_form_round_trips_and_nests_the_test_call() -> None:
    report = bl.PreflightReport(
        rows=(row(), row(invoke_ok=False, invoke_error="ThrottlingException: slow down")),
        at=AT,
        invoked=True,
    )
    data = json.loads(json.dumps(report.to_dict()))
    assert data["ok"] is True  # derived from the problems, which these rows do not have
    assert data["at"] == "2026-01-15T00:00:00+00:00"
    assert data["invoked"] is True
    first, second = data["rows"]
    assert first["state"] == "EXTENDED_ACCESS"
    assert first["eol_at"] == "2026-03-01"
    assert first["successor_state"] == "ACTIVE"
    assert first["invoke"] is None
    assert second["invoke"] == {
        "ok": False,
        "error": "ThrottlingException: slow down",
        "input_tokens": None,
        "output_tokens": None,
        "cost_usd": None,
    }


def test_an_empty_report_says_there_was_nothing_to_check() -> None:
    catalog = bl.Catalog(offline=True, persist=False, clock=lambda: AT)
    report = bl.preflight(regions=["us-east-1"], models=[], catalog=catalog)
    assert report.rows == ()
    assert report.to_text() == "Preflight as of 2026-01-15: no models in use to check.\n"


@pytest.mark.parametrize(
    ("regions", "models"),
    [([], [OLD]), ([""], [OLD]), (["us-east-1"], [OLD, 7]), (["us-east-1"], [" "])],
    ids=["no-region", "empty-region", "not-a-string", "blank-model"],
)
def test_preflight_refuses_bad_arguments_before_asking_anyone(
    regions: list[str], models: list[object]
) -> None:
    catalog = bl.Catalog(offline=True, persist=False, clock=lambda: AT)
    with pytest.raises(bl.ConfigurationError):
        bl.preflight(regions=regions, models=models, catalog=catalog)  # type: ignore[arg-type]
