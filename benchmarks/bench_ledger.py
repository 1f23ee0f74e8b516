"""How fast each ledger sink takes records.

Run: ``python benchmarks/bench_ledger.py [records]``. Two figures per sink:

- ``record() us``: the caller's cost, microseconds per ``record()`` call (the hot path);
- ``records/s``: end-to-end throughput, from the first ``record()`` until everything is written
  (``flush()`` returned).

Both are also shown as a ratio to MemoryLedger, the default sink. EMF writes to /dev/null-like
sink files; OTel uses the SDK with an in-memory reader (skipped without the ``otel`` extra).
"""

from __future__ import annotations

import io
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from bedrock_lifecycle._usage import UsageRecord
from bedrock_lifecycle.ledger import EmfLedger, JsonlLedger, MemoryLedger, SqliteLedger


def _record(number: int) -> UsageRecord:
    return UsageRecord(
        timestamp=datetime.now(timezone.utc),
        operation="Converse",
        region="us-east-1",
        requested_model_id="us.anthropic.claude-3-5-sonnet-20241022-v2:0",
        invoked_model_id="us.anthropic.claude-3-5-sonnet-20241022-v2:0",
        state="EXTENDED_ACCESS",
        extended_access=True,
        input_tokens=1000 + number % 100,
        output_tokens=500,
        latency_ms=812,
        cost_usd=0.021,
        standard_cost_usd=0.0105,
        premium_usd=0.0105,
        request_id=f"req-{number}",
    )


def _sinks(tmp: Path) -> dict[str, Callable[[], Any]]:
    sinks: dict[str, Callable[[], Any]] = {
        "MemoryLedger": lambda: MemoryLedger(maxlen=1_000_000),
        "JsonlLedger": lambda: JsonlLedger(tmp / "bench.jsonl", queue_size=1_000_000),
        "SqliteLedger": lambda: SqliteLedger(tmp / "bench.db", queue_size=1_000_000),
        "EmfLedger(file)": lambda: EmfLedger(path=tmp / "bench.emf"),
        "EmfLedger(stream)": lambda: EmfLedger(io.StringIO()),
    }
    try:
        from opentelemetry.sdk.metrics import MeterProvider
        from opentelemetry.sdk.metrics.export import InMemoryMetricReader

        from bedrock_lifecycle.ledger import OtelLedger

        sinks["OtelLedger"] = lambda: OtelLedger(
            MeterProvider(metric_readers=[InMemoryMetricReader()])
        )
    except ImportError:
        pass
    return sinks


def measure(factory: Callable[[], Any], records: list[UsageRecord]) -> tuple[float, float]:
    """``(microseconds per record() call, records per second end to end)``."""
    sink = factory()
    sink.record(records[0])  # open files, start threads
    sink.flush()
    start = time.perf_counter()
    for rec in records:
        sink.record(rec)
    hot = time.perf_counter() - start
    sink.flush()
    total = time.perf_counter() - start
    sink.close()
    errors = getattr(sink, "errors", 0)
    if errors:
        raise SystemExit(f"{type(sink).__name__}: {errors} records lost during the benchmark")
    return hot / len(records) * 1e6, len(records) / total


def main() -> None:
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 50_000
    records = [_record(number) for number in range(count)]
    results: dict[str, tuple[float, float]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for name, factory in _sinks(Path(tmp)).items():
            results[name] = min(
                (measure(factory, records) for _ in range(3)), key=lambda result: result[0]
            )
    base_us, base_rate = results["MemoryLedger"]
    print(f"{count} records per run, best of 3")
    print(f"{'sink':<20}{'record() us':>12}{'x memory':>10}{'records/s':>12}{'x memory':>10}")
    for name, (micros, rate) in results.items():
        print(
            f"{name:<20}{micros:>12.2f}{micros / base_us:>10.1f}"
            f"{rate:>12,.0f}{rate / base_rate:>10.3f}"
        )


if __name__ == "__main__":
    main()
