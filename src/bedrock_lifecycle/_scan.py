"""Find Bedrock model identifiers in source trees: the engine behind ``bedrock-lifecycle scan``.

The scanner reads every text file under the paths it is given, finds model ids in all the forms
:mod:`bedrock_lifecycle._ids` knows (base ids, system inference profiles, ARNs, and the URL-encoded
spellings found in request paths) and yields one :class:`Finding` per occurrence, ordered by path,
then line, then column.

Which files are read:

* inside a git work tree, exactly what ``git ls-files --cached --others --exclude-standard`` lists
  (tracked files plus untracked files that are not ignored);
* elsewhere, a directory walk that honours ``.gitignore`` files when the optional ``pathspec``
  package is installed (the ``cli`` extra), and always leaves out ``.git``, ``node_modules``,
  ``.venv`` and ``__pycache__``;
* a file named explicitly is always read.

Binary files (a NUL byte in the first 8 KiB), files over ``max_file_bytes``, unreadable files and
symlinks pointing out of the tree are skipped. A finding carries the id and its position only,
never the rest of the line: source lines can hold secrets.

Bare base ids are recognised only for known providers (``anthropic.``, ``amazon.``, ``meta.``...),
and only when the name after the provider has a hyphen and a digit, so ``os.path``,
``self.model_id`` or ``docs.aws.amazon.com`` never match. Inside an ARN any provider is accepted.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import re
import shutil
import stat
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Executor, ProcessPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from typing import Any
from urllib.parse import unquote

from ._ids import KNOWN_GEO_PREFIXES, ModelRef, parse_model_id

__all__ = [
    "DEFAULT_MAX_FILE_BYTES",
    "PROVIDERS",
    "Finding",
    "ScanResult",
    "scan_paths",
]

logger = logging.getLogger(__name__)

DEFAULT_MAX_FILE_BYTES = 2 * 1024 * 1024
"""Files larger than this (2 MiB) are skipped: generated bundles and data dumps, not code."""

PROVIDERS: tuple[str, ...] = (
    "ai21",
    "amazon",
    "anthropic",
    "cohere",
    "deepseek",
    "google",
    "luma",
    "meta",
    "minimax",
    "mistral",
    "moonshot",
    "moonshotai",
    "nvidia",
    "openai",
    "qwen",
    "stability",
    "twelvelabs",
    "writer",
)
"""Model providers whose bare base ids (``<provider>.<name>``) the scanner recognises."""

_GEO_PREFIXES = tuple(sorted(KNOWN_GEO_PREFIXES | {"ca"}, key=lambda g: (-len(g), g)))

_SKIP_DIRS = frozenset({".git", "node_modules", ".venv", "__pycache__"})
_BINARY_SNIFF_BYTES = 8192
_GIT_TIMEOUT_S = 60.0
_PROGRESS_EVERY = 256
_PARALLEL_MIN_FILES = 2000
_BATCH_FILES = 512


@dataclass(frozen=True, slots=True)
class Finding:
    """One model id found in a file.

    ``path`` is the file's path joined to the scan root as it was given (``src/app.py`` for a scan
    of ``src``), ``line`` and ``column`` are 1-based, the column counted in characters (code
    points), and ``end_column`` is the column just past the id, as SARIF expects. ``text`` is the
    id exactly as written (possibly URL-encoded); ``ref`` is its parse.
    """

    path: str
    line: int
    column: int
    end_column: int
    text: str
    ref: ModelRef


@dataclass(frozen=True, slots=True)
class ScanResult:
    """A finding judged against the lifecycle catalog, ready for a report.

    ``state`` is a :class:`~bedrock_lifecycle.State` value (``"ACTIVE"``, ``"LEGACY"``,
    ``"EXTENDED_ACCESS"``, ``"EOL"`` or ``"UNKNOWN"``); the dates are aware UTC datetimes or
    ``None``; ``replacement`` is the recommended successor id, if any; ``region`` is the region
    whose dates were used. ``source`` (a :class:`~bedrock_lifecycle.Source` value) and ``as_of``
    say where the verdict came from and how old it is (``"bundled"`` and the bundled data's date
    for a model judged offline from the data shipped with the package).
    """

    finding: Finding
    state: str
    legacy_at: datetime | None = None
    extended_access_at: datetime | None = None
    eol_at: datetime | None = None
    replacement: str | None = None
    region: str | None = None
    source: str | None = None
    as_of: datetime | None = None


# --- the pattern -----------------------------------------------------------------------------

_C = r"(?::|%3[Aa])"  # ':' as written or URL-encoded
_S = r"(?:/|%2[Ff])"  # '/' as written or URL-encoded
_NAME = r"[a-z0-9]+(?:-[a-z0-9]+)*"
_VERSION = rf"(?:{_C}[0-9]+[a-z]*)*"  # ":0", ":0:200k"
# The end of an id: not followed by more id-like characters, nor by ".<digit>" or ":<word>"
# (an id we would otherwise report cut short).
_END = rf"(?![A-Za-z0-9_-]|\.[0-9]|{_C}[A-Za-z0-9_])"
_START = r"(?:(?<![A-Za-z0-9_.-])|(?<=%2[Ff]))"
_GEO = "|".join(re.escape(g) for g in _GEO_PREFIXES)
_PROVIDER = "|".join(re.escape(p) for p in sorted(PROVIDERS, key=lambda p: (-len(p), p)))
# Bare ids: known provider, then a name with a hyphen and a digit in it.
_KNOWN_BASE = rf"(?:{_PROVIDER})\.(?=[a-z-]*[0-9])[a-z0-9]+(?:-[a-z0-9]+)+{_VERSION}"
# Inside an ARN the context is certain, so any provider will do.
_ANY_BASE = rf"{_NAME}\.{_NAME}{_VERSION}"
_ARN = (
    rf"arn{_C}aws(?:-[a-z0-9]+)*{_C}bedrock{_C}[a-z0-9-]*{_C}[0-9]*{_C}"
    r"(?:"
    rf"foundation-model{_S}{_ANY_BASE}"
    rf"|inference-profile{_S}(?:{_NAME}\.)?{_ANY_BASE}"
    rf"|custom-model{_S}(?:{_ANY_BASE}|imported){_S}[a-z0-9]+"
    rf"|(?:application-inference-profile|provisioned-model|imported-model"
    rf"|custom-model-deployment){_S}[a-z0-9]+"
    rf"|(?:default-)?prompt-router{_S}[A-Za-z0-9_-]+(?:\.[A-Za-z0-9_-]+)*(?:{_C}[0-9]+)?"
    r")"
)
_ID_RE = re.compile(
    rf"{_START}(?:{_ARN}|(?:(?:{_GEO})\.)?{_KNOWN_BASE}){_END}".encode("ascii"),
)
# Every bare id holds "<provider>." and every ARN "bedrock". Trying the full pattern only where
# those occur is far faster than running it over the whole file: the regex engine scans for the
# literal "." in C and checks the few providers behind each dot with fixed-width lookbehinds.
_PROVIDER_LITERALS: tuple[bytes, ...] = tuple(f"{p}.".encode("ascii") for p in PROVIDERS)
_LITERALS_BY_LAST_LETTER: dict[int, tuple[bytes, ...]] = {
    last: tuple(lit for lit in _PROVIDER_LITERALS if lit[-2] == last)
    for last in sorted({lit[-2] for lit in _PROVIDER_LITERALS})
}
# A "." preceded by a provider name: one cheap check of the letter before the dot, then the few
# providers ending in that letter.
_PROVIDER_DOT_RE = re.compile(
    rb"\.(?:"
    + b"|".join(
        rb"(?<="
        + re.escape(bytes([last]))
        + rb"\.)(?:"
        + b"|".join(rb"(?<=" + re.escape(lit) + rb")" for lit in literals)
        + rb")"
        for last, literals in _LITERALS_BY_LAST_LETTER.items()
    )
    + rb")"
)
_GEO_LITERALS: tuple[bytes, ...] = tuple(f"{g}.".encode("ascii") for g in _GEO_PREFIXES)
_ARN_ANCHOR = b"bedrock"
_ARN_LOOKBACK = 40  # "arn" to "bedrock": "arn%3Aaws-iso-b%3Abedrock" and longer partitions


# --- reading one file --------------------------------------------------------------------------

# (line, column, end_column, text) of one match in a file.
_RawMatch = tuple[int, int, int, str]


def _candidate_starts(data: bytes) -> list[int]:
    """Offsets where an id may begin: every offset where the pattern can match is among them."""
    starts: list[int] = []
    for dot in _PROVIDER_DOT_RE.finditer(data):
        after = dot.end()
        for literal in _LITERALS_BY_LAST_LETTER[data[after - 2]]:
            pos = after - len(literal)
            if pos < 0 or not data.startswith(literal, pos):
                continue
            starts.append(pos)
            if pos and data[pos - 1] == 0x2E:  # "." : maybe a profile's geo prefix
                starts.extend(
                    pos - len(geo)
                    for geo in _GEO_LITERALS
                    if pos >= len(geo) and data.startswith(geo, pos - len(geo))
                )
    find = data.find
    pos = find(_ARN_ANCHOR)
    while pos >= 0:
        window = max(0, pos - _ARN_LOOKBACK)
        arn = data.rfind(b"arn", window, pos)
        while arn >= 0:
            starts.append(arn)
            arn = data.rfind(b"arn", window, arn)
        pos = find(_ARN_ANCHOR, pos + 1)
    return starts


def _matches_in(data: bytes) -> list[_RawMatch]:
    """Every id in ``data`` (as ``finditer`` would find them) with 1-based line and columns."""
    starts = _candidate_starts(data)
    if not starts:
        return []
    starts.sort()
    found: list[_RawMatch] = []
    match_at = _ID_RE.match
    line = 1
    counted_to = 0
    taken_to = 0
    for start in starts:
        if start < taken_to:
            continue
        match = match_at(data, start)
        if match is None:
            continue
        end = match.end()
        taken_to = end
        line += data.count(b"\n", counted_to, start)
        counted_to = start
        line_start = data.rfind(b"\n", 0, start) + 1
        prefix = data[line_start:start]
        if prefix.isascii():
            column = start - line_start + 1
        else:
            column = len(prefix.decode("utf-8", "replace")) + 1
        found.append((line, column, column + (end - start), match.group().decode("ascii")))
    return found


def _scan_file(path: str, max_file_bytes: int) -> list[_RawMatch]:
    """Read ``path`` and return its matches; skipped files give an empty list."""
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_BINARY", 0))
    except OSError as exc:
        logger.debug(
            "bedrock_lifecycle.scan_skip_unreadable",
            extra={"bedrock_lifecycle.path": path, "bedrock_lifecycle.reason": str(exc)},
        )
        return []
    try:
        size = os.fstat(fd).st_size
        if size > max_file_bytes:
            logger.debug(
                "bedrock_lifecycle.scan_skip_large",
                extra={"bedrock_lifecycle.path": path, "bedrock_lifecycle.size": size},
            )
            return []
        chunks = []
        remaining = size + 1  # one more byte to see a file that grew
        while remaining > 0:
            chunk = os.read(fd, remaining)
            if not chunk:
                break
            chunks.append(chunk)
            remaining -= len(chunk)
        data = chunks[0] if len(chunks) == 1 else b"".join(chunks)
    except OSError as exc:
        logger.debug(
            "bedrock_lifecycle.scan_skip_unreadable",
            extra={"bedrock_lifecycle.path": path, "bedrock_lifecycle.reason": str(exc)},
        )
        return []
    finally:
        os.close(fd)
    if len(data) > max_file_bytes:
        return []
    if data.find(b"\0", 0, _BINARY_SNIFF_BYTES) >= 0:
        return []
    return _matches_in(data)


def _scan_batch(paths: Sequence[str], max_file_bytes: int) -> list[list[_RawMatch]]:
    return [_scan_file(path, max_file_bytes) for path in paths]


# --- choosing files ----------------------------------------------------------------------------


def _git_listing(directory: str) -> list[str] | None:
    """Files git would track in ``directory`` (relative paths), or ``None`` outside a work tree."""
    git = shutil.which("git")
    if git is None:
        return None
    command = [git, "-C", directory, "ls-files", "-z", "--cached", "--others", "--exclude-standard"]
    try:
        # A fixed argument list, no shell; the directory is the user's own scan root.
        done = subprocess.run(command, capture_output=True, timeout=_GIT_TIMEOUT_S, check=False)  # noqa: S603
    except (OSError, subprocess.SubprocessError) as exc:
        logger.debug(
            "bedrock_lifecycle.scan_git_failed", extra={"bedrock_lifecycle.reason": str(exc)}
        )
        return None
    if done.returncode != 0:
        return None  # not a work tree (or git refused): walk instead
    return [os.fsdecode(name) for name in done.stdout.split(b"\0") if name]


class _IgnoreRules:
    """``.gitignore`` files met during a walk, each applying below its own directory."""

    def __init__(self) -> None:
        try:
            import pathspec
        except ImportError:
            self._pathspec: Any = None
        else:
            self._pathspec = pathspec
        # (directory relative to the walk root with a trailing "/" or "", compiled spec)
        self._specs: list[tuple[str, Any]] = []

    @property
    def available(self) -> bool:
        return self._pathspec is not None

    def load(self, rel_dir: str, gitignore: str) -> None:
        try:
            with open(gitignore, encoding="utf-8", errors="replace") as handle:
                lines = handle.read().splitlines()
        except OSError as exc:
            logger.debug(
                "bedrock_lifecycle.scan_gitignore_unreadable",
                extra={"bedrock_lifecycle.reason": str(exc)},
            )
            return
        spec = self._pathspec.GitIgnoreSpec.from_lines(lines)
        self._specs.append((f"{rel_dir}/" if rel_dir else "", spec))

    def ignored(self, rel_path: str, is_dir: bool) -> bool:
        """Whether ``rel_path`` is ignored; deeper files' rules (and ``!`` negations) win."""
        candidate = f"{rel_path}/" if is_dir else rel_path
        ignored = False
        for base, spec in self._specs:  # parents were loaded before their subdirectories
            if base and not candidate.startswith(base):
                continue
            relative = candidate[len(base) :]
            check = getattr(spec, "check_file", None)
            if check is None:  # pathspec < 0.12: no negation across files
                ignored = ignored or bool(spec.match_file(relative))
                continue
            include = check(relative).include
            if include is not None:
                ignored = bool(include)
        return ignored


