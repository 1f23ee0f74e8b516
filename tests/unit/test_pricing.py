"""Prices, the price book and cost arithmetic."""

from __future__ import annotations

import json
import math
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bedrock_lifecycle._errors import ConfigurationError
from bedrock_lifecycle._pricing import Price, PriceBook, compute_cost, price_book

V1 = "anthropic.claude-3-5-sonnet-20240620-v1:0"
V2 = "anthropic.claude-3-5-sonnet-20241022-v2:0"


def test_bundled_book_holds_the_published_claude_35_sonnet_prices() -> None:
    book = PriceBook.bundled()
    for model in (V1, V2):
        price = book.price_for(model, "us-east-1")
        assert price is not None
        assert (price.input_per_1m, price.output_per_1m) == (3.0, 15.0)
        assert (price.extended_input_per_1m, price.extended_output_per_1m) == (6.0, 30.0)
    v2 = book.price_for(V2)
    assert v2 is not None
    assert (v2.extended_cache_write_per_1m, v2.extended_cache_read_per_1m) == (7.5, 0.6)
    # Nothing unpublished is filled in.
    assert v2.cache_read_per_1m is None
    assert v2.cache_write_per_1m is None
    v1 = book.price_for(V1)
    assert v1 is not None
    assert v1.extended_cache_read_per_1m is None


def test_bundled_book_has_no_guessed_prices_for_other_models() -> None:
    book = PriceBook.bundled()
    assert book.price_for("anthropic.claude-sonnet-4-20250514-v1:0") is None
    assert book.price_for("amazon.nova-pro-v1:0") is None
    for _key, price in book.items():
        assert price.has_extended  # every bundled entry is one whose uplift was published


US = ("us-east-1", "us-east-2", "us-west-2")
EU_V1 = ("eu-central-1", "eu-central-2", "eu-west-1", "eu-west-3")


def test_bundled_prices_say_where_they_were_published_and_where_from() -> None:
    entries = PriceBook.bundled().to_data()["prices"]
    assert entries[V1]["published_in"] == sorted(US + EU_V1)
    assert entries[V2]["published_in"] == sorted(US)
    for entry in entries.values():
        assert entry["source"] == "https://aws.amazon.com/bedrock/pricing/"
        assert date.fromisoformat(entry["as_of"]) >= date(2026, 9, 6)


@pytest.mark.parametrize("region", US)
def test_bundled_prices_apply_in_the_regions_they_were_published_for(region: str) -> None:
    book = PriceBook.bundled()
    for model in (V1, V2, f"us.{V2}", f"arn:aws:bedrock:{region}::foundation-model/{V1}"):
        price = book.price_for(model, region)
        assert price is not None
        assert price.extended_input_per_1m == 6.0


def test_a_bundled_price_is_not_applied_outside_its_regions() -> None:
    book = PriceBook.bundled()
    assert book.price_for(V2, "eu-central-2") is None  # v2's price was published for the US only
    assert book.price_for(V1, "eu-central-2") is not None  # v1's for some European regions too
    assert book.price_for(f"eu.{V1}", "eu-west-3") is not None
    for region in ("ap-northeast-1", "eu-west-2", "us-gov-west-1"):
        assert book.price_for(V1, region) is None
        assert book.price_for(f"apac.{V2}", region) is None
    assert book.published_regions(f"us.{V2}") == frozenset(US)
    assert book.published_regions("amazon.nova-pro-v1:0") is None


def test_a_user_price_is_applied_where_the_user_says() -> None:
    bundled = PriceBook.bundled()
    tokyo = bundled.with_overrides({(V2, "ap-northeast-1"): Price(3, 15, 6, 30)})
    assert tokyo.price_for(V2, "ap-northeast-1") == Price(3, 15, 6, 30)
    assert tokyo.price_for(V2, "eu-west-1") is None  # still not published there
    assert tokyo.price_for(V2, "us-east-1") == bundled.price_for(V2, "us-east-1")
    everywhere = bundled.with_overrides({V2: Price(3, 15, 6, 30)})
    for region in ("ap-northeast-1", "eu-west-1", "us-east-1"):
        assert everywhere.price_for(V2, region) == Price(3, 15, 6, 30)
    assert everywhere.published_regions(V2) is None
    assert everywhere.price_for(V1, "ap-northeast-1") is None  # other bundled entries keep theirs
    assert price_book({V2: {"input_per_1m": 3, "output_per_1m": 15}}).price_for(
        V2, "ap-northeast-1"
    ) == Price(3, 15)


