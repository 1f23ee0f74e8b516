"""The one decision function behind both faces (the wrapper and the botocore hooks).

A call flows: model id -> catalog lookup -> policy decision (pass, warn, rewrite, refuse) ->
the boto3 call -> usage record -> ledger. :class:`Governor` holds the pieces and turns a call's
parameters into a :class:`CallPlan` (:meth:`Governor.plan`), then finishes a response
(:meth:`Governor.finish`): response metadata, the idle guard's bookkeeping, usage recording
(streams are wrapped, see :mod:`._streams`).
"""

from __future__ import annotations

import logging
import os
import sys
import threading
import warnings
from collections.abc import Callable, Iterable, Iterator, Mapping, MutableMapping
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import datetime, timedelta, timezone
from types import FrameType
from typing import TYPE_CHECKING, Any

from . import _wording as wording
from ._catalog import Catalog
from ._constraints import Adaptation, ConstraintBook, constraint_from_refusal
from ._decision import Decision, Rewrite, finish_response
from ._errors import (
    BudgetExceededError,
    ExtendedAccessError,
    ExtendedAccessWarning,
    FallbackWarning,
    IdleLegacyWarning,
    IncompatibleSuccessorError,
    LegacyModelError,
    LegacyModelWarning,
    LifecycleDataWarning,
    LifecycleWarning,
    ModelEndOfLifeError,
    ModelUnavailableError,
    NoSuccessorError,
)
from ._ids import parse_model_id, render_successor
from ._lifecycle import ModelLifecycle, State
from ._operations import GOVERNED_OPERATIONS, OPERATIONS
from ._plan import CallPlan
from ._policy import POLICY_ENV, Action, Policy, shared_policy_of
from ._pricing import PriceBook, price_book
from ._streams import Head, Restart, Sink
from ._usage import (
    RecordTemplate,
    UsageRecord,
    settle,
)
from .ledger import Ledger, MemoryLedger, PendingLedger, PendingSink

if TYPE_CHECKING:
    from ._budget import Budget
    from ._succession import Succession

__all__ = [
    "Governor",
    "caller_stacklevel",
    "default_policy",
    "deferred_warnings",
    "lifecycle_error_kind",
    "lifecycle_metadata",
    "make_governor",
]

logger = logging.getLogger("bedrock_lifecycle")

#: Decisions kept for reuse (per operation, model id and region).
_DECISION_CACHE_SIZE = 1024
#: Governor attributes whose replacement makes every reused decision stale.
_CONFIG_ATTRIBUTES = frozenset({"catalog", "policy", "ledger", "prices", "budgets"})

_EOL_TEXT = "reached the end of its life"
_IDLE_TEXT = ("marked by provider as Legacy", "not been actively using")
_VALIDATION_LIFECYCLE_TEXT = ("Operation not allowed", "The provided model identifier is invalid")

#: Modules whose frames are skipped when pointing a warning at the user's call site.
_INTERNAL_PREFIXES = ("bedrock_lifecycle", "botocore", "boto3", "aiobotocore")

Deferred = list[tuple[str, type[LifecycleWarning]]]

#: While set, lifecycle warnings are kept here instead of being issued (see
#: :func:`deferred_warnings`).
_deferred: ContextVar[Deferred | None] = ContextVar("bedrock_lifecycle_deferred", default=None)


@contextmanager
def deferred_warnings() -> Iterator[Deferred]:
    """Keep the lifecycle warnings said inside the block, as ``(message, category)``, instead
    of issuing them (they are logged as usual).

    The async face plans calls in a worker thread, where no frame of the caller is on the
    stack: it issues the kept warnings on the event loop afterwards, at the caller's line.
    """
    said: Deferred = []
    token = _deferred.set(said)
    try:
        yield said
    finally:
        _deferred.reset(token)


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