def _walk(directory: str, respect_gitignore: bool) -> list[str]:
    """Relative paths of the regular files (and in-tree file symlinks) under ``directory``."""
    rules = _IgnoreRules() if respect_gitignore else None
    use_rules = rules is not None and rules.available
    real_root = os.path.realpath(directory)
    out: list[str] = []
    pending = [""]
    while pending:
        rel_dir = pending.pop()
        abs_dir = os.path.join(directory, rel_dir) if rel_dir else directory
        try:
            entries = list(os.scandir(abs_dir))
        except OSError as exc:
            logger.debug(
                "bedrock_lifecycle.scan_skip_unreadable",
                extra={"bedrock_lifecycle.reason": str(exc)},
            )
            continue
        if use_rules:
            assert rules is not None
            for entry in entries:
                if entry.name == ".gitignore" and entry.is_file():
                    rules.load(rel_dir, entry.path)
        for entry in entries:
            name = entry.name
            rel = f"{rel_dir}/{name}" if rel_dir else name
            try:
                if entry.is_symlink():
                    if not _inside(entry.path, real_root) or entry.is_dir():
                        continue
                    is_dir = False
                else:
                    is_dir = entry.is_dir(follow_symlinks=False)
            except OSError:
                continue
            if is_dir:
                if name == ".git" or (respect_gitignore and name in _SKIP_DIRS):
                    continue
                if use_rules and rules is not None and rules.ignored(rel, True):
                    continue
                pending.append(rel)
            elif use_rules and rules is not None and rules.ignored(rel, False):
                continue
            else:
                out.append(rel)
    return out


