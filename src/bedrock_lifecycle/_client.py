"""The drop-in client: a bedrock-runtime client that knows where its models stand."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterable, Mapping, MutableMapping
from functools import partial
from typing import TYPE_CHECKING, Any, overload

from botocore.exceptions import ClientError, EventStreamError

from ._catalog import Catalog, default_catalog
from ._decision import Decision
from ._face import MAX_ATTEMPTS, MAX_SENDS, GovernedFace
from ._governor import Governor, make_governor
from ._operations import OPERATIONS, STREAM_KEYS
from ._plan import CallPlan
from ._policy import Policy
from ._pricing import PriceBook
from ._streams import Head, Sink
from .ledger import Ledger

if TYPE_CHECKING:
    from mypy_boto3_bedrock_runtime import BedrockRuntimeClient as _ClientBase
    from mypy_boto3_bedrock_runtime.type_defs import (
        ConverseResponseTypeDef,
        ConverseStreamResponseTypeDef,
        CountTokensResponseTypeDef,
        InvokeModelResponseTypeDef,
        InvokeModelWithResponseStreamResponseTypeDef,
        StartAsyncInvokeResponseTypeDef,
    )
    from types_aiobotocore_bedrock_runtime import BedrockRuntimeClient as _AioClient

    from ._aio_client import AsyncLifecycleClient
    from ._budget import Budget
    from ._shadow import Shadow
else:
    _ClientBase = object

__all__ = ["LifecycleClient", "client", "make_governor", "wrap"]


class LifecycleClient(GovernedFace, _ClientBase):
    """A governed ``bedrock-runtime`` client.

    Has every method of the boto3 client with the same arguments and results. The six model
    invocations (``converse``, ``converse_stream``, ``invoke_model``,
    ``invoke_model_with_response_stream``, ``count_tokens``, ``start_async_invoke``) are checked
    against the catalog, warned about, rewritten to a successor or refused by the policy, retried
    once on a successor after a lifecycle error (reactive fallback), and recorded in the ledger.
    Everything else (``apply_guardrail``, ``meta``, ``exceptions``, paginators, ``close`` ...)
    goes straight to the wrapped client. Safe to share across threads, as boto3 clients are.
    """

    def _unwrapped(self, region: str | None) -> Any:
        """The client shadows are sent with: the ungoverned one underneath."""
        return self._client

    # -- governed operations -------------------------------------------------------------------

    if TYPE_CHECKING:  # the signatures; at run time, the methods _governed() makes

        def converse(self, **kwargs: Any) -> ConverseResponseTypeDef: ...

        def converse_stream(self, **kwargs: Any) -> ConverseStreamResponseTypeDef: ...

        def invoke_model(self, **kwargs: Any) -> InvokeModelResponseTypeDef: ...

        def invoke_model_with_response_stream(
            self, **kwargs: Any
        ) -> InvokeModelWithResponseStreamResponseTypeDef: ...

        def count_tokens(self, **kwargs: Any) -> CountTokensResponseTypeDef: ...

        def start_async_invoke(self, **kwargs: Any) -> StartAsyncInvokeResponseTypeDef: ...

    # -- the call ------------------------------------------------------------------------------

    def _decide_and_call(
        self, operation: str, method: Callable[..., Any], kwargs: dict[str, Any]
    ) -> Any:
        """A call with no reusable decision: plan it, send it, finish it."""
        governor = self._governor
        plan = governor.plan(operation, kwargs, self._region, exceptions=self._exceptions)
        if plan is None:
            return method(**kwargs)
        try:
            response = method(**plan.params)
        except ClientError as exc:
            return self._after_error(method, plan, kwargs, exc)
        self._finish(plan, response)
        if self._shadow is not None:
            self._shadow.offer(governor, self._unwrapped, operation, self._region, kwargs, response)
        return response

    def _finish(self, plan: CallPlan, response: Any) -> Any:
        """Annotate and record a planned call's response (streams get the reactive restart)."""
        restart = None
        if plan.operation in STREAM_KEYS:
            restart = partial(self._restart_stream, plan, response)
        self._governor.finish(plan, response, restart)
        return response

    def _after_error(
        self,
        method: Callable[..., Any],
        plan: CallPlan,
        kwargs: dict[str, Any],
        exc: ClientError,
    ) -> Any:
        """A call failed: retry on a successor after a lifecycle error, or on the same
        successor without what it refused; else re-raise.

        A model is sent the call at most :data:`MAX_ATTEMPTS` times (Bedrock names one refused
        parameter per answer), and a call is sent :data:`MAX_SENDS` times at most in all.
        """
        attempts = sends = 1
        while True:
            retry = self._reactive(plan, kwargs, exc, attempts)
            if retry is None:
                raise exc
            same_model = retry.invoked_model_id == plan.invoked_model_id
            attempts = attempts + 1 if same_model else 1
            sends += 1
            try:
                response = method(**retry.params)
            except ClientError as again:
                if sends >= MAX_SENDS:
                    raise
                plan, exc = retry, again
                continue
            return self._finish(retry, response)

    def _reactive(
        self, plan: CallPlan, kwargs: Mapping[str, Any], exc: ClientError, attempts: int = 1
    ) -> CallPlan | None:
        """After an error: the plan to try next, or ``None`` (see :func:`reactive_plan`)."""
        return reactive_plan(self._governor, plan, kwargs, exc, attempts, self._exceptions)

    def _restart_reused(
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
        return self._restart_stream(plan, response, error)

    def _restart_stream(
        self, failed: CallPlan, response: MutableMapping[str, Any], error: EventStreamError
    ) -> tuple[Any, Sink | None, Head] | None:
        """Reactive fallback for a stream that failed before its first event."""
        governor = self._governor
        if not governor.policy.reactive_fallback:
            return None
        retry = self._reactive(failed, dict(failed.requested_params or failed.params), error)
        if retry is None:
            return None
        method: Callable[..., Any] = getattr(self._client, OPERATIONS[failed.operation].method)
        fresh = method(**retry.params)
        governor.mark(retry, response)
        sink, head = governor.stream_target(retry, fresh)
        return fresh[STREAM_KEYS[failed.operation]], sink, head


def reactive_plan(
    governor: Governor,
    plan: CallPlan,
    kwargs: Mapping[str, Any],
    exc: ClientError,
    attempts: int,
    exceptions: Any,
) -> CallPlan | None:
    """After an error: the plan to try next, or ``None``; both wrapper faces (sync and async)
    decide with it.

    A lifecycle error moves the call to a successor (reactive fallback). A successor's
    ``ValidationException`` that names a parameter is learned, and the same successor is
    tried again with the request adapted (fewer than :data:`MAX_ATTEMPTS` sends so far).
    """
    error = exc.response.get("Error", {})
    code, message = error.get("Code"), error.get("Message")
    # A lesson is learned even on the last attempt: the next call is adapted before it goes.
    kind, learned = governor.observe_error(plan, code, message)
    if kind is None:
        if not learned or attempts >= MAX_ATTEMPTS:
            return None
        again = governor.plan(plan.operation, kwargs, plan.region, exceptions=exceptions)
        if again is None or again.adapted == plan.adapted:
            return None  # the lesson does not change this request
        return again
    if not governor.policy.reactive_fallback:
        return None
    try:
        retry = governor.plan(plan.operation, kwargs, plan.region, exceptions=exceptions)
    except ClientError as refused:
        raise refused from exc
    if retry is None or retry.invoked_model_id == plan.invoked_model_id:
        return None
    return retry


def _governed(operation: str, name: str) -> Callable[..., Any]:
    """The governed method ``name`` of :class:`LifecycleClient`.

    Written as one function per operation (no inner call) because it runs on every call: a
    reused decision (:meth:`Governor.reuse`) is applied and the call made here; anything else
    goes to ``_decide_and_call``.
    """
    streaming = operation in STREAM_KEYS

    def governed(self: LifecycleClient, **kwargs: Any) -> Any:
        method: Callable[..., Any] = getattr(self._client, name)
        model = kwargs.get("modelId")
        if type(model) is str:
            reused = self._governor.reuse(operation, model, self._region)
            if reused is not None:
                decision, now = reused
                sent, adapted = decision.prepare(kwargs)
                try:
                    response = method(**sent)
                except ClientError as exc:
                    # Bedrock may know better (an end of life the catalog did not).
                    plan = decision.plan_for(sent, kwargs, now, adapted)
                    return self._after_error(method, plan, kwargs, exc)
                restart = None
                if streaming:
                    restart = partial(
                        self._restart_reused, decision, sent, kwargs, now, adapted, response
                    )
                decision.finish(response, now, restart, adapted)
                if self._shadow is not None:
                    self._shadow.offer(
                        self._governor,
                        self._unwrapped,
                        operation,
                        self._region,
                        kwargs,
                        response,
                        now,
                    )
                return response
        return self._decide_and_call(operation, method, kwargs)

    governed.__name__ = name
    governed.__qualname__ = f"LifecycleClient.{name}"
    governed.__doc__ = (
        f"``{operation}``, governed: checked against the lifecycle catalog, warned about, "
        "rewritten to a successor or refused by the policy, and recorded in the ledger. "
        f"Same arguments and result as the boto3 client's ``{name}``."
    )
    return governed


for _operation in OPERATIONS.values():
    setattr(LifecycleClient, _operation.method, _governed(_operation.name, _operation.method))
del _operation


@overload
def wrap(
    runtime_client: _AioClient,
    *,
    policy: Policy | None = None,
    catalog: Catalog | None = None,
    ledger: Ledger | None = None,
    prices: PriceBook | Mapping[Any, Any] | str | os.PathLike[str] | None = None,
    shadow: Shadow | None = None,
    budgets: Iterable[Budget] | None = None,
) -> AsyncLifecycleClient: ...


@overload
def wrap(
    runtime_client: Any,
    *,
    policy: Policy | None = None,
    catalog: Catalog | None = None,
    ledger: Ledger | None = None,
    prices: PriceBook | Mapping[Any, Any] | str | os.PathLike[str] | None = None,
    shadow: Shadow | None = None,
    budgets: Iterable[Budget] | None = None,
) -> LifecycleClient: ...


def wrap(
    runtime_client: Any,
    *,
    policy: Policy | None = None,
    catalog: Catalog | None = None,
    ledger: Ledger | None = None,
    prices: PriceBook | Mapping[Any, Any] | str | os.PathLike[str] | None = None,
    shadow: Shadow | None = None,
    budgets: Iterable[Budget] | None = None,
) -> LifecycleClient | AsyncLifecycleClient:
    """Govern an existing ``boto3.client("bedrock-runtime")``.

    An aiobotocore ``bedrock-runtime`` client (from ``AioSession.create_client`` or an
    aioboto3 session) is governed the same way by a :class:`AsyncLifecycleClient`, whose
    methods are awaited (see docs/async.md).

    ``catalog`` defaults to the process-wide catalog, except for a client whose endpoint is not
    an AWS one (a local fake or proxy): that gets a catalog of its own that asks the same
    endpoint for control-plane data, so no call goes to AWS by surprise. ``ledger`` defaults to
    a bounded :class:`MemoryLedger`, ``prices`` to the bundled price book (a mapping or a file
    path given here overrides bundled prices). ``shadow`` mirrors a sample of calls to their
    successor (see :class:`Shadow`). ``budgets`` are charged with the calls they cover (see
    :class:`Budget`).
    """
    if isinstance(runtime_client, LifecycleClient) or _is_async_face(runtime_client):
        runtime_client = runtime_client.unwrap()
    meta = getattr(runtime_client, "meta", None)
    service = getattr(getattr(meta, "service_model", None), "service_name", None)
    if service != "bedrock-runtime":
        raise TypeError(
            f"wrap() takes a boto3 'bedrock-runtime' client, not {type(runtime_client).__name__}"
            + (f" for {service!r}" if service else "")
        )
    if catalog is None:
        catalog = _catalog_for(runtime_client)
    governor = make_governor(
        catalog=catalog, policy=policy, ledger=ledger, prices=prices, budgets=budgets
    )
    if _is_aiobotocore(runtime_client):
        from ._aio_client import AsyncLifecycleClient

        return AsyncLifecycleClient(runtime_client, governor, shadow)
    return LifecycleClient(runtime_client, governor, shadow)


def _is_aiobotocore(runtime_client: Any) -> bool:
    """Whether ``runtime_client`` is an aiobotocore client (never imports aiobotocore)."""
    module = sys.modules.get("aiobotocore.client")
    return module is not None and isinstance(runtime_client, module.AioBaseClient)


def _is_async_face(runtime_client: Any) -> bool:
    module = sys.modules.get("bedrock_lifecycle._aio_client")
    return module is not None and isinstance(runtime_client, module.AsyncLifecycleClient)


def _catalog_for(runtime_client: Any) -> Catalog:
    endpoint = getattr(runtime_client.meta, "endpoint_url", None)
    if endpoint and not str(endpoint).rstrip("/").endswith((".amazonaws.com", ".amazonaws.com.cn")):
        return Catalog(region_name=runtime_client.meta.region_name, endpoint_url=endpoint)
    return default_catalog()


def client(
    *,
    region_name: str | None = None,
    session: Any = None,
    endpoint_url: str | None = None,
    policy: Policy | None = None,
    ledger: Ledger | None = None,
    prices: PriceBook | Mapping[Any, Any] | str | os.PathLike[str] | None = None,
    catalog: Catalog | None = None,
    shadow: Shadow | None = None,
    budgets: Iterable[Budget] | None = None,
    **client_kwargs: Any,
) -> LifecycleClient:
    """Build a governed ``bedrock-runtime`` client (and, lazily, its control-plane clients).

    ``session`` is a ``boto3.session.Session`` (default: a new one, using the default credential
    chain); ``client_kwargs`` go to ``session.client("bedrock-runtime", ...)``. Control-plane
    clients are made from the same session and endpoint only when lifecycle data is needed.
    """
    import boto3

    own_session = session if session is not None else boto3.session.Session()
    runtime = own_session.client(
        "bedrock-runtime", region_name=region_name, endpoint_url=endpoint_url, **client_kwargs
    )
    if catalog is None:
        if session is None and endpoint_url is None:
            catalog = default_catalog()
        else:
            catalog = Catalog(
                region_name=runtime.meta.region_name,
                session=own_session,
                endpoint_url=endpoint_url,
            )
    return wrap(
        runtime,
        policy=policy,
        catalog=catalog,
        ledger=ledger,
        prices=prices,
        shadow=shadow,
        budgets=budgets,
    )
