"""The lifecycle data shipped in the package: ``data/lifecycle.json`` and ``data/catalogue.json``.

``lifecycle.json`` holds every row of AWS's published "Model lifecycle" tables (Legacy and end of
life). ``catalogue.json`` holds the models AWS lists as offered (the model cards and the Regional
availability page), with what two public copies agree on. Together they answer offline: a model
with a lifecycle row has its dates; a listed model without one is Active as of the catalogue's
date; anything else is unknown.

``lifecycle.json``'s shape::

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

``catalogue.json``'s shape (every field but ``model_id`` and ``source`` may be left out, meaning
"not confirmed by two copies")::

    {
      "format": 1,
      "kind": "bedrock-lifecycle-catalogue",
      "as_of": "2026-09-01",
      "sources": {"<key>": "<url and which copies>", ...},
      "models": [
        {
          "model_id": "amazon.nova-pro-v1:0",
          "name": "Nova Pro",
          "provider": "Amazon",
          "regions": ["us-east-1", ...],        # where it can be called, in any form
          "inference": "on_demand",            # or "profile_only": system profiles only
          "on_demand_regions": ["us-east-1", ...],
          "profiles": ["eu", "us"],            # geo prefixes of its system inference profiles
          "streams": true,
          "launched_at": "2024-12-05",
          "eol_not_before": "2025-12-04",      # the card's "EOL no sooner than"
          "legacy_period_days": 45,            # the card's Legacy period (180 or 45)
          "status": "LEGACY",                  # what the card says, when not Active
          "legacy_at": null, "eol_at": "2027-03-30",
          "source": "<key into sources>",
          "as_of": "2026-09-01"
        }
      ]
    }
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timezone
from functools import lru_cache
from importlib import resources
from typing import Any

from ._errors import CatalogError
from ._lifecycle import ModelLifecycle, Source

__all__ = [
    "CatalogueEntry",
    "Snapshot",
    "SnapshotRow",
    "catalogue_entry",
    "load_catalogue",
    "load_snapshot",
    "parse_catalogue",
    "parse_snapshot",
]

SNAPSHOT_FORMAT = 1
CATALOGUE_FORMAT = 1
CATALOGUE_KIND = "bedrock-lifecycle-catalogue"
INFERENCE_TYPES = ("on_demand", "profile_only")
_LIFECYCLE_FILE = "data/lifecycle.json"
_CATALOGUE_FILE = "data/catalogue.json"


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
class CatalogueEntry:
    """One model AWS lists as offered, with the facts two public copies agree on.

    ``None`` (or an empty tuple) means "not confirmed", never "no". ``inference`` is
    ``"on_demand"`` (callable by its base id in ``on_demand_regions``) or ``"profile_only"``
    (callable only through the system inference profiles in ``profiles``).
    """

    model_id: str
    name: str
    provider: str
    regions: tuple[str, ...] = ()
    inference: str | None = None
    on_demand_regions: tuple[str, ...] = ()
    profiles: tuple[str, ...] = ()
    streams: bool | None = None
    launched_at: datetime | None = None
    eol_not_before: datetime | None = None
    legacy_period_days: int | None = None
    status: str | None = None
    legacy_at: datetime | None = None
    eol_at: datetime | None = None
    source: str = ""
    as_of: datetime | None = None

    def lifecycle(self, region: str | None) -> ModelLifecycle:
        """This entry as a :class:`ModelLifecycle` for ``region`` (Active unless dated)."""
        return ModelLifecycle(
            model_id=self.model_id,
            region=region,
            legacy_at=self.legacy_at,
            eol_at=self.eol_at,
            source=Source.BUNDLED,
            status=self.status,
            name=self.name,
            provider=self.provider,
            as_of=self.as_of,
        )


@dataclass(frozen=True, slots=True)
class Snapshot:
    """All rows of the bundled snapshot, indexed by model id.

    ``catalogue`` holds the listed models (``data/catalogue.json``); a lifecycle row wins over a
    catalogue entry for the same model and region.
    """

    as_of: datetime | None
    sources: dict[str, str]
    rows: tuple[SnapshotRow, ...]
    catalogue: tuple[CatalogueEntry, ...] = field(default=())

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
        dated = {row.model_id for row in self.rows if not row.regions}
        for entry in self.catalogue:
            if entry.model_id in dated:
                continue  # a table row for every region already says where it stands
            regions: tuple[str | None, ...] = entry.regions or (None,)
            for where in regions:
                out.setdefault((entry.model_id, where), entry.lifecycle(where))
        return out

    def catalogue_entry(self, model_id: str) -> CatalogueEntry | None:
        """The catalogue's facts about base model ``model_id``, or ``None``."""
        return next((entry for entry in self.catalogue if entry.model_id == model_id), None)


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


