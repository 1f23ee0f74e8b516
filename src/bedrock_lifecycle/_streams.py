"""Event streams that record usage as they pass, without buffering or altering an event."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Mapping
from typing import TYPE_CHECKING, Any

from botocore.eventstream import EventStream
from botocore.exceptions import EventStreamError

from ._usage import (
    INVOCATION_METRICS_KEY,
    Usage,
    usage_from_invoke_stream_chunk,
    usage_from_stream_metadata,
)

_METRICS_MARKER = INVOCATION_METRICS_KEY.encode("ascii")

__all__ = ["GovernedStream", "StreamRecorder"]

if TYPE_CHECKING:
    _StreamBase = EventStream[dict[str, Any]]
else:  # botocore's class is not subscriptable at run time
    _StreamBase = EventStream


class StreamRecorder:
    """Collects usage from a stream's events and records it exactly once.

    Held apart from the stream object; the stream's ``__del__`` finishes it when a stream is
    dropped half-way.
    """

    def __init__(self, operation: str, on_done: Callable[[Usage], None]) -> None:
        self._on_done = on_done
        self._usage = Usage()
        self._done = False
        self._lock = threading.Lock()
        # Chosen once: see() runs for every event of every stream.
        self.see: Callable[[Mapping[str, Any]], None] = (
            self._see_converse if operation == "ConverseStream" else self._see_invoke
        )

    def _see_converse(self, event: Mapping[str, Any]) -> None:
        if "metadata" in event:
            self._usage = usage_from_stream_metadata(event)

    def _see_invoke(self, event: Mapping[str, Any]) -> None:
        chunk = event.get("chunk")
        if chunk is not None:
            data = chunk.get("bytes")
            if data is not None and _METRICS_MARKER in data:
                found = usage_from_invoke_stream_chunk(data)
                if found is not None:
                    self._usage = found

    def finish(self) -> None:
        """Record what is known (once; later calls do nothing)."""
        with self._lock:
            if self._done:
                return
            self._done = True
        self._on_done(self._usage)


Restart = Callable[[EventStreamError], "EventStream[dict[str, Any]] | None"]
"""Called when the stream fails before its first event; returns a replacement stream or None."""


class GovernedStream(_StreamBase):
    """A botocore ``EventStream`` that records usage; every event passes through unchanged.

    Iterating, closing, or dropping the stream records the usage seen so far (once). When
    ``restart`` is given and the stream fails with a lifecycle error before its first event,
    iteration continues on the replacement stream it returns (reactive fallback).
    """

    def __init__(
        self,
        inner: EventStream[dict[str, Any]],
        recorder: StreamRecorder,
        restart: Restart | None = None,
    ) -> None:
        # botocore's EventStream.__init__ is not called: this object only delegates.
        self._inner = inner
        self._recorder = recorder
        self._restart = restart

    def __iter__(self) -> Iterator[dict[str, Any]]:
        started = False
        see = self._recorder.see
        try:
            while True:
                try:
                    for event in self._inner:
                        started = True
                        see(event)
                        yield event
                    return
                except EventStreamError as exc:
                    restart, self._restart = self._restart, None
                    if started or restart is None:
                        raise
                    replacement = restart(exc)
                    if replacement is None:
                        raise
                    self._inner.close()
                    self._inner = replacement
        finally:
            self._recorder.finish()

    def close(self) -> None:
        """Close the underlying HTTP stream and record what was seen."""
        try:
            self._inner.close()
        finally:
            self._recorder.finish()

    def __del__(self) -> None:
        # A stream dropped half-way is recorded with what was seen (once: finish() is
        # idempotent). Cheaper per call than weakref.finalize, which registers globally.
        recorder = self.__dict__.get("_recorder")
        if recorder is not None:
            recorder.finish()

    def get_initial_response(self) -> Any:
        return self._inner.get_initial_response()

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__") or name in ("_inner", "_recorder", "_restart"):
            raise AttributeError(name)
        return getattr(self._inner, name)

    def __repr__(self) -> str:
        return f"<GovernedStream of {self._inner!r}>"
