"""Reading the user's own configuration files (TOML or JSON) into plain mappings.

The policy, the lifecycle overrides and the price book all start from a file the user wrote.
This module turns such a file into a ``dict`` and nothing more: it knows no setting names. Every
failure (a missing file, bytes that are not UTF-8, a syntax error, a top level that is not a
table) becomes a :class:`~bedrock_lifecycle.ConfigurationError` whose message names the file and
the reason, and whose ``source`` is the path, so callers never catch ``OSError`` or a parser's
own exceptions.

TOML needs :mod:`tomllib` (Python 3.11+) or the ``tomli`` package on Python 3.10, which the
``bedrock-lifecycle[toml]`` extra installs.
"""

from __future__ import annotations

import json
import logging
import os
import sys
from pathlib import Path
from typing import Any

from ._errors import ConfigurationError

__all__ = [
    "PYPROJECT_SECTION",
    "load_mapping_file",
    "load_pyproject_section",
    "locate_pyproject_section",
    "parse_mapping_bytes",
]

logger = logging.getLogger(__name__)

PYPROJECT_SECTION = "bedrock-lifecycle"
"""The table under ``[tool]`` in ``pyproject.toml`` that holds this library's settings."""

_FORMATS = {".json": "JSON", ".toml": "TOML"}


def load_mapping_file(path: str | os.PathLike[str], *, what: str) -> dict[str, Any]:
    """Read a ``.toml`` or ``.json`` file whose top level is a table (an object).

    ``what`` describes the file in error messages (``"policy file"``, ``"price book"``, ...).
    Raises :class:`ConfigurationError` (``source`` set to the path) on any failure.
    """
    file = Path(path)
    source = str(path)
    kind = _FORMATS.get(file.suffix.lower())
    if kind is None:
        shown = file.suffix or "no extension"
        raise ConfigurationError(
            f"cannot read {what}: unsupported file type ({shown}); use a .toml or .json file",
            source=source,
        )
    text = _read_text(file, what=what, source=source)
    data = _parse_table(text, kind, what=what, source=source)
    logger.debug("bedrock_lifecycle.file_read: %s", what, extra={"bedrock_lifecycle.file": source})
    return data


def parse_mapping_bytes(raw: bytes, *, name: str, what: str, source: str) -> dict[str, Any]:
    """Parse bytes read from somewhere other than a local file (an S3 object) into a table.

    The format is chosen by ``name``'s suffix (``.toml`` or ``.json``); with any other suffix it
    is sniffed: a document whose first character is ``{`` is JSON, anything else TOML. Every
    failure is a :class:`ConfigurationError` naming ``source``, as for :func:`load_mapping_file`.
    """
    text = _decode(raw, what=what, source=source)
    kind = _FORMATS.get(Path(name).suffix.lower())
    if kind is None:
        kind = "JSON" if text.lstrip().startswith("{") else "TOML"
    return _parse_table(text, kind, what=what, source=source)


def _parse_table(text: str, kind: str, *, what: str, source: str) -> dict[str, Any]:
    """``text`` parsed as ``kind`` (TOML or JSON), whose top level must be a table."""
    data = (
        _parse_toml(text, what=what, source=source)
        if kind == "TOML"
        else _parse_json(text, what=what, source=source)
    )
    if not isinstance(data, dict):
        raise ConfigurationError(
            f"cannot read {what}: the top level must be a {_table_word(kind)}, "
            f"not {_json_type_name(data)}",
            source=source,
        )
    return data


def load_pyproject_section(
    path: str | os.PathLike[str] | None = None,
) -> dict[str, Any] | None:
    """The ``[tool.bedrock-lifecycle]`` table of a ``pyproject.toml``, or ``None`` when absent.

    With ``path=None`` the nearest ``pyproject.toml`` is used, searching from the current directory
    upwards; ``None`` is returned when there is none or when it has no such section. ``path`` may
    name the file or the directory holding it; an explicit path that does not exist is an error.
    """
    return locate_pyproject_section(path)[0]


