"""Every sentence the call path says: warning texts and error messages, in one place.

The governor decides; this module words. Dates are ``YYYY-MM-DD`` (UTC), regions are named
("its region" when unknown), and each text ends with what to do where there is something to do.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

from ._constraints import Adaptation
from ._lifecycle import ModelLifecycle, State
from ._policy import Policy, body_family

__all__ = [
    "IDLE_CUTOFF_DAYS",
    "advice",
    "budget_refused",
    "budget_warning",
    "constraint_learned",
    "day",
    "eol_refused",
    "extended_access_refused",
    "fallback_reason",
    "fallback_warning",
    "idle_warning",
    "incompatible_body",
    "legacy_refused",
    "no_successor",
    "past_end_of_life",
    "policy_rejected",
    "policy_source_failed",
    "state_warning",
]

#: Days without a call after which Bedrock withdraws an account's access to a Legacy model.
IDLE_CUTOFF_DAYS = 15


def day(value: datetime | None) -> str:
    """A date as ``YYYY-MM-DD``, or ``"unknown"``."""
    return value.date().isoformat() if value else "unknown"


def _where(region: str | None) -> str:
    return region or "its region"


def advice(entry: ModelLifecycle, policy: Policy) -> str:
    """`` Move to X (configured successor).``, AWS's recommendation, or ``""``."""
    target = policy.successor_for(entry.model_id, entry.model_id)
    if target:
        return f" Move to {target} (configured successor)."
    if entry.recommended:
        return f" Move to {entry.recommended[0]} (AWS's recommendation)."
    return ""


def state_warning(
    entry: ModelLifecycle, state: State, region: str | None, now: datetime, policy: Policy
) -> str:
    """The text of a Legacy or extended-access warning for ``entry`` at ``now``."""
    days = entry.days_until_eol(now)
    when = (
        f"end of life on {day(entry.eol_at)} ({days} days left)"
        if entry.eol_at is not None
        else "end-of-life date not announced yet"
    )
    where = _where(region)
    if state is State.EXTENDED_ACCESS:
        what = (
            f"is in public extended access in {where} since "
            f"{day(entry.extended_access_at)}: it costs more than standard pricing"
        )
    else:
        extra = (
            f"; public extended access (higher prices) from {day(entry.extended_access_at)}"
            if entry.extended_access_at
            else ""
        )
        what = f"is Legacy in {where} since {day(entry.legacy_at)}{extra}"
    next_step = advice(entry, policy) or " No successor is configured or recommended."
    return f"{entry.model_id} {what}; {when}.{next_step}"


def idle_warning(entry: ModelLifecycle, region: str | None, idle: timedelta, policy: Policy) -> str:
    """The text of an :class:`IdleLegacyWarning`."""
    return (
        f"{entry.model_id} is Legacy and was last called in {_where(region)} "
        f"{idle.days} days ago; Bedrock withdraws an account's access to a Legacy model "
        f"after {IDLE_CUTOFF_DAYS} days without calls." + advice(entry, policy)
    )


def fallback_warning(
    requested: str,
    invoked: str,
    operation: str,
    region: str | None,
    why: str,
    changes: Iterable[Adaptation],
) -> str:
    """The text of a :class:`FallbackWarning`, naming every change made to the request."""
    message = f"{requested} {why} in {_where(region)}; {operation} sent to {invoked} instead."
    named = ", ".join(str(change) for change in changes)
    if named:
        message += f" The request was adapted to what {invoked} accepts: {named}."
    return message


def fallback_reason(state: State, entry: ModelLifecycle, withdrawn: bool) -> str:
    """Why a call left the model it named (the ``why`` of :func:`fallback_warning`)."""
    if withdrawn:
        return "was refused by Bedrock (lifecycle error)"
    return {
        State.EOL: f"reached end of life on {day(entry.eol_at)}",
        State.EXTENDED_ACCESS: "is in public extended access",
        State.LEGACY: "is Legacy",
    }.get(state, "was refused by Bedrock")


def past_end_of_life(model: str, region: str | None, entry: ModelLifecycle, idle: bool) -> str:
    """Why a call cannot succeed as written."""
    if idle:
        return f"Bedrock withdrew this account's access to Legacy model {model} in {_where(region)}"
    return f"{model} reached end of life in {_where(region)} on {day(entry.eol_at)}"


