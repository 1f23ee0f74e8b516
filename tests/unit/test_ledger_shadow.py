"""Shadow records in the ledger sinks: kept, read back as ShadowRecords, totalled apart."""

from __future__ import annotations

import json
import logging
import os
import sqlite3
import stat
import warnings
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from bedrock_lifecycle import ShadowRecord, ShadowSide, UsageRecord
from bedrock_lifecycle.ledger import (
    JsonlLedger,
    MemoryLedger,
    MultiLedger,
    SqliteLedger,
    read_jsonl,
    read_shadow_records,
    summarize,
)

from ._records import usage_record

T0 = datetime(2026, 2, 1, tzinfo=timezone.utc)
V1 = "anthropic.claude-3-5-sonnet-20240620-v1:0"
V2 = "anthropic.claude-3-5-sonnet-20241022-v2:0"
NOVA = "amazon.nova-pro-v1:0"

AnyRecord = UsageRecord | ShadowRecord


def shadow(number: int, *, minutes: int = 0, **overrides: Any) -> ShadowRecord:
    """A Converse call to V1 mirrored to V2 (or ``shadow_model``); ``prompt_hash`` is its id."""
    side: dict[str, Any] = {
        "model_id": overrides.pop("shadow_model", V2),
        "latency_ms": 650.0 + number,
        "input_tokens": 1000,
        "output_tokens": 480,
        "cost_usd": 0.0102,
        "stop_reason": "end_turn",
        "output_chars": 1900,
    }
    side.update(overrides.pop("side", {}))
    values: dict[str, Any] = {
        "timestamp": T0 + timedelta(minutes=minutes, microseconds=number),
        "region": "us-east-1",
        "operation": "Converse",
        "shadow_operation": "Converse",
        "primary": ShadowSide(
            model_id=V1,
            latency_ms=800.0,
            input_tokens=1000,
            output_tokens=500,
            cost_usd=0.021,
            stop_reason="end_turn",
            output_chars=2000,
        ),
        "shadow": ShadowSide(**side),
        "similarity": 0.75,
        "prompt_hash": f"{number:064x}",
    }
    values.update(overrides)
    return ShadowRecord(**values)


def usage(number: int, *, minutes: int = 0, **overrides: Any) -> UsageRecord:
    stamp = T0 + timedelta(minutes=minutes, microseconds=number)
    return usage_record(timestamp=stamp, request_id=f"req-{number}", **overrides)


def ident(rec: AnyRecord) -> str:
    if isinstance(rec, ShadowRecord):
        return f"shadow-{int(rec.prompt_hash or '0', 16)}"
    return str(rec.request_id)


VARIED = [
    shadow(1),
    shadow(2, side={"text": "kept reply"}, prompt='{"messages": []}', score=0.9),
    shadow(
        3,
        side={
            "cost_usd": None,
            "input_tokens": None,
            "output_tokens": None,
            "error_code": "ThrottlingException",
            "error_message": "Too many requests",
        },
        similarity=None,
        region=None,
    ),
]

SinkFactory = Callable[[Path], Any]
SHADOW_SINKS: dict[str, SinkFactory] = {
    "memory": lambda tmp: MemoryLedger[ShadowRecord](),
    "jsonl": lambda tmp: JsonlLedger[ShadowRecord](tmp / "shadow.jsonl"),
    "sqlite": lambda tmp: SqliteLedger[ShadowRecord](tmp / "shadow.db"),
}
MIXED_SINKS: dict[str, SinkFactory] = {
    "memory": lambda tmp: MemoryLedger[AnyRecord](),
    "jsonl": lambda tmp: JsonlLedger[AnyRecord](tmp / "both.jsonl"),
    "sqlite": lambda tmp: SqliteLedger[AnyRecord](tmp / "both.db"),
}
FILE_KINDS = {"jsonl": "shadow.jsonl", "sqlite": "shadow.db"}


@pytest.fixture(params=sorted(SHADOW_SINKS))
def kind(request: pytest.FixtureRequest) -> str:
    return str(request.param)


