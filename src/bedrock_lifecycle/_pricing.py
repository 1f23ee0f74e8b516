"""Prices per million tokens, the price book that holds them, and the cost of one call.

A :class:`Price` is what one model costs per million tokens, at standard rates and (when known) at
the higher rates of public extended access. A :class:`PriceBook` maps model ids, optionally per
region, to prices. :func:`compute_cost` turns token counts and a price into
``(cost, standard_cost, premium)``.

Unknown is never zero: when a price (or a rate a call needs) is missing, the cost is ``None``.

Price-book files (JSON or TOML) look like this::

    {
      "format": 1,
      "prices": {
        "anthropic.claude-3-5-sonnet-20241022-v2:0": {
          "input_per_1m": 3.0, "output_per_1m": 15.0,
          "extended_input_per_1m": 6.0, "extended_output_per_1m": 30.0,
          "regions": {"eu-central-2": {"input_per_1m": 3.15, "output_per_1m": 15.75}}
        }
      }
    }

A regional entry inherits every field it does not set from the model's own entry in the same file.
``as_of``, ``sources`` and ``notes`` may sit beside ``prices`` and are ignored.

A model's entry may also say where its figures come from and where they apply::

    "anthropic.claude-3-5-sonnet-20241022-v2:0": {
      "input_per_1m": 3.0, "output_per_1m": 15.0, ...,
      "published_in": ["us-east-1", "us-east-2", "us-west-2"],
      "source": "https://aws.amazon.com/bedrock/pricing/",
      "as_of": "2026-09-06"
    }

``published_in`` limits the model's own rates to those regions: elsewhere the model has no price
(a ``regions`` entry still applies in its region). The bundled book uses it for prices AWS
published for some regions only, so they are never applied where they were not published. An
entry without it (every user entry written as a mapping, and old files) applies everywhere.
``source`` and ``as_of`` are kept with the book and written back by :meth:`PriceBook.to_data`.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from functools import lru_cache
from os import PathLike
from typing import Any, NamedTuple, TypeAlias

from ._errors import ConfigurationError
from ._ids import base_model_id

__all__ = [
    "Price",
    "PriceBook",
    "PriceKey",
    "compute_cost",
    "price_book",
]

PRICE_BOOK_FORMAT = 1

PriceKey: TypeAlias = "str | tuple[str, str]"
"""A base (or profile) model id, or a ``(model id, region)`` pair."""

_MILLION = Decimal(1_000_000)
_PICO_PER_MILLION = Decimal(1_000_000)  # $1 per million tokens = 1e6 pico-dollars per token
_NANO = Decimal("0.000000001")
_RATE_FIELDS = (
    "input_per_1m",
    "output_per_1m",
    "extended_input_per_1m",
    "extended_output_per_1m",
    "cache_read_per_1m",
    "cache_write_per_1m",
    "extended_cache_read_per_1m",
    "extended_cache_write_per_1m",
)
_REQUIRED = ("input_per_1m", "output_per_1m")
_FILE_KEYS = frozenset({"format", "prices", "as_of", "sources", "notes"})
# What a model's entry in a file may hold beside its rates.
_ENTRY_KEYS = frozenset({"regions", "published_in", "source", "as_of"})


def _rate(value: Any, name: str, source: str | None, key: str | None) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, Decimal)):
        raise ConfigurationError(
            f"{name} must be a number of dollars per million tokens, not {value!r}",
            key=key,
            source=source,
        )
    number = float(value)
    if not math.isfinite(number) or number < 0:
        raise ConfigurationError(
            f"{name} must be a finite, non-negative number, not {value!r}", key=key, source=source
        )
    return number


@dataclass(frozen=True, slots=True)
class Price:
    """What one model costs, in US dollars per million tokens.

    ``input_per_1m`` and ``output_per_1m`` are the standard on-demand rates. The ``extended_*``
    rates apply while the model is in public extended access; ``None`` means not published (a cost
    that needs it is then unknown). Cache rates apply to prompt-cache reads and writes.
    """

    input_per_1m: float
    output_per_1m: float
    extended_input_per_1m: float | None = None
    extended_output_per_1m: float | None = None
    cache_read_per_1m: float | None = None
    cache_write_per_1m: float | None = None
    extended_cache_read_per_1m: float | None = None
    extended_cache_write_per_1m: float | None = None
    currency: str = "USD"
    _exact: tuple[Decimal | None, ...] = field(
        init=False, repr=False, compare=False, hash=False, default=()
    )
    # The same rates in pico-dollars (1e-12) per token, when every rate is a whole number of
    # them (all published prices are): integer arithmetic, same results, a quarter of the time.
    _pico: tuple[int | None, ...] | None = field(
        init=False, repr=False, compare=False, hash=False, default=None
    )

    def __post_init__(self) -> None:
        self._validate(None, None)

    def _validate(self, source: str | None, key: str | None) -> None:
        exact: list[Decimal | None] = []
        for name in _RATE_FIELDS:
            value = getattr(self, name)
            if value is None:
                if name in _REQUIRED:
                    raise ConfigurationError(f"{name} is required", key=key, source=source)
                exact.append(None)
                continue
            number = _rate(value, name, source, key)
            object.__setattr__(self, name, number)
            # repr() of a float is the shortest decimal that reads back as it: 7.5 -> "7.5".
            exact.append(Decimal(repr(number)))
        if self.currency != "USD":
            raise ConfigurationError(
                f"currency must be 'USD' (Bedrock bills in US dollars), not {self.currency!r}",
                key=key,
                source=source,
            )
        object.__setattr__(self, "_exact", tuple(exact))
        pico = [None if rate is None else rate * _PICO_PER_MILLION for rate in exact]
        if all(value is None or value == value.to_integral_value() for value in pico):
            object.__setattr__(
                self, "_pico", tuple(None if value is None else int(value) for value in pico)
            )

    @classmethod
    def from_mapping(
        cls,
        data: Mapping[str, Any],
        *,
        source: str | None = None,
        key: str | None = None,
        inherit: Mapping[str, Any] | None = None,
    ) -> Price:
        """Build a price from a mapping of field names (as in a price-book file).

        Fields missing from ``data`` are taken from ``inherit`` when given. Unknown fields and bad
        values raise :class:`ConfigurationError` naming ``source`` and ``key``.
        """
        if not isinstance(data, Mapping):
            raise ConfigurationError(
                f"a price must be a table of rates, not {data!r}", key=key, source=source
            )
        allowed = {*_RATE_FIELDS, "currency"}
        unknown = sorted(str(name) for name in data if name not in allowed)
        if unknown:
            raise ConfigurationError(
                f"unknown price field(s) {', '.join(unknown)}; expected some of "
                f"{', '.join(sorted(allowed))}",
                key=key,
                source=source,
            )
        merged: dict[str, Any] = {**(inherit or {}), **data}
        for name in _REQUIRED:
            if merged.get(name) is None:
                raise ConfigurationError(f"{name} is required", key=key, source=source)
        price = object.__new__(cls)
        for name in _RATE_FIELDS:
            object.__setattr__(price, name, merged.get(name))
        object.__setattr__(price, "currency", merged.get("currency", "USD"))
        price._validate(source, key)
        return price

    def to_dict(self) -> dict[str, Any]:
        """The rates that are set, as a JSON-safe dict (the price-book file form)."""
        out: dict[str, Any] = {
            name: getattr(self, name) for name in _RATE_FIELDS if getattr(self, name) is not None
        }
        out["currency"] = self.currency
        return out

    @property
    def has_extended(self) -> bool:
        """Whether extended-access input and output rates are both known."""
        return self.extended_input_per_1m is not None and self.extended_output_per_1m is not None


class _Origin(NamedTuple):
    """Where a model's own entry applies and where its figures come from."""

    regions: frozenset[str] | None
    source: str | None
    as_of: date | None


