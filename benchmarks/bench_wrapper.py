"""What the governed client adds to a call, next to the raw boto3 client, side by side.

Usage::

    python benchmarks/bench_wrapper.py [--calls 1500] [--quick] [--max-added-us 10]
        [--max-ratio 1.02]

Every operation (Converse, InvokeModel, ConverseStream, InvokeModelWithResponseStream, streams
drained) is called through:

- ``raw``: the boto3 ``bedrock-runtime`` client talking to the fake Bedrock;
- ``wrapped, no ledger``: the same boto3 client governed by a :class:`LifecycleClient` whose
  governor has ``ledger=None`` (no usage is recorded);
- ``wrapped, MemoryLedger``: the same client governed by :func:`bedrock_lifecycle.wrap`, which
  records each call's usage in a full default ``MemoryLedger`` (10,000 records: the steady
  state).

The three variants share one boto3 client, so connection pools and parsed service models are the
same. The variants take turns call by call (one call of each, in a freshly shuffled order, then
the next set), every call timed on its own; the added cost is the median of the paired
differences (variant minus raw, same set) with its 95% confidence interval, so the machine's
drift cancels out. Two transports:

- ``inprocess``: the fake answers from a botocore ``before-send`` handler (no socket). The added
  cost is reported in microseconds (target: at most 10 us).
- ``server``: real HTTP over loopback to the fake's server. The cost is reported as a ratio
  (target: at most 1.02).

A third table times the wrapper's own work alone (the governed client over a stand-in boto3
client whose methods return a ready response), which is the added cost without botocore's noise.

Exit status 1 when a target is missed (``--no-fail`` to always exit 0).
"""

from __future__ import annotations

import argparse
import gc
import json
import random
import statistics
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Literal

import bedrock_lifecycle as bl
from bedrock_lifecycle.testing import FakeBedrock, FakeModel, FakeUsage, Scenario

MODEL = "anthropic.claude-sonnet-4-20250514-v1:0"
MESSAGES = [{"role": "user", "content": [{"text": "How far away is the moon?"}]}]
BODY = json.dumps(
    {
        "anthropic_version": "bedrock-2023-05-31",
        "max_tokens": 64,
        "messages": [{"role": "user", "content": "How far away is the moon?"}],
    }
).encode()
OPERATIONS = ("Converse", "InvokeModel", "ConverseStream", "InvokeModelWithResponseStream")
VARIANTS = ("raw", "wrapped, no ledger", "wrapped, MemoryLedger")


def scenario() -> Scenario:
    usage = FakeUsage(input_tokens=1000, output_tokens=500)
    return Scenario(models=(FakeModel(MODEL, regions=("us-east-1",), usage=usage),))


def call_once(client: Any, operation: str) -> None:
    """One call; streams are drained, InvokeModel's body is read."""
    if operation == "Converse":
        client.converse(modelId=MODEL, messages=MESSAGES)
    elif operation == "InvokeModel":
        client.invoke_model(modelId=MODEL, body=BODY)["body"].read()
    elif operation == "ConverseStream":
        for _ in client.converse_stream(modelId=MODEL, messages=MESSAGES)["stream"]:
            pass
    else:
        for _ in client.invoke_model_with_response_stream(modelId=MODEL, body=BODY)["body"]:
            pass


def warm_catalog(fake: FakeBedrock, mode: Literal["inprocess", "server"]) -> bl.Catalog:
    """A catalog that already holds the region's data (lookups make no call)."""
    catalog = bl.Catalog(
        client_factory=lambda region: fake.client("bedrock", region, mode=mode),
        region_name="us-east-1",
        persist=False,
        max_wait=5.0,
    )
    catalog.refresh("us-east-1")
    return catalog


def full_ledger() -> bl.MemoryLedger:
    """A default ``MemoryLedger`` already holding its 10,000 records: the steady state.

    While a ledger fills, every record it keeps is a new long-lived object, and the cyclic
    garbage collector's full passes over a botocore-sized heap come round more often; measured
    on an empty ledger, that start-up cost (paid once per process, over its first 10,000 calls)
    would be reported as if every call paid it. Once full, each new record replaces the oldest.
    """
    ledger = bl.MemoryLedger()
    stamp = datetime(2026, 1, 1, tzinfo=timezone.utc)
    for number in range(ledger.maxlen):
        ledger.record(
            bl.UsageRecord(
                timestamp=stamp,
                operation="Converse",
                region="us-east-1",
                requested_model_id=MODEL,
                invoked_model_id=MODEL,
                state="ACTIVE",
                extended_access=False,
                input_tokens=number,
                output_tokens=number,
            )
        )
    gc.collect()
    return ledger


def variants(raw: Any, catalog: bl.Catalog) -> dict[str, Any]:
    no_ledger = bl.Governor(
        catalog=catalog, policy=bl.Policy(), ledger=None, prices=bl.PriceBook.bundled()
    )
    return {
        "raw": raw,
        "wrapped, no ledger": bl.LifecycleClient(raw, no_ledger),
        "wrapped, MemoryLedger": bl.wrap(raw, catalog=catalog, ledger=full_ledger()),
    }


