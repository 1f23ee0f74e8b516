"""``costs``: spend and the extended-access premium from a ledger file; ``--forecast``: what the
models in use will cost until they retire, and what moving to their successors saves.

Shadow records in the file (mirrored calls to a successor) are reported in a section of their
own; their spend is never in the usage totals, nor in the forecast's rate.
"""

from __future__ import annotations

import argparse
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

import bedrock_lifecycle as bl

from ._common import build_catalog, load_policy, parse_when, read_ledger_records
from ._output import Output, day, state_label

__all__ = ["parse_until", "run_costs"]

DEFAULT_WINDOW = 7
#: Options that only mean something with --forecast: (namespace name, option).
_FORECAST_ONLY = (
    ("window", "--window"),
    ("move_by", "--move-by"),
    ("prices", "--prices"),
    ("policy", "--policy"),
    ("at", "--at"),
    ("overrides", "--overrides"),
    ("cache_path", "--cache-path"),
    ("online", "--online"),
    ("endpoint_url", "--endpoint-url"),
    ("source", "--source"),
)


def parse_until(text: str) -> datetime:
    """``--until``: a plain date includes that whole day; a timestamp is exclusive."""
    moment = parse_when(text)
    return moment + timedelta(days=1) if len(text.strip()) == 10 else moment


def _money(value: float) -> str:
    return f"${value:,.4f}"


def _cost_cell(row: bl.SummaryRow) -> str:
    """Known cost, with unpriced calls named beside it: never a silent $0."""
    if row.unpriced_calls == row.calls:
        return "unknown"
    text = _money(row.cost_usd)
    return f"{text} + {row.unpriced_calls} unpriced" if row.unpriced_calls else text


def _premium_cell(row: bl.SummaryRow) -> str:
    if row.unknown_premium_calls == row.calls:
        return "unknown"
    text = _money(row.premium_usd)
    return f"{text} + {row.unknown_premium_calls} unknown" if row.unknown_premium_calls else text


def _row_json(row: bl.SummaryRow) -> dict[str, Any]:
    """``row`` as JSON, with ``null`` (not 0) for money no call in the group had a price for."""
    data = row.to_dict()
    if row.unpriced_calls == row.calls:
        data["cost_usd"] = data["standard_cost_usd"] = None
    if row.unknown_premium_calls == row.calls:
        data["premium_usd"] = None
    if row.shadow:  # no standard cost is kept for shadow calls
        data["standard_cost_usd"] = None
    return data


def _keyed(
    by: list[str], rows: list[bl.SummaryRow], overall: bl.SummaryRow
) -> Iterator[tuple[list[str], bl.SummaryRow]]:
    """Each row of a table grouped ``by`` with its key cells, then the TOTAL row (the overall
    row alone when nothing is grouped)."""
    for row in [*rows, overall] if by else [overall]:
        keys = [str(getattr(row, key) or "-") for key in by]
        if row is overall and by:
            keys = ["TOTAL"] + [""] * (len(by) - 1)
        yield keys, row


def _usage_table(
    by: list[str], rows: list[bl.SummaryRow], overall: bl.SummaryRow
) -> list[list[str]]:
    table = []
    for keys, row in _keyed(by, rows, overall):
        table.append(
            [
                *keys,
                str(row.calls),
                _unpriced_cell(row.unpriced_calls),
                f"{row.input_tokens:,}",
                f"{row.output_tokens:,}",
                _cost_cell(row),
                _premium_cell(row),
            ]
        )
    return table


def _unpriced_cell(count: int) -> str:
    """Calls without a known cost; blank when every call was priced, so the rows that lack a
    price are the ones that catch the eye."""
    return str(count) if count else ""


def _unpriced_by_model_and_region(records: list[bl.UsageRecord]) -> list[dict[str, Any]]:
    """``[{"model", "region", "calls"}]`` for each model and region with unpriced calls."""
    return [
        {"model": row.model, "region": row.region, "calls": row.unpriced_calls}
        for row in bl.summarize(records, by=("model", "region"))
        if row.unpriced_calls
    ]