# -- the sinks keep them ------------------------------------------------------------------------


def test_shadow_records_round_trip_through_each_sink(tmp_path: Path, kind: str) -> None:
    ledger = SHADOW_SINKS[kind](tmp_path)
    for rec in VARIED:
        ledger.record(rec)
    back = ledger.records()
    assert back == VARIED
    assert all(type(rec) is ShadowRecord for rec in back)
    assert back[1].shadow.text == "kept reply"
    assert back[2].shadow.error_code == "ThrottlingException"
    assert ledger.errors == 0
    ledger.close()


@pytest.mark.parametrize("kind", sorted(FILE_KINDS))
def test_a_reopened_file_gives_its_shadow_records_back(tmp_path: Path, kind: str) -> None:
    first = SHADOW_SINKS[kind](tmp_path)
    for rec in VARIED[:2]:
        first.record(rec)
    first.close()
    second = SHADOW_SINKS[kind](tmp_path)
    second.record(VARIED[2])
    second.close()
    assert SHADOW_SINKS[kind](tmp_path).records() == VARIED
    assert read_shadow_records(tmp_path / FILE_KINDS[kind]) == VARIED


def test_mixed_sinks_keep_order_and_each_record_type(tmp_path: Path, kind: str) -> None:
    ledger = MIXED_SINKS[kind](tmp_path)
    written: list[AnyRecord] = []
    for number in range(6):
        rec = shadow(number, minutes=number) if number % 2 else usage(number, minutes=number)
        written.append(rec)
        ledger.record(rec)
    back = ledger.records()
    assert back == written
    assert [type(rec).__name__ for rec in back] == ["UsageRecord", "ShadowRecord"] * 3
    ledger.close()


@pytest.mark.parametrize("kind", sorted(FILE_KINDS))
def test_readers_of_a_mixed_file_get_the_kind_they_ask_for(tmp_path: Path, kind: str) -> None:
    ledger = MIXED_SINKS[kind](tmp_path)
    records = [usage(0), shadow(1), usage(2), shadow(3)]
    for rec in records:
        ledger.record(rec)
    ledger.close()
    path = ledger.path
    assert read_shadow_records(path) == [records[1], records[3]]
    if kind == "jsonl":
        assert read_jsonl(path) == [records[0], records[2]]  # usage readers see no shadow line
    # A usage-typed sink on the same file still reads everything it holds, each as its type.
    assert [ident(rec) for rec in type(ledger)(path).records()] == [
        "req-0",
        "shadow-1",
        "req-2",
        "shadow-3",
    ]


def test_since_until_select_shadow_records(tmp_path: Path, kind: str) -> None:
    ledger = MIXED_SINKS[kind](tmp_path)
    for number in range(6):
        maker = shadow if number % 2 else usage
        ledger.record(maker(number, minutes=number * 10))
    picked = ledger.records(T0 + timedelta(minutes=15), T0 + timedelta(minutes=40))
    assert [ident(rec) for rec in picked] == ["req-2", "shadow-3"]
    only_shadow = SHADOW_SINKS[kind](tmp_path)
    for number in range(4):
        only_shadow.record(shadow(number, minutes=number * 10))
    assert [ident(rec) for rec in only_shadow.records(since=T0 + timedelta(minutes=20))] == [
        "shadow-2",
        "shadow-3",
    ]
    assert only_shadow.records(until=T0) == []
    ledger.close()
    only_shadow.close()


def test_multi_ledger_passes_shadow_records_on(tmp_path: Path) -> None:
    memory = MemoryLedger[ShadowRecord]()
    jsonl = JsonlLedger[ShadowRecord](tmp_path / "shadow.jsonl")
    multi = MultiLedger(memory, jsonl)
    for rec in VARIED:
        multi.record(rec)
    multi.close()
    assert multi.records() == VARIED  # from the first readable sink
    assert read_shadow_records(tmp_path / "shadow.jsonl") == VARIED
    assert multi.errors == 0


