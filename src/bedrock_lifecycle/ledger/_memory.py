"""The in-memory ledger: the default sink, bounded and thread-safe."""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Any, Generic, cast

from ._base import R, SinkHealth, select_records, settle_any

__all__ = ["MemoryLedger"]


class MemoryLedger(Generic[R]):
    """Keeps the last ``maxlen`` records in memory (older ones fall off the front).

    Nothing is written anywhere, so nothing survives the process. ``record()`` is one
    ``deque.append`` (atomic: no lock). Governed calls hand it their raw figures instead of a
    built :class:`UsageRecord` (``pending_sink``); each is built, checked and priced the
    first time :meth:`records` reads it, so callers who never read pay almost nothing.

    ``MemoryLedger()`` holds usage records; ``MemoryLedger[ShadowRecord]()`` holds shadow
    records (the ledger a ``Shadow`` writes to), and ``records()`` gives them back as such.
    """

    def __init__(self, maxlen: int = 10_000) -> None:
        if maxlen < 1:
            raise ValueError("maxlen must be at least 1")
        self.maxlen = maxlen
        self._records: deque[R | list[Any]] = deque(maxlen=maxlen)
        self._health = SinkHealth("MemoryLedger")

    @property
    def errors(self) -> int:
        """Records that could not be kept (always 0 here)."""
        return self._health.errors

    def record(self, rec: R) -> None:
        self._records.append(rec)

    def pending_sink(self) -> Callable[[list[Any]], None]:
        """Where governed calls put pending records (see :class:`RecordTemplate`)."""
        return self._records.append

    def records(self, since: datetime | None = None, until: datetime | None = None) -> list[R]:
        snapshot = self._records.copy()  # one C call: atomic next to appends
        return select_records(cast("Iterable[R]", map(settle_any, snapshot)), since, until)

    def clear(self) -> None:
        """Forget every record."""
        self._records.clear()

    def __len__(self) -> int:
        return len(self._records)

    def flush(self) -> None:
        """Nothing to flush."""

    def close(self) -> None:
        """Nothing to release; the records stay readable."""

    def __repr__(self) -> str:
        return f"MemoryLedger({len(self._records)} of {self.maxlen} records)"