def _shadow_section(
    by: list[str], rows: list[bl.SummaryRow], overall: bl.SummaryRow, out: Output
) -> None:
    """The shadow traffic: what the successors' answers to mirrored calls cost, apart."""
    out.line()
    out.line("Shadow traffic (mirrored calls to successors; not in the spend above):", "bold")
    headers = [key.upper() for key in by] + [
        "SHADOW CALLS",
        "INPUT TOK",
        "OUTPUT TOK",
        "SHADOW COST",
        "FAILED",
    ]
    table = []
    for keys, row in _keyed(by, rows, overall):
        table.append(
            [
                *keys,
                str(row.calls),
                f"{row.input_tokens:,}",
                f"{row.output_tokens:,}",
                _cost_cell(row),
                str(row.failed_calls),
            ]
        )
    out.table(headers, table, right=tuple(range(len(by), len(headers))))
    out.line()
    priced = overall.calls - overall.unpriced_calls
    out.line(f"Shadow spend: {_money(overall.cost_usd)} over {priced} priced shadow call(s)")
    if overall.unpriced_calls:
        out.line(
            f"Shadow unpriced: {overall.unpriced_calls} shadow call(s) have no known cost; "
            "they are not in the shadow spend.",
            "yellow",
        )


def run_costs(args: argparse.Namespace, out: Output) -> int:
    if args.forecast:
        return _run_forecast(args, out)
    given = [
        option
        for name, option in _FORECAST_ONLY
        if getattr(args, name, None) not in (None, False)  # --source '' is given too
    ]
    if given:
        raise bl.ConfigurationError(f"{', '.join(given)}: only with --forecast")
    by = [key.strip() for key in args.by.split(",") if key.strip()] if args.by else []
    everything = read_ledger_records(args.ledger)
    records = [rec for rec in everything if isinstance(rec, bl.UsageRecord)]
    shadows = [rec for rec in everything if isinstance(rec, bl.ShadowRecord)]
    rows = bl.summarize(records, by=by, since=args.since, until=args.until)
    total = bl.summarize(records, by=(), since=args.since, until=args.until)
    overall = total[0] if total else None
    shadow_rows = bl.summarize(shadows, by=by, since=args.since, until=args.until)
    shadow_total = bl.summarize(shadows, by=(), since=args.since, until=args.until)
    shadow_overall = shadow_total[0] if shadow_total else None
    in_period = [
        rec
        for rec in records
        if (args.since is None or rec.timestamp >= args.since)
        and (args.until is None or rec.timestamp < args.until)
    ]
    extended = [rec for rec in in_period if rec.extended_access]
    if args.json:
        document: dict[str, Any] = {
            "ledger": args.ledger,
            "since": args.since.isoformat() if args.since else None,
            "until": args.until.isoformat() if args.until else None,
            "by": by,
            "rows": [_row_json(row) for row in rows],
            "total": _row_json(overall) if overall else None,
            "extended_access_calls": len(extended),
            "unpriced": _unpriced_by_model_and_region(in_period),
        }
        if shadows:  # only files with shadow records: usage-only reports stay as they were
            document["shadow"] = {
                "rows": [_row_json(row) for row in shadow_rows],
                "total": _row_json(shadow_overall) if shadow_overall else None,
            }
        out.json(document)
        return 0
    if overall is None:
        out.line(f"No usage records in {args.ledger} for the period asked.")
    else:
        headers = [key.upper() for key in by] + [
            "CALLS",
            "UNPRICED",
            "INPUT TOK",
            "OUTPUT TOK",
            "COST",
            "EXT. PREMIUM",
        ]
        numbers = tuple(range(len(by), len(headers)))
        out.table(headers, _usage_table(by, rows, overall), right=numbers)
        out.line()
        priced = overall.calls - overall.unpriced_calls
        out.line(f"Known spend: {_money(overall.cost_usd)} over {priced} priced call(s)")
        out.line(
            f"Extended-access premium: {_money(overall.premium_usd)} "
            f"({len(extended)} call(s) in public extended access)",
            "magenta" if overall.premium_usd else None,
        )
        if overall.unpriced_calls:
            out.line(
                f"Unpriced: {overall.unpriced_calls} call(s) have no known cost (no price for "
                "the model, or token counts missing); they are not in the totals above.",
                "yellow",
            )
            for item in _unpriced_by_model_and_region(in_period):
                out.line(f"  {item['model']} in {item['region'] or '-'}: {item['calls']}")
        if overall.unknown_premium_calls > overall.unpriced_calls:
            missing = overall.unknown_premium_calls - overall.unpriced_calls
            out.line(f"Premium unknown for {missing} more call(s) (no standard price to compare).")
    if shadow_overall is not None:
        _shadow_section(by, shadow_rows, shadow_overall, out)
    elif shadows:
        out.line(f"No shadow records in {args.ledger} for the period asked.")
    return 0


