"""What the governed client adds to a call, next to the raw boto3 client, side by side, on
every lifecycle path a user takes.

Usage::

    python benchmarks/bench_wrapper.py [--calls 1000] [--quick] [--max-added-us 10]
        [--max-ratio 1.02]

Paths (each measured in steady state: after the first call of a decision and its warning):

- ``active``: an Active model, passed through;
- ``legacy``: a Legacy model, after its one ``LegacyModelWarning``;
- ``extended``: a model in public extended access, after its one ``ExtendedAccessWarning``;
- ``fallback``: a model past end of life whose calls go to a configured successor, with the
  request adapted (the call sets ``temperature`` and ``topP``; the successor refuses both
  together). The raw client is timed calling the successor with the request already adapted,
  which is what an application migrated by hand would send.

Every operation (Converse, InvokeModel, ConverseStream, InvokeModelWithResponseStream, streams
drained) is called on every path through:

- ``raw``: the boto3 ``bedrock-runtime`` client talking to the fake Bedrock;
- ``wrapped, no ledger``: the same boto3 client governed by a :class:`LifecycleClient` whose
  governor has ``ledger=None`` (no usage is recorded);
- ``wrapped, MemoryLedger``: the same client governed by :func:`bedrock_lifecycle.wrap`, which
  records each call's usage in a full default ``MemoryLedger`` (10,000 records: the steady
  state);
- ``hooks, MemoryLedger`` (botocore clients only): a client made by a session on which
  :func:`bedrock_lifecycle.install` put its handlers, recording in a full ``MemoryLedger``.

The three variants share one boto3 client, so connection pools and parsed service models are the
same. The variants take turns call by call (one call of each, in a freshly shuffled order, then
the next set), every call timed on its own; the added cost is the median of the paired
differences (variant minus raw, same set) with its 95% confidence interval, so the machine's
drift cancels out. Two transports:

- ``inprocess``: the fake answers from a botocore ``before-send`` handler (no socket). The added
  cost is reported in microseconds (target: at most 10 us).
- ``server``: real HTTP over loopback to the fake's server, Active path. The cost is reported
  as a ratio (target: at most 1.02).

A third table times the wrapper's own work alone on every path (the governed client over a
stand-in boto3 client whose methods return a ready response), which is the added cost without
botocore's noise. A fourth reports what a fresh process pays over its first 10,000 calls, while
its ``MemoryLedger`` fills (medians of the paired differences per 1,000 calls).

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
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from typing import Any, Literal

import bedrock_lifecycle as bl
from bedrock_lifecycle.testing import FakeBedrock, FakeModel, FakeUsage, Scenario

TODAY = datetime.now(timezone.utc).date()  # the catalog runs on the real clock, as in production
MODEL = "anthropic.claude-sonnet-4-20250514-v1:0"  # Active
LEGACY = "anthropic.claude-3-7-sonnet-20250219-v1:0"  # Legacy for 100 days, 200 to go
EXTENDED = "anthropic.claude-3-5-sonnet-20241022-v2:0"  # in extended access for 10 days
RETIRED = "anthropic.claude-3-5-sonnet-20240620-v1:0"  # past end of life for 30 days
SUCCESSOR = "anthropic.claude-sonnet-4-5-20250929-v1:0"  # refuses temperature with top_p
PROMPT = "How far away is the moon?"
MESSAGES = [{"role": "user", "content": [{"text": PROMPT}]}]


def _body(**sampling: float) -> bytes:
    return json.dumps(
        {
            "anthropic_version": "bedrock-2023-05-31",
            "max_tokens": 64,
            **sampling,
            "messages": [{"role": "user", "content": PROMPT}],
        }
    ).encode()


@dataclass(frozen=True)
class Request:
    """What one call sends: the model id, Converse's inferenceConfig, InvokeModel's body."""

    model_id: str
    config: dict[str, Any] | None = None
    body: bytes = _body()


@dataclass(frozen=True)
class Path:
    """One lifecycle path: what the governed variants send, and what the raw client sends."""

    name: str
    governed: Request
    raw: Request


PATHS = {
    path.name: path
    for path in (
        Path("active", Request(MODEL), Request(MODEL)),
        Path("legacy", Request(LEGACY), Request(LEGACY)),
        Path("extended", Request(EXTENDED), Request(EXTENDED)),
        Path(
            "fallback",
            Request(RETIRED, {"temperature": 0.5, "topP": 0.9}, _body(temperature=0.5, top_p=0.9)),
            Request(SUCCESSOR, {"temperature": 0.5}, _body(temperature=0.5)),
        ),
    )
}
POLICY = bl.Policy(successors={RETIRED: SUCCESSOR})
OPERATIONS = ("Converse", "InvokeModel", "ConverseStream", "InvokeModelWithResponseStream")
VARIANTS = ("raw", "wrapped, no ledger", "wrapped, MemoryLedger", "hooks, MemoryLedger")


def _days(count: int) -> date:
    return TODAY + timedelta(days=count)


def scenario() -> Scenario:
    usage = FakeUsage(input_tokens=1000, output_tokens=500)
    return Scenario(
        models=(
            FakeModel(MODEL, regions=("us-east-1",), usage=usage),
            FakeModel(
                LEGACY,
                regions=("us-east-1",),
                legacy_at=_days(-100),
                eol_at=_days(200),
                usage=usage,
            ),
            FakeModel(
                EXTENDED,
                regions=("us-east-1",),
                legacy_at=_days(-100),
                extended_access_at=_days(-10),
                eol_at=_days(80),
                usage=usage,
            ),
            FakeModel(RETIRED, regions=("us-east-1",), eol_at=_days(-30), usage=usage),
            FakeModel(
                SUCCESSOR,
                regions=("us-east-1",),
                refuses_together=(("temperature", "top_p"),),
                usage=usage,
            ),
        )
    )


def call_once(client: Any, operation: str, request: Request = Request(MODEL)) -> None:
    """One call; streams are drained, InvokeModel's body is read."""
    model = request.model_id
    extra: dict[str, Any] = {}
    if request.config is not None:
        extra["inferenceConfig"] = request.config
    if operation == "Converse":
        client.converse(modelId=model, messages=MESSAGES, **extra)
    elif operation == "InvokeModel":
        client.invoke_model(modelId=model, body=request.body)["body"].read()
    elif operation == "ConverseStream":
        for _ in client.converse_stream(modelId=model, messages=MESSAGES, **extra)["stream"]:
            pass
    else:
        body = request.body
        for _ in client.invoke_model_with_response_stream(modelId=model, body=body)["body"]:
            pass


