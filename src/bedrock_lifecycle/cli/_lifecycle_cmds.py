"""``status``, ``timeline`` and ``refresh``: reading and updating the lifecycle catalog.

AWS's recommended replacement is kept as AWS published it (``recommended``), but a replacement
that is itself past end of life is no use: ``status`` and ``timeline`` show the first model along
the chain of recommendations that is not past end of life in the same region.
"""

from __future__ import annotations

import argparse
import contextlib
import logging
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

import bedrock_lifecycle as bl

from ._common import (
    InUse,
    build_catalog,
    load_policy,
    models_in_use,
    regions_from,
    replacement_for,
)
from ._output import Output, day, state_label

__all__ = ["run_refresh", "run_status", "run_timeline"]

_NOTHING_KNOWN = (
    "no models in use are known on this machine ({origin} has none). Name models "
    "(bedrock-lifecycle status MODEL ...), pass --ledger PATH, or run your application "
    "with bedrock-lifecycle first."
)


@dataclass(frozen=True, slots=True)
class _Row:
    model_id: str
    region: str
    entry: bl.ModelLifecycle
    state: bl.State
    next: tuple[bl.State, datetime] | None
    replacement: str | None
    replacement_source: str | None
    last_used: datetime | None
    chain: tuple[str, ...] = ()
    """The recommendations walked past because they are past end of life, in order."""


#: Longest chain of recommendations followed before giving up (AWS's chains are two or three long).
_MAX_HOPS = 8


def _first_live(
    catalog: bl.Catalog, entry: bl.ModelLifecycle, region: str, now: datetime
) -> tuple[str | None, tuple[str, ...]]:
    """The first of AWS's recommendations, breadth first, that is not past end of life.

    Returns ``(model id or None, the past-EOL ids walked past)``. A recommendation the catalog
    knows nothing about counts as live: nothing says it is retired.
    """
    queue = list(entry.recommended)
    seen = {entry.model_id}
    dead: list[str] = []
    while queue and len(dead) < _MAX_HOPS:
        candidate = queue.pop(0)
        if candidate in seen:
            continue
        seen.add(candidate)
        found = catalog.lookup(candidate, region)
        if found.state(now) is not bl.State.EOL:
            return candidate, tuple(dead)
        dead.append(candidate)
        queue.extend(found.recommended)
    return None, tuple(dead)


def _every_model(catalog: bl.Catalog, regions: list[str]) -> list[InUse]:
    """Every model the catalog knows in each region: bundled tables, cache file, overrides and,
    when online, the control plane's list (fetched once per region, as any lookup would)."""
    targets: list[InUse] = []
    for region in regions:
        known = catalog.entries(region)
        if known and not catalog.offline:
            # A lookup fetches the region's model list when it is not cached (waiting at most
            # the usual time); the list may name models no other source has.
            catalog.lookup(known[0].model_id, region)
            known = catalog.entries(region)
        targets.extend(InUse(entry.model_id, region, None) for entry in known)
    return targets


def _targets(
    args: argparse.Namespace, catalog: bl.Catalog, out: Output, *, every_by_default: bool = False
) -> list[InUse] | None:
    """What to report on: the models named, else those in use; ``None`` when nothing is known.

    ``every_by_default`` (``timeline``): every model known in the regions when ``--all`` is
    given, and when no model is named, no ``--ledger`` given and none is known to be in use.
    """
    regions = regions_from(args)
    if getattr(args, "all", False):
        if args.models or args.ledger:
            raise ValueError("--all reports every known model: name no MODEL and no --ledger")
        return _every_model(catalog, regions)
    if args.models:
        return [
            InUse(model_id, region, None)
            for model_id in dict.fromkeys(args.models)
            for region in regions
        ]
    found, origin = models_in_use(catalog, args.ledger, args.region)
    if not found and every_by_default and not args.ledger:
        out.note(
            f"no models in use are known on this machine ({origin} has none): showing every "
            f"model known in {', '.join(regions)}. Name models or pass --ledger PATH to narrow."
        )
        return _every_model(catalog, regions)
    if not found:
        out.note(_NOTHING_KNOWN.format(origin=origin))
        return None
    default = regions[0]
    return [InUse(item.model_id, item.region or default, item.last_used) for item in found]


