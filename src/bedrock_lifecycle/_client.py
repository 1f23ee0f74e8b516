"""The drop-in client: a bedrock-runtime client that knows where its models stand."""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping, MutableMapping
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError, EventStreamError

from ._catalog import Catalog, default_catalog
from ._governor import STREAM_KEYS, CallPlan, Governor, StreamTarget
from ._policy import Policy
from ._pricing import PriceBook
from .ledger import Ledger, MemoryLedger

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
else:
    _ClientBase = object

__all__ = ["LifecycleClient", "client", "make_governor", "wrap"]

_METHODS = {
    "Converse": "converse",
    "ConverseStream": "converse_stream",
    "InvokeModel": "invoke_model",
    "InvokeModelWithResponseStream": "invoke_model_with_response_stream",
    "CountTokens": "count_tokens",
    "StartAsyncInvoke": "start_async_invoke",
}


def _as_prices(prices: PriceBook | Mapping[Any, Any] | str | os.PathLike[str] | None) -> PriceBook:
    if prices is None:
        return PriceBook.bundled()
    if isinstance(prices, PriceBook):
        return prices
    if isinstance(prices, (str, os.PathLike)):
        return PriceBook.bundled().with_overrides(PriceBook.from_file(prices))
    return PriceBook.bundled().with_overrides(prices)


def make_governor(
    *,
    catalog: Catalog,
    policy: Policy | None,
    ledger: Ledger | None,
    prices: PriceBook | Mapping[Any, Any] | str | os.PathLike[str] | None,
) -> Governor:
    """The shared decision object behind :func:`wrap` and :func:`install`."""
    # Checked here, not at the first call: a wrong object would otherwise fail mid-request or,
    # for a ledger, lose every record quietly.
    if not isinstance(catalog, Catalog):
        raise TypeError(f"catalog must be a Catalog, not {type(catalog).__name__}")
    if policy is not None and not isinstance(policy, Policy):
        raise TypeError(f"policy must be a Policy, not {type(policy).__name__}")
    if ledger is not None and not callable(getattr(ledger, "record", None)):
        raise TypeError(
            f"ledger must be a ledger sink (an object with record()), not {type(ledger).__name__}"
        )
    return Governor(
        catalog=catalog,
        policy=policy if policy is not None else Policy(),
        ledger=ledger if ledger is not None else MemoryLedger(),
        prices=_as_prices(prices),
    )


