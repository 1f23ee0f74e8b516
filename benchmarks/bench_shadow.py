"""What shadow traffic and budgets cost the caller's thread, per call they touch.

Usage::

    python benchmarks/bench_shadow.py [--calls 3000] [--max-added-us 10] [--no-fail]

A Legacy model whose successor is configured, called through the governed client over a
stand-in boto3 client (a ready response, so only the library's own work is timed), with and
without a ``Shadow(rate=1.0)``: every call of the shadowed client is sampled, decided, its
response watched and its pair queued. The shadows themselves run on the worker threads.

The figure is the caller thread's **CPU time** (``time.thread_time``), not the wall clock: the
workers share the interpreter, and the time the caller waits for them is not work done on its
behalf. The two clients take turns call by call; the added cost is the median of the paired
differences. Target: at most 10 us per sampled call, for each operation (streams drained,
InvokeModel's body read, as the caller reads them).

A second table does the same for a budget: a model in extended access, with and without a
premium ``Budget`` covering it (a limit never reached), so every call is charged. No target is set
for it; the figure is written in docs/performance.md.

Exit status 1 when a target is missed (``--no-fail`` to always exit 0).
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
import warnings
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import bench_wrapper as bw

import bedrock_lifecycle as bl
from bedrock_lifecycle.testing import FakeBedrock

POLICY = bl.Policy(successors={bw.LEGACY: bw.SUCCESSOR, bw.RETIRED: bw.SUCCESSOR})


def paired(
    clients: dict[str, Any], request: bw.Request, calls: int, seed: int
) -> dict[str, tuple[float, float, float]]:
    """Per operation: (median CPU us of ``plain``, of the other client, median paired
    difference), the two clients taking turns call by call."""
    (first, plain), (second, other) = clients.items()
    shuffler = random.Random(seed)
    clock = time.thread_time
    results: dict[str, tuple[float, float, float]] = {}
    for operation in bw.OPERATIONS:
        for client in (plain, other):
            for _ in range(20):
                bw.call_once(client, operation, request)
        times: dict[str, list[float]] = {first: [], second: []}
        names = [first, second]
        for _ in range(calls):
            shuffler.shuffle(names)
            for name in names:
                started = clock()
                bw.call_once(clients[name], operation, request)
                times[name].append(clock() - started)
        differences = [b - a for b, a in zip(times[second], times[first], strict=True)]
        results[operation] = (
            statistics.median(times[first]) * 1e6,
            statistics.median(times[second]) * 1e6,
            statistics.median(differences) * 1e6,
        )
    return results


def measure_budget(calls: int, seed: int) -> dict[str, tuple[float, float, float]]:
    """Per operation, a model in extended access: without and with a premium budget."""
    fake = FakeBedrock(bw.scenario())
    catalog = bw.warm_catalog(fake, "inprocess")
    stand_in = bw._StandInClient()
    budget = bl.Budget(1e12, kind="premium")
    clients = {
        "plain": bl.wrap(stand_in, catalog=catalog, policy=POLICY, ledger=bw.full_ledger()),
        "budget": bl.wrap(
            stand_in, catalog=catalog, policy=POLICY, ledger=bw.full_ledger(), budgets=[budget]
        ),
    }
    results = paired(clients, bw.Request(bw.EXTENDED), calls, seed)
    if budget.spend() <= 0:
        raise SystemExit("the budget was never charged")
    return results


def measure(calls: int, seed: int) -> tuple[dict[str, tuple[float, float, float]], float]:
    """Per operation: (median CPU us without shadow, with shadow, median paired difference);
    and the workers' CPU time per shadow, in us (the process's CPU time less the caller's)."""
    fake = FakeBedrock(bw.scenario())
    catalog = bw.warm_catalog(fake, "inprocess")
    stand_in = bw._StandInClient()
    pairs = bl.MemoryLedger[bl.ShadowRecord](maxlen=1000)
    shadow = bl.Shadow(rate=1.0, max_in_flight=10**7, max_calls_per_minute=None, ledger=pairs)
    clients = {
        "plain": bl.wrap(stand_in, catalog=catalog, policy=POLICY, ledger=bw.full_ledger()),
        "shadow": bl.wrap(
            stand_in, catalog=catalog, policy=POLICY, ledger=bw.full_ledger(), shadow=shadow
        ),
    }
    process, caller = time.process_time(), time.thread_time()
    results = paired(clients, bw.Request(bw.LEGACY), calls, seed)
    shadow.close(timeout=30.0)
    workers = (time.process_time() - process) - (time.thread_time() - caller)
    stats = shadow.stats()
    expected = calls * len(bw.OPERATIONS) + 20 * len(bw.OPERATIONS)
    if stats["sent"] + stats["dropped"] != expected:
        raise SystemExit(f"not every call was mirrored: {stats} (expected {expected})")
    return results, workers / max(stats["sent"], 1) * 1e6


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--calls", type=int, default=3000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--max-added-us", type=float, default=10.0)
    parser.add_argument("--no-fail", action="store_true")
    args = parser.parse_args(argv)
    warnings.simplefilter("ignore", bl.LifecycleWarning)
    results, per_shadow = measure(args.calls, args.seed)
    print("## Shadow traffic: cost on the caller's thread (CPU time per sampled call)\n")
    print(f"{args.calls:,} calls per client and operation, paired; Legacy model, rate=1.0.\n")
    print("| operation | governed, us | governed + shadow, us | added, us | target |")
    print("|---|---:|---:|---:|---|")
    missed = False
    for operation, (plain, shadowed, added) in results.items():
        ok = added <= args.max_added_us
        missed |= not ok
        verdict = "met" if ok else f"MISSED (> {args.max_added_us:g} us)"
        print(f"| {operation} | {plain:,.1f} | {shadowed:,.1f} | {added:+,.1f} | {verdict} |")
    print(
        f"\nThe worker threads spent {per_shadow:,.0f} us of CPU per shadow (rewriting, sending "
        "to the stand-in, reading both answers, similarity, hash, record), off the caller's "
        "thread but sharing the interpreter with it."
    )
    budget = measure_budget(args.calls, args.seed)
    print("\n## Budgets: cost on the caller's thread (CPU time per charged call)\n")
    print(f"{args.calls:,} calls per client and operation, paired; a model in extended access.\n")
    print("| operation | governed, us | governed + premium budget, us | added, us |")
    print("|---|---:|---:|---:|")
    for operation, (plain, charged, added) in budget.items():
        print(f"| {operation} | {plain:,.1f} | {charged:,.1f} | {added:+,.1f} |")
    return 1 if missed and not args.no_fail else 0


if __name__ == "__main__":
    sys.exit(main())