def _rows(args: argparse.Namespace, catalog: bl.Catalog, targets: list[InUse]) -> list[_Row]:
    policy = load_policy(args.policy)
    now = catalog.now()
    rows = []
    for target in targets:
        region = target.region or regions_from(args)[0]
        entry = catalog.lookup(target.model_id, region)
        replacement, source = replacement_for(entry, target.model_id, policy)
        chain: tuple[str, ...] = ()
        if source == "aws":
            replacement, chain = _first_live(catalog, entry, region, now)
        rows.append(
            _Row(
                model_id=target.model_id,
                region=region,
                entry=entry,
                state=entry.state(now),
                next=entry.next_transition(now),
                replacement=replacement,
                replacement_source=source,
                last_used=target.last_used,
                chain=chain,
            )
        )
    return rows


def _days(when: datetime, now: datetime) -> int:
    return (when - now).days


def _row_json(row: _Row, now: datetime) -> dict[str, Any]:
    entry = row.entry
    return {
        "model_id": row.model_id,
        "base_model_id": entry.model_id if entry.known else None,
        "region": row.region,
        "state": row.state.value,
        "legacy_at": day(entry.legacy_at),
        "extended_access_at": day(entry.extended_access_at),
        "eol_at": day(entry.eol_at),
        "next_transition": None
        if row.next is None
        else {
            "state": row.next[0].value,
            "date": day(row.next[1]),
            "days": _days(row.next[1], now),
        },
        "replacement": row.replacement,
        "replacement_source": row.replacement_source,
        "recommended": list(entry.recommended),
        "replacement_skipped": list(row.chain),
        "source": entry.source.value,
        "as_of": day(entry.as_of),
        "last_used": row.last_used.isoformat() if row.last_used else None,
    }


def _replacement_cell(row: _Row) -> str:
    """The replacement as shown in tables: the live one, and what AWS named when it differs."""
    if row.replacement_source == "policy":
        return f"{row.replacement} (policy)"
    if row.chain and row.replacement:
        return f"{row.replacement} (AWS named {row.chain[0]}, past EOL)"
    if row.chain:
        return f"none live (AWS named {row.chain[0]}, past EOL)"
    return row.replacement or "-"


def _source_cell(entry: bl.ModelLifecycle) -> str:
    """Where the row's data came from, with its date when known: ``bundled 2026-09-01``."""
    when = day(entry.as_of)
    return f"{entry.source.value} {when}" if when else entry.source.value


def _load(
    args: argparse.Namespace, out: Output, *, every_by_default: bool = False
) -> tuple[bl.Catalog, list[_Row]] | None:
    """The catalog and the rows to show; ``None`` (after saying so) when there is nothing."""
    catalog = build_catalog(args)
    targets = _targets(args, catalog, out, every_by_default=every_by_default)
    if targets is None:
        if args.json:
            out.json([])
        return None
    return catalog, _rows(args, catalog, targets)


def run_status(args: argparse.Namespace, out: Output) -> int:
    loaded = _load(args, out)
    if loaded is None:
        return 0
    catalog, rows = loaded
    now = catalog.now()
    if args.json:
        out.json([_row_json(row, now) for row in rows])
        return 0
    show_used = any(row.last_used for row in rows)
    headers = ["MODEL", "REGION", "STATE", "LEGACY", "EXT. ACCESS", "EOL", "NEXT", "REPLACEMENT"]
    if show_used:
        headers.append("LAST USED")
    headers.append("DATA")
    table = []
    for row in rows:
        entry = row.entry
        nxt = f"{state_label(row.next[0].value)} in {_days(row.next[1], now)}d" if row.next else "-"
        replacement = _replacement_cell(row)
        cells = [
            row.model_id,
            row.region,
            state_label(row.state.value),
            day(entry.legacy_at) or "-",
            day(entry.extended_access_at) or "-",
            day(entry.eol_at) or "-",
            nxt,
            replacement,
        ]
        if show_used:
            cells.append(day(row.last_used) or "-")
        cells.append(_source_cell(entry))
        table.append(cells)
    out.table(
        headers,
        table,
        states=[row.state.value for row in rows],
        state_column=2,
        title=f"Lifecycle as of {now.date().isoformat()}",
    )
    if any(row.state is bl.State.UNKNOWN for row in rows):
        out.note(
            "unknown: no lifecycle data for that model in that region (not in AWS's tables or "
            "model list as bundled, not in your overrides, and not fetched yet: try "
            "'bedrock-lifecycle refresh')"
        )
    if any(row.entry.source is bl.Source.BUNDLED for row in rows):
        out.note(
            "DATA 'bundled <date>': from the data shipped with bedrock-lifecycle, as AWS "
            "published it on that date; 'bedrock-lifecycle refresh' asks Bedrock itself"
        )
    return 0