# -- on disk ------------------------------------------------------------------------------------


def test_a_jsonl_shadow_line_is_its_to_dict_and_usage_lines_are_unchanged(tmp_path: Path) -> None:
    path = tmp_path / "both.jsonl"
    ledger = JsonlLedger[AnyRecord](path)
    plain, mirrored = usage(0), shadow(1)
    ledger.record(plain)
    ledger.record(mirrored)
    ledger.close()
    first, second = path.read_text("utf-8").splitlines()
    assert first == json.dumps(plain.to_dict(), separators=(",", ":"))
    assert "kind" not in json.loads(first)
    assert json.loads(second) == mirrored.to_dict()
    assert json.loads(second)["kind"] == "shadow"


def test_jsonl_rotation_keeps_shadow_records_in_order(tmp_path: Path) -> None:
    path = tmp_path / "shadow.jsonl"
    line_size = len(json.dumps(shadow(10).to_dict(), separators=(",", ":"))) + 1
    ledger = JsonlLedger[ShadowRecord](path, max_bytes=line_size * 3, backups=2)
    for number in range(10, 30):
        ledger.record(shadow(number))
        ledger.flush()  # one record per batch, so rotation points are exact
    files = sorted(p.name for p in tmp_path.iterdir() if not p.name.endswith(".lock"))
    assert files == ["shadow.jsonl", "shadow.jsonl.1", "shadow.jsonl.2"]
    expected = [f"shadow-{n}" for n in range(22, 30)]
    assert [ident(rec) for rec in ledger.records()] == expected
    assert [ident(rec) for rec in read_shadow_records(path)] == expected
    ledger.close()


def test_sqlite_keeps_shadow_records_in_their_own_table(tmp_path: Path) -> None:
    usage_only = SqliteLedger(tmp_path / "usage.db")
    usage_only.record(usage(0))
    usage_only.close()
    both = SqliteLedger[AnyRecord](tmp_path / "both.db")
    both.record(usage(0))
    for rec in VARIED:
        both.record(rec)
    both.close()

    def tables(name: str) -> set[str]:
        with sqlite3.connect(tmp_path / name) as conn:
            rows = conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'").fetchall()
        return {row[0] for row in rows}

    assert tables("usage.db") == {"usage_records"}  # a usage ledger's file is as it was
    assert tables("both.db") == {"usage_records", "shadow_records"}
    conn = sqlite3.connect(tmp_path / "both.db")
    try:
        assert conn.execute("SELECT count(*) FROM usage_records").fetchone() == (1,)
        rows = conn.execute(
            "SELECT primary_model_id, shadow_model_id, record FROM shadow_records ORDER BY id"
        ).fetchall()
        indexes = conn.execute(
            "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'shadow_records'"
        ).fetchall()
    finally:
        conn.close()
    assert [(row[0], row[1]) for row in rows] == [(V1, V2)] * 3
    assert [json.loads(row[2]) for row in rows] == [rec.to_dict() for rec in VARIED]
    assert indexes == [("shadow_records_ts",)]


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_shadow_files_are_owner_only(tmp_path: Path) -> None:
    old = os.umask(0o022)
    try:
        jsonl = JsonlLedger[ShadowRecord](tmp_path / "a.jsonl", max_bytes=1500, backups=2)
        sqlite = SqliteLedger[ShadowRecord](tmp_path / "a.db")
        for number in range(4):
            jsonl.record(shadow(number))
            sqlite.record(shadow(number))
            jsonl.flush()
        sqlite.flush()
        created = [
            tmp_path / "a.jsonl",
            tmp_path / "a.jsonl.1",
            tmp_path / "a.jsonl.lock",
            tmp_path / "a.db",
            tmp_path / "a.db-wal",
            tmp_path / "a.db-shm",
        ]
        assert {path.name: _mode(path) for path in created} == dict.fromkeys(
            (path.name for path in created), 0o600
        )
        jsonl.close()
        sqlite.close()
    finally:
        os.umask(old)


