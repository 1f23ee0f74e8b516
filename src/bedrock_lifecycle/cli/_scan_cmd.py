"""``scan``: find model ids in source trees and judge each against the lifecycle catalog.

Offline by default: a CI job has no AWS credentials, and the bundled snapshot, the cache file and
``--overrides`` are enough to judge published dates. ``--online`` lets the catalog ask the control
plane too.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections import Counter
from collections.abc import Callable, Sequence
from typing import Any

import bedrock_lifecycle as bl
from bedrock_lifecycle.scan import Finding, ScanResult, scan_paths, to_sarif

from ._common import build_catalog, load_policy, regions_from, replacement_for
from ._output import Output, day, state_label

__all__ = ["FAIL_ON", "run_scan"]

FAIL_ON = {
    "legacy": bl.State.LEGACY,
    "extended-access": bl.State.EXTENDED_ACCESS,
    "eol": bl.State.EOL,
}
_PROGRESS_AFTER_S = 1.0


def _progress(stream: Any) -> Callable[[int, int], None] | None:
    """A progress callback writing to ``stream`` when it is a terminal and the scan is long."""
    isatty = getattr(stream, "isatty", None)
    if not (isatty and isatty()):
        return None
    started = time.monotonic()
    shown = [False]

    def report(done: int, total: int) -> None:
        if time.monotonic() - started < _PROGRESS_AFTER_S:
            return
        shown[0] = True
        stream.write(f"\rscanning: {done}/{total} files")
        if done >= total:
            stream.write("\n")
        stream.flush()

    return report


def _judge(
    findings: Sequence[Finding], catalog: bl.Catalog, regions: Sequence[str], policy: Any
) -> list[ScanResult]:
    """One result per finding: the worst state over ``regions`` (or the ARN's own region)."""
    now = catalog.now()
    cache: dict[tuple[str, str], ScanResult] = {}
    results = []
    for finding in findings:
        model_id = finding.ref.raw
        own_region = finding.ref.region
        candidates = [own_region] if own_region else list(regions)
        best: ScanResult | None = None
        for region in candidates:
            key = (model_id, region)
            judged = cache.get(key)
            if judged is None:
                entry = catalog.lookup(model_id, region)
                replacement, _ = replacement_for(entry, model_id, policy)
                judged = ScanResult(
                    finding=finding,
                    state=entry.state(now).value,
                    legacy_at=entry.legacy_at,
                    extended_access_at=entry.extended_access_at,
                    eol_at=entry.eol_at,
                    replacement=replacement,
                    region=region,
                    source=entry.source.value,
                    as_of=entry.as_of,
                )
                cache[key] = judged
            if best is None or _worse(judged, best):
                best = judged
        assert best is not None
        results.append(
            ScanResult(
                finding=finding,
                state=best.state,
                legacy_at=best.legacy_at,
                extended_access_at=best.extended_access_at,
                eol_at=best.eol_at,
                replacement=best.replacement,
                region=best.region,
                source=best.source,
                as_of=best.as_of,
            )
        )
    return results


def _rank(result: ScanResult) -> int:
    return bl.State(result.state).rank


def _worse(a: ScanResult, b: ScanResult) -> bool:
    if _rank(a) != _rank(b):
        return _rank(a) > _rank(b)
    return a.eol_at is not None and (b.eol_at is None or a.eol_at < b.eol_at)


def _result_json(result: ScanResult) -> dict[str, Any]:
    finding = result.finding
    return {
        "path": finding.path,
        "line": finding.line,
        "column": finding.column,
        "end_column": finding.end_column,
        "model_id": finding.text,
        "base_model_id": finding.ref.base_id,
        "form": finding.ref.form.value,
        "region": result.region,
        "state": result.state,
        "legacy_at": day(result.legacy_at),
        "extended_access_at": day(result.extended_access_at),
        "eol_at": day(result.eol_at),
        "replacement": result.replacement,
        "source": result.source,
        "as_of": day(result.as_of) if result.as_of else None,
    }


def _text_line(result: ScanResult, out: Output) -> str:
    finding = result.finding
    where = f"{finding.path}:{finding.line}:{finding.column}"
    dates = []
    for label, value in (
        ("Legacy", result.legacy_at),
        ("extended access", result.extended_access_at),
        ("EOL", result.eol_at),
    ):
        if value is not None:
            dates.append(f"{label} {day(value)}")
    if result.state == bl.State.ACTIVE.value and result.source == "bundled" and result.as_of:
        # "Active" from shipped data is only as true as the data is recent: say how recent.
        dates.append(f"bundled data as of {day(result.as_of)}")
    detail = f" ({', '.join(dates)})" if dates else ""
    replacement = f" -> {result.replacement}" if result.replacement else ""
    return (
        f"{where}: {out.state(result.state)} {finding.text} in {result.region}{detail}{replacement}"
    )


def run_scan(args: argparse.Namespace, out: Output) -> int:
    paths = args.paths or ["."]
    for path in paths:
        if not os.path.exists(path):
            raise FileNotFoundError(f"no such file or directory: {path}")
    catalog = build_catalog(args, offline=not args.online)
    policy = load_policy(args.policy)
    findings = list(
        scan_paths(
            paths,
            respect_gitignore=not args.no_gitignore,
            progress=_progress(sys.stderr),
            jobs=args.jobs,
        )
    )
    results = _judge(findings, catalog, regions_from(args), policy)
    if args.format == "json":
        out.json([_result_json(result) for result in results])
    elif args.format == "sarif":
        out.json(to_sarif(results, tool_version=bl.__version__))
    else:
        shown = [r for r in results if args.all or r.state != bl.State.ACTIVE.value]
        for result in shown:
            out.line(_text_line(result, out))
        counts = Counter(result.state for result in results)
        files = len({result.finding.path for result in results})
        parts = [
            f"{counts[state.value]} {state_label(state.value)}"
            for state in (
                bl.State.EOL,
                bl.State.EXTENDED_ACCESS,
                bl.State.LEGACY,
                bl.State.ACTIVE,
                bl.State.UNKNOWN,
            )
            if counts[state.value]
        ]
        summary = f"{len(results)} model id(s) in {files} file(s)"
        if parts:
            summary += ": " + ", ".join(parts)
        if not args.all and counts[bl.State.ACTIVE.value]:
            summary += " (Active ones not listed; --all lists them)"
        out.line(summary)
    if args.fail_on is None:
        return 0
    threshold = FAIL_ON[args.fail_on].rank
    failing = [result for result in results if _rank(result) >= threshold]
    if failing and args.format == "text":
        out.note(f"{len(failing)} finding(s) at or above --fail-on {args.fail_on}; exiting with 1")
    return 1 if failing else 0
