"""MemoryLedger, MultiLedger and the writer queue behind the file sinks."""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from datetime import datetime, timedelta, timezone

import pytest

from bedrock_lifecycle._pricing import Price
from bedrock_lifecycle._usage import UsageRecord, settle
from bedrock_lifecycle.ledger import Ledger, MemoryLedger, MultiLedger, ReadableLedger
from bedrock_lifecycle.ledger._base import SinkHealth
from bedrock_lifecycle.ledger._writer import BackgroundWriter

from ._records import V2, record_template

T0 = datetime(2025, 12, 1, tzinfo=timezone.utc)


def make(number: int, *, minutes: int = 0) -> UsageRecord:
    return UsageRecord(
        timestamp=T0 + timedelta(minutes=minutes),
        operation="Converse",
        region="us-east-1",
        requested_model_id="anthropic.claude-3-5-sonnet-20241022-v2:0",
        invoked_model_id="anthropic.claude-3-5-sonnet-20241022-v2:0",
        state="EXTENDED_ACCESS",
        extended_access=True,
        input_tokens=1000,
        output_tokens=500,
        cost_usd=0.021,
        standard_cost_usd=0.0105,
        premium_usd=0.0105,
        request_id=f"req-{number}",
    )


def test_memory_ledger_is_bounded_and_filters_by_time() -> None:
    ledger = MemoryLedger(maxlen=3)
    for number in range(5):
        ledger.record(make(number, minutes=number))
    assert [rec.request_id for rec in ledger.records()] == ["req-2", "req-3", "req-4"]
    since, until = T0 + timedelta(minutes=3), T0 + timedelta(minutes=4)
    assert [rec.request_id for rec in ledger.records(since, until)] == ["req-3"]
    assert isinstance(ledger, ReadableLedger)
    assert ledger.errors == 0


def test_memory_ledger_under_threads_loses_nothing() -> None:
    ledger = MemoryLedger(maxlen=10_000)

    def work(thread: int) -> None:
        for number in range(500):
            ledger.record(make(thread * 1000 + number))
            if number % 100 == 0:
                ledger.records()  # readers alongside writers

    threads = [threading.Thread(target=work, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    ids = [rec.request_id for rec in ledger.records()]
    assert len(ids) == 4000 == len(set(ids))


class _Exploding:
    def __init__(self) -> None:
        self.calls = 0

    def record(self, rec: UsageRecord) -> None:
        self.calls += 1
        raise RuntimeError("sink is down")

    def flush(self) -> None:
        raise RuntimeError("sink is down")

    def close(self) -> None:
        pass


def test_multi_ledger_shields_callers_from_a_raising_sink(
    caplog: pytest.LogCaptureFixture,
) -> None:
    broken, memory = _Exploding(), MemoryLedger()
    assert isinstance(broken, Ledger)
    multi = MultiLedger(broken, memory)
    with caplog.at_level(logging.DEBUG, logger="bedrock_lifecycle.ledger"):
        for number in range(3):
            multi.record(make(number))
        multi.flush()
    assert broken.calls == 3
    assert len(memory.records()) == 3 == len(multi.records())
    assert multi.errors == 3
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1
    assert "sink is down" in warnings[0].getMessage()


class _GatedTarget:
    def __init__(self) -> None:
        self.entered = threading.Event()
        self.gate = threading.Event()
        self.written: list[int] = []
        self.synced = 0
        self.released = False

    def write_batch(self, items: Sequence[int]) -> None:
        self.entered.set()
        assert self.gate.wait(10)
        self.written.extend(items)

    def sync(self) -> None:
        self.synced += 1

    def release(self) -> None:
        self.released = True

    def after_fork(self) -> None:
        pass


def test_writer_drops_and_counts_when_the_queue_is_full() -> None:
    target, health = _GatedTarget(), SinkHealth("test")
    writer: BackgroundWriter[int] = BackgroundWriter(target, health, name="t", queue_size=2)
    writer.submit(1)
    assert target.entered.wait(10)  # the writer holds item 1 inside write_batch
    writer.submit(2)
    writer.submit(3)  # queue now full
    writer.submit(4)  # dropped
    assert (health.dropped, health.errors) == (1, 1)
    target.gate.set()
    assert writer.flush()
    assert target.written == [1, 2, 3]
    assert target.synced >= 1
    writer.close()
    assert target.released
    writer.submit(5)  # after close: counted, not raised
    assert health.errors == 2
    assert target.written == [1, 2, 3]


# -- Pending records: what governed calls hand the sinks that accept them ----------------------


def test_pending_records_are_built_and_priced_when_first_read() -> None:
    ledger = MemoryLedger()
    put = ledger.pending_sink()
    put(record_template().pending(T0.timestamp(), (1000, 500, None, None, 250), "req-1"))
    assert len(ledger) == 1
    [first] = ledger.records()
    assert first == UsageRecord(
        timestamp=T0,
        operation="Converse",
        region="us-east-1",
        requested_model_id=V2,
        invoked_model_id=V2,
        state="ACTIVE",
        extended_access=False,
        input_tokens=1000,
        output_tokens=500,
        latency_ms=250,
        cost_usd=0.0105,
        standard_cost_usd=0.0105,
        premium_usd=0.0,
        request_id="req-1",
    )
    assert first.timestamp.tzinfo is timezone.utc
    [again] = ledger.records()
    assert again is first  # built once, kept in place of the raw figures


def test_pending_figures_are_checked_as_the_extractors_check_them() -> None:
    ledger = MemoryLedger()
    # As Bedrock might send them: header strings, a negative, a bool, a float count, a NaN.
    ledger.pending_sink()(record_template().pending(T0, ("1000", -3, True, 2.0, "nan"), 42))
    [rec] = ledger.records()
    assert (rec.input_tokens, rec.output_tokens) == (1000, None)
    assert (rec.cache_read_input_tokens, rec.cache_write_input_tokens) == (None, 2)
    assert rec.latency_ms is None
    assert rec.request_id is None  # not a string: dropped, never stringified
    assert rec.cost_usd is None  # output unknown: no guess


def test_pending_and_built_records_mix_in_order_and_filter_by_time() -> None:
    ledger = MemoryLedger(maxlen=3)
    put = ledger.pending_sink()
    template = record_template()
    for number in range(4):
        when = T0 + timedelta(minutes=number)
        if number % 2:
            ledger.record(make(number, minutes=number))
        else:
            put(template.pending(when.timestamp(), (1, 1, None, None, None), f"req-{number}"))
    assert [r.request_id for r in ledger.records()] == ["req-1", "req-2", "req-3"]
    since = T0 + timedelta(minutes=2)
    assert [r.request_id for r in ledger.records(since=since)] == ["req-2", "req-3"]


def test_an_extended_access_template_prices_the_premium() -> None:
    price = Price(
        input_per_1m=3.0, output_per_1m=15.0, extended_input_per_1m=6.0, extended_output_per_1m=30.0
    )
    template = record_template(price=price, state="EXTENDED_ACCESS", extended_access=True)
    rec = settle(template.pending(T0, (1000, 500, None, None, None), "r"))
    assert (rec.cost_usd, rec.standard_cost_usd, rec.premium_usd) == (0.021, 0.0105, 0.0105)
