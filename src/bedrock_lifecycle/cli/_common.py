"""What several commands share: building the catalog from options, dates, "models in use"."""

from __future__ import annotations

import argparse
import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import bedrock_lifecycle as bl
from bedrock_lifecycle.ledger import read_jsonl

__all__ = [
    "DEFAULT_REGION",
    "InUse",
    "add_catalog_options",
    "build_catalog",
    "load_policy",
    "models_in_use",
    "parse_when",
    "read_ledger",
    "read_ledger_records",
    "regions_from",
    "replacement_for",
]

DEFAULT_REGION = "us-east-1"
#: The policy used when none is given (as for ``bl.wrap()`` and ``bl.install()``).
POLICY_ENV = "BEDROCK_LIFECYCLE_POLICY"
_SQLITE_SUFFIXES = (".db", ".sqlite", ".sqlite3")
_JSONL_SUFFIXES = (".jsonl", ".ndjson")
#: How long an online lookup waits for the control plane before using cached or bundled data.
_ONLINE_WAIT = timedelta(seconds=15)


SOURCE_HELP = (
    "a fleet's shared lifecycle snapshot (s3://BUCKET/KEY or a path), read before the control "
    "plane (default: $BEDROCK_LIFECYCLE_SOURCE; --source '' reads none)"
)


def add_catalog_options(
    parser: argparse.ArgumentParser, *, at: bool = True, offline: bool = True
) -> None:
    """Add the options every command reading lifecycle data takes (``refresh`` has neither
    ``--at`` nor ``--offline``)."""
    group = parser.add_argument_group("lifecycle data")
    group.add_argument(
        "--region",
        "-r",
        action="append",
        metavar="REGION",
        help="AWS region to judge models in (repeatable; default: $AWS_REGION, "
        f"$AWS_DEFAULT_REGION, else {DEFAULT_REGION})",
    )
    if offline:
        group.add_argument(
            "--offline",
            action="store_true",
            help="never call AWS: use the cache file, overrides and bundled data only "
            "(also BEDROCK_LIFECYCLE_OFFLINE=1)",
        )
    group.add_argument(
        "--cache-path",
        metavar="FILE",
        help="the lifecycle cache file (default: $BEDROCK_LIFECYCLE_CACHE_DIR/lifecycle.json, "
        "else the user cache directory)",
    )
    group.add_argument(
        "--overrides", metavar="FILE", help="lifecycle overrides (.toml or .json) that win"
    )
    group.add_argument("--source", metavar="LOCATION", help=SOURCE_HELP)
    group.add_argument(
        "--endpoint-url",
        metavar="URL",
        help="Bedrock control-plane endpoint (a local fake or a proxy) instead of AWS's",
    )
    if at:
        group.add_argument(
            "--at",
            metavar="DATE",
            type=parse_when,
            help="judge states as of DATE (YYYY-MM-DD or ISO timestamp) instead of now",
        )


def regions_from(args: argparse.Namespace) -> list[str]:
    """The regions asked for, else the environment's region, else ``us-east-1``; no repeats."""
    given: list[str] | None = getattr(args, "region", None)
    if given:
        return list(dict.fromkeys(given))
    env = os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION")
    return [env or DEFAULT_REGION]


def parse_when(text: str) -> datetime:
    """``YYYY-MM-DD`` (midnight UTC) or an ISO 8601 timestamp (naive means UTC)."""
    raw = text.strip()
    try:
        if len(raw) == 10:
            parsed = date.fromisoformat(raw)
            return datetime(parsed.year, parsed.month, parsed.day, tzinfo=timezone.utc)
        moment = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a date (use YYYY-MM-DD or an ISO timestamp)"
        ) from None
    return moment.replace(tzinfo=timezone.utc) if moment.tzinfo is None else moment


def build_catalog(args: argparse.Namespace, *, offline: bool | None = None) -> bl.Catalog:
    """A catalog from the common options. ``offline`` overrides ``--offline`` when given."""
    regions = regions_from(args)
    at: datetime | None = getattr(args, "at", None)
    clock: Callable[[], datetime] | None = None
    if at is not None:
        fixed = at

        def clock() -> datetime:
            return fixed

    is_offline = bool(getattr(args, "offline", False)) if offline is None else offline
    return bl.Catalog(
        region_name=regions[0],
        cache_path=args.cache_path,
        overrides=args.overrides,
        offline=is_offline,
        endpoint_url=args.endpoint_url,
        clock=clock,
        max_wait=_ONLINE_WAIT,
        source=getattr(args, "source", None),  # None: the environment's
    )


