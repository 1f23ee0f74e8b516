"""``costs``: spend and the extended-access premium from a ledger file.

Shadow records in the file (mirrored calls to a successor) are reported in a section of their
own; their spend is never in the usage totals.
"""

from __future__ import annotations

import argparse
from datetime import datetime, timedelta
from typing import Any

import bedrock_lifecycle as bl

from ._common import parse_when, read_ledger_records
from ._output import Output

__all__ = ["parse_until", "run_costs"]


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


def _usage_table(
    by: list[str], rows: list[bl.SummaryRow], overall: bl.SummaryRow
) -> list[list[str]]:
    table = []
    for row in [*rows, overall] if by else [overall]:
        keys = [str(getattr(row, key) or "-") for key in by]
        if row is overall and by:
            keys = ["TOTAL"] + [""] * (len(by) - 1)
        table.append(
            [
                *keys,
                str(row.calls),
                f"{row.input_tokens:,}",
                f"{row.output_tokens:,}",
                _cost_cell(row),
                _premium_cell(row),
            ]
        )
    return table


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
    for row in [*rows, overall] if by else [overall]:
        keys = [str(getattr(row, key) or "-") for key in by]
        if row is overall and by:
            keys = ["TOTAL"] + [""] * (len(by) - 1)
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
    extended = [
        rec
        for rec in records
        if rec.extended_access
        and (args.since is None or rec.timestamp >= args.since)
        and (args.until is None or rec.timestamp < args.until)
    ]
    if args.json:
        document: dict[str, Any] = {
            "ledger": args.ledger,
            "since": args.since.isoformat() if args.since else None,
            "until": args.until.isoformat() if args.until else None,
            "by": by,
            "rows": [_row_json(row) for row in rows],
            "total": _row_json(overall) if overall else None,
            "extended_access_calls": len(extended),
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
        if overall.unknown_premium_calls > overall.unpriced_calls:
            missing = overall.unknown_premium_calls - overall.unpriced_calls
            out.line(f"Premium unknown for {missing} more call(s) (no standard price to compare).")
    if shadow_overall is not None:
        _shadow_section(by, shadow_rows, shadow_overall, out)
    elif shadows:
        out.line(f"No shadow records in {args.ledger} for the period asked.")
    return 0