def warm_catalog(fake: FakeBedrock, mode: Literal["inprocess", "server"]) -> bl.Catalog:
    """A catalog that already holds the region's data (lookups make no call)."""
    catalog = bl.Catalog(
        client_factory=lambda region: fake.client("bedrock", region, mode=mode),
        region_name="us-east-1",
        persist=False,
        bundled=False,
        max_wait=5.0,
        # Bedrock lists a model no more once it is past end of life: the catalog knew it before.
        overrides={RETIRED: {"eol_at": _days(-30).isoformat()}},
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


def variants(raw: Any, catalog: bl.Catalog, hooked: Any = None) -> dict[str, Any]:
    """The clients compared; ``hooked`` is a client made by a session with ``install()``."""
    no_ledger = bl.Governor(
        catalog=catalog, policy=POLICY, ledger=None, prices=bl.PriceBook.bundled()
    )
    clients = {
        "raw": raw,
        "wrapped, no ledger": bl.LifecycleClient(raw, no_ledger),
        "wrapped, MemoryLedger": bl.wrap(raw, catalog=catalog, policy=POLICY, ledger=full_ledger()),
    }
    if hooked is not None:
        clients["hooks, MemoryLedger"] = hooked
    return clients


def hooked_client(fake: FakeBedrock, catalog: bl.Catalog, mode: str) -> Any:
    """A plain boto3 client from a session governed by ``install()``."""
    session = fake.session("us-east-1")
    if mode == "server":
        return None  # hooks are timed in-process only
    bl.install(session, catalog=catalog, policy=POLICY, ledger=full_ledger())
    return session.client("bedrock-runtime")


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
    path: Path = PATHS["active"],
) -> Timing:
    """Time ``calls`` single calls of each variant, the variants taking turns call by call.

    Each set makes one call of every variant in a freshly shuffled order and times each call
    on its own, so the machine's drift (other tenants, frequency changes) hits the variants of
    a set alike and cancels out of the paired differences. ``between`` runs untimed every 50
    sets (the fake's request log is emptied there, so its growth taxes no variant).
    """
    shuffler = random.Random(seed)
    requests = {name: path.raw if name == "raw" else path.governed for name in clients}
    for name, client in clients.items():  # warm up: pools, caches, first-time warnings
        for _ in range(20):
            call_once(client, operation, requests[name])
    result: dict[str, list[float]] = {name: [] for name in clients}
    names = list(clients)
    clock = time.perf_counter
    for number in range(calls):
        if between is not None and number % 50 == 0:
            between()
        shuffler.shuffle(names)
        for name in names:
            client = clients[name]
            request = requests[name]
            started = clock()
            call_once(client, operation, request)
            result[name].append(clock() - started)
    return Timing(result)


