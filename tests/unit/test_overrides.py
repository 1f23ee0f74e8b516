"""User overrides of lifecycle data: mappings, JSON and TOML files, and their errors."""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from bedrock_lifecycle import ConfigurationError, ModelLifecycle, Source, State
from bedrock_lifecycle._overrides import load_overrides

UTC = timezone.utc
HAIKU = "anthropic.claude-3-haiku-20240307-v1:0"
HAIKU_45 = "anthropic.claude-haiku-4-5-20251001-v1:0"


def at(year: int, month: int, day: int) -> datetime:
    return datetime(year, month, day, tzinfo=UTC)


TOML_TEXT = f"""
[models."{HAIKU}"]
legacy_at = 2026-01-01
extended_access_at = "2026-04-01"
eol_at = 2026-07-01T12:00:00+02:00
recommended = ["{HAIKU_45}"]

[models."{HAIKU}".regions.eu-west-1]
eol_at = "2026-09-01"

[models."meta.llama3-8b-instruct-v1:0"]
status = "legacy"
name = "Llama 3 8B"
"""


def test_none_is_empty() -> None:
    assert load_overrides(None) == {}


def test_mapping_with_and_without_models_wrapper() -> None:
    values = {HAIKU: {"eol_at": "2026-07-01"}}
    assert load_overrides(values) == load_overrides({"models": values})
    entry = load_overrides(values)[(HAIKU, None)]
    assert entry.source is Source.OVERRIDE
    assert entry.eol_at == at(2026, 7, 1)
    assert entry.region is None


def test_model_wide_and_per_region_values() -> None:
    overrides = load_overrides(
        {
            HAIKU: {
                "legacy_at": date(2026, 1, 1),
                "eol_at": "2026-07-01",
                "recommended": HAIKU_45,
                "regions": {
                    "eu-west-1": {"eol_at": "2026-09-01"},
                    "ap-south-1": {"recommended": []},
                },
            }
        }
    )
    assert set(overrides) == {(HAIKU, None), (HAIKU, "eu-west-1"), (HAIKU, "ap-south-1")}
    shared = overrides[(HAIKU, None)]
    assert shared.eol_at == at(2026, 7, 1)
    assert shared.recommended == (HAIKU_45,)
    regional = overrides[(HAIKU, "eu-west-1")]
    assert regional.region == "eu-west-1"
    assert regional.eol_at == at(2026, 9, 1)
    # Model-wide values the region does not set still apply there.
    assert regional.legacy_at == at(2026, 1, 1)
    assert regional.recommended == (HAIKU_45,)
    assert overrides[(HAIKU, "ap-south-1")].eol_at == at(2026, 7, 1)


def test_mapping_accepts_lifecycle_objects() -> None:
    entry = ModelLifecycle(HAIKU, "us-east-1", eol_at=at(2026, 7, 1), source=Source.OVERRIDE)
    assert load_overrides({HAIKU: entry}) == {(HAIKU, "us-east-1"): entry}


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("2026-07-01", at(2026, 7, 1)),
        ("2026-07-01T00:00:00Z", at(2026, 7, 1)),
        ("2026-07-01T02:00:00+02:00", at(2026, 7, 1)),
        ("2026-07-01T06:30:00", datetime(2026, 7, 1, 6, 30, tzinfo=UTC)),
        (date(2026, 7, 1), at(2026, 7, 1)),
        (datetime(2026, 7, 1), at(2026, 7, 1)),
        (datetime(2026, 7, 1, 9, tzinfo=timezone(timedelta(hours=9))), at(2026, 7, 1)),
    ],
)
def test_date_forms(raw: Any, expected: datetime) -> None:
    entry = load_overrides({HAIKU: {"eol_at": raw}})[(HAIKU, None)]
    assert entry.eol_at == expected
    assert entry.eol_at is not None
    assert entry.eol_at.utcoffset() == timedelta(0)


def test_status_only_override_makes_model_legacy() -> None:
    entry = load_overrides({HAIKU: {"status": "legacy"}})[(HAIKU, None)]
    assert entry.status == "LEGACY"
    assert entry.state(at(2020, 1, 1)) is State.LEGACY


