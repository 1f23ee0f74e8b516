"""Reading user configuration files: every failure names the file and the reason."""

from __future__ import annotations

import json
import sys
import types
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bedrock_lifecycle import ConfigurationError
from bedrock_lifecycle._config_files import (
    load_mapping_file,
    load_pyproject_section,
    locate_pyproject_section,
)


def write(path: Path, text: str | bytes) -> Path:
    if isinstance(text, str):
        path.write_text(text, encoding="utf-8")
    else:
        path.write_bytes(text)
    return path


# -- reading good files ------------------------------------------------------------------------


def test_reads_a_toml_table(tmp_path: Path) -> None:
    path = write(tmp_path / "conf.toml", 'name = "x"\n[nested]\n"a.b:c" = 3\n')
    assert load_mapping_file(path, what="test file") == {"name": "x", "nested": {"a.b:c": 3}}


def test_reads_a_json_object(tmp_path: Path) -> None:
    path = write(tmp_path / "conf.json", json.dumps({"name": "x", "n": [1, 2]}))
    assert load_mapping_file(str(path), what="test file") == {"name": "x", "n": [1, 2]}


def test_extension_is_case_insensitive(tmp_path: Path) -> None:
    path = write(tmp_path / "CONF.TOML", "a = 1\n")
    assert load_mapping_file(path, what="test file") == {"a": 1}


def test_a_byte_order_mark_is_tolerated(tmp_path: Path) -> None:
    path = write(tmp_path / "conf.json", b'\xef\xbb\xbf{"a": 1}')
    assert load_mapping_file(path, what="test file") == {"a": 1}


# -- failures ----------------------------------------------------------------------------------


def read_error(path: Path, what: str = "test file") -> ConfigurationError:
    with pytest.raises(ConfigurationError) as info:
        load_mapping_file(path, what=what)
    err = info.value
    assert err.source == str(path)
    assert str(path) in str(err)
    assert what in str(err)
    return err


def test_missing_file(tmp_path: Path) -> None:
    err = read_error(tmp_path / "nope.toml")
    assert "file not found" in str(err)


def test_directory_instead_of_file(tmp_path: Path) -> None:
    (tmp_path / "dir.json").mkdir()
    err = read_error(tmp_path / "dir.json")
    assert "directory" in str(err)


def test_other_os_errors_give_their_reason(tmp_path: Path) -> None:
    blocker = write(tmp_path / "plain-file", "x")
    err = read_error(blocker / "conf.toml")
    assert "cannot read test file: Not a directory" in str(err)


@pytest.mark.parametrize("name", ["conf.yaml", "conf.ini", "conf"])
def test_unsupported_extension(tmp_path: Path, name: str) -> None:
    err = read_error(write(tmp_path / name, "a: 1\n"))
    assert "unsupported file type" in str(err)
    assert ".toml or .json" in str(err)


def test_not_utf8(tmp_path: Path) -> None:
    err = read_error(write(tmp_path / "conf.toml", b'name = "caf\xe9"\n'))
    assert "not UTF-8" in str(err)
    assert "0xe9" in str(err)
    assert "offset 11" in str(err)


def test_toml_syntax_error_gives_line_and_column(tmp_path: Path) -> None:
    err = read_error(write(tmp_path / "conf.toml", 'a = 1\nb = "unterminated\n'))
    assert "invalid TOML" in str(err)
    assert "line 2" in str(err)
    assert "column" in str(err)


def test_toml_duplicate_key(tmp_path: Path) -> None:
    err = read_error(write(tmp_path / "conf.toml", "a = 1\na = 2\n"))
    assert "invalid TOML" in str(err)


def test_json_syntax_error_gives_line_and_column(tmp_path: Path) -> None:
    err = read_error(write(tmp_path / "conf.json", '{\n  "a": 1,\n  "b": }\n'))
    assert "invalid JSON at line 3, column 8" in str(err)


def test_json_duplicate_key_is_rejected(tmp_path: Path) -> None:
    err = read_error(write(tmp_path / "conf.json", '{"a": 1, "a": 2}'))
    assert "duplicate key 'a'" in str(err)


def test_json_nan_is_rejected(tmp_path: Path) -> None:
    err = read_error(write(tmp_path / "conf.json", '{"a": NaN}'))
    assert "NaN is not a JSON value" in str(err)


def test_deeply_nested_json_is_an_error_not_a_crash(tmp_path: Path) -> None:
    # Deeper than any interpreter's parser allows (3.13's C limit is far above the Python one).
    depth = 200_000
    err = read_error(write(tmp_path / "conf.json", '{"a": ' + "[" * depth + "]" * depth + "}"))
    assert "invalid JSON" in str(err)


@pytest.mark.parametrize(
    ("text", "shown"),
    [("[1, 2]", "a list"), ('"x"', "a string"), ("3", "a number"), ("null", "null")],
)
def test_json_top_level_must_be_an_object(tmp_path: Path, text: str, shown: str) -> None:
    err = read_error(write(tmp_path / "conf.json", text))
    assert f"top level must be a JSON object, not {shown}" in str(err)


def test_what_appears_in_the_message(tmp_path: Path) -> None:
    err = read_error(tmp_path / "prices.json", what="price book")
    assert "cannot read price book" in str(err)


# -- Python 3.10: TOML through tomli -------------------------------------------------------------