def test_published_in_in_a_price_book_file(tmp_path: Path) -> None:
    file = tmp_path / "prices.toml"
    file.write_text(
        '[prices."a.m-v1:0"]\n'
        "input_per_1m = 1\n"
        "output_per_1m = 2\n"
        'published_in = ["eu-west-1"]\n'
        'source = "https://example.com/prices"\n'
        "as_of = 2026-10-01\n"
        '[prices."a.m-v1:0".regions.us-east-1]\n'
        "input_per_1m = 1.5\n"
    )
    book = PriceBook.from_file(file)
    assert book.price_for("a.m-v1:0", "eu-west-1") == Price(1, 2)
    assert book.price_for("a.m-v1:0", "us-east-1") == Price(1.5, 2)  # its own regional entry
    assert book.price_for("a.m-v1:0", "ap-south-1") is None
    assert book.price_for("a.m-v1:0") == Price(1, 2)  # no region: nothing to check against
    data = book.to_data()
    assert data["prices"]["a.m-v1:0"]["as_of"] == "2026-10-01"
    assert PriceBook.from_data(data) == book
    assert PriceBook.from_data(data) != PriceBook.from_data(
        {"prices": {"a.m-v1:0": {**data["prices"]["a.m-v1:0"], "published_in": ["us-west-2"]}}}
    )


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        ({"published_in": "us-east-1"}, "published_in"),
        ({"published_in": []}, "published_in"),
        ({"published_in": [""]}, "published_in"),
        ({"source": 3}, "source"),
        ({"as_of": "last week"}, "as_of"),
    ],
)
def test_bad_publication_fields_raise(entry: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigurationError, match=message):
        PriceBook.from_data(
            {"prices": {"a.m-v1:0": {"input_per_1m": 1, "output_per_1m": 2, **entry}}}
        )
    with pytest.raises(ConfigurationError, match="has none"):
        PriceBook.from_data(
            {"prices": {"a.m-v1:0": {"published_in": ["us-east-1"], "regions": {}}}}
        )


def test_extended_access_cost_of_1000_in_500_out_on_v2() -> None:
    price = PriceBook.bundled().price_for(V2)
    cost, standard, premium = compute_cost(
        price, extended_access=True, input_tokens=1000, output_tokens=500
    )
    assert cost == 0.021  # 1000 * 6 / 1e6 + 500 * 30 / 1e6 = 0.006 + 0.015
    assert standard == 0.0105  # 0.003 + 0.0075
    assert premium == 0.0105


def test_standard_cost_outside_extended_access_has_zero_premium() -> None:
    price = Price(3, 15)
    assert compute_cost(
        price, extended_access=False, input_tokens=1_000_000, output_tokens=2_000_000
    ) == (33.0, 33.0, 0.0)


def test_cost_is_exact_where_floats_would_drift() -> None:
    # 0.1 + 0.2 style drift: 1 token at $0.1/M and 2 tokens at $0.2/M.
    price = Price(0.1, 0.2)
    cost, _, _ = compute_cost(price, extended_access=False, input_tokens=3, output_tokens=7)
    assert cost == 0.0000017  # (0.3 + 1.4) / 1e6 exactly
    assert 3 * 0.1 / 1e6 + 7 * 0.2 / 1e6 != 0.0000017  # what naive floats give


def test_cache_tokens_use_extended_cache_rates() -> None:
    price = PriceBook.bundled().price_for(V2)
    cost, standard, premium = compute_cost(
        price,
        extended_access=True,
        input_tokens=1000,
        output_tokens=500,
        cache_read=10_000,
        cache_write=2000,
    )
    # 0.006 + 0.015 + 10000 * 0.6 / 1e6 + 2000 * 7.5 / 1e6 = 0.021 + 0.006 + 0.015
    assert cost == 0.042
    # Standard cache rates are not published: the standard cost (and so the premium) is unknown.
    assert standard is None
    assert premium is None


