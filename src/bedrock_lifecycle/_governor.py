"""The one decision function behind both faces (the wrapper and the botocore hooks).

A call flows: model id -> catalog lookup -> policy decision (pass, warn, rewrite, refuse) ->
the boto3 call -> usage record -> ledger. :class:`Governor` holds the pieces and turns a call's
parameters into a :class:`CallPlan` (:meth:`Governor.plan`), then finishes a response
(:meth:`Governor.finish`): response metadata, the idle guard's bookkeeping, usage recording
(streams are wrapped, see :mod:`._streams`).
"""

from __future__ import annotations

import logging
import sys
import threading
import warnings
from collections.abc import Callable, Mapping, MutableMapping
from datetime import datetime, timedelta, timezone
from types import FrameType
from typing import Any, NamedTuple

from ._catalog import Catalog
from ._constraints import Adaptation, ConstraintBook, adapt_request, constraint_from_refusal
from ._errors import (
    ExtendedAccessError,
    ExtendedAccessWarning,
    FallbackWarning,
    IdleLegacyWarning,
    IncompatibleSuccessorError,
    LegacyModelError,
    LegacyModelWarning,
    LifecycleWarning,
    ModelEndOfLifeError,
    ModelUnavailableError,
    NoSuccessorError,
)
from ._ids import parse_model_id, render_successor
from ._lifecycle import ModelLifecycle, State
from ._policy import Action, Policy
from ._pricing import PriceBook
from ._streams import Head, LiveStream, Restart, Sink
from ._succession import Succession, walk_successors
from ._usage import (
    RecordTemplate,
    Usage,
    converse_figures,
    figures_of,
    invoke_header_figures,
    settle,
    usage_from_converse,
    usage_from_invoke_headers,
)
from .ledger import Ledger

__all__ = [
    "GOVERNED_OPERATIONS",
    "STREAM_KEYS",
    "CallPlan",
    "Governor",
    "Quiet",
    "lifecycle_error_kind",
    "lifecycle_metadata",
]

logger = logging.getLogger("bedrock_lifecycle")

GOVERNED_OPERATIONS = frozenset(
    {
        "Converse",
        "ConverseStream",
        "InvokeModel",
        "InvokeModelWithResponseStream",
        "CountTokens",
        "StartAsyncInvoke",
    }
)
#: Operations whose request body is written for one provider's format.
_BODY_OPERATIONS = frozenset({"InvokeModel", "InvokeModelWithResponseStream", "StartAsyncInvoke"})
#: Operations that are billed per token (and so are recorded in the ledger).
_RECORDED_OPERATIONS = frozenset(
    {"Converse", "ConverseStream", "InvokeModel", "InvokeModelWithResponseStream"}
)
_IDLE_CUTOFF_DAYS = 15
#: Pass-through decisions kept for reuse (per operation, model id and region).
_QUIET_CACHE_SIZE = 1024
#: Governor attributes whose replacement makes every reused decision stale.
_CONFIG_ATTRIBUTES = frozenset({"catalog", "policy", "ledger", "prices"})
_NO_HEAD: Head = (None, None, None)

_EOL_TEXT = "reached the end of its life"
_IDLE_TEXT = ("marked by provider as Legacy", "not been actively using")
_VALIDATION_LIFECYCLE_TEXT = ("Operation not allowed", "The provided model identifier is invalid")

#: Modules whose frames are skipped when pointing a warning at the user's call site.
_INTERNAL_PREFIXES = ("bedrock_lifecycle", "botocore", "boto3")


STREAM_KEYS = {"ConverseStream": "stream", "InvokeModelWithResponseStream": "body"}
"""Where each streaming operation's event stream sits in the response."""


