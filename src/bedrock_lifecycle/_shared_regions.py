"""The fleet's shared snapshot as one catalog holds it: where it is read from, its last good copy
of each region, when it is due to be read again, and its streak of failed reads. Part of the
catalog's state, kept apart from the catalog's own control-plane copies: the catalog answers
from the newer of the two by fetch time, under its one lock.

The read itself is a step of the catalog's region refresh, run through the catalog's single
flight (key ``("shared",)``): the catalog checks :meth:`SharedRegions.is_due`, calls
:meth:`SharedRegions.fetch` without its lock (the I/O), applies the outcome with
:meth:`SharedRegions.settle` under it (bumping its ``generation`` when that says regions
changed), and has :meth:`SharedRegions.report` say it, again without the lock.
"""

from __future__ import annotations

import contextlib
import logging
import os
import warnings
from collections.abc import Callable, Mapping
from datetime import timedelta
from typing import TYPE_CHECKING, Any, NamedTuple

from ._cache_file import RegionData
from ._clock import seconds_from_env
from ._errors import ConfigurationError, LifecycleDataWarning

if TYPE_CHECKING:  # loaded when a source is configured: most processes have none
    from ._shared_source import SharedSource, SourceStats

__all__ = [
    "DEFAULT_SOURCE_MAX_AGE",
    "SOURCE_ENV",
    "SOURCE_MAX_AGE_ENV",
    "Fetched",
    "Settled",
    "SharedRegions",
    "SharedSourceSetting",
    "max_age_from_env",
    "source_from_env",
]

# The snapshot's events are the catalog's (a catalog read its shared snapshot, or could not):
# they keep the catalog's logger, as they had before this part was split out of it.
logger = logging.getLogger("bedrock_lifecycle._catalog")

SOURCE_ENV = "BEDROCK_LIFECYCLE_SOURCE"
SOURCE_MAX_AGE_ENV = "BEDROCK_LIFECYCLE_SOURCE_MAX_AGE"
DEFAULT_SOURCE_MAX_AGE = timedelta(days=1)
"""How old a shared snapshot's data for a region may be before a process asks the control plane
itself: four missed publications at the example's six-hourly schedule. AWS announces lifecycle
dates months ahead, and dates already known keep working (states are derived locally), so a
day-old copy misses nothing that matters yet."""

SharedSourceSetting = tuple[str, str | None] | None
"""``(location, "environment" or None)``, or ``None`` for no shared source."""


def source_from_env(explicit: str | os.PathLike[str] | bool | None) -> SharedSourceSetting:
    """The shared source's location: the argument, else ``$BEDROCK_LIFECYCLE_SOURCE``.

    ``False`` or ``""`` turns it off whatever the environment says; ``None`` reads the
    environment (unset or empty: off).
    """
    if explicit is None:
        raw = os.environ.get(SOURCE_ENV, "").strip()
        return (raw, "environment") if raw else None
    if explicit is False or explicit == "":
        return None
    if explicit is True or not isinstance(explicit, (str, os.PathLike)):
        raise ConfigurationError(
            f"must be an s3://bucket/key location, a path, False or None, not {explicit!r}",
            key="source",
        )
    return os.fspath(explicit), None


def max_age_from_env(explicit: timedelta | None) -> timedelta:
    """``source_max_age``: the argument (already checked to be a timedelta, not negative), else
    ``$BEDROCK_LIFECYCLE_SOURCE_MAX_AGE`` (seconds), else :data:`DEFAULT_SOURCE_MAX_AGE`."""
    if explicit is None:
        seconds = seconds_from_env(SOURCE_MAX_AGE_ENV)
        return DEFAULT_SOURCE_MAX_AGE if seconds is None else timedelta(seconds=seconds)
    if explicit <= timedelta(0):
        raise ConfigurationError("must be positive", key="source_max_age")
    return explicit


class Fetched(NamedTuple):
    """What one read of the source gave (see :meth:`SharedRegions.fetch`). (Named tuples, not
    dataclasses, here: every process imports this module, and they are cheaper to define.)"""

    read: bool
    """Whether the source answered (new or unchanged), ending a streak of failed reads."""
    regions: Mapping[str, RegionData] | None = None
    """A new valid snapshot's regions; ``None`` when unchanged, failed or rejected."""
    failed: str | None = None
    """An outage's reason (unreachable, denied, missing, a broken client)."""
    rejected: str | None = None
    """Why the object was ignored (corrupt, foreign, too large)."""