def test_toml_file(tmp_path: Path) -> None:
    path = tmp_path / "lifecycle.toml"
    path.write_text(TOML_TEXT, "utf-8")
    overrides = load_overrides(path)
    shared = overrides[(HAIKU, None)]
    assert shared.legacy_at == at(2026, 1, 1)  # TOML native date
    assert shared.extended_access_at == at(2026, 4, 1)
    assert shared.eol_at == datetime(2026, 7, 1, 10, tzinfo=UTC)  # TOML offset datetime
    assert shared.recommended == (HAIKU_45,)
    assert overrides[(HAIKU, "eu-west-1")].eol_at == at(2026, 9, 1)
    assert overrides[(HAIKU, "eu-west-1")].legacy_at == at(2026, 1, 1)
    llama = overrides[("meta.llama3-8b-instruct-v1:0", None)]
    assert llama.status == "LEGACY"
    assert llama.name == "Llama 3 8B"
    # A str path works as well as a Path.
    assert load_overrides(str(path)) == overrides


def test_toml_local_datetime_is_utc(tmp_path: Path) -> None:
    path = tmp_path / "o.toml"
    path.write_text(f'[models."{HAIKU}"]\neol_at = 2026-07-01T06:00:00\n', "utf-8")
    assert load_overrides(path)[(HAIKU, None)].eol_at == datetime(2026, 7, 1, 6, tzinfo=UTC)


def test_json_file_matches_mapping(tmp_path: Path) -> None:
    values = {
        "models": {
            HAIKU: {
                "eol_at": "2026-07-01",
                "regions": {"eu-west-1": {"eol_at": "2026-09-01"}},
            }
        }
    }
    path = tmp_path / "lifecycle.json"
    path.write_text(json.dumps(values), "utf-8")
    assert load_overrides(path) == load_overrides(values)
    assert load_overrides(path)[(HAIKU, "eu-west-1")].eol_at == at(2026, 9, 1)


BAD_SETTINGS = [
    ({HAIKU: {"eol": "2026-07-01"}}, f"{HAIKU}.eol", "unknown setting"),
    ({HAIKU: {"eol_at": "next spring"}}, f"{HAIKU}.eol_at", "not a date"),
    ({HAIKU: {"eol_at": "2026-13-01"}}, f"{HAIKU}.eol_at", "not a date"),
    ({HAIKU: {"legacy_at": 20260101}}, f"{HAIKU}.legacy_at", "expected a date"),
    ({HAIKU: {"legacy_at": True}}, f"{HAIKU}.legacy_at", "expected a date"),
    ({HAIKU: {"recommended": [1, 2]}}, f"{HAIKU}.recommended", "list of model ids"),
    ({HAIKU: {"recommended": {"a": 1}}}, f"{HAIKU}.recommended", "list of model ids"),
    ({HAIKU: {"status": "EOL"}}, f"{HAIKU}.status", "'ACTIVE' or 'LEGACY'"),
    ({HAIKU: {"status": 3}}, f"{HAIKU}.status", "'ACTIVE' or 'LEGACY'"),
    ({HAIKU: {"regions": ["eu-west-1"]}}, f"{HAIKU}.regions", "table of region names"),
    (
        {HAIKU: {"regions": {"eu-west-1": "2026-09-01"}}},
        f"{HAIKU}.regions.eu-west-1",
        "table of settings",
    ),
    (
        {HAIKU: {"regions": {"eu-west-1": {"eol_at": "soon"}}}},
        f"{HAIKU}.regions.eu-west-1.eol_at",
        "not a date",
    ),
    (
        {HAIKU: {"regions": {"eu-west-1": {"colour": "red"}}}},
        f"{HAIKU}.regions.eu-west-1.colour",
        "unknown setting",
    ),
    ({HAIKU: "2026-07-01"}, HAIKU, "table of settings"),
    ({"models": [HAIKU]}, "models", "table of model ids"),
    ({"models": {}, "defaults": {}}, "defaults", "unknown top-level key"),
]


@pytest.mark.parametrize(("values", "key", "reason"), BAD_SETTINGS)
def test_errors_name_the_key(values: dict[str, Any], key: str, reason: str) -> None:
    with pytest.raises(ConfigurationError, match=reason) as info:
        load_overrides(values)
    assert info.value.key == key
    assert repr(key) in str(info.value)


