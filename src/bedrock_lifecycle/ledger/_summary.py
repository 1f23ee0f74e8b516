"""Totals over usage records, grouped by model, region, day, state or operation.

Shadow records given with them are totalled apart, in rows marked ``shadow=True``: their spend
never enters the usage rows.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from .._errors import ConfigurationError
from .._shadow_record import ShadowRecord, ShadowSide
from .._usage import UsageRecord
from ._base import AnyRecord, select_records

__all__ = ["GROUP_KEYS", "SummaryRow", "summarize"]

_KEYS: dict[str, Callable[[UsageRecord], str | None]] = {
    "model": lambda rec: rec.invoked_model_id,
    "region": lambda rec: rec.region,
    "day": lambda rec: rec.timestamp.date().isoformat(),
    "state": lambda rec: rec.state,
    "operation": lambda rec: rec.operation,
}
GROUP_KEYS = tuple(_KEYS)
"""What :func:`summarize` can group by. ``model`` is the id invoked; ``day`` is the UTC date."""

# The same keys for the shadow side of a shadow pair (a shadow call has no lifecycle state).
_SHADOW_KEYS: dict[str, Callable[[ShadowRecord], str | None]] = {
    "model": lambda rec: rec.shadow.model_id,
    "region": lambda rec: rec.region,
    "day": lambda rec: rec.timestamp.date().isoformat(),
    "state": lambda rec: None,
    "operation": lambda rec: rec.shadow_operation,
}

_NANO = Decimal("0.000000001")


@dataclass(frozen=True, slots=True)
class SummaryRow:
    """Totals for one group. Grouping fields not asked for are ``None``.

    Money totals add only known amounts: ``unpriced_calls`` counts calls whose cost is unknown
    (their cost is not in ``cost_usd``), ``unknown_premium_calls`` those whose premium is unknown.
    ``unmetered_calls`` counts calls whose token counts Bedrock did not report.

    A row with ``shadow=True`` totals shadow traffic (:class:`~bedrock_lifecycle.ShadowRecord`),
    never counted in the other rows: ``calls`` are shadow pairs, ``model`` and ``operation`` the
    shadow side's, tokens and ``cost_usd`` the shadow call's (:attr:`ShadowSide.cost_usd`);
    ``failed_calls`` counts shadow calls that failed. Its ``state`` is ``None``, and no standard
    cost or premium is kept for it (both 0.0, every call counted in ``unknown_premium_calls``).
    """

    model: str | None
    region: str | None
    day: str | None
    state: str | None
    operation: str | None
    calls: int
    input_tokens: int
    output_tokens: int
    cache_read_input_tokens: int
    cache_write_input_tokens: int
    cost_usd: float
    standard_cost_usd: float
    premium_usd: float
    unpriced_calls: int
    unknown_premium_calls: int
    unmetered_calls: int
    shadow: bool = False
    failed_calls: int = 0

    @property
    def fully_priced(self) -> bool:
        """Whether every call in the group had a known cost."""
        return self.unpriced_calls == 0

    def to_dict(self) -> dict[str, Any]:
        """A JSON-safe dict of every field (``shadow`` and ``failed_calls`` only in shadow
        rows: a usage row's dict is what it always was)."""
        data = {name: getattr(self, name) for name in self.__slots__}
        if not self.shadow:
            del data["shadow"], data["failed_calls"]
        return data


class _Totals:
    __slots__ = (
        "cache_read",
        "cache_write",
        "calls",
        "cost",
        "failed",
        "input",
        "output",
        "premium",
        "standard",
        "unknown_premium",
        "unmetered",
        "unpriced",
    )

    def __init__(self) -> None:
        self.calls = self.input = self.output = self.cache_read = self.cache_write = 0
        self.unpriced = self.unknown_premium = self.unmetered = self.failed = 0
        self.cost = Decimal(0)
        self.standard = Decimal(0)
        self.premium = Decimal(0)

    def add(self, rec: UsageRecord) -> None:
        self.calls += 1
        self.input += rec.input_tokens or 0
        self.output += rec.output_tokens or 0
        self.cache_read += rec.cache_read_input_tokens or 0
        self.cache_write += rec.cache_write_input_tokens or 0
        if rec.input_tokens is None or rec.output_tokens is None:
            self.unmetered += 1
        if rec.cost_usd is None:
            self.unpriced += 1
        else:
            self.cost += Decimal(repr(rec.cost_usd))
        if rec.standard_cost_usd is not None:
            self.standard += Decimal(repr(rec.standard_cost_usd))
        if rec.premium_usd is None:
            self.unknown_premium += 1
        else:
            self.premium += Decimal(repr(rec.premium_usd))

    def add_shadow(self, side: ShadowSide) -> None:
        self.calls += 1
        self.input += side.input_tokens or 0
        self.output += side.output_tokens or 0
        if side.input_tokens is None or side.output_tokens is None:
            self.unmetered += 1
        if side.cost_usd is None:
            self.unpriced += 1
        else:
            self.cost += Decimal(repr(side.cost_usd))
        self.unknown_premium += 1
        if not side.ok:
            self.failed += 1


def _money(value: Decimal) -> float:
    return float(value.quantize(_NANO))


def summarize(
    records: Iterable[AnyRecord],
    *,
    by: Sequence[str] = ("model",),
    since: datetime | None = None,
    until: datetime | None = None,
) -> list[SummaryRow]:
    """Group ``records`` (those with ``since <= timestamp < until``) and total each group.

    ``by`` names any of :data:`GROUP_KEYS`; ``by=()`` gives one row for everything. Rows are
    sorted by their group values (``None`` first). Dollar sums are exact, rounded to 1e-9.

    Shadow records among ``records`` are totalled apart, after the usage rows, in rows with
    ``shadow=True`` grouped the same way by their shadow side (see :class:`SummaryRow`): the
    usage rows are what they would be without them.
    """
    if isinstance(by, str):
        by = (by,)
    unknown = [key for key in by if key not in _KEYS]
    if unknown:
        raise ConfigurationError(
            f"cannot group by {', '.join(map(repr, unknown))}; choose from {', '.join(GROUP_KEYS)}"
        )
    readers = [(key, _KEYS[key]) for key in by]
    shadow_readers = [_SHADOW_KEYS[key] for key in by]
    groups: dict[tuple[str | None, ...], _Totals] = {}
    shadow_groups: dict[tuple[str | None, ...], _Totals] = {}
    for rec in select_records(records, since, until):
        if isinstance(rec, ShadowRecord):
            group = tuple(read(rec) for read in shadow_readers)
            totals = shadow_groups.get(group)
            if totals is None:
                totals = shadow_groups[group] = _Totals()
            totals.add_shadow(rec.shadow)
            continue
        group = tuple(read(rec) for _, read in readers)
        totals = groups.get(group)
        if totals is None:
            totals = groups[group] = _Totals()
        totals.add(rec)
    keys = [key for key, _ in readers]
    rows = _rows(groups, keys, shadow=False)
    shadow_rows = _rows(shadow_groups, keys, shadow=True)
    return rows + shadow_rows


def _rows(
    groups: dict[tuple[str | None, ...], _Totals], by: list[str], *, shadow: bool
) -> list[SummaryRow]:
    rows = []
    for group, totals in groups.items():
        keys: dict[str, str | None] = dict.fromkeys(_KEYS)
        keys.update(zip(by, group, strict=True))
        rows.append(
            SummaryRow(
                model=keys["model"],
                region=keys["region"],
                day=keys["day"],
                state=keys["state"],
                operation=keys["operation"],
                calls=totals.calls,
                input_tokens=totals.input,
                output_tokens=totals.output,
                cache_read_input_tokens=totals.cache_read,
                cache_write_input_tokens=totals.cache_write,
                cost_usd=_money(totals.cost),
                standard_cost_usd=_money(totals.standard),
                premium_usd=_money(totals.premium),
                unpriced_calls=totals.unpriced,
                unknown_premium_calls=totals.unknown_premium,
                unmetered_calls=totals.unmetered,
                shadow=shadow,
                failed_calls=totals.failed,
            )
        )
    rows.sort(
        key=lambda row: tuple(
            (value is not None, value or "") for value in (getattr(row, key) for key in by)
        )
    )
    return rows