def filling(fake: FakeBedrock, calls: int, seed: int) -> list[tuple[int, float, float]]:
    """A fresh process's first ``calls`` Converse calls with an empty ``MemoryLedger``: per
    1,000 calls, the median added microseconds and the median ratio (paired, as above)."""
    catalog = warm_catalog(fake, "inprocess")
    raw = fake.client("bedrock-runtime")
    clients = {"raw": raw, "wrapped, MemoryLedger": bl.wrap(raw, catalog=catalog)}
    gc.collect()
    timing = interleaved(clients, "Converse", calls, seed, fake.clear_requests)
    catalog.close()
    rows = []
    for start in range(0, calls, 1000):
        window = Timing({name: times[start : start + 1000] for name, times in timing.calls.items()})
        variant = "wrapped, MemoryLedger"
        rows.append((start + 1000, window.added(variant), window.ratio(variant)))
    return rows


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


def wrapper_only(catalog: bl.Catalog, calls: int, seed: int) -> dict[str, dict[str, Timing]]:
    stand_in = _StandInClient()
    clients = variants(stand_in, catalog)
    return {
        path.name: {op: interleaved(clients, op, calls * 4, seed, path=path) for op in OPERATIONS}
        for path in PATHS.values()
    }


# -- reporting ------------------------------------------------------------------------------------


def _us(seconds: float) -> str:
    return f"{seconds * 1e6:,.1f}"


def _added(timing: Timing, variant: str) -> str:
    low, high = timing.added_interval(variant)
    return f"{timing.added(variant) * 1e6:+.1f} ({low * 1e6:+.1f} to {high * 1e6:+.1f})"