def run_timeline(args: argparse.Namespace, out: Output) -> int:
    if args.days < 0:
        raise ValueError("--days must not be negative")
    loaded = _load(args, out, every_by_default=True)
    if loaded is None:
        return 0
    catalog, rows = loaded
    now = catalog.now()
    horizon = now + timedelta(days=args.days)
    events: list[tuple[datetime, bl.State, _Row]] = []
    for row in rows:
        entry = row.entry
        for state, when in (
            (bl.State.LEGACY, entry.legacy_at),
            (bl.State.EXTENDED_ACCESS, entry.extended_access_at),
            (bl.State.EOL, entry.eol_at),
        ):
            if when is not None and now < when <= horizon:
                events.append((when, state, row))
    events.sort(key=lambda item: (item[0], item[2].model_id, item[2].region, item[1].rank))
    if args.json:
        out.json(
            [
                {
                    "date": day(when),
                    "days": _days(when, now),
                    "model_id": row.model_id,
                    "region": row.region,
                    "transition": state.value,
                    "replacement": row.replacement,
                    "replacement_source": row.replacement_source,
                    "replacement_skipped": list(row.chain),
                }
                for when, state, row in events
            ]
        )
        return 0
    if not events:
        out.line(
            f"No lifecycle transitions in the next {args.days} days "
            f"({now.date().isoformat()} to {horizon.date().isoformat()}) "
            f"for {len(rows)} model/region pair(s)."
        )
        return 0
    out.table(
        ["DATE", "IN", "MODEL", "REGION", "BECOMES", "REPLACEMENT"],
        [
            [
                day(when) or "",
                f"{_days(when, now)}d",
                row.model_id,
                row.region,
                state_label(state.value),
                _replacement_cell(row),
            ]
            for when, state, row in events
        ],
        states=[state.value for _, state, _ in events],
        state_column=4,
        right=(1,),
        title=f"Transitions from {now.date().isoformat()} to {horizon.date().isoformat()}",
    )
    return 0


def _change_line(change: bl.ModelChange, now: datetime) -> str:
    before, after = change.before, change.after
    if change.change == "added" and after is not None:
        return f"  + {change.model_id} ({state_label(after.state(now).value)})"
    if change.change == "removed":
        return f"  - {change.model_id} (no longer listed)"
    if change.change == "state" and before is not None and after is not None:
        return (
            f"  ~ {change.model_id}: {state_label(before.state(now).value)} -> "
            f"{state_label(after.state(now).value)}"
        )
    parts = []
    if before is not None and after is not None:
        for label, old, new in (
            ("Legacy", before.legacy_at, after.legacy_at),
            ("extended access", before.extended_access_at, after.extended_access_at),
            ("EOL", before.eol_at, after.eol_at),
        ):
            if old != new:
                parts.append(f"{label} {day(old) or '-'} -> {day(new) or '-'}")
    return f"  ~ {change.model_id}: " + ", ".join(parts)


def run_refresh(args: argparse.Namespace, out: Output) -> int:
    if args.to:
        return _publish(args, out)
    catalog = build_catalog(args, offline=False)
    try:
        with _reported_below():
            if args.all_regions:
                results = [r for region in _all_regions() for r in catalog.refresh(region)]
            elif args.region:
                results = [r for region in regions_from(args) for r in catalog.refresh(region)]
            else:
                results = catalog.refresh()
    finally:
        catalog.close()
    now = catalog.now()
    if args.json:
        out.json([_result_json(result, now) for result in results])
    else:
        _print_results(results, now, out)
        if catalog.cache_path is not None and any(r.ok for r in results):
            out.note(f"cache written to {catalog.cache_path}")
    return 0 if any(result.ok for result in results) else 1


