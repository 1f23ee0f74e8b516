"""The background writer that keeps file I/O off the caller's thread.

``submit()`` puts a record on a bounded queue and returns; one daemon thread per sink drains the
queue in batches (everything waiting, up to ``max_batch``) and hands each batch to the sink's
target. When the queue is full the record is dropped and counted (``SinkHealth.dropped``): the
caller is never blocked by a slow disk.

``flush()`` waits until everything submitted before it has been written and synced. ``close()``
flushes and stops the thread; every live writer is closed at interpreter exit (``atexit``). After
``os.fork()`` the child starts with an empty queue and its own thread, so records the parent had
queued are written once, by the parent.
"""

from __future__ import annotations

import atexit
import os
import queue
import threading
import weakref
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Generic, Protocol, TypeVar

from ._base import AnyRecord, R, SinkHealth, logger, settle_any

if TYPE_CHECKING:
    from typing_extensions import Self

__all__ = ["BackgroundWriter", "BatchTarget"]

T = TypeVar("T")
T_contra = TypeVar("T_contra", contravariant=True)


class BatchTarget(Protocol[T_contra]):
    """Where a writer puts batches. Called only from the writer thread (and ``close``)."""

    def write_batch(self, items: Sequence[T_contra]) -> None:
        """Write every item, or raise (the batch is then counted as lost)."""

    def sync(self) -> None:
        """Make what was written durable (fsync or commit); called on flush and periodically."""

    def release(self) -> None:
        """Close files and connections."""

    def after_fork(self) -> None:
        """In a forked child: forget handles inherited from the parent."""


class _Marker:
    __slots__ = ("done", "stop")

    def __init__(self, *, stop: bool = False) -> None:
        self.done = threading.Event()
        self.stop = stop


_LIVE: weakref.WeakSet[BackgroundWriter[object]] = weakref.WeakSet()


class BackgroundWriter(Generic[T]):
    """A bounded queue drained by one daemon thread into a :class:`BatchTarget`."""

    def __init__(
        self,
        target: BatchTarget[T],
        health: SinkHealth,
        *,
        name: str,
        queue_size: int = 10_000,
        sync_interval: float | None = 1.0,
        max_batch: int = 1_000,
    ) -> None:
        if queue_size < 1:
            raise ValueError("queue_size must be at least 1")
        self._target = target
        self._health = health
        self._name = name
        self._queue_size = queue_size
        self._sync_interval = sync_interval
        self._max_batch = max_batch
        self._queue: queue.Queue[T | _Marker] = queue.Queue(queue_size)
        self._thread: threading.Thread | None = None
        self._start_lock = threading.Lock()
        self._closed = False
        _LIVE.add(self)  # type: ignore[arg-type]

    # -- caller side ----------------------------------------------------------------------------

    def submit(self, item: T) -> None:
        """Queue ``item`` for writing; never blocks, never raises."""
        if self._closed:
            self._health.failed(None, what="record (the ledger is closed)")
            return
        if self._thread is None:
            self._start()
        try:
            self._queue.put_nowait(item)
        except queue.Full:
            self._health.dropped_full()

    def flush(self, timeout: float | None = 10.0) -> bool:
        """Wait until everything submitted so far is written and synced; ``False`` on timeout."""
        if self._thread is None or not self._thread.is_alive():
            return True
        if threading.current_thread() is self._thread:
            return False
        marker = _Marker()
        try:
            self._queue.put(marker, timeout=timeout)
        except queue.Full:
            return False
        return marker.done.wait(timeout)

    def close(self, timeout: float | None = 10.0) -> None:
        """Flush, stop the thread and release the target. Idempotent."""
        with self._start_lock:
            if self._closed:
                return
            self._closed = True
            thread = self._thread
        if thread is not None and thread.is_alive():
            marker = _Marker(stop=True)
            try:
                self._queue.put(marker, timeout=timeout)
            except queue.Full:
                logger.warning(
                    "bedrock_lifecycle.ledger_stuck: %s: the write queue did not drain at close",
                    self._name,
                )
            thread.join(timeout)
        else:
            self._release()
        _LIVE.discard(self)  # type: ignore[arg-type]

    @property
    def closed(self) -> bool:
        return self._closed

    # -- writer thread ----------------------------------------------------------------------

    def _start(self) -> None:
        with self._start_lock:
            if self._thread is not None or self._closed:
                return
            thread = threading.Thread(
                target=self._run, name=f"bedrock-lifecycle-{self._name}", daemon=True
            )
            thread.start()
            self._thread = thread

    def _release(self) -> None:
        try:
            self._target.release()
        except Exception as exc:
            self._health.failed(exc, 0, what="close")

    def _run(self) -> None:
        get = self._queue.get
        get_nowait = self._queue.get_nowait
        unsynced = False
        while True:
            try:
                first = get(timeout=self._sync_interval) if unsynced else get()
            except queue.Empty:
                unsynced = not self._sync()
                continue
            batch: list[T] = []
            markers: list[_Marker] = []
            item: T | _Marker = first
            while True:
                if isinstance(item, _Marker):
                    markers.append(item)
                else:
                    batch.append(item)
                if len(batch) >= self._max_batch:
                    break
                try:
                    item = get_nowait()
                except queue.Empty:
                    break
            if batch:
                try:
                    self._target.write_batch(batch)
                    unsynced = True
                except Exception as exc:
                    self._health.failed(exc, len(batch))
            if markers:
                if unsynced:
                    unsynced = not self._sync()
                stop = any(marker.stop for marker in markers)
                if stop:
                    self._drain_after_stop()
                    self._release()
                for marker in markers:
                    marker.done.set()
                if stop:
                    return

    def _drain_after_stop(self) -> None:
        """Write what raced in between ``close()`` and the stop marker."""
        rest: list[T] = []
        while True:
            try:
                item = self._queue.get_nowait()
            except queue.Empty:
                break
            if isinstance(item, _Marker):
                item.done.set()
            else:
                rest.append(item)
        if rest:
            try:
                self._target.write_batch(rest)
                self._sync()
            except Exception as exc:
                self._health.failed(exc, len(rest))

    def _sync(self) -> bool:
        try:
            self._target.sync()
        except Exception as exc:
            self._health.failed(exc, 0, what="sync")
            return False
        return True

    def _after_fork_in_child(self) -> None:
        self._queue = queue.Queue(self._queue_size)
        self._thread = None
        self._start_lock = threading.Lock()
        try:
            self._target.after_fork()
        except Exception as exc:
            self._health.failed(exc, 0, what="reset after fork")


