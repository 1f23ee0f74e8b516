"""A ledger in an SQLite database (WAL mode), written off the caller's thread.

Each ledger instance has one background writer thread with its own connection; it inserts each
batch in one ``BEGIN IMMEDIATE`` transaction. WAL mode and a busy timeout let many threads (each
through the one writer) and several processes write the same file at once, with readers never
blocking writers. A committed batch survives a crash of the process.
"""

from __future__ import annotations

import os
import sqlite3
import time
from collections.abc import Sequence
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from .._clock import as_utc
from .._usage import RECORD_FIELDS, UsageRecord
from ._base import make_parent_dirs
from ._writer import QueuedFileLedger

__all__ = ["SqliteLedger"]

SCHEMA_VERSION = 1
_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
_MICROSECOND = timedelta(microseconds=1)
_COLUMNS = RECORD_FIELDS
_SCHEMA = """
CREATE TABLE IF NOT EXISTS usage_records (
    id INTEGER PRIMARY KEY,
    ts_us INTEGER NOT NULL,
    timestamp TEXT NOT NULL,
    operation TEXT NOT NULL,
    region TEXT,
    requested_model_id TEXT NOT NULL,
    invoked_model_id TEXT NOT NULL,
    state TEXT NOT NULL,
    extended_access INTEGER NOT NULL,
    input_tokens INTEGER,
    output_tokens INTEGER,
    cache_read_input_tokens INTEGER,
    cache_write_input_tokens INTEGER,
    latency_ms NUMERIC,
    cost_usd REAL,
    standard_cost_usd REAL,
    premium_usd REAL,
    request_id TEXT,
    fallback_from TEXT
);
CREATE INDEX IF NOT EXISTS usage_records_ts ON usage_records (ts_us);
"""
_NAMES = ", ".join(_COLUMNS)
_MARKS = ", ".join("?" * (len(_COLUMNS) + 1))
_INSERT = f"INSERT INTO usage_records (ts_us, {_NAMES}) VALUES ({_MARKS})"  # noqa: S608 - constants
_SELECT = f"SELECT {_NAMES} FROM usage_records"  # noqa: S608 - constants


def _micros(value: datetime) -> int:
    return (as_utc(value) - _EPOCH) // _MICROSECOND


def _row(rec: UsageRecord) -> tuple[Any, ...]:
    return (
        _micros(rec.timestamp),
        rec.timestamp.isoformat(),
        rec.operation,
        rec.region,
        rec.requested_model_id,
        rec.invoked_model_id,
        rec.state,
        1 if rec.extended_access else 0,
        rec.input_tokens,
        rec.output_tokens,
        rec.cache_read_input_tokens,
        rec.cache_write_input_tokens,
        rec.latency_ms,
        rec.cost_usd,
        rec.standard_cost_usd,
        rec.premium_usd,
        rec.request_id,
        rec.fallback_from,
    )


def _from_row(row: tuple[Any, ...]) -> UsageRecord:
    values = dict(zip(_COLUMNS, row, strict=True))
    values["timestamp"] = datetime.fromisoformat(values["timestamp"])
    values["extended_access"] = bool(values["extended_access"])
    return UsageRecord(**values)


def _create_owner_only(path: str) -> None:
    flags = os.O_RDWR | os.O_CREAT | getattr(os, "O_CLOEXEC", 0)
    make_parent_dirs(path)
    os.close(os.open(path, flags, 0o600))


def _connect(path: str, busy_timeout: float) -> sqlite3.Connection:
    conn = sqlite3.connect(
        path, timeout=busy_timeout, isolation_level=None, check_same_thread=False
    )
    conn.execute(f"PRAGMA busy_timeout = {int(busy_timeout * 1000)}")
    return conn


def _retry_locked(conn: sqlite3.Connection, sql: str, busy_timeout: float) -> None:
    """Run ``sql``, retrying while another process holds a lock the busy handler does not wait
    for (switching to WAL, creating the schema on a fresh file)."""
    deadline = time.monotonic() + busy_timeout
    while True:
        try:
            conn.executescript(sql)
            return
        except sqlite3.OperationalError as exc:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise
            time.sleep(0.01)


class _SqliteTarget:
    def __init__(self, path: str, busy_timeout: float) -> None:
        self.path = path
        self.busy_timeout = busy_timeout
        self._conn: sqlite3.Connection | None = None

    def _connection(self) -> sqlite3.Connection:
        if self._conn is None:
            _create_owner_only(self.path)
            conn = _connect(self.path, self.busy_timeout)
            try:
                _retry_locked(conn, "PRAGMA journal_mode = WAL;", self.busy_timeout)
                conn.execute("PRAGMA synchronous = NORMAL")
                _retry_locked(
                    conn,
                    f"BEGIN IMMEDIATE;{_SCHEMA}PRAGMA user_version = {SCHEMA_VERSION};COMMIT;",
                    self.busy_timeout,
                )
            except BaseException:
                conn.close()
                raise
            self._conn = conn
        return self._conn

    def write_batch(self, items: Sequence[UsageRecord]) -> None:
        rows = [_row(rec) for rec in items]
        conn = self._connection()
        try:
            conn.execute("BEGIN IMMEDIATE")
            try:
                conn.executemany(_INSERT, rows)
                conn.execute("COMMIT")
            except BaseException:
                conn.execute("ROLLBACK")
                raise
        except sqlite3.Error:
            # Start over with a fresh connection next time (the file may have been replaced).
            self.release()
            raise

    def sync(self) -> None:
        """Each batch is committed as it is written; nothing more to do."""

    def release(self) -> None:
        if self._conn is not None:
            conn, self._conn = self._conn, None
            conn.close()

    def after_fork(self) -> None:
        # An SQLite connection must not cross fork(): forget the parent's without closing it.
        self._conn = None


class SqliteLedger(QueuedFileLedger):
    """Usage records in an SQLite database file (table ``usage_records``), created 0600.

    - ``queue_size``: records waiting for the writer; when full, new records are dropped, logged
      once and counted in ``errors`` and ``dropped``.
    - ``busy_timeout``: seconds a writer waits for another process's transaction.
    - ``flush_interval``: accepted for symmetry with :class:`JsonlLedger`; every batch is
      committed as soon as it is written.
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        queue_size: int = 10_000,
        flush_interval: float | None = 1.0,
        busy_timeout: float = 10.0,
    ) -> None:
        super().__init__(
            path,
            _SqliteTarget(str(Path(path).expanduser()), busy_timeout),
            kind="sqlite",
            queue_size=queue_size,
            flush_interval=flush_interval,
        )
        self.busy_timeout = busy_timeout

    def records(
        self, since: datetime | None = None, until: datetime | None = None
    ) -> list[UsageRecord]:
        """Records with ``since <= timestamp < until``, in time order (after a flush)."""
        self._flush_for_read()
        if not self.path.exists():
            return []
        clauses: list[str] = []
        params: list[int] = []
        if since is not None:
            clauses.append("ts_us >= ?")
            params.append(_micros(since))
        if until is not None:
            clauses.append("ts_us < ?")
            params.append(_micros(until))
        where = f" WHERE {' AND '.join(clauses)}" if clauses else ""
        conn = _connect(str(self.path), self.busy_timeout)
        try:
            try:
                rows = conn.execute(f"{_SELECT}{where} ORDER BY ts_us, id", params).fetchall()
            except sqlite3.OperationalError as exc:
                if "no such table" in str(exc):
                    return []
                raise
        finally:
            conn.close()
        return [_from_row(row) for row in rows]

    def __enter__(self) -> SqliteLedger:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"SqliteLedger({str(self.path)!r})"
