"""The package's public face: exports, typing marker, and the library/test-kit boundary."""

from __future__ import annotations

import ast
import hashlib
import pathlib
import re
import subprocess
import sys

import bedrock_lifecycle as bl

if sys.version_info >= (3, 11):
    import tomllib
else:
    import tomli as tomllib

SRC = pathlib.Path(bl.__file__).parent
ROOT = pathlib.Path(__file__).resolve().parents[1]
#: MD5 of https://www.apache.org/licenses/LICENSE-2.0.txt, the checksum licence scanners match.
APACHE_2_0_MD5 = "3b83ef96387f14655fc854ddc3c6bd57"


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


def _pyproject() -> dict[str, object]:
    return tomllib.loads((ROOT / "pyproject.toml").read_text("utf-8"))


def test_the_licence_is_the_unmodified_apache_2_0_text_and_ships() -> None:
    text = (ROOT / "LICENSE").read_bytes()
    assert hashlib.md5(text, usedforsecurity=False).hexdigest() == APACHE_2_0_MD5
    assert b"END OF TERMS AND CONDITIONS" in text
    project = _pyproject()["project"]
    assert isinstance(project, dict)
    assert (project["license"], project["license-files"]) == ("Apache-2.0", ["LICENSE"])


def test_core_dependencies_are_four_and_never_pinned_exactly() -> None:
    project = _pyproject()["project"]
    assert isinstance(project, dict)
    names = [re.split(r"[<>=!~;\[ ]", spec, maxsplit=1)[0] for spec in project["dependencies"]]
    assert names == ["boto3", "botocore", "tenacity", "cachetools"]
    assert not [spec for spec in project["dependencies"] if "==" in spec or "<" in spec]


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


def test_no_module_imports_another_modules_private_names() -> None:
    """A private name (``_x``) is its module's own: sharing it means making it public there."""
    offenders = []
    for path in SRC.rglob("*.py"):
        tree = ast.parse(path.read_text("utf-8"))
        for node in ast.walk(tree):
            if not isinstance(node, ast.ImportFrom):
                continue
            if not (node.level or (node.module or "").startswith("bedrock_lifecycle")):
                continue  # another package's names are its business
            submodules = node.module is None  # "from . import _wording" names a module
            offenders += [
                f"{path.relative_to(SRC)}: {node.module}.{alias.name}"
                for alias in node.names
                if alias.name.startswith("_") and not submodules and alias.name != "__version__"
            ]
    assert offenders == []


def test_what_a_governed_call_never_needs_loads_only_when_used() -> None:
    """A service pays no import time for publishing snapshots, shared sources and policies,
    the async face, reports, preflight checks, forecasts, summaries or the SQLite sink."""
    code = (
        "import sys, bedrock_lifecycle as bl\n"
        "lazy = ('bedrock_lifecycle._publish', 'bedrock_lifecycle._shared_source',\n"
        "        'bedrock_lifecycle._shared_policy', 'bedrock_lifecycle._fleet_snapshot',\n"
        "        'bedrock_lifecycle.aio', 'concurrent.futures.thread', 'asyncio',\n"
        "        'bedrock_lifecycle._report', 'bedrock_lifecycle._preflight',\n"
        "        'bedrock_lifecycle._forecast', 'bedrock_lifecycle.ledger._summary',\n"
        "        'statistics', 'difflib', 'sqlite3')\n"
        "loaded = [name for name in lazy if name in sys.modules]\n"
        "assert not loaded, loaded\n"
        "assert bl.publish_snapshot.__module__ == 'bedrock_lifecycle._publish'\n"
        "assert 'bedrock_lifecycle._shared_source' in sys.modules\n"
        "assert bl.compare.__module__ == 'bedrock_lifecycle._report'\n"
        "assert bl.summarize.__module__ == 'bedrock_lifecycle.ledger._summary'\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)


def test_what_only_some_calls_need_loads_with_the_first_that_does() -> None:
    """Budgets, shadows, successor walks, the bundled snapshot and the control-plane reader
    load when first used: a catalog loads the control-plane reader, and the snapshot if it
    reads it, when it is made (never inside a lookup's bounded wait), and each public name
    loads its module."""
    code = (
        "import sys, bedrock_lifecycle as bl\n"
        "later = ('bedrock_lifecycle._budget', 'bedrock_lifecycle._bundled',\n"
        "         'bedrock_lifecycle._shadow', 'bedrock_lifecycle._shadow_record',\n"
        "         'bedrock_lifecycle._succession', 'bedrock_lifecycle._control_plane')\n"
        "loaded = [name for name in later if name in sys.modules]\n"
        "assert not loaded, loaded\n"
        "plain = bl.Catalog(persist=False, bundled=False, offline=True)\n"
        "plain.lookup('anthropic.claude-3-haiku-20240307-v1:0', 'us-east-1')\n"
        "assert 'bedrock_lifecycle._bundled' not in sys.modules\n"
        "assert 'bedrock_lifecycle._control_plane' in sys.modules\n"
        "bl.Catalog(persist=False)\n"
        "assert 'bedrock_lifecycle._bundled' in sys.modules\n"
        "assert bl.Budget.__module__ == 'bedrock_lifecycle._budget'\n"
        "assert bl.ShadowRecord.__module__ == 'bedrock_lifecycle._shadow_record'\n"
        "assert bl.walk_successors.__module__ == 'bedrock_lifecycle._succession'\n"
        "assert bl.Shadow.__module__ == 'bedrock_lifecycle._shadow'\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)