class CallPlan(NamedTuple):
    """What the governor decided for one call."""

    operation: str
    region: str | None
    requested_model_id: str
    invoked_model_id: str
    requested_base: str | None
    invoked_base: str | None
    state: State
    """State of the requested model."""
    invoked_state: State
    """State of the model actually called (the successor after a fallback)."""
    eol_at: datetime | None
    fallback: bool
    params: Mapping[str, Any]
    """The parameters to send: the caller's own mapping, or a new dict after a rewrite."""
    at: datetime | None = None
    """When the call was decided (the catalog's clock): the usage record's timestamp."""
    requested_params: Mapping[str, Any] | None = None
    """The caller's parameters as given (a reactive fallback plans again from them)."""
    adapted: tuple[str, ...] = ()
    """Dotted paths of the request changed for the model called (see ``Policy.adapt_requests``)."""

    @property
    def extended_access(self) -> bool:
        """Whether the model actually called is in public extended access."""
        return self.invoked_state is State.EXTENDED_ACCESS

    def metadata(self) -> dict[str, Any]:
        """The ``ResponseMetadata["BedrockLifecycle"]`` block."""
        return {
            "requestedModelId": self.requested_model_id,
            "invokedModelId": self.invoked_model_id,
            "state": self.state.value,
            "eolAt": self.eol_at.date().isoformat() if self.eol_at else None,
            "fallback": self.fallback,
            "adapted": list(self.adapted),
        }


def lifecycle_metadata(response: Mapping[str, Any]) -> dict[str, Any] | None:
    """The ``ResponseMetadata["BedrockLifecycle"]`` block of a governed response, if any.

    A typed accessor: boto3's type stubs do not know the key. The block holds
    ``requestedModelId``, ``invokedModelId``, ``state``, ``eolAt`` (YYYY-MM-DD or ``None``),
    ``fallback`` and ``adapted`` (dotted paths of the request changed for the successor, e.g.
    ``["inferenceConfig.topP"]``; ``[]`` when nothing changed).
    """
    metadata = response.get("ResponseMetadata")
    found = metadata.get("BedrockLifecycle") if isinstance(metadata, Mapping) else None
    return dict(found) if isinstance(found, Mapping) else None


def lifecycle_error_kind(code: str | None, message: str | None, known_state: State) -> str | None:
    """``"eol"`` / ``"idle"`` when a Bedrock error is a lifecycle failure, else ``None``.

    The end-of-life and idle-Legacy messages are recognised by their text, whatever the error
    code (Bedrock sends them as ResourceNotFoundException; inside a stream they arrive as a
    stream exception). A ValidationException ("Operation not allowed", "The provided model
    identifier is invalid.") counts only for a model the catalog knows is Legacy or past end of
    life: for any other model it is most likely a typo, and falling back would hide it.
    Throttling, server errors and everything else are never lifecycle failures.
    """
    text = message or ""
    if _EOL_TEXT in text:
        return "eol"
    if any(marker in text for marker in _IDLE_TEXT):
        return "idle"
    if (code or "").lower() == "validationexception" and any(
        marker in text for marker in _VALIDATION_LIFECYCLE_TEXT
    ):
        if known_state is State.EOL:
            return "eol"
        if known_state in (State.LEGACY, State.EXTENDED_ACCESS):
            return "idle"
    return None


def _stacklevel() -> int:
    """How many frames up the first frame outside this package, botocore and boto3 is."""
    frame: FrameType | None = sys._getframe(1)
    level = 1
    while frame is not None:
        name = frame.f_globals.get("__name__", "")
        if not name.startswith(_INTERNAL_PREFIXES):
            return level
        frame = frame.f_back
        level += 1
    return 1


def _day(value: datetime | None) -> str:
    return value.date().isoformat() if value else "unknown"