class Settled(NamedTuple):
    """What :meth:`SharedRegions.settle` did, for :meth:`SharedRegions.report` to say."""

    fetched: Fetched
    changed: int = 0
    """Regions the new snapshot made newer here: the catalog's answers may differ when > 0."""
    ended_streak: int = 0
    """Failed reads in a row that this read ended (0: none)."""
    failures: int = 0
    """Failed reads in a row, this one included (an outage only)."""
    retry_in: float = 0.0
    """Seconds until the next read after an outage."""
    held: bool = False
    """Whether a last good copy of some region is held (an outage only)."""


class SharedRegions:
    """The shared snapshot's part of the catalog. Methods are called with the catalog's lock
    held, except :meth:`fetch` and :meth:`report` (I/O and logging), which the catalog calls
    without it; times are the catalog's clock in POSIX seconds.

    The regions are kept without a source too: a publisher seeds them with the snapshot it is
    about to replace (:meth:`seed`).
    """

    __slots__ = ("backoff", "describe", "due", "failures", "max_age", "regions", "source")

    def __init__(
        self,
        source: SharedSource | None,
        max_age: float,
        *,
        backoff: Callable[[int], float],
        describe: Callable[[BaseException], str],
    ) -> None:
        self.source = source
        """Where the snapshot is read from; ``None`` when there is no shared source."""
        self.max_age = max_age
        """How old (seconds) a region's data may be before the control plane is asked."""
        self.backoff = backoff
        """Seconds before the next read after so many failed ones in a row."""
        self.describe = describe
        """A log-safe description of an unexpected failure to read."""
        self.regions: dict[str, RegionData] = {}
        """The last good copy of each region."""
        self.due = 0.0
        """When the source may be read again."""
        self.failures = 0
        """Failed reads in a row."""

    @classmethod
    def configure(
        cls,
        source: str | os.PathLike[str] | bool | None,
        max_age: timedelta | None,
        *,
        session: Any,
        backoff: Callable[[int], float],
        describe: Callable[[BaseException], str],
    ) -> SharedRegions:
        """From the catalog's ``source`` and ``source_max_age`` arguments (``max_age`` already
        a timedelta, or ``None``) and the environment; raises :class:`ConfigurationError` naming
        the argument or the variable at fault."""
        seconds = max_age_from_env(max_age).total_seconds()
        shared: SharedSource | None = None
        setting = source_from_env(source)
        if setting is not None:
            location, origin = setting
            from ._shared_source import SharedSource

            try:
                # Parses the location only: no client, no request until a lookup needs a region.
                shared = SharedSource(location, session=session)
            except ConfigurationError as exc:
                key = SOURCE_ENV if origin else "source"
                raise ConfigurationError(str(exc), key=key, source=origin) from None
        return cls(shared, seconds, backoff=backoff, describe=describe)

    @property
    def location(self) -> str | None:
        """The source's location as given, or ``None`` when there is none."""
        return self.source.location if self.source is not None else None

    def stats(self) -> SourceStats | None:
        """The source's reads so far, or ``None`` when there is none."""
        return self.source.stats() if self.source is not None else None

    # -- the regions ---------------------------------------------------------------------------

    def seed(self, regions: Mapping[str, RegionData]) -> None:
        """Start from a previously published snapshot's regions (the catalog's answers change)."""
        self.regions.update(regions)

    def holds(self, region: str) -> bool:
        return region in self.regions

    def newer(self, region: str, own: RegionData | None) -> RegionData | None:
        """The newer by fetch time of the catalog's ``own`` copy and this one (``own`` on a
        tie)."""
        shared = self.regions.get(region)
        if shared is None or (own is not None and own.fetched_at >= shared.fetched_at):
            return own
        return shared

    def answers_until(self, region: str, now: float) -> float | None:
        """Until when this copy answers for ``region``: the next read or the data growing older
        than :attr:`max_age`, whichever comes first; ``None`` when it does not answer (no data
        for the region, or too old already)."""
        copy = self.regions.get(region)
        if copy is None:
            return None
        too_old_at = copy.fetched_at.timestamp() + self.max_age
        if now >= too_old_at:
            return None
        return min(self.due, too_old_at)

    # -- reading -------------------------------------------------------------------------------

    def is_due(self, now: float) -> bool:
        """Whether the source is to be read at ``now`` (not within the TTL of the last read, or
        after a failure, within the backoff)."""
        return self.source is not None and now >= self.due

    def fetch(self) -> Fetched:
        """One conditional read of the source and, when it changed, its decoding (lock-free:
        called without the catalog's lock). Never raises."""
        source = self.source
        if source is None:
            return Fetched(read=False)
        from ._fleet_snapshot import decode_snapshot
        from ._shared_source import SourceTooLarge, SourceUnavailable

        try:
            body = source.read()
        except SourceTooLarge as exc:
            return Fetched(read=False, rejected=exc.reason)
        except SourceUnavailable as exc:
            return Fetched(read=False, failed=exc.reason)
        except Exception as exc:  # a broken session or client: an outage like any other
            return Fetched(read=False, failed=self.describe(exc))
        if body is None:
            return Fetched(read=True)  # unchanged since the last read (S3 answered 304)
        try:
            snapshot = decode_snapshot(body)
        except ValueError as exc:
            return Fetched(read=True, rejected=str(exc))
        return Fetched(read=True, regions=snapshot.regions)

    def settle(self, fetched: Fetched, now: float, ttl: float) -> Settled:
        """Apply a read's outcome at ``now``: the next read is due in ``ttl`` seconds, or after a
        failure in the backoff; new regions replace older copies. ``changed`` in the answer says
        whether the catalog's answers may differ from now on."""
        if fetched.failed is not None:
            # An outage (unreachable, denied, missing): keep the last good copy, retry later.
            self.failures += 1
            delay = self.backoff(self.failures)
            self.due = now + delay
            return Settled(fetched, failures=self.failures, retry_in=delay, held=bool(self.regions))
        # Read (changed or not), or rejected: left alone for a TTL either way. A rejected
        # object stays rejected until it changes: the source remembers its version, so re-reads
        # answer "unchanged".
        self.due = now + ttl
        ended = self.failures if fetched.read else 0
        self.failures = 0
        changed = 0
        for region, data in (fetched.regions or {}).items():
            mine = self.regions.get(region)
            if mine is None or data.fetched_at > mine.fetched_at:
                self.regions[region] = data
                changed += 1
        return Settled(fetched, changed=changed, ended_streak=ended)

    def report(self, settled: Settled) -> None:
        """Say what a read did (lock-free): an outage's first failure logs a WARNING, later ones
        DEBUG; the read that ends a streak INFO; a rejected object a WARNING and one
        :class:`LifecycleDataWarning`; a new snapshot DEBUG."""
        fetched = settled.fetched
        location = self.location
        if fetched.failed is not None:
            extra = {
                "bedrock_lifecycle.source": location,
                "bedrock_lifecycle.error": fetched.failed,
                "bedrock_lifecycle.failures": settled.failures,
                "bedrock_lifecycle.retry_in_s": settled.retry_in,
            }
            if settled.failures == 1:
                logger.warning(
                    "bedrock_lifecycle.snapshot_failed: cannot read the shared lifecycle "
                    "snapshot %s (%s); using %s and retrying in the background",
                    location,
                    fetched.failed,
                    "its last good copy" if settled.held else "the control plane",
                    extra=extra,
                )
            else:
                logger.debug("bedrock_lifecycle.snapshot_failed_again", extra=extra)
            return
        if settled.ended_streak:
            logger.info(
                "bedrock_lifecycle.snapshot_recovered",
                extra={"bedrock_lifecycle.source": location},
            )
        if fetched.rejected is not None:
            reason = fetched.rejected
            logger.warning(
                "bedrock_lifecycle.snapshot_ignored: %s: %s",
                location,
                reason,
                extra={"bedrock_lifecycle.source": location, "bedrock_lifecycle.reason": reason},
            )
            # Said on the thread that read the snapshot: usually a background refresh, which a
            # lookup with no data yet waits for (up to max_wait). Where warnings are errors
            # (-W error), raising would end that refresh, and the catalog must carry on: the log
            # line above has said it. Attributed to the catalog's read, which calls this.
            with contextlib.suppress(LifecycleDataWarning):
                warnings.warn(
                    f"ignoring the shared lifecycle snapshot {location!r}: {reason}",
                    LifecycleDataWarning,
                    stacklevel=2,
                )
            return
        if fetched.regions is not None:
            logger.debug(
                "bedrock_lifecycle.snapshot_read",
                extra={
                    "bedrock_lifecycle.source": location,
                    "bedrock_lifecycle.regions": len(fetched.regions),
                    "bedrock_lifecycle.changed": settled.changed,
                },
            )
