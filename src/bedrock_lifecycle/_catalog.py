"""The lifecycle catalog: for any model id in any region, where that model stands.

Sources, highest precedence first:

1. user overrides (a mapping, or a JSON / TOML file);
2. lifecycle errors Bedrock answered with (observed, persisted);
3. control-plane data, one copy per region, the newest by fetch time of: the fleet's shared
   snapshot (``source=``, read with a conditional GET once per ``ttl``, see ``_fleet_snapshot``)
   and the process's own ``ListFoundationModels`` answer (once per region, ``GetFoundationModel``
   for Legacy models listed without dates), each held for ``ttl`` and kept as a last-good copy;
4. the persisted cache file (what an earlier process fetched; it fills the own copy's place);
5. the snapshot of AWS's published tables bundled with the package.

A higher source wins field by field: dates it does not give are filled from lower ones, except
that a live ``ACTIVE`` status is never turned Legacy by older data.

With a shared source, a region's refresh reads the snapshot first and calls the control plane
only when the snapshot cannot be read (and no last good copy is younger than
``source_max_age``), lacks the region, or holds data for it older than ``source_max_age``.

Refreshes run on a background thread, one per region at a time (single flight). A caller with
any data at all is answered at once from it (stale-while-revalidate); a caller with none waits at
most ``max_wait`` and then gets the bundled data. A refresh that fails never reaches the caller:
it is logged once, and retried later with exponential backoff and jitter.
"""

from __future__ import annotations

import atexit
import logging
import os
import threading
import time
import weakref
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta, timezone
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

from ._cache_file import CacheData, RegionData, default_cache_path, read_cache, write_cache
from ._clock import Clock, as_utc, duration, seconds_from_env, utc_now
from ._ids import ModelRef, parse_model_id
from ._lifecycle import ModelLifecycle, Source
from ._observations import Observations
from ._overrides import Overrides, load_overrides
from ._resolutions import Resolutions
from ._shared_regions import DEFAULT_SOURCE_MAX_AGE, SharedRegions
from ._shared_regions import SOURCE_ENV as SOURCE_ENV
from ._shared_regions import SOURCE_MAX_AGE_ENV as SOURCE_MAX_AGE_ENV
from ._single_flight import SingleFlight

if TYPE_CHECKING:
    from cachetools import TLRUCache

    from ._shared_source import SourceStats

__all__ = [
    "DEFAULT_SOURCE_MAX_AGE",
    "DEFAULT_TTL",
    "Catalog",
    "ModelChange",
    "RefreshResult",
    "Resolved",
    "default_catalog",
]

logger = logging.getLogger(__name__)

DEFAULT_TTL = timedelta(hours=6)
DEFAULT_MAX_WAIT = timedelta(seconds=2)
TTL_ENV = "BEDROCK_LIFECYCLE_TTL"
OFFLINE_ENV = "BEDROCK_LIFECYCLE_OFFLINE"


ClientFactory = Callable[[str], Any]
"""Builds a ``bedrock`` control-plane client for a region name."""


class Resolved(NamedTuple):
    """What :meth:`Catalog.resolve` answers."""

    entry: ModelLifecycle
    base_model_id: str | None
    withdrawn: str | None
    """``"eol"`` / ``"idle"`` when Bedrock refused the model here, else ``None``."""


@dataclass(frozen=True, slots=True)
class ModelChange:
    """One difference between two fetches of a region's lifecycle data."""

    model_id: str
    region: str
    change: str
    """``added``, ``removed``, ``state`` or ``dates``."""
    before: ModelLifecycle | None
    after: ModelLifecycle | None


@dataclass(frozen=True, slots=True)
class RefreshResult:
    """The outcome of :meth:`Catalog.refresh` for one region."""

    region: str
    ok: bool
    error: str | None = None
    models: int = 0
    changes: tuple[ModelChange, ...] = field(default=())


def _aware_now(clock: Clock) -> datetime:
    return as_utc(clock())


def _aware_ts(clock: Clock) -> float:
    return as_utc(clock()).timestamp()


def _env_flag(name: str) -> bool:
    return os.environ.get(name, "").strip().lower() in {"1", "true", "yes", "on"}


def _ttl_from_env(explicit: timedelta) -> timedelta:
    if explicit is not DEFAULT_TTL:
        return explicit
    seconds = seconds_from_env(TTL_ENV)
    return DEFAULT_TTL if seconds is None else timedelta(seconds=seconds)


def _is_custom_endpoint(url: str | None) -> bool:
    return bool(url) and not str(url).rstrip("/").endswith((".amazonaws.com", ".amazonaws.com.cn"))