class Governor:
    """Catalog + policy + ledger + prices: decides and records governed calls. Thread-safe."""

    _config: int
    """Bumped whenever the catalog, policy, ledger or prices are replaced."""

    def __init__(
        self,
        *,
        catalog: Catalog,
        policy: Policy,
        ledger: Ledger | None,
        prices: PriceBook | None,
    ) -> None:
        self.catalog = catalog
        self.policy = policy
        self.ledger = ledger
        self.prices = prices
        self._exception_classes: dict[tuple[type[Exception], type[Exception]], type[Exception]] = {}
        self._lock = threading.Lock()
        self._quiet: dict[tuple[str, str, str | None], Quiet] = {}
        self._book: tuple[Policy, ConstraintBook] | None = None

    def __setattr__(self, name: str, value: Any) -> None:
        # Reused decisions remember what they were made with: replacing the catalog, policy,
        # ledger or prices makes every one of them stale at once.
        if name in _CONFIG_ATTRIBUTES:
            object.__setattr__(self, "_config", getattr(self, "_config", 0) + 1)
        object.__setattr__(self, name, value)

    # -- deciding ---------------------------------------------------------------------------

    def plan(
        self,
        operation: str,
        params: Mapping[str, Any],
        region: str | None,
        *,
        exceptions: Any = None,
    ) -> CallPlan | None:
        """Decide a call. ``None`` when it is not governed (no string ``modelId``).

        Emits warnings, may rewrite ``modelId`` (a copy of ``params`` is returned in the plan),
        and raises :class:`ModelUnavailableError` subclasses when the call must not be sent.
        ``exceptions`` is the client's ``exceptions`` attribute: raised errors then also match
        ``client.exceptions.ResourceNotFoundException`` / ``ValidationException``.
        """
        requested = params.get("modelId")
        if operation not in GOVERNED_OPERATIONS or not isinstance(requested, str):
            return None
        catalog = self.catalog
        now = catalog._now()
        key = (operation, requested, region)
        quiet = self._quiet.get(key)
        if (
            quiet is not None
            and now.timestamp() < quiet.until_ts
            and quiet.generation == catalog.generation
            and quiet.config == self._config
        ):
            # Nothing to say about this model until `until`: reuse the decision.
            return quiet.plan._replace(params=params, requested_params=params, at=now)
        generation = catalog.generation  # read before the data the decision is made from
        entry, base, withdrawn = catalog.resolve(requested, region)
        state = entry.state(now)
        effective = State.EOL if withdrawn else state
        action = self.policy.action_for(effective)
        plan = CallPlan(
            operation=operation,
            region=region,
            requested_model_id=requested,
            invoked_model_id=requested,
            requested_base=base,
            invoked_base=base,
            state=state,
            invoked_state=state,
            eol_at=entry.eol_at,
            fallback=False,
            params=params,  # not copied: only a rewrite makes a new dict
            at=now,
            requested_params=params,
        )
        if action is Action.IGNORE:
            self._remember_quiet(key, plan, entry, now, generation)
            return plan
        if action is Action.WARN:
            self._warn_state(entry, state, region, now)
            self._idle_guard(entry, state, region, now)
            return plan
        if action is Action.ERROR:
            raise self._refusal(plan, entry, withdrawn, exceptions, successor=None)
        # Action.FALLBACK
        walk = walk_successors(
            requested, base, region, now, catalog=catalog, policy=self.policy, requested_entry=entry
        )
        target = walk.chosen
        if target is None and effective is State.EOL:
            # The call cannot succeed as written: a working successor the policy would rather
            # not use (Legacy under on_legacy="fallback", say) still beats a lost call.
            target = walk.last_resort
        if target is None:
            if effective is State.EOL:
                raise self._refusal(plan, entry, withdrawn, exceptions, successor=None, walk=walk)
            # Legacy / extended access with fallback asked but nowhere to go: the model still
            # works, so warn (saying there is no successor) rather than break the call.
            self._warn_state(entry, state, region, now)
            self._idle_guard(entry, state, region, now)
            return plan
        if target.state in (State.LEGACY, State.EXTENDED_ACCESS):
            # The successor itself is ageing: say so once, with its own dates.
            self._warn_state(target.entry, target.state, region, now)
        return self._rewrite(
            plan, entry, target.model_id, target.base_id, target.entry, now, exceptions
        )

    def _remember_quiet(
        self,
        key: tuple[str, str, str | None],
        plan: CallPlan,
        entry: ModelLifecycle,
        now: datetime,
        generation: int,
    ) -> None:
        """Keep a pass-through decision until the model's next transition or a catalog change.

        The decision for an Active (or unknown) model cannot change before its next dated
        transition, before the catalog's data changes (its ``generation``), before the
        region's data goes stale (the next lookup must run to trigger the refresh), or before
        the governor's catalog, policy, ledger or prices are replaced.
        """
        until = self.catalog.fresh_until(plan.region)
        if until is None:
            return
        upcoming = entry.next_transition(now)
        if upcoming is not None and upcoming[1] < until:
            until = upcoming[1]
        if len(self._quiet) >= _QUIET_CACHE_SIZE:
            self._quiet.clear()
        # The generation read before the lookup: if the data changed meanwhile, the entry is
        # already stale and the next call decides afresh.
        self._quiet[key] = Quiet(self, plan, until, generation)

    def _sink(self) -> Callable[[list[Any]], None] | None:
        """Where pending usage records go (see :class:`RecordTemplate`), or ``None``."""
        ledger = self.ledger
        if ledger is None:
            return None
        fast: Callable[[], Callable[[list[Any]], None]] | None = getattr(
            ledger, "_pending_sink", None
        )
        if fast is not None:
            return fast()
        record = ledger.record

        def build_and_record(pending: list[Any]) -> None:
            record(settle(pending))

        return build_and_record

    def template(self, plan: CallPlan) -> RecordTemplate:
        """What every usage record of calls planned like ``plan`` shares."""
        price_key = plan.invoked_base or plan.invoked_model_id
        return RecordTemplate(
            price=self.prices.price_for(price_key, plan.region) if self.prices else None,
            operation=plan.operation,
            region=plan.region,
            requested_model_id=plan.requested_model_id,
            invoked_model_id=plan.invoked_model_id,
            state=plan.invoked_state.value,
            extended_access=plan.extended_access,
            fallback_from=plan.requested_model_id if plan.fallback else None,
        )

    def constraints(self) -> ConstraintBook:
        """What models refuse: the policy's ``constraints`` over the process-wide book."""
        policy = self.policy
        cached = self._book
        if cached is None or cached[0] is not policy:
            cached = (policy, ConstraintBook.default().with_entries(policy.constraints))
            self._book = cached
        return cached[1]

    def _rewrite(
        self,
        plan: CallPlan,
        entry: ModelLifecycle,
        successor: str,
        successor_base: str | None,
        successor_entry: ModelLifecycle,
        now: datetime,
        exceptions: Any,
    ) -> CallPlan:
        rendered = render_successor(parse_model_id(plan.requested_model_id), successor)
        rewritten = dict(plan.params)
        rewritten["modelId"] = rendered
        if plan.operation in _BODY_OPERATIONS or _counts_invoke_body(plan):
            self._translate_body(plan, rewritten, successor_base or successor, exceptions)
        params: Mapping[str, Any] = rewritten
        changes: tuple[Adaptation, ...] = ()
        if self.policy.adapt_requests:
            limits = self.constraints().for_model(successor_base or rendered)
            params, changes = adapt_request(plan.operation, rewritten, limits)
        new_plan = CallPlan(
            operation=plan.operation,
            region=plan.region,
            requested_model_id=plan.requested_model_id,
            invoked_model_id=rendered,
            requested_base=plan.requested_base,
            invoked_base=successor_base,
            state=plan.state,
            invoked_state=successor_entry.state(now),
            eol_at=plan.eol_at,
            fallback=True,
            params=params,
            at=plan.at,
            requested_params=plan.requested_params,
            adapted=tuple(change.path for change in changes),
        )
        self._warn_fallback(new_plan, entry, changes)
        return new_plan

    def _translate_body(
        self, plan: CallPlan, params: dict[str, Any], target_base: str, exceptions: Any
    ) -> None:
        source_base = plan.requested_base or plan.requested_model_id
        translator = self.policy.translator_for(source_base, target_base)
        if translator is not None:
            if plan.operation == "CountTokens":
                inner = dict(params["input"]["invokeModel"])
                inner["body"] = translator(_body_bytes(inner.get("body")))
                params["input"] = {**params["input"], "invokeModel": inner}
            elif "body" in params:
                params["body"] = translator(_body_bytes(params["body"]))
            return
        if self.policy.compatible_bodies(source_base, target_base):
            return
        from ._policy import body_family

        message = (
            f"cannot fall back from {plan.requested_model_id} to {target_base} with "
            f"{plan.operation}: the request body is written for the "
            f"{body_family(source_base)} format and {target_base} reads "
            f"{body_family(target_base)}. Register a body translator for the pair "
            "(Policy(translators=...)) or call Converse, whose request shape is the same for "
            "every model."
        )
        raise self._error(
            IncompatibleSuccessorError,
            message,
            plan,
            exceptions,
            successor=target_base,
        )

    # -- errors and warnings ----------------------------------------------------------------

    def _refusal(
        self,
        plan: CallPlan,
        entry: ModelLifecycle,
        withdrawn: str | None,
        exceptions: Any,
        successor: str | None,
        walk: Succession | None = None,
    ) -> ModelUnavailableError:
        region = plan.region or "its region"
        model = plan.requested_model_id
        effective = State.EOL if withdrawn else plan.state
        if effective is State.EOL:
            action = self.policy.action_for(State.EOL)
            reason = (
                f"Bedrock withdrew this account's access to Legacy model {model} in {region}"
                if withdrawn == "idle"
                else f"{model} reached end of life in {region} on {_day(entry.eol_at)}"
            )
            if action is Action.FALLBACK:
                refused = walk.refused if walk is not None else ()
                hint = f"Policy(successors={{{(plan.requested_base or model)!r}: '<model id>'}})"
                if refused:
                    text = (
                        f"{reason} and no successor can take the call: "
                        + "; ".join(str(candidate) for candidate in refused)
                        + f". Configure a live one: {hint}."
                    )
                else:
                    text = (
                        f"{reason} and no successor is configured or recommended. Add one: {hint}."
                    )
                error = self._error(NoSuccessorError, text, plan, exceptions, successor=successor)
                if isinstance(error, NoSuccessorError):
                    error.candidates = tuple((c.model_id, c.refused or "") for c in refused)
                return error
            return self._error(
                ModelEndOfLifeError,
                f"{reason}; on_eol='error' stopped the call before it was sent."
                + self._advice(entry),
                plan,
                exceptions,
                successor=successor,
            )
        if effective is State.EXTENDED_ACCESS:
            return self._error(
                ExtendedAccessError,
                f"{model} is in public extended access in {region} (end of life "
                f"{_day(entry.eol_at)}); on_extended_access='error' stopped the call."
                + self._advice(entry),
                plan,
                exceptions,
                successor=successor,
            )
        return self._error(
            LegacyModelError,
            f"{model} is Legacy in {region} (end of life {_day(entry.eol_at)}); "
            "on_legacy='error' stopped the call." + self._advice(entry),
            plan,
            exceptions,
            successor=successor,
        )

    def _error(
        self,
        cls: type[ModelUnavailableError],
        message: str,
        plan: CallPlan,
        exceptions: Any,
        *,
        successor: str | None,
    ) -> ModelUnavailableError:
        raised = self._matching_class(cls, exceptions)
        return raised(
            message,
            model_id=plan.requested_model_id,
            operation=plan.operation,
            base_model_id=plan.requested_base,
            region=plan.region,
            state=plan.state,
            eol_at=plan.eol_at,
            successor=successor,
        )

    def _matching_class(
        self, cls: type[ModelUnavailableError], exceptions: Any
    ) -> type[ModelUnavailableError]:
        """``cls`` combined with the client's own modeled exception for the same error code."""
        modeled = getattr(exceptions, cls.error_code, None) if exceptions is not None else None
        if not isinstance(modeled, type) or not issubclass(modeled, Exception):
            return cls
        key = (cls, modeled)
        with self._lock:
            combined = self._exception_classes.get(key)
            if combined is None:
                combined = type(cls.__name__, (cls, modeled), {"__module__": cls.__module__})
                self._exception_classes[key] = combined
        return combined  # type: ignore[return-value]

    def _advice(self, entry: ModelLifecycle) -> str:
        target = self.policy.successor_for(entry.model_id, entry.model_id)
        if target:
            return f" Move to {target} (configured successor)."
        if entry.recommended:
            return f" Move to {entry.recommended[0]} (AWS's recommendation)."
        return ""

    def _warn(self, category: type[LifecycleWarning], message: str, key: tuple[Any, ...]) -> None:
        if self.policy.warn_once and not self.catalog.first_time(*key):
            return
        logger.warning(
            "bedrock_lifecycle.%s: %s",
            category.__name__,
            message,
            extra={"bl_warning": category.__name__},
        )
        warnings.warn(message, category, stacklevel=_stacklevel())

    def _warn_state(
        self,
        entry: ModelLifecycle,
        state: State,
        region: str | None,
        now: datetime,
    ) -> None:
        if state not in (State.LEGACY, State.EXTENDED_ACCESS):
            return
        days = entry.days_until_eol(now)
        when = (
            f"end of life on {_day(entry.eol_at)} ({days} days left)"
            if entry.eol_at is not None
            else "end-of-life date not announced yet"
        )
        where = region or "its region"
        if state is State.EXTENDED_ACCESS:
            category: type[LifecycleWarning] = ExtendedAccessWarning
            what = (
                f"is in public extended access in {where} since "
                f"{_day(entry.extended_access_at)}: it costs more than standard pricing"
            )
        else:
            category = LegacyModelWarning
            extra = (
                f"; public extended access (higher prices) from {_day(entry.extended_access_at)}"
                if entry.extended_access_at
                else ""
            )
            what = f"is Legacy in {where} since {_day(entry.legacy_at)}{extra}"
        advice = self._advice(entry) or " No successor is configured or recommended."
        message = f"{entry.model_id} {what}; {when}.{advice}"
        self._warn(category, message, ("state", entry.model_id, region, state))

    def _idle_guard(
        self, entry: ModelLifecycle, state: State, region: str | None, now: datetime
    ) -> None:
        if not self.policy.idle_warning_days or state not in (State.LEGACY, State.EXTENDED_ACCESS):
            return
        last = self.catalog.last_used(entry.model_id, region)
        if last is None:
            return
        idle = now - last
        if idle < timedelta(days=self.policy.idle_warning_days):
            return
        message = (
            f"{entry.model_id} is Legacy and was last called in {region or 'its region'} "
            f"{idle.days} days ago; Bedrock withdraws an account's access to a Legacy model "
            f"after {_IDLE_CUTOFF_DAYS} days without calls." + self._advice(entry)
        )
        self._warn(IdleLegacyWarning, message, ("idle", entry.model_id, region, last.date()))

    def _warn_fallback(
        self, plan: CallPlan, entry: ModelLifecycle, changes: tuple[Adaptation, ...]
    ) -> None:
        why = {
            State.EOL: f"reached end of life on {_day(entry.eol_at)}",
            State.EXTENDED_ACCESS: "is in public extended access",
            State.LEGACY: "is Legacy",
        }.get(plan.state, "was refused by Bedrock")
        if plan.requested_base and self.catalog.withdrawn(plan.requested_base, plan.region):
            why = "was refused by Bedrock (lifecycle error)"
        message = (
            f"{plan.requested_model_id} {why} in {plan.region or 'its region'}; "
            f"{plan.operation} sent to {plan.invoked_model_id} instead."
        )
        if changes:
            message += (
                f" The request was adapted to what {plan.invoked_model_id} accepts: "
                + ", ".join(str(change) for change in changes)
                + "."
            )
        # One warning per distinct adaptation: a call changed in a new way is named again.
        self._warn(
            FallbackWarning,
            message,
            ("fallback", plan.requested_model_id, plan.invoked_model_id, plan.region, plan.adapted),
        )

    # -- after the call ---------------------------------------------------------------------

    def observe_failure(self, plan: CallPlan, code: str | None, message: str | None) -> str | None:
        """Classify a Bedrock error for ``plan``; record lifecycle failures in the catalog."""
        kind = lifecycle_error_kind(code, message, plan.invoked_state)
        if kind is not None:
            target = plan.invoked_base or plan.invoked_model_id
            self.catalog.mark_unavailable(target, plan.region, kind)
            logger.warning(
                "bedrock_lifecycle.lifecycle_error: Bedrock refused %s in %s (%s)",
                plan.invoked_model_id,
                plan.region,
                kind,
                extra={"bl_model_id": plan.invoked_model_id, "bl_kind": kind},
            )
        return kind

    def learn_refusal(self, plan: CallPlan, code: str | None, message: str | None) -> bool:
        """Remember what a successor refused; ``True`` when a new constraint was learned.

        Only for a fallback with request adaptation on: a ``ValidationException`` that names a
        parameter (refused alone or with another, or a ``maxTokens`` ceiling) becomes a
        constraint of the model called, so every later call adapts before sending.
        """
        if not plan.fallback or not self.policy.adapt_requests:
            return False
        if (code or "").lower() != "validationexception":
            return False
        learned = constraint_from_refusal(message)
        if learned is None:
            return False
        target = plan.invoked_base or plan.invoked_model_id
        if not self.constraints().learn(target, learned):
            return False
        logger.warning(
            "bedrock_lifecycle.constraint_learned: %s refused a fallback request (%s); "
            "later requests to it are adapted",
            plan.invoked_model_id,
            learned.describe(),
            extra={"bl_model_id": plan.invoked_model_id, "bl_constraint": learned.describe()},
        )
        return True

    def mark(self, plan: CallPlan, response: MutableMapping[str, Any]) -> None:
        """Note the successful call (idle guard); add ``ResponseMetadata["BedrockLifecycle"]``."""
        if plan.invoked_base:
            self.catalog.note_success(plan.invoked_base, plan.region, plan.at)
        metadata = response.get("ResponseMetadata")
        if isinstance(metadata, (dict, MutableMapping)):
            metadata["BedrockLifecycle"] = plan.metadata()

    def finish(
        self,
        plan: CallPlan,
        response: MutableMapping[str, Any],
        restart: Restart | None = None,
    ) -> None:
        """Annotate a successful response and record its usage.

        Streams are wrapped in place (``response["stream"]`` / ``response["body"]``) and recorded
        when they end; ``restart`` is the wrapper's reactive fallback for a stream that fails
        before its first event (hooks cannot resend, and pass none).
        """
        self.mark(plan, response)
        operation = plan.operation
        if operation in STREAM_KEYS:
            key = STREAM_KEYS[operation]
            inner = response.get(key)
            if inner is not None:
                sink, head = self.stream_target(plan, response)
                response[key] = LiveStream(inner, operation, sink, head, restart)
        elif self.ledger is None:
            return
        elif operation == "Converse":
            self.record(plan, usage_from_converse(response), response)
        elif operation == "InvokeModel":
            metadata = response.get("ResponseMetadata")
            headers = metadata.get("HTTPHeaders", {}) if isinstance(metadata, dict) else {}
            self.record(plan, usage_from_invoke_headers(headers), response)

    def stream_target(
        self, plan: CallPlan, response: Mapping[str, Any]
    ) -> tuple[Sink | None, Head]:
        """Where the usage of a stream planned by ``plan`` goes, and its pending record's head."""
        sink = self._sink()
        if sink is None:
            return None, (None, None, None)
        metadata = response.get("ResponseMetadata")
        request_id = metadata.get("RequestId") if isinstance(metadata, Mapping) else None
        return sink, (self.template(plan), plan.at or self.catalog.now(), request_id)

    def record(self, plan: CallPlan, usage: Usage, response: Mapping[str, Any] | None) -> None:
        """Write one usage record to the ledger; never raises."""
        if self.ledger is None or plan.operation not in _RECORDED_OPERATIONS:
            return
        try:
            metadata = response.get("ResponseMetadata") if response else None
            request_id = metadata.get("RequestId") if isinstance(metadata, Mapping) else None
            sink = self._sink()
            if sink is not None:
                at = plan.at or self.catalog.now()
                sink(self.template(plan).pending(at, figures_of(usage), request_id))
        except Exception:  # recording must never break the caller's call
            logger.exception("bedrock_lifecycle.record_failed")


