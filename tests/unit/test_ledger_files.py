"""The file sinks: JSON Lines, SQLite and EMF-to-file, within one process."""

from __future__ import annotations

import json
import logging
import os
import stat
import threading
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from bedrock_lifecycle._usage import UsageRecord
from bedrock_lifecycle.ledger import EmfLedger, JsonlLedger, SqliteLedger

T0 = datetime(2025, 12, 1, tzinfo=timezone.utc)
V2 = "anthropic.claude-3-5-sonnet-20241022-v2:0"


def make(number: int, *, minutes: int = 0, **overrides: Any) -> UsageRecord:
    values: dict[str, Any] = {
        "timestamp": T0 + timedelta(minutes=minutes, microseconds=number),
        "operation": "Converse",
        "region": "us-east-1",
        "requested_model_id": V2,
        "invoked_model_id": V2,
        "state": "EXTENDED_ACCESS",
        "extended_access": True,
        "input_tokens": 1000,
        "output_tokens": 500,
        "latency_ms": 812.5,
        "cost_usd": 0.021,
        "standard_cost_usd": 0.0105,
        "premium_usd": 0.0105,
        "request_id": f"req-{number}",
    }
    values.update(overrides)
    return UsageRecord(**values)


Readable = JsonlLedger | SqliteLedger
FACTORIES: dict[str, Callable[[Path], Readable]] = {
    "jsonl": lambda tmp: JsonlLedger(tmp / "usage.jsonl"),
    "sqlite": lambda tmp: SqliteLedger(tmp / "usage.db"),
}


