"""A policy a fleet shares: read from S3 or a file, and followed when it changes.

``Policy.from_source(location)`` (or ``BEDROCK_LIFECYCLE_POLICY=location``, the policy used when
none is given) reads the policy once, loudly: a first read that fails raises
:class:`~bedrock_lifecycle.ConfigurationError` naming the location and the reason. The policy it
returns carries a :class:`SharedPolicy`, the reloader, and the governor follows it:

- when it plans a call (never on a reused decision's path), it asks :meth:`SharedPolicy.current`
  for the policy in force. That reads the source again at most once per ``ttl``, conditionally
  (S3's ``If-None-Match``; a file's size and modification time), with one thread reading while
  the others go on with the last policy (single flight). A new valid policy replaces
  ``governor.policy``, which makes every reused decision stale;
- every decision it keeps for reuse ends at the source's next check (:meth:`next_check`), so a
  change reaches every call within one ``ttl`` and a reused call pays nothing for it.

What goes wrong keeps the last valid policy: a new version that does not parse or validate is
rejected with one :class:`~bedrock_lifecycle.LifecycleDataWarning` (the source remembers the
rejected version, so it is neither fetched nor complained about again until it changes); a source
that cannot be read is logged once per outage.

The schedule starts when the policy is first read, and runs on the clock of the catalog of the
first governor that plans with the policy; ``ttl=None`` means ``BEDROCK_LIFECYCLE_TTL`` when set,
else that catalog's TTL.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import PurePosixPath
from typing import TYPE_CHECKING, Any

from . import _wording as wording
from ._catalog import TTL_ENV
from ._clock import duration, seconds_from_env
from ._config_files import parse_mapping_bytes
from ._errors import ConfigurationError
from ._policy import POLICY_ENV
from ._shared_source import SharedSource, SourceStats, SourceUnavailable

if TYPE_CHECKING:
    from ._policy import Policy

__all__ = ["POLICY_ENV", "SharedPolicy", "default_policy"]

logger = logging.getLogger(__name__)

_WHAT = "shared policy"

Rejected = Callable[[str], None]
"""Told the wording of a rejected policy version (the governor warns with it)."""


def _ttl_seconds(ttl: timedelta | float | None) -> float | None:
    """Seconds between checks: explicit, else ``BEDROCK_LIFECYCLE_TTL``, else ``None`` (the
    catalog's TTL, known when a governor first plans)."""
    if ttl is None:
        return seconds_from_env(TTL_ENV)
    return duration(ttl, "ttl", positive=True).total_seconds()


class SharedPolicy:
    """The reloader behind a policy read with :meth:`Policy.from_source`. Thread-safe.

    ``policy`` is the policy in force: the last valid version read. :meth:`current` reads the
    source again when the check is due; :meth:`next_check` says when that is.
    """

    def __init__(
        self,
        location: str | os.PathLike[str],
        *,
        ttl: timedelta | float | None = None,
        session: Any = None,
        client: Any = None,
    ) -> None:
        self._source = SharedSource(location, session=session, client=client)
        self.location = self._source.location
        """The location as given (for messages)."""
        self._ttl = _ttl_seconds(ttl)
        self._reading = threading.Lock()  # single flight: one thread reads, the others go on
        self._policy: Policy | None = None
        self._due: float | None = None
        self._loaded = 0.0  # time.monotonic() of the first read
        self._outage = False

    # -- reading --------------------------------------------------------------------------

    def load(self) -> Policy:
        """The first read: the policy, or :class:`ConfigurationError` naming the location and
        the reason (a process should not start on a policy it was told to use and cannot read)."""
        try:
            body = self._source.read()
        except SourceUnavailable as exc:
            raise ConfigurationError(
                f"cannot read {_WHAT}: {exc.reason}", source=self.location
            ) from None
        if body is None:  # read before by someone else: never for a new source
            raise ConfigurationError(f"cannot read {_WHAT}: nothing new", source=self.location)
        policy = self._parse(body)
        self._policy = policy
        self._loaded = time.monotonic()
        return policy

    @property
    def policy(self) -> Policy:
        """The policy in force (the last valid version read)."""
        policy = self._policy
        if policy is None:
            raise RuntimeError("SharedPolicy.load() has not been called")
        return policy

    @property
    def ttl(self) -> float | None:
        """Seconds between checks, or ``None`` for the catalog's TTL."""
        return self._ttl

    def next_check(self) -> float | None:
        """When (POSIX seconds, on the planning catalog's clock) the source is read next;
        ``None`` before the first plan. Reused decisions end there."""
        return self._due

    def stats(self) -> SourceStats:
        """The source's :class:`SourceStats`: reads, "unchanged" answers, failures."""
        return self._source.stats()

    def current(self, now: float, default_ttl: float, rejected: Rejected | None = None) -> Policy:
        """The policy in force at ``now``, reading the source first when the check is due.

        ``default_ttl`` (seconds) is the planning catalog's TTL, used when the policy has none
        of its own. Only one thread reads at a time; a thread that finds a read under way goes on
        with the last policy. ``rejected`` is told the wording of a new version that is invalid.
        """
        due = self._due
        if due is not None and now < due:
            return self.policy
        if not self._reading.acquire(blocking=False):
            return self.policy
        try:
            due = self._due
            interval = self._ttl if self._ttl is not None else default_ttl
            if due is None:
                # The first plan puts the schedule on the planning catalog's clock. The policy
                # was read when it was built, before any catalog's clock was known: what has
                # passed since then (by the process's own clock) counts.
                elapsed = time.monotonic() - self._loaded
                if elapsed >= interval:
                    self._check(rejected)
                    self._due = now + interval
                else:
                    self._due = now + (interval - elapsed)
            elif now >= due:
                self._check(rejected)
                self._due = now + interval
        finally:
            self._reading.release()
        return self.policy

    def _check(self, rejected: Rejected | None) -> None:
        try:
            body = self._source.read()
        except Exception as exc:  # a reload never fails the call that triggered it
            reason = exc.reason if isinstance(exc, SourceUnavailable) else type(exc).__name__
            extra = {"bedrock_lifecycle.source": self.location, "bedrock_lifecycle.reason": reason}
            if self._outage:
                logger.debug("bedrock_lifecycle.policy_source_failed_again", extra=extra)
            else:
                self._outage = True
                logger.warning(
                    "bedrock_lifecycle.policy_source_failed: %s",
                    wording.policy_source_failed(self.location, reason),
                    extra=extra,
                )
            return
        if self._outage:
            self._outage = False
            logger.info(
                "bedrock_lifecycle.policy_source_recovered",
                extra={"bedrock_lifecycle.source": self.location},
            )
        if body is None:
            return  # unchanged
        try:
            policy = self._parse(body)
        except ConfigurationError as exc:
            reason = str(exc).removeprefix(f"{self.location}: ")
            message = wording.policy_rejected(self.location, reason)
            logger.warning(
                "bedrock_lifecycle.policy_rejected: %s",
                message,
                extra={
                    "bedrock_lifecycle.source": self.location,
                    "bedrock_lifecycle.reason": reason,
                },
            )
            if rejected is not None:
                rejected(message)
            return
        if policy == self._policy:
            return  # republished as it was: keep the object, and every decision made with it
        self._policy = policy
        logger.info(
            "bedrock_lifecycle.policy_reloaded", extra={"bedrock_lifecycle.source": self.location}
        )

    def _parse(self, body: bytes) -> Policy:
        from ._policy import Policy, attach_shared

        name = PurePosixPath(self.location).name
        data = parse_mapping_bytes(body, name=name, what=_WHAT, source=self.location)
        return attach_shared(Policy.from_mapping(data, source=self.location), self)

    def __repr__(self) -> str:
        return f"SharedPolicy({self.location!r}, ttl={self._ttl!r})"


_env_lock = threading.Lock()
_env_policies: dict[str, SharedPolicy] = {}


def default_policy() -> Policy:
    """The policy used when none is given: ``BEDROCK_LIFECYCLE_POLICY``'s, else ``Policy()``.

    One reloader per location per process, so every client and hook follows the same copy and
    the source is read once per ``ttl`` however many clients there are. A first read that fails
    raises :class:`ConfigurationError` (and is tried again by the next client made).
    """
    from ._policy import Policy

    location = os.environ.get(POLICY_ENV, "").strip()
    if not location:
        return Policy()
    with _env_lock:
        shared = _env_policies.get(location)
        if shared is None:
            try:
                shared = SharedPolicy(location)
                shared.load()
            except ConfigurationError as exc:
                error = ConfigurationError(f"{exc} (set by {POLICY_ENV})")
                error.key, error.source = exc.key, exc.source
                raise error from None
            _env_policies[location] = shared
    return shared.policy
