"""A ledger in JSON Lines: one record per line, appended, rotated by size.

Writing: records go through a bounded queue to a background thread, which appends each batch with
a single ``write()`` on a file opened ``O_APPEND`` (created 0600). Several processes may append to
the same file: each batch lands whole, between other processes' batches. Before a batch would push
the file past ``max_bytes`` it is rotated under an advisory lock (``path.lock``): ``path.1`` ->
``path.2`` ... up to ``path.<backups>`` (the oldest is deleted), ``path`` -> ``path.1``. A
writer notices another process's rotation (the inode at ``path`` changed) and reopens before its
next batch.

Reading: ``records()`` reads every rotated file, oldest first, then ``path``. A last line without
its newline (a write cut short by a crash) is skipped, as is any line that is not a record.

Shadow records (:class:`~bedrock_lifecycle.ShadowRecord`) are lines of their own, told apart by
their ``"kind": "shadow"`` key (usage lines have no ``kind``). :func:`read_jsonl` gives the usage
records only; :func:`read_shadow_records` the shadow ones. A line marked as a shadow record that
is not one is an error naming the file, the line and what is wrong with it.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import Any, cast

from .._shadow_record import SHADOW_RECORD_KIND, ShadowRecord
from .._usage import UsageRecord
from ._base import AnyRecord, R, logger, make_parent_dirs, select_records
from ._writer import QueuedFileLedger

try:  # POSIX only; without it rotation by several processes at once is not coordinated.
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]

__all__ = ["JsonlLedger", "read_jsonl"]

_O_CLOEXEC = getattr(os, "O_CLOEXEC", 0)
_O_BINARY = getattr(os, "O_BINARY", 0)
MiB = 1024 * 1024


def _encode(records: Sequence[AnyRecord]) -> bytes:
    dumps = json.dumps
    return "".join([dumps(rec.to_dict(), separators=(",", ":")) + "\n" for rec in records]).encode(
        "utf-8"
    )


class _JsonlTarget:
    """File handling for the writer thread."""

    def __init__(self, path: str, max_bytes: int, backups: int, fsync: bool) -> None:
        self.path = path
        self.max_bytes = max_bytes
        self.backups = backups
        self.fsync = fsync
        self._fd: int | None = None
        self._identity: tuple[int, int] | None = None
        self._needs_newline = False

    # -- file handling ------------------------------------------------------------------------

    def _open(self) -> int:
        flags = os.O_RDWR | os.O_APPEND | os.O_CREAT | _O_CLOEXEC | _O_BINARY
        make_parent_dirs(self.path)
        fd = os.open(self.path, flags, 0o600)
        stat = os.fstat(fd)
        self._fd = fd
        self._identity = (stat.st_dev, stat.st_ino)
        # A crash mid-write can leave a torn last line: start on a fresh line after it.
        self._needs_newline = stat.st_size > 0 and _last_byte(fd, stat.st_size) != b"\n"
        return fd

    def _close_fd(self) -> None:
        if self._fd is not None:
            fd, self._fd = self._fd, None
            os.close(fd)

    def _current(self) -> int:
        """Our descriptor, reopened if ``path`` is now another file (rotated or removed)."""
        if self._fd is None:
            return self._open()
        try:
            stat = os.stat(self.path)
            same = (stat.st_dev, stat.st_ino) == self._identity
        except FileNotFoundError:
            same = False
        if not same:
            self._close_fd()
            return self._open()
        return self._fd

    def _rotate(self, incoming: int) -> int:
        lock_fd = os.open(self.path + ".lock", os.O_RDWR | os.O_CREAT | _O_CLOEXEC, 0o600)
        try:
            if fcntl is not None:
                fcntl.flock(lock_fd, fcntl.LOCK_EX)
            try:
                stat = os.stat(self.path)
            except FileNotFoundError:
                stat = None
            # Another process may have rotated while we waited for the lock.
            if (
                stat is not None
                and (stat.st_dev, stat.st_ino) == self._identity
                and stat.st_size + incoming > self.max_bytes
            ):
                if self.backups == 0:
                    os.unlink(self.path)
                else:
                    for number in range(self.backups - 1, 0, -1):
                        older = f"{self.path}.{number}"
                        if os.path.exists(older):
                            os.replace(older, f"{self.path}.{number + 1}")
                    os.replace(self.path, f"{self.path}.1")
            self._close_fd()
            return self._open()
        finally:
            os.close(lock_fd)  # closing releases the flock

    # -- BatchTarget --------------------------------------------------------------------------

    def write_batch(self, items: Sequence[AnyRecord]) -> None:
        data = _encode(items)
        try:
            fd = self._current()
            if self.max_bytes:
                size = os.fstat(fd).st_size
                if size > 0 and size + len(data) > self.max_bytes:
                    fd = self._rotate(len(data))
            if self._needs_newline:
                data = b"\n" + data
                self._needs_newline = False
            view = memoryview(data)
            while view:
                written = os.write(fd, view)
                view = view[written:]
        except OSError:
            self._close_fd()
            raise

    def sync(self) -> None:
        if self.fsync and self._fd is not None:
            os.fsync(self._fd)

    def release(self) -> None:
        if self._fd is not None:
            try:
                self.sync()
            finally:
                self._close_fd()

    def after_fork(self) -> None:
        # The descriptor is shared with the parent; drop our copy and reopen on first write.
        self._close_fd()


def _last_byte(fd: int, size: int) -> bytes:
    try:
        return os.pread(fd, 1, size - 1)
    except (AttributeError, OSError):  # pragma: no cover - no pread (Windows)
        return b"\n"


def _rotated_files(path: Path) -> list[Path]:
    """``path.N`` files beside ``path``, oldest (highest N) first."""
    pattern = re.compile(re.escape(path.name) + r"\.(\d+)$")
    found: list[tuple[int, Path]] = []
    try:
        entries = list(path.parent.iterdir())
    except FileNotFoundError:
        return []
    for entry in entries:
        match = pattern.match(entry.name)
        if match:
            found.append((int(match.group(1)), entry))
    return [entry for _, entry in sorted(found, reverse=True)]


def read_jsonl(path: str | os.PathLike[str]) -> list[UsageRecord]:
    """Every usage record in a JSON Lines ledger and its rotated files, oldest file first.

    Skips a torn last line (no newline: a crash mid-write) and lines that are not records
    (logged). Shadow records are left out (see :func:`read_shadow_records`).
    """
    return cast("list[UsageRecord]", _read(Path(path), usage=True, shadow=False))


def read_jsonl_shadow(path: str | os.PathLike[str]) -> list[ShadowRecord]:
    """Every shadow record in a JSON Lines ledger and its rotated files, oldest file first.

    Raises ``ValueError`` naming the file and line when a line marked as a shadow record is not
    a valid one; other lines (usage records, torn lines) are passed over.
    """
    return cast("list[ShadowRecord]", _read(Path(path), usage=False, shadow=True))


def _read(path: Path, *, usage: bool, shadow: bool) -> list[AnyRecord]:
    """The records of the kinds asked for, in file order, rotated files (oldest) first."""
    out: list[AnyRecord] = []
    bad = 0
    for file in [*_rotated_files(path), path]:
        try:
            data = file.read_bytes()
        except FileNotFoundError:
            continue
        lines = data.split(b"\n")
        tail = lines.pop()  # b"" when the file ends with a newline
        if tail.strip():
            logger.debug(
                "bedrock_lifecycle.ledger_torn_line: %s ends with a torn line; skipped", file
            )
        for number, line in enumerate(lines, 1):
            if not line.strip():
                continue
            try:
                document: Any = json.loads(line)
            except ValueError:
                if usage:  # a torn or foreign line: counted as usage readers always have
                    bad += 1
                continue
            if type(document) is dict and document.get("kind") == SHADOW_RECORD_KIND:
                if shadow:
                    try:
                        out.append(ShadowRecord.from_dict(document))
                    except (ValueError, TypeError) as exc:
                        raise ValueError(
                            f"{file}, line {number}: not a valid shadow record: {exc}"
                        ) from None
                continue
            if usage:
                try:
                    out.append(UsageRecord.from_dict(document))
                except (ValueError, TypeError):
                    bad += 1
    if bad:
        logger.warning(
            "bedrock_lifecycle.ledger_bad_lines: %s: skipped %d line(s) that are not usage records",
            path,
            bad,
        )
    return out


class JsonlLedger(QueuedFileLedger[R]):
    """Usage records in a JSON Lines file, written off the caller's thread.

    ``JsonlLedger[ShadowRecord](path)`` keeps shadow records instead (one JSON object per line,
    with ``"kind": "shadow"``); ``records()`` gives each record back as its own type.

    - ``max_bytes``: rotate before the file would exceed this (0: never rotate).
    - ``backups``: rotated files kept (``path.1`` newest ... ``path.<backups>`` oldest).
    - ``queue_size``: records waiting for the writer; when full, new records are dropped, logged
      once and counted in ``errors`` and ``dropped`` (the caller is never blocked).
    - ``flush_interval``: seconds between fsyncs while records keep arriving (``None``: only on
      ``flush()`` and ``close()``). Records reach the file as soon as the writer thread picks
      them up, whatever this is.

    The file is opened lazily by the writer thread; an unusable path is reported through the log
    and ``errors``, never by ``record()``.
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        max_bytes: int = 50 * MiB,
        backups: int = 5,
        queue_size: int = 10_000,
        flush_interval: float | None = 1.0,
        fsync: bool = True,
    ) -> None:
        if max_bytes < 0 or backups < 0:
            raise ValueError("max_bytes and backups must not be negative")
        super().__init__(
            path,
            _JsonlTarget(str(Path(path).expanduser()), max_bytes, backups, fsync),
            kind="jsonl",
            queue_size=queue_size,
            flush_interval=flush_interval,
        )
        self.max_bytes = max_bytes
        self.backups = backups

    def records(self, since: datetime | None = None, until: datetime | None = None) -> list[R]:
        """Every record in the file and its rotated files (after a flush), oldest file first.

        Raises ``ValueError`` naming the file and line for a corrupt shadow record."""
        self._flush_for_read()
        found = cast("list[R]", _read(self.path, usage=True, shadow=True))
        return select_records(found, since, until)

    def __repr__(self) -> str:
        return f"JsonlLedger({str(self.path)!r})"
