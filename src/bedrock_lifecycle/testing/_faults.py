"""Faults a test can inject into the fake, and the record of each request it answered."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import datetime

__all__ = ["Fault", "FaultKind", "RecordedRequest"]


class FaultKind(str, enum.Enum):
    """What an injected fault does to a matching request."""

    THROTTLING = "throttling"
    """ThrottlingException, HTTP 429."""
    INTERNAL_ERROR = "internal_error"
    """InternalServerException, HTTP 500."""
    SERVICE_UNAVAILABLE = "service_unavailable"
    """ServiceUnavailableException, HTTP 503."""
    ACCESS_DENIED = "access_denied"
    """AccessDeniedException, HTTP 403."""
    LATENCY = "latency"
    """Sleep ``delay`` seconds, then answer normally."""
    DROP_CONNECTION = "drop_connection"
    """Close the connection without answering (in-process: botocore's ConnectionClosedError)."""
    MALFORMED_JSON = "malformed_json"
    """HTTP 200 with a truncated JSON body."""
    STREAM_ERROR = "stream_error"
    """Streams only: ``after_events`` events, then an exception frame of ``exception_type``."""

    def __str__(self) -> str:
        return self.value


@dataclass(frozen=True, slots=True)
class Fault:
    """One injected fault: ``operation`` (``None``: every operation), optional ``model_id`` (as
    sent or resolved), ``times`` (``None``: until cleared)."""

    kind: FaultKind
    operation: str | None = None
    times: int | None = None
    model_id: str | None = None
    delay: float = 0.0
    after_events: int = 0
    exception_type: str = "modelStreamErrorException"
    message: str | None = None

    def matches(self, operation: str, sent: str | None, resolved: str | None) -> bool:
        """Whether this fault applies to a request."""
        if self.operation is not None and self.operation != operation:
            return False
        return self.model_id is None or self.model_id in (sent, resolved)


@dataclass(frozen=True, slots=True)
class RecordedRequest:
    """A request the fake answered.

    ``model_id`` is the identifier as sent (decoded from the URI or body); ``resolved_model`` is
    the base model it stands for, when it resolved to one. ``error_code`` is the
    ``x-amzn-ErrorType`` of an error answer (or the exception type of a stream's exception frame,
    or ``"ConnectionDropped"``). ``at`` is the fake clock's time. ``body`` is the request body as
    received (kept in memory only, so tests can check what a model was actually sent).
    """

    operation: str
    region: str
    model_id: str | None
    resolved_model: str | None
    status_code: int
    error_code: str | None
    mode: str
    method: str
    path: str
    at: datetime
    body: bytes = field(default=b"", repr=False)