@pytest.fixture(params=sorted(FACTORIES))
def kind(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def test_records_round_trip_exactly(tmp_path: Path, kind: str) -> None:
    ledger = FACTORIES[kind](tmp_path)
    originals = [
        make(1),
        make(2, cost_usd=None, premium_usd=None, input_tokens=None, region=None),
        make(3, fallback_from="anthropic.claude-3-5-sonnet-20240620-v1:0", latency_ms=12),
    ]
    for rec in originals:
        ledger.record(rec)
    assert ledger.records() == originals
    ledger.close()


def test_since_until_select_records(tmp_path: Path, kind: str) -> None:
    ledger = FACTORIES[kind](tmp_path)
    for number in range(6):
        ledger.record(make(number, minutes=number * 10))
    picked = ledger.records(T0 + timedelta(minutes=15), T0 + timedelta(minutes=40))
    assert [rec.request_id for rec in picked] == ["req-2", "req-3"]
    ledger.close()


def test_a_new_instance_reads_what_an_earlier_one_wrote(tmp_path: Path, kind: str) -> None:
    first = FACTORIES[kind](tmp_path)
    for number in range(10):
        first.record(make(number))
    first.close()
    second = FACTORIES[kind](tmp_path)
    for number in range(10, 15):
        second.record(make(number))
    assert [rec.request_id for rec in second.records()] == [f"req-{n}" for n in range(15)]
    second.close()


def _write_from_threads(ledger: JsonlLedger | SqliteLedger | EmfLedger) -> None:
    def work(thread: int) -> None:
        for number in range(500):
            ledger.record(make(thread * 1000 + number))

    threads = [threading.Thread(target=work, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


def test_eight_threads_lose_and_duplicate_nothing(tmp_path: Path, kind: str) -> None:
    ledger = FACTORIES[kind](tmp_path)
    _write_from_threads(ledger)
    ids = [rec.request_id for rec in ledger.records()]
    assert len(ids) == 4000 == len(set(ids))
    assert ledger.errors == 0
    ledger.close()


def test_eight_threads_on_an_emf_file(tmp_path: Path) -> None:
    ledger = EmfLedger(path=tmp_path / "emf.log")
    _write_from_threads(ledger)
    ledger.close()
    lines = (tmp_path / "emf.log").read_text().splitlines()
    ids = [json.loads(line)["request_id"] for line in lines]
    assert len(ids) == 4000 == len(set(ids))


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_files_are_owner_only(tmp_path: Path) -> None:
    old = os.umask(0o022)
    try:
        jsonl = JsonlLedger(tmp_path / "a.jsonl", max_bytes=600, backups=2)
        sqlite = SqliteLedger(tmp_path / "a.db")
        emf = EmfLedger(path=tmp_path / "a.emf")
        for number in range(4):
            for sink in (jsonl, sqlite, emf):
                sink.record(make(number))
            jsonl.flush()
        sqlite.flush()
        created = [
            tmp_path / "a.jsonl",
            tmp_path / "a.jsonl.1",
            tmp_path / "a.jsonl.lock",
            tmp_path / "a.db",
            tmp_path / "a.db-wal",
            tmp_path / "a.db-shm",
            tmp_path / "a.emf",
        ]
        assert {path.name: _mode(path) for path in created} == dict.fromkeys(
            (path.name for path in created), 0o600
        )
        for sink in (jsonl, sqlite, emf):
            sink.close()
    finally:
        os.umask(old)


def test_jsonl_rotates_by_size_and_keeps_backups(tmp_path: Path) -> None:
    path = tmp_path / "usage.jsonl"
    line_size = len(json.dumps(make(10).to_dict(), separators=(",", ":"))) + 1
    ledger = JsonlLedger(path, max_bytes=line_size * 3, backups=2)
    for number in range(10, 30):
        ledger.record(make(number))
        ledger.flush()  # one record per batch, so rotation points are exact
    files = sorted(p.name for p in tmp_path.iterdir() if not p.name.endswith(".lock"))
    assert files == ["usage.jsonl", "usage.jsonl.1", "usage.jsonl.2"]
    for name in files:
        assert (tmp_path / name).stat().st_size <= line_size * 3
    # 20 records, 3 per file: the current file holds 2, the two backups 3 each.
    assert [rec.request_id for rec in ledger.records()] == [f"req-{n}" for n in range(22, 30)]
    ledger.close()


def test_jsonl_skips_a_torn_last_line_and_writes_after_it(tmp_path: Path) -> None:
    path = tmp_path / "usage.jsonl"
    good = [json.dumps(make(n).to_dict()) for n in range(2)]
    path.write_text(good[0] + "\n" + good[1] + "\n" + good[1][:40])
    ledger = JsonlLedger(path)
    assert [rec.request_id for rec in ledger.records()] == ["req-0", "req-1"]
    ledger.record(make(2))
    assert [rec.request_id for rec in ledger.records()] == ["req-0", "req-1", "req-2"]
    ledger.close()
    assert path.read_text().splitlines()[2] == good[1][:40]  # the fragment stays on its own line


def test_jsonl_follows_another_writers_rotation(tmp_path: Path) -> None:
    path = tmp_path / "usage.jsonl"
    ledger = JsonlLedger(path)
    ledger.record(make(0))
    ledger.flush()
    os.replace(path, tmp_path / "usage.jsonl.1")  # as another process's rotation would
    ledger.record(make(1))
    ledger.flush()
    assert len(path.read_text().splitlines()) == 1
    assert [rec.request_id for rec in ledger.records()] == ["req-0", "req-1"]
    ledger.close()


@pytest.mark.parametrize("kind", ["jsonl", "sqlite", "emf"])
def test_an_unusable_path_logs_once_and_never_raises(
    tmp_path: Path, kind: str, caplog: pytest.LogCaptureFixture
) -> None:
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("")
    target = blocker / "missing" / "usage.x"  # below a regular file: fails even for root
    ledger: JsonlLedger | SqliteLedger | EmfLedger
    if kind == "jsonl":
        ledger = JsonlLedger(target)
    elif kind == "sqlite":
        ledger = SqliteLedger(target)
    else:
        ledger = EmfLedger(path=target)
    with caplog.at_level(logging.DEBUG, logger="bedrock_lifecycle.ledger"):
        for number in range(3):
            ledger.record(make(number))
            ledger.flush()
        ledger.close()
        ledger.record(make(9))  # after close: counted too
    assert ledger.errors == 4
    warnings = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert len(warnings) == 1, [r.getMessage() for r in warnings]


def test_sqlite_records_on_a_missing_file_are_empty(tmp_path: Path) -> None:
    ledger = SqliteLedger(tmp_path / "never.db")
    assert ledger.records() == []
    ledger.close()
    assert not (tmp_path / "never.db").exists()


def test_pending_records_are_built_on_the_writer_thread(tmp_path: Path, kind: str) -> None:
    from ._records import record_template

    template = record_template(operation="InvokeModel")
    ledger = FACTORIES[kind](tmp_path)
    ledger.pending_sink()(template.pending(T0.timestamp(), ("1000", "500", None, None, "7"), "r"))
    [rec] = ledger.records()
    assert (rec.timestamp, rec.operation, rec.request_id) == (T0, "InvokeModel", "r")
    assert (rec.input_tokens, rec.output_tokens, rec.latency_ms) == (1000, 500, 7)
    assert rec.cost_usd == 0.0105
    ledger.close()
    assert FACTORIES[kind](tmp_path).records() == [rec]  # on disk as a whole record