def _inside(path: str, real_root: str) -> bool:
    target = os.path.realpath(path)
    return target == real_root or target.startswith(real_root.rstrip(os.sep) + os.sep)


def _join(root: str, rel: str) -> str:
    if root in ("", os.curdir):
        return rel
    return os.path.join(root, rel) if os.sep == "/" else os.path.join(root, *rel.split("/"))


def _files_under(root: str, respect_gitignore: bool) -> list[str]:
    """Paths (joined to ``root`` as given) of the files to read under one scan root."""
    try:
        mode = os.stat(root).st_mode
    except OSError as exc:
        logger.debug(
            "bedrock_lifecycle.scan_skip_missing", extra={"bedrock_lifecycle.reason": str(exc)}
        )
        return []
    if not stat.S_ISDIR(mode):
        return [root] if stat.S_ISREG(mode) else []
    listing = _git_listing(root) if respect_gitignore else None
    if listing is None:
        return [_join(root, rel) for rel in _walk(root, respect_gitignore)]
    real_root = os.path.realpath(root)
    files = []
    for rel in listing:
        path = _join(root, rel)
        try:
            st = os.lstat(path)
        except OSError:
            continue  # deleted in the work tree but still in the index
        if stat.S_ISLNK(st.st_mode):
            if not _inside(path, real_root) or not os.path.isfile(path):
                continue
        elif not stat.S_ISREG(st.st_mode):
            continue  # a submodule or nested repository
        files.append(path)
    return files


