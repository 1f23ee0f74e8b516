"""Choosing the model a call falls back to: a walk along successors that ends on a live model.

From the requested model the walk takes, in order:

1. its configured successor (the policy's ``successors``), then that successor's own configured
   successor, and so on; where a model on the way has none configured, AWS's first
   recommendation for it (when the policy allows recommendations);
2. then the requested model's own AWS recommendations.

Each candidate is judged in the region of the call: a model past end of life (by its dates or by
Bedrock's own refusal) is refused, and so is one that retires before the requested model does
(judged only when both end-of-life dates are known). A candidate whose own state the policy would
not call (``on_legacy="error"``, ...) is refused too. The first candidate not refused is chosen;
every refusal is kept with its reason, so an error can say what was tried.

Pure over a catalog and a policy: no warnings, no wording beyond the reasons.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from ._catalog import Catalog
from ._lifecycle import ModelLifecycle, State
from ._policy import Action, Policy

__all__ = ["Candidate", "Succession", "walk_successors"]


def _day(value: datetime | None) -> str:
    return value.date().isoformat() if value else "unknown"


@dataclass(frozen=True, slots=True)
class Candidate:
    """One model the walk looked at: ``refused`` is ``None`` for the one chosen."""

    model_id: str
    base_id: str | None
    entry: ModelLifecycle
    state: State
    refused: str | None = None
    works: bool = True
    """Whether a call to it would work today (``False`` past end of life or withdrawn)."""
    policy_only: bool = False
    """Refused only by the policy's action for its state (it retires no sooner, and works)."""

    def __str__(self) -> str:
        return f"{self.model_id}: {self.refused}" if self.refused else self.model_id


@dataclass(frozen=True, slots=True)
class Succession:
    """The outcome of a walk: every candidate in order, and the one chosen (if any)."""

    candidates: tuple[Candidate, ...]

    @property
    def chosen(self) -> Candidate | None:
        """The first candidate not refused."""
        return next((c for c in self.candidates if c.refused is None), None)

    @property
    def last_resort(self) -> Candidate | None:
        """The first candidate refused only because the policy would not call it either.

        For a call that cannot succeed as written (the requested model is past end of life),
        a working Legacy successor is better than no call at all.
        """
        return next(
            (c for c in self.candidates if c.refused is not None and c.works and c.policy_only),
            None,
        )

    @property
    def refused(self) -> tuple[Candidate, ...]:
        """The candidates refused before the chosen one (all of them when none was chosen)."""
        out = []
        for candidate in self.candidates:
            if candidate.refused is None:
                break
            out.append(candidate)
        return tuple(out)


def _order(
    requested: str, base: str | None, region: str | None, catalog: Catalog, policy: Policy
) -> list[tuple[str, str | None]]:
    """Candidate ids with their base ids, in walk order, each base model once."""

    def recommended(model_id: str) -> tuple[str, ...]:
        return catalog.lookup(model_id, region).recommended

    def base_of(candidate: str) -> str | None:
        return catalog.base_model(candidate, region)

    walked = policy.successor_candidates(
        requested, base, recommended=recommended, base_id_of=base_of
    )
    order = [(candidate, base_of(candidate)) for candidate in walked]
    seen = {requested, base, *walked, *(b for _, b in order)}
    if policy.use_recommended:
        for rid in recommended(base or requested):
            rid_base = base_of(rid)
            if rid not in seen and (rid_base is None or rid_base not in seen):
                order.append((rid, rid_base))
                seen.update((rid, rid_base))
    return order


def walk_successors(
    requested: str,
    base: str | None,
    region: str | None,
    at: datetime,
    *,
    catalog: Catalog,
    policy: Policy,
    requested_entry: ModelLifecycle | None = None,
) -> Succession:
    """Walk from ``requested`` (base id ``base``) to the first usable successor in ``region``.

    ``requested_entry`` is the requested model's lifecycle (looked up when not given): a
    candidate that retires before it is refused.
    """
    if requested_entry is None:
        requested_entry = catalog.lookup(requested, region)
    where = region or "its region"
    candidates = []
    for candidate, candidate_base in _order(requested, base, region, catalog, policy):
        entry = catalog.lookup(candidate, region)
        state = entry.state(at)
        refused: str | None = None
        works = True
        policy_only = False
        withdrawn = catalog.withdrawn(candidate_base, region) if candidate_base else None
        if withdrawn == "eol":
            refused, works = f"Bedrock answered that it reached end of life in {where}", False
        elif withdrawn == "idle":
            refused, works = f"Bedrock withdrew this account's access to it in {where}", False
        elif state is State.EOL:
            refused, works = f"end of life {_day(entry.eol_at)} in {where}", False
        elif (
            requested_entry.eol_at is not None
            and entry.eol_at is not None
            and entry.eol_at < requested_entry.eol_at
        ):
            refused = (
                f"retires {_day(entry.eol_at)} in {where}, before "
                f"{requested} ({_day(requested_entry.eol_at)})"
            )
        else:
            action = policy.action_for(state)
            if action in (Action.FALLBACK, Action.ERROR):
                setting = "on_extended_access" if state is State.EXTENDED_ACCESS else "on_legacy"
                refused = f"{state.label} in {where} and the policy says {setting}='{action}'"
                policy_only = True
        candidates.append(
            Candidate(candidate, candidate_base, entry, state, refused, works, policy_only)
        )
        if refused is None:
            break
    return Succession(tuple(candidates))
