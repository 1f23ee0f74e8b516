"""What the models in use will cost until they retire, and what moving to a successor saves.

:func:`forecast` reads usage records (a ledger's; shadow records are passed over) and, for each
model invoked and region, takes the **rate** of the last ``window_days`` before "today" (the
catalog's clock): tokens of each kind per day. From that rate, the lifecycle dates the catalog
gives for the model in that region and a price book, it works out:

1. ``standard_usd``: the spend from today to the **end**, the earlier of end of life and
   ``until``, at the standard price;
2. ``premium_usd``: what extended access adds to it, from the later of today and the
   extended-access date to the end (the extended price less the standard one);
3. ``saving_usd``: what moving to the successor on ``move_by`` saves: the model's cost (standard
   and premium) from ``move_by`` to the end, less the successor's cost for the same tokens over
   the same days, priced from the successor's own price (its premium too, should it enter
   extended access before then). The successor is the one a fallback would take
   (:func:`~bedrock_lifecycle.walk_successors` over the catalog and the policy), in the form the
   model was called in.

Spend over a span is ``tokens in the window x rate / 1e6 x span / window``, in exact decimal
arithmetic, rounded to the nano-dollar at the end. A figure that needs a price the book does not
have (or a rate it lacks, or an end date nobody knows) is ``None``, and the row's ``notes`` say
why: never a guess, never $0.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from os import PathLike
from typing import Any

from ._catalog import Catalog, default_catalog
from ._clock import as_utc
from ._errors import ConfigurationError
from ._ids import parse_model_id, render_successor
from ._lifecycle import ModelLifecycle
from ._policy import Policy
from ._pricing import Price, PriceBook, price_book
from ._succession import walk_successors
from ._usage import UsageRecord

__all__ = ["Forecast", "ForecastRow", "forecast"]

_MICROS_PER_DAY = Decimal(86_400_000_000)
_MILLION = Decimal(1_000_000)
_NANO = Decimal("0.000000001")
_STANDARD = ("input_per_1m", "output_per_1m", "cache_read_per_1m", "cache_write_per_1m")
_EXTENDED = (
    "extended_input_per_1m",
    "extended_output_per_1m",
    "extended_cache_read_per_1m",
    "extended_cache_write_per_1m",
)


def _iso(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat()


def _day(value: datetime | None) -> str:
    return value.date().isoformat() if value is not None else "unknown"


def _money(value: Decimal | None) -> float | None:
    return None if value is None else float(value.quantize(_NANO))


@dataclass(frozen=True, slots=True)
class ForecastRow:
    """The forecast for one model (as invoked) in one region. Money is US dollars; ``None`` is
    unknown (``notes`` says why), never zero.

    ``calls`` and the token counts are those of the window; ``calls_per_day`` is ``calls``
    over the window's days. ``unpriced_calls`` counts calls in the window the ledger has no
    cost for; ``unmetered_calls`` those Bedrock reported no token counts for (their tokens,
    unknown, are not in the rate). ``end_at`` is the earlier of ``eol_at`` and the forecast's
    ``until``. ``successor_usd`` is what the successor would cost from ``move_by`` to ``end_at``.
    """

    model_id: str
    region: str | None
    state: str
    calls: int
    calls_per_day: float
    input_tokens: int
    output_tokens: int
    cache_read_input_tokens: int
    cache_write_input_tokens: int
    unpriced_calls: int
    unmetered_calls: int
    extended_access_at: datetime | None
    eol_at: datetime | None
    end_at: datetime | None
    standard_usd: float | None
    premium_usd: float | None
    successor_id: str | None
    move_by: datetime
    successor_usd: float | None
    saving_usd: float | None
    notes: tuple[str, ...] = ()

    @property
    def spend_usd(self) -> float | None:
        """``standard_usd + premium_usd``: what staying on the model costs until the end."""
        if self.standard_usd is None or self.premium_usd is None:
            return None
        return _money(Decimal(repr(self.standard_usd)) + Decimal(repr(self.premium_usd)))

    def to_dict(self) -> dict[str, Any]:
        """A JSON-safe dict of every field (dates as ISO 8601), with ``spend_usd``."""
        data: dict[str, Any] = {}
        for name in self.__slots__:
            value = getattr(self, name)
            data[name] = _iso(value) if isinstance(value, datetime) else value
        data["notes"] = list(self.notes)
        data["spend_usd"] = self.spend_usd
        return data


@dataclass(frozen=True, slots=True)
class Forecast:
    """A forecast: its inputs and one :class:`ForecastRow` per model and region.

    ``at`` is "today" (the catalog's clock), the window is ``[window_start, at)``. The totals
    (:attr:`standard_usd`, ...) add the rows whose figure is known; :attr:`complete` tells
    whether every row's figures are.
    """

    at: datetime
    window_days: float
    window_start: datetime
    until: datetime | None
    move_by: datetime
    rows: tuple[ForecastRow, ...]

    def _total(self, name: str) -> float:
        values = (getattr(row, name) for row in self.rows)
        total = sum((Decimal(repr(value)) for value in values if value is not None), Decimal(0))
        return float(total.quantize(_NANO))

    @property
    def standard_usd(self) -> float:
        """The known standard spend of every row."""
        return self._total("standard_usd")

    @property
    def premium_usd(self) -> float:
        """The known extended-access premium of every row."""
        return self._total("premium_usd")

    @property
    def saving_usd(self) -> float:
        """The known saving of every row."""
        return self._total("saving_usd")

    @property
    def complete(self) -> bool:
        """Whether every row's standard spend, premium and saving are known."""
        return all(
            None not in (row.standard_usd, row.premium_usd, row.saving_usd) for row in self.rows
        )

    def to_dict(self) -> dict[str, Any]:
        """A JSON-safe dict: the inputs, the rows and the known totals."""
        return {
            "at": self.at.isoformat(),
            "window_days": self.window_days,
            "window_start": self.window_start.isoformat(),
            "until": _iso(self.until),
            "move_by": self.move_by.isoformat(),
            "rows": [row.to_dict() for row in self.rows],
            "total": {
                "standard_usd": self.standard_usd,
                "premium_usd": self.premium_usd,
                "saving_usd": self.saving_usd,
                "unpriced_calls": sum(row.unpriced_calls for row in self.rows),
                "complete": self.complete,
            },
        }


class _Usage:
    """Calls and tokens of one model and region in the window."""

    __slots__ = ("cache_read", "cache_write", "calls", "input", "output", "unmetered", "unpriced")

    def __init__(self) -> None:
        self.calls = self.input = self.output = self.cache_read = self.cache_write = 0
        self.unmetered = self.unpriced = 0

    def add(self, rec: UsageRecord) -> None:
        self.calls += 1
        if rec.cost_usd is None:
            self.unpriced += 1
        if rec.input_tokens is None or rec.output_tokens is None:
            self.unmetered += 1
            return
        self.input += rec.input_tokens
        self.output += rec.output_tokens
        self.cache_read += rec.cache_read_input_tokens or 0
        self.cache_write += rec.cache_write_input_tokens or 0

    def cost(self, price: Price, rates: tuple[str, ...]) -> Decimal | None:
        """What the window's tokens cost at ``price``'s ``rates``; ``None`` when one the
        tokens need is not known."""
        total = Decimal(0)
        counts = (self.input, self.output, self.cache_read, self.cache_write)
        for count, name in zip(counts, rates, strict=True):
            if not count:
                continue
            rate: float | None = getattr(price, name)
            if rate is None:
                return None
            total += count * Decimal(repr(rate))
        return total / _MILLION


class _Span:
    """Turns "what the window's tokens cost" into "what the same rate costs over a span"."""

    __slots__ = ("window",)

    def __init__(self, window: timedelta) -> None:
        self.window = Decimal(window // timedelta(microseconds=1))

    def cost(self, per_window: Decimal, start: datetime, end: datetime) -> Decimal:
        if end <= start or not per_window:
            return Decimal(0)
        return per_window * Decimal((end - start) // timedelta(microseconds=1)) / self.window


def _moment(value: datetime | date | None, name: str) -> datetime | None:
    if value is None:
        return None
    if isinstance(value, datetime):
        return as_utc(value)
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day, tzinfo=timezone.utc)
    raise ConfigurationError(f"{name} must be a datetime or a date, not {value!r}", key=name)


def _window(window_days: float) -> timedelta:
    if (
        isinstance(window_days, bool)
        or not isinstance(window_days, (int, float))
        or not math.isfinite(window_days)
        or window_days <= 0
    ):
        raise ConfigurationError(
            f"window_days must be a number of days above 0, not {window_days!r}",
            key="window_days",
        )
    return timedelta(days=window_days)


class _Costing:
    """Standard spend and premium of one model's rate over a span, or why they are unknown."""

    __slots__ = ("entry", "extended", "label", "model_id", "span", "standard")

    def __init__(
        self,
        model_id: str,
        label: str,
        usage: _Usage,
        price: Price | None,
        entry: ModelLifecycle,
        span: _Span,
    ) -> None:
        self.model_id = model_id
        self.label = label
        self.entry = entry
        self.span = span
        self.standard = None if price is None else usage.cost(price, _STANDARD)
        self.extended = None if price is None else usage.cost(price, _EXTENDED)

    def standard_over(self, start: datetime, end: datetime) -> Decimal | None:
        if end <= start:
            return Decimal(0)
        return None if self.standard is None else self.span.cost(self.standard, start, end)

    def premium_over(self, start: datetime, end: datetime) -> Decimal | None:
        if end <= start:
            return Decimal(0)
        extended_at = self.entry.extended_access_at
        if extended_at is None:
            # Known with no extended-access date: it has none. Unknown: nobody can say.
            return Decimal(0) if self.entry.known else None
        begin = max(start, extended_at)
        if end <= begin:
            return Decimal(0)
        if self.standard is None or self.extended is None:
            return None
        return self.span.cost(self.extended - self.standard, begin, end)

    def why_unknown(self, price: Price | None, region: str | None, book: PriceBook) -> list[str]:
        """Why this costing's figures are unknown (the label names the model: "this model" or
        "the successor ...")."""
        where = region or "its region"
        if price is None:
            scope = book.published_regions(self.model_id)
            if scope is not None and region is not None:
                return [
                    f"no price for {self.label} in {where} (its price was published for "
                    f"{', '.join(sorted(scope))} only)"
                ]
            return [f"no price for {self.label} in {where}"]
        notes = []
        if self.standard is None:
            notes.append(f"the price of {self.label} lacks a cache rate its calls need")
        if self.extended is None and self.entry.extended_access_at is not None:
            notes.append(f"no published extended-access price for {self.label} in {where}")
        if not self.entry.known:
            notes.append(f"no lifecycle data for {self.label} in {where}")
        return notes


def _successor(
    model_id: str, region: str | None, at: datetime, catalog: Catalog, policy: Policy
) -> tuple[str | None, str | None]:
    """``(successor id in the caller's form, None)`` or ``(None, why there is none)``."""
    entry = catalog.lookup(model_id, region)
    base = catalog.base_model(model_id, region)
    walk = walk_successors(
        model_id, base, region, at, catalog=catalog, policy=policy, requested_entry=entry
    )
    chosen = walk.chosen
    if chosen is None:
        if not walk.candidates:
            return None, "no successor known (configure one in the policy)"
        tried = "; ".join(str(candidate) for candidate in walk.candidates)
        return None, f"no usable successor ({tried})"
    try:
        return render_successor(parse_model_id(model_id), chosen.model_id), None
    except ValueError:
        return chosen.model_id, None


def _row(
    model_id: str,
    region: str | None,
    usage: _Usage,
    *,
    at: datetime,
    days: Decimal,
    until: datetime | None,
    move_by: datetime,
    catalog: Catalog,
    book: PriceBook,
    policy: Policy,
    span: _Span,
) -> ForecastRow:
    entry = catalog.lookup(model_id, region)
    price = book.price_for(model_id, region)
    mine = _Costing(model_id, "this model", usage, price, entry, span)
    ends = [when for when in (entry.eol_at, until) if when is not None]
    end = min(ends) if ends else None
    notes: list[str] = []
    if usage.unmetered:
        notes.append(
            f"{usage.unmetered} call(s) without token counts: their tokens are not in the rate"
        )
    standard = premium = saving = successor_cost = None
    successor_id, no_successor = _successor(model_id, region, at, catalog, policy)
    if entry.eol_at is not None and entry.eol_at <= at:
        notes.append(f"reached end of life on {_day(entry.eol_at)}: calls to it fail")
    if end is None:
        notes.append("no end of life known: give until")
        if price is None:
            notes.extend(mine.why_unknown(price, region, book))
    else:
        standard = mine.standard_over(at, end)
        premium = mine.premium_over(at, end)
        if end > at and (standard is None or premium is None):
            notes.extend(mine.why_unknown(price, region, book))
        start = max(move_by, at)
        if start >= end:
            saving = successor_cost = Decimal(0)
        elif successor_id is None:
            notes.append(str(no_successor))
        else:
            successor_cost, saving = _saving(
                mine, successor_id, region, start, end, usage, catalog, book, span, notes
            )
    calls_per_day = Decimal(usage.calls) / days
    return ForecastRow(
        model_id=model_id,
        region=region,
        state=entry.state(at).value,
        calls=usage.calls,
        calls_per_day=float(calls_per_day.quantize(_NANO)),
        input_tokens=usage.input,
        output_tokens=usage.output,
        cache_read_input_tokens=usage.cache_read,
        cache_write_input_tokens=usage.cache_write,
        unpriced_calls=usage.unpriced,
        unmetered_calls=usage.unmetered,
        extended_access_at=entry.extended_access_at,
        eol_at=entry.eol_at,
        end_at=end,
        standard_usd=_money(standard),
        premium_usd=_money(premium),
        successor_id=successor_id,
        move_by=max(move_by, at),
        successor_usd=_money(successor_cost),
        saving_usd=_money(saving),
        notes=tuple(dict.fromkeys(notes)),
    )


def _saving(
    mine: _Costing,
    successor_id: str,
    region: str | None,
    start: datetime,
    end: datetime,
    usage: _Usage,
    catalog: Catalog,
    book: PriceBook,
    span: _Span,
    notes: list[str],
) -> tuple[Decimal | None, Decimal | None]:
    """``(successor's cost, saving)`` from ``start`` to ``end``; notes say what is unknown."""
    stay_standard = mine.standard_over(start, end)
    stay_premium = mine.premium_over(start, end)
    successor_price = book.price_for(successor_id, region)
    theirs = _Costing(
        successor_id,
        f"the successor {successor_id}",
        usage,
        successor_price,
        catalog.lookup(successor_id, region),
        span,
    )
    move_standard = theirs.standard_over(start, end)
    move_premium = theirs.premium_over(start, end)
    moved = None if move_standard is None or move_premium is None else move_standard + move_premium
    if moved is None:
        notes.extend(theirs.why_unknown(successor_price, region, book))
    if stay_standard is None or stay_premium is None or moved is None:
        return moved, None
    return moved, stay_standard + stay_premium - moved


def forecast(
    records: Iterable[Any],
    *,
    catalog: Catalog | None = None,
    prices: PriceBook | Mapping[Any, Any] | str | PathLike[str] | None = None,
    window_days: float = 7,
    until: datetime | date | None = None,
    move_by: datetime | date | None = None,
    policy: Policy | None = None,
) -> Forecast:
    """Forecast spend, extended-access premium and the saving of moving, per model and region.

    ``records`` are usage records (a ledger's ``records()``, :func:`read_jsonl`...); shadow
    records and anything else are passed over. "Today" is ``catalog.now()``; the rate is that of
    the records with ``today - window_days <= timestamp < today``. ``catalog`` defaults to the
    process-wide one, ``prices`` to the bundled book (a mapping or a price-book file goes over
    it, as ``wrap(prices=...)`` takes it), ``policy`` (which picks the successor) to
    ``Policy()``. ``until`` cuts the forecast off before end of life; ``move_by`` (default
    today; an earlier date counts as today) is when the move to the successor would be made.
    Dates are midnight UTC, as AWS's lifecycle dates are; naive datetimes are UTC.

    One row per model invoked and region with a call in the window, sorted by model and
    region. See the module docstring for the arithmetic.
    """
    window = _window(window_days)
    stop = _moment(until, "until")
    move = _moment(move_by, "move_by")
    catalog = default_catalog() if catalog is None else catalog
    book = price_book(prices)
    chosen_policy = Policy() if policy is None else policy
    at = as_utc(catalog.now())
    start = at - window
    groups: dict[tuple[str, str | None], _Usage] = {}
    for rec in records:
        if not isinstance(rec, UsageRecord) or not start <= rec.timestamp < at:
            continue
        key = (rec.invoked_model_id, rec.region)
        usage = groups.get(key)
        if usage is None:
            usage = groups[key] = _Usage()
        usage.add(rec)
    span = _Span(window)
    days = Decimal(window // timedelta(microseconds=1)) / _MICROS_PER_DAY
    rows = tuple(
        _row(
            model_id,
            region,
            groups[(model_id, region)],
            at=at,
            days=days,
            until=stop,
            move_by=at if move is None else move,
            catalog=catalog,
            book=book,
            policy=chosen_policy,
            span=span,
        )
        for model_id, region in sorted(groups, key=lambda key: (key[0], key[1] or ""))
    )
    return Forecast(
        at=at,
        window_days=float(window_days),
        window_start=start,
        until=stop,
        move_by=at if move is None else max(move, at),
        rows=rows,
    )