def _normalise_root(path: str | os.PathLike[str]) -> str:
    root = os.fspath(path)
    if root in ("", os.curdir, f"{os.curdir}{os.sep}"):
        return os.curdir
    return os.path.normpath(root)


def _collect(paths: Sequence[str | os.PathLike[str]], respect_gitignore: bool) -> list[str]:
    seen: set[str] = set()
    files: list[str] = []
    for given in paths:
        for path in _files_under(_normalise_root(given), respect_gitignore):
            key = os.path.normcase(os.path.abspath(path))
            if key not in seen:
                seen.add(key)
                files.append(path)
    files.sort()
    return files


# --- the public entry point --------------------------------------------------------------------


@lru_cache(maxsize=4096)
def _parse(text: str) -> ModelRef:
    return parse_model_id(unquote(text) if "%" in text else text)


def scan_paths(
    paths: Sequence[str | os.PathLike[str]],
    *,
    respect_gitignore: bool = True,
    max_file_bytes: int = DEFAULT_MAX_FILE_BYTES,
    progress: Callable[[int, int], None] | None = None,
    jobs: int | None = None,
) -> Iterator[Finding]:
    """Yield every Bedrock model id found under ``paths``, ordered by path, line and column.

    ``paths`` are files or directories; a file named here is read even when ignored. With
    ``respect_gitignore`` (the default) directories are listed through git when they are in a
    work tree, else walked honouring ``.gitignore`` files (with the ``pathspec`` package) and
    skipping ``node_modules``, ``.venv`` and ``__pycache__``; ``.git`` is never read.
    ``progress(done, total)`` is called every few hundred files and once at the end. ``jobs``
    is the number of worker processes (default: one per CPU, used only for large trees; ``1``
    scans in this process).

    Arguments are checked at once; the files are listed when the iterator is first advanced,
    and closing it early stops the workers.
    """
    if isinstance(paths, (str, os.PathLike)):
        raise TypeError("scan_paths() takes a sequence of paths, not a single path")
    if max_file_bytes < 0:
        raise ValueError("max_file_bytes must not be negative")
    if jobs is not None and jobs < 1:
        raise ValueError("jobs must be at least 1")
    return _scan(list(paths), respect_gitignore, max_file_bytes, progress, jobs)


