"""Async services: aiobotocore ``bedrock-runtime`` clients, governed as boto3's are.

::

    import bedrock_lifecycle as bl

    async with bl.aio.client(region_name="us-east-1") as client:
        response = await client.converse(modelId=..., messages=...)

Needs aiobotocore (the ``aio`` extra: ``pip install 'bedrock-lifecycle[aio]'``), imported when
:func:`client` is first called; ``import bedrock_lifecycle`` never imports it. An aiobotocore
client made elsewhere (an ``AioSession``, an aioboto3 session) is governed with
:func:`bedrock_lifecycle.wrap`. See docs/async.md.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator, Callable, Iterable, Mapping
from contextlib import AsyncExitStack, asynccontextmanager
from functools import partial
from typing import TYPE_CHECKING, Any

from ._aio_client import AsyncLifecycleClient, LoopBridge
from ._catalog import Catalog, default_catalog
from ._client import wrap
from ._governor import default_policy
from ._policy import Policy
from ._pricing import PriceBook
from .ledger import Ledger

if TYPE_CHECKING:
    from ._budget import Budget
    from ._shadow import Shadow

__all__ = ["AsyncLifecycleClient", "client"]

#: ``client_kwargs`` the catalog's control-plane clients are made with too.
_SHARED = ("aws_access_key_id", "aws_secret_access_key", "aws_session_token", "verify", "use_ssl")


@asynccontextmanager
async def client(
    session: Any = None,
    *,
    region_name: str | None = None,
    endpoint_url: str | None = None,
    policy: Policy | None = None,
    catalog: Catalog | None = None,
    ledger: Ledger | None = None,
    prices: PriceBook | Mapping[Any, Any] | str | os.PathLike[str] | None = None,
    budgets: Iterable[Budget] | None = None,
    shadow: Shadow | None = None,
    **client_kwargs: Any,
) -> AsyncIterator[AsyncLifecycleClient]:
    """Build a governed aiobotocore ``bedrock-runtime`` client, for the ``async with`` block.

    ``session`` is an aiobotocore ``AioSession`` or an aioboto3 ``Session`` (default:
    ``aiobotocore.session.get_session()``, the default credential chain); ``client_kwargs`` go
    to its ``create_client("bedrock-runtime", ...)`` (``client(...)`` for aioboto3).

    ``catalog`` defaults to the process-wide catalog when neither ``session`` nor
    ``endpoint_url`` is given; otherwise to a catalog of this client's own, whose control-plane
    data comes from aiobotocore ``bedrock`` clients of the same session, endpoint and explicit
    credentials (made when first needed, closed with the block; their calls run on this event
    loop while the catalog's refresh thread waits). The other arguments are
    :func:`bedrock_lifecycle.wrap`'s.

    Leaving the block waits briefly for shadow calls in flight, closes the catalog made here
    (in a worker thread: it waits for refreshes) and every client made here.
    """
    make = _client_maker(session)
    async with AsyncExitStack() as stack:
        runtime = await stack.enter_async_context(
            make(
                "bedrock-runtime",
                region_name=region_name,
                endpoint_url=endpoint_url,
                **client_kwargs,
            )
        )
        controls: _ControlPlane | None = None
        if catalog is None:
            if session is None and endpoint_url is None:
                catalog = default_catalog()
            else:
                same = {key: client_kwargs[key] for key in _SHARED if key in client_kwargs}
                controls = _ControlPlane(
                    partial(make, **same), endpoint_url, asyncio.get_running_loop(), stack
                )
                catalog = Catalog(
                    region_name=runtime.meta.region_name,
                    endpoint_url=endpoint_url,
                    client_factory=controls.for_region,
                )
        if policy is None:
            # BEDROCK_LIFECYCLE_POLICY's first read is I/O (S3 or a file): off the loop.
            policy = await asyncio.to_thread(default_policy)
        governed: AsyncLifecycleClient = wrap(
            runtime,
            policy=policy,
            catalog=catalog,
            ledger=ledger,
            prices=prices,
            shadow=shadow,
            budgets=budgets,
        )
        try:
            yield governed
        finally:
            await governed.drain_shadows()
            if controls is not None:
                await asyncio.to_thread(catalog.close)
                controls.shut()


class _ControlPlane:
    """aiobotocore ``bedrock`` clients for a catalog, one per region, made on the loop at the
    first request of a refresh thread and closed with the ``async with`` block."""

    def __init__(
        self,
        make: Callable[..., Any],
        endpoint_url: str | None,
        loop: asyncio.AbstractEventLoop,
        stack: AsyncExitStack,
    ) -> None:
        self._make = make
        self._endpoint_url = endpoint_url
        self._loop = loop
        self._stack = stack
        self._bridges: list[LoopBridge] = []
        self._opener = LoopBridge(None, loop, timeout=30.0)

    def for_region(self, region: str) -> LoopBridge:
        """The catalog's ``client_factory``: called from its refresh thread."""
        bridge = LoopBridge(self._opener.run(self._open(region)), self._loop)
        self._bridges.append(bridge)
        return bridge

    async def _open(self, region: str) -> Any:
        from aiobotocore.config import AioConfig

        # As the sync catalog's own control-plane clients: quick to give up, few retries.
        config = AioConfig(
            retries={"max_attempts": 2, "mode": "standard"},
            connect_timeout=2,
            read_timeout=5,
            user_agent_extra="bedrock-lifecycle",
        )
        return await self._stack.enter_async_context(
            self._make(
                "bedrock", region_name=region, endpoint_url=self._endpoint_url, config=config
            )
        )

    def shut(self) -> None:
        self._opener.shut()
        for bridge in self._bridges:
            bridge.shut()


def _client_maker(session: Any) -> Callable[..., Any]:
    """The function that makes aiobotocore clients (async context managers) of ``session``."""
    if session is None:
        from aiobotocore.session import get_session

        session = get_session()
    modules = {cls.__module__.partition(".")[0] for cls in type(session).__mro__}
    if not modules & {"aiobotocore", "aioboto3"}:
        raise TypeError(
            "session must be an aiobotocore AioSession or an aioboto3 Session, not "
            f"{type(session).__module__}.{type(session).__name__} (a boto3 session's clients "
            "are governed with bedrock_lifecycle.client() or wrap())"
        )
    make = getattr(session, "create_client", None)  # aiobotocore
    if make is None:
        make = session.client  # aioboto3
    return make  # type: ignore[no-any-return]