def locate_pyproject_section(
    path: str | os.PathLike[str] | None = None,
) -> tuple[dict[str, Any] | None, Path | None]:
    """Like :func:`load_pyproject_section`, also returning the file read (``None`` if none)."""
    if path is None:
        found = _find_pyproject(Path.cwd())
        if found is None:
            return None, None
        file = found
    else:
        file = Path(path)
        if file.is_dir():
            file = file / "pyproject.toml"
    source = str(file)
    if path is None:
        # A quick look before parsing: a project that never mentions us needs no TOML parser
        # (Python 3.10 without tomli) and is not blamed for syntax errors of its own.
        text = _read_text(file, what="pyproject.toml", source=source)
        if PYPROJECT_SECTION not in text:
            return None, file
    data = load_mapping_file(file, what="pyproject.toml")
    tool = data.get("tool")
    if tool is None:
        return None, file
    if not isinstance(tool, dict):
        raise ConfigurationError(
            "cannot read pyproject.toml: 'tool' must be a table", key="tool", source=source
        )
    section = tool.get(PYPROJECT_SECTION)
    if section is None:
        return None, file
    if not isinstance(section, dict):
        raise ConfigurationError(
            f"cannot read pyproject.toml: [tool.{PYPROJECT_SECTION}] must be a table, "
            f"not {_json_type_name(section)}",
            key=f"tool.{PYPROJECT_SECTION}",
            source=source,
        )
    return section, file


def _find_pyproject(start: Path) -> Path | None:
    for directory in (start, *start.parents):
        candidate = directory / "pyproject.toml"
        if candidate.is_file():
            return candidate
    return None


def _read_text(file: Path, *, what: str, source: str) -> str:
    try:
        raw = file.read_bytes()
    except FileNotFoundError:
        reason = "file not found"
    except IsADirectoryError:
        reason = "it is a directory, not a file"
    except PermissionError:
        reason = "permission denied"
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
    else:
        return _decode(raw, what=what, source=source)
    raise ConfigurationError(f"cannot read {what}: {reason}", source=source)


def _decode(raw: bytes, *, what: str, source: str) -> str:
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        bad = raw[exc.start : exc.start + 1].hex()
        raise ConfigurationError(
            f"cannot read {what}: not UTF-8 text (byte 0x{bad} at offset {exc.start})",
            source=source,
        ) from None
    # Tolerate the byte-order mark some Windows editors write.
    return text.removeprefix("\ufeff")


def _parse_json(text: str, *, what: str, source: str) -> Any:
    try:
        return json.loads(
            text, object_pairs_hook=_reject_duplicate_keys, parse_constant=_reject_constant
        )
    except json.JSONDecodeError as exc:
        reason = f"invalid JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}"
    except (ValueError, RecursionError) as exc:
        reason = f"invalid JSON: {_short(exc)}"
    raise ConfigurationError(f"cannot read {what}: {reason}", source=source)


def _reject_duplicate_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise ValueError(f"duplicate key {key!r}")
        out[key] = value
    return out


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON value")


def _parse_toml(text: str, *, what: str, source: str) -> Any:
    if sys.version_info >= (3, 11):
        import tomllib as toml
    else:
        try:
            import tomli as toml
        except ImportError:
            raise ConfigurationError(
                f"cannot read {what}: reading TOML on Python 3.10 needs the 'tomli' package; "
                "install it with: pip install 'bedrock-lifecycle[toml]' (or use a .json file)",
                source=source,
            ) from None
    try:
        return toml.loads(text)
    except (ValueError, RecursionError) as exc:
        # tomllib's messages carry the position: "... (at line 3, column 7)".
        raise ConfigurationError(
            f"cannot read {what}: invalid TOML: {_short(exc)}", source=source
        ) from None


def _short(exc: BaseException) -> str:
    if isinstance(exc, RecursionError):
        return "nested too deeply"
    return str(exc) or type(exc).__name__


def _table_word(kind: str) -> str:
    return "table" if kind == "TOML" else "JSON object"


def _json_type_name(value: Any) -> str:
    names = {list: "a list", str: "a string", bool: "a boolean", int: "a number", float: "a number"}
    if value is None:
        return "null"
    for python_type, name in names.items():
        if isinstance(value, python_type):
            return name
    return f"a {type(value).__name__}"