def _region_list(value: Any, where: str) -> tuple[str, ...]:
    regions = _strings(value, where)
    for region in regions:
        if not _REGION_RE.fullmatch(region):
            raise CatalogError(f"{where}: {region!r} is not a region code")
    return regions


_REGION_RE = re.compile(r"[a-z]{2}(?:-gov)?-[a-z]+-\d")
_ENTRY_KEYS = frozenset(
    {
        "model_id",
        "name",
        "provider",
        "regions",
        "inference",
        "on_demand_regions",
        "profiles",
        "streams",
        "launched_at",
        "eol_not_before",
        "legacy_period_days",
        "status",
        "legacy_at",
        "eol_at",
        "source",
        "as_of",
    }
)


def _catalogue_entry(
    raw: Any, where: str, default_as_of: Any, sources: dict[str, str]
) -> CatalogueEntry:
    if not isinstance(raw, dict) or not isinstance(raw.get("model_id"), str):
        raise CatalogError(f"{where}: each model needs a string 'model_id'")
    unknown = sorted(set(raw) - _ENTRY_KEYS)
    if unknown:
        raise CatalogError(f"{where}: unknown key {unknown[0]!r}")
    model_id = raw["model_id"]
    if not _MODEL_ID_RE.fullmatch(model_id):
        raise CatalogError(f"{where}: {model_id!r} is not a base model id")
    source = raw.get("source")
    if not isinstance(source, str) or source not in sources:
        raise CatalogError(f"{where}: 'source' must name one of the file's sources, got {source!r}")
    inference = raw.get("inference")
    if inference is not None and inference not in INFERENCE_TYPES:
        raise CatalogError(
            f"{where}.inference: expected one of {', '.join(INFERENCE_TYPES)}, got {inference!r}"
        )
    streams = raw.get("streams")
    if streams is not None and not isinstance(streams, bool):
        raise CatalogError(f"{where}.streams: expected true, false or null, got {streams!r}")
    period = raw.get("legacy_period_days")
    if period is not None and (
        isinstance(period, bool) or not isinstance(period, int) or period <= 0
    ):
        raise CatalogError(f"{where}.legacy_period_days: expected a positive number of days")
    status = raw.get("status")
    if status is not None and status not in ("ACTIVE", "LEGACY"):
        raise CatalogError(f"{where}.status: expected 'ACTIVE' or 'LEGACY', got {status!r}")
    entry = CatalogueEntry(
        model_id=model_id,
        name=str(raw.get("name") or model_id),
        provider=str(raw.get("provider") or ""),
        regions=_region_list(raw.get("regions"), f"{where}.regions"),
        inference=inference,
        on_demand_regions=_region_list(raw.get("on_demand_regions"), f"{where}.on_demand_regions"),
        profiles=_strings(raw.get("profiles"), f"{where}.profiles"),
        streams=streams,
        launched_at=_date(raw.get("launched_at"), f"{where}.launched_at"),
        eol_not_before=_date(raw.get("eol_not_before"), f"{where}.eol_not_before"),
        legacy_period_days=period,
        status=status,
        legacy_at=_date(raw.get("legacy_at"), f"{where}.legacy_at"),
        eol_at=_date(raw.get("eol_at"), f"{where}.eol_at"),
        source=source,
        as_of=_date(raw.get("as_of") or default_as_of, f"{where}.as_of"),
    )
    if entry.regions and not set(entry.on_demand_regions) <= set(entry.regions):
        raise CatalogError(f"{where}.on_demand_regions: a region not in 'regions'")
    if entry.inference == "profile_only" and entry.on_demand_regions:
        raise CatalogError(f"{where}: 'profile_only' with on-demand regions")
    if entry.legacy_at and entry.eol_at and entry.legacy_at > entry.eol_at:
        raise CatalogError(f"{where}: legacy_at is after eol_at")
    return entry