class Catalog:
    """Lifecycle data for every model and region, from every source, cached.

    Thread-safe. Construct it once and share it: warnings are issued once per catalog, and each
    catalog holds its own cache. Nothing touches the network until a lookup needs a region that
    is not cached (and never with ``offline=True`` or ``BEDROCK_LIFECYCLE_OFFLINE=1``).

    ``control_client`` is used for its own region; clients for other regions come from
    ``client_factory(region)`` when given, else from ``session`` (default: a new boto3 session),
    pointed at the same custom endpoint as ``control_client`` if it has one. ``cache_path``
    defaults to the user cache directory (see :func:`default_cache_path`); ``persist=False`` keeps
    everything in memory.

    ``source`` is a fleet's shared snapshot (``s3://bucket/key`` or a path; default
    ``$BEDROCK_LIFECYCLE_SOURCE``; ``False`` turns it off): read before the control plane, once
    per ``ttl``, with the S3 client of ``session`` (else boto3's default configuration). The
    control plane is asked only when the snapshot cannot be read or its data for the region is
    older than ``source_max_age`` (default 1 day, ``$BEDROCK_LIFECYCLE_SOURCE_MAX_AGE``).
    """

    def __init__(
        self,
        *,
        control_client: Any = None,
        region_name: str | None = None,
        ttl: timedelta = DEFAULT_TTL,
        cache_path: str | os.PathLike[str] | None = None,
        overrides: Mapping[str, Any] | str | os.PathLike[str] | None = None,
        bundled: bool = True,
        offline: bool = False,
        clock: Clock | None = None,
        session: Any = None,
        client_factory: ClientFactory | None = None,
        endpoint_url: str | None = None,
        max_wait: timedelta | float = DEFAULT_MAX_WAIT,
        persist: bool = True,
        source: str | os.PathLike[str] | bool | None = None,
        source_max_age: timedelta | float | None = None,
    ) -> None:
        self._clock: Clock = clock or utc_now
        # The catalog's clock, two ways; C-level callables for the default clock, since the
        # call path reads it on every call.
        self.now: Callable[[], datetime] = (
            partial(datetime.now, timezone.utc)
            if self._clock is utc_now
            else partial(_aware_now, self._clock)
        )
        """The catalog's clock, in UTC."""
        self.timestamp: Callable[[], float] = (
            time.time if self._clock is utc_now else partial(_aware_ts, self._clock)
        )
        """The same clock as POSIX seconds (what reused decisions compare and keep)."""
        self._ttl = duration(_ttl_from_env(ttl), "ttl")
        self._max_wait = duration(max_wait, "max_wait").total_seconds()
        self._offline = bool(offline) or _env_flag(OFFLINE_ENV)
        # The shared snapshot: its source, its copy of each region, its reads (under the lock).
        self._shared = SharedRegions.configure(
            source,
            None if source_max_age is None else duration(source_max_age, "source_max_age"),
            session=session,
            backoff=_failure_backoff,
            describe=_describe,
        )
        self._control_client = control_client
        self._session = session
        self._client_factory = client_factory
        if region_name is None and control_client is not None:
            region_name = getattr(getattr(control_client, "meta", None), "region_name", None)
        if region_name is None and session is not None:
            region_name = getattr(session, "region_name", None)
        if region_name is None:
            region_name = os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION")
        self.region_name: str | None = region_name
        if endpoint_url is None and control_client is not None:
            url = getattr(getattr(control_client, "meta", None), "endpoint_url", None)
            endpoint_url = url if _is_custom_endpoint(url) else None
        self._endpoint_url = endpoint_url
        self._overrides: Overrides = load_overrides(overrides)
        self._bundled = bool(bundled)
        # The control-plane reader, cachetools and the bundled snapshot load with the first
        # catalog, not at import, and never inside a lookup's bounded wait (where an import's
        # allocations can set off a full garbage collection of a large heap).
        from cachetools import TLRUCache

        from . import _control_plane  # noqa: F401

        if self._bundled:
            from . import _bundled  # noqa: F401
        self._persist = bool(persist)
        self._cache_path: Path | None = (
            Path(cache_path) if cache_path is not None else default_cache_path()
        )

        self._lock = threading.RLock()
        self._save_lock = threading.Lock()
        self._fresh: TLRUCache[str, float] = TLRUCache(
            maxsize=256, ttu=lambda _key, expires, _now: expires, timer=self.timestamp
        )
        self._regions: dict[str, RegionData] = {}
        self._seen = Observations()  # refusals, last uses, warnings said (under the lock)
        self._resolutions = Resolutions()  # ids resolved through the control plane
        # Region refreshes and ARN resolutions in flight, one per key, under the same lock.
        self._flights = SingleFlight(self._lock)
        self._next_attempt: dict[str, float] = {}
        self._failures: dict[str, int] = {}
        self._clients: dict[str, Any] = {}
        self._merged: dict[tuple[str, str | None], ModelLifecycle] = {}
        self._bundled_index: dict[tuple[str, str | None], ModelLifecycle] | None = None
        self._file_loaded = False
        self.generation = 0
        """Bumped whenever lifecycle answers may have changed (refresh, marks, overrides)."""
        self.refresh_count = 0
        """Control-plane ListFoundationModels rounds this catalog has made (for diagnostics)."""
        _LIVE_CATALOGS.add(self)

    # -- public -----------------------------------------------------------------------------

    @property
    def offline(self) -> bool:
        """Whether this catalog never touches the network."""
        return self._offline

    @property
    def cache_path(self) -> Path | None:
        """Where the persisted cache lives (``None`` when ``persist=False``)."""
        return self._cache_path if self._persist else None

    @property
    def ttl(self) -> timedelta:
        """How long control-plane data is used before it is refreshed."""
        return self._ttl

    @property
    def source(self) -> str | None:
        """The shared snapshot's location as given, or ``None`` when there is none."""
        return self._shared.location

    @property
    def source_max_age(self) -> timedelta:
        """How old the shared snapshot's data may be before the control plane is asked."""
        return timedelta(seconds=self._shared.max_age)

    def source_stats(self) -> SourceStats | None:
        """Reads of the shared snapshot so far (``reads``, ``not_modified``, ``failures``)."""
        return self._shared.stats()

    def __repr__(self) -> str:
        shared = f", source={self.source!r}" if self.source is not None else ""
        return (
            f"Catalog(region_name={self.region_name!r}, ttl={self._ttl!r}, "
            f"offline={self._offline!r}, cache_path={str(self.cache_path)!r}{shared})"
        )

    def lookup(self, model_id: str, region: str | None = None) -> ModelLifecycle:
        """The lifecycle of the model behind ``model_id`` (any id form) in ``region``.

        Never raises for an id it cannot resolve: the answer is then an entry whose state is
        :attr:`State.UNKNOWN`. Control-plane failures never reach the caller.
        """
        if not isinstance(model_id, str):
            raise TypeError(f"model_id must be a str, not {type(model_id).__name__}")
        region = region or self.region_name
        ref = parse_model_id(model_id)
        base = self.base_model(ref, region)
        if base is None:
            return ModelLifecycle.unknown(model_id, region)
        self._ensure_region(region)
        return self._entry(base, region)

    def resolve(self, model_id: str, region: str | None = None) -> Resolved:
        """:meth:`lookup`, plus the base model id and what Bedrock refused (:meth:`withdrawn`).

        The governed client's per-call question, answered under one lock when the region is
        fresh (the common case).
        """
        if not isinstance(model_id, str):
            raise TypeError(f"model_id must be a str, not {type(model_id).__name__}")
        region = region or self.region_name
        base = parse_model_id(model_id).base_id
        if base is not None and region is not None:
            with self._lock:
                entry = self._merged.get((base, region))
                if entry is not None and self._file_loaded and region in self._fresh:
                    return Resolved(entry, base, self._seen.withdrawn((base, region)))
        entry = self.lookup(model_id, region)
        if base is None:
            base = entry.model_id if entry.known else self.base_model(model_id, region)
        return Resolved(entry, base, self.withdrawn(base, region) if base else None)

    def base_model(self, ref: ModelRef | str, region: str | None = None) -> str | None:
        """The base model id behind ``ref``; asks the control plane for ARNs that need it."""
        if isinstance(ref, str):
            ref = parse_model_id(ref)
        if ref.base_id is not None:
            return ref.base_id
        if not ref.needs_control_plane:
            return None
        return self._resolve(ref, ref.region or region or self.region_name)

    def refresh(self, region: str | None = None) -> list[RefreshResult]:
        """Fetch lifecycle data now, in this thread, and say what changed.

        With no ``region``: the catalog's region and every region it has data for. Failures are
        reported in the results, not raised. Offline catalogs report an error for each region.
        This always asks the control plane, shared source or not; ``changes`` are against the
        copy the catalog answered from until then (its own, or the shared snapshot's).
        """
        regions = [region] if region else self._known_regions()
        results = []
        for name in regions:
            if self._offline:
                results.append(RefreshResult(region=name, ok=False, error="offline"))
                continue
            with self._lock:
                self._load_file_once()
                previous = self._region_copy(name)
                before = dict(previous.models) if previous is not None else {}
                before_at = previous.fetched_at if previous is not None else None
            error = self._refresh_region(name, wait_for_inflight=True)
            with self._lock:
                after = dict(self._regions[name].models) if name in self._regions else {}
            results.append(
                RefreshResult(
                    region=name,
                    ok=error is None,
                    error=error,
                    models=len(after),
                    changes=(
                        tuple(_diff(name, before, after, before_at, self.now()))
                        if error is None
                        else ()
                    ),
                )
            )
        return results

    def entries(self, region: str | None = None) -> list[ModelLifecycle]:
        """Every model the catalog knows in ``region`` (no network), sorted by id."""
        region = region or self.region_name
        with self._lock:
            self._load_file_once()
            ids = {model_id for model_id, r in self._bundle() if r in (region, None)}
            ids.update(model_id for model_id, r in self._overrides if r in (region, None))
            copy = self._region_copy(region) if region else None
            if copy is not None:
                ids.update(copy.models)
        return [self._entry(model_id, region) for model_id in sorted(ids)]

    def mark_unavailable(self, model_id: str, region: str | None, kind: str) -> None:
        """Record that Bedrock refused ``model_id`` in ``region`` with a lifecycle error.

        ``kind`` is ``"eol"`` (the model reached end of life) or ``"idle"`` (Legacy access was
        withdrawn from this account). Later calls go straight to the successor. Persisted.
        """
        if kind not in ("eol", "idle"):
            raise ValueError("kind must be 'eol' or 'idle'")
        base = self.base_model(model_id, region) or model_id
        key = (base, region or "")
        with self._lock:
            self._seen.mark(key, kind, self.now())
            self._changed()
        self._save()

    def withdrawn(self, model_id: str, region: str | None) -> str | None:
        """``"eol"`` or ``"idle"`` when Bedrock refused this model here, else ``None``."""
        with self._lock:
            self._load_file_once()
            return self._seen.withdrawn((model_id, region or ""))

    def forget(self, model_id: str, region: str | None = None) -> None:
        """Drop what was observed about ``model_id`` (e.g. after access was restored)."""
        with self._lock:
            self._load_file_once()
            self._seen.forget(model_id, region)
            self._changed()
        self._save()

    def note_success(self, model_id: str, region: str | None, at: datetime | None = None) -> None:
        """Remember a successful call (the idle guard needs the last one per model and region).

        ``at`` is when the call was made (default: now, by the catalog's clock).
        """
        now = self.now() if at is None else at
        key = (model_id, region or "")
        seen = self._seen
        if seen.use_is_recent(key, now):
            seen.last_used[key] = now  # one dict store: atomic, no lock needed
            return
        with self._lock:
            due = seen.note_use(key, now)
        if due:
            self._save()  # at most hourly per model: the idle guard needs days, not seconds

    def last_used(self, model_id: str, region: str | None) -> datetime | None:
        """When ``model_id`` was last called successfully in ``region``, if known."""
        with self._lock:
            self._load_file_once()
            return self._seen.last_used.get((model_id, region or ""))

    def used_models(self) -> list[tuple[str, str | None, datetime | None]]:
        """``(base model id, region, last successful call)`` for every model this machine used.

        Models Bedrock refused with a lifecycle error count as used (their last successful call
        may be unknown: ``None``). Read from this catalog and its cache file, so other processes'
        calls count too; most recent first. No network.
        """
        with self._lock:
            self._load_file_once()
            path = self.cache_path
            used: dict[tuple[str, str], datetime | None] = dict(self._seen.last_used)
            observed = set(self._seen.refused)
        on_disk = read_cache(path, warn=False) if path is not None else None
        if on_disk is not None:
            observed.update(on_disk.observed)
            for key, when in on_disk.last_used.items():
                known = used.get(key)
                if known is None or when > known:
                    used[key] = when
        for key in observed:
            used.setdefault(key, None)
        rows = [(model, region or None, when) for (model, region), when in used.items()]
        oldest = datetime.min.replace(tzinfo=timezone.utc)
        return sorted(rows, key=lambda row: (row[2] or oldest, row[0]), reverse=True)

    def first_time(self, *key: Any) -> bool:
        """True the first time this catalog sees ``key`` (used for warn-once)."""
        with self._lock:
            return self._seen.first_time(key)

    def close(self, timeout: float | None = 5.0) -> None:
        """Wait for background refreshes and write the cache file. Safe to call twice."""
        self._flights.join(timeout)
        self._save()

    def __enter__(self) -> Catalog:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    # -- regions and refreshes ----------------------------------------------------------------

    def _changed(self) -> None:
        """Lifecycle answers may differ from now on (lock held): drop derived caches."""
        self._merged.clear()
        self.generation += 1

    def fresh_until(self, region: str | None) -> datetime | None:
        """Until when ``region``'s control-plane data is fresh (``None``: not fresh now).

        Offline catalogs, and lookups without a region, never refresh: their answers stand
        until the data changes (see :attr:`generation`).
        """
        with self._lock:
            if self._offline or region is None:
                return datetime.max.replace(tzinfo=timezone.utc)
            expires = self._fresh.get(region)
        if expires is None:
            return None
        return datetime.fromtimestamp(expires, timezone.utc)

    def _known_regions(self) -> list[str]:
        with self._lock:
            self._load_file_once()
            names = set(self._regions)
        if self.region_name:
            names.add(self.region_name)
        return sorted(names)

    def _ensure_region(self, region: str | None) -> None:
        if region is None:
            return
        with self._lock:
            if region in self._fresh:
                return
            self._load_file_once()
            if region in self._fresh or self._offline:
                return
            if self.timestamp() < self._next_attempt.get(region, 0.0):
                return
            event = self._flights.start(
                ("region", region),
                partial(self._update_region, region),
                name=f"bedrock-lifecycle-refresh-{region}",
            )
            cold = region not in self._regions and not self._shared.holds(region)
        if cold and self._max_wait > 0:
            event.wait(self._max_wait)

    def _refresh_region(self, region: str, *, wait_for_inflight: bool) -> str | None:
        """Refresh ``region`` in this thread, or wait for the refresh already running."""
        errors: list[str | None] = []
        if self._flights.run(
            ("region", region),
            lambda: errors.append(self._do_refresh(region)),
            wait=wait_for_inflight,
        ):
            return errors[0] if errors else "refresh did not complete"
        return None if region in self._regions else "refresh did not complete"

    def _update_region(self, region: str) -> str | None:
        """A region's background refresh: from the shared snapshot when it can answer, else
        from the catalog's own copy while that is within the TTL (a cache file an earlier
        process wrote), else from the control plane. Returns an error description or ``None``."""
        if self.source is None:
            return self._do_refresh(region)
        if self._answer_from_shared(region):
            return None
        with self._lock:
            own = self._regions.get(region)
            expires = own.fetched_at.timestamp() + self._ttl.total_seconds() if own else 0.0
            if expires > self.timestamp():
                self._fresh[region] = expires
                return None
        return self._do_refresh(region)

    def _do_refresh(self, region: str) -> str | None:
        """One control-plane round for ``region``; returns an error description or ``None``."""
        from ._control_plane import fetch_region  # loaded by __init__ already

        try:
            client = self._control_for(region)
            retrying = _retrying(attempts=3, max_wait=1.0)
            with self._lock:
                self.refresh_count += 1
            fetch = retrying(fetch_region, client, region, self.now())
        except Exception as exc:  # any failure is absorbed: callers never see it
            return self._refresh_failed(region, exc)
        with self._lock:
            previous = self._region_copy(region)
            models = dict(fetch.models)
            if previous is not None:
                # Remember models that were known and are no longer listed: their EOL dates
                # (AWS drops EOL models from the list) still matter.
                for model_id, entry in previous.models.items():
                    if model_id not in models and entry.eol_at is not None:
                        models[model_id] = replace(entry, source=Source.CACHE)
            self._regions[region] = RegionData(
                fetched_at=fetch.fetched_at, models=models, endpoint=self._endpoint_url
            )
            self._fresh[region] = self.timestamp() + self._ttl.total_seconds()
            if self._failures.pop(region, 0):
                logger.info(
                    "bedrock_lifecycle.refresh_recovered",
                    extra={"bedrock_lifecycle.region": region},
                )
            self._next_attempt.pop(region, None)
            self._changed()
        logger.debug(
            "bedrock_lifecycle.refreshed",
            extra={
                "bedrock_lifecycle.region": region,
                "bedrock_lifecycle.models": len(models),
                "bedrock_lifecycle.details": fetch.detail_calls,
            },
        )
        self._save()
        return None

    def _refresh_failed(self, region: str, exc: BaseException) -> str:
        description = _describe(exc)
        with self._lock:
            failures = self._failures.get(region, 0) + 1
            self._failures[region] = failures
            delay = _failure_backoff(failures)
            self._next_attempt[region] = self.timestamp() + delay
        if failures == 1:
            logger.log(
                _first_failure_level(description),
                "bedrock_lifecycle.refresh_failed: %s; using cached or bundled lifecycle data "
                "for %s and retrying in the background",
                description,
                region,
                extra={
                    "bedrock_lifecycle.region": region,
                    "bedrock_lifecycle.error": description,
                    "bedrock_lifecycle.retry_in_s": delay,
                },
            )
        else:
            logger.debug(
                "bedrock_lifecycle.refresh_failed_again",
                extra={
                    "bedrock_lifecycle.region": region,
                    "bedrock_lifecycle.error": description,
                    "bedrock_lifecycle.failures": failures,
                },
            )
        return description

    # -- the shared snapshot (its part: _shared_regions.py) -----------------------------------

    def seed_regions(self, regions: Mapping[str, RegionData]) -> None:
        """Start from a previously published snapshot's regions (what
        :func:`publish_snapshot` does): refreshes then report changes against them and keep
        the models they knew past end of life."""
        with self._lock:
            self._shared.seed(regions)
            self._changed()

    def fetched_region(self, region: str) -> RegionData | None:
        """What this catalog itself fetched from the control plane for ``region`` (live or
        from its cache file), not the shared snapshot's copy; ``None`` when it has none."""
        with self._lock:
            return self._regions.get(region)

    def _region_copy(self, region: str) -> RegionData | None:
        """The region's control-plane data the catalog answers from (lock held): the newer by
        fetch time of its own copy (live or from the cache file) and the shared snapshot's."""
        return self._shared.newer(region, self._regions.get(region))

    def _answer_from_shared(self, region: str) -> bool:
        """Read the shared snapshot if it is due, then say whether it answers for ``region``.

        It does when it holds the region's data, fetched less than ``source_max_age`` ago: the
        region is then fresh until the next read is due or the data grows too old, whichever
        comes first, and the control plane is not asked. A snapshot that could not be read
        still answers from its last good copy while that is young enough.
        """
        # One read at a time for every region that needs it: the regions' own flights queue on
        # this one (the same single flight, another key).
        self._flights.run(("shared",), self._read_shared, wait=True)
        with self._lock:
            until = self._shared.answers_until(region, self.timestamp())
            if until is None:
                return False
            self._fresh[region] = until
            self._failures.pop(region, None)
            self._next_attempt.pop(region, None)
            return True

    def _read_shared(self) -> None:
        """One conditional read of the shared snapshot, unless one happened within the TTL (or,
        after a failure, within the backoff). The read and what is said of it run without the
        lock; its outcome is applied under it."""
        shared = self._shared
        with self._lock:
            if not shared.is_due(self.timestamp()):
                return
        fetched = shared.fetch()
        with self._lock:
            settled = shared.settle(fetched, self.timestamp(), self._ttl.total_seconds())
            if settled.changed:
                self._changed()
        shared.report(settled)

    def _control_for(self, region: str) -> Any:
        if self._offline:
            raise RuntimeError("offline")
        with self._lock:
            client = self._clients.get(region)
        if client is not None:
            return client
        own = self._control_client
        if own is not None and getattr(own.meta, "region_name", None) == region:
            client = own
        elif self._client_factory is not None:
            client = self._client_factory(region)
        else:
            # A boto3 Session is not thread-safe, and region refreshes run on their own threads
            # (a publisher refreshes every region at once): one client built at a time.
            with _SESSION_LOCK:
                client = self._new_client(region)
        with self._lock:
            return self._clients.setdefault(region, client)

    def _new_client(self, region: str) -> Any:
        import boto3
        from botocore.config import Config

        session = self._session or boto3.session.Session()
        config = Config(
            retries={"max_attempts": 2, "mode": "standard"},
            connect_timeout=2,
            read_timeout=5,
            user_agent_extra="bedrock-lifecycle",
        )
        own = self._control_client
        if own is not None:
            config = own.meta.config.merge(Config(retries={"max_attempts": 2, "mode": "standard"}))
        return session.client(
            "bedrock", region_name=region, endpoint_url=self._endpoint_url, config=config
        )

    # -- ARN resolution --------------------------------------------------------------------

    def _resolve(self, ref: ModelRef, region: str | None) -> str | None:
        raw = ref.raw
        with self._lock:
            self._load_file_once()
            known = self._resolutions.known.get(raw)
            if known is not None:
                return known
            if self._offline or region is None:
                return None
            if not self._resolutions.may_ask(raw, self.timestamp()):
                return None
            # Resolved on a background thread so that a slow control plane cannot hold the
            # caller longer than max_wait (the answer is UNKNOWN until it arrives).
            event = self._flights.start(
                ("resolve", raw),
                partial(self._resolve_in_background, ref, region),
                name="bedrock-lifecycle-resolve",
            )
        if self._max_wait > 0:
            event.wait(self._max_wait)
        with self._lock:
            return self._resolutions.known.get(raw)

    def _resolve_in_background(self, ref: ModelRef, region: str) -> None:
        from ._control_plane import resolve_base_model

        raw = ref.raw
        base: str | None = None
        try:
            client = self._control_for(region)
            base = _retrying(attempts=2, max_wait=0.5)(resolve_base_model, client, ref)
        except Exception as exc:
            with self._lock:
                first = self._resolutions.note_failure(raw)
            logger.log(
                _first_failure_level(_describe(exc)) if first else logging.DEBUG,
                "bedrock_lifecycle.resolve_failed: could not find the base model of a %s (%s)",
                ref.form.value,
                _describe(exc),
                extra={
                    "bedrock_lifecycle.form": ref.form.value,
                    "bedrock_lifecycle.error": _describe(exc),
                },
            )
        finally:
            with self._lock:
                self._resolutions.settle(raw, base, self.timestamp())
                self._changed()
            if base:
                self._save()  # before waking callers, so what they see is on disk too

    # -- merging ----------------------------------------------------------------------------

    def _bundle(self) -> dict[tuple[str, str | None], ModelLifecycle]:
        if self._bundled_index is None:
            self._bundled_index = {}
            if self._bundled:
                from ._bundled import load_snapshot  # loaded by __init__ already

                self._bundled_index = load_snapshot().index()
        return self._bundled_index

    def _entry(self, base: str, region: str | None) -> ModelLifecycle:
        key = (base, region)
        with self._lock:
            cached = self._merged.get(key)
            if cached is not None:
                return cached
            entry = self._merge(base, region)
            self._merged[key] = entry
            return entry

    def _merge(self, base: str, region: str | None) -> ModelLifecycle:
        layers: list[ModelLifecycle] = []
        for key in ((base, region), (base, None)):
            if key in self._overrides:
                layers.append(self._overrides[key])
        data = self._region_copy(region) if region else None
        if data is not None and base in data.models:
            layers.append(data.models[base])
        bundle = self._bundle()
        bundled = bundle.get((base, region)) or bundle.get((base, None))
        if bundled is None and region is None:
            bundled = next((v for (m, _r), v in bundle.items() if m == base), None)
        if bundled is not None:
            layers.append(bundled)
        if not layers:
            merged = ModelLifecycle.unknown(base, region)
        else:
            merged = layers[0]
            for lower in layers[1:]:
                merged = _fill(merged, lower)
            if merged.region != region:
                merged = replace(merged, region=region)
        observed = self._seen.refused.get((base, region or ""))
        if observed is not None and observed[0] == "eol":
            merged = replace(merged, status="EOL", source=Source.OBSERVED)
        return merged

    # -- the cache file ---------------------------------------------------------------------

    def _load_file_once(self) -> None:
        """Read the persisted cache the first time anything needs it (lock held)."""
        if self._file_loaded:
            return
        self._file_loaded = True
        if not self._persist or self._cache_path is None:
            return
        data = read_cache(self._cache_path)
        if data is None:
            return
        self._absorb(data)

    def _absorb(self, data: CacheData) -> None:
        now = self.timestamp()
        ttl = self._ttl.total_seconds()
        for region, region_data in data.regions.items():
            if region_data.endpoint != self._endpoint_url:
                continue  # fetched from another endpoint (e.g. a test fake): not ours
            mine = self._regions.get(region)
            if mine is None or region_data.fetched_at > mine.fetched_at:
                self._regions[region] = region_data
                expires = region_data.fetched_at.timestamp() + ttl
                # With a shared snapshot, the first lookup of a region still reads it (it may be
                # newer); the file's copy answers meanwhile, and spares the control plane.
                if expires > now and self.source is None:
                    self._fresh[region] = expires
        self._seen.absorb(data.observed, data.last_used)
        self._resolutions.absorb(data.resolved)
        self._changed()

    def _snapshot_for_file(self) -> CacheData:
        with self._lock:
            return CacheData(
                regions={
                    region: data
                    for region, data in self._regions.items()
                    if data.endpoint == self._endpoint_url
                },
                observed=dict(self._seen.refused),
                resolved=dict(self._resolutions.known),
                last_used=dict(self._seen.last_used),
            )

    def _save(self) -> None:
        """Merge with what is on disk (another process may have written) and write atomically.

        Saves in this process run one at a time, each taking its snapshot inside the save lock:
        otherwise a refresh thread's older snapshot could be written over a newer one (a lost
        update). Across processes the merge with the file on disk is best effort.
        """
        if not self._persist or self._cache_path is None or self._offline:
            return
        with self._save_lock:
            self._save_now(self._cache_path)

    def _save_now(self, path: Path) -> None:
        try:
            mine = self._snapshot_for_file()
            on_disk = read_cache(path, warn=False)
            if on_disk is not None:
                mine.merge_from(on_disk)
                with self._lock:
                    self._seen.without_forgotten(mine.observed)
            write_cache(path, mine, self.now())
        except OSError as exc:
            logger.warning(
                "bedrock_lifecycle.cache_write_failed: %s",
                exc.__class__.__name__,
                extra={
                    "bedrock_lifecycle.path": str(path),
                    "bedrock_lifecycle.error": exc.__class__.__name__,
                },
            )


