"""Totals over usage records, grouped by model, region, day, state or operation."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from .._errors import ConfigurationError
from .._usage import UsageRecord
from ._base import select_records

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

_NANO = Decimal("0.000000001")


@dataclass(frozen=True, slots=True)
class SummaryRow:
    """Totals for one group. Grouping fields not asked for are ``None``.

    Money totals add only known amounts: ``unpriced_calls`` counts calls whose cost is unknown
    (their cost is not in ``cost_usd``), ``unknown_premium_calls`` those whose premium is unknown.
    ``unmetered_calls`` counts calls whose token counts Bedrock did not report.
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

    @property
    def fully_priced(self) -> bool:
        """Whether every call in the group had a known cost."""
        return self.unpriced_calls == 0

    def to_dict(self) -> dict[str, Any]:
        """A JSON-safe dict of every field."""
        return {name: getattr(self, name) for name in self.__slots__}


class _Totals:
    __slots__ = (
        "cache_read",
        "cache_write",
        "calls",
        "cost",
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
        self.unpriced = self.unknown_premium = self.unmetered = 0
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


def _money(value: Decimal) -> float:
    return float(value.quantize(_NANO))


def summarize(
    records: Iterable[UsageRecord],
    *,
    by: Sequence[str] = ("model",),
    since: datetime | None = None,
    until: datetime | None = None,
) -> list[SummaryRow]:
    """Group ``records`` (those with ``since <= timestamp < until``) and total each group.

    ``by`` names any of :data:`GROUP_KEYS`; ``by=()`` gives one row for everything. Rows are
    sorted by their group values (``None`` first). Dollar sums are exact, rounded to 1e-9.
    """
    if isinstance(by, str):
        by = (by,)
    unknown = [key for key in by if key not in _KEYS]
    if unknown:
        raise ConfigurationError(
            f"cannot group by {', '.join(map(repr, unknown))}; choose from {', '.join(GROUP_KEYS)}"
        )
    readers = [(key, _KEYS[key]) for key in by]
    groups: dict[tuple[str | None, ...], _Totals] = {}
    for rec in select_records(records, since, until):
        group = tuple(read(rec) for _, read in readers)
        totals = groups.get(group)
        if totals is None:
            totals = groups[group] = _Totals()
        totals.add(rec)
    rows = []
    for group, totals in groups.items():
        keys: dict[str, str | None] = dict.fromkeys(_KEYS)
        keys.update(zip((key for key, _ in readers), group, strict=True))
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
            )
        )
    rows.sort(
        key=lambda row: tuple(
            (value is not None, value or "") for value in (getattr(row, key) for key in by)
        )
    )
    return rows