def _scan(
    paths: Sequence[str | os.PathLike[str]],
    respect_gitignore: bool,
    max_file_bytes: int,
    progress: Callable[[int, int], None] | None,
    jobs: int | None,
) -> Iterator[Finding]:
    files = _collect(paths, respect_gitignore)
    total = len(files)
    workers = _worker_count(jobs, total)
    logger.debug(
        "bedrock_lifecycle.scan_start",
        extra={"bedrock_lifecycle.files": total, "bedrock_lifecycle.jobs": workers},
    )
    if progress is not None:
        progress(0, total)
    executor = _process_pool(workers) if workers > 1 else None
    if executor is None:
        sequential = ((batch, _scan_batch(batch, max_file_bytes)) for batch in _batches(files))
        yield from _emit(sequential, total, progress)
        return
    try:
        yield from _emit(_parallel(executor, files, max_file_bytes, workers), total, progress)
    finally:
        executor.shutdown(wait=True, cancel_futures=True)


def _process_pool(workers: int) -> ProcessPoolExecutor | None:
    """A pool of ``workers`` processes, or ``None`` where processes cannot be had (AWS Lambda)."""
    methods = multiprocessing.get_all_start_methods()
    # fork is cheapest, but unsafe once other threads run (a CLI progress bar) and on macOS.
    if "fork" in methods and sys.platform != "darwin" and threading.active_count() == 1:
        method = "fork"
    elif "forkserver" in methods:
        method = "forkserver"
    else:
        method = "spawn"
    try:
        return ProcessPoolExecutor(
            max_workers=workers, mp_context=multiprocessing.get_context(method)
        )
    except (OSError, NotImplementedError, ImportError) as exc:
        logger.debug(
            "bedrock_lifecycle.scan_no_process_pool", extra={"bedrock_lifecycle.reason": str(exc)}
        )
        return None