def _fill(high: ModelLifecycle, low: ModelLifecycle) -> ModelLifecycle:
    """``high`` with its gaps filled from ``low``; a live ACTIVE status keeps its dates empty.

    Cache entries are live answers an earlier process saved, and shared-snapshot entries live
    answers another process published, so they are protected the same way.
    """
    live = high.source in (Source.API, Source.SHARED, Source.CACHE)
    if live and high.status == "ACTIVE" and high.legacy_at is None:
        return replace(
            high,
            recommended=high.recommended or low.recommended,
            name=high.name or low.name,
            provider=high.provider or low.provider,
        )
    return replace(
        high,
        legacy_at=high.legacy_at or low.legacy_at,
        extended_access_at=high.extended_access_at or low.extended_access_at,
        eol_at=high.eol_at or low.eol_at,
        recommended=high.recommended or low.recommended,
        status=high.status or low.status,
        name=high.name or low.name,
        provider=high.provider or low.provider,
        as_of=high.as_of or low.as_of,
    )


def _diff(
    region: str,
    before: Mapping[str, ModelLifecycle],
    after: Mapping[str, ModelLifecycle],
    before_at: datetime | None,
    now: datetime,
) -> Iterable[ModelChange]:
    """Differences; a state change compares the state at the previous fetch with the state now."""
    then = before_at or now
    for model_id in sorted(set(before) | set(after)):
        old, new = before.get(model_id), after.get(model_id)
        if old is None:
            yield ModelChange(model_id, region, "added", None, new)
        elif new is None:
            yield ModelChange(model_id, region, "removed", old, None)
        elif old.state(then) is not new.state(now):
            yield ModelChange(model_id, region, "state", old, new)
        elif (old.legacy_at, old.extended_access_at, old.eol_at) != (
            new.legacy_at,
            new.extended_access_at,
            new.eol_at,
        ):
            yield ModelChange(model_id, region, "dates", old, new)


