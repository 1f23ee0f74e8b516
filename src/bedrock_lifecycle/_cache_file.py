"""The persisted lifecycle cache: one JSON file, written atomically and owner-only.

It lets a fleet of short-lived processes start warm without calling ListFoundationModels on every
cold start. It never holds prompts, responses or credentials: only lifecycle dates, which ids
resolved to which base model, lifecycle errors Bedrock answered with, and when each Legacy model
was last called (for the idle guard).

Shape::

    {"format": 1, "kind": "bedrock-lifecycle-cache", "written_at": "...",
     "regions": {"us-east-1": {"endpoint": null, "fetched_at": "...", "models": {"<id>": {...}}}},
     "observed": {"<id>|<region>": {"kind": "eol" | "idle", "at": "..."}},
     "resolved": {"<arn>": "<base id>"},
     "last_used": {"<id>|<region>": "..."}}
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import sys
import tempfile
import warnings
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from ._clock import as_utc
from ._errors import LifecycleDataWarning
from ._lifecycle import ModelLifecycle, Source

__all__ = [
    "CacheData",
    "RegionData",
    "decode_regions",
    "default_cache_path",
    "encode_regions",
    "read_cache",
    "write_cache",
    "write_private",
]

logger = logging.getLogger(__name__)

CACHE_FORMAT = 1
CACHE_KIND = "bedrock-lifecycle-cache"
CACHE_DIR_ENV = "BEDROCK_LIFECYCLE_CACHE_DIR"


def default_cache_path() -> Path:
    """``$BEDROCK_LIFECYCLE_CACHE_DIR/lifecycle.json``, else the user's cache directory.

    Linux and other Unix: ``$XDG_CACHE_HOME`` or ``~/.cache``; macOS: ``~/Library/Caches``;
    Windows: ``%LOCALAPPDATA%``; each with a ``bedrock-lifecycle`` folder.
    """
    explicit = os.environ.get(CACHE_DIR_ENV)
    if explicit:
        return Path(explicit) / "lifecycle.json"
    if sys.platform == "win32":
        base = Path(os.environ.get("LOCALAPPDATA") or Path.home() / "AppData" / "Local")
    elif sys.platform == "darwin":
        base = Path.home() / "Library" / "Caches"
    else:
        xdg = os.environ.get("XDG_CACHE_HOME")
        base = Path(xdg) if xdg and os.path.isabs(xdg) else Path.home() / ".cache"
    return base / "bedrock-lifecycle" / "lifecycle.json"


@dataclass(slots=True)
class RegionData:
    """Lifecycle entries for one region as last fetched from the control plane."""

    fetched_at: datetime
    models: dict[str, ModelLifecycle]
    endpoint: str | None = None


@dataclass(slots=True)
class CacheData:
    """Everything the cache file holds, in memory."""

    regions: dict[str, RegionData] = field(default_factory=dict)
    observed: dict[tuple[str, str], tuple[str, datetime]] = field(default_factory=dict)
    resolved: dict[str, str] = field(default_factory=dict)
    last_used: dict[tuple[str, str], datetime] = field(default_factory=dict)

    def merge_from(self, other: CacheData) -> None:
        """Fold in another copy (e.g. what another process wrote), keeping the newest facts."""
        for region, data in other.regions.items():
            mine = self.regions.get(region)
            if mine is None or data.fetched_at > mine.fetched_at:
                self.regions[region] = data
        for key, value in other.observed.items():
            self.observed.setdefault(key, value)
        for arn, base in other.resolved.items():
            self.resolved.setdefault(arn, base)
        for key, when in other.last_used.items():
            if key not in self.last_used or when > self.last_used[key]:
                self.last_used[key] = when


def _iso(value: datetime | None) -> str | None:
    return None if value is None else as_utc(value).isoformat()


def _parse_time(value: Any) -> datetime | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise ValueError(f"expected an ISO timestamp, got {type(value).__name__}")
    return as_utc(datetime.fromisoformat(value))


def _entry_to_json(entry: ModelLifecycle) -> dict[str, Any]:
    return {
        "legacy_at": _iso(entry.legacy_at),
        "extended_access_at": _iso(entry.extended_access_at),
        "eol_at": _iso(entry.eol_at),
        "status": entry.status,
        "recommended": list(entry.recommended),
        "name": entry.name,
        "provider": entry.provider,
    }


def _entry_from_json(
    model_id: str, region: str, raw: Any, fetched_at: datetime, source: Source
) -> ModelLifecycle:
    if not isinstance(raw, dict):
        raise ValueError(f"model {model_id!r} is not an object")
    recommended = raw.get("recommended") or []
    if not isinstance(recommended, list) or not all(isinstance(r, str) for r in recommended):
        raise ValueError(f"model {model_id!r}: recommended must be a list of strings")
    status = raw.get("status")
    if status is not None and status not in ("ACTIVE", "LEGACY"):
        raise ValueError(f"model {model_id!r}: unknown status {status!r}")
    return ModelLifecycle(
        model_id=model_id,
        region=region,
        legacy_at=_parse_time(raw.get("legacy_at")),
        extended_access_at=_parse_time(raw.get("extended_access_at")),
        eol_at=_parse_time(raw.get("eol_at")),
        recommended=tuple(recommended),
        source=source,
        status=status,
        name=raw.get("name") if isinstance(raw.get("name"), str) else None,
        provider=raw.get("provider") if isinstance(raw.get("provider"), str) else None,
        as_of=fetched_at,
    )


def _split_key(key: str) -> tuple[str, str]:
    model_id, sep, region = key.rpartition("|")
    if not sep or not model_id or not region:
        raise ValueError(f"bad key {key!r}")
    return model_id, region


def encode_regions(regions: dict[str, RegionData]) -> dict[str, Any]:
    """Per-region lifecycle data as JSON-ready dicts (the cache file's and the fleet
    snapshot's ``regions`` object): fetch time, endpoint and, per model, dates, status,
    recommended replacements, name and provider. Nothing else."""
    return {
        region: {
            "endpoint": data.endpoint,
            "fetched_at": _iso(data.fetched_at),
            "models": {mid: _entry_to_json(entry) for mid, entry in data.models.items()},
        }
        for region, data in regions.items()
    }


def decode_regions(raw_regions: Any, source: Source) -> dict[str, RegionData]:
    """The inverse of :func:`encode_regions`; entries are tagged ``source``.

    Raises ``ValueError`` (or ``TypeError`` / ``AttributeError``) naming the first malformed part.
    """
    if not isinstance(raw_regions, dict):
        raise ValueError("regions is not an object")
    out: dict[str, RegionData] = {}
    for region, raw in raw_regions.items():
        if not isinstance(raw, dict):
            raise ValueError(f"region {region!r} is not an object")
        fetched_at = _parse_time(raw.get("fetched_at"))
        if fetched_at is None:
            raise ValueError(f"region {region!r} has no fetched_at")
        raw_models = raw.get("models") or {}
        if not isinstance(raw_models, dict):
            raise ValueError(f"region {region!r}: models is not an object")
        models = {
            model_id: _entry_from_json(model_id, region, entry, fetched_at, source)
            for model_id, entry in raw_models.items()
        }
        endpoint = raw.get("endpoint")
        out[region] = RegionData(
            fetched_at=fetched_at,
            models=models,
            endpoint=endpoint if isinstance(endpoint, str) else None,
        )
    return out


def _decode(data: Any) -> CacheData:
    if not isinstance(data, dict) or data.get("kind") != CACHE_KIND:
        raise ValueError("not a bedrock-lifecycle cache file")
    if data.get("format") != CACHE_FORMAT:
        raise ValueError(f"unsupported cache format {data.get('format')!r}")
    out = CacheData(regions=decode_regions(data.get("regions") or {}, Source.CACHE))
    for key, raw in (data.get("observed") or {}).items():
        if not isinstance(raw, dict) or raw.get("kind") not in ("eol", "idle"):
            raise ValueError(f"observed entry {key!r} is malformed")
        at = _parse_time(raw.get("at"))
        if at is None:
            raise ValueError(f"observed entry {key!r} has no time")
        out.observed[_split_key(key)] = (raw["kind"], at)
    for arn, base in (data.get("resolved") or {}).items():
        if isinstance(arn, str) and isinstance(base, str):
            out.resolved[arn] = base
    for key, raw in (data.get("last_used") or {}).items():
        at = _parse_time(raw)
        if at is not None:
            out.last_used[_split_key(key)] = at
    return out


def _encode(cache: CacheData, written_at: datetime) -> dict[str, Any]:
    return {
        "format": CACHE_FORMAT,
        "kind": CACHE_KIND,
        "written_at": _iso(written_at),
        "regions": encode_regions(cache.regions),
        "observed": {
            f"{model_id}|{region}": {"kind": kind, "at": _iso(at)}
            for (model_id, region), (kind, at) in cache.observed.items()
        },
        "resolved": dict(cache.resolved),
        "last_used": {
            f"{model_id}|{region}": _iso(at) for (model_id, region), at in cache.last_used.items()
        },
    }


def read_cache(path: Path, *, warn: bool = True) -> CacheData | None:
    """Read the cache file; ``None`` when it is missing.

    A corrupt, foreign or unreadable file is ignored with one :class:`LifecycleDataWarning` (and a
    log line) naming the file and the reason; it never raises.
    """
    try:
        text = path.read_text("utf-8")
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError) as exc:
        _complain(path, f"cannot be read ({exc.__class__.__name__})", warn)
        return None
    try:
        return _decode(json.loads(text))
    except (ValueError, TypeError, AttributeError) as exc:
        _complain(path, str(exc) or exc.__class__.__name__, warn)
        return None


def _complain(path: Path, reason: str, warn: bool) -> None:
    message = f"ignoring lifecycle cache file {str(path)!r}: {reason}"
    logger.warning(
        "bedrock_lifecycle.cache_ignored",
        extra={"bedrock_lifecycle.path": str(path), "bedrock_lifecycle.reason": reason},
    )
    if warn:
        warnings.warn(message, LifecycleDataWarning, stacklevel=4)


def write_cache(path: Path, cache: CacheData, written_at: datetime) -> None:
    """Write the cache file atomically and owner-only (see :func:`write_private`).

    Raises ``OSError`` on failure; the old file is left intact.
    """
    payload = json.dumps(_encode(cache, written_at), separators=(",", ":"), sort_keys=True)
    write_private(path, payload.encode("utf-8"))


def write_private(path: Path, body: bytes) -> None:
    """Write atomically: an owner-only temp file in the same folder, fsync, then rename.

    The folder (and any missing parent) is created owner-only. Raises ``OSError`` on failure; the
    old file is left intact.
    """
    _make_private_dirs(path.parent)
    # mkstemp creates the file with mode 0600 and O_EXCL.
    fd, tmp = tempfile.mkstemp(prefix=".lifecycle-", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(body)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def _make_private_dirs(folder: Path) -> None:
    """``mkdir -p`` with mode 0700 for every folder it creates (``parents=True`` ignores mode)."""
    missing: list[Path] = []
    while not folder.is_dir():
        missing.append(folder)
        if folder.parent == folder:
            break
        folder = folder.parent
    for directory in reversed(missing):
        with contextlib.suppress(FileExistsError):
            directory.mkdir(mode=0o700)
