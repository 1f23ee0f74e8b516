"""Budgets: a running total of what governed calls cost, per UTC day or month, with thresholds.

A :class:`Budget` is charged with each governed call it covers, from the same figures the usage
ledger records (so a stream is charged when it ends). Crossing a threshold warns once per
period (:class:`BudgetWarning`) and calls ``on_threshold``. A spent budget whose ``action`` is
``"fallback"`` or ``"error"`` changes the calls it covers until its period ends; the governor
asks :meth:`Budget.blocks` when it plans a call.

Periods follow the catalog's clock. With ``ledger=`` (a readable ledger shared by several
processes, such as a :class:`~bedrock_lifecycle.SqliteLedger`) the spend is read from that ledger
(cached for ``refresh_seconds``) and this process's charges are added until the next read.
"""

from __future__ import annotations

import logging
import math
import threading
import warnings
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Literal

from ._errors import BudgetWarning, ConfigurationError
from ._ids import base_model_id
from ._usage import UsageRecord

__all__ = ["Budget", "BudgetEvent", "BudgetWarning"]

logger = logging.getLogger("bedrock_lifecycle.budget")

Period = Literal["day", "month"]
Kind = Literal["premium", "total"]
BudgetAction = Literal["warn", "fallback", "error"]


@dataclass(frozen=True, slots=True)
class BudgetEvent:
    """A threshold crossed: which budget, how much was spent of what limit, in which period."""

    budget: str
    kind: str
    spend_usd: float
    limit_usd: float
    threshold: float
    period: str
    period_start: datetime
    period_end: datetime

    def to_dict(self) -> dict[str, Any]:
        """A JSON-safe dict (for a Slack or SNS message)."""
        return {
            "budget": self.budget,
            "kind": self.kind,
            "spend_usd": self.spend_usd,
            "limit_usd": self.limit_usd,
            "threshold": self.threshold,
            "period": self.period,
            "period_start": self.period_start.isoformat(),
            "period_end": self.period_end.isoformat(),
        }


def period_bounds(period: Period, ts: float) -> tuple[float, float]:
    """The UTC day or calendar month holding ``ts`` (POSIX seconds), as ``(start, end)``."""
    if period == "day":
        start = ts - ts % 86400
        return start, start + 86400
    moment = datetime.fromtimestamp(ts, timezone.utc)
    first = datetime(moment.year, moment.month, 1, tzinfo=timezone.utc)
    following = (
        datetime(moment.year + 1, 1, 1, tzinfo=timezone.utc)
        if moment.month == 12
        else datetime(moment.year, moment.month + 1, 1, tzinfo=timezone.utc)
    )
    return first.timestamp(), following.timestamp()


