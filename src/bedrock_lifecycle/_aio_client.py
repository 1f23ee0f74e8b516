"""The async face: an aiobotocore ``bedrock-runtime`` client governed as the sync one is.

A thin face over the same decision code as :mod:`._client` and :mod:`._hooks`:
:meth:`Governor.reuse` / :meth:`Decision.prepare` / :meth:`Decision.finish` for a reused
decision, :meth:`Governor.plan` / :meth:`Governor.finish` otherwise, :func:`reactive_plan` after
an error. Only the sends are awaited. What may touch the network or the disk on the way to a
decision (the catalog's control-plane refresh and ARN resolution, a shared policy's read, the
catalog file written after a lifecycle error) runs in a worker thread
(:func:`asyncio.to_thread`): planning a call (a reused decision missed) and planning a reactive
fallback. The warnings said while planning are kept (:func:`deferred_warnings`) and issued on
the event loop, at the caller's line, as the sync face issues them. A reused decision, the
common case, stays on the loop: it costs microseconds and reads nothing but memory.

Streams are the same :class:`GovernedStream` as the sync face's, read with ``async for``.

Threads that need the aiobotocore client (shadow traffic's workers, a catalog whose control
plane is an aiobotocore ``bedrock`` client) go through :class:`LoopBridge`: each call runs on
the client's event loop while the thread waits.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import inspect
import io
import threading
import warnings
from collections.abc import Callable, Coroutine, Mapping, MutableMapping
from functools import partial
from types import TracebackType
from typing import TYPE_CHECKING, Any, NamedTuple

from botocore.exceptions import ClientError, EventStreamError

from ._client import reactive_plan
from ._decision import Decision
from ._face import MAX_SENDS, GovernedFace
from ._governor import Governor, caller_stacklevel, deferred_warnings
from ._operations import OPERATIONS, STREAM_KEYS
from ._plan import CallPlan
from ._streams import Head, Sink

if TYPE_CHECKING:
    from types_aiobotocore_bedrock_runtime import BedrockRuntimeClient as _AioClientBase
    from types_aiobotocore_bedrock_runtime.type_defs import (
        ConverseResponseTypeDef,
        ConverseStreamResponseTypeDef,
        CountTokensResponseTypeDef,
        InvokeModelResponseTypeDef,
        InvokeModelWithResponseStreamResponseTypeDef,
        StartAsyncInvokeResponseTypeDef,
    )
    from typing_extensions import Self

    from ._shadow import Shadow
else:
    _AioClientBase = object

__all__ = ["AsyncLifecycleClient", "LoopBridge"]

#: Seconds ``close()`` / ``async with`` waits for shadows still being sent on this client.
_DRAIN_SECONDS = 5.0


class _Planned(NamedTuple):
    """What a planning step in a worker thread gave: its value or error, and its warnings."""

    value: Any
    error: BaseException | None
    said: list[tuple[str, type[Warning]]]


def _run_deferred(function: Callable[..., Any], *args: Any) -> _Planned:
    with deferred_warnings() as said:
        try:
            value = function(*args)
        except Exception as exc:
            return _Planned(None, exc, list(said))
    return _Planned(value, None, list(said))


async def _off_loop(function: Callable[..., Any], *args: Any) -> Any:
    """``function(*args)`` in a worker thread; its lifecycle warnings are issued here, on the
    event loop, pointing at the caller's line (the first frame outside the library).

    A call cancelled meanwhile stops waiting at once; the planning finishes in its thread (a
    thread cannot be stopped) and its warnings are logged but not issued.
    """
    outcome: _Planned = await asyncio.to_thread(_run_deferred, function, *args)
    for message, category in outcome.said:
        warnings.warn(message, category, stacklevel=caller_stacklevel())
    if outcome.error is not None:
        raise outcome.error
    return outcome.value


class AsyncLifecycleClient(GovernedFace, _AioClientBase):
    """A governed aiobotocore ``bedrock-runtime`` client.

    Every method is awaited exactly as aiobotocore's is, with the same arguments and results;
    the six model invocations are governed as :class:`LifecycleClient`'s are (the same policy,
    warnings, proactive and reactive fallback, request adaptation, ledger, budgets and shadow
    traffic, decided by the same code). Streams (``response["stream"]``, ``response["body"]``)
    are read with ``async for`` and record their usage as they end. ``async with`` enters and
    leaves the client underneath. Made by :func:`bedrock_lifecycle.wrap` given an aiobotocore
    client, or by :func:`bedrock_lifecycle.aio.client`. Safe to share across the tasks of one
    event loop, as aiobotocore clients are.
    """

    def __init__(
        self, runtime_client: Any, governor: Governor, shadow: Shadow | None = None
    ) -> None:
        super().__init__(runtime_client, governor, shadow)
        self._bridge: LoopBridge | None = None

    async def __aenter__(self) -> Self:
        await self._client.__aenter__()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc_val: BaseException | None,
        exc_tb: TracebackType | None,
    ) -> None:
        try:
            await self.drain_shadows()
        finally:
            await self._client.__aexit__(exc_type, exc_val, exc_tb)

    async def close(self) -> None:  # type: ignore[override]
        """Wait (briefly) for shadows still being sent on this client, then close it."""
        try:
            await self.drain_shadows()
        finally:
            await self._client.close()

    async def drain_shadows(self, timeout: float = _DRAIN_SECONDS) -> None:
        """Wait up to ``timeout`` seconds for the shadow calls this client is sending."""
        if self._bridge is not None:
            await self._bridge.drain(timeout)

    # -- governed operations -------------------------------------------------------------------

    if TYPE_CHECKING:  # the signatures; at run time, the methods _governed() makes

        async def converse(self, **kwargs: Any) -> ConverseResponseTypeDef: ...

        async def converse_stream(self, **kwargs: Any) -> ConverseStreamResponseTypeDef: ...

        async def invoke_model(self, **kwargs: Any) -> InvokeModelResponseTypeDef: ...

        async def invoke_model_with_response_stream(
            self, **kwargs: Any
        ) -> InvokeModelWithResponseStreamResponseTypeDef: ...

        async def count_tokens(self, **kwargs: Any) -> CountTokensResponseTypeDef: ...

        async def start_async_invoke(self, **kwargs: Any) -> StartAsyncInvokeResponseTypeDef: ...

    # -- the call ------------------------------------------------------------------------------

    async def _decide_and_call(
        self, operation: str, method: Callable[..., Any], kwargs: dict[str, Any]
    ) -> Any:
        """A call with no reusable decision: plan it (in a thread), send it, finish it."""
        governor = self._governor
        plan: CallPlan | None = await _off_loop(
            partial(governor.plan, exceptions=self._exceptions), operation, kwargs, self._region
        )
        if plan is None:
            return await method(**kwargs)
        try:
            response = await method(**plan.params)
        except ClientError as exc:
            return await self._after_error(method, plan, kwargs, exc)
        self._finish(plan, response)
        if self._shadow is not None:
            self._offer(operation, kwargs, response, None)
        return response

    def _finish(self, plan: CallPlan, response: Any) -> Any:
        """Annotate and record a planned call's response (streams get the reactive restart)."""
        restart = None
        if plan.operation in STREAM_KEYS:
            restart = partial(self._restart_stream, plan, response)
        self._governor.finish(plan, response, restart)
        return response

    async def _after_error(
        self,
        method: Callable[..., Any],
        plan: CallPlan,
        kwargs: dict[str, Any],
        exc: ClientError,
    ) -> Any:
        """The sync face's ``_after_error``, awaited: what to send next is
        :func:`reactive_plan`'s answer, within the same limits."""
        attempts = sends = 1
        while True:
            retry = await self._reactive(plan, kwargs, exc, attempts)
            if retry is None:
                raise exc
            same_model = retry.invoked_model_id == plan.invoked_model_id
            attempts = attempts + 1 if same_model else 1
            sends += 1
            try:
                response = await method(**retry.params)
            except ClientError as again:
                if sends >= MAX_SENDS:
                    raise
                plan, exc = retry, again
                continue
            return self._finish(retry, response)

    async def _reactive(
        self, plan: CallPlan, kwargs: Mapping[str, Any], exc: ClientError, attempts: int = 1
    ) -> CallPlan | None:
        """:func:`reactive_plan`, in a worker thread (it may refresh the catalog and write its
        file)."""
        found: CallPlan | None = await _off_loop(
            reactive_plan, self._governor, plan, kwargs, exc, attempts, self._exceptions
        )
        return found

    async def _restart_reused(
        self,
        decision: Decision,
        sent: Mapping[str, Any],
        kwargs: dict[str, Any],
        now: float,
        adapted: tuple[str, ...],
        response: MutableMapping[str, Any],
        error: EventStreamError,
    ) -> tuple[Any, Sink | None, Head] | None:
        plan = decision.plan_for(sent, kwargs, now, adapted)
        return await self._restart_stream(plan, response, error)

    async def _restart_stream(
        self, failed: CallPlan, response: MutableMapping[str, Any], error: EventStreamError
    ) -> tuple[Any, Sink | None, Head] | None:
        """Reactive fallback for a stream that failed before its first event."""
        governor = self._governor
        if not governor.policy.reactive_fallback:
            return None
        retry = await self._reactive(failed, dict(failed.requested_params or failed.params), error)
        if retry is None:
            return None
        method: Callable[..., Any] = getattr(self._client, OPERATIONS[failed.operation].method)
        fresh = await method(**retry.params)
        governor.mark(retry, response)
        sink, head = governor.stream_target(retry, fresh)
        return fresh[STREAM_KEYS[failed.operation]], sink, head

    # -- shadow traffic ------------------------------------------------------------------------

    def _offer(
        self,
        operation: str,
        kwargs: Mapping[str, Any],
        response: MutableMapping[str, Any],
        now: float | None,
    ) -> None:
        shadow = self._shadow
        assert shadow is not None
        shadow.offer(
            self._governor, self._shadow_client, operation, self._region, kwargs, response, now
        )

    def _shadow_client(self, region: str | None) -> LoopBridge:
        """What a shadow worker thread sends with: this client, through its event loop."""
        bridge = self._bridge
        assert bridge is not None  # made on the loop by _ensure_bridge before any offer
        return bridge

    def _ensure_bridge(self) -> None:
        loop = asyncio.get_running_loop()
        bridge = self._bridge
        if bridge is None or bridge.loop is not loop:
            self._bridge = LoopBridge(self._client, loop)


