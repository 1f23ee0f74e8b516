"""The package's public face: exports, typing marker, and the library/test-kit boundary."""

from __future__ import annotations

import ast
import pathlib

import bedrock_lifecycle as bl

SRC = pathlib.Path(bl.__file__).parent


def _isort_key(name: str) -> tuple[int, str]:
    # Constants, then classes, then functions (ruff's RUF022 order), each alphabetical.
    if name.isupper():
        return (0, name)
    return (1, name) if name[0].isupper() else (2, name)


def test_all_is_sorted_and_complete() -> None:
    names = list(bl.__all__)
    assert names == sorted(names, key=_isort_key)
    assert len(names) == len(set(names))
    for name in names:
        assert hasattr(bl, name), name


def test_public_contract_names_exist() -> None:
    for name in (
        "State",
        "ModelLifecycle",
        "Catalog",
        "Policy",
        "wrap",
        "client",
        "install",
        "uninstall",
        "LifecycleClient",
        "LifecycleWarning",
        "LegacyModelWarning",
        "ExtendedAccessWarning",
        "FallbackWarning",
        "ConfigurationError",
        "ModelEndOfLifeError",
        "NoSuccessorError",
        "IncompatibleSuccessorError",
        "UsageRecord",
        "PriceBook",
        "Price",
        "MemoryLedger",
        "JsonlLedger",
        "SqliteLedger",
        "EmfLedger",
    ):
        assert name in bl.__all__, name
    assert issubclass(bl.LifecycleWarning, UserWarning)
    assert issubclass(bl.ExtendedAccessWarning, bl.LegacyModelWarning)
    assert issubclass(bl.FallbackWarning, bl.LifecycleWarning)
    assert issubclass(bl.NoSuccessorError, bl.ModelEndOfLifeError)
    assert [s.value for s in bl.State] == ["ACTIVE", "LEGACY", "EXTENDED_ACCESS", "EOL", "UNKNOWN"]


def test_py_typed_is_shipped() -> None:
    assert (SRC / "py.typed").exists()


def test_the_library_never_imports_the_test_kit() -> None:
    offenders = []
    for path in SRC.rglob("*.py"):
        relative = path.relative_to(SRC)
        if relative.parts[0] in ("testing", "cli"):
            continue  # the test kit itself, and the CLI's demo and fake-server commands
        tree = ast.parse(path.read_text("utf-8"))
        for node in ast.walk(tree):
            names: list[str] = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                module = node.module or ""
                names = [module if node.level == 0 else f"{'.' * node.level}{module}"]
            offenders += [
                f"{relative}: {name}"
                for name in names
                if name.startswith(("bedrock_lifecycle.testing", ".testing", "..testing"))
            ]
    assert offenders == []
