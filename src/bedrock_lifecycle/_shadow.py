"""Shadow traffic: a sample of production calls mirrored to each model's successor.

After a governed call has returned to its caller, :meth:`Shadow.offer` decides on the caller's
thread, in microseconds, whether to mirror it (the operation, the model filter, the sampling
rate, the limits) and queues it. A worker thread sends the same request, rewritten and adapted
as a fallback would be (:meth:`Governor.rehearsal`), to the successor, and once both answers are
known writes one :class:`~bedrock_lifecycle.ShadowRecord` to the shadow ledger. The caller never
waits for a shadow and never sees its errors.

The primary's answer is read where it is complete: a Converse response at once; an InvokeModel
body as the caller reads it; a stream as the caller iterates it. A pair whose primary is never
read to the end is written at :meth:`Shadow.close` with what was seen.
"""

from __future__ import annotations

import atexit
import functools
import inspect
import itertools
import json
import logging
import math
import queue
import random
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterable, Iterator, Mapping, MutableMapping
from datetime import datetime, timezone
from functools import partial
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from ._constraints import MAX_ATTEMPTS
from ._operations import OPERATIONS
from ._pricing import compute_cost
from ._shadow_record import (
    ShadowRecord,
    ShadowSide,
    converse_reply,
    failed_side,
    invoke_reply,
    prompt_hash,
    text_similarity,
)
from ._streams import GovernedStream
from ._usage import (
    NO_FIGURES,
    converse_figures,
    figures_from_tail,
    invoke_header_figures,
    last_chunk_figures,
    stream_metadata_figures,
    usage_from_figures,
)
from .ledger import Ledger, MemoryLedger

if TYPE_CHECKING:
    from ._decision import Rewrite
    from ._governor import Governor

__all__ = ["Shadow", "require_shadow"]

logger = logging.getLogger("bedrock_lifecycle.shadow")

#: Pairs kept waiting for their primary's answer (a body or stream not read yet) at most.
_MAX_WAITING = 1024

#: The operation a shadow is sent with: a stream is mirrored by its non-streaming twin.
TWINS: dict[str, str] = {
    "Converse": "Converse",
    "ConverseStream": "Converse",
    "InvokeModel": "InvokeModel",
    "InvokeModelWithResponseStream": "InvokeModel",
}

Scorer = Callable[[Mapping[str, Any], Mapping[str, Any], Mapping[str, Any]], float]
ClientFor = Callable[[str | None], Any]
"""Gives the (ungoverned) bedrock-runtime client shadows in a region are sent with."""

_STOP = object()


class _Window:
    """A count that stops at ``limit`` until its window (a minute or a UTC day) ends."""

    __slots__ = ("key", "limit", "name", "spent")

    def __init__(self, name: str, limit: float | None) -> None:
        self.name = name
        self.limit = limit
        self.key = -1
        self.spent = 0.0

    def open(self, key: int) -> bool:
        """Whether the window ``key`` still has room (a new window starts empty)."""
        if self.limit is None:
            return True
        if key != self.key:
            self.key, self.spent = key, 0.0
        return self.spent < self.limit

    def add(self, key: int, amount: float) -> bool:
        """Count ``amount``; ``True`` when this fills the window (said once per window)."""
        if self.limit is None:
            return False
        if key != self.key:
            self.key, self.spent = key, 0.0
        before = self.spent
        self.spent += amount
        return before < self.limit <= self.spent


class _Pair:
    """One mirrored call: the two halves, joined when both are known."""

    __slots__ = (
        "governor",
        "halves",
        "operation",
        "params",
        "primary",
        "region",
        "response",
        "shadow",
        "shadow_response",
        "shadow_text",
        "target",
        "timestamp",
        "twin",
    )

    def __init__(
        self,
        governor: Governor,
        operation: str,
        region: str | None,
        params: Mapping[str, Any],
        response: MutableMapping[str, Any],
        target: Rewrite,
        timestamp: float,
    ) -> None:
        self.governor = governor
        self.operation = operation
        self.twin = TWINS[operation]
        self.region = region
        self.params = params
        self.response = response
        self.target = target
        self.timestamp = timestamp
        self.primary: Callable[[], dict[str, Any]] | None = None
        """What the primary answered, read on the worker thread (:func:`_seen_of`): figures,
        text, stop reason (``None``: nothing known yet)."""
        self.shadow: ShadowSide | None = None
        self.shadow_response: Mapping[str, Any] = {}
        self.shadow_text: str | None = None
        self.halves = itertools.count()
        """Halves done so far: ``next()`` on it is one atomic step (no lock per pair)."""