_MODEL_ID_RE = re.compile(r"[a-z0-9][a-z0-9-]*\.[a-z0-9][a-z0-9.-]*(?::[a-z0-9]+)*")


def parse_catalogue(data: Any, *, origin: str = "catalogue") -> tuple[CatalogueEntry, ...]:
    """Validate and parse catalogue JSON (already decoded). Raises :class:`CatalogError`.

    Every error names ``origin`` and the entry: ``catalogue.json: models[3].inference: ...``.
    """
    if (
        not isinstance(data, dict)
        or data.get("kind") != CATALOGUE_KIND
        or data.get("format") != CATALOGUE_FORMAT
    ):
        raise CatalogError(
            f"{origin}: not a format-{CATALOGUE_FORMAT} {CATALOGUE_KIND} file "
            f"(kind {data.get('kind') if isinstance(data, dict) else None!r})"
        )
    raw_sources = data.get("sources")
    if not isinstance(raw_sources, dict) or not raw_sources:
        raise CatalogError(f"{origin}: 'sources' must be a non-empty object")
    sources = {str(k): str(v) for k, v in raw_sources.items()}
    raw_models = data.get("models")
    if not isinstance(raw_models, list):
        raise CatalogError(f"{origin}: 'models' must be a list")
    _date(data.get("as_of"), f"{origin}: as_of")
    entries = []
    seen: set[str] = set()
    for number, raw in enumerate(raw_models):
        where = f"{origin}: models[{number}]"
        entry = _catalogue_entry(raw, where, data.get("as_of"), sources)
        if entry.model_id in seen:
            raise CatalogError(f"{where}: {entry.model_id} is listed twice")
        seen.add(entry.model_id)
        entries.append(entry)
    return tuple(entries)


def _read(name: str) -> Any:
    origin = f"bedrock_lifecycle/{name}"
    text = resources.files("bedrock_lifecycle").joinpath(name).read_text("utf-8")
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise CatalogError(f"{origin}: not valid JSON ({exc})") from None


@lru_cache(maxsize=1)
def load_catalogue() -> tuple[CatalogueEntry, ...]:
    """The catalogue of listed models bundled with the package (parsed once per process)."""
    return parse_catalogue(_read(_CATALOGUE_FILE), origin=f"bedrock_lifecycle/{_CATALOGUE_FILE}")


@lru_cache(maxsize=1)
def load_snapshot() -> Snapshot:
    """The lifecycle snapshot and catalogue bundled with this version (parsed once per process)."""
    snapshot = parse_snapshot(_read(_LIFECYCLE_FILE), origin=f"bedrock_lifecycle/{_LIFECYCLE_FILE}")
    return replace(snapshot, catalogue=load_catalogue())


def catalogue_entry(model_id: str) -> CatalogueEntry | None:
    """What the bundled catalogue knows about base model ``model_id``: regions, inference types,
    streaming, launch and "EOL no sooner than" dates. ``None`` for a model it does not list."""
    return load_snapshot().catalogue_entry(model_id)