def _origin(entry: Mapping[str, Any], model: str, source: str) -> _Origin | None:
    """The ``published_in`` / ``source`` / ``as_of`` of a file entry, checked."""
    regions: frozenset[str] | None = None
    raw = entry.get("published_in")
    if raw is not None:
        if (
            isinstance(raw, (str, bytes))
            or not isinstance(raw, (list, tuple))
            or not raw
            or not all(isinstance(item, str) and item for item in raw)
        ):
            raise ConfigurationError(
                "'published_in' must be a non-empty list of region names", key=model, source=source
            )
        regions = frozenset(raw)
    where = entry.get("source")
    if where is not None and (not isinstance(where, str) or not where):
        raise ConfigurationError("'source' must be a string", key=model, source=source)
    as_of = _as_of(entry.get("as_of"), model, source)
    if regions is None and where is None and as_of is None:
        return None
    return _Origin(regions, where, as_of)


def _as_of(value: Any, model: str, source: str) -> date | None:
    if value is None:
        return None
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        try:
            return date.fromisoformat(value)
        except ValueError:
            pass
    raise ConfigurationError(
        f"'as_of' must be a date (YYYY-MM-DD), not {value!r}", key=model, source=source
    )


def _check_key(key: Any) -> tuple[str, str | None]:
    if isinstance(key, str) and key:
        return key, None
    if (
        isinstance(key, tuple)
        and len(key) == 2
        and isinstance(key[0], str)
        and key[0]
        and (key[1] is None or (isinstance(key[1], str) and key[1]))
    ):
        return key[0], key[1]
    raise ConfigurationError(
        f"price book keys are model ids or (model id, region) pairs, not {key!r}"
    )


