"""Time in one place: timezone-aware UTC, injectable for tests."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timezone

__all__ = ["Clock", "as_utc", "utc_now"]

Clock = Callable[[], datetime]
"""A zero-argument callable returning the current time as an aware datetime."""


def utc_now() -> datetime:
    """The current time, timezone-aware, in UTC."""
    return datetime.now(timezone.utc)


def as_utc(value: datetime) -> datetime:
    """Normalise a datetime to aware UTC.

    botocore parses API timestamps into local-time datetimes (``tzlocal``); naive values are
    taken to be UTC already, as AWS's published tables are.
    """
    if value.tzinfo is None:
        return value.replace(tzinfo=timezone.utc)
    return value.astimezone(timezone.utc)