def require_shadow(value: object) -> Shadow:
    """``value`` if it is a :class:`Shadow`; a ``TypeError`` naming its type if not."""
    if not isinstance(value, Shadow):
        raise TypeError(f"shadow must be a Shadow, not {type(value).__name__}")
    return value


class Shadow:
    """Mirror a sample of governed calls to each model's successor, off the caller's thread.

    Pass it as ``shadow=`` to :func:`bedrock_lifecycle.wrap`, :func:`~bedrock_lifecycle.client`
    or :func:`~bedrock_lifecycle.install`. One ``Shadow`` may serve several clients.

    - ``to``: the model every mirrored call goes to (default: the successor the policy's chain
      would pick for the call's model; calls to a model without one are not mirrored).
    - ``rate``: the share of calls mirrored, from 0 to 1.
    - ``models``: mirror only calls to these model ids (as the caller writes them).
    - ``ledger``: where :class:`~bedrock_lifecycle.ShadowRecord` s go (default: a
      ``MemoryLedger[ShadowRecord]``); kept apart from the usage ledger.
    - ``max_in_flight``: shadows queued or running at once; past it a shadow is dropped.
    - ``max_calls_per_minute`` and ``max_cost_usd_per_day``: past either, shadowing stops for
      the rest of that minute or UTC day (by the catalog's clock), with one log line.
    - ``keep_text``: keep the prompt and both replies in the records (default: no text is kept).
    - ``scorer``: ``scorer(request, primary_response, shadow_response) -> float``, run on the
      worker thread; both responses are shaped as the non-streaming operation returns them
      (see docs/rehearsal.md). A scorer that raises gives a ``None`` score.
    """

    def __init__(
        self,
        to: str | None = None,
        rate: float = 0.05,
        models: Iterable[str] | None = None,
        ledger: Ledger[ShadowRecord] | None = None,
        max_in_flight: int = 4,
        max_calls_per_minute: int | None = 60,
        max_cost_usd_per_day: float | None = None,
        keep_text: bool = False,
        scorer: Scorer | None = None,
    ) -> None:
        if to is not None and (not isinstance(to, str) or not to):
            raise TypeError(f"Shadow(to=...) must be a model id, not {to!r}")
        if isinstance(rate, bool) or not isinstance(rate, (int, float)) or not 0 <= rate <= 1:
            raise ValueError(f"Shadow(rate=...) must be a number from 0 to 1, not {rate!r}")
        if isinstance(models, str):
            raise TypeError("Shadow(models=...) takes a list of model ids, not one string")
        if (
            isinstance(max_in_flight, bool)
            or not isinstance(max_in_flight, int)
            or max_in_flight < 1
        ):
            raise ValueError(f"Shadow(max_in_flight=...) must be at least 1, not {max_in_flight!r}")
        if max_calls_per_minute is not None and (
            isinstance(max_calls_per_minute, bool)
            or not isinstance(max_calls_per_minute, int)
            or max_calls_per_minute < 1
        ):
            raise ValueError(
                "Shadow(max_calls_per_minute=...) must be at least 1 or None, "
                f"not {max_calls_per_minute!r}"
            )
        if max_cost_usd_per_day is not None and (
            isinstance(max_cost_usd_per_day, bool)
            or not isinstance(max_cost_usd_per_day, (int, float))
            or not math.isfinite(max_cost_usd_per_day)
            or max_cost_usd_per_day <= 0
        ):
            raise ValueError(
                "Shadow(max_cost_usd_per_day=...) must be a positive number or None, "
                f"not {max_cost_usd_per_day!r}"
            )
        if scorer is not None and not callable(scorer):
            raise TypeError(f"Shadow(scorer=...) must be callable, not {type(scorer).__name__}")
        if ledger is not None and not callable(getattr(ledger, "record", None)):
            raise TypeError(
                f"Shadow(ledger=...) must be a ledger sink, not {type(ledger).__name__}"
            )
        self.to = to
        self.rate = float(rate)
        self.models: frozenset[str] | None = None if models is None else frozenset(models)
        self.ledger: Ledger[ShadowRecord] = (
            ledger if ledger is not None else MemoryLedger[ShadowRecord]()
        )
        self.max_in_flight = max_in_flight
        self.keep_text = bool(keep_text)
        self.scorer = scorer
        self._minute = _Window("max_calls_per_minute", max_calls_per_minute)
        self._day = _Window("max_cost_usd_per_day", max_cost_usd_per_day)
        self._lock = threading.Lock()
        self._queue: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._threads: list[threading.Thread] = []
        self._in_flight = 0
        self._open: dict[_Pair, None] = {}
        """Pairs not written yet, oldest first."""
        self._targets: dict[tuple[Governor, str, str, str | None], tuple[int, Rewrite | None]] = {}
        self._closed = False
        self._abandon = False
        self._counts = {"sent": 0, "dropped": 0, "failed": 0, "limited": 0}
        self._random = random.random

    # -- what users read -----------------------------------------------------------------

    @property
    def dropped(self) -> int:
        """Shadows dropped because ``max_in_flight`` were already queued or running (or the
        shadow was closed)."""
        return self._counts["dropped"]

    def stats(self) -> dict[str, int]:
        """Counts so far: ``sent`` (shadow calls made), ``dropped`` (no room, or closed),
        ``failed`` (shadow calls that raised) and ``limited`` (skipped by a rate or cost
        limit)."""
        with self._lock:
            return dict(self._counts)

    def records(self) -> list[ShadowRecord]:
        """The shadow ledger's records (when it can give them back; else ``[]``)."""
        reader = getattr(self.ledger, "records", None)
        return list(reader()) if callable(reader) else []

    def __repr__(self) -> str:
        return f"<Shadow rate={self.rate} to={self.to!r} {self.stats()}>"

    def __enter__(self) -> Shadow:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- the caller's side ---------------------------------------------------------------

    def offer(
        self,
        governor: Governor,
        client_for: ClientFor,
        operation: str,
        region: str | None,
        params: Mapping[str, Any],
        response: MutableMapping[str, Any],
        now: float | None = None,
    ) -> None:
        """Consider one governed call that has just succeeded, on the caller's thread.

        ``params`` are the caller's own parameters; ``response`` the response about to be
        returned (its stream or body is watched in place when the call is mirrored); ``now``
        the call's time by the catalog's clock (POSIX seconds), when the caller has it. Never
        raises, never blocks on a shadow. One function on purpose: it runs on every call.
        """
        try:
            if operation not in TWINS or self._closed:
                return
            model = params.get("modelId")
            if type(model) is not str:
                return
            models = self.models
            if (models is not None and model not in models) or self._random() >= self.rate:
                return
            if operation[0] == "I" and type(params.get("body")) not in (bytes, str):
                return  # a file-like body was read by the primary call: nothing left to send
            metadata = response.get("ResponseMetadata")
            block = metadata.get("BedrockLifecycle") if type(metadata) is dict else None
            if type(block) is dict and block.get("fallback"):
                return  # the call already went to a successor: there is nothing to rehearse
            target = self._target(governor, operation, model, region)
            if target is None:
                return
            if now is None:
                now = governor.catalog.timestamp()
            with self._lock:
                refused = self._admit(now)
                if refused is not None:
                    self._counts[refused] += 1
                    return
                self._in_flight += 1
                pair = _Pair(governor, operation, region, params, response, target, now)
                self._open[pair] = None
                if not self._threads:
                    self._start()
            _watch_primary(pair, self)
            self._queue.put((self._send, pair, client_for))
        except Exception:  # the caller's call has succeeded: nothing here may break it
            logger.exception("bedrock_lifecycle.shadow_failed")

    def _admit(self, now: float) -> str | None:
        """Under the lock: ``None`` when a shadow may start at ``now`` (counted in the minute's
        window), else the count it goes to (``"limited"`` or ``"dropped"``)."""
        minute = self._minute
        if minute.limit is not None and not minute.open(int(now // 60)):
            return "limited"
        day = self._day
        if day.limit is not None and not day.open(int(now // 86400)):
            return "limited"
        if self._in_flight >= self.max_in_flight:
            return "dropped"
        if minute.limit is not None and minute.add(int(now // 60), 1):
            self._limit_reached(minute, "minute")
        return None

    def _target(
        self, governor: Governor, operation: str, model: str, region: str | None
    ) -> Rewrite | None:
        """How a call is mirrored (``None``: it is not), kept per catalog generation: the
        rewrite keeps its adapter's memo of request shapes, as a reused fallback does."""
        key = (governor, operation, model, region)
        found = self._targets.get(key)
        generation = governor.catalog.generation
        if found is not None and found[0] == generation:
            return found[1]
        rewrite = governor.rehearsal(TWINS[operation], model, region, self.to)
        if len(self._targets) > 1024:
            self._targets.clear()
        self._targets[key] = (generation, rewrite)
        return rewrite

    def _limit_reached(self, window: _Window, span: str) -> None:
        logger.warning(
            "bedrock_lifecycle.shadow_limited: %s=%s reached; no shadow traffic for the rest of "
            "this %s",
            window.name,
            window.limit,
            span,
            extra={"bedrock_lifecycle.limit": window.name},
        )

    # -- the worker's side ---------------------------------------------------------------

    def _start(self) -> None:
        """Start the workers (under the lock, at the first mirrored call)."""
        for number in range(min(self.max_in_flight, 8)):
            thread = threading.Thread(
                target=self._work, name=f"bedrock-lifecycle-shadow-{number}", daemon=True
            )
            thread.start()
            self._threads.append(thread)
        atexit.register(self.close, 2.0)

    def _work(self) -> None:
        while True:
            job = self._queue.get()
            if job is _STOP:
                return
            function, *arguments = job
            if self._abandon and function is self._send:
                self._settle(arguments[0], None)
                continue
            try:
                function(*arguments)
            except Exception:  # a worker never dies of one job
                logger.exception("bedrock_lifecycle.shadow_failed")

    def _send(self, pair: _Pair, client_for: ClientFor) -> None:
        """Send one shadow and keep its side of the pair."""
        governor = pair.governor
        rewrite = pair.target
        client = client_for(pair.region)
        method = getattr(client, OPERATIONS[pair.twin].method)
        started = time.perf_counter()
        try:
            response = self._call(governor, rewrite, method, pair)
        except Exception as exc:
            side = failed_side(rewrite.model_id, exc, _ms(started))
            with self._lock:
                self._counts["sent"] += 1
                self._counts["failed"] += 1
            self._settle(pair, side, {})
            return
        seen = _seen_of(pair.twin, response)
        pair.shadow_text = seen.get("text")
        side = self._side(pair, rewrite.model_id, seen, _ms(started))
        with self._lock:
            self._counts["sent"] += 1
            if side.cost_usd is not None:
                day = int(governor.catalog.timestamp() // 86400)
                if self._day.add(day, side.cost_usd):
                    self._limit_reached(self._day, "day")
        self._settle(pair, side, response)

    @staticmethod
    def _call(
        governor: Governor, rewrite: Rewrite, method: Callable[..., Any], pair: _Pair
    ) -> dict[str, Any]:
        """Send the shadow as a fallback would send it: a parameter the successor refuses is
        learned (for every later call, shadow or fallback) and the request sent again adapted,
        up to :data:`MAX_ATTEMPTS` sends. An InvokeModel body is read here."""
        sent, _ = rewrite.apply(pair.params)
        sends = 1
        while True:
            try:
                response: dict[str, Any] = method(**sent)
            except ClientError as exc:
                error = exc.response.get("Error", {})
                code, message = error.get("Code"), error.get("Message")
                if sends == MAX_ATTEMPTS or not governor.learn_refused(
                    rewrite.target, rewrite.model_id, code, message
                ):
                    raise
                again, _ = rewrite.apply(pair.params)
                if again == sent:
                    raise  # the lesson does not change this request
                sent, sends = again, sends + 1
                continue
            if pair.twin == "InvokeModel":
                body = response.get("body")
                response = {**response, "body": body.read() if body is not None else b""}
            return response

    def _settle(
        self,
        pair: _Pair,
        side: ShadowSide | None,
        response: Mapping[str, Any] | None = None,
    ) -> None:
        """The shadow half is done (``side`` ``None``: abandoned, no record)."""
        with self._lock:
            self._in_flight -= 1
            if side is None:
                self._counts["dropped"] += 1
                self._open.pop(pair, None)
                return
            # Pairs whose primary is never read to the end wait for close(): past a bound, the
            # oldest are written now with what was seen, so a long run holds no more than that.
            stale = []
            if len(self._open) > _MAX_WAITING:
                for waiting in list(self._open)[: len(self._open) - _MAX_WAITING]:
                    if waiting.shadow is not None and waiting is not pair:
                        stale.append(waiting)
        pair.shadow = side
        pair.shadow_response = response or {}
        self._half_done(pair)
        for waiting in stale:
            self._write(waiting)

    def _half_done(self, pair: _Pair) -> None:
        if next(pair.halves) == 1:  # the second half done: the pair is complete
            if threading.current_thread() in self._threads:
                self._write(pair)
            else:  # the primary finished last, on the caller's thread: write it off that thread
                self._queue.put((self._write, pair))

    def primary_done(self, pair: _Pair, seen: Callable[[], dict[str, Any]]) -> None:
        """The primary's answer is known (called once, from the watch on its response, on
        the caller's thread): ``seen`` reads it, later, on a worker."""
        pair.primary = seen
        if next(pair.halves) == 1:  # the shadow was done first: write the pair off this thread
            self._queue.put((self._write, pair))

    def _write(self, pair: _Pair) -> None:
        with self._lock:
            if pair not in self._open:
                return
            del self._open[pair]
        shadow = pair.shadow
        assert shadow is not None
        primary_model = pair.params["modelId"]
        seen = pair.primary() if pair.primary is not None else {}
        primary = self._side(pair, primary_model, seen, None)
        score = None
        if self.scorer is not None and seen and shadow.ok:
            try:
                value = self.scorer(pair.params, _as_response(pair, seen), pair.shadow_response)
                score = float(value) if math.isfinite(float(value)) else None
            except Exception:
                logger.warning(
                    "bedrock_lifecycle.shadow_scorer_failed: the scorer raised; score left empty",
                    exc_info=True,
                )
        record = ShadowRecord(
            timestamp=datetime.fromtimestamp(pair.timestamp, timezone.utc),
            region=pair.region,
            operation=pair.operation,
            shadow_operation=pair.twin,
            primary=primary,
            shadow=shadow,
            similarity=text_similarity(seen.get("text"), pair.shadow_text) if shadow.ok else None,
            score=score,
            prompt_hash=prompt_hash(pair.params),
            prompt=_prompt_text(pair.params) if self.keep_text else None,
        )
        self.ledger.record(record)

    def _side(
        self,
        pair: _Pair,
        model_id: str,
        seen: Mapping[str, Any],
        wall_ms: float | None,
    ) -> ShadowSide:
        """One side's figures from what was seen of its answer (:func:`_seen_of`). The
        latency is the one Bedrock reports, else ``wall_ms``."""
        figures = seen.get("figures")
        usage = usage_from_figures(figures) if figures is not None else None
        latency = usage.latency_ms if usage is not None else None
        latency = float(latency) if latency is not None else wall_ms
        cost = None
        if usage is not None:
            prices = pair.governor.prices
            price = prices.price_for(model_id, pair.region) if prices is not None else None
            entry = pair.governor.catalog.lookup(model_id, pair.region)
            extended = entry.state(pair.governor.catalog.now()).name == "EXTENDED_ACCESS"
            cost = compute_cost(
                price,
                extended_access=extended,
                input_tokens=usage.input_tokens,
                output_tokens=usage.output_tokens,
                cache_read=usage.cache_read_input_tokens,
                cache_write=usage.cache_write_input_tokens,
            )[0]
        text = seen.get("text")
        return ShadowSide(
            model_id=model_id,
            latency_ms=latency,
            input_tokens=usage.input_tokens if usage is not None else None,
            output_tokens=usage.output_tokens if usage is not None else None,
            cost_usd=cost,
            stop_reason=seen.get("stop"),
            output_chars=len(text) if isinstance(text, str) else None,
            text=text if self.keep_text and isinstance(text, str) else None,
        )

    # -- shutting down -------------------------------------------------------------------

    def close(self, timeout: float = 5.0) -> None:
        """Stop mirroring, finish what is queued within ``timeout`` seconds (what is left
        then is abandoned and counted as dropped), and stop the workers.

        Pairs whose primary answer was never read to the end are written with what was seen.
        A shadow call already on the wire ends within the client's read timeout; the workers
        are daemon threads, so none can keep the process alive.
        """
        with self._lock:
            if self._closed:
                return
            self._closed = True
            threads = list(self._threads)
        deadline = time.monotonic() + max(timeout, 0.0)
        for _ in threads:
            self._queue.put(_STOP)
        for thread in threads:
            thread.join(max(deadline - time.monotonic(), 0.0))
            if thread.is_alive():
                self._abandon = True
        for thread in threads:
            thread.join(max(deadline - time.monotonic(), 0.0) + 0.05)
        with self._lock:
            unfinished = [pair for pair in self._open if pair.shadow is not None]
        for pair in unfinished:
            self._write(pair)
        try:
            self.ledger.flush()
        except Exception:
            logger.exception("bedrock_lifecycle.shadow_failed")
        atexit.unregister(self.close)


def _ms(started: float) -> float:
    return round((time.perf_counter() - started) * 1000.0, 3)


# -- what was seen of an answer -----------------------------------------------------------------


def _seen_of(operation: str, response: Mapping[str, Any]) -> dict[str, Any]:
    """Figures, text and stop reason of a non-streaming response (InvokeModel: body read)."""
    if operation == "Converse":
        text, stop = converse_reply(response)
        return {"figures": converse_figures(response), "text": text, "stop": stop}
    metadata = response.get("ResponseMetadata")
    headers = metadata.get("HTTPHeaders") if isinstance(metadata, Mapping) else None
    text, stop = invoke_reply(response.get("body"))
    return {"figures": invoke_header_figures(headers), "text": text, "stop": stop}


def _as_response(pair: _Pair, seen: Mapping[str, Any]) -> Mapping[str, Any]:
    """The primary's answer shaped as the non-streaming operation returns it, for a scorer."""
    if pair.operation == "Converse":
        return pair.response
    if pair.twin == "Converse":
        figures = seen.get("figures") or (None, None, None, None, None)
        return {
            "output": {"message": {"role": "assistant", "content": [{"text": seen.get("text")}]}},
            "stopReason": seen.get("stop"),
            "usage": {"inputTokens": figures[0], "outputTokens": figures[1]},
        }
    return {**pair.response, "body": seen.get("body", b"")}


def _prompt_text(params: Mapping[str, Any]) -> str:
    body = params.get("body")
    if isinstance(body, bytes):
        return body.decode("utf-8", "replace")
    if isinstance(body, str):
        return body
    prompt = {"messages": params.get("messages"), "system": params.get("system")}
    return json.dumps(prompt, default=repr)


def _watch_primary(pair: _Pair, shadow: Shadow) -> None:
    """Arrange for the primary's answer to reach the pair when it is complete. Runs on the
    caller's thread: nothing is parsed here, only kept (:func:`_seen_of` reads it later)."""
    response = pair.response
    operation = pair.operation
    if operation == "Converse":
        shadow.primary_done(pair, partial(_seen_of, "Converse", response))
        return
    if operation == "InvokeModel":
        body = response.get("body")
        # The headers are complete already: a body never read still leaves the figures.
        pair.primary = partial(_invoke_seen, response, None)
        if body is None:
            shadow.primary_done(pair, pair.primary)
            return
        if inspect.iscoroutinefunction(getattr(body, "read", None)):  # aiobotocore's body
            response["body"] = _AsyncWatchedBody(body, shadow, pair)
            return
        response["body"] = _watched_body()(body, shadow, pair)
        return
    key = OPERATIONS[operation].stream_key
    assert key is not None
    inner = response.get(key)
    if inner is None:
        shadow.primary_done(pair, dict)
        return
    response[key] = _WatchedStream(inner, operation == "ConverseStream", shadow, pair)


def _invoke_seen(response: Mapping[str, Any], data: bytes | None) -> dict[str, Any]:
    """What an InvokeModel primary answered: the headers' figures, and the body when read."""
    seen = _seen_of("InvokeModel", {**response, "body": data})
    seen["body"] = data or b""
    return seen


@functools.cache
def _watched_body() -> type[Any]:
    """The body class (made at first use: botocore.response costs a tenth of a second to
    import, and most processes never mirror an InvokeModel call)."""
    from botocore.response import StreamingBody

    class WatchedBody(StreamingBody):
        """An InvokeModel body that hands what the caller read to the pair once it is read to
        the end or closed (nothing more than the headers when closed unread). It reads only
        through the body underneath (which checks the length), so StreamingBody's own state
        is not set up: every method that would use it is answered by the body underneath."""

        def __init__(self, inner: Any, shadow: Shadow, pair: _Pair) -> None:
            self._body = inner
            self._shadow: Shadow | None = shadow
            self._pair = pair
            self._parts: list[bytes] = []

        def read(self, amt: int | None = None) -> bytes:
            if amt is None:
                data: bytes = self._body.read()
                parts = self._parts
                self._end(b"".join((*parts, data)) if parts else data)
                return data
            data = self._body.read(amt)
            if data:
                self._parts.append(data)
            else:
                self._end(b"".join(self._parts))
            return data

        def readable(self) -> bool:
            return bool(self._body.readable())

        def readlines(self, hint: int = -1, /) -> list[bytes]:
            return [*self.iter_lines(keepends=True)]

        def tell(self) -> int:
            return int(self._body.tell())

        def set_socket_timeout(self, timeout: float) -> None:
            self._body.set_socket_timeout(timeout)

        def close(self) -> None:
            try:
                self._body.close()
            finally:
                self._end(None)

        def _end(self, data: bytes | None) -> None:
            shadow, self._shadow = self._shadow, None
            if shadow is not None and data is not None:
                shadow.primary_done(self._pair, partial(_invoke_seen, self._pair.response, data))
            elif shadow is not None:
                shadow.primary_done(self._pair, partial(_invoke_seen, self._pair.response, None))

    return WatchedBody


class _AsyncWatchedBody:
    """:func:`_watched_body` for aiobotocore's body (``await body.read()``): what the caller
    reads is handed to the pair once it is read to the end or closed.

    aiobotocore's body class differs by release (a ``wrapt`` proxy in 2.x, a
    ``StreamingBody`` subclass in 3.x), so this one delegates instead of subclassing: the
    async reading API is its own (every way of reading goes through :meth:`read`), anything
    else is the body underneath's.
    """

    _CHUNK = 1024

    def __init__(self, inner: Any, shadow: Shadow, pair: _Pair) -> None:
        self._body = inner
        self._shadow: Shadow | None = shadow
        self._pair = pair
        self._parts: list[bytes] = []

    def __getattr__(self, name: str) -> Any:
        if name in ("_body", "_shadow", "_pair", "_parts"):
            raise AttributeError(name)
        return getattr(self._body, name)

    async def read(self, amt: int | None = None) -> bytes:
        if amt is None:
            data: bytes = await self._body.read()
            parts = self._parts
            self._end(b"".join((*parts, data)) if parts else data)
            return data
        data = await self._body.read(amt)
        if data:
            self._parts.append(data)
        else:
            self._end(b"".join(self._parts))
        return data

    async def iter_chunks(self, chunk_size: int = _CHUNK) -> AsyncIterator[bytes]:
        while True:
            chunk = await self.read(chunk_size)
            if not chunk:
                return
            yield chunk

    async def iter_lines(
        self, chunk_size: int = _CHUNK, keepends: bool = False
    ) -> AsyncIterator[bytes]:
        pending = b""
        async for chunk in self.iter_chunks(chunk_size):
            lines = (pending + chunk).splitlines(True)
            for line in lines[:-1]:
                yield line.splitlines(keepends)[0]
            pending = lines[-1]
        if pending:
            yield pending.splitlines(keepends)[0]

    async def readlines(self) -> list[bytes]:
        return [line async for line in self.iter_lines()]

    def __aiter__(self) -> AsyncIterator[bytes]:
        return self.iter_chunks()

    async def __aenter__(self) -> _AsyncWatchedBody:
        return self

    async def __aexit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        try:
            self._body.close()
        finally:
            self._end(None)

    async def aclose(self) -> None:
        self.close()

    def _end(self, data: bytes | None) -> None:
        shadow, self._shadow = self._shadow, None
        if shadow is not None:
            shadow.primary_done(self._pair, partial(_invoke_seen, self._pair.response, data))


class _WatchedStream(GovernedStream):
    """A stream whose reply, stop reason and usage are kept as the caller reads it, then handed
    to ``done`` (once: at the end, on close, or when dropped). ConverseStream text deltas are
    kept as strings; InvokeModelWithResponseStream chunks as their bytes, parsed on a worker."""

    def __init__(self, inner: Any, converse: bool, shadow: Shadow, pair: _Pair) -> None:
        # Not GovernedStream.__init__: this object records nothing, it only reads through
        # ``_inner`` (a stream that records). A stream dropped unread leaves its pair for
        # Shadow.close(), which writes it with what was seen: no finaliser on this path.
        self._inner: Any = inner
        self._converse = converse
        self._figures: Any = NO_FIGURES
        self._shadow: Shadow | None = shadow
        self._pair = pair
        self._parts: list[Any] = []
        self._stop: Any = None

    def __iter__(self) -> Iterator[dict[str, Any]]:
        parts = self._parts
        try:
            if self._converse:
                for event in self._inner:
                    if "contentBlockDelta" in event:
                        parts.append(event["contentBlockDelta"])
                    elif "messageStop" in event:
                        self._stop = event["messageStop"]
                    elif "metadata" in event:
                        self._figures = stream_metadata_figures(event)
                    yield event
            else:
                for event in self._inner:
                    if "chunk" in event:
                        parts.append(event["chunk"].get("bytes"))
                    yield event
        finally:
            self._end()

    def __aiter__(self) -> AsyncIterator[dict[str, Any]]:
        return self._watched_events()

    async def _watched_events(self) -> AsyncIterator[dict[str, Any]]:
        """``async for`` (aiobotocore): what ``__iter__`` keeps, kept the same way."""
        parts = self._parts
        try:
            async for event in self._inner:
                if self._converse:
                    if "contentBlockDelta" in event:
                        parts.append(event["contentBlockDelta"])
                    elif "messageStop" in event:
                        self._stop = event["messageStop"]
                    elif "metadata" in event:
                        self._figures = stream_metadata_figures(event)
                elif "chunk" in event:
                    parts.append(event["chunk"].get("bytes"))
                yield event
        finally:
            self._end()

    def _end(self) -> None:
        shadow, self._shadow = self._shadow, None
        if shadow is not None:
            seen = partial(_stream_seen, self._converse, self._parts, self._stop, self._figures)
            shadow.primary_done(self._pair, seen)

    def close(self) -> None:
        try:
            self._inner.close()
        finally:
            self._end()


def _stream_seen(converse: bool, parts: list[Any], stop: Any, figures: Any) -> dict[str, Any]:
    """What a streamed primary answered, from what :class:`_WatchedStream` kept."""
    if converse:
        texts = [
            part["delta"]["text"]
            for part in parts
            if isinstance(part, Mapping)
            and isinstance(part.get("delta"), Mapping)
            and isinstance(part["delta"].get("text"), str)
        ]
        reason = stop.get("stopReason") if isinstance(stop, Mapping) else None
        return {
            "figures": figures,
            "text": "".join(texts),
            "stop": reason if isinstance(reason, str) else None,
        }
    chunks = [part for part in parts if isinstance(part, bytes)]
    figures = last_chunk_figures(chunks[-1]) if chunks else figures
    if type(figures[0]) is bytes:  # an unparsed metrics tail
        figures = figures_from_tail(figures[0])
    text = "".join(_chunk_text(chunk) for chunk in chunks)
    stops = [found for found in map(_chunk_stop, chunks) if found is not None]
    return {"figures": figures, "text": text, "stop": stops[-1] if stops else None}


def _chunk_text(data: bytes) -> str:
    """The reply text in one InvokeModelWithResponseStream chunk (the known layouts)."""
    try:
        event = json.loads(data)
    except (ValueError, UnicodeDecodeError):
        return ""
    if not isinstance(event, Mapping):
        return ""
    for path in (("delta", "text"), ("outputText",), ("generation",), ("completion",)):
        value: Any = event
        for step in path:
            value = value.get(step) if isinstance(value, Mapping) else None
        if isinstance(value, str):
            return value
    text, _ = invoke_reply(data)
    return text or ""


def _chunk_stop(data: bytes) -> str | None:
    try:
        event = json.loads(data)
    except (ValueError, UnicodeDecodeError):
        return None
    if not isinstance(event, Mapping):
        return None
    delta = event.get("delta")
    if isinstance(delta, Mapping) and isinstance(delta.get("stop_reason"), str):
        return str(delta["stop_reason"])
    for key in ("stop_reason", "completionReason", "stopReason"):
        if isinstance(event.get(key), str):
            return str(event[key])
    return None
