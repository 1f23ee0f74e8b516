"""What this machine has seen of its models: Bedrock's lifecycle refusals, last successful calls,
and which warnings were already said. Part of the catalog's state, kept apart from the lifecycle
data it fetches: the catalog persists both in one cache file, under one lock.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta
from typing import Any

__all__ = ["Key", "Observations"]

Key = tuple[str, str]
"""(base model id, region or "")."""

#: The last-use time is written to the cache file at most this often per model.
PERSIST_LAST_USE_EVERY = timedelta(hours=1)


class Observations:
    """The catalog's observations. Methods are called with the catalog's lock held, except
    :meth:`note_use`'s lock-free step (one dict store), which the catalog documents.
    """

    __slots__ = ("forgotten", "last_used", "last_written", "refused", "warned")

    def __init__(self) -> None:
        self.refused: dict[Key, tuple[str, datetime]] = {}
        """Bedrock's lifecycle refusals: ``"eol"`` or ``"idle"``, and when."""
        self.forgotten: set[Key] = set()
        """Refusals dropped here, so that a merge with the cache file does not bring them back."""
        self.last_used: dict[Key, datetime] = {}
        self.last_written: dict[Key, datetime] = {}
        """When each last-use time was last persisted (see :data:`PERSIST_LAST_USE_EVERY`)."""
        self.warned: set[tuple[Any, ...]] = set()

    def mark(self, key: Key, kind: str, at: datetime) -> None:
        self.refused[key] = (kind, at)
        self.forgotten.discard(key)

    def withdrawn(self, key: Key) -> str | None:
        found = self.refused.get(key)
        return found[0] if found else None

    def forget(self, model_id: str, region: str | None) -> None:
        for key in [k for k in self.refused if k[0] == model_id and region in (None, k[1])]:
            del self.refused[key]
            self.forgotten.add(key)

    def use_is_recent(self, key: Key, at: datetime) -> bool:
        """Whether a last use at ``at`` need not be persisted (lock-free read)."""
        written = self.last_written.get(key)
        return written is not None and at - written < PERSIST_LAST_USE_EVERY

    def note_use(self, key: Key, at: datetime) -> bool:
        """Record a successful call; ``True`` when it is time to persist it."""
        self.last_used[key] = at
        written = self.last_written.get(key)
        due = written is None or at - written >= PERSIST_LAST_USE_EVERY
        if due:
            self.last_written[key] = at
        return due

    def first_time(self, key: tuple[Any, ...]) -> bool:
        if key in self.warned:
            return False
        self.warned.add(key)
        return True

    def absorb(
        self, refused: Mapping[Key, tuple[str, datetime]], last_used: Mapping[Key, datetime]
    ) -> None:
        """Take what another process wrote (the cache file), keeping what is newer here."""
        for key, value in refused.items():
            self.refused.setdefault(key, value)
        for key, when in last_used.items():
            known = self.last_used.get(key)
            if known is None or when > known:
                self.last_used[key] = when

    def without_forgotten(self, refused: dict[Key, tuple[str, datetime]]) -> None:
        """Drop from a merged copy the refusals forgotten here."""
        for key in self.forgotten:
            refused.pop(key, None)

    def used_keys(self) -> Iterable[Key]:
        return set(self.last_used) | set(self.refused)