def test_unknown_price_gives_unknown_costs() -> None:
    assert compute_cost(None, extended_access=True, input_tokens=10, output_tokens=10) == (
        None,
        None,
        None,
    )


def test_unknown_token_counts_give_unknown_costs() -> None:
    price = Price(3, 15, 6, 30)
    assert compute_cost(price, extended_access=True, input_tokens=None, output_tokens=5) == (
        None,
        None,
        None,
    )


def test_missing_extended_price_keeps_the_standard_cost() -> None:
    price = Price(3, 15)  # uplift not published
    cost, standard, premium = compute_cost(
        price, extended_access=True, input_tokens=1000, output_tokens=500
    )
    assert cost is None
    assert standard == 0.0105
    assert premium is None


def test_zero_or_none_cache_counts_need_no_cache_rate() -> None:
    price = Price(3, 15, 6, 30)
    assert compute_cost(
        price,
        extended_access=True,
        input_tokens=1000,
        output_tokens=0,
        cache_read=0,
        cache_write=None,
    ) == (0.006, 0.003, 0.003)


@pytest.mark.parametrize("bad", [-1, math.inf, math.nan, "3", True, None])
def test_price_rejects_bad_rates(bad: object) -> None:
    with pytest.raises(ConfigurationError):
        Price(bad, 15)  # type: ignore[arg-type]


def test_price_rejects_other_currencies() -> None:
    with pytest.raises(ConfigurationError, match="USD"):
        Price(1, 2, currency="EUR")


def test_price_book_from_mapping_and_regional_lookup() -> None:
    book = PriceBook(
        {
            "m.x-v1:0": {"input_per_1m": 1, "output_per_1m": 2},
            ("m.x-v1:0", "eu-central-2"): Price(1.5, 2.5),
        }
    )
    assert book.price_for("m.x-v1:0", "eu-central-2") == Price(1.5, 2.5)
    assert book.price_for("m.x-v1:0", "us-east-1") == Price(1, 2)
    assert book.price_for("m.x-v1:0") == Price(1, 2)
    assert book.price_for("other.model-v1:0") is None


def test_profile_ids_fall_back_to_the_base_price_but_can_have_their_own() -> None:
    book = PriceBook({V2: Price(3, 15), f"global.{V2}": Price(2.7, 13.5)})
    assert book.price_for(f"us.{V2}", "us-east-1") == Price(3, 15)
    assert book.price_for(f"global.{V2}", "us-east-1") == Price(2.7, 13.5)
    arn = f"arn:aws:bedrock:us-east-1::foundation-model/{V2}"
    assert book.price_for(arn) == Price(3, 15)


def test_user_overrides_win_and_hide_bundled_regional_entries() -> None:
    base = PriceBook({"a.m-v1:0": Price(1, 1), ("a.m-v1:0", "eu-west-1"): Price(9, 9)})
    merged = base.with_overrides({"a.m-v1:0": Price(2, 2, 4, 4)})
    assert merged.price_for("a.m-v1:0", "eu-west-1") == Price(2, 2, 4, 4)
    assert base.price_for("a.m-v1:0", "eu-west-1") == Price(9, 9)  # the original is unchanged
    user = PriceBook.bundled().with_overrides({"amazon.nova-pro-v1:0": Price(0.8, 3.2)})
    assert user.price_for("amazon.nova-pro-v1:0") == Price(0.8, 3.2)
    assert user.price_for(V2) == PriceBook.bundled().price_for(V2)
    assert PriceBook.bundled().with_overrides(None) == PriceBook.bundled()