class PriceBook:
    """Prices by model id, optionally per region.

    ``mapping`` maps a model id, or a ``(model id, region)`` pair, to a :class:`Price` (or a
    mapping of its fields). Keys are kept as given: a price keyed by a profile id
    (``us.anthropic...``) applies to that profile only, one keyed by a base id applies to the base
    model and every profile over it. :meth:`price_for` looks up the most specific entry.

    A book read from a file (:meth:`from_data`, :meth:`bundled`) may limit a model's own entry to
    the regions it was published for (``published_in``); entries given as a mapping apply
    everywhere, as written.
    """

    __slots__ = ("_origins", "_prices", "_scopes", "source")

    def __init__(
        self,
        mapping: Mapping[Any, Price | Mapping[str, Any]] | None = None,
        *,
        source: str | None = None,
    ) -> None:
        self.source = source
        if mapping is not None and not isinstance(mapping, Mapping):
            raise ConfigurationError(
                f"prices must be a mapping of model id to price, not {type(mapping).__name__}",
                key="prices",
                source=source,
            )
        prices: dict[tuple[str, str | None], Price] = {}
        for raw_key, value in (mapping or {}).items():
            model, region = _check_key(raw_key)
            label = model if region is None else f"{model} in {region}"
            price = (
                value
                if isinstance(value, Price)
                else Price.from_mapping(value, source=source, key=label)
            )
            prices[(model, region)] = price
        self._prices = prices
        self._origins: dict[str, _Origin] = {}
        # model id -> the only regions its model-wide entry applies in (read by price_for).
        self._scopes: dict[str, frozenset[str]] = {}

    def _set_origins(self, origins: Mapping[str, _Origin]) -> None:
        self._origins = dict(origins)
        self._scopes = {
            model: origin.regions
            for model, origin in origins.items()
            if origin.regions is not None and (model, None) in self._prices
        }

    # -- construction -------------------------------------------------------------------------

    @classmethod
    def bundled(cls) -> PriceBook:
        """The published prices shipped with this version (``data/prices.json``)."""
        return _bundled_book()

    @classmethod
    def from_data(cls, data: Any, *, source: str = "price book") -> PriceBook:
        """Parse decoded price-book data (the file form shown in this module's docstring)."""
        if not isinstance(data, Mapping):
            raise ConfigurationError(
                "a price book must be a table with a 'prices' table", source=source
            )
        unknown = sorted(str(key) for key in data if key not in _FILE_KEYS)
        if unknown:
            raise ConfigurationError(
                f"unknown top-level key(s) {', '.join(unknown)}; expected 'prices'", source=source
            )
        fmt = data.get("format", PRICE_BOOK_FORMAT)
        if fmt != PRICE_BOOK_FORMAT:
            raise ConfigurationError(
                f"unsupported format {fmt!r} (this version reads format {PRICE_BOOK_FORMAT})",
                key="format",
                source=source,
            )
        table = data.get("prices")
        if not isinstance(table, Mapping):
            raise ConfigurationError("'prices' must be a table of model ids", source=source)
        mapping: dict[PriceKey, Price] = {}
        origins: dict[str, _Origin] = {}
        for model, entry in table.items():
            if not isinstance(model, str) or not model:
                raise ConfigurationError(f"model id {model!r} must be a string", source=source)
            if not isinstance(entry, Mapping):
                raise ConfigurationError(
                    f"expected a table of rates, not {entry!r}", key=model, source=source
                )
            own = {name: value for name, value in entry.items() if name not in _ENTRY_KEYS}
            origin = _origin(entry, model, source)
            if origin is not None:
                if origin.regions is not None and not own:
                    raise ConfigurationError(
                        "'published_in' limits the model's own rates, and it has none",
                        key=model,
                        source=source,
                    )
                origins[model] = origin
            regions = entry.get("regions") or {}
            if not isinstance(regions, Mapping):
                raise ConfigurationError(
                    "'regions' must be a table of region names", key=model, source=source
                )
            if own:
                mapping[model] = Price.from_mapping(own, source=source, key=model)
            for region, rates in regions.items():
                label = f"{model} in {region}"
                if not isinstance(region, str) or not region:
                    raise ConfigurationError(
                        "region names must be strings", key=model, source=source
                    )
                if not isinstance(rates, Mapping):
                    raise ConfigurationError(
                        f"expected a table of rates, not {rates!r}", key=label, source=source
                    )
                mapping[(model, region)] = Price.from_mapping(
                    rates, source=source, key=label, inherit=own
                )
        book = cls(mapping, source=source)
        book._set_origins(origins)
        return book

    @classmethod
    def from_file(cls, path: str | PathLike[str]) -> PriceBook:
        """Read a JSON or TOML price-book file. Errors name the file and the reason."""
        from ._config_files import load_mapping_file

        data = load_mapping_file(path, what="price book")
        return cls.from_data(data, source=str(path))

    def merged(self, other: PriceBook | Mapping[Any, Price | Mapping[str, Any]]) -> PriceBook:
        """A new book with ``other``'s entries over this one's.

        A model-wide entry in ``other`` replaces everything this book knew about that model id,
        regional entries and ``published_in`` included, so a user price is never shadowed by a
        bundled regional one, nor confined to the regions a bundled one was published for.
        """
        theirs = other if isinstance(other, PriceBook) else PriceBook(other)
        replaced = {model for model, region in theirs._prices if region is None}
        prices = {key: price for key, price in self._prices.items() if key[0] not in replaced}
        prices.update(theirs._prices)
        origins = {model: o for model, o in self._origins.items() if model not in replaced}
        origins.update(theirs._origins)
        book = PriceBook(source=theirs.source or self.source)
        book._prices = prices
        book._set_origins(origins)
        return book

    def with_overrides(
        self, user: PriceBook | Mapping[Any, Price | Mapping[str, Any]] | None
    ) -> PriceBook:
        """This book with the user's prices taking precedence (``None`` changes nothing)."""
        return self if user is None else self.merged(user)

    # -- lookup -------------------------------------------------------------------------------

    def price_for(self, model_id: str, region: str | None = None) -> Price | None:
        """The price of ``model_id`` in ``region``, or ``None`` when the book has none.

        Order: the id as given in the region, its base id in the region, the id as given
        model-wide, the base id model-wide. The base id is read by the id parser (a profile's geo
        prefix or an ARN stripped). A model-wide entry limited to the regions it was published
        for (``published_in``) is passed over in any other region; with no ``region`` there is
        nothing to check it against, and it is returned.
        """
        prices = self._prices
        base = base_model_id(model_id) or model_id
        if region is None:
            return prices.get((model_id, None)) or prices.get((base, None))
        found = prices.get((model_id, region)) or prices.get((base, region))
        if found is not None:
            return found
        scopes = self._scopes
        found = prices.get((model_id, None))
        if found is not None:
            scope = scopes.get(model_id) if scopes else None
            if scope is None or region in scope:
                return found
        if base == model_id:
            return None
        found = prices.get((base, None))
        if found is not None and scopes:
            scope = scopes.get(base)
            if scope is not None and region not in scope:
                return None
        return found

    def published_regions(self, model_id: str) -> frozenset[str] | None:
        """The regions the model-wide price of ``model_id`` (or of its base id) is limited to,
        or ``None`` when it is not limited (or there is none)."""
        scope = self._scopes.get(model_id)
        if scope is None:
            scope = self._scopes.get(base_model_id(model_id) or model_id)
        return scope

    def items(self) -> Iterator[tuple[PriceKey, Price]]:
        """``(key, price)`` pairs; keys are model ids or ``(model id, region)`` pairs."""
        for (model, region), price in self._prices.items():
            yield (model if region is None else (model, region)), price

    def to_data(self) -> dict[str, Any]:
        """The book in price-book file form (JSON-safe)."""
        table: dict[str, dict[str, Any]] = {}
        for (model, region), price in sorted(
            self._prices.items(), key=lambda item: (item[0][0], item[0][1] or "")
        ):
            entry = table.setdefault(model, {})
            if region is None:
                entry.update(price.to_dict())
            else:
                entry.setdefault("regions", {})[region] = price.to_dict()
        for model, origin in sorted(self._origins.items()):
            entry = table.setdefault(model, {})
            if origin.regions is not None:
                entry["published_in"] = sorted(origin.regions)
            if origin.source is not None:
                entry["source"] = origin.source
            if origin.as_of is not None:
                entry["as_of"] = origin.as_of.isoformat()
        return {"format": PRICE_BOOK_FORMAT, "prices": table}

    def __len__(self) -> int:
        return len(self._prices)

    def __contains__(self, key: object) -> bool:
        try:
            model, region = _check_key(key)
        except ConfigurationError:
            return False
        return (model, region) in self._prices

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, PriceBook):
            return NotImplemented
        return self._prices == other._prices and self._origins == other._origins

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        where = f", source={self.source!r}" if self.source else ""
        return f"PriceBook({len(self._prices)} prices{where})"