# -- corrupt files ------------------------------------------------------------------------------


def test_a_corrupt_shadow_line_names_the_file_and_line(tmp_path: Path) -> None:
    path = tmp_path / "both.jsonl"
    broken = shadow(2).to_dict()
    del broken["shadow"]["model_id"]
    path.write_text(
        "\n".join(
            [
                json.dumps(usage(0).to_dict()),
                json.dumps(shadow(1).to_dict()),
                json.dumps(broken),
                "",
            ]
        ),
        encoding="utf-8",
    )
    with pytest.raises(ValueError, match=r"both\.jsonl, line 3: .*shadow\.model_id") as caught:
        read_shadow_records(path)
    assert str(path) in str(caught.value)
    with pytest.raises(ValueError, match=r"both\.jsonl, line 3"):
        JsonlLedger[ShadowRecord](path).records()
    assert [rec.request_id for rec in read_jsonl(path)] == ["req-0"]  # usage readers unaffected


def test_a_corrupt_shadow_line_in_a_rotated_file_names_that_file(tmp_path: Path) -> None:
    path = tmp_path / "shadow.jsonl"
    path.write_text(json.dumps(shadow(5).to_dict()) + "\n", encoding="utf-8")
    broken = {**shadow(1).to_dict(), "similarity": "high"}
    (tmp_path / "shadow.jsonl.1").write_text(
        json.dumps(shadow(0).to_dict()) + "\n\n" + json.dumps(broken) + "\n", encoding="utf-8"
    )
    with pytest.raises(ValueError, match=r"shadow\.jsonl\.1, line 3: .*similarity"):
        read_shadow_records(path)


def test_a_torn_shadow_line_is_skipped_like_any_torn_line(tmp_path: Path) -> None:
    path = tmp_path / "shadow.jsonl"
    good = [json.dumps(shadow(n).to_dict()) for n in range(2)]
    path.write_text(good[0] + "\n" + good[1][:40] + "\n" + good[1] + "\n" + good[1][:30])
    assert [ident(rec) for rec in read_shadow_records(path)] == ["shadow-0", "shadow-1"]
    ledger = JsonlLedger[ShadowRecord](path)
    ledger.record(shadow(2))
    assert [ident(rec) for rec in ledger.records()] == ["shadow-0", "shadow-1", "shadow-2"]
    ledger.close()


def test_a_corrupt_shadow_row_names_the_file_and_row(tmp_path: Path) -> None:
    path = tmp_path / "shadow.db"
    ledger = SqliteLedger[ShadowRecord](path)
    ledger.record(shadow(0))
    ledger.record(shadow(1))
    ledger.close()
    with sqlite3.connect(path) as conn:
        conn.execute('UPDATE shadow_records SET record = \'{"kind": "shadow"}\' WHERE id = 2')
    conn.close()
    with pytest.raises(ValueError, match=r"shadow\.db, shadow_records row 2: .*timestamp"):
        read_shadow_records(path)
    with pytest.raises(ValueError, match="row 2"):
        SqliteLedger[ShadowRecord](path).records()


def test_read_shadow_records_on_other_files(tmp_path: Path) -> None:
    assert read_shadow_records(tmp_path / "never.jsonl") == []
    usage_only = SqliteLedger(tmp_path / "usage.db")
    usage_only.record(usage(0))
    usage_only.close()
    assert read_shadow_records(tmp_path / "usage.db") == []
    bad = tmp_path / "bad.db"
    bad.write_bytes(b"SQLite format 3\x00" + b"\xff" * 200)
    with pytest.raises(ValueError, match=r"bad\.db: not a bedrock-lifecycle SQLite ledger"):
        read_shadow_records(bad)


# -- failures are counted -----------------------------------------------------------------------