@pytest.mark.parametrize(("values", "key", "reason"), BAD_SETTINGS)
def test_errors_name_the_key_and_the_json_file(
    tmp_path: Path, values: dict[str, Any], key: str, reason: str
) -> None:
    path = tmp_path / "overrides.json"
    serialisable = json.loads(json.dumps(values, default=str))
    path.write_text(json.dumps(serialisable), "utf-8")
    with pytest.raises(ConfigurationError, match=reason) as info:
        load_overrides(path)
    assert info.value.source == str(path)
    assert str(path) in str(info.value)
    assert info.value.key == key


@pytest.mark.parametrize(
    ("text", "key", "reason"),
    [
        (f'[models."{HAIKU}"]\neol_at = 12:00:00\n', f"{HAIKU}.eol_at", "expected a date"),
        (f'[models."{HAIKU}"]\nrecommended = [1]\n', f"{HAIKU}.recommended", "model ids"),
        (f'[models."{HAIKU}"]\nsunset = 2026-01-01\n', f"{HAIKU}.sunset", "unknown setting"),
        (
            f'[models."{HAIKU}".regions.eu-west-1]\nstatus = "RETIRED"\n',
            f"{HAIKU}.regions.eu-west-1.status",
            "'ACTIVE' or 'LEGACY'",
        ),
    ],
)
def test_toml_errors_name_the_key_and_the_file(
    tmp_path: Path, text: str, key: str, reason: str
) -> None:
    path = tmp_path / "overrides.toml"
    path.write_text(text, "utf-8")
    with pytest.raises(ConfigurationError, match=reason) as info:
        load_overrides(path)
    assert info.value.key == key
    assert info.value.source == str(path)
    assert str(path) in str(info.value)


@pytest.mark.parametrize(
    ("name", "content", "reason"),
    [
        ("o.toml", f'[models."{HAIKU}"\neol_at = 1', "invalid TOML"),
        ("o.json", '{"models": {', "invalid JSON"),
        ("o.json", "[1, 2]", "top level must be a JSON object"),
        ("o.yaml", "models: {}", "unsupported file type"),
        ("o.json", b"\xff\xfe{}", "not UTF-8"),
    ],
)
def test_unreadable_files_name_the_file(
    tmp_path: Path, name: str, content: str | bytes, reason: str
) -> None:
    path = tmp_path / name
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, "utf-8")
    with pytest.raises(ConfigurationError, match=reason) as info:
        load_overrides(path)
    assert info.value.source == str(path)
    assert str(path) in str(info.value)


def test_missing_file_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / "nowhere.toml"
    with pytest.raises(ConfigurationError, match="file not found") as info:
        load_overrides(path)
    assert str(path) in str(info.value)


def test_wrong_type_is_a_configuration_error() -> None:
    with pytest.raises(ConfigurationError, match="mapping or a file path") as info:
        load_overrides(42)  # type: ignore[arg-type]
    assert info.value.key == "overrides"


def test_empty_model_id_is_rejected() -> None:
    with pytest.raises(ConfigurationError, match="non-empty"):
        load_overrides({" ": {"eol_at": "2026-01-01"}})


def test_profile_and_arn_keys_override_the_base_model() -> None:
    from bedrock_lifecycle._overrides import load_overrides

    base = "anthropic.claude-3-5-sonnet-20240620-v1:0"
    found = load_overrides({f"us.{base}": {"eol_at": "2026-03-01"}})
    assert found[(base, None)].eol_at is not None
    arn = f"arn:aws:bedrock:eu-west-1::foundation-model/{base}"
    found = load_overrides({arn: {"regions": {"eu-west-1": {"eol_at": "2026-05-01"}}}})
    assert found[(base, "eu-west-1")].eol_at is not None
    assert found[(base, "eu-west-1")].eol_at.month == 5


def test_two_keys_for_one_model_are_refused() -> None:
    from bedrock_lifecycle._overrides import load_overrides

    base = "anthropic.claude-3-5-sonnet-20240620-v1:0"
    with pytest.raises(ConfigurationError, match="same model") as raised:
        load_overrides({base: {"eol_at": "2026-03-01"}, f"us.{base}": {"eol_at": "2026-04-01"}})
    assert raised.value.key == f"us.{base}"
