"""forecast(): the rate of the window, spend until end of life, the premium, the saving of moving.

One scenario throughout, with ids of our own (AWS has no such models) so the bundled snapshot
cannot interfere: OLD enters extended access on 2026-02-01 and retires on 2026-04-01, NEW is its
successor. Today (the catalog's clock) is 2026-01-10; the window is the seven days before.
In the window OLD is called once a day with 1,000,000 input and 100,000 output tokens:

    standard: 1.0 M x $2 + 0.1 M x $10 = $3 a day
    extended: 1.0 M x $4 + 0.1 M x $20 = $6 a day (a premium of $3 a day)
    NEW:      1.0 M x $1 + 0.1 M x $5  = $1.50 a day

From today to end of life is 81 days (22 to 2026-02-01, then 28 + 31), 59 of them in extended
access.
"""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

import bedrock_lifecycle as bl

UTC = timezone.utc
AT = datetime(2026, 1, 10, tzinfo=UTC)
OLD = "amazon.example-alpha-v1:0"
NEW = "amazon.example-alpha-v2:0"
OTHER = "meta.example-beta-v1:0"  # Legacy, retiring 2026-06-01; no extended access, no price
PRICES = {
    OLD: {
        "input_per_1m": 2,
        "output_per_1m": 10,
        "extended_input_per_1m": 4,
        "extended_output_per_1m": 20,
    },
    NEW: {"input_per_1m": 1, "output_per_1m": 5},
}
OVERRIDES = {
    OLD: {
        "legacy_at": "2026-01-01",
        "extended_access_at": "2026-02-01",
        "eol_at": "2026-04-01",
        "recommended": [NEW],
    },
    NEW: {"legacy_at": "2027-06-01", "eol_at": "2028-01-01"},
    OTHER: {"legacy_at": "2026-01-01", "eol_at": "2026-06-01"},
}


def catalog(at: datetime = AT, overrides: dict[str, Any] | None = None) -> bl.Catalog:
    return bl.Catalog(
        offline=True,
        persist=False,
        bundled=False,
        overrides=OVERRIDES if overrides is None else overrides,
        clock=lambda: at,
    )


def call(when: datetime, model: str = OLD, **overrides: Any) -> bl.UsageRecord:
    values: dict[str, Any] = {
        "timestamp": when,
        "operation": "Converse",
        "region": "us-east-1",
        "requested_model_id": model,
        "invoked_model_id": model,
        "state": "LEGACY",
        "extended_access": False,
        "input_tokens": 1_000_000,
        "output_tokens": 100_000,
        "cost_usd": 3.0,
        "standard_cost_usd": 3.0,
        "premium_usd": 0.0,
    }
    values.update(overrides)
    return bl.UsageRecord(**values)


def week(model: str = OLD, **overrides: Any) -> list[bl.UsageRecord]:
    """One call a day at noon, 2026-01-03 to 2026-01-09."""
    return [call(AT - timedelta(days=n, hours=12), model, **overrides) for n in range(7)]


def run(records: list[Any], **kwargs: Any) -> bl.Forecast:
    kwargs.setdefault("catalog", catalog())
    kwargs.setdefault("prices", bl.PriceBook(PRICES))
    return bl.forecast(records, **kwargs)


def only(result: bl.Forecast) -> bl.ForecastRow:
    (row,) = result.rows
    return row


def test_spend_premium_and_saving_until_end_of_life() -> None:
    row = only(run(week()))
    assert (row.model_id, row.region, row.state) == (OLD, "us-east-1", "LEGACY")
    assert (row.calls, row.calls_per_day) == (7, 1.0)
    assert row.end_at == datetime(2026, 4, 1, tzinfo=UTC)
    assert row.standard_usd == 243.0  # 81 days x $3
    assert row.premium_usd == 177.0  # 59 days x $3, from 2026-02-01 only
    assert row.spend_usd == 420.0
    assert row.successor_id == NEW
    assert row.successor_usd == 121.5  # 81 days x $1.50
    assert row.saving_usd == 298.5  # 420 - 121.5
    assert row.notes == ()


def test_the_rate_is_that_of_the_window_only() -> None:
    inside = [call(AT - timedelta(days=7)), call(AT - timedelta(microseconds=1))]  # both ends
    outside = [call(AT - timedelta(days=7, microseconds=1)), call(AT), call(AT + timedelta(days=1))]
    row = only(run(inside + outside))
    assert row.calls == 2
    assert row.input_tokens == 2_000_000
    assert row.standard_usd == pytest.approx(243.0 * 2 / 7)
    # A shorter window over the same calls: the rate of the last two days.
    short = only(run(week(), window_days=2))
    assert (short.calls, short.calls_per_day) == (2, 1.0)
    assert short.standard_usd == 243.0


def test_window_days_must_be_a_positive_number() -> None:
    for bad in (0, -1, float("nan"), True, "7"):
        with pytest.raises(bl.ConfigurationError, match="window_days"):
            run(week(), window_days=bad)