def load_policy(path: str | None) -> bl.Policy | None:
    """The policy in ``path`` (``--policy``: a file or an ``s3://`` object), else the shared
    policy ``BEDROCK_LIFECYCLE_POLICY`` names, else ``None``."""
    if not path:
        shared = os.environ.get(POLICY_ENV, "").strip()
        return bl.Policy.from_source(shared) if shared else None
    if path.startswith("s3://"):
        return bl.Policy.from_source(path)
    return bl.Policy.from_file(path)


def replacement_for(
    entry: bl.ModelLifecycle, model_id: str, policy: bl.Policy | None
) -> tuple[str | None, str | None]:
    """``(replacement id, "policy" | "aws")``: the configured successor first, then AWS's."""
    if policy is not None:
        configured = policy.successor_for(model_id, entry.model_id if entry.known else None)
        if configured:
            return configured, "policy"
    if entry.recommended:
        return entry.recommended[0], "aws"
    return None, None


@dataclass(frozen=True, slots=True)
class InUse:
    """A model this machine has called, in a region, and when last (if known)."""

    model_id: str
    region: str | None
    last_used: datetime | None


def _ledger_file(path: str) -> tuple[Path, bool]:
    """The ledger file at ``path`` and whether it is JSON Lines (else SQLite)."""
    file = Path(path).expanduser()
    suffix = file.suffix.lower()
    if not file.is_file():
        raise bl.ConfigurationError("no such ledger file", source=str(path))
    if suffix in _JSONL_SUFFIXES:
        return file, True
    if suffix in _SQLITE_SUFFIXES:
        return file, False
    raise bl.ConfigurationError(
        "unknown ledger type: use a .jsonl file (JsonlLedger) or a .db / .sqlite file "
        "(SqliteLedger)",
        source=str(path),
    )


def _read_sqlite(file: Path, path: str) -> list[bl.UsageRecord | bl.ShadowRecord]:
    import sqlite3

    ledger = bl.SqliteLedger[bl.UsageRecord | bl.ShadowRecord](file)
    try:
        return ledger.records()
    except sqlite3.DatabaseError as exc:
        raise bl.ConfigurationError(
            f"not a bedrock-lifecycle SQLite ledger ({exc})", source=str(path)
        ) from None
    finally:
        ledger.close()


def read_ledger(path: str) -> list[bl.UsageRecord]:
    """Every usage record in a ledger file: ``.jsonl`` / ``.ndjson`` or ``.db`` / ``.sqlite``.

    Shadow records in the file are left out (see :func:`read_ledger_records`)."""
    file, jsonl = _ledger_file(path)
    if jsonl:
        return read_jsonl(file)
    return [rec for rec in _read_sqlite(file, path) if isinstance(rec, bl.UsageRecord)]


def read_ledger_records(path: str) -> list[bl.UsageRecord | bl.ShadowRecord]:
    """Every record in a ledger file, usage and shadow records alike, in the file's order.

    A corrupt shadow record is a ``ValueError`` naming the file and the line (or row)."""
    file, jsonl = _ledger_file(path)
    if not jsonl:
        return _read_sqlite(file, path)
    ledger = bl.JsonlLedger[bl.UsageRecord | bl.ShadowRecord](file)
    try:
        return ledger.records()
    finally:
        ledger.close()


def _from_ledger(path: str) -> list[InUse]:
    latest: dict[tuple[str, str | None], datetime] = {}
    for rec in read_ledger(path):
        for model_id in {rec.requested_model_id, rec.invoked_model_id}:
            key = (model_id, rec.region)
            if key not in latest or rec.timestamp > latest[key]:
                latest[key] = rec.timestamp
    return [InUse(model, region, when) for (model, region), when in latest.items()]


def _from_cache(catalog: bl.Catalog) -> list[InUse]:
    """Models the catalog (and its cache file) says this machine called or had refused."""
    return [InUse(model, region, when) for model, region, when in catalog.used_models()]


def models_in_use(
    catalog: bl.Catalog, ledger_path: str | None, regions: Iterable[str] | None
) -> tuple[list[InUse], str]:
    """Models this machine has used, from ``ledger_path`` or else the catalog's cache file.

    ``regions`` (the ``--region`` options, when given) keeps only those regions; entries
    without a region are judged in each of them. Returns the entries and where they came from.
    """
    if ledger_path:
        found, origin = _from_ledger(ledger_path), f"ledger {ledger_path}"
    else:
        found, origin = _from_cache(catalog), f"cache {catalog.cache_path}"
    wanted = list(regions) if regions else None
    out: list[InUse] = []
    for item in found:
        if wanted is None:
            out.append(item)
        elif item.region is None:
            out.extend(InUse(item.model_id, region, item.last_used) for region in wanted)
        elif item.region in wanted:
            out.append(item)
    out.sort(key=lambda item: (item.model_id, item.region or ""))
    return out, origin
