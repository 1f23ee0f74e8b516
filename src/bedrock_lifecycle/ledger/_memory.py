"""The in-memory ledger: the default sink, bounded and thread-safe."""

from __future__ import annotations

import threading
from collections import deque
from datetime import datetime

from .._usage import UsageRecord
from ._base import SinkHealth, select_records

__all__ = ["MemoryLedger"]


class MemoryLedger:
    """Keeps the last ``maxlen`` records in memory (older ones fall off the front).

    Nothing is written anywhere, so nothing survives the process. ``record()`` is a locked
    ``deque.append``.
    """

    def __init__(self, maxlen: int = 10_000) -> None:
        if maxlen < 1:
            raise ValueError("maxlen must be at least 1")
        self.maxlen = maxlen
        self._records: deque[UsageRecord] = deque(maxlen=maxlen)
        self._lock = threading.Lock()
        self._health = SinkHealth("MemoryLedger")

    @property
    def errors(self) -> int:
        """Records that could not be kept (always 0 here)."""
        return self._health.errors

    def record(self, rec: UsageRecord) -> None:
        with self._lock:
            self._records.append(rec)

    def records(
        self, since: datetime | None = None, until: datetime | None = None
    ) -> list[UsageRecord]:
        with self._lock:
            snapshot = list(self._records)
        return select_records(snapshot, since, until)

    def clear(self) -> None:
        """Forget every record."""
        with self._lock:
            self._records.clear()

    def __len__(self) -> int:
        return len(self._records)

    def flush(self) -> None:
        """Nothing to flush."""

    def close(self) -> None:
        """Nothing to release; the records stay readable."""

    def __repr__(self) -> str:
        return f"MemoryLedger({len(self._records)} of {self.maxlen} records)"