def test_until_before_end_of_life_cuts_the_forecast_off() -> None:
    row = only(run(week(), until=datetime(2026, 2, 15, tzinfo=UTC)))
    assert row.end_at == datetime(2026, 2, 15, tzinfo=UTC)
    assert row.standard_usd == 108.0  # 36 days x $3
    assert row.premium_usd == 42.0  # 14 days x $3, 2026-02-01 to 2026-02-15
    # A date is midnight UTC; an until after end of life changes nothing.
    assert only(run(week(), until=date(2026, 2, 15))).standard_usd == 108.0
    assert only(run(week(), until=date(2027, 1, 1))).end_at == datetime(2026, 4, 1, tzinfo=UTC)
    # Before the extended-access date, no premium at all (but a known one: $0).
    early = only(run(week(), until=date(2026, 1, 20)))
    assert (early.standard_usd, early.premium_usd) == (30.0, 0.0)


def test_premium_counts_only_from_the_extended_access_date() -> None:
    # Already in extended access: every day from today carries the premium.
    later = only(run(week(), catalog=catalog(at=datetime(2026, 3, 1, tzinfo=UTC)), window_days=60))
    assert later.state == "EXTENDED_ACCESS"
    assert later.calls_per_day == pytest.approx(7 / 60)
    per_day = 3 * 7 / 60
    assert later.standard_usd == pytest.approx(31 * per_day)
    assert later.premium_usd == pytest.approx(31 * per_day)
    # A model with no extended-access date pays none.
    other = only(run(week(OTHER), prices=bl.PriceBook({OTHER: PRICES[NEW]})))
    assert other.premium_usd == 0.0
    assert other.standard_usd == 1.5 * 142  # 2026-01-10 to 2026-06-01


def test_saving_on_move_by_counts_from_that_day() -> None:
    row = only(run(week(), move_by=date(2026, 3, 1)))
    assert row.move_by == datetime(2026, 3, 1, tzinfo=UTC)
    assert row.successor_usd == 46.5  # 31 days x $1.50
    assert row.saving_usd == 139.5  # 31 x ($3 + $3) - 46.5
    assert row.standard_usd == 243.0  # the spend until end of life does not depend on it
    # A move before today is a move today; one after end of life saves nothing.
    assert only(run(week(), move_by=date(2025, 6, 1))).saving_usd == 298.5
    late = only(run(week(), move_by=date(2026, 5, 1)))
    assert (late.saving_usd, late.successor_usd) == (0.0, 0.0)


def test_the_successor_is_the_policy_s_and_is_priced_in_the_caller_s_form() -> None:
    prices = bl.PriceBook({**PRICES, OTHER: {"input_per_1m": 0.5, "output_per_1m": 2.5}})
    policy = bl.Policy(successors={OLD: OTHER})  # OTHER retires after OLD: a usable successor
    row = only(run(week(), prices=prices, policy=policy))
    assert row.successor_id == OTHER
    assert row.successor_usd == 60.75  # 81 days x $0.75
    profile = only(run(week(f"us.{OLD}")))
    assert profile.successor_id == f"us.{NEW}"
    assert profile.saving_usd == 298.5  # profiles are priced from their base model


def test_unknown_prices_say_so_and_are_never_zero() -> None:
    no_price = only(run(week(), prices=bl.PriceBook({NEW: PRICES[NEW]})))
    assert (no_price.standard_usd, no_price.premium_usd, no_price.saving_usd) == (None,) * 3
    assert no_price.spend_usd is None
    assert no_price.successor_usd == 121.5  # what is known is still given
    assert any(re.fullmatch(r"no price for this model in us-east-1", n) for n in no_price.notes)

    uplift = {OLD: {"input_per_1m": 2, "output_per_1m": 10}, NEW: PRICES[NEW]}
    unpublished = only(run(week(), prices=bl.PriceBook(uplift)))
    assert unpublished.standard_usd == 243.0
    assert unpublished.premium_usd is None
    assert unpublished.saving_usd is None
    assert "no published extended-access price for this model in us-east-1" in unpublished.notes

    no_successor_price = only(run(week(), prices=bl.PriceBook({OLD: PRICES[OLD]})))
    assert no_successor_price.premium_usd == 177.0
    assert no_successor_price.saving_usd is None
    assert f"no price for the successor {NEW} in us-east-1" in no_successor_price.notes

    result = run(week() + week(OTHER), prices=bl.PriceBook({OLD: PRICES[OLD]}))
    assert result.standard_usd == 243.0  # known rows only
    assert not result.complete
    assert result.to_dict()["total"]["complete"] is False


