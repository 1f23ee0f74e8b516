"""The lifecycle snapshot shipped inside the package (``data/lifecycle.json``).

The JSON holds every row of AWS's published "Model lifecycle" tables. Its shape::

    {
      "format": 1,
      "as_of": "2026-11-25",                  # the day the tables were read
      "sources": {"<key>": "<url or description>", ...},
      "rows": [
        {
          "name": "Claude 3.5 Sonnet v1",
          "provider": "Anthropic",
          "model_id": "anthropic.claude-3-5-sonnet-20240620-v1:0",
          "regions": ["us-east-1", "us-west-2"],   # [] where AWS said "all Regions"
          "legacy_at": "2025-08-25",            # dates are midnight UTC; null when not given
          "extended_access_at": "2025-12-01",
          "eol_at": "2026-03-01",
          "recommended": ["anthropic.claude-sonnet-4-20250514-v1:0"],
          "source": "<key into sources>",
          "as_of": "2026-11-25"
        }
      ]
    }
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, datetime, timezone
from functools import lru_cache
from importlib import resources
from typing import Any

from ._errors import CatalogError
from ._lifecycle import ModelLifecycle, Source

__all__ = ["Snapshot", "SnapshotRow", "load_snapshot", "parse_snapshot"]

SNAPSHOT_FORMAT = 1


@dataclass(frozen=True, slots=True)
class SnapshotRow:
    """One row of AWS's lifecycle tables: one model id over a group of regions."""

    name: str
    provider: str
    model_id: str
    regions: tuple[str, ...]
    legacy_at: datetime | None
    extended_access_at: datetime | None
    eol_at: datetime | None
    recommended: tuple[str, ...]
    source: str
    as_of: datetime | None

    def lifecycle(self, region: str | None) -> ModelLifecycle:
        """This row as a :class:`ModelLifecycle` for ``region``."""
        return ModelLifecycle(
            model_id=self.model_id,
            region=region,
            legacy_at=self.legacy_at,
            extended_access_at=self.extended_access_at,
            eol_at=self.eol_at,
            recommended=self.recommended,
            source=Source.BUNDLED,
            name=self.name,
            provider=self.provider,
            as_of=self.as_of,
        )


@dataclass(frozen=True, slots=True)
class Snapshot:
    """All rows of the bundled snapshot, indexed by model id."""

    as_of: datetime | None
    sources: dict[str, str]
    rows: tuple[SnapshotRow, ...]

    def rows_for(self, model_id: str) -> tuple[SnapshotRow, ...]:
        """Every row for ``model_id`` (one per region group)."""
        return tuple(row for row in self.rows if row.model_id == model_id)

    def index(self) -> dict[tuple[str, str | None], ModelLifecycle]:
        """``{(model_id, region): lifecycle}``; a row without regions is keyed by ``None``."""
        out: dict[tuple[str, str | None], ModelLifecycle] = {}
        for row in self.rows:
            if not row.regions:
                out[(row.model_id, None)] = row.lifecycle(None)
            for region in row.regions:
                out[(row.model_id, region)] = row.lifecycle(region)
        return out


def _date(value: Any, where: str) -> datetime | None:
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise CatalogError(f"{where}: expected a YYYY-MM-DD date string, got {value!r}")
    try:
        if len(value) == 10:
            day = date.fromisoformat(value)
            return datetime(day.year, day.month, day.day, tzinfo=timezone.utc)
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError as exc:
        raise CatalogError(f"{where}: {value!r} is not an ISO date ({exc})") from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)


def _strings(value: Any, where: str) -> tuple[str, ...]:
    if value is None:
        return ()
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise CatalogError(f"{where}: expected a list of strings, got {value!r}")
    return tuple(value)


def parse_snapshot(data: Any, *, origin: str = "snapshot") -> Snapshot:
    """Validate and parse snapshot JSON (already decoded). Raises :class:`CatalogError`."""
    if not isinstance(data, dict) or data.get("format") != SNAPSHOT_FORMAT:
        raise CatalogError(f"{origin}: not a format-{SNAPSHOT_FORMAT} lifecycle snapshot")
    raw_rows = data.get("rows")
    if not isinstance(raw_rows, list):
        raise CatalogError(f"{origin}: 'rows' must be a list")
    rows = []
    for number, raw in enumerate(raw_rows):
        where = f"{origin}: rows[{number}]"
        if not isinstance(raw, dict) or not isinstance(raw.get("model_id"), str):
            raise CatalogError(f"{where}: each row needs a string 'model_id'")
        rows.append(
            SnapshotRow(
                name=str(raw.get("name") or raw["model_id"]),
                provider=str(raw.get("provider") or ""),
                model_id=raw["model_id"],
                regions=_strings(raw.get("regions"), f"{where}.regions"),
                legacy_at=_date(raw.get("legacy_at"), f"{where}.legacy_at"),
                extended_access_at=_date(
                    raw.get("extended_access_at"), f"{where}.extended_access_at"
                ),
                eol_at=_date(raw.get("eol_at"), f"{where}.eol_at"),
                recommended=_strings(raw.get("recommended"), f"{where}.recommended"),
                source=str(raw.get("source") or ""),
                as_of=_date(raw.get("as_of") or data.get("as_of"), f"{where}.as_of"),
            )
        )
    sources = data.get("sources") or {}
    if not isinstance(sources, dict):
        raise CatalogError(f"{origin}: 'sources' must be an object")
    return Snapshot(
        as_of=_date(data.get("as_of"), f"{origin}: as_of"),
        sources={str(k): str(v) for k, v in sources.items()},
        rows=tuple(rows),
    )


@lru_cache(maxsize=1)
def load_snapshot() -> Snapshot:
    """The snapshot bundled with this version of the package (parsed once per process)."""
    text = resources.files("bedrock_lifecycle").joinpath("data/lifecycle.json").read_text("utf-8")
    return parse_snapshot(json.loads(text), origin="bedrock_lifecycle/data/lifecycle.json")
