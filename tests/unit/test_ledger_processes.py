"""Several processes on one ledger file, a process killed mid-write, and flushing at exit."""

from __future__ import annotations

import multiprocessing
import os
import signal
import subprocess
import sys
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest

from bedrock_lifecycle._usage import UsageRecord
from bedrock_lifecycle.ledger import JsonlLedger, SqliteLedger

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals and O_APPEND semantics"),
]

SPAWN = multiprocessing.get_context("spawn")
T0 = datetime(2025, 12, 1, tzinfo=timezone.utc)


def make(tag: str, number: int) -> UsageRecord:
    return UsageRecord(
        timestamp=T0,
        operation="InvokeModel",
        region="us-east-1",
        requested_model_id="anthropic.claude-3-5-sonnet-20240620-v1:0",
        invoked_model_id="anthropic.claude-3-5-sonnet-20240620-v1:0",
        state="EXTENDED_ACCESS",
        extended_access=True,
        input_tokens=number,
        output_tokens=2 * number,
        request_id=f"{tag}-{number}",
    )


def open_ledger(kind: str, path: str) -> JsonlLedger | SqliteLedger:
    if kind == "jsonl":
        # Small files: the processes rotate under each other's feet.
        return JsonlLedger(path, max_bytes=20_000, backups=1000)
    return SqliteLedger(path)


def _append(kind: str, path: str, tag: str, count: int, start: Any) -> None:
    start.wait(30)
    ledger = open_ledger(kind, path)
    for number in range(count):
        ledger.record(make(tag, number))
        if number % 50 == 0:
            time.sleep(0.001)  # let the processes interleave
    ledger.close()


def _append_until_killed(kind: str, path: str, ready: Any) -> None:
    ledger = open_ledger(kind, path)
    for number in range(300):
        ledger.record(make("flushed", number))
    ledger.flush()
    ready.set()
    number = 0
    while True:
        ledger.record(make("unflushed", number))
        number += 1
        if number % 200 == 0:
            time.sleep(0.0005)


@pytest.mark.parametrize("kind", ["jsonl", "sqlite"])
def test_processes_appending_to_one_file_lose_nothing(tmp_path: Path, kind: str) -> None:
    path = str(tmp_path / f"usage.{kind}")
    start = SPAWN.Event()
    workers = [
        SPAWN.Process(target=_append, args=(kind, path, f"p{n}", 250, start)) for n in range(4)
    ]
    for worker in workers:
        worker.start()
    start.set()
    for worker in workers:
        worker.join(60)
        assert worker.exitcode == 0
    ids = [rec.request_id for rec in open_ledger(kind, path).records()]
    assert len(ids) == 1000 == len(set(ids))
    if kind == "jsonl":
        # Rotation really happened, more than once. (How often depends on how the writer
        # threads batch under load: a batch is never split, so a slow machine rotates less.)
        rotated = [p for p in tmp_path.glob("usage.jsonl.*") if p.suffix != ".lock"]
        assert len(rotated) >= 2


@pytest.mark.parametrize("kind", ["jsonl", "sqlite"])
def test_sigkill_mid_write_keeps_everything_flushed(tmp_path: Path, kind: str) -> None:
    path = str(tmp_path / f"usage.{kind}")
    ready = SPAWN.Event()
    child = SPAWN.Process(target=_append_until_killed, args=(kind, path, ready))
    child.start()
    try:
        assert ready.wait(30)
        time.sleep(0.2)  # the child is writing flat out
    finally:
        os.kill(child.pid, signal.SIGKILL)  # type: ignore[arg-type]
        child.join(30)
    assert child.exitcode == -signal.SIGKILL
    ledger = open_ledger(kind, path)
    records = ledger.records()
    ids = [str(rec.request_id) for rec in records]
    assert len(ids) == len(set(ids))
    assert {f"flushed-{n}" for n in range(300)} <= set(ids)
    unflushed = sorted(int(i.split("-")[1]) for i in ids if i.startswith("unflushed"))
    assert unflushed == list(range(len(unflushed)))  # a prefix: nothing in the middle lost
    assert len(unflushed) > 0
    # The ledger is still writable after the crash.
    ledger.record(make("after", 0))
    assert ledger.records()[-1].request_id == "after-0"
    ledger.close()


def test_records_are_flushed_at_interpreter_exit(tmp_path: Path) -> None:
    path = tmp_path / "usage.jsonl"
    code = (
        "from datetime import datetime, timezone\n"
        "from bedrock_lifecycle._usage import UsageRecord\n"
        "from bedrock_lifecycle.ledger import JsonlLedger\n"
        f"ledger = JsonlLedger({str(path)!r})\n"
        "for n in range(500):\n"
        "    ledger.record(UsageRecord(timestamp=datetime.now(timezone.utc), operation='Converse',"
        " region='us-east-1', requested_model_id='a.b-v1:0', invoked_model_id='a.b-v1:0',"
        " state='ACTIVE', extended_access=False, request_id=str(n)))\n"
    )  # no flush, no close: atexit must do it
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)
    ids = [rec.request_id for rec in JsonlLedger(path).records()]
    assert ids == [str(n) for n in range(500)]