@lru_cache(maxsize=1)
def _bundled_book() -> PriceBook:
    from importlib import resources  # not at import: the bundled prices are read when needed

    origin = "bedrock_lifecycle/data/prices.json"
    text = resources.files("bedrock_lifecycle").joinpath("data/prices.json").read_text("utf-8")
    return PriceBook.from_data(json.loads(text), source=origin)


def _weighted(counts: tuple[int | None, ...], rates: tuple[Any, ...], zero: Any) -> Any:
    """``sum(count * rate)`` over the non-zero counts; ``None`` when one of them has no rate."""
    total = zero
    for count, rate in zip(counts, rates, strict=True):
        if not count:
            continue
        if rate is None:
            return None
        total += count * rate
    return total


def _sum(counts: tuple[int | None, ...], rates: tuple[Decimal | None, ...]) -> Decimal | None:
    total = _weighted(counts, rates, Decimal(0))
    return None if total is None else total / _MILLION


def _money(value: Decimal) -> float:
    return float(value.quantize(_NANO))


def _int_sum(counts: tuple[int | None, ...], rates: tuple[int | None, ...]) -> int | None:
    total: int | None = _weighted(counts, rates, 0)
    return total


def _pico_money(pico: int) -> float:
    """Pico-dollars to dollars, rounded half-even to the nano-dollar like :func:`_money`."""
    nano, rest = divmod(pico, 1000)
    if rest > 500 or (rest == 500 and nano % 2):
        nano += 1
    return nano / 1_000_000_000