@pytest.mark.parametrize("kind", sorted(FILE_KINDS))
def test_shadow_write_failures_are_counted_never_raised(
    tmp_path: Path, kind: str, caplog: pytest.LogCaptureFixture
) -> None:
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("")
    target = blocker / "missing" / "shadow.x"  # below a regular file: fails even for root
    ledger = (
        JsonlLedger[ShadowRecord](target) if kind == "jsonl" else SqliteLedger[ShadowRecord](target)
    )
    with caplog.at_level(logging.DEBUG, logger="bedrock_lifecycle.ledger"):
        for number in range(3):
            ledger.record(shadow(number))
            ledger.flush()
        ledger.close()
        ledger.record(shadow(9))  # after close: counted too
    assert ledger.errors == 4
    assert len([r for r in caplog.records if r.levelno >= logging.WARNING]) == 1


def test_a_full_queue_drops_and_counts_shadow_records(tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("")
    ledger = JsonlLedger[ShadowRecord](blocker / "x" / "shadow.jsonl", queue_size=1)
    ledger._writer._thread = object()  # type: ignore[assignment]  # never started: nothing drains
    try:
        for number in range(3):
            ledger.record(shadow(number))
        assert (ledger.dropped, ledger.errors) == (2, 2)
    finally:
        ledger._writer._thread = None
        ledger.close()


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")
@pytest.mark.parametrize("kind", sorted(FILE_KINDS))
def test_a_forked_child_writes_its_own_shadow_records(tmp_path: Path, kind: str) -> None:
    ledger = SHADOW_SINKS[kind](tmp_path)
    ledger.record(shadow(0))
    ledger.flush()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # fork() with threads, 3.12+
        pid = os.fork()
    if pid == 0:  # pragma: no cover - the child
        code = 1
        try:
            ledger.record(shadow(1))
            ledger.flush()
            code = 0 if ledger.errors == 0 else 3
        finally:
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    ledger.record(shadow(2))
    assert sorted(ident(rec) for rec in ledger.records()) == ["shadow-0", "shadow-1", "shadow-2"]
    ledger.close()


# -- summaries ----------------------------------------------------------------------------------

USAGE = [
    usage(0),
    usage(1, minutes=60 * 24),
    usage(2, invoked_model_id=NOVA, state="ACTIVE", extended_access=False, cost_usd=None,
          standard_cost_usd=None, premium_usd=None),
]  # fmt: skip
FAILED = {"cost_usd": None, "input_tokens": None, "output_tokens": None, "error_code": "E"}
SHADOWS = [
    shadow(10),
    shadow(11, minutes=60 * 24, side={"cost_usd": 0.0098, "output_tokens": 400}),
    shadow(12, shadow_model=NOVA, shadow_operation="InvokeModel", side=FAILED),
]


@pytest.mark.parametrize("by", [("model",), (), ("day", "region"), ("state", "operation")])
def test_shadow_records_never_change_the_usage_totals(by: tuple[str, ...]) -> None:
    alone = summarize(USAGE, by=by)
    mixed = summarize([SHADOWS[0], *USAGE[:2], *SHADOWS[1:], USAGE[2]], by=by)
    assert [row for row in mixed if not row.shadow] == alone
    assert mixed[: len(alone)] == alone  # usage rows first, then the shadow rows
    assert all(row.shadow for row in mixed[len(alone) :])
    assert sum(row.calls for row in mixed if row.shadow) == len(SHADOWS)


def test_shadow_rows_total_the_shadow_side_by_shadow_model() -> None:
    rows = summarize([*USAGE, *SHADOWS])
    shadow_rows = [row for row in rows if row.shadow]
    assert [row.model for row in shadow_rows] == [NOVA, V2]  # the shadow model, never V1
    nova, v2 = shadow_rows
    assert (v2.calls, v2.input_tokens, v2.output_tokens) == (2, 2000, 880)
    assert v2.cost_usd == 0.02  # the shadow side's 0.0102 + 0.0098, not the primary's 0.042
    assert (v2.unpriced_calls, v2.failed_calls, v2.state) == (0, 0, None)
    assert (nova.calls, nova.unpriced_calls, nova.failed_calls, nova.cost_usd) == (1, 1, 1, 0.0)
    assert nova.unmetered_calls == 1
    by_operation = summarize(SHADOWS, by=("operation",))
    assert [(row.operation, row.calls) for row in by_operation] == [
        ("Converse", 2),
        ("InvokeModel", 1),
    ]
    (everything,) = summarize(SHADOWS, by=())
    assert (everything.shadow, everything.calls, everything.cost_usd) == (True, 3, 0.02)
    assert summarize(SHADOWS, by=(), since=T0 + timedelta(hours=1))[0].calls == 1


def test_summary_row_dicts_stay_as_they_were_for_usage_rows() -> None:
    usage_row, shadow_row = summarize([USAGE[0], SHADOWS[0]], by=())
    assert list(usage_row.to_dict()) == [
        "model", "region", "day", "state", "operation", "calls", "input_tokens",
        "output_tokens", "cache_read_input_tokens", "cache_write_input_tokens", "cost_usd",
        "standard_cost_usd", "premium_usd", "unpriced_calls", "unknown_premium_calls",
        "unmetered_calls",
    ]  # fmt: skip
    data = shadow_row.to_dict()
    assert (data["shadow"], data["failed_calls"], data["cost_usd"]) == (True, 0, 0.0102)


def test_memory_ledger_stays_a_usage_ledger_by_default() -> None:
    ledger = MemoryLedger()
    ledger.record(usage(0))
    assert [rec.cost_usd for rec in ledger.records()] == [0.021]
    assert ledger.pending_sink().__name__ == "append"  # still the deque's own append


# -- static typing ------------------------------------------------------------------------------

TYPED_USE = """
from bedrock_lifecycle import ShadowRecord, UsageRecord
from bedrock_lifecycle.ledger import JsonlLedger, Ledger, MemoryLedger, MultiLedger, SqliteLedger


def main_ledger(ledger: Ledger | None) -> None: ...
def shadow_ledger(ledger: Ledger[ShadowRecord]) -> None: ...


for usage in MemoryLedger().records():
    print(usage.cost_usd)
with SqliteLedger("usage.db") as sqlite:
    print([rec.premium_usd for rec in sqlite.records()])
shadows = MemoryLedger[ShadowRecord]()
print([rec.shadow.cost_usd for rec in shadows.records()])
main_ledger(MultiLedger(MemoryLedger(), JsonlLedger("usage.jsonl")))
shadow_ledger(MemoryLedger())
shadow_ledger(MultiLedger(shadows, JsonlLedger[ShadowRecord]("shadow.jsonl")))
both = JsonlLedger[UsageRecord | ShadowRecord]("both.jsonl")
main_ledger(both)
shadow_ledger(both)
plain = MemoryLedger()
plain.record(shadows.records()[0])  # error: a usage ledger
shadow_ledger(plain)  # error
main_ledger(shadows)  # error
"""


@pytest.mark.slow
def test_the_record_type_a_sink_holds_is_checked_statically(tmp_path: Path) -> None:
    api = pytest.importorskip("mypy.api")
    program = tmp_path / "typed_use.py"
    program.write_text(TYPED_USE, encoding="utf-8")
    flags = ["--strict", "--python-version", "3.10", "--config-file", os.devnull]
    out, err, _ = api.run([*flags, "--cache-dir", os.devnull, str(program)])
    errors = [line.split(": error: ")[1] for line in out.splitlines() if ": error: " in line]
    assert errors == [
        'Argument 1 to "record" of "MemoryLedger" has incompatible type "ShadowRecord"; '
        'expected "UsageRecord"  [arg-type]',
        'Argument 1 to "shadow_ledger" has incompatible type "MemoryLedger[UsageRecord]"; '
        'expected "Ledger[ShadowRecord]"  [arg-type]',
        'Argument 1 to "main_ledger" has incompatible type "MemoryLedger[ShadowRecord]"; '
        'expected "Ledger[UsageRecord] | None"  [arg-type]',
    ], out + err