def caller_stacklevel() -> int:
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
        budgets: tuple[Budget, ...] = (),
    ) -> None:
        self.catalog = catalog
        self.policy = policy
        self.ledger = ledger
        self.prices = prices
        self.budgets = budgets
        """Budgets charged with the calls they cover (see :class:`Budget`)."""
        self._exception_classes: dict[tuple[type[Exception], type[Exception]], type[Exception]] = {}
        self._lock = threading.Lock()
        self._decisions: dict[tuple[str, str, str | None], Decision] = {}
        self._book: tuple[Policy, ConstraintBook] | None = None

    def __setattr__(self, name: str, value: Any) -> None:
        # Reused decisions remember what they were made with: replacing the catalog, policy,
        # ledger, prices or budgets makes every one of them stale at once.
        if name in _CONFIG_ATTRIBUTES:
            object.__setattr__(self, "_config", getattr(self, "_config", 0) + 1)
        object.__setattr__(self, name, value)

    def _policy_rejected(self, message: str) -> None:
        """A new version of the shared policy was invalid: said once, at the caller's line
        (logged by the reloader)."""
        deferred = _deferred.get()
        if deferred is not None:
            deferred.append((message, LifecycleDataWarning))
            return
        warnings.warn(message, LifecycleDataWarning, stacklevel=caller_stacklevel())

    def budgets_changed(self) -> None:
        """A budget was spent: every reused decision is made again (the calls it covers now
        fall back or are refused)."""
        object.__setattr__(self, "_config", self._config + 1)

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
        shared = shared_policy_of(self.policy)
        if shared is not None:
            # A shared policy: read again if due (at most once per TTL, one thread at a time).
            latest = shared.current(
                catalog.timestamp(), catalog.ttl.total_seconds(), self._policy_rejected
            )
            if latest is not self.policy:
                self.policy = latest  # a new configuration: every reused decision is stale
        now = catalog.now()
        key = (operation, requested, region)
        generation = catalog.generation  # read before the data the decision is made from
        config = self._config
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
        spent = self._spent_budget(plan, now) if self.budgets else None
        if spent is not None:
            if spent.action == "error":
                raise self._budget_refusal(plan, spent, now, exceptions, fallback=False)
            action = Action.FALLBACK  # until the budget's period ends
        if action is Action.IGNORE:
            self._keep(key, plan, entry, now, generation, config, (entry,))
            return plan
        if action is Action.WARN:
            self._warn_state(entry, state, region, now)
            self._idle_guard(entry, state, region, now)
            self._keep(key, plan, entry, now, generation, config, (entry,), idle=True)
            return plan
        if action is Action.ERROR:
            raise self._refusal(plan, entry, withdrawn, exceptions, successor=None)
        # Action.FALLBACK
        from ._succession import walk_successors  # loaded with the first fallback planned

        walk = walk_successors(
            requested, base, region, now, catalog=catalog, policy=self.policy, requested_entry=entry
        )
        looked_at = (entry, *(candidate.entry for candidate in walk.candidates))
        target = walk.chosen
        if target is None and effective is State.EOL:
            # The call cannot succeed as written: a working successor the policy would rather
            # not use (Legacy under on_legacy="fallback", say) still beats a lost call.
            target = walk.last_resort
        if target is None:
            if effective is State.EOL:
                raise self._refusal(plan, entry, withdrawn, exceptions, successor=None, walk=walk)
            if spent is not None:
                raise self._budget_refusal(plan, spent, now, exceptions, fallback=True)
            # Legacy / extended access with fallback asked but nowhere to go: the model still
            # works, so warn (saying there is no successor) rather than break the call.
            self._warn_state(entry, state, region, now)
            self._idle_guard(entry, state, region, now)
            self._keep(key, plan, entry, now, generation, config, looked_at, idle=True)
            return plan
        if target.state in (State.LEGACY, State.EXTENDED_ACCESS):
            # The successor itself is ageing: say so once, with its own dates.
            self._warn_state(target.entry, target.state, region, now)
        rendered = render_successor(parse_model_id(requested), target.model_id)
        rewrite = Rewrite(
            operation,
            rendered,
            target.base_id or rendered,
            self._translator(plan, target.base_id or target.model_id, exceptions),
            self.constraints() if self.policy.adapt_requests else None,
        )
        sent, changes = rewrite.apply(params)
        new_plan = plan._replace(
            invoked_model_id=rendered,
            invoked_base=target.base_id,
            invoked_state=target.state,
            fallback=True,
            params=sent,
            adapted=tuple(change.path for change in changes),
        )
        self._warn_fallback(new_plan, entry, changes)
        if operation != "CountTokens":  # its body shape (and so its translation) varies by call
            self._keep(key, new_plan, entry, now, generation, config, looked_at, rewrite=rewrite)
        return new_plan

    def rehearsal(
        self, operation: str, model_id: str, region: str | None, to: str | None = None
    ) -> Rewrite | None:
        """How a call to ``model_id`` would be rewritten for its successor, without deciding or
        warning anything: the model the policy's chain would pick (or ``to``), the body
        translation and the adaptation, as a fallback would send it. ``None`` when there is no
        working successor, or the request could not be sent to it (an incompatible body).

        Shadow traffic mirrors calls with it (see :class:`~bedrock_lifecycle.Shadow`).
        """
        catalog = self.catalog
        now = catalog.now()
        entry, base, _ = catalog.resolve(model_id, region)
        if to is None:
            from ._succession import walk_successors

            walk = walk_successors(
                model_id,
                base,
                region,
                now,
                catalog=catalog,
                policy=self.policy,
                requested_entry=entry,
            )
            chosen = walk.chosen or walk.last_resort
            if chosen is None:
                return None
            target, target_base = chosen.model_id, chosen.base_id
        else:
            target, target_base = to, catalog.resolve(to, region)[1]
        rendered = render_successor(parse_model_id(model_id), target)
        if rendered == model_id:
            return None
        plan = CallPlan(
            operation=operation,
            region=region,
            requested_model_id=model_id,
            invoked_model_id=model_id,
            requested_base=base,
            invoked_base=base,
            state=State.UNKNOWN,
            invoked_state=State.UNKNOWN,
            eol_at=None,
            fallback=False,
            params={},
        )
        try:
            translator = self._translator(plan, target_base or target, None)
        except IncompatibleSuccessorError:
            return None
        book = self.constraints() if self.policy.adapt_requests else None
        return Rewrite(operation, rendered, target_base or rendered, translator, book)

    def reuse(
        self, operation: str, model_id: str, region: str | None
    ) -> tuple[Decision, float] | None:
        """The decision kept for this call, if it still holds, and the time (POSIX seconds).

        The one validity check of a reused decision, for both faces: see :class:`Decision`.
        """
        decision = self._decisions.get((operation, model_id, region))
        if decision is None:
            return None
        catalog = self.catalog
        now = catalog.timestamp()
        if decision.valid(now, catalog.generation, self._config):
            return decision, now
        return None

    def _keep(
        self,
        key: tuple[str, str, str | None],
        plan: CallPlan,
        entry: ModelLifecycle,
        now: datetime,
        generation: int,
        config: int,
        looked_at: tuple[ModelLifecycle, ...],
        *,
        idle: bool = False,
        rewrite: Rewrite | None = None,
    ) -> None:
        """Keep a decision for reuse until anything it was made from may have changed.

        That is the next dated transition of every model it looked at, the end of the region's
        freshness (the next lookup must run to trigger a refresh), for a warned Legacy model
        the first moment the idle guard could warn (the last use plus ``idle_warning_days``),
        and for a shared policy its next check (:meth:`SharedPolicy.next_check`).
        A catalog change (``generation``) or a replaced catalog, policy, ledger or prices
        (``config``) ends it too. Decisions that warn on every call are not kept.
        """
        quiet = plan.state is State.ACTIVE or plan.state is State.UNKNOWN
        if not quiet and not self.policy.warn_once:
            return
        until = self.catalog.fresh_until(plan.region)
        if until is None:
            return
        for looked in looked_at:
            upcoming = looked.next_transition(now)
            if upcoming is not None and upcoming[1] < until:
                until = upcoming[1]
        days = self.policy.idle_warning_days
        if idle and days and plan.state in (State.LEGACY, State.EXTENDED_ACCESS):
            last = self.catalog.last_used(entry.model_id, plan.region) or now
            until = min(until, last + timedelta(days=days))
        shared = shared_policy_of(self.policy)
        due = shared.next_check() if shared is not None else None
        if due is not None:
            # A shared policy may change at its next check: the next call then plans (and reads).
            until = min(until, datetime.fromtimestamp(due, timezone.utc))
        if until <= now:
            return
        if len(self._decisions) >= _DECISION_CACHE_SIZE:
            self._decisions.clear()
        # The generation read before the lookup: if the data changed meanwhile, the entry is
        # already stale and the next call decides afresh.
        for budget in self.budgets:
            # A budget that acts: its period's end (a spent one stops acting then), and for a
            # budget shared through a ledger, its next read (another process may spend it).
            if budget.action != "warn" and budget.covers(
                plan.requested_model_id, plan.requested_base, plan.region
            ):
                ts = now.timestamp()
                edge = budget.period_end(ts)
                if budget.ledger is not None:
                    edge = min(edge, ts + budget.refresh_seconds)
                until = min(until, datetime.fromtimestamp(edge, timezone.utc))
        if until <= now:
            return
        sink = self._sink_for(plan) if OPERATIONS[plan.operation].recorded else None
        self._decisions[key] = Decision(
            plan,
            until,
            generation,
            config,
            catalog=self.catalog,
            entry=entry,
            sink=sink,
            template=self.template(plan) if sink is not None else None,
            announce=self._warn_fallback,
            rewrite=rewrite,
        )

    def pending_sink(self) -> PendingSink | None:
        """Where pending usage records go (see :class:`RecordTemplate`), or ``None``."""
        ledger = self.ledger
        if ledger is None:
            return None
        if isinstance(ledger, PendingLedger):
            return ledger.pending_sink()
        record = ledger.record

        def build_and_record(pending: list[Any]) -> None:
            record(settle(pending))

        return build_and_record

    def _sink_for(self, plan: CallPlan) -> PendingSink | None:
        """Where the pending records of calls planned like ``plan`` go: the ledger's sink,
        and the budgets the call can add to (charged from the same figures)."""
        sink = self.pending_sink()
        budgets = self.budgets
        if not budgets:
            return sink
        covering = tuple(
            budget
            for budget in budgets
            if budget.counts(plan.extended_access)
            and budget.covers(plan.invoked_model_id, plan.invoked_base, plan.region)
        )
        return _Charging(self, sink, covering) if covering else sink

    def _spent_budget(self, plan: CallPlan, now: datetime) -> Budget | None:
        """A spent budget that acts on this call (``action="error"`` first), or ``None``."""
        ts = now.timestamp()
        found = None
        for budget in self.budgets:
            if budget.action == "warn" or not budget.covers(
                plan.requested_model_id, plan.requested_base, plan.region
            ):
                continue
            if budget.kind == "premium" and plan.state is not State.EXTENDED_ACCESS:
                continue  # a call that pays no premium
            if budget.spent(ts) and (found is None or budget.action == "error"):
                found = budget
        return found

    def _budget_refusal(
        self, plan: CallPlan, budget: Budget, now: datetime, exceptions: Any, *, fallback: bool
    ) -> ModelUnavailableError:
        ts = now.timestamp()
        spend = budget.spend(ts)
        end = datetime.fromtimestamp(budget.period_end(ts), timezone.utc)
        message = wording.budget_refused(
            plan.requested_model_id, plan.region, budget.name, spend, budget.limit_usd, end,
            fallback,
        )  # fmt: skip
        error = self._error(BudgetExceededError, message, plan, exceptions, successor=None)
        error.budget = budget.name  # type: ignore[attr-defined]
        error.spend_usd = spend  # type: ignore[attr-defined]
        error.limit_usd = budget.limit_usd  # type: ignore[attr-defined]
        error.period_end = end  # type: ignore[attr-defined]
        return error

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

    def _translator(
        self, plan: CallPlan, target_base: str, exceptions: Any
    ) -> Callable[[bytes], bytes] | None:
        """The body translator a fallback to ``target_base`` needs (``None``: none needed).

        Raises :class:`IncompatibleSuccessorError` when the request is written in a provider's
        own format the successor does not read and no translator is registered.
        """
        if not (OPERATIONS[plan.operation].provider_body or _counts_invoke_body(plan)):
            return None
        source_base = plan.requested_base or plan.requested_model_id
        translator = self.policy.translator_for(source_base, target_base)
        if translator is not None or self.policy.compatible_bodies(source_base, target_base):
            return translator
        message = wording.incompatible_body(
            plan.requested_model_id, target_base, plan.operation, source_base
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
        policy = self.policy
        model, region = plan.requested_model_id, plan.region
        effective = State.EOL if withdrawn else plan.state
        if effective is State.EOL:
            reason = wording.past_end_of_life(model, region, entry, idle=withdrawn == "idle")
            if policy.action_for(State.EOL) is Action.FALLBACK:
                refused = walk.refused if walk is not None else ()
                text = wording.no_successor(
                    reason, plan.requested_base or model, (str(c) for c in refused)
                )
                error = self._error(NoSuccessorError, text, plan, exceptions, successor=successor)
                if isinstance(error, NoSuccessorError):
                    error.candidates = tuple((c.model_id, c.refused or "") for c in refused)
                return error
            text = wording.eol_refused(reason, entry, policy)
            return self._error(ModelEndOfLifeError, text, plan, exceptions, successor=successor)
        if effective is State.EXTENDED_ACCESS:
            text = wording.extended_access_refused(model, region, entry, policy)
            return self._error(ExtendedAccessError, text, plan, exceptions, successor=successor)
        text = wording.legacy_refused(model, region, entry, policy)
        return self._error(LegacyModelError, text, plan, exceptions, successor=successor)

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

    def _warn(self, category: type[LifecycleWarning], message: str, key: tuple[Any, ...]) -> None:
        if self.policy.warn_once and not self.catalog.first_time(*key):
            return
        logger.warning(
            "bedrock_lifecycle.%s: %s",
            category.__name__,
            message,
            extra={"bedrock_lifecycle.warning": category.__name__},
        )
        deferred = _deferred.get()
        if deferred is not None:
            deferred.append((message, category))
            return
        warnings.warn(message, category, stacklevel=caller_stacklevel())

    def _warn_state(
        self,
        entry: ModelLifecycle,
        state: State,
        region: str | None,
        now: datetime,
    ) -> None:
        if state is State.EXTENDED_ACCESS:
            category: type[LifecycleWarning] = ExtendedAccessWarning
        elif state is State.LEGACY:
            category = LegacyModelWarning
        else:
            return
        message = wording.state_warning(entry, state, region, now, self.policy)
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
        message = wording.idle_warning(entry, region, idle, self.policy)
        self._warn(IdleLegacyWarning, message, ("idle", entry.model_id, region, last.date()))

    def _warn_fallback(
        self, plan: CallPlan, entry: ModelLifecycle, changes: tuple[Adaptation, ...]
    ) -> None:
        withdrawn = bool(
            plan.requested_base and self.catalog.withdrawn(plan.requested_base, plan.region)
        )
        message = wording.fallback_warning(
            plan.requested_model_id,
            plan.invoked_model_id,
            plan.operation,
            plan.region,
            wording.fallback_reason(plan.state, entry, withdrawn),
            changes,
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
                extra={
                    "bedrock_lifecycle.model_id": plan.invoked_model_id,
                    "bedrock_lifecycle.kind": kind,
                },
            )
        return kind

    def observe_error(
        self, plan: CallPlan, code: str | None, message: str | None
    ) -> tuple[str | None, bool]:
        """What a Bedrock error for ``plan`` means, for both faces: the lifecycle failure kind
        (recorded in the catalog, see :meth:`observe_failure`), else whether it named a refused
        parameter (learned, see :meth:`learn_refusal`)."""
        kind = self.observe_failure(plan, code, message)
        return kind, kind is None and self.learn_refusal(plan, code, message)

    def learn_refusal(self, plan: CallPlan, code: str | None, message: str | None) -> bool:
        """Remember what a successor refused; ``True`` when the refusal names a constraint.

        Only for a fallback (see :meth:`learn_refused`).
        """
        if not plan.fallback:
            return False
        return self.learn_refused(
            plan.invoked_base or plan.invoked_model_id, plan.invoked_model_id, code, message
        )

    def learn_refused(
        self, target: str, model_id: str, code: str | None, message: str | None
    ) -> bool:
        """Remember that ``target`` (a base model id; called as ``model_id``) refused a
        request; ``True`` when the refusal names a constraint.

        With request adaptation on, a ``ValidationException`` that names a parameter (refused
        alone or with another, or a ``maxTokens`` ceiling) becomes a constraint of ``target``,
        so every later request to it adapts before it is sent. Fallbacks and shadows learn it.
        """
        if not self.policy.adapt_requests:
            return False
        if (code or "").lower() != "validationexception":
            return False
        learned = constraint_from_refusal(message)
        if learned is None:
            return False
        if not self.constraints().learn(target, learned):
            return True  # known already (another call learned it first): adapt and retry
        logger.warning(
            "%s",
            wording.constraint_learned(model_id, learned.describe()),
            extra={
                "bedrock_lifecycle.model_id": model_id,
                "bedrock_lifecycle.constraint": learned.describe(),
            },
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
        if plan.invoked_base:
            self.catalog.note_success(plan.invoked_base, plan.region, plan.at)
        facts = OPERATIONS[plan.operation]
        sink = self._sink_for(plan) if facts.recorded else None
        template = self.template(plan) if sink is not None else None
        when = plan.at or self.catalog.now()
        finish_response(
            response, plan.metadata(), facts.name, facts.stream_key, sink, template, when, restart
        )

    def stream_target(
        self, plan: CallPlan, response: Mapping[str, Any]
    ) -> tuple[Sink | None, Head]:
        """Where the usage of a stream planned by ``plan`` goes, and its pending record's head."""
        sink = self._sink_for(plan)
        if sink is None:
            return None, (None, None, None)
        metadata = response.get("ResponseMetadata")
        request_id = metadata.get("RequestId") if isinstance(metadata, Mapping) else None
        return sink, (self.template(plan), plan.at or self.catalog.now(), request_id)


def _counts_invoke_body(plan: CallPlan) -> bool:
    if plan.operation != "CountTokens":
        return False
    shape = plan.params.get("input")
    return isinstance(shape, Mapping) and "invokeModel" in shape


def default_policy() -> Policy:
    """The policy of a governor given none: ``Policy()``, or the shared policy
    ``BEDROCK_LIFECYCLE_POLICY`` names (its reader is loaded only then; the first read is I/O,
    so the async face calls this in a worker thread)."""
    if not os.environ.get(POLICY_ENV, "").strip():
        return Policy()
    from ._shared_policy import default_policy as from_environment

    return from_environment()


def make_governor(
    *,
    catalog: Catalog,
    policy: Policy | None,
    ledger: Ledger | None,
    prices: PriceBook | Mapping[Any, Any] | str | os.PathLike[str] | None,
    budgets: Iterable[Budget] | None = None,
) -> Governor:
    """The shared decision object behind :func:`wrap` and :func:`install`."""
    # Checked here, not at the first call: a wrong object would otherwise fail mid-request or,
    # for a ledger, lose every record quietly.
    if not isinstance(catalog, Catalog):
        raise TypeError(f"catalog must be a Catalog, not {type(catalog).__name__}")
    if policy is not None and not isinstance(policy, Policy):
        raise TypeError(f"policy must be a Policy, not {type(policy).__name__}")
    if ledger is not None and not callable(getattr(ledger, "record", None)):
        raise TypeError(
            f"ledger must be a ledger sink (an object with record()), not {type(ledger).__name__}"
        )
    chosen = () if budgets is None else tuple(budgets)
    if chosen:
        from ._budget import Budget  # its module loads with the first budget made
    for budget in chosen:
        if not isinstance(budget, Budget):
            raise TypeError(f"budgets must be Budget objects, not {type(budget).__name__}")
    return Governor(
        catalog=catalog,
        policy=policy if policy is not None else default_policy(),
        ledger=ledger if ledger is not None else MemoryLedger(),
        prices=price_book(prices),
        budgets=chosen,
    )


class _Charging:
    """A pending sink that also charges budgets: the ledger's sink gets the record, then each
    budget the call can add to is charged from it (a stream's when it ends). Crossed thresholds
    warn, on the thread that finished the call; a budget spent with an acting ``action`` makes
    the governor plan its calls again."""

    __slots__ = ("budgets", "governor", "sink")

    def __init__(
        self, governor: Governor, sink: PendingSink | None, budgets: tuple[Budget, ...]
    ) -> None:
        self.governor = governor
        self.sink = sink
        self.budgets = budgets

    def __call__(self, pending: list[Any]) -> None:
        sink = self.sink
        if sink is not None:
            sink(pending)
        if len(pending) == 1:  # settled by the sink: the list holds the record
            record: UsageRecord = pending[0]
            cost, premium = record.cost_usd, record.premium_usd
            when: Any = record.timestamp
        else:
            cost, _, premium = pending[0].costs(pending)
            when = pending[1]
        ts = when if type(when) is float else when.timestamp()
        for budget in self.budgets:
            amount = budget.amount(cost, premium)
            if not amount:
                continue
            events, reached = budget.charge(amount, ts)
            if reached and budget.action != "warn":
                self.governor.budgets_changed()
            for event in events:
                budget.announce(event, caller_stacklevel() + 1)  # warned from inside announce()
