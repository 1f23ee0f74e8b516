"""The exceptions and warnings bedrock-lifecycle raises.

Exceptions::

    LifecycleError
    ├── ConfigurationError            bad policy, price, override or catalog settings
    ├── CatalogError                  a lifecycle data file that cannot be read
    └── ModelUnavailableError         a call that cannot go ahead (also a botocore ClientError)
        ├── ModelEndOfLifeError       the model is past end of life and no fallback was allowed
        │   └── NoSuccessorError      fallback was asked for but no successor is configured
        ├── LegacyModelError          policy says "error" for a Legacy model
        │   └── ExtendedAccessError   policy says "error" for a model in extended access
        ├── IncompatibleSuccessorError  InvokeModel body format differs and no translator exists
        └── BudgetExceededError       a spent budget with action="error" covers the call

Warnings::

    LifecycleWarning(UserWarning)
    ├── LegacyModelWarning
    │   └── ExtendedAccessWarning
    ├── IdleLegacyWarning             a Legacy model is close to the idle-access cut-off
    ├── FallbackWarning               a call went to a successor instead
    ├── BudgetWarning                 a budget crossed one of its thresholds
    └── LifecycleDataWarning          lifecycle data or a shared policy's new version was
                                      unreadable and was ignored

``ModelUnavailableError`` and its subclasses are also ``botocore.exceptions.ClientError`` with
the error code Bedrock itself uses for that case (``ResourceNotFoundException`` past end of
life, ``ValidationException`` otherwise), so existing ``except ClientError`` clauses keep
working.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from botocore.exceptions import ClientError

__all__ = [
    "BudgetExceededError",
    "BudgetWarning",
    "CatalogError",
    "ConfigurationError",
    "ExtendedAccessError",
    "ExtendedAccessWarning",
    "FallbackWarning",
    "IdleLegacyWarning",
    "IncompatibleSuccessorError",
    "LegacyModelError",
    "LegacyModelWarning",
    "LifecycleDataWarning",
    "LifecycleError",
    "LifecycleWarning",
    "ModelEndOfLifeError",
    "ModelUnavailableError",
    "NoSuccessorError",
]


class LifecycleError(Exception):
    """Root of every exception bedrock-lifecycle raises."""


class ConfigurationError(LifecycleError, ValueError):
    """A setting, policy, price book or override is invalid.

    ``key`` names the offending setting and ``source`` the file it came from, when there is one.
    """

    def __init__(self, message: str, *, key: str | None = None, source: str | None = None) -> None:
        parts = []
        if source:
            parts.append(str(source))
        if key:
            parts.append(repr(key))
        prefix = ": ".join(parts)
        super().__init__(f"{prefix}: {message}" if prefix else message)
        self.key = key
        self.source = source


class CatalogError(LifecycleError):
    """Lifecycle data could not be read (a bundled or user file is broken)."""


class ModelUnavailableError(LifecycleError, ClientError):
    """A governed call was stopped before it reached Bedrock.

    Carries ``model_id`` (as the caller passed it), ``base_model_id``, ``region``, ``state``,
    ``eol_at``, ``successor`` and ``operation``. It is a ``ClientError`` too, so
    ``err.response["Error"]["Code"]`` works as for any Bedrock error.
    """

    error_code = "ValidationException"
    http_status = 400

    def __init__(
        self,
        message: str,
        *,
        model_id: str,
        operation: str,
        base_model_id: str | None = None,
        region: str | None = None,
        state: Any = None,
        eol_at: datetime | None = None,
        successor: str | None = None,
    ) -> None:
        error_response: dict[str, Any] = {
            "Error": {"Code": self.error_code, "Message": message},
            "ResponseMetadata": {"HTTPStatusCode": self.http_status},
        }
        ClientError.__init__(self, error_response, operation)  # type: ignore[arg-type]
        self.message = message
        self.model_id = model_id
        self.base_model_id = base_model_id or model_id
        self.region = region
        self.state = state
        self.eol_at = eol_at
        self.successor = successor
        self.operation = operation

    def __reduce__(self) -> Any:
        return (_rebuild, (type(self), self.message, dict(self.__dict__)))


def _rebuild(cls: type[ModelUnavailableError], message: str, state: dict[str, Any]) -> Any:
    obj = cls.__new__(cls)
    Exception.__init__(obj, message)
    obj.__dict__.update(state)
    return obj


class ModelEndOfLifeError(ModelUnavailableError):
    """The model is past its end-of-life date and policy did not (or could not) fall back."""

    error_code = "ResourceNotFoundException"
    http_status = 404


class NoSuccessorError(ModelEndOfLifeError):
    """Fallback was asked for, but no successor can take the call.

    ``candidates`` lists every successor looked at, in order, as ``(model id, why it was
    refused)`` pairs (empty when none is configured or recommended).
    """

    candidates: tuple[tuple[str, str], ...] = ()


class LegacyModelError(ModelUnavailableError):
    """Policy says ``on_legacy="error"`` and the model is Legacy."""


class ExtendedAccessError(LegacyModelError):
    """Policy says ``on_extended_access="error"`` and the model is in public extended access."""


class IncompatibleSuccessorError(ModelUnavailableError):
    """An InvokeModel fallback would send a body the successor cannot read.

    Register a body translator for the pair (``Policy(translators=...)``) or use Converse, whose
    request shape is the same for every model.
    """


class BudgetExceededError(ModelUnavailableError):
    """A budget with ``action="error"`` is spent and covers this call: it was not sent.

    ``budget`` names the budget, ``spend_usd`` and ``limit_usd`` say how far it went, and
    ``period_end`` when calls go through again. The error code is Bedrock's own
    ``ServiceQuotaExceededException`` (so ``client.exceptions.ServiceQuotaExceededException``
    catches it too).
    """

    error_code = "ServiceQuotaExceededException"
    http_status = 400
    budget: str = ""
    spend_usd: float = 0.0
    limit_usd: float = 0.0
    period_end: datetime | None = None


class LifecycleWarning(UserWarning):
    """Root of every warning bedrock-lifecycle emits."""


class LegacyModelWarning(LifecycleWarning):
    """The model is Legacy: it still works, but it has an end-of-life date."""


class ExtendedAccessWarning(LegacyModelWarning):
    """The model is in public extended access: it works at a higher price until end of life."""


class IdleLegacyWarning(LifecycleWarning):
    """A Legacy model has not been called for a while; Bedrock withdraws idle Legacy access."""


class FallbackWarning(LifecycleWarning):
    """A call was sent to a successor model instead of the one asked for."""


class BudgetWarning(LifecycleWarning):
    """A budget crossed one of its thresholds (once per threshold per period)."""


class LifecycleDataWarning(LifecycleWarning):
    """Lifecycle data (a cache or override file), or a new version of a shared policy
    (:meth:`Policy.from_source`), was unreadable or invalid and has been ignored."""
