"""What every ledger sink is, and the failure bookkeeping they share.

A sink's ``record()`` never raises into the caller: a failure is logged once per sink (WARNING),
later ones at DEBUG, and every record that could not be kept is counted in ``sink.errors``.

The sinks hold usage records, or shadow records (:class:`~bedrock_lifecycle.ShadowRecord`, kept
apart from the usage ledger): they are generic in the record type they hold, ``UsageRecord`` by
default, so ``MemoryLedger()`` is a ``MemoryLedger[UsageRecord]`` and
``MemoryLedger[ShadowRecord]()`` holds shadow records.
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading
from collections.abc import Callable, Iterable
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Generic, Protocol, Union, cast, runtime_checkable

from .._clock import as_utc
from .._usage import UsageRecord, settle

__all__ = [
    "AnyRecord",
    "Ledger",
    "MultiLedger",
    "PendingLedger",
    "PendingSink",
    "ReadableLedger",
    "SinkHealth",
    "select_records",
]

logger = logging.getLogger("bedrock_lifecycle.ledger")

if TYPE_CHECKING:
    from typing import TypeAlias

    from .._shadow_record import ShadowRecord

    AnyRecord: TypeAlias = UsageRecord | ShadowRecord
else:  # the shadow record's module loads with the first shadow (or shadow ledger read)
    AnyRecord = Union[UsageRecord, "ShadowRecord"]
"""Either kind of record a ledger sink can hold."""

# The record type a sink holds: UsageRecord unless said otherwise (PEP 696 defaults, which only
# the type checker needs; at run time a plain TypeVar does).
if TYPE_CHECKING:
    from typing_extensions import TypeVar

    R = TypeVar("R", bound=AnyRecord, default=UsageRecord)
    R_contra = TypeVar("R_contra", bound=AnyRecord, default=UsageRecord, contravariant=True)
else:
    from typing import TypeVar

    R = TypeVar("R", bound=AnyRecord)
    R_contra = TypeVar("R_contra", bound=AnyRecord, contravariant=True)
T = TypeVar("T", bound=AnyRecord)

settle_any = cast("Callable[[AnyRecord | list[Any]], AnyRecord]", settle)
""":func:`~bedrock_lifecycle._usage.settle` for sinks holding either kind: a shadow record (not
a list) comes back as it is."""


@runtime_checkable
class Ledger(Protocol[R_contra]):
    """A sink for usage records (``Ledger``, that is ``Ledger[UsageRecord]``), or for shadow
    records (``Ledger[ShadowRecord]``)."""

    def record(self, rec: R_contra) -> None:
        """Keep ``rec``. Never raises: failures are logged once and counted in ``errors``."""

    def flush(self) -> None:
        """Write out anything pending."""

    def close(self) -> None:
        """Flush and release resources. Further records are counted as errors."""


@runtime_checkable
class ReadableLedger(Ledger[R], Protocol[R]):
    """A sink that can give its records back."""

    def records(self, since: datetime | None = None, until: datetime | None = None) -> list[R]:
        """Records with ``since <= timestamp < until`` (pending writes are flushed first)."""
        ...  # pragma: no cover


PendingSink = Callable[[list[Any]], None]
"""Takes one pending record: the raw figures of a governed call, as the list
``RecordTemplate`` (in ``bedrock_lifecycle._usage``) describes, built into a
:class:`~bedrock_lifecycle.UsageRecord` when first read. Only the library makes them."""


@runtime_checkable
class PendingLedger(Ledger[UsageRecord], Protocol):
    """A sink that takes pending records, so the caller's thread does not build records.

    Governed calls hand such a sink their raw figures (:data:`PendingSink`) instead of a built
    record; the sink builds each one when it is read or written, off the caller's path.
    """

    def pending_sink(self) -> PendingSink:
        """Where pending records go (a callable taking one pending record)."""
        ...  # pragma: no cover


class SinkHealth:
    """Failure counting shared by the sinks: ``errors``, ``dropped`` and a log-once flag."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.errors = 0
        """Records this sink could not keep (write failures, drops, records after close)."""
        self.dropped = 0
        """Of ``errors``, records refused because the write queue was full."""
        self._warned = False
        self._lock = threading.Lock()

    def failed(self, exc: BaseException | None, count: int = 1, *, what: str = "write") -> None:
        """Count ``count`` lost records; log the first failure as a WARNING, the rest at DEBUG."""
        with self._lock:
            self.errors += count
            first = not self._warned
            self._warned = True
        reason = "" if exc is None else f": {type(exc).__name__}: {exc}"
        if first:
            logger.warning(
                "bedrock_lifecycle.ledger_failed: sink %s could not %s %d usage record(s)%s; "
                "further failures are only counted (see .errors) and logged at DEBUG",
                self.name,
                what,
                count,
                reason,
                extra={"bedrock_lifecycle.sink": self.name},
            )
        else:
            logger.debug(
                "bedrock_lifecycle.ledger_failed: sink %s could not %s %d record(s)%s",
                self.name,
                what,
                count,
                reason,
                extra={"bedrock_lifecycle.sink": self.name},
            )

    def dropped_full(self, count: int = 1) -> None:
        """Count records refused because the queue was full."""
        with self._lock:
            self.dropped += count
        self.failed(None, count, what="queue (write queue full, record dropped)")