def _close_all() -> None:
    for writer in list(_LIVE):
        writer.close(timeout=5.0)


def _reset_in_child() -> None:
    for writer in list(_LIVE):
        writer._after_fork_in_child()


atexit.register(_close_all)
if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_reset_in_child)


class _Settling:
    """A target that builds pending records (see ``RecordTemplate``) before writing them;
    shadow records pass through as they are."""

    def __init__(self, target: BatchTarget[AnyRecord]) -> None:
        self._target = target

    def write_batch(self, items: Sequence[AnyRecord | list[Any]]) -> None:
        self._target.write_batch([settle_any(item) for item in items])

    def sync(self) -> None:
        self._target.sync()

    def release(self) -> None:
        self._target.release()

    def after_fork(self) -> None:
        self._target.after_fork()


class QueuedFileLedger(Generic[R]):
    """What the file sinks share: a path, a background writer, and health counters.

    Subclasses build the writer's target; ``record()`` only queues (the caller never waits for
    the disk), ``flush()`` blocks until the queue is written, ``close()`` flushes and stops.
    The target writes usage and shadow records alike; the type parameter says which the sink
    holds (usage records unless said otherwise).
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        target: BatchTarget[AnyRecord],
        *,
        kind: str,
        queue_size: int,
        flush_interval: float | None,
    ) -> None:
        self.path = Path(path).expanduser()
        self._health = SinkHealth(f"{type(self).__name__}({self.path})")
        self._writer: BackgroundWriter[AnyRecord | list[Any]] = BackgroundWriter(
            _Settling(target),
            self._health,
            name=f"{kind}:{self.path.name}",
            queue_size=queue_size,
            sync_interval=flush_interval,
        )

    @property
    def errors(self) -> int:
        """Records that could not be written (including ``dropped``)."""
        return self._health.errors

    @property
    def dropped(self) -> int:
        """Records refused because the write queue was full."""
        return self._health.dropped

    def record(self, rec: R) -> None:
        try:
            self._writer.submit(rec)
        except Exception as exc:  # pragma: no cover - submit does not raise
            self._health.failed(exc)

    def pending_sink(self) -> Callable[[list[Any]], None]:
        """Where governed calls put pending records: built on the writer's thread."""
        return self._writer.submit

    def flush(self) -> None:
        """Block until every record passed to ``record()`` so far is on disk."""
        if not self._writer.flush():
            logger.warning("bedrock_lifecycle.ledger_flush_timeout: %s", self.path)

    def close(self) -> None:
        """Flush and close the file. Later records are counted in ``errors``."""
        self._writer.close()

    def _flush_for_read(self) -> None:
        if not self._writer.closed:
            self.flush()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
