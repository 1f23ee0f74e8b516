"""A ledger in an SQLite database (WAL mode), written off the caller's thread.

Each ledger instance has one background writer thread with its own connection; it inserts each
batch in one ``BEGIN IMMEDIATE`` transaction. WAL mode and a busy timeout let many threads (each
through the one writer) and several processes write the same file at once, with readers never
blocking writers. A committed batch survives a crash of the process.

Shadow records (:class:`~bedrock_lifecycle.ShadowRecord`) go to a table of their own,
``shadow_records``, created with the first one: each row holds the record's ``to_dict()`` as JSON
text beside its indexed timestamp and the two model ids. Files with no shadow record keep the one
``usage_records`` table.
"""

from __future__ import annotations

import heapq
import json
import os
import sqlite3
import time
from collections.abc import Sequence
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from .._clock import as_utc
from .._shadow_record import ShadowRecord
from .._usage import RECORD_FIELDS, UsageRecord
from ._base import AnyRecord, R, make_parent_dirs
from ._writer import QueuedFileLedger

if TYPE_CHECKING:
    from typing_extensions import Self

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
_SHADOW_SCHEMA = (
    """CREATE TABLE IF NOT EXISTS shadow_records (
    id INTEGER PRIMARY KEY,
    ts_us INTEGER NOT NULL,
    timestamp TEXT NOT NULL,
    primary_model_id TEXT NOT NULL,
    shadow_model_id TEXT NOT NULL,
    record TEXT NOT NULL
)""",
    "CREATE INDEX IF NOT EXISTS shadow_records_ts ON shadow_records (ts_us)",
)
_SHADOW_INSERT = (
    "INSERT INTO shadow_records (ts_us, timestamp, primary_model_id, shadow_model_id, record) "
    "VALUES (?, ?, ?, ?, ?)"
)
_SHADOW_SELECT = "SELECT id, record FROM shadow_records"


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


def _shadow_row(rec: ShadowRecord) -> tuple[Any, ...]:
    return (
        _micros(rec.timestamp),
        rec.timestamp.isoformat(),
        rec.primary_model_id,
        rec.shadow_model_id,
        json.dumps(rec.to_dict(), separators=(",", ":")),
    )


def _from_shadow_row(path: str, row: tuple[Any, ...]) -> ShadowRecord:
    row_id, text = row
    try:
        return ShadowRecord.from_dict(json.loads(text))
    except (ValueError, TypeError) as exc:
        raise ValueError(
            f"{path}, shadow_records row {row_id}: not a valid shadow record: {exc}"
        ) from None


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
        self._shadow_table = False  # created (if missing) on this connection

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

    def write_batch(self, items: Sequence[AnyRecord]) -> None:
        rows: list[tuple[Any, ...]] = []
        shadows: list[tuple[Any, ...]] = []
        for rec in items:
            if type(rec) is ShadowRecord:
                shadows.append(_shadow_row(rec))
            else:
                rows.append(_row(rec))  # type: ignore[arg-type]
        conn = self._connection()
        try:
            conn.execute("BEGIN IMMEDIATE")
            try:
                if rows:
                    conn.executemany(_INSERT, rows)
                if shadows:
                    if not self._shadow_table:
                        for statement in _SHADOW_SCHEMA:
                            conn.execute(statement)
                    conn.executemany(_SHADOW_INSERT, shadows)
                conn.execute("COMMIT")
                self._shadow_table = self._shadow_table or bool(shadows)
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
        self._shadow_table = False
        if self._conn is not None:
            conn, self._conn = self._conn, None
            conn.close()

    def after_fork(self) -> None:
        # An SQLite connection must not cross fork(): forget the parent's without closing it.
        self._conn = None
        self._shadow_table = False


def _select(conn: sqlite3.Connection, sql: str, params: list[int]) -> list[tuple[Any, ...]]:
    """Rows of ``sql``, none when its table does not exist (yet)."""
    try:
        return conn.execute(sql, params).fetchall()
    except sqlite3.OperationalError as exc:
        if "no such table" in str(exc):
            return []
        raise


def read_sqlite(
    path: str | os.PathLike[str],
    since: datetime | None = None,
    until: datetime | None = None,
    *,
    usage: bool = True,
    shadow: bool = True,
    busy_timeout: float = 10.0,
) -> list[AnyRecord]:
    """The records of the kinds asked for in an SQLite ledger file, in time order.

    Raises ``ValueError`` naming the file and row for a shadow record that cannot be read, and
    ``sqlite3.DatabaseError`` for a file that is not an SQLite database.
    """
    clauses: list[str] = []
    params: list[int] = []
    if since is not None:
        clauses.append("ts_us >= ?")
        params.append(_micros(since))
    if until is not None:
        clauses.append("ts_us < ?")
        params.append(_micros(until))
    where = f" WHERE {' AND '.join(clauses)}" if clauses else ""
    conn = _connect(str(path), busy_timeout)
    try:
        rows = _select(conn, f"{_SELECT}{where} ORDER BY ts_us, id", params) if usage else []
        shadow_rows = (
            _select(conn, f"{_SHADOW_SELECT}{where} ORDER BY ts_us, id", params) if shadow else []
        )
    finally:
        conn.close()
    records: list[AnyRecord] = [_from_row(row) for row in rows]
    if not shadow_rows:
        return records
    shadows = [_from_shadow_row(str(path), row) for row in shadow_rows]
    if not records:
        return cast("list[AnyRecord]", shadows)
    return list(heapq.merge(records, shadows, key=lambda rec: rec.timestamp))


class SqliteLedger(QueuedFileLedger[R]):
    """Usage records in an SQLite database file (table ``usage_records``), created 0600.

    ``SqliteLedger[ShadowRecord](path)`` keeps shadow records instead (table
    ``shadow_records``); ``records()`` gives each record back as its own type.

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

    def records(self, since: datetime | None = None, until: datetime | None = None) -> list[R]:
        """Records with ``since <= timestamp < until``, in time order (after a flush).

        Raises ``ValueError`` naming the file and row for a corrupt shadow record."""
        self._flush_for_read()
        if not self.path.exists():
            return []
        found = read_sqlite(self.path, since, until, busy_timeout=self.busy_timeout)
        return cast("list[R]", found)

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"SqliteLedger({str(self.path)!r})"
