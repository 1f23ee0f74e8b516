"""The lifecycle of one model in one region, and the state derived from its dates."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import datetime

from ._clock import as_utc, utc_now

__all__ = ["ModelLifecycle", "Source", "State"]


class State(str, enum.Enum):
    """Where a model stands on a given day.

    Bedrock's API only ever reports ``ACTIVE`` or ``LEGACY``; extended access and end of life are
    derived from the dates.
    """

    ACTIVE = "ACTIVE"
    LEGACY = "LEGACY"
    EXTENDED_ACCESS = "EXTENDED_ACCESS"
    EOL = "EOL"
    UNKNOWN = "UNKNOWN"

    def __str__(self) -> str:
        return self.value

    @property
    def label(self) -> str:
        """A human label: ``Active``, ``Legacy``, ``extended access``, ``EOL``, ``unknown``."""
        return _LABELS[self]

    @property
    def rank(self) -> int:
        """Order of severity: ACTIVE 0 < LEGACY 1 < EXTENDED_ACCESS 2 < EOL 3; UNKNOWN is -1."""
        return _RANKS[self]


_LABELS = {
    State.ACTIVE: "Active",
    State.LEGACY: "Legacy",
    State.EXTENDED_ACCESS: "extended access",
    State.EOL: "end of life",
    State.UNKNOWN: "unknown",
}
_RANKS = {
    State.UNKNOWN: -1,
    State.ACTIVE: 0,
    State.LEGACY: 1,
    State.EXTENDED_ACCESS: 2,
    State.EOL: 3,
}


class Source(str, enum.Enum):
    """Where a lifecycle entry came from, highest precedence first."""

    OVERRIDE = "override"
    OBSERVED = "observed"
    """Bedrock answered a call with a lifecycle error; recorded by the catalog."""
    API = "api"
    """The live control plane (``ListFoundationModels``), fetched by this process."""
    SHARED = "shared"
    """The fleet's shared snapshot (``Catalog(source=...)``): control-plane data another
    process published; ranked with ``API`` by fetch time, the newer winning."""
    CACHE = "cache"
    BUNDLED = "bundled"
    NONE = "none"
    """Nothing is known about the model."""

    def __str__(self) -> str:
        return self.value


def _utc_or_none(value: datetime | None) -> datetime | None:
    return None if value is None else as_utc(value)


@dataclass(frozen=True, slots=True)
class ModelLifecycle:
    """Lifecycle dates of one base model in one region.

    ``legacy_at``, ``extended_access_at`` and ``eol_at`` are timezone-aware UTC datetimes (naive
    values are taken as UTC, others converted). ``status`` is what the control plane said
    (``"ACTIVE"`` or ``"LEGACY"``), when it said anything. ``recommended`` holds the replacement ids
    AWS published, best first.
    """

    model_id: str
    region: str | None = None
    legacy_at: datetime | None = None
    extended_access_at: datetime | None = None
    eol_at: datetime | None = None
    recommended: tuple[str, ...] = ()
    source: Source = Source.NONE
    status: str | None = None
    name: str | None = None
    provider: str | None = None
    as_of: datetime | None = field(default=None, compare=False)

    def __post_init__(self) -> None:
        for name in ("legacy_at", "extended_access_at", "eol_at", "as_of"):
            value: object = getattr(self, name)
            if value is not None:
                if not isinstance(value, datetime):
                    raise TypeError(f"ModelLifecycle.{name} must be a datetime, not {value!r}")
                object.__setattr__(self, name, as_utc(value))
        recommended: object = self.recommended
        if isinstance(recommended, str):
            raise TypeError("ModelLifecycle.recommended must be a sequence of ids, not a str")
        if not isinstance(recommended, tuple):
            object.__setattr__(self, "recommended", tuple(self.recommended))
        if self.status is not None:
            object.__setattr__(self, "status", str(self.status).upper())
        source: object = self.source
        if not isinstance(source, Source):
            object.__setattr__(self, "source", Source(source))

    @property
    def known(self) -> bool:
        """Whether anything at all is known about this model."""
        return self.source is not Source.NONE

    def state(self, at: datetime | None = None) -> State:
        """The state at ``at`` (default: now).

        End of life from ``eol_at`` on (to the second), extended access from
        ``extended_access_at``, Legacy from ``legacy_at`` (or, when no date is known, a
        ``LEGACY`` status, which describes the present only); otherwise Active
        when the model is known and ``UNKNOWN`` when it is not.
        """
        now = utc_now() if at is None else as_utc(at)
        if self.eol_at is not None and now >= self.eol_at:
            return State.EOL
        if self.status == "EOL":
            return State.EOL
        if self.extended_access_at is not None and now >= self.extended_access_at:
            return State.EXTENDED_ACCESS
        if self.legacy_at is not None:
            # A LEGACY status describes the present only: before a known legacy date, Active.
            if now >= self.legacy_at:
                return State.LEGACY
        elif self.status == "LEGACY":
            return State.LEGACY
        if not self.known:
            return State.UNKNOWN
        return State.ACTIVE

    def next_transition(self, at: datetime | None = None) -> tuple[State, datetime] | None:
        """The next dated change after ``at``: ``(state entered, when)``, or ``None``."""
        now = utc_now() if at is None else as_utc(at)
        steps = (
            (State.LEGACY, self.legacy_at),
            (State.EXTENDED_ACCESS, self.extended_access_at),
            (State.EOL, self.eol_at),
        )
        upcoming = [(when, state) for state, when in steps if when is not None and when > now]
        if not upcoming:
            return None
        when, state = min(upcoming, key=lambda item: item[0])
        return state, when

    def days_until_eol(self, at: datetime | None = None) -> int | None:
        """Whole days from ``at`` until end of life (negative once past), or ``None``."""
        if self.eol_at is None:
            return None
        now = utc_now() if at is None else as_utc(at)
        return (self.eol_at - now).days

    @classmethod
    def unknown(cls, model_id: str, region: str | None = None) -> ModelLifecycle:
        """An entry for a model nothing is known about."""
        return cls(model_id=model_id, region=region, source=Source.NONE)