@dataclass
class Timing:
    """Seconds per call of each variant; index ``i`` of every list is one interleaved set."""

    calls: dict[str, list[float]]

    def median(self, variant: str) -> float:
        return statistics.median(self.calls[variant])

    def _paired(self, variant: str) -> list[float]:
        pairs = zip(self.calls[variant], self.calls["raw"], strict=True)
        return sorted(a - b for a, b in pairs)

    def added(self, variant: str) -> float:
        """Median of (variant - raw) over calls made side by side."""
        return statistics.median(self._paired(variant))

    def added_interval(self, variant: str) -> tuple[float, float]:
        """A distribution-free 95% confidence interval of :meth:`added` (order statistics)."""
        diffs = self._paired(variant)
        n = len(diffs)
        half = 0.98 * n**0.5  # 1.96 * sqrt(n) / 2
        low, high = max(0, int(n / 2 - half)), min(n - 1, int(n / 2 + half + 1))
        return diffs[low], diffs[high]

    def ratio(self, variant: str) -> float:
        """Median of variant / raw over calls made side by side."""
        pairs = zip(self.calls[variant], self.calls["raw"], strict=True)
        return statistics.median(a / b for a, b in pairs)


def interleaved(
    clients: dict[str, Any],
    operation: str,
    calls: int,
    seed: int,
    between: Callable[[], None] | None = None,
) -> Timing:
    """Time ``calls`` single calls of each variant, the variants taking turns call by call.

    Each set makes one call of every variant in a freshly shuffled order and times each call
    on its own, so the machine's drift (other tenants, frequency changes) hits the variants of
    a set alike and cancels out of the paired differences. ``between`` runs untimed every 50
    sets (the fake's request log is emptied there, so its growth taxes no variant).
    """
    shuffler = random.Random(seed)
    for client in clients.values():  # warm up: pools, caches, first-time warnings
        for _ in range(20):
            call_once(client, operation)
    result: dict[str, list[float]] = {name: [] for name in clients}
    names = list(clients)
    clock = time.perf_counter
    for number in range(calls):
        if between is not None and number % 50 == 0:
            between()
        shuffler.shuffle(names)
        for name in names:
            client = clients[name]
            started = clock()
            call_once(client, operation)
            result[name].append(clock() - started)
    return Timing(result)


# -- the wrapper's own work, without botocore ---------------------------------------------------


class _StandInMeta:
    region_name = "us-east-1"
    endpoint_url = "https://bedrock-runtime.us-east-1.amazonaws.com"

    class service_model:
        service_name = "bedrock-runtime"


class _StandInClient:
    """Answers like a boto3 client with ready-made responses (for the wrapper-only figure)."""

    meta = _StandInMeta()
    exceptions = None

    def __init__(self) -> None:
        self._headers = {
            "x-amzn-bedrock-input-token-count": "1000",
            "x-amzn-bedrock-output-token-count": "500",
            "x-amzn-bedrock-invocation-latency": "250",
        }

    def _metadata(self) -> dict[str, Any]:
        return {"RequestId": "req", "HTTPStatusCode": 200, "HTTPHeaders": dict(self._headers)}

    def converse(self, **_: Any) -> dict[str, Any]:
        return {
            "ResponseMetadata": self._metadata(),
            "output": {"message": {"role": "assistant", "content": [{"text": "hi"}]}},
            "usage": {"inputTokens": 1000, "outputTokens": 500, "totalTokens": 1500},
            "metrics": {"latencyMs": 250},
            "stopReason": "end_turn",
        }

    def invoke_model(self, **_: Any) -> dict[str, Any]:
        return {"ResponseMetadata": self._metadata(), "body": _Body(), "contentType": "x"}

    def converse_stream(self, **_: Any) -> dict[str, Any]:
        events: list[dict[str, Any]] = [
            {"messageStart": {"role": "assistant"}},
            {"contentBlockDelta": {"delta": {"text": "hi"}, "contentBlockIndex": 0}},
            {"messageStop": {"stopReason": "end_turn"}},
            {
                "metadata": {
                    "usage": {"inputTokens": 1000, "outputTokens": 500, "totalTokens": 1500},
                    "metrics": {"latencyMs": 250},
                }
            },
        ]
        return {"ResponseMetadata": self._metadata(), "stream": _Events(events)}

    def invoke_model_with_response_stream(self, **_: Any) -> dict[str, Any]:
        last = {
            "type": "message_stop",
            "amazon-bedrock-invocationMetrics": {
                "inputTokenCount": 1000,
                "outputTokenCount": 500,
                "invocationLatency": 250,
                "firstByteLatency": 80,
            },
        }
        events: list[dict[str, Any]] = [
            {"chunk": {"bytes": b'{"type":"content_block_delta","delta":{"text":"hi"}}'}},
            {"chunk": {"bytes": json.dumps(last).encode()}},
        ]
        return {"ResponseMetadata": self._metadata(), "body": _Events(events)}


class _Body:
    def read(self) -> bytes:
        return b"{}"


