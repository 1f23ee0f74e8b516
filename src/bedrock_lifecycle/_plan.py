"""What the governor decided for one call: the :class:`CallPlan` both faces carry."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any, NamedTuple

from ._lifecycle import State

__all__ = ["CallPlan"]


class CallPlan(NamedTuple):
    """What the governor decided for one call."""

    operation: str
    region: str | None
    requested_model_id: str
    invoked_model_id: str
    requested_base: str | None
    invoked_base: str | None
    state: State
    """State of the requested model."""
    invoked_state: State
    """State of the model actually called (the successor after a fallback)."""
    eol_at: datetime | None
    fallback: bool
    params: Mapping[str, Any]
    """The parameters to send: the caller's own mapping, or a new dict after a rewrite."""
    at: datetime | None = None
    """When the call was decided (the catalog's clock): the usage record's timestamp."""
    requested_params: Mapping[str, Any] | None = None
    """The caller's parameters as given (a reactive fallback plans again from them)."""
    adapted: tuple[str, ...] = ()
    """Dotted paths of the request changed for the model called (see ``Policy.adapt_requests``)."""

    @property
    def extended_access(self) -> bool:
        """Whether the model actually called is in public extended access."""
        return self.invoked_state is State.EXTENDED_ACCESS

    def metadata(self) -> dict[str, Any]:
        """The ``ResponseMetadata["BedrockLifecycle"]`` block."""
        return {
            "requestedModelId": self.requested_model_id,
            "invokedModelId": self.invoked_model_id,
            "state": self.state.value,
            "eolAt": self.eol_at.date().isoformat() if self.eol_at else None,
            "fallback": self.fallback,
            "adapted": list(self.adapted),
        }
