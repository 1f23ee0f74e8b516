"""User overrides of lifecycle data: a mapping in code, or a JSON or TOML file.

Accepted shape (the ``models`` wrapper is optional in code)::

    [models."anthropic.claude-3-haiku-20240307-v1:0"]
    legacy_at = 2026-01-01                     # TOML date, or "YYYY-MM-DD", or an ISO timestamp
    extended_access_at = "2026-04-01"
    eol_at = "2026-07-01"
    recommended = ["anthropic.claude-haiku-4-5-20251001-v1:0"]

    [models."anthropic.claude-3-haiku-20240307-v1:0".regions.eu-west-1]
    eol_at = "2026-09-01"                       # this region only

Model-wide values apply to every region; a region table overrides them for that region.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from datetime import date, datetime, timezone
from pathlib import Path
from typing import Any

from ._errors import ConfigurationError
from ._ids import base_model_id
from ._lifecycle import ModelLifecycle, Source

__all__ = ["Overrides", "load_overrides"]

_FIELDS = frozenset({"legacy_at", "extended_access_at", "eol_at", "status", "recommended", "name"})
_STATUSES = frozenset({"ACTIVE", "LEGACY"})

Overrides = dict[tuple[str, str | None], ModelLifecycle]
"""``{(base model id, region or None for every region): lifecycle}``."""


def _when(value: Any, key: str, source: str | None) -> datetime | None:
    if value is None:
        return None
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=timezone.utc)
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day, tzinfo=timezone.utc)
    if isinstance(value, str):
        try:
            if len(value) == 10:
                day = date.fromisoformat(value)
                return datetime(day.year, day.month, day.day, tzinfo=timezone.utc)
            parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            raise ConfigurationError(
                f"{value!r} is not a date (use YYYY-MM-DD)", key=key, source=source
            ) from None
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)
    raise ConfigurationError(f"expected a date, got {type(value).__name__}", key=key, source=source)


def _entry(
    model_id: str,
    region: str | None,
    values: Mapping[str, Any],
    path: str,
    source: str | None,
) -> ModelLifecycle:
    unknown = sorted(set(values) - _FIELDS)
    if unknown:
        raise ConfigurationError(
            f"unknown setting (expected one of {', '.join(sorted(_FIELDS))})",
            key=f"{path}.{unknown[0]}",
            source=source,
        )
    recommended = values.get("recommended") or ()
    if isinstance(recommended, str):
        recommended = (recommended,)
    if not isinstance(recommended, (list, tuple)) or not all(
        isinstance(item, str) for item in recommended
    ):
        raise ConfigurationError(
            "must be a list of model ids", key=f"{path}.recommended", source=source
        )
    status = values.get("status")
    if status is not None and (not isinstance(status, str) or status.upper() not in _STATUSES):
        raise ConfigurationError(
            "must be 'ACTIVE' or 'LEGACY' (end of life is set with eol_at)",
            key=f"{path}.status",
            source=source,
        )
    name = values.get("name")
    return ModelLifecycle(
        model_id=model_id,
        region=region,
        legacy_at=_when(values.get("legacy_at"), f"{path}.legacy_at", source),
        extended_access_at=_when(
            values.get("extended_access_at"), f"{path}.extended_access_at", source
        ),
        eol_at=_when(values.get("eol_at"), f"{path}.eol_at", source),
        recommended=tuple(recommended),
        source=Source.OVERRIDE,
        status=status,
        name=name if isinstance(name, str) else None,
    )


def _parse(data: Mapping[str, Any], source: str | None) -> Overrides:
    models: Mapping[str, Any] = data
    if "models" in data:
        models = data["models"]
        if not isinstance(models, Mapping):
            raise ConfigurationError("must be a table of model ids", key="models", source=source)
        extra = sorted(str(key) for key in data if key != "models")
        if extra:
            raise ConfigurationError(
                "unknown top-level key (put models under [models])", key=extra[0], source=source
            )
    out: Overrides = {}
    seen: dict[str, str] = {}
    for key, values in models.items():
        if not isinstance(key, str) or not key.strip():
            raise ConfigurationError("model ids must be non-empty strings", source=source)
        # Lifecycle belongs to the base model: a profile id or foundation-model ARN key
        # overrides the model behind it.
        model_id = base_model_id(key) or key
        if model_id in seen:
            raise ConfigurationError(
                f"names the same model as {seen[model_id]!r}; give each model one entry",
                key=key,
                source=source,
            )
        seen[model_id] = key
        if isinstance(values, ModelLifecycle):
            out[(model_id, values.region)] = values
            continue
        if not isinstance(values, Mapping):
            raise ConfigurationError("must be a table of settings", key=key, source=source)
        regions = values.get("regions") or {}
        if not isinstance(regions, Mapping):
            raise ConfigurationError(
                "must be a table of region names", key=f"{key}.regions", source=source
            )
        shared = {k: v for k, v in values.items() if k != "regions"}
        out[(model_id, None)] = _entry(model_id, None, shared, key, source)
        for region, regional in regions.items():
            if not isinstance(regional, Mapping):
                raise ConfigurationError(
                    "must be a table of settings",
                    key=f"{key}.regions.{region}",
                    source=source,
                )
            merged = {**shared, **regional}
            out[(model_id, str(region))] = _entry(
                model_id, str(region), merged, f"{key}.regions.{region}", source
            )
    return out


def load_overrides(
    value: Mapping[str, Any] | str | os.PathLike[str] | None,
) -> Overrides:
    """Parse overrides from a mapping or a ``.json`` / ``.toml`` file path.

    Raises :class:`ConfigurationError` naming the file, the key and the reason.
    """
    if value is None:
        return {}
    if isinstance(value, (str, os.PathLike)):
        from ._config_files import load_mapping_file

        path = Path(value)
        return _parse(load_mapping_file(path, what="lifecycle overrides"), str(path))
    if isinstance(value, Mapping):
        return _parse(value, None)
    raise ConfigurationError(
        f"overrides must be a mapping or a file path, not {type(value).__name__}",
        key="overrides",
    )