def test_no_end_date_means_no_spend_figure() -> None:
    unknown = "amazon.example-gamma-v1:0"  # not in the catalog at all
    row = only(run(week(unknown), prices=bl.PriceBook({unknown: PRICES[NEW]})))
    assert row.state == "UNKNOWN"
    assert (row.end_at, row.standard_usd, row.saving_usd) == (None, None, None)
    assert "no end of life known: give until" in row.notes
    bounded = only(
        run(
            week(unknown),
            prices=bl.PriceBook({unknown: PRICES[NEW]}),
            until=AT + timedelta(days=10),
        )
    )
    assert bounded.standard_usd == 15.0
    assert bounded.premium_usd is None  # nobody knows whether it enters extended access
    assert "no lifecycle data for this model in us-east-1" in bounded.notes


def test_past_end_of_life_costs_nothing_more() -> None:
    row = only(run(week(), catalog=catalog(at=datetime(2026, 4, 2, tzinfo=UTC)), window_days=90))
    assert row.state == "EOL"
    assert (row.standard_usd, row.premium_usd, row.saving_usd) == (0.0, 0.0, 0.0)
    assert "reached end of life on 2026-04-01: calls to it fail" in row.notes


def test_shadow_records_and_other_objects_are_ignored() -> None:
    shadow = bl.ShadowRecord(
        timestamp=AT - timedelta(days=1),
        region="us-east-1",
        operation="Converse",
        shadow_operation="Converse",
        primary=bl.ShadowSide(OLD, input_tokens=10**9, output_tokens=10**9, cost_usd=1e6),
        shadow=bl.ShadowSide(NEW, input_tokens=10**9, output_tokens=10**9, cost_usd=1e6),
    )
    plain = run(week())
    mixed = run([shadow, *week(), {"invoked_model_id": OLD}])
    assert mixed == plain
    assert only(mixed).calls == 7


def test_unpriced_and_unmetered_calls_are_counted() -> None:
    records = [
        *week(),
        call(AT - timedelta(days=2), cost_usd=None),  # priced nowhere when it was made
        call(AT - timedelta(days=2), input_tokens=None, output_tokens=None, cost_usd=None),
    ]
    row = only(run(records))
    assert (row.calls, row.unpriced_calls, row.unmetered_calls) == (9, 2, 1)
    assert row.input_tokens == 8_000_000  # the unmetered call adds no tokens
    assert any(note.startswith("1 call(s) without token counts") for note in row.notes)


def test_rows_per_model_and_region_sorted_and_as_dicts() -> None:
    records = week() + week(region="eu-west-1") + week(OTHER)
    result = run(records, prices=bl.PriceBook({**PRICES, OTHER: PRICES[NEW]}))
    assert [(row.model_id, row.region) for row in result.rows] == [
        (OLD, "eu-west-1"),
        (OLD, "us-east-1"),
        (OTHER, "us-east-1"),
    ]
    data = result.to_dict()
    assert data["at"] == "2026-01-10T00:00:00+00:00"
    assert data["window_start"] == "2026-01-03T00:00:00+00:00"
    assert data["rows"][1]["end_at"] == "2026-04-01T00:00:00+00:00"
    assert data["rows"][1]["spend_usd"] == 420.0
    assert data["total"]["standard_usd"] == 243.0 * 2 + 213.0


def test_a_bundled_price_is_not_applied_outside_its_regions() -> None:
    v2 = "anthropic.claude-3-5-sonnet-20241022-v2:0"
    records = week(v2) + week(v2, region="ap-northeast-1")
    bundled = bl.Catalog(offline=True, persist=False, clock=lambda: AT)
    tokyo, virginia = run(records, catalog=bundled, prices=None).rows
    assert virginia.standard_usd is not None
    assert tokyo.standard_usd is None
    assert "published for us-east-1, us-east-2, us-west-2 only" in tokyo.notes[0]


def test_the_documented_worked_example() -> None:
    """docs/costs.md, "Forecast": the figures the page shows are the ones forecast gives."""
    v2 = "anthropic.claude-3-5-sonnet-20241022-v2:0"
    sonnet45 = "anthropic.claude-sonnet-4-5-20250929-v1:0"
    # 2,000 calls a day of 2,000 input and 500 output tokens: 4 M input, 1 M output a day.
    records = [
        call(AT - timedelta(days=day, seconds=second), v2, input_tokens=2000, output_tokens=500)
        for day in range(7)
        for second in range(1, 2001)
    ]
    prices = {sonnet45: bl.Price(input_per_1m=3.3, output_per_1m=16.5)}
    clock = bl.Catalog(offline=True, persist=False, clock=lambda: AT)
    row = only(bl.forecast(records, catalog=clock, prices=prices))
    assert (row.standard_usd, row.premium_usd, row.successor_usd) == (1350.0, 1350.0, 1485.0)
    assert row.saving_usd == 1215.0
    moved = only(bl.forecast(records, catalog=clock, prices=prices, move_by=date(2026, 2, 1)))
    assert (moved.successor_usd, moved.saving_usd) == (831.6, 680.4)
    page = (Path(__file__).resolve().parents[2] / "docs" / "costs.md").read_text("utf-8")
    section = page[page.index("## Forecast") :]
    for figure in ("$1,350", "$2,700", "$1,485", "$1,215", "$831.60", "$680.40", "50 days"):
        assert figure in section
