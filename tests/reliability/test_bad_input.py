"""Bad input: fuzzed price books, overrides and cache files; wrong types wherever a user passes one.

A loader given anything at all either returns a value or raises ``ConfigurationError`` (naming
the file when there is one); a corrupted cache file is ignored with exactly one
``LifecycleDataWarning``; a wrong type is refused at once with an error that names the argument,
never accepted and failing later (or losing records quietly).

(The model-id parser and the policy loaders are fuzzed in tests/unit/test_ids.py and
tests/unit/test_policy.py.)
"""

from __future__ import annotations

import json
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import bedrock_lifecycle as bl
from bedrock_lifecycle._cache_file import CACHE_FORMAT, CACHE_KIND, read_cache
from bedrock_lifecycle._overrides import load_overrides
from bedrock_lifecycle.testing import FakeBedrock

FUZZ = settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)

scalars = (
    st.none()
    | st.booleans()
    | st.integers(-(10**6), 10**6)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=12)
)
json_values = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4)
    ),
    max_leaves=20,
)
RATE_NAMES = st.sampled_from(
    [
        "input_per_1k",
        "output_per_1k",
        "input_per_1m",
        "output_per_1m",
        "extended_input_per_1k",
        "currency",
        "regions",
        "cache_read_per_1k",
        "bogus",
    ]
)
price_entries = st.dictionaries(RATE_NAMES, json_values | st.floats(0, 100), max_size=5)
price_books = st.fixed_dictionaries(
    {},
    optional={
        "format": st.sampled_from([1, 2, "1", None]),
        "prices": st.dictionaries(
            st.text(max_size=30) | st.sampled_from(["anthropic.claude-v2:1", ""]),
            price_entries | json_values,
            max_size=4,
        )
        | json_values,
        "extra": json_values,
    },
)
OVERRIDE_FIELDS = st.sampled_from(
    ["legacy_at", "extended_access_at", "eol_at", "status", "recommended", "name", "regions", "x"]
)
override_values = (
    json_values
    | st.sampled_from(["2026-01-01", "2026-13-45", "LEGACY", "active", "2026-01-01T00:00:00Z"])
    | st.dates().map(str)
)
override_entries = st.dictionaries(
    OVERRIDE_FIELDS,
    override_values
    | st.dictionaries(
        st.text(max_size=12),
        st.dictionaries(OVERRIDE_FIELDS, override_values, max_size=3),
        max_size=2,
    ),
    max_size=5,
)
override_maps = st.dictionaries(
    st.text(max_size=30), override_entries | json_values, max_size=4
) | st.fixed_dictionaries(
    {"models": st.dictionaries(st.text(max_size=20), override_entries, max_size=3)}
)