def _retrying(*, attempts: int, max_wait: float) -> Any:
    """tenacity retries for transient control-plane errors inside one refresh or resolution.

    tenacity is imported here, not at module import: it pulls in asyncio, and most processes
    never refresh (a warm cache file answers them).
    """
    from tenacity import Retrying, retry_if_exception, stop_after_attempt, wait_exponential_jitter

    from ._control_plane import is_transient

    return Retrying(
        stop=stop_after_attempt(attempts),
        wait=wait_exponential_jitter(multiplier=0.1, max=max_wait, jitter=0.1),
        retry=retry_if_exception(is_transient),
        reraise=True,
    )


def _failure_backoff(failures: int) -> float:
    """Seconds before the next background refresh after ``failures`` failed ones in a row.

    Exponential with jitter (tenacity's strategy): 30 s, doubling, at most 30 minutes.
    """
    from tenacity import RetryCallState, Retrying, wait_exponential_jitter

    state = RetryCallState(Retrying(), None, (), {})
    state.attempt_number = failures
    return float(wait_exponential_jitter(multiplier=30, max=1800, jitter=15)(state))


_NOT_IMPLEMENTED = "NotImplementedError"
"""The error code moto and LocalStack answer for an API they do not implement."""


def _first_failure_level(description: str) -> int:
    """How loud the first failure of a control-plane call is: a WARNING, except against a local
    mock (moto, LocalStack) that does not implement the control plane, where the bundled data is
    the expected answer and an INFO line says so."""
    return logging.INFO if description == _NOT_IMPLEMENTED else logging.WARNING


def _describe(exc: BaseException) -> str:
    """A log-safe description of a failure: the error code, never a message body."""
    response = getattr(exc, "response", None)
    if isinstance(response, Mapping):
        code = response.get("Error", {}).get("Code")
        if code:
            return str(code)
    return exc.__class__.__name__


_SESSION_LOCK = threading.Lock()
_LIVE_CATALOGS: weakref.WeakSet[Catalog] = weakref.WeakSet()
_default_lock = threading.Lock()
_default: Catalog | None = None


def default_catalog() -> Catalog:
    """The process-wide catalog used when none is given (created on first use)."""
    global _default
    with _default_lock:
        if _default is None:
            _default = Catalog()
        return _default


def _close_all() -> None:
    for catalog in list(_LIVE_CATALOGS):
        try:
            catalog.close(timeout=1.0)
        except Exception:  # pragma: no cover - best effort at interpreter exit
            logger.debug("bedrock_lifecycle.close_failed", exc_info=True)


atexit.register(_close_all)