def _governed(operation: str, name: str) -> Callable[..., Any]:
    """The governed method ``name`` of :class:`AsyncLifecycleClient`: the sync face's
    ``_governed``, awaited (a reused decision is applied on the loop; anything else goes to
    ``_decide_and_call``)."""
    streaming = operation in STREAM_KEYS

    async def governed(self: AsyncLifecycleClient, **kwargs: Any) -> Any:
        method: Callable[..., Any] = getattr(self._client, name)
        if self._shadow is not None:
            self._ensure_bridge()
        model = kwargs.get("modelId")
        if type(model) is str:
            reused = self._governor.reuse(operation, model, self._region)
            if reused is not None:
                decision, now = reused
                sent, adapted = decision.prepare(kwargs)
                try:
                    response = await method(**sent)
                except ClientError as exc:
                    # Bedrock may know better (an end of life the catalog did not).
                    plan = decision.plan_for(sent, kwargs, now, adapted)
                    return await self._after_error(method, plan, kwargs, exc)
                restart = None
                if streaming:
                    restart = partial(
                        self._restart_reused, decision, sent, kwargs, now, adapted, response
                    )
                decision.finish(response, now, restart, adapted)
                if self._shadow is not None:
                    self._offer(operation, kwargs, response, now)
                return response
        return await self._decide_and_call(operation, method, kwargs)

    governed.__name__ = name
    governed.__qualname__ = f"AsyncLifecycleClient.{name}"
    governed.__doc__ = (
        f"``{operation}``, governed and awaited: checked against the lifecycle catalog, warned "
        "about, rewritten to a successor or refused by the policy, and recorded in the ledger. "
        f"Same arguments and result as the aiobotocore client's ``{name}``."
    )
    return governed


