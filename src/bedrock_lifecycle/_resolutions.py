"""What the control plane said about ids that name no base model themselves (application
inference profiles, provisioned throughput, custom and imported models): part of the catalog's
state, under its lock, persisted in its cache file.
"""

from __future__ import annotations

from collections.abc import Mapping

__all__ = ["RETRY_AFTER", "Resolutions"]

#: How long (seconds) a failed resolution is remembered before the control plane is asked again.
RETRY_AFTER = 300.0


class Resolutions:
    """Resolved ids (``raw id -> base model id``) and failed attempts. Called with the
    catalog's lock held."""

    __slots__ = ("failed", "known", "retry_at")

    def __init__(self) -> None:
        self.known: dict[str, str] = {}
        self.retry_at: dict[str, float] = {}
        """When an unresolved id may be asked about again (POSIX seconds)."""
        self.failed: set[str] = set()
        """Ids whose last attempt raised (the first failure is logged as a warning)."""

    def may_ask(self, raw: str, now: float) -> bool:
        """Whether the control plane may be asked about ``raw`` at ``now``."""
        return now >= self.retry_at.get(raw, 0.0)

    def note_failure(self, raw: str) -> bool:
        """Record that asking about ``raw`` raised; ``True`` the first time in a row."""
        first = raw not in self.failed
        self.failed.add(raw)
        return first

    def settle(self, raw: str, base: str | None, now: float) -> None:
        """The outcome of one attempt: the base model, or ``None`` (ask again later)."""
        if base:
            self.known[raw] = base
            self.failed.discard(raw)
        else:
            self.retry_at[raw] = now + RETRY_AFTER

    def absorb(self, known: Mapping[str, str]) -> None:
        """Take resolutions another process wrote (the cache file), keeping ours."""
        for raw, base in known.items():
            self.known.setdefault(raw, base)