class _Events:
    def __init__(self, events: list[dict[str, Any]]) -> None:
        self._events = events

    def __iter__(self) -> Iterator[dict[str, Any]]:
        return iter(self._events)

    def close(self) -> None:
        pass


def wrapper_only(catalog: bl.Catalog, calls: int, seed: int) -> dict[str, Timing]:
    stand_in = _StandInClient()
    clients = variants(stand_in, catalog)
    return {op: interleaved(clients, op, calls * 4, seed) for op in OPERATIONS}


# -- reporting ------------------------------------------------------------------------------------


def _us(seconds: float) -> str:
    return f"{seconds * 1e6:,.1f}"


def _added(timing: Timing, variant: str) -> str:
    low, high = timing.added_interval(variant)
    return f"{timing.added(variant) * 1e6:+.1f} ({low * 1e6:+.1f} to {high * 1e6:+.1f})"


def report(
    results: dict[str, dict[str, Timing]],
    alone: dict[str, Timing],
    max_added_us: float,
    max_ratio: float,
) -> list[str]:
    """Print the tables; return the targets missed."""
    missed: list[str] = []
    print("### In-process (fake via before-send): added microseconds per call\n")
    print("Median of paired differences (95% confidence interval of the median).\n")
    print("| operation | raw us/call | no ledger: added us | MemoryLedger: added us | ratio |")
    print("|---|---:|---:|---:|---:|")
    for op in OPERATIONS:
        timing = results["inprocess"][op]
        print(
            f"| {op} | {_us(timing.median('raw'))} | {_added(timing, 'wrapped, no ledger')} "
            f"| {_added(timing, 'wrapped, MemoryLedger')} "
            f"| {timing.ratio('wrapped, MemoryLedger'):.3f} |"
        )
        for label, variant in (("no ledger", VARIANTS[1]), ("MemoryLedger", VARIANTS[2])):
            added = timing.added(variant) * 1e6
            if added > max_added_us:
                missed.append(f"in-process {op} ({label}): +{added:.1f} us > {max_added_us} us")
    print("\n### Loopback HTTP (fake server): ratio wrapped / raw\n")
    print("| operation | raw us/call | no ledger: ratio | MemoryLedger: ratio | added us |")
    print("|---|---:|---:|---:|---:|")
    for op in OPERATIONS:
        timing = results["server"][op]
        ratio_none = timing.ratio("wrapped, no ledger")
        ratio_mem = timing.ratio("wrapped, MemoryLedger")
        print(
            f"| {op} | {_us(timing.median('raw'))} | {ratio_none:.3f} | {ratio_mem:.3f} "
            f"| {_added(timing, 'wrapped, MemoryLedger')} |"
        )
        for label, ratio in (("no ledger", ratio_none), ("MemoryLedger", ratio_mem)):
            if ratio > max_ratio:
                missed.append(f"loopback {op} ({label}): ratio {ratio:.3f} > {max_ratio}")
    print("\n### The wrapper's own work (stand-in client, no botocore): microseconds per call\n")
    print("| operation | stand-in alone | no ledger: added us | MemoryLedger: added us |")
    print("|---|---:|---:|---:|")
    for op in OPERATIONS:
        timing = alone[op]
        print(
            f"| {op} | {_us(timing.median('raw'))} | "
            f"{timing.added('wrapped, no ledger') * 1e6:+.2f} | "
            f"{timing.added('wrapped, MemoryLedger') * 1e6:+.2f} |"
        )
    return missed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--calls", type=int, default=1500, help="calls per variant and operation (per transport)"
    )
    parser.add_argument("--quick", action="store_true", help="few calls (a smoke run)")
    parser.add_argument("--seed", type=int, default=20260115)
    parser.add_argument("--max-added-us", type=float, default=10.0)
    parser.add_argument("--max-ratio", type=float, default=1.02)
    parser.add_argument("--no-fail", action="store_true", help="exit 0 even when targets miss")
    args = parser.parse_args(argv)
    calls = 100 if args.quick else args.calls

    results: dict[str, dict[str, Timing]] = {}
    with FakeBedrock(scenario()) as fake:
        modes: tuple[Literal["inprocess", "server"], ...] = ("inprocess", "server")
        for mode in modes:
            catalog = warm_catalog(fake, mode)
            raw = fake.client("bedrock-runtime", mode=mode)
            clients = variants(raw, catalog)
            results[mode] = {
                op: interleaved(clients, op, calls, args.seed, fake.clear_requests)
                for op in OPERATIONS
            }
            catalog.close()
        catalog = warm_catalog(fake, "inprocess")
        alone = wrapper_only(catalog, calls, args.seed)
        catalog.close()
    print(f"{calls} calls per variant and operation, variants taking turns call by call\n")
    missed = report(results, alone, args.max_added_us, args.max_ratio)
    print()
    if missed:
        print("Targets missed:")
        for line in missed:
            print(f"- {line}")
    else:
        print(f"Targets met: <= {args.max_added_us} us in-process, ratio <= {args.max_ratio}.")
    return 1 if missed and not args.no_fail else 0


if __name__ == "__main__":
    sys.exit(main())