def compute_cost(
    price: Price | None,
    *,
    extended_access: bool,
    input_tokens: int | None,
    output_tokens: int | None,
    cache_read: int | None = None,
    cache_write: int | None = None,
) -> tuple[float | None, float | None, float | None]:
    """``(cost, standard_cost, premium)`` in US dollars for one call.

    Arithmetic is exact (``Decimal``); results are floats rounded to the nano-dollar (1e-9).

    - ``price`` unknown, or input/output token counts unknown: ``(None, None, None)``.
    - Cache counts of ``None`` or 0 cost nothing; a cache count above 0 needs its rate.
    - Outside extended access the cost is the standard cost and the premium is 0.
    - In extended access the cost uses the ``extended_*`` rates; when one the call needs is not
      known the cost and premium are ``None`` and the standard cost is still given.
    - ``premium`` is ``cost - standard_cost`` when both are known, else ``None``.
    """
    if price is None or input_tokens is None or output_tokens is None:
        return None, None, None
    counts = (input_tokens, output_tokens, cache_read, cache_write)
    pico = price._pico
    if pico is not None:
        whole = _int_sum(counts, (pico[0], pico[1], pico[4], pico[5]))
        if not extended_access:
            if whole is None:
                return None, None, 0.0
            money = _pico_money(whole)
            return money, money, 0.0
        uplift = _int_sum(counts, (pico[2], pico[3], pico[6], pico[7]))
        return (
            None if uplift is None else _pico_money(uplift),
            None if whole is None else _pico_money(whole),
            None if uplift is None or whole is None else _pico_money(uplift - whole),
        )
    exact = price._exact
    standard = _sum(counts, (exact[0], exact[1], exact[4], exact[5]))
    if not extended_access:
        return (None, None, 0.0) if standard is None else (_money(standard), _money(standard), 0.0)
    extended = _sum(counts, (exact[2], exact[3], exact[6], exact[7]))
    premium = None if extended is None or standard is None else _money(extended - standard)
    return (
        None if extended is None else _money(extended),
        None if standard is None else _money(standard),
        premium,
    )


def price_book(prices: PriceBook | Mapping[Any, Any] | str | PathLike[str] | None) -> PriceBook:
    """The price book a ``prices=`` argument stands for: the bundled book when ``None``, a
    :class:`PriceBook` as given, else a mapping or a JSON/TOML file over the bundled prices."""
    if prices is None:
        return PriceBook.bundled()
    if isinstance(prices, PriceBook):
        return prices
    if isinstance(prices, (str, PathLike)):
        return PriceBook.bundled().with_overrides(PriceBook.from_file(prices))
    return PriceBook.bundled().with_overrides(prices)