def no_successor(reason: str, base: str, refused: Iterable[str]) -> str:
    """The message of a :class:`NoSuccessorError`: every candidate and why it was refused."""
    hint = f"Policy(successors={{{base!r}: '<model id>'}})"
    why = "; ".join(refused)
    if why:
        return f"{reason} and no successor can take the call: {why}. Configure a live one: {hint}."
    return f"{reason} and no successor is configured or recommended. Add one: {hint}."


def eol_refused(reason: str, entry: ModelLifecycle, policy: Policy) -> str:
    """The message of a :class:`ModelEndOfLifeError` raised by ``on_eol='error'``."""
    return f"{reason}; on_eol='error' stopped the call before it was sent." + advice(entry, policy)


def extended_access_refused(
    model: str, region: str | None, entry: ModelLifecycle, policy: Policy
) -> str:
    """The message of an :class:`ExtendedAccessError`."""
    return (
        f"{model} is in public extended access in {_where(region)} (end of life "
        f"{day(entry.eol_at)}); on_extended_access='error' stopped the call."
        + advice(entry, policy)
    )


def legacy_refused(model: str, region: str | None, entry: ModelLifecycle, policy: Policy) -> str:
    """The message of a :class:`LegacyModelError`."""
    return (
        f"{model} is Legacy in {_where(region)} (end of life {day(entry.eol_at)}); "
        "on_legacy='error' stopped the call." + advice(entry, policy)
    )


def incompatible_body(requested: str, target: str, operation: str, source_base: str) -> str:
    """The message of an :class:`IncompatibleSuccessorError`."""
    return (
        f"cannot fall back from {requested} to {target} with {operation}: the request body is "
        f"written for the {body_family(source_base)} format and {target} reads "
        f"{body_family(target)}. Register a body translator for the pair "
        "(Policy(translators=...)) or call Converse, whose request shape is the same for "
        "every model."
    )


def constraint_learned(model: str, learned: str) -> str:
    """The log line when a successor's refusal is learned."""
    return (
        f"bedrock_lifecycle.constraint_learned: {model} refused a fallback request ({learned}); "
        "later requests to it are adapted"
    )


def budget_warning(event: Any, action: str) -> str:
    """A budget crossed ``event.threshold`` of its limit."""
    share = f"{event.threshold:.0%}"
    every = "daily" if event.period == "day" else "monthly"
    text = (
        f"budget {event.budget!r} has reached {share} of its ${event.limit_usd:,.2f} {every} "
        f"limit: ${event.spend_usd:,.4f} {event.kind} spent since "
        f"{event.period_start.date().isoformat()}."
    )
    if event.threshold >= 1.0:
        then = {
            "warn": "Calls go on as before.",
            "fallback": "Calls it covers now go to their successor",
            "error": "Calls it covers are now refused",
        }[action]
        if action != "warn":
            then += f" until {event.period_end.date().isoformat()} (UTC)."
        text += " " + then
    return text


def budget_refused(
    model: str,
    region: str | None,
    budget: str,
    spend: float,
    limit: float,
    period_end: datetime,
    fallback: bool,
) -> str:
    """A call refused because a budget is spent."""
    why = " and no successor can take the call" if fallback else ""
    return (
        f"{model} was not called in {_where(region)}: budget {budget!r} is spent "
        f"(${spend:,.4f} of ${limit:,.2f}){why}. Calls go through again from "
        f"{period_end.date().isoformat()} (UTC), or raise the budget's limit."
    )


def policy_rejected(location: str, reason: str) -> str:
    """A new version of a shared policy that is invalid (the last valid one stays in force)."""
    return (
        f"the shared policy at {location} changed but cannot be used: {reason}. The last valid "
        "policy stays in force until a valid version is published there."
    )


def policy_source_failed(location: str, reason: str) -> str:
    """A shared policy that cannot be read now (the last valid one stays in force)."""
    return (
        f"the shared policy at {location} cannot be read ({reason}); the last valid policy stays "
        "in force and the source is read again on its schedule."
    )