@contextlib.contextmanager
def _reported_below() -> Iterator[None]:
    """Quiet the library's own WARNING lines about failed regions: the command reports each
    region itself, and they would repeat it."""
    loggers = [logging.getLogger(f"bedrock_lifecycle.{name}") for name in ("_catalog", "_publish")]
    levels = [each.level for each in loggers]
    for each in loggers:
        each.setLevel(logging.ERROR)
    try:
        yield
    finally:
        for each, level in zip(loggers, levels, strict=True):
            each.setLevel(level)


def _all_regions() -> list[str]:
    """Every region botocore lists for Bedrock in the aws partition (its bundled data)."""
    import boto3

    return sorted(boto3.session.Session().get_available_regions("bedrock"))


def _publish(args: argparse.Namespace, out: Output) -> int:
    """``refresh --to LOCATION``: one shared snapshot of the regions, for a fleet."""
    if args.overrides:
        raise ValueError(
            "--overrides do not go into a shared snapshot (it holds only what the control "
            "plane answered): give them to the processes that read it"
        )
    if args.source:
        raise ValueError(
            "--source names a snapshot to read; a publisher reads the control plane and writes --to"
        )
    regions = None if args.all_regions else regions_from(args)
    try:
        with _reported_below():
            report = bl.publish_snapshot(args.to, regions=regions, endpoint_url=args.endpoint_url)
    except (ClientError, BotoCoreError, OSError) as exc:
        out.line(f"{args.to}: not written ({_error_code(exc)})", "bold red")
        return 1
    now = report.as_of
    if args.json:
        out.json(
            {
                "location": report.location,
                "as_of": report.as_of.isoformat(),
                "written": report.written,
                "size": report.size,
                "previous_as_of": (
                    report.previous_as_of.isoformat() if report.previous_as_of else None
                ),
                "regions_covered": list(report.covered),
                "regions_failed": report.failed,
                "regions_carried": list(report.carried),
                "regions": [_result_json(result, now) for result in report.regions],
            }
        )
    else:
        _print_results(report.regions, now, out)
        failed, carried = len(report.failed), len(report.carried)
        if report.written:
            detail = ""
            if failed:
                kept = f"{carried} kept from the previous snapshot" if carried else ""
                gone = f"{failed - carried} left out" if failed > carried else ""
                detail = f" ({failed} failed: {', '.join(part for part in (kept, gone) if part)})"
            out.note(
                f"snapshot of {len(report.covered)} region{'s' * (len(report.covered) != 1)}"
                f"{detail} written to {report.location}"
            )
        else:
            out.note(f"every region failed: nothing written to {report.location}")
    return 0 if report.written else 1


def _error_code(exc: BaseException) -> str:
    """The AWS error code, or the OS reason, or the exception's class: never a message body."""
    if isinstance(exc, ClientError):
        return str(exc.response.get("Error", {}).get("Code") or "ClientError")
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror
    return exc.__class__.__name__


def _result_json(result: bl.RefreshResult, now: datetime) -> dict[str, Any]:
    return {
        "region": result.region,
        "ok": result.ok,
        "error": result.error,
        "models": result.models,
        "changes": [
            {
                "model_id": change.model_id,
                "change": change.change,
                "before": _brief(change.before, now),
                "after": _brief(change.after, now),
            }
            for change in result.changes
        ],
    }


def _print_results(results: Iterable[bl.RefreshResult], now: datetime, out: Output) -> None:
    for result in results:
        if not result.ok:
            out.line(f"{result.region}: failed ({result.error})", "bold red")
            continue
        count = len(result.changes)
        summary = "no changes" if count == 0 else f"{count} change{'s' * (count != 1)}"
        out.line(f"{result.region}: {result.models} models, {summary}")
        for change in result.changes:
            out.line(_change_line(change, now))


def _brief(entry: bl.ModelLifecycle | None, now: datetime) -> dict[str, Any] | None:
    if entry is None:
        return None
    return {
        "state": entry.state(now).value,
        "legacy_at": day(entry.legacy_at),
        "extended_access_at": day(entry.extended_access_at),
        "eol_at": day(entry.eol_at),
    }