def _worker_count(jobs: int | None, total: int) -> int:
    if jobs is not None:
        return jobs
    if total < _PARALLEL_MIN_FILES:
        return 1
    return min(os.cpu_count() or 1, 8)


def _batches(files: Sequence[str], size: int = _PROGRESS_EVERY) -> Iterator[Sequence[str]]:
    for start in range(0, len(files), size):
        yield files[start : start + size]


def _parallel(
    executor: Executor, files: Sequence[str], max_file_bytes: int, workers: int
) -> Iterator[tuple[Sequence[str], list[list[_RawMatch]]]]:
    size = max(16, min(_BATCH_FILES, len(files) // (workers * 4) or 1))
    batches = list(_batches(files, size))
    outcomes = executor.map(_scan_batch, batches, [max_file_bytes] * len(batches))
    yield from zip(batches, outcomes, strict=True)


def _emit(
    results: Iterator[tuple[Sequence[str], list[list[_RawMatch]]]],
    total: int,
    progress: Callable[[int, int], None] | None,
) -> Iterator[Finding]:
    done = 0
    reported = 0
    for batch, per_file in results:
        for path, matches in zip(batch, per_file, strict=True):
            for line, column, end_column, text in matches:
                yield Finding(path, line, column, end_column, text, _parse(text))
        done += len(batch)
        if progress is not None and (done - reported >= _PROGRESS_EVERY or done == total):
            progress(done, total)
            reported = done
