"""Event streams that record usage as they pass, without buffering or altering an event."""

from __future__ import annotations

import inspect
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from typing import TYPE_CHECKING, Any, Union

from botocore.eventstream import EventStream
from botocore.exceptions import EventStreamError

from ._usage import NO_FIGURES, Figures, last_chunk_figures, stream_metadata_figures

__all__ = ["GovernedStream", "Head", "LiveStream", "Restart", "Sink"]

logger = logging.getLogger("bedrock_lifecycle")

if TYPE_CHECKING:
    _StreamBase = EventStream[dict[str, Any]]
else:  # botocore's class is not subscriptable at run time
    _StreamBase = EventStream

Sink = Callable[[list[Any]], None]
"""Where a pending usage record goes (see :class:`RecordTemplate`)."""

Head = tuple[Any, Any, Any]
"""The start of a stream's pending record: ``(template, timestamp, request_id)``; the figures
read from the stream complete it."""

Replacement = Union["tuple[EventStream[dict[str, Any]], Sink | None, Head]", None]

Restart = Callable[[EventStreamError], Replacement | Awaitable[Replacement]]
"""Called when the stream fails before its first event: a replacement stream and where its
usage goes, or ``None`` to let the error through. The async face's restart returns an
awaitable of the same (it is awaited under ``async for``)."""