# -- --forecast ---------------------------------------------------------------------------------


def _known(value: float | None) -> str:
    return "unknown" if value is None else _money(value)


def _total_cell(result: bl.Forecast, name: str) -> str:
    """The known total of a column, with the rows whose figure is unknown counted beside it."""
    unknown = sum(getattr(row, name) is None for row in result.rows)
    if unknown == len(result.rows):
        return "unknown"
    total: float = getattr(result, name)
    return f"{_money(total)} + {unknown} unknown" if unknown else _money(total)


def _forecast_table(result: bl.Forecast, out: Output) -> None:
    headers = [
        "MODEL",
        "REGION",
        "STATE",
        "CALLS/DAY",
        "UNPRICED",
        "ENDS",
        "STANDARD",
        "EXT. PREMIUM",
        "SAVING",
    ]
    table = [
        [
            row.model_id,
            row.region or "-",
            state_label(row.state),
            f"{row.calls_per_day:,.2f}",
            _unpriced_cell(row.unpriced_calls),
            day(row.end_at) or "-",
            _known(row.standard_usd),
            _known(row.premium_usd),
            _known(row.saving_usd),
        ]
        for row in result.rows
    ]
    table.append(
        [
            "TOTAL",
            "",
            "",
            "",
            _unpriced_cell(sum(row.unpriced_calls for row in result.rows)),
            "",
            _total_cell(result, "standard_usd"),
            _total_cell(result, "premium_usd"),
            _total_cell(result, "saving_usd"),
        ]
    )
    states: list[str | None] = [row.state for row in result.rows] + [None]
    out.table(headers, table, states=states, state_column=2, right=(3, 4, 6, 7, 8))


def _run_forecast(args: argparse.Namespace, out: Output) -> int:
    if args.since is not None:
        raise bl.ConfigurationError(
            "--since: not with --forecast (the rate is that of the last --window days)"
        )
    if args.endpoint_url and not args.online:
        raise bl.ConfigurationError("--endpoint-url: only with --online")
    if args.source is not None and not args.online:
        raise bl.ConfigurationError("--source: only with --online (offline, no snapshot is read)")
    records = read_ledger_records(args.ledger)
    policy = load_policy(args.policy)
    catalog = build_catalog(args, offline=not args.online)
    try:
        result = bl.forecast(
            records,
            catalog=catalog,
            prices=args.prices,
            window_days=args.window or DEFAULT_WINDOW,
            until=args.until,
            move_by=args.move_by,
            policy=policy,
        )
    finally:
        catalog.close()
    if args.json:
        out.json({"ledger": args.ledger, **result.to_dict()})
        return 0
    window = int(result.window_days) if result.window_days.is_integer() else result.window_days
    out.line(
        f"Forecast as of {day(result.at)}, from the calls of the last {window} day(s) "
        f"({day(result.window_start)} to {day(result.at)}), to end of life"
        + (f" or {day(result.until)}" if result.until else "")
        + f"; moving on {day(result.move_by)}."
    )
    if not result.rows:
        out.line(f"No usage records in {args.ledger} in the window.")
        return 0
    _forecast_table(result, out)
    out.line()
    for row in result.rows:
        where = f"{row.model_id} in {row.region or '-'}"
        if row.successor_id is not None:
            out.line(
                f"{where}: successor {row.successor_id}, "
                f"{_known(row.successor_usd)} from {day(row.move_by)} to {day(row.end_at) or '?'}"
            )
        for note in row.notes:
            out.line(f"{where}: {note}", "yellow")
    unpriced = sum(row.unpriced_calls for row in result.rows)
    if unpriced:
        out.line(
            f"Unpriced: {unpriced} call(s) in the window have no known cost in the ledger.",
            "yellow",
        )
    return 0