def select_records(records: Iterable[T], since: datetime | None, until: datetime | None) -> list[T]:
    """Records (usage or shadow) with ``since <= timestamp < until`` (either bound may be
    ``None``)."""
    lower = None if since is None else as_utc(since)
    upper = None if until is None else as_utc(until)
    if lower is None and upper is None:
        return list(records)
    return [
        rec
        for rec in records
        if (lower is None or rec.timestamp >= lower) and (upper is None or rec.timestamp < upper)
    ]


def make_parent_dirs(path: str | os.PathLike[str]) -> None:
    """Create the missing folders above ``path``, owner-only (0700), like ``mkdir -p``.

    Failures are left to the ``os.open`` that follows, which reports them with the file's path.
    """
    missing: list[Path] = []
    folder = Path(path).parent
    while not folder.is_dir() and folder.parent != folder:
        missing.append(folder)
        folder = folder.parent
    for directory in reversed(missing):
        with contextlib.suppress(OSError):
            directory.mkdir(mode=0o700)


class MultiLedger(Generic[R]):
    """Sends every record to several sinks.

    Guards each sink: one that raises (a third-party sink, say) is logged once and counted in this
    ledger's ``errors``, and the others still get the record. ``records()`` reads from the first
    readable sink. Like the sinks it holds usage records unless its sinks hold shadow records
    (``MultiLedger(MemoryLedger[ShadowRecord](), JsonlLedger[ShadowRecord](path))``).
    """

    def __init__(self, *sinks: Ledger[R]) -> None:
        for sink in sinks:
            if not callable(getattr(sink, "record", None)):
                hint = (
                    " (pass the sinks as separate arguments: MultiLedger(a, b))"
                    if isinstance(sink, (list, tuple, set))
                    else ""
                )
                raise TypeError(
                    f"MultiLedger sinks must have a record() method, not {type(sink).__name__}"
                    + hint
                )
        self.sinks: tuple[Ledger[R], ...] = sinks
        self._health = {id(sink): SinkHealth(type(sink).__name__) for sink in sinks}

    @property
    def errors(self) -> int:
        """Records a sink raised on (failures the sinks counted themselves are not included)."""
        return sum(health.errors for health in self._health.values())

    def record(self, rec: R) -> None:
        for sink in self.sinks:
            try:
                sink.record(rec)
            except Exception as exc:
                self._health[id(sink)].failed(exc)

    def flush(self) -> None:
        for sink in self.sinks:
            try:
                sink.flush()
            except Exception as exc:
                self._health[id(sink)].failed(exc, 0, what="flush")

    def close(self) -> None:
        for sink in self.sinks:
            try:
                sink.close()
            except Exception as exc:
                self._health[id(sink)].failed(exc, 0, what="close")

    def records(self, since: datetime | None = None, until: datetime | None = None) -> list[R]:
        for sink in self.sinks:
            if isinstance(sink, ReadableLedger):
                found: list[R] = sink.records(since, until)
                return found
        return []