for _operation in OPERATIONS.values():
    setattr(AsyncLifecycleClient, _operation.method, _governed(_operation.name, _operation.method))
del _operation


class LoopBridge:
    """An aiobotocore client's methods, callable from other threads: each call is run on the
    client's event loop (``asyncio.run_coroutine_threadsafe``) while the calling thread waits.

    Used by shadow traffic's worker threads and by a catalog whose control plane is an
    aiobotocore ``bedrock`` client (its refreshes run in threads). A body that must be read
    (``await body.read()``) is read on the loop and handed back as a file-like object. Called
    on the loop's own thread it raises rather than block the loop; after :meth:`shut`, it
    raises at once.
    """

    def __init__(self, client: Any, loop: asyncio.AbstractEventLoop, timeout: float = 0.0) -> None:
        self._client = client
        self.loop = loop
        config = getattr(getattr(client, "meta", None), "config", None)
        read = getattr(config, "read_timeout", None) or 60
        connect = getattr(config, "connect_timeout", None) or 60
        self._timeout = timeout or float(read) + float(connect) + 5.0
        self._lock = threading.Lock()
        self._pending: set[concurrent.futures.Future[Any]] = set()
        self._shut = False

    @property
    def meta(self) -> Any:
        return self._client.meta

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)
        value = getattr(self._client, name)
        if not callable(value):
            return value
        return partial(self.call, name)

    def call(self, name: str, **kwargs: Any) -> Any:
        """``await client.<name>(**kwargs)`` on the loop, from another thread."""
        return self.run(self._on_loop(name, kwargs))

    def run(self, coroutine: Coroutine[Any, Any, Any]) -> Any:
        """Run ``coroutine`` on the loop and wait for it (from a thread other than the loop's)."""
        if self._shut or self.loop.is_closed():
            coroutine.close()
            raise RuntimeError("the event loop this aiobotocore client runs on is gone")
        if _running_loop() is self.loop:
            coroutine.close()
            raise RuntimeError("a blocking call on the event loop's own thread was refused")
        future = asyncio.run_coroutine_threadsafe(coroutine, self.loop)
        with self._lock:
            self._pending.add(future)
        try:
            return future.result(self._timeout)
        except concurrent.futures.TimeoutError:
            future.cancel()
            raise
        finally:
            with self._lock:
                self._pending.discard(future)

    async def _on_loop(self, name: str, kwargs: dict[str, Any]) -> Any:
        response = getattr(self._client, name)(**kwargs)
        if inspect.isawaitable(response):  # an API method (not a coroutine function itself)
            response = await response
        body = response.get("body") if isinstance(response, Mapping) else None
        if body is not None and inspect.iscoroutinefunction(getattr(body, "read", None)):
            data = await body.read()
            response = {**response, "body": io.BytesIO(data)}
        return response

    async def drain(self, timeout: float) -> None:
        """Wait up to ``timeout`` seconds for the calls in flight (on this loop)."""
        with self._lock:
            pending = [asyncio.wrap_future(future) for future in self._pending]
        if pending:
            await asyncio.wait(pending, timeout=timeout)

    def shut(self) -> None:
        """Refuse every later call."""
        self._shut = True


def _running_loop() -> asyncio.AbstractEventLoop | None:
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        return None