class Budget:
    """A spending limit on governed calls, per UTC ``period`` ("day" or "month").

    - ``kind="premium"`` counts only the extended-access premium; ``"total"`` the whole cost.
    - ``models`` and ``regions`` limit the calls covered (model ids as written or base ids; a
      call is charged to the model it went to, and acted on by the model it asked for).
    - ``thresholds`` are shares of ``limit_usd``; crossing each warns once per period
      (:class:`BudgetWarning`) and calls ``on_threshold(event)`` with a :class:`BudgetEvent`.
    - ``action`` once the limit is reached, until the period ends: ``"warn"`` nothing more;
      ``"fallback"`` calls to the budget's models go to their successor (adapted as fallbacks
      are); ``"error"`` calls raise :class:`BudgetExceededError` before they are sent. A spent
      premium budget acts only on calls that would pay a premium (a model in extended access);
      a spent total budget on every call it covers.
    - ``ledger``: read the spend from this shared, readable ledger (cached for
      ``refresh_seconds``), so processes writing to it share the budget.
    """

    def __init__(
        self,
        limit_usd: float,
        *,
        period: Period = "month",
        kind: Kind = "premium",
        models: Iterable[str] | None = None,
        regions: Iterable[str] | None = None,
        thresholds: Iterable[float] = (0.5, 0.8, 1.0),
        action: BudgetAction = "warn",
        on_threshold: Callable[[BudgetEvent], Any] | None = None,
        ledger: Any = None,
        name: str | None = None,
        refresh_seconds: float = 5.0,
    ) -> None:
        if (
            isinstance(limit_usd, bool)
            or not isinstance(limit_usd, (int, float))
            or not math.isfinite(limit_usd)
            or limit_usd <= 0
        ):
            raise ConfigurationError(f"limit_usd must be a positive number, not {limit_usd!r}")
        if period not in ("day", "month"):
            raise ConfigurationError(f"period must be 'day' or 'month', not {period!r}")
        if kind not in ("premium", "total"):
            raise ConfigurationError(f"kind must be 'premium' or 'total', not {kind!r}")
        if action not in ("warn", "fallback", "error"):
            raise ConfigurationError(
                f"action must be 'warn', 'fallback' or 'error', not {action!r}"
            )
        for label, value in (("models", models), ("regions", regions)):
            if isinstance(value, str):
                raise ConfigurationError(f"{label} takes a list, not one string ({value!r})")
        shares = tuple(thresholds)
        if not shares or any(
            isinstance(share, bool) or not isinstance(share, (int, float)) or not 0 < share <= 10
            for share in shares
        ):
            raise ConfigurationError(
                f"thresholds must be shares of the limit above 0 (1.0 is the limit), not {shares!r}"
            )
        if on_threshold is not None and not callable(on_threshold):
            raise ConfigurationError("on_threshold must be callable")
        if ledger is not None and not callable(getattr(ledger, "records", None)):
            raise ConfigurationError(
                f"ledger must be a readable ledger (with records()), not {type(ledger).__name__}"
            )
        self.limit_usd = float(limit_usd)
        self.period: Period = period
        self.kind: Kind = kind
        self.models = None if models is None else _ids(models)
        self.regions = None if regions is None else frozenset(regions)
        self.thresholds = tuple(sorted({float(share) for share in shares}))
        self.action: BudgetAction = action
        self.on_threshold = on_threshold
        self.ledger = ledger
        self.refresh_seconds = float(refresh_seconds)
        self.name = name or f"{kind} {period} budget of ${self.limit_usd:g}"
        self._lock = threading.Lock()
        self._start = self._end = -1.0  # the current period, in POSIX seconds
        self._spent = 0.0  # this period: this process's charges (added to the ledger's total)
        self._read_at = -math.inf  # when the ledger's total was last read (catalog clock)
        self._ledger_total = 0.0
        self._fired: set[float] = set()

    def __repr__(self) -> str:
        return f"<Budget {self.name!r} action={self.action!r}>"

    # -- what a call is ----------------------------------------------------------------------

    def covers(self, model_id: str, base: str | None, region: str | None) -> bool:
        """Whether a call to ``model_id`` (base id ``base``) in ``region`` is in scope."""
        if self.regions is not None and region not in self.regions:
            return False
        models = self.models
        return models is None or model_id in models or (base is not None and base in models)

    def counts(self, extended_access: bool) -> bool:
        """Whether a call can add to this budget (a premium budget: only in extended access)."""
        return self.kind == "total" or extended_access

    # -- the running total -------------------------------------------------------------------

    def _roll(self, ts: float) -> None:
        """Under the lock: start the period holding ``ts`` if it is a new one."""
        if self._start <= ts < self._end:
            return
        self._start, self._end = period_bounds(self.period, ts)
        self._spent = 0.0
        self._fired.clear()
        self._read_at = -math.inf
        self._ledger_total = 0.0

    def _total(self, ts: float) -> float:
        """Under the lock: the spend of the period holding ``ts``."""
        self._roll(ts)
        ledger = self.ledger
        if ledger is not None and ts - self._read_at >= self.refresh_seconds:
            self._ledger_total = self._read_ledger(ledger)
            self._spent = 0.0  # the ledger holds this process's flushed charges now
            self._read_at = ts
        return self._ledger_total + self._spent

    def _read_ledger(self, ledger: Any) -> float:
        since = datetime.fromtimestamp(self._start, timezone.utc)
        until = datetime.fromtimestamp(self._end, timezone.utc)
        try:
            flush = getattr(ledger, "flush", None)
            if callable(flush):
                flush()
            records = ledger.records(since, until)
        except Exception:
            logger.warning(
                "bedrock_lifecycle.budget_unreadable: budget %r could not read its ledger; "
                "counting this process's calls only",
                self.name,
                exc_info=True,
            )
            return self._ledger_total
        total = 0.0
        for record in records:
            if not isinstance(record, UsageRecord):
                continue
            base = base_model_id(record.invoked_model_id)
            if not self.covers(record.invoked_model_id, base, record.region):
                continue
            amount = self.amount(record.cost_usd, record.premium_usd)
            if amount:
                total += amount
        return total

    def amount(self, cost: float | None, premium: float | None) -> float:
        """What one call adds: its premium or its cost (unknown counts as nothing)."""
        value = premium if self.kind == "premium" else cost
        return value or 0.0

    def spend(self, at: datetime | float | None = None) -> float:
        """The spend so far in the period holding ``at`` (default: now, by the system clock)."""
        ts = _ts(at)
        with self._lock:
            return self._total(ts)

    def spent(self, ts: float) -> bool:
        """Whether the limit is reached in the period holding ``ts``."""
        with self._lock:
            return self._total(ts) >= self.limit_usd

    def period_end(self, ts: float) -> float:
        """When the period holding ``ts`` ends (POSIX seconds)."""
        return period_bounds(self.period, ts)[1]

    def charge(self, amount: float, ts: float) -> tuple[list[BudgetEvent], bool]:
        """Add one call's ``amount`` at ``ts``: the thresholds it crossed (each once a period),
        and whether this charge reached the limit."""
        with self._lock:
            before = self._total(ts)
            self._spent += amount
            after = before + amount
            crossed = [
                share
                for share in self.thresholds
                if share not in self._fired and after >= share * self.limit_usd
            ]
            self._fired.update(crossed)
            start, end = self._start, self._end
        events = [
            BudgetEvent(
                budget=self.name,
                kind=self.kind,
                spend_usd=round(after, 9),
                limit_usd=self.limit_usd,
                threshold=share,
                period=self.period,
                period_start=datetime.fromtimestamp(start, timezone.utc),
                period_end=datetime.fromtimestamp(end, timezone.utc),
            )
            for share in crossed
        ]
        return events, before < self.limit_usd <= after

    def announce(self, event: BudgetEvent, stacklevel: int) -> None:
        """Warn about a crossed threshold and call ``on_threshold`` (guarded)."""
        from . import _wording as wording

        message = wording.budget_warning(event, self.action)
        logger.warning(
            "bedrock_lifecycle.budget_threshold: %s",
            message,
            extra={"bedrock_lifecycle.budget": event.budget},
        )
        warnings.warn(message, BudgetWarning, stacklevel=stacklevel)
        if self.on_threshold is not None:
            try:
                self.on_threshold(event)
            except Exception:
                logger.exception("bedrock_lifecycle.budget_hook_failed: on_threshold raised")


def _ids(models: Iterable[str]) -> frozenset[str]:
    found: set[str] = set()
    for model in models:
        found.add(model)
        base = base_model_id(model)
        if base:
            found.add(base)
    return frozenset(found)


def _ts(at: datetime | float | None) -> float:
    if at is None:
        import time

        return time.time()
    if isinstance(at, datetime):
        return at.timestamp()
    return float(at)
