"""Time in one place: timezone-aware UTC, injectable for tests."""

from __future__ import annotations

import os
from collections.abc import Callable
from datetime import datetime, timedelta, timezone

from ._errors import ConfigurationError

__all__ = ["Clock", "as_utc", "duration", "seconds_from_env", "utc_now"]

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


def seconds_from_env(name: str) -> float | None:
    """A positive number of seconds from the environment variable ``name``; ``None`` when it is
    unset or empty. Anything else raises :class:`ConfigurationError` naming the variable."""
    raw = os.environ.get(name, "").strip()
    if not raw:
        return None
    try:
        seconds = float(raw)
    except ValueError:
        raise ConfigurationError(
            f"must be a number of seconds, got {raw!r}", key=name, source="environment"
        ) from None
    if not seconds > 0 or seconds == float("inf"):
        raise ConfigurationError("must be positive", key=name, source="environment")
    return seconds


def duration(value: timedelta | float, key: str, *, positive: bool = False) -> timedelta:
    """A setting given as a ``timedelta`` or a number of seconds, as a ``timedelta``: never
    negative, and with ``positive`` not zero either. Anything else raises
    :class:`ConfigurationError` naming ``key``."""
    if isinstance(value, timedelta):
        result = value
    elif isinstance(value, (int, float)) and not isinstance(value, bool):
        result = timedelta(seconds=value)
    else:
        raise ConfigurationError(f"must be a timedelta or seconds, not {value!r}", key=key)
    if positive and not result > timedelta(0):
        raise ConfigurationError(f"must be positive, not {value!r}", key=key)
    if result < timedelta(0):
        raise ConfigurationError("must not be negative", key=key)
    return result
