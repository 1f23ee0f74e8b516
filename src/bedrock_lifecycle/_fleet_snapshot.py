"""The fleet snapshot's format: every region's lifecycle data in one JSON object.

One process publishes it (:func:`bedrock_lifecycle.publish_snapshot`, ``bedrock-lifecycle
refresh --all-regions --to ...``) and every process of a fleet reads it
(``Catalog(source=...)``) instead of calling ``ListFoundationModels`` itself. It is data only:
the regions use the cache file's encoding (:func:`~._cache_file.encode_regions`), and nothing
else goes in. Shape::

    {"kind": "bedrock-lifecycle-snapshot", "format": 1,
     "as_of": "<when it was published>", "written_by": "bedrock-lifecycle 0.1.0",
     "regions_covered": ["us-east-1", ...],
     "regions_failed": {"ap-east-2": "UnrecognizedClientException"},
     "regions": {"us-east-1": {"endpoint": null, "fetched_at": "...", "models": {...}}}}

A reader validates all of it before using any of it: a foreign or corrupt object is rejected as
a whole (``ValueError`` naming the first problem).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from ._cache_file import RegionData, decode_regions, encode_regions
from ._clock import as_utc
from ._lifecycle import Source

__all__ = [
    "SNAPSHOT_FORMAT",
    "SNAPSHOT_KIND",
    "FleetSnapshot",
    "decode_snapshot",
    "encode_snapshot",
]

SNAPSHOT_KIND = "bedrock-lifecycle-snapshot"
SNAPSHOT_FORMAT = 1

#: AWS region names as botocore lists them (``us-east-1``, ``us-gov-west-1``, ``eu-isoe-west-1``).
_REGION = re.compile(r"^[a-z]{2,4}(-[a-z0-9]+)+-\d{1,2}$")
#: Longer than any model id or ARN Bedrock accepts (2048 for ARNs): room, but a bound.
_MAX_ID = 2048
_TOP_LEVEL = frozenset(
    {"kind", "format", "as_of", "written_by", "regions_covered", "regions_failed", "regions"}
)


@dataclass(frozen=True, slots=True)
class FleetSnapshot:
    """A decoded snapshot: when it was published and each region's data (entries tagged
    :attr:`Source.SHARED`)."""

    as_of: datetime
    regions: dict[str, RegionData]
    failed: dict[str, str] = field(default_factory=dict)


def encode_snapshot(
    regions: Mapping[str, RegionData],
    as_of: datetime,
    *,
    failed: Mapping[str, str] | None = None,
    written_by: str = "",
) -> bytes:
    """The snapshot as compact, key-sorted UTF-8 JSON. ``endpoint`` is never written: the
    publisher's endpoint (a VPC endpoint, a proxy) means nothing to the readers."""
    clean = {
        region: RegionData(fetched_at=data.fetched_at, models=data.models, endpoint=None)
        for region, data in regions.items()
    }
    document = {
        "kind": SNAPSHOT_KIND,
        "format": SNAPSHOT_FORMAT,
        "as_of": as_utc(as_of).isoformat(),
        "written_by": written_by,
        "regions_covered": sorted(clean),
        "regions_failed": dict(sorted((failed or {}).items())),
        "regions": encode_regions(clean),
    }
    return json.dumps(document, separators=(",", ":"), sort_keys=True).encode("utf-8")


def decode_snapshot(body: bytes) -> FleetSnapshot:
    """Parse and validate a snapshot; ``ValueError`` with the reason when it is not one."""
    try:
        document = json.loads(body.decode("utf-8"))
    except UnicodeDecodeError:
        raise ValueError("not UTF-8") from None
    except json.JSONDecodeError as exc:
        raise ValueError(f"not JSON ({exc.msg} at line {exc.lineno} column {exc.colno})") from None
    if not isinstance(document, dict) or document.get("kind") != SNAPSHOT_KIND:
        kind = document.get("kind") if isinstance(document, dict) else None
        found = f"kind {kind!r}" if kind is not None else "no kind"
        raise ValueError(f"not a bedrock-lifecycle snapshot ({found})")
    if document.get("format") != SNAPSHOT_FORMAT:
        raise ValueError(f"unsupported snapshot format {document.get('format')!r}")
    unknown = sorted(set(document) - _TOP_LEVEL)
    if unknown:
        raise ValueError(f"unknown key {unknown[0]!r}")
    as_of = _time(document.get("as_of"), "as_of")
    try:
        regions = decode_regions(document.get("regions"), Source.SHARED)
    except (TypeError, AttributeError) as exc:
        raise ValueError(f"malformed regions ({exc})") from None
    for region, data in regions.items():
        if not isinstance(region, str) or not _REGION.match(region):
            raise ValueError(f"{region!r} is not a region name")
        for model_id in data.models:
            if not model_id or len(model_id) > _MAX_ID or any(c.isspace() for c in model_id):
                raise ValueError(f"region {region!r}: {model_id[:80]!r} is not a model id")
        if data.fetched_at > as_of:
            raise ValueError(f"region {region!r} was fetched after the snapshot's as_of")
    covered = document.get("regions_covered")
    if not isinstance(covered, list) or sorted(covered) != sorted(regions):
        raise ValueError("regions_covered does not list the regions it holds")
    failed = document.get("regions_failed") or {}
    if not isinstance(failed, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in failed.items()
    ):
        raise ValueError("regions_failed is not an object of region names to error codes")
    return FleetSnapshot(as_of=as_of, regions=regions, failed=dict(failed))


def _time(value: Any, key: str) -> datetime:
    if not isinstance(value, str):
        raise ValueError(f"{key} is not an ISO timestamp")
    try:
        return as_utc(datetime.fromisoformat(value))
    except ValueError:
        raise ValueError(f"{key} is not an ISO timestamp") from None