def pretend_python_310(monkeypatch: pytest.MonkeyPatch, tomli: object) -> None:
    monkeypatch.setattr(sys, "version_info", (3, 10, 14, "final", 0))
    monkeypatch.setitem(sys.modules, "tomli", tomli)


def test_toml_without_tomli_on_310_says_what_to_install(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = write(tmp_path / "conf.toml", "a = 1\n")
    pretend_python_310(monkeypatch, None)  # None in sys.modules makes the import fail
    err = read_error(path)
    assert "pip install 'bedrock-lifecycle[toml]'" in str(err)
    # JSON needs nothing extra.
    assert load_mapping_file(write(tmp_path / "conf.json", '{"a": 1}'), what="x") == {"a": 1}


def test_toml_with_tomli_on_310(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[str] = []

    def loads(text: str) -> dict[str, object]:
        calls.append(text)
        return {"parsed_by": "tomli"}

    pretend_python_310(monkeypatch, types.SimpleNamespace(loads=loads))
    path = write(tmp_path / "conf.toml", "a = 1\n")
    assert load_mapping_file(path, what="test file") == {"parsed_by": "tomli"}
    assert calls == ["a = 1\n"]


# -- pyproject.toml ----------------------------------------------------------------------------


def test_pyproject_section_from_explicit_file(tmp_path: Path) -> None:
    path = write(
        tmp_path / "pyproject.toml",
        '[project]\nname = "x"\n\n[tool.bedrock-lifecycle]\non_eol = "error"\n',
    )
    assert load_pyproject_section(path) == {"on_eol": "error"}


def test_pyproject_section_from_directory(tmp_path: Path) -> None:
    write(tmp_path / "pyproject.toml", "[tool.bedrock-lifecycle]\nwarn_once = false\n")
    assert load_pyproject_section(tmp_path) == {"warn_once": False}


def test_pyproject_without_the_section(tmp_path: Path) -> None:
    path = write(
        tmp_path / "pyproject.toml", "[tool.ruff]\nline-length = 100\n[tool.other]\nx = 1\n"
    )
    assert load_pyproject_section(path) is None
    assert load_pyproject_section(write(tmp_path / "p2.toml", 'x = "y"\n')) is None


def test_pyproject_is_found_upwards_from_cwd(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write(tmp_path / "pyproject.toml", "[tool.bedrock-lifecycle]\nidle_warning_days = 3\n")
    deep = tmp_path / "src" / "pkg"
    deep.mkdir(parents=True)
    monkeypatch.chdir(deep)
    section, file = locate_pyproject_section()
    assert section == {"idle_warning_days": 3}
    assert file == tmp_path / "pyproject.toml"
    assert load_pyproject_section() == {"idle_warning_days": 3}


def test_nearest_pyproject_wins(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write(tmp_path / "pyproject.toml", "[tool.bedrock-lifecycle]\nidle_warning_days = 3\n")
    inner = tmp_path / "inner"
    inner.mkdir()
    write(inner / "pyproject.toml", '[project]\nname = "inner"\n')
    monkeypatch.chdir(inner)
    assert load_pyproject_section() is None


def test_an_unrelated_broken_pyproject_is_not_our_business(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write(tmp_path / "pyproject.toml", "[project\nthis is not toml\n")
    monkeypatch.chdir(tmp_path)
    assert load_pyproject_section() is None


def test_a_broken_pyproject_mentioning_us_is_reported(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = write(tmp_path / "pyproject.toml", "[tool.bedrock-lifecycle]\non_eol = \n")
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ConfigurationError) as info:
        load_pyproject_section()
    assert info.value.source == str(path)
    assert "invalid TOML" in str(info.value)


def test_explicit_missing_pyproject_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="file not found"):
        load_pyproject_section(tmp_path / "pyproject.toml")


def test_section_that_is_not_a_table(tmp_path: Path) -> None:
    path = write(tmp_path / "pyproject.toml", '[tool]\nbedrock-lifecycle = "yes"\n')
    with pytest.raises(ConfigurationError) as info:
        load_pyproject_section(path)
    assert "[tool.bedrock-lifecycle] must be a table, not a string" in str(info.value)
    assert info.value.source == str(path)


def test_tool_that_is_not_a_table(tmp_path: Path) -> None:
    path = write(tmp_path / "pyproject.toml", 'tool = "bedrock-lifecycle"\n')
    with pytest.raises(ConfigurationError, match="'tool' must be a table"):
        load_pyproject_section(path)


# -- fuzzing -----------------------------------------------------------------------------------


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    data=st.one_of(
        st.binary(max_size=200),
        st.text(max_size=200).map(lambda text: text.encode("utf-8")),
        st.lists(
            st.sampled_from(["{", "}", "[", "]", '"', "=", ":", ",", "a", "1", "\n", ".", " "]),
            max_size=60,
        ).map(lambda parts: "".join(parts).encode()),
    ),
    suffix=st.sampled_from([".json", ".toml"]),
)
def test_arbitrary_bytes_give_a_mapping_or_a_configuration_error(
    tmp_path: Path, data: bytes, suffix: str
) -> None:
    path = write(tmp_path / f"fuzz{suffix}", data)
    outcome: object
    try:
        outcome = load_mapping_file(path, what="fuzzed file")
    except ConfigurationError as err:
        outcome = err
    if isinstance(outcome, ConfigurationError):
        assert outcome.source == str(path)
        assert str(path) in str(outcome)
    else:
        assert isinstance(outcome, dict)