class Quiet:
    """A pass-through decision (Active or unknown model) kept for reuse, with everything the
    calls it covers need precomputed: the response metadata block, the last-use key and the
    usage record template.

    Valid while the catalog's clock, as POSIX seconds, is below ``until_ts`` and the catalog's
    ``generation`` and the governor's configuration are the ones it was made with (checked by
    the caller). Times on this path stay floats (``Catalog._ts``): usage records get their
    datetime when a ledger builds them, and the catalog's last-use time is written at most once
    a second per decision.
    """

    __slots__ = (
        "catalog",
        "config",
        "generation",
        "kind",
        "metadata",
        "plan",
        "sink",
        "stream_key",
        "template",
        "touched",
        "until_ts",
        "used_key",
    )

    def __init__(
        self, governor: Governor, plan: CallPlan, until: datetime, generation: int
    ) -> None:
        catalog = governor.catalog
        self.catalog = catalog
        self.plan = plan._replace(params={}, requested_params=None, at=None)
        self.until_ts = until.timestamp() if until.year < 9999 else float("inf")
        self.generation = generation
        self.config: int = governor._config
        self.metadata = plan.metadata()
        self.kind = plan.operation
        self.stream_key = STREAM_KEYS.get(plan.operation)
        self.used_key = plan.invoked_base
        self.touched = -1.0  # seconds of the last write of the last-use time (none yet)
        self.sink: Callable[[list[Any]], None] | None = None
        self.template: RecordTemplate | None = None
        if plan.operation in _RECORDED_OPERATIONS:
            self.sink = governor._sink()
            if self.sink is not None:
                self.template = governor.template(plan)

    def plan_for(self, params: Mapping[str, Any], ts: float) -> CallPlan:
        """The plan of one call this decision covers, made at ``ts``."""
        at = datetime.fromtimestamp(ts, timezone.utc)
        return self.plan._replace(params=params, requested_params=params, at=at)

    def _touch(self, base: str, ts: float) -> None:
        """Note the call for the idle guard (at most once a second: see :meth:`finish`)."""
        self.catalog.note_success(base, self.plan.region, datetime.fromtimestamp(ts, timezone.utc))
        self.touched = ts

    def finish(
        self, response: MutableMapping[str, Any], now: float, restart: Restart | None = None
    ) -> None:
        """What :meth:`Governor.finish` does, for a call this decision covers, made at ``now``
        (POSIX seconds).

        One function on purpose (it runs on every such call): last use, the response metadata
        block, then the usage record, or for a stream, the stream wrapped in place.
        """
        used = self.used_key
        if used is not None:
            since = now - self.touched
            if since >= 1.0 or since < 0.0:  # a second later (or the clock went back)
                self._touch(used, now)
        metadata: Any = response.get("ResponseMetadata")
        plain = type(metadata) is dict
        if plain or isinstance(metadata, MutableMapping):
            metadata["BedrockLifecycle"] = self.metadata.copy()
        sink = self.sink
        kind = self.kind
        key = self.stream_key
        if key is not None:
            inner = response.get(key)
            if inner is not None:
                head: Head = _NO_HEAD
                if sink is not None:
                    head = (self.template, now, metadata.get("RequestId") if plain else None)
                response[key] = LiveStream(inner, kind, sink, head, restart)
            return
        if sink is None:
            return
        try:
            if kind == "Converse":
                figures = converse_figures(response)
            else:  # InvokeModel
                figures = invoke_header_figures(metadata.get("HTTPHeaders") if plain else None)
            request_id = metadata.get("RequestId") if plain else None
            sink([self.template, now, request_id, *figures])
        except Exception:  # recording must never break the caller's call
            logger.exception("bedrock_lifecycle.record_failed")


def _counts_invoke_body(plan: CallPlan) -> bool:
    if plan.operation != "CountTokens":
        return False
    shape = plan.params.get("input")
    return isinstance(shape, Mapping) and "invokeModel" in shape


def _body_bytes(body: Any) -> bytes:
    if isinstance(body, bytes):
        return body
    if isinstance(body, bytearray):
        return bytes(body)
    if isinstance(body, str):
        return body.encode("utf-8")
    read: Callable[[], Any] | None = getattr(body, "read", None)
    if read is not None:
        data = read()
        return data.encode("utf-8") if isinstance(data, str) else bytes(data)
    raise TypeError(f"cannot translate a request body of type {type(body).__name__}")
