"""Single flight: at most one run of a job per key at a time; everyone else waits for it.

The catalog uses it for both of its slow questions to the control plane, a region's refresh and
the resolution of an ARN to its base model, so that a herd of threads asking at once makes one
request, and a caller waits at most as long as it chooses.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Hashable

__all__ = ["SingleFlight"]


class SingleFlight:
    """Jobs keyed by what they fetch, each run once at a time, on a background thread
    (:meth:`start`) or on the caller's (:meth:`run`). ``lock`` guards the table of jobs in
    flight; it may be the owner's own lock (re-entrant), so that checking the owner's state and
    starting a job is one atomic step.
    """

    def __init__(self, lock: threading.RLock) -> None:
        self._lock = lock
        self._flights: dict[Hashable, threading.Event] = {}
        self._threads: set[threading.Thread] = set()

    def start(self, key: Hashable, job: Callable[[], object], name: str) -> threading.Event:
        """Run ``job`` on a background thread unless one for ``key`` is already running.

        Returns the event set when the job for ``key`` (this one or the one running) ends.
        """
        with self._lock:
            event = self._flights.get(key)
            if event is not None:
                return event
            event = self._flights[key] = threading.Event()
            thread = threading.Thread(
                target=self._background, args=(key, job, event), name=name, daemon=True
            )
            self._threads.add(thread)
        thread.start()
        return event

    def run(self, key: Hashable, job: Callable[[], object], *, wait: bool) -> bool:
        """Run ``job`` in this thread unless one for ``key`` is already running; then, with
        ``wait``, wait for that one to end. ``True`` when this call ran the job."""
        with self._lock:
            event = self._flights.get(key)
            mine = event is None
            if event is None:
                event = self._flights[key] = threading.Event()
        if not mine:
            if wait:
                event.wait()
            return False
        try:
            job()
        finally:
            self._land(key, event)
        return True

    def join(self, timeout: float | None) -> None:
        """Wait for the background jobs running now (each up to ``timeout`` seconds)."""
        with self._lock:
            threads = list(self._threads)
        for thread in threads:
            thread.join(timeout)

    def _background(self, key: Hashable, job: Callable[[], object], event: threading.Event) -> None:
        try:
            job()
        finally:
            with self._lock:
                self._threads.discard(threading.current_thread())
            self._land(key, event)

    def _land(self, key: Hashable, event: threading.Event) -> None:
        with self._lock:
            self._flights.pop(key, None)
        event.set()