class LifecycleClient(_ClientBase):
    """A governed ``bedrock-runtime`` client.

    Has every method of the boto3 client with the same arguments and results. The six model
    invocations (``converse``, ``converse_stream``, ``invoke_model``,
    ``invoke_model_with_response_stream``, ``count_tokens``, ``start_async_invoke``) are checked
    against the catalog, warned about, rewritten to a successor or refused by the policy, retried
    once on a successor after a lifecycle error (reactive fallback), and recorded in the ledger.
    Everything else (``apply_guardrail``, ``meta``, ``exceptions``, paginators, ``close`` ...)
    goes straight to the wrapped client. Safe to share across threads, as boto3 clients are.
    """

    def __init__(self, runtime_client: Any, governor: Governor) -> None:
        self._client = runtime_client
        self._governor = governor

    # -- what the wrapper adds ---------------------------------------------------------------

    @property
    def catalog(self) -> Catalog:
        """The lifecycle catalog consulted on every call."""
        return self._governor.catalog

    @property
    def ledger(self) -> Ledger | None:
        """Where usage records go."""
        return self._governor.ledger

    @property
    def policy(self) -> Policy:
        """What happens to Legacy, extended-access and end-of-life models."""
        return self._governor.policy

    @property
    def prices(self) -> PriceBook | None:
        """The price book used to cost each call."""
        return self._governor.prices

    def unwrap(self) -> Any:
        """The boto3 client underneath, ungoverned."""
        return self._client

    def __getattr__(self, name: str) -> Any:
        if name in ("_client", "_governor"):
            raise AttributeError(name)
        return getattr(self._client, name)

    def __dir__(self) -> list[str]:
        return sorted(set(super().__dir__()) | set(dir(self._client)))

    def __repr__(self) -> str:
        region = getattr(self._client.meta, "region_name", None)
        return f"<LifecycleClient bedrock-runtime region={region!r}>"

    # -- governed operations -------------------------------------------------------------------

    def converse(self, **kwargs: Any) -> ConverseResponseTypeDef:
        return self._call("Converse", kwargs)  # type: ignore[no-any-return]

    def converse_stream(self, **kwargs: Any) -> ConverseStreamResponseTypeDef:
        return self._call("ConverseStream", kwargs)  # type: ignore[no-any-return]

    def invoke_model(self, **kwargs: Any) -> InvokeModelResponseTypeDef:
        return self._call("InvokeModel", kwargs)  # type: ignore[no-any-return]

    def invoke_model_with_response_stream(
        self, **kwargs: Any
    ) -> InvokeModelWithResponseStreamResponseTypeDef:
        return self._call("InvokeModelWithResponseStream", kwargs)  # type: ignore[no-any-return]

    def count_tokens(self, **kwargs: Any) -> CountTokensResponseTypeDef:
        return self._call("CountTokens", kwargs)  # type: ignore[no-any-return]

    def start_async_invoke(self, **kwargs: Any) -> StartAsyncInvokeResponseTypeDef:
        return self._call("StartAsyncInvoke", kwargs)  # type: ignore[no-any-return]

    # -- the call ------------------------------------------------------------------------------

    def _call(self, operation: str, kwargs: dict[str, Any]) -> Any:
        client = self._client
        method: Callable[..., Any] = getattr(client, _METHODS[operation])
        region = client.meta.region_name
        governor = self._governor
        plan = governor.plan(operation, kwargs, region, exceptions=client.exceptions)
        if plan is None:
            return method(**kwargs)
        try:
            response = method(**plan.params)
        except ClientError as exc:
            retry = self._reactive(plan, kwargs, exc)
            if retry is None:
                raise
            plan = retry
            response = method(**plan.params)
        restart = self._restart_stream if operation in STREAM_KEYS else None
        governor.finish(plan, response, restart)
        return response

    def _reactive(
        self, plan: CallPlan, kwargs: dict[str, Any], exc: ClientError
    ) -> CallPlan | None:
        """After a lifecycle error: the plan for one retry on a successor, or ``None``."""
        governor = self._governor
        error = exc.response.get("Error", {})
        kind = governor.observe_failure(plan, error.get("Code"), error.get("Message"))
        if kind is None or not governor.policy.reactive_fallback:
            return None
        try:
            retry = governor.plan(
                plan.operation, kwargs, plan.region, exceptions=self._client.exceptions
            )
        except ClientError as refused:
            raise refused from exc
        if retry is None or retry.invoked_model_id == plan.invoked_model_id:
            return None
        return retry

    def _restart_stream(
        self, error: EventStreamError, target: StreamTarget, response: MutableMapping[str, Any]
    ) -> Any:
        """Reactive fallback for a stream that failed before its first event."""
        if not self._governor.policy.reactive_fallback:
            return None
        failed = target.plan
        retry = self._reactive(failed, dict(failed.requested_params or failed.params), error)
        if retry is None:
            return None
        method: Callable[..., Any] = getattr(self._client, _METHODS[failed.operation])
        fresh = method(**retry.params)
        self._governor.mark(retry, response)
        target.plan, target.response = retry, fresh
        return fresh[STREAM_KEYS[failed.operation]]


def wrap(
    runtime_client: Any,
    *,
    policy: Policy | None = None,
    catalog: Catalog | None = None,
    ledger: Ledger | None = None,
    prices: PriceBook | Mapping[Any, Any] | str | os.PathLike[str] | None = None,
) -> LifecycleClient:
    """Govern an existing ``boto3.client("bedrock-runtime")``.

    ``catalog`` defaults to the process-wide catalog, except for a client whose endpoint is not
    an AWS one (a local fake or proxy): that gets a catalog of its own that asks the same
    endpoint for control-plane data, so no call goes to AWS by surprise. ``ledger`` defaults to
    a bounded :class:`MemoryLedger`, ``prices`` to the bundled price book (a mapping or a file
    path given here overrides bundled prices).
    """
    if isinstance(runtime_client, LifecycleClient):
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
    governor = make_governor(catalog=catalog, policy=policy, ledger=ledger, prices=prices)
    return LifecycleClient(runtime_client, governor)


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
    return wrap(runtime, policy=policy, catalog=catalog, ledger=ledger, prices=prices)