def report(
    results: dict[str, dict[str, dict[str, Timing]]],
    alone: dict[str, dict[str, Timing]],
    fill: list[tuple[int, float, float]],
    max_added_us: float,
    max_ratio: float,
) -> list[str]:
    """Print the tables; return the targets missed."""
    missed: list[str] = []
    governed = VARIANTS[1:]
    print("### In-process (fake via before-send): added microseconds per call, every path\n")
    print("Median of paired differences (95% confidence interval of the median); ratio of the")
    print("MemoryLedger wrapper and of the hooks to raw.\n")
    print(
        "| path | operation | raw us/call | no ledger: added us | MemoryLedger: added us "
        "| hooks: added us | ratio (wrap) | ratio (hooks) |"
    )
    print("|---|---|---:|---:|---:|---:|---:|---:|")
    for path, timings in results["inprocess"].items():
        for op in OPERATIONS:
            timing = timings[op]
            cells = " | ".join(_added(timing, variant) for variant in governed)
            print(
                f"| {path} | {op} | {_us(timing.median('raw'))} | {cells} "
                f"| {timing.ratio(VARIANTS[2]):.3f} | {timing.ratio(VARIANTS[3]):.3f} |"
            )
            for variant in governed:
                added = timing.added(variant) * 1e6
                ratio = timing.ratio(variant)
                if added > max_added_us:
                    missed.append(
                        f"in-process {path} {op} ({variant}): +{added:.1f} us > {max_added_us} us"
                    )
                if ratio > max_ratio:
                    missed.append(
                        f"in-process {path} {op} ({variant}): ratio {ratio:.3f} > {max_ratio}"
                    )
    print("\n### Loopback HTTP (fake server), Active path: ratio wrapped / raw\n")
    print("| operation | raw us/call | no ledger: ratio | MemoryLedger: ratio | added us |")
    print("|---|---:|---:|---:|---:|")
    for op in OPERATIONS:
        timing = results["server"]["active"][op]
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
    print("| path | operation | stand-in alone | no ledger: added us | MemoryLedger: added us |")
    print("|---|---|---:|---:|---:|")
    for path, timings in alone.items():
        for op in OPERATIONS:
            timing = timings[op]
            print(
                f"| {path} | {op} | {_us(timing.median('raw'))} | "
                f"{timing.added('wrapped, no ledger') * 1e6:+.2f} | "
                f"{timing.added('wrapped, MemoryLedger') * 1e6:+.2f} |"
            )
    print("\n### A fresh process: Converse, Active, while its MemoryLedger fills\n")
    print("| calls | added us (median of the 1,000) | ratio |")
    print("|---:|---:|---:|")
    for upto, added, ratio in fill:
        print(f"| {upto - 999:,} to {upto:,} | {added * 1e6:+.1f} | {ratio:.3f} |")
    return missed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--calls", type=int, default=1000, help="calls per variant, path and operation"
    )
    parser.add_argument("--quick", action="store_true", help="few calls (a smoke run)")
    parser.add_argument("--seed", type=int, default=20260115)
    parser.add_argument("--max-added-us", type=float, default=10.0)
    parser.add_argument("--max-ratio", type=float, default=1.02)
    parser.add_argument("--no-fail", action="store_true", help="exit 0 even when targets miss")
    args = parser.parse_args(argv)
    calls = 100 if args.quick else args.calls
    warnings.simplefilter("ignore", bl.LifecycleWarning)  # each is said once, in the warm-up

    results: dict[str, dict[str, dict[str, Timing]]] = {}
    with FakeBedrock(scenario()) as fake:
        modes: tuple[Literal["inprocess", "server"], ...] = ("inprocess", "server")
        for mode in modes:
            catalog = warm_catalog(fake, mode)
            raw = fake.client("bedrock-runtime", mode=mode)
            clients = variants(raw, catalog, hooked_client(fake, catalog, mode))
            paths = PATHS.values() if mode == "inprocess" else (PATHS["active"],)
            results[mode] = {
                path.name: {
                    op: interleaved(clients, op, calls, args.seed, fake.clear_requests, path)
                    for op in OPERATIONS
                }
                for path in paths
            }
            catalog.close()
        catalog = warm_catalog(fake, "inprocess")
        alone = wrapper_only(catalog, calls, args.seed)
        catalog.close()
        fill = filling(fake, 1000 if args.quick else 10_000, args.seed)
    print(f"{calls} calls per variant and operation, variants taking turns call by call\n")
    missed = report(results, alone, fill, args.max_added_us, args.max_ratio)
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