def test_bad_keys_and_fields_raise_configuration_error() -> None:
    with pytest.raises(ConfigurationError):
        PriceBook({("only-one",): Price(1, 1)})
    with pytest.raises(ConfigurationError, match="unknown price field"):
        PriceBook({"a.b-v1:0": {"input_per_1m": 1, "output_per_1m": 1, "input": 2}})
    with pytest.raises(ConfigurationError, match="output_per_1m is required"):
        PriceBook({"a.b-v1:0": {"input_per_1m": 1}})


def test_from_file_json_with_regions_inheriting(tmp_path: Path) -> None:
    file = tmp_path / "prices.json"
    file.write_text(
        json.dumps(
            {
                "prices": {
                    "a.m-v1:0": {
                        "input_per_1m": 1,
                        "output_per_1m": 2,
                        "extended_input_per_1m": 3,
                        "extended_output_per_1m": 4,
                        "regions": {"eu-central-2": {"input_per_1m": 1.5}},
                    }
                }
            }
        )
    )
    book = PriceBook.from_file(file)
    assert book.price_for("a.m-v1:0", "eu-central-2") == Price(1.5, 2, 3, 4)
    assert book.price_for("a.m-v1:0", "us-east-1") == Price(1, 2, 3, 4)
    assert PriceBook.from_data(book.to_data()) == book


def test_from_file_toml(tmp_path: Path) -> None:
    file = tmp_path / "prices.toml"
    file.write_text(
        '[prices."meta.llama3-1-70b-instruct-v1:0"]\n'
        "input_per_1m = 0.72\n"
        "output_per_1m = 0.72\n"
        '[prices."meta.llama3-1-70b-instruct-v1:0".regions.us-west-2]\n'
        "output_per_1m = 0.99\n"
    )
    book = PriceBook.from_file(file)
    assert book.price_for("meta.llama3-1-70b-instruct-v1:0", "us-west-2") == Price(0.72, 0.99)


def test_from_file_errors_name_the_file(tmp_path: Path) -> None:
    file = tmp_path / "prices.json"
    file.write_text(json.dumps({"prices": {"a.m-v1:0": {"input_per_1m": -3, "output_per_1m": 1}}}))
    with pytest.raises(ConfigurationError) as info:
        PriceBook.from_file(file)
    assert str(file) in str(info.value)
    assert "a.m-v1:0" in str(info.value)
    file.write_text(json.dumps({"price": {}}))
    with pytest.raises(ConfigurationError, match="unknown top-level key"):
        PriceBook.from_file(file)
    file.write_text(json.dumps({"format": 2, "prices": {}}))
    with pytest.raises(ConfigurationError, match="format"):
        PriceBook.from_file(file)


def test_the_documented_example_price_book_parses(tmp_path: Path) -> None:
    docs = Path(__file__).resolve().parents[2] / "docs" / "costs.md"
    text = docs.read_text("utf-8")
    start = text.index("```toml\n") + len("```toml\n")
    file = tmp_path / "prices.toml"
    file.write_text(text[start : text.index("```", start)])
    book = PriceBook.from_file(file)
    price = book.price_for("us.anthropic.claude-3-haiku-20240307-v1:0", "eu-central-1")
    assert price is not None
    assert price.extended_input_per_1m is not None


@given(
    rates=st.lists(
        st.decimals(min_value=0, max_value=100, places=6, allow_nan=False, allow_infinity=False),
        min_size=8,
        max_size=8,
    ),
    counts=st.lists(st.integers(min_value=0, max_value=10**8), min_size=4, max_size=4),
    extended=st.booleans(),
)
def test_integer_fast_path_matches_exact_decimal_arithmetic(
    rates: list[Decimal], counts: list[int], extended: bool
) -> None:
    price = Price(*(float(rate) for rate in rates))
    assert price._pico is not None  # six decimal places per 1M tokens: whole pico-dollars
    kwargs = {
        "extended_access": extended,
        "input_tokens": counts[0],
        "output_tokens": counts[1],
        "cache_read": counts[2],
        "cache_write": counts[3],
    }
    fast = compute_cost(price, **kwargs)  # type: ignore[arg-type]
    object.__setattr__(price, "_pico", None)  # force the Decimal path
    assert compute_cost(price, **kwargs) == fast  # type: ignore[arg-type]