class GovernedStream(_StreamBase):
    """A botocore ``EventStream`` that records usage; every event passes through unchanged.

    Iterating to the end, closing, or dropping the stream completes the pending record
    ``head`` with the usage seen so far and hands it to ``sink`` (once). When ``restart`` is
    given and the stream fails before its first event, iteration continues on the replacement
    stream it returns (reactive fallback).

    The usage sits in one event: ConverseStream's ``metadata`` event, or the last
    InvokeModelWithResponseStream chunk, which carries ``amazon-bedrock-invocationMetrics``.
    The metadata event is read as it passes (before the consumer sees it, and may change
    it); of the chunks, only the latest one's bytes are kept, and parsed once the stream ends.
    """

    #: The sink, in a list until it is used: list.pop() is one atomic step, so the usage is
    #: handed on exactly once, whichever of the end of iteration, close() and __del__
    #: (possibly on different threads) comes first. (A tuple here: before __init__ ran.)
    _once: list[Sink] | tuple[()] = ()

    def __init__(
        self,
        inner: EventStream[dict[str, Any]],
        operation: str,
        sink: Sink | None,
        head: Head,
        restart: Restart | None = None,
    ) -> None:
        # botocore's EventStream.__init__ is not called: this object only delegates. Every
        # attribute is set, always in this order: instances then share one key layout, which
        # keeps attribute access on the per-event path fast.
        self._inner: Any = inner
        self._once = [sink] if sink is not None else []
        self._head = head
        self._restart = restart
        self._figures: Figures = NO_FIGURES
        self._last: Any = None  # the latest chunk's bytes (InvokeModelWithResponseStream)
        self._converse = operation == "ConverseStream"

    def __iter__(self) -> Iterator[dict[str, Any]]:
        started = False
        try:
            while True:
                inner = self._inner
                try:
                    # The loops are written out: this is the per-event path.
                    if not self._once:  # nothing to record
                        for event in inner:
                            started = True
                            yield event
                    elif self._converse:
                        # Read before the event is handed on: consumers change events
                        # (LangChain pops "usage" from this one).
                        for event in inner:
                            started = True
                            if "metadata" in event:
                                self._figures = stream_metadata_figures(event)
                            yield event
                    else:
                        # The metrics ride on the last chunk: keep the latest chunk's bytes
                        # (immutable, whatever the consumer does to the event) and parse
                        # only the last one, once the stream ends.
                        for event in inner:
                            started = True
                            try:  # noqa: SIM105 - zero-cost try; suppress() is a call per event
                                self._last = event["chunk"]["bytes"]
                            except (KeyError, TypeError):
                                pass
                            yield event
                    return
                except EventStreamError as exc:
                    restart, self._restart = self._restart, None
                    if started or restart is None:
                        raise
                    replacement = restart(exc)
                    if not isinstance(replacement, tuple):  # None: the error goes through
                        raise
                    self._resume_on(replacement)
        finally:
            self._finish()

    def __aiter__(self) -> AsyncIterator[dict[str, Any]]:
        """``async for``, over an aiobotocore ``AioEventStream``: the same recording as
        ``for`` (see the class), and the same reactive restart (awaited).

        A consumer that stops early (``break``, an exception, the task cancelled) leaves the
        loop through the ``finally`` below: the HTTP response is closed, and what was seen is
        recorded, as :meth:`close` does.
        """
        return self._events()

    async def _events(self) -> AsyncIterator[dict[str, Any]]:
        started = done = False
        try:
            while True:
                inner = self._inner
                try:
                    async for event in inner:
                        started = True
                        if self._once:
                            if self._converse:
                                if "metadata" in event:
                                    self._figures = stream_metadata_figures(event)
                            else:
                                try:  # noqa: SIM105 - as in __iter__
                                    self._last = event["chunk"]["bytes"]
                                except (KeyError, TypeError):
                                    pass
                        yield event
                    done = True
                    return
                except EventStreamError as exc:
                    restart, self._restart = self._restart, None
                    if started or restart is None:
                        raise
                    replacement = restart(exc)
                    if inspect.isawaitable(replacement):
                        replacement = await replacement
                    if not isinstance(replacement, tuple):
                        raise
                    self._resume_on(replacement)
        finally:
            if not done:
                try:
                    self._inner.close()  # the connection is not left half-read
                finally:
                    self._finish()
            else:
                self._finish()

    def _resume_on(self, replacement: tuple[Any, Sink | None, Head]) -> None:
        """Go on with a reactive fallback's stream: the failed one is closed, and the usage
        recorded is the replacement's."""
        self._inner.close()
        self._inner, sink, self._head = replacement
        self._once = [sink] if sink is not None else []

    def _finish(self) -> None:
        try:
            sink: Sink | None = self._once.pop()  # type: ignore[union-attr]
        except (IndexError, AttributeError):
            sink = None  # already handed on (or never set)
        # The restart callable refers back to the response that holds this stream: dropping
        # it breaks the cycle, so a finished stream is freed at once, without the collector.
        self._restart = None
        if sink is not None:
            last = self._last
            try:
                figures = self._figures if last is None else last_chunk_figures(last)
                template, when, request_id = self._head
                sink(template.pending(when, figures, request_id))
            except Exception:  # recording must never break the caller's iteration
                logger.exception("bedrock_lifecycle.record_failed")
        # Nothing is left for a finaliser to do: drop the one of LiveStream (a Python-level
        # __del__ costs a call on every stream freed). Last, after every attribute read here.
        self.__class__ = GovernedStream

    def close(self) -> None:
        """Close the underlying HTTP stream and record what was seen."""
        try:
            self._inner.close()
        finally:
            self._finish()

    def get_initial_response(self) -> Any:
        return self._inner.get_initial_response()

    # The rest of botocore's EventStream, read through to the stream underneath. (Not a
    # __getattr__: that would slow down every attribute this class reads on the event path.)

    @property
    def _raw_stream(self) -> Any:
        return self._inner._raw_stream

    @property
    def _output_shape(self) -> Any:
        return self._inner._output_shape

    @property
    def _operation_name(self) -> Any:
        return self._inner._operation_name

    @property
    def _parser(self) -> Any:
        return self._inner._parser

    @property
    def _event_generator(self) -> Any:
        return self._inner._event_generator

    def _create_raw_event_generator(self) -> Any:
        return self._inner._create_raw_event_generator()

    def _parse_event(self, event: Any) -> Any:
        return self._inner._parse_event(event)

    def __repr__(self) -> str:
        return f"<GovernedStream of {self._inner!r}>"


class LiveStream(GovernedStream):
    """A :class:`GovernedStream` that has not finished yet.

    Every stream starts as this class (one type on the per-event path, whatever the ledger);
    finishing turns it into a plain :class:`GovernedStream`, so only a stream dropped before it
    finished runs the finaliser.
    """

    def __del__(self) -> None:
        # A stream dropped half-way (or never iterated) is recorded with what was seen.
        self._finish()