@pytest.fixture(autouse=True)
def _isolated(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("BEDROCK_LIFECYCLE_CACHE_DIR", str(tmp_path / "default-cache"))
    monkeypatch.delenv("BEDROCK_LIFECYCLE_TTL", raising=False)


def _names(exc: Exception, what: str) -> None:
    """The error says where the bad input came from."""
    if what not in str(exc):
        raise AssertionError(f"{what!r} not named in {exc}") from exc


# -- loaders under fuzzing ------------------------------------------------------------------------


@FUZZ
@given(price_books | json_values)
def test_price_book_data_parses_or_raises_configuration_error(data: Any) -> None:
    try:
        book = bl.PriceBook.from_data(data, source="fuzz.json")
    except bl.ConfigurationError as exc:
        _names(exc, "fuzz.json")
        return
    for _key, price in book.items():
        assert isinstance(price, bl.Price)
    book.price_for("anthropic.claude-v2:1", "us-east-1")  # lookups on what parsed never fail


@FUZZ
@given(st.binary(max_size=300) | price_books.map(lambda d: json.dumps(d).encode()))
def test_price_book_files_parse_or_name_the_file(tmp_path: Path, raw: bytes) -> None:
    for suffix in (".json", ".toml"):
        path = tmp_path / f"prices{suffix}"
        path.write_bytes(raw)
        try:
            bl.PriceBook.from_file(path)
        except bl.ConfigurationError as exc:
            _names(exc, str(path))


@FUZZ
@given(override_maps | json_values)
def test_overrides_parse_or_raise_configuration_error(data: Any) -> None:
    try:
        parsed = load_overrides(data)
    except bl.ConfigurationError:
        return
    for (model_id, _region), entry in parsed.items():
        assert isinstance(model_id, str)
        assert entry.source is bl.Source.OVERRIDE


@FUZZ
@given(st.binary(max_size=300) | override_maps.map(lambda d: json.dumps(d).encode()))
def test_override_files_parse_or_name_the_file(tmp_path: Path, raw: bytes) -> None:
    for suffix in (".json", ".toml"):
        path = tmp_path / f"overrides{suffix}"
        path.write_bytes(raw)
        try:
            load_overrides(path)
        except bl.ConfigurationError as exc:
            _names(exc, str(path))


def _cache_like() -> st.SearchStrategy[bytes]:
    """Random bytes, random JSON, and JSON that looks like a cache file with damaged parts."""
    region = st.fixed_dictionaries(
        {"fetched_at": st.sampled_from(["2026-01-01T00:00:00+00:00", "yesterday", 5, None])},
        optional={
            "models": st.dictionaries(st.text(max_size=20), json_values, max_size=3) | json_values
        },
    )
    shaped = st.fixed_dictionaries(
        {"kind": st.just(CACHE_KIND), "format": st.sampled_from([CACHE_FORMAT, CACHE_FORMAT + 1])},
        optional={
            "regions": st.dictionaries(st.text(max_size=12), region | json_values, max_size=2),
            "observed": st.dictionaries(st.text(max_size=20), json_values, max_size=2),
            "resolved": json_values,
            "last_used": st.dictionaries(st.text(max_size=20), json_values, max_size=2),
        },
    )
    return (
        st.binary(max_size=400)
        | json_values.map(lambda v: json.dumps(v).encode())
        | shaped.map(lambda v: json.dumps(v).encode())
    )


@FUZZ
@given(_cache_like())
def test_corrupted_cache_file_is_ignored_with_one_warning(tmp_path: Path, raw: bytes) -> None:
    path = tmp_path / "cache.json"
    path.write_bytes(raw)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        data = read_cache(path)
    ours = [w for w in caught if issubclass(w.category, bl.LifecycleDataWarning)]
    assert len(caught) == len(ours)
    if data is None:
        assert len(ours) == 1
        assert str(path) in str(ours[0].message)
    else:
        assert ours == []


def test_catalog_on_a_garbage_cache_file_warns_once_and_still_answers(tmp_path: Path) -> None:
    path = tmp_path / "cache.json"
    path.write_bytes(bytes(range(256)) * 4)
    catalog = bl.Catalog(cache_path=path, offline=True, region_name="us-east-1")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        first = catalog.lookup("anthropic.claude-3-5-sonnet-20240620-v1:0")
        second = catalog.lookup("amazon.titan-text-express-v1", "us-west-2")
    assert [w.category for w in caught] == [bl.LifecycleDataWarning]
    assert "ignoring lifecycle cache file" in str(caught[0].message)
    assert first.known  # bundled data answered
    assert second.known
    assert first.source is bl.Source.BUNDLED


# -- wrong types ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def runtime() -> Iterator[Any]:
    with FakeBedrock() as fake:
        yield fake.client("bedrock-runtime")


def _offline() -> bl.Catalog:
    return bl.Catalog(offline=True, persist=False)


WRONG: dict[str, tuple[Callable[[Any], object], type[Exception], str]] = {
    "wrap(None)": (lambda rt: bl.wrap(None), TypeError, "bedrock-runtime"),
    "wrap(str)": (lambda rt: bl.wrap("bedrock-runtime"), TypeError, "bedrock-runtime"),
    "wrap(control-plane client)": (
        lambda rt: bl.wrap(FakeBedrock().client("bedrock")),
        TypeError,
        "'bedrock'",
    ),
    "wrap(policy=str)": (
        lambda rt: bl.wrap(rt, catalog=_offline(), policy="strict"),
        TypeError,
        "policy",
    ),
    "wrap(catalog=str)": (lambda rt: bl.wrap(rt, catalog="catalog.json"), TypeError, "catalog"),
    "wrap(ledger=path)": (
        lambda rt: bl.wrap(rt, catalog=_offline(), ledger="usage.jsonl"),
        TypeError,
        "ledger",
    ),
    "wrap(ledger=int)": (lambda rt: bl.wrap(rt, catalog=_offline(), ledger=3), TypeError, "ledger"),
    "wrap(prices=int)": (
        lambda rt: bl.wrap(rt, catalog=_offline(), prices=3),
        bl.ConfigurationError,
        "prices",
    ),
    "wrap(prices={1: 2})": (
        lambda rt: bl.wrap(rt, catalog=_offline(), prices={1: 2}),
        bl.ConfigurationError,
        "price book keys",
    ),
    "Catalog(ttl='x')": (lambda rt: bl.Catalog(ttl="x"), bl.ConfigurationError, "ttl"),
    "Catalog(ttl=-1)": (lambda rt: bl.Catalog(ttl=-1), bl.ConfigurationError, "ttl"),
    "Catalog(max_wait='x')": (
        lambda rt: bl.Catalog(max_wait="x"),
        bl.ConfigurationError,
        "max_wait",
    ),
    "Catalog(overrides=3)": (
        lambda rt: bl.Catalog(overrides=3),
        bl.ConfigurationError,
        "overrides",
    ),
    "Policy(on_eol=3)": (lambda rt: bl.Policy(on_eol=3), bl.ConfigurationError, "on_eol"),
    "Policy(on_eol='warn')": (lambda rt: bl.Policy(on_eol="warn"), bl.ConfigurationError, "on_eol"),
    "Policy(successors=[1])": (
        lambda rt: bl.Policy(successors=[1]),
        bl.ConfigurationError,
        "successors",
    ),
    "Policy(warn_once='yes')": (
        lambda rt: bl.Policy(warn_once="yes"),
        bl.ConfigurationError,
        "warn_once",
    ),
    "PriceBook({1: 2})": (
        lambda rt: bl.PriceBook({1: 2}),
        bl.ConfigurationError,
        "price book keys",
    ),
    "PriceBook([1])": (lambda rt: bl.PriceBook([1]), bl.ConfigurationError, "prices"),
    "PriceBook({'m': 3})": (lambda rt: bl.PriceBook({"m": 3}), bl.ConfigurationError, "'m'"),
    "MultiLedger([a, b])": (
        lambda rt: bl.MultiLedger([bl.MemoryLedger(), bl.MemoryLedger()]),
        TypeError,
        "separate arguments",
    ),
    "JsonlLedger(3)": (lambda rt: bl.JsonlLedger(3), TypeError, "int"),
    "SqliteLedger(None)": (lambda rt: bl.SqliteLedger(None), TypeError, "NoneType"),
    "lookup(3)": (lambda rt: _offline().lookup(3), TypeError, "model_id"),
}


@pytest.mark.parametrize("case", sorted(WRONG))
def test_wrong_types_are_refused_at_once_with_a_clear_error(runtime: Any, case: str) -> None:
    make, error, named = WRONG[case]
    with pytest.raises(error) as info:
        make(runtime)
    assert named in str(info.value)


def test_ledger_under_missing_folders_creates_them_and_loses_nothing(
    runtime: Any, tmp_path: Path
) -> None:
    jsonl = bl.JsonlLedger(tmp_path / "new" / "deeper" / "usage.jsonl")
    sqlite = bl.SqliteLedger(tmp_path / "other" / "usage.db")
    client = bl.wrap(runtime, catalog=_offline(), ledger=bl.MultiLedger(jsonl, sqlite))
    for _ in range(3):
        client.converse(
            modelId="amazon.nova-pro-v1:0", messages=[{"role": "user", "content": [{"text": "hi"}]}]
        )
    for sink in (jsonl, sqlite):
        sink.flush()
        assert len(sink.records()) == 3
        assert sink.errors == 0
        sink.close()
    for folder in (tmp_path / "new", tmp_path / "new" / "deeper", tmp_path / "other"):
        assert folder.stat().st_mode & 0o777 == 0o700


def test_a_call_with_a_wrong_model_id_type_fails_like_boto3(runtime: Any) -> None:
    client = bl.wrap(runtime, catalog=_offline())
    with pytest.raises(Exception) as governed:
        client.converse(modelId=3, messages=[])
    with pytest.raises(Exception) as raw:
        runtime.converse(modelId=3, messages=[])
    assert type(governed.value) is type(raw.value)
