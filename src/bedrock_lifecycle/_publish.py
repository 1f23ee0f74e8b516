"""Publishing a fleet snapshot: every Bedrock region's lifecycle data, fetched once, in one object.

:func:`publish_snapshot` is what ``bedrock-lifecycle refresh --all-regions --to ...`` and the
scheduled Lambda function of ``examples/fleet_snapshot/`` both call. Each region is fetched from
the control plane exactly as a catalog refreshes it (``ListFoundationModels``, plus
``GetFoundationModel`` for Legacy models listed without dates); the result is validated by the
same decoder the readers use and written with one ``PutObject`` (or an atomic, owner-only file
write).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from ._cache_file import RegionData
from ._catalog import Catalog, ClientFactory, RefreshResult
from ._clock import Clock, utc_now
from ._fleet_snapshot import FleetSnapshot, decode_snapshot, encode_snapshot
from ._shared_source import SharedSource, SourceUnavailable

__all__ = ["SnapshotReport", "bedrock_regions", "publish_snapshot"]

logger = logging.getLogger(__name__)

#: Regions fetched at once. Each region has its own control-plane quota; eight threads bring a
#: 33-region run down to the time of its slowest few regions.
_WORKERS = 8
#: What a missing object or file is called: the first publication, not a failure.
_MISSING = frozenset({"NoSuchKey", "No such file or directory", "FileNotFoundError", "HTTP 404"})


@dataclass(frozen=True, slots=True)
class SnapshotReport:
    """What :func:`publish_snapshot` did.

    ``regions`` has one :class:`RefreshResult` per region asked, in order; ``changes`` in each
    are against the snapshot found at the location before (none the first time). The snapshot
    is ``written`` when at least one region was fetched. A region that failed keeps the previous
    snapshot's copy (``carried``, with its own fetch time, so readers still judge its age), or
    is left out when there was none.
    """

    location: str
    as_of: datetime
    regions: tuple[RefreshResult, ...]
    written: bool
    size: int = 0
    """Bytes written."""
    previous_as_of: datetime | None = None
    """When the snapshot it replaced was published (``None``: there was none, or it was
    unreadable)."""
    carried: tuple[str, ...] = ()
    """Regions that failed this time and hold the previous snapshot's copy."""

    @property
    def covered(self) -> tuple[str, ...]:
        """The regions in the snapshot: fetched now, or carried from the previous one."""
        return tuple(r.region for r in self.regions if r.ok or r.region in self.carried)

    @property
    def failed(self) -> dict[str, str]:
        """Region -> error code, for the regions that failed (carried or left out)."""
        return {r.region: r.error or "failed" for r in self.regions if not r.ok}


def bedrock_regions(session: Any = None, partition: str = "aws") -> list[str]:
    """The regions botocore lists for the ``bedrock`` service in ``partition``.

    Read from botocore's bundled endpoint data: no network call.
    """
    if session is None:
        import boto3

        session = boto3.session.Session()
    return sorted(session.get_available_regions("bedrock", partition_name=partition))


def publish_snapshot(
    to: str | os.PathLike[str],
    *,
    regions: Iterable[str] | None = None,
    session: Any = None,
    client_factory: ClientFactory | None = None,
    endpoint_url: str | None = None,
    clock: Clock | None = None,
) -> SnapshotReport:
    """Fetch every region's lifecycle data from the control plane and publish it at ``to``.

    ``to`` is ``s3://bucket/key`` or a path. ``regions`` defaults to every Bedrock region
    botocore knows in the ``aws`` partition (:func:`bedrock_regions`); pass them for GovCloud or
    China. ``session`` (a boto3 Session) gives the S3 and ``bedrock`` clients, else boto3's
    default configuration; ``client_factory`` (region -> ``bedrock`` client) and
    ``endpoint_url`` are as for :class:`Catalog`.

    A region that fails (no access, not enabled, throttled past retries) is reported and left
    out. Nothing is written when every region failed (``written=False``), so a good snapshot is
    never replaced by an empty one. Errors writing the object (``botocore`` ``ClientError``,
    ``OSError``) are raised. Models the previous snapshot knew with an end-of-life date and
    that the control plane no longer lists are kept, as a catalog keeps them.
    """
    if session is None and client_factory is None:
        import boto3

        # One session for every region's client: its loader parses each service model once.
        session = boto3.session.Session()
    wanted = list(dict.fromkeys(regions)) if regions is not None else bedrock_regions(session)
    if not wanted:
        raise ValueError("no regions to publish")
    now = clock or utc_now
    target = SharedSource(to, session=session)
    previous = _previous(target)
    catalog = Catalog(
        source=False,
        persist=False,
        bundled=False,
        session=session,
        client_factory=client_factory,
        endpoint_url=endpoint_url,
        clock=clock,
        region_name=wanted[0],
        max_wait=0,
    )
    try:
        if previous is not None:
            catalog.seed_regions(previous.regions)
        with ThreadPoolExecutor(max_workers=min(_WORKERS, len(wanted))) as pool:
            results = tuple(pool.map(lambda region: catalog.refresh(region)[0], wanted))
        fetched: dict[str, RegionData] = {}
        for result in results:
            copy = catalog.fetched_region(result.region) if result.ok else None
            if copy is not None:
                fetched[result.region] = copy
        # A region that failed now (throttled, a blip) keeps the last published copy: readers
        # then go on using it until it is older than their source_max_age, instead of every
        # process asking the control plane for that region at once.
        kept = previous.regions if previous is not None else {}
        carried = tuple(r.region for r in results if not r.ok and r.region in kept)
    finally:
        catalog.close(timeout=5)
    as_of = now()
    previous_as_of = previous.as_of if previous is not None else None
    if not fetched:
        logger.warning(
            "bedrock_lifecycle.snapshot_publish_failed: every region failed; nothing written to %s",
            target.location,
            extra={"bedrock_lifecycle.source": target.location},
        )
        return SnapshotReport(target.location, as_of, results, False, 0, previous_as_of)
    failed = {r.region: r.error or "failed" for r in results if not r.ok}
    fetched.update((region, kept[region]) for region in carried)
    from . import __version__

    body = encode_snapshot(
        fetched, as_of, failed=failed, written_by=f"bedrock-lifecycle {__version__}"
    )
    decode_snapshot(body)  # what the readers will check, checked before anyone reads it
    target.write(body)
    logger.info(
        "bedrock_lifecycle.snapshot_published",
        extra={
            "bedrock_lifecycle.source": target.location,
            "bedrock_lifecycle.regions": len(fetched),
            "bedrock_lifecycle.failures": len(failed),
            "bedrock_lifecycle.size": len(body),
        },
    )
    return SnapshotReport(target.location, as_of, results, True, len(body), previous_as_of, carried)


def _previous(target: SharedSource) -> FleetSnapshot | None:
    """The snapshot at the location now, or ``None`` (missing, unreadable or not a snapshot:
    it is replaced either way)."""
    try:
        body = target.read()
    except SourceUnavailable as exc:
        if exc.reason not in _MISSING:
            logger.info(
                "bedrock_lifecycle.snapshot_previous_unreadable",
                extra={
                    "bedrock_lifecycle.source": target.location,
                    "bedrock_lifecycle.reason": exc.reason,
                },
            )
        return None
    if body is None:
        return None
    try:
        return decode_snapshot(body)
    except ValueError as exc:
        logger.info(
            "bedrock_lifecycle.snapshot_previous_unreadable",
            extra={
                "bedrock_lifecycle.source": target.location,
                "bedrock_lifecycle.reason": str(exc),
            },
        )
        return None
