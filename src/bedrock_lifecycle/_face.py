"""What both governed clients add over the client underneath: one home for the sync
(:class:`LifecycleClient`) and the async (:class:`AsyncLifecycleClient`) face.

The governed methods themselves differ (a call, or an awaited call); everything else a user
reads off a governed client (``catalog``, ``ledger``, ``policy``, ``unwrap()``, the
pass-through of every other attribute) is written once here.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ._catalog import Catalog
from ._constraints import MAX_ATTEMPTS
from ._governor import Governor
from ._policy import Policy
from ._pricing import PriceBook
from .ledger import Ledger

if TYPE_CHECKING:
    from ._shadow import Shadow

__all__ = ["MAX_ATTEMPTS", "MAX_SENDS", "GovernedFace"]

MAX_SENDS = 6
"""Sends of one call in all, across successors and adaptations."""


class GovernedFace:
    """The state and accessors of a governed client (a base class, not used alone)."""

    #: The face's own attributes: never looked up on the client underneath (``__getattr__``
    #: runs for them only while the object is half made, e.g. when it is unpickled).
    _OWN = frozenset({"_client", "_governor", "_shadow", "_region", "_exceptions", "_bridge"})

    def __init__(
        self, runtime_client: Any, governor: Governor, shadow: Shadow | None = None
    ) -> None:
        if shadow is not None:
            from ._shadow import require_shadow  # its module loads with the first shadow

            require_shadow(shadow)
        self._client = runtime_client
        self._governor = governor
        self._shadow = shadow
        # Fixed for a client's life, and read on every call.
        self._region: str | None = runtime_client.meta.region_name
        self._exceptions: Any = getattr(runtime_client, "exceptions", None)

    @property
    def governor(self) -> Governor:
        """The decision object behind this client (shared with nothing else)."""
        return self._governor

    @property
    def catalog(self) -> Catalog:
        """The lifecycle catalog consulted on every call."""
        return self._governor.catalog

    @property
    def shadow(self) -> Shadow | None:
        """Where a sample of calls is mirrored to their successor, if anywhere."""
        return self._shadow

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
        """The client underneath (boto3 or aiobotocore), ungoverned."""
        return self._client

    def __getattr__(self, name: str) -> Any:
        if name in GovernedFace._OWN:
            raise AttributeError(name)
        return getattr(self._client, name)

    def __dir__(self) -> list[str]:
        return sorted(set(super().__dir__()) | set(dir(self._client)))

    def __repr__(self) -> str:
        region = getattr(self._client.meta, "region_name", None)
        return f"<{type(self).__name__} bedrock-runtime region={region!r}>"
