"""What the async governed client adds to a call, next to the raw aiobotocore client, side by
side, in one run.

Usage (in the virtualenv with the ``aio`` extra: aiobotocore pins botocore)::

    python benchmarks/bench_aio.py [--calls 600] [--quick] [--max-ratio 1.02] [--no-fail]

Paths (steady state: after the first call of a decision and its warning), as in
``bench_wrapper.py`` and from its scenario:

- ``active``: Converse on an Active model, passed through;
- ``legacy``: Converse on a Legacy model, after its one ``LegacyModelWarning``;
- ``fallback``: Converse on a model past end of life, sent to its successor with the request
  adapted (the raw client calls the successor with the request already adapted);
- ``stream``: ConverseStream on an Active model, drained with ``async for``.

Both variants share one aiobotocore client (``raw`` is the client the governed one wraps), so
connection pool, parsed models and event loop are the same. Transport: the fake Bedrock's
loopback HTTP server, real sockets (aiobotocore cannot be answered in-process the way botocore
can from a ``before-send`` handler). The variants take turns call by call, in a freshly shuffled
order per set, each call timed on its own; the figures are the medians of the paired
differences (governed minus raw, same set) with 95% confidence intervals, and the median of the
paired ratios. The governed client records in a full default ``MemoryLedger``.

Exit status 1 when a path's ratio exceeds ``--max-ratio`` (``--no-fail`` to always exit 0).
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import random
import sys
import time
import warnings
from typing import Any

from aiobotocore.config import AioConfig
from aiobotocore.session import get_session
from bench_wrapper import (
    MESSAGES,
    MODEL,
    PATHS,
    POLICY,
    Request,
    Timing,
    full_ledger,
    scenario,
    warm_catalog,
)

import bedrock_lifecycle as bl
from bedrock_lifecycle.testing import FakeBedrock

#: (path name, operation, what the governed client sends, what the raw client sends)
CASES = (
    ("active", "Converse", PATHS["active"].governed, PATHS["active"].raw),
    ("legacy", "Converse", PATHS["legacy"].governed, PATHS["legacy"].raw),
    ("fallback", "Converse", PATHS["fallback"].governed, PATHS["fallback"].raw),
    ("stream", "ConverseStream", Request(MODEL), Request(MODEL)),
)


async def call_once(client: Any, operation: str, request: Request) -> None:
    extra: dict[str, Any] = {}
    if request.config is not None:
        extra["inferenceConfig"] = request.config
    if operation == "Converse":
        await client.converse(modelId=request.model_id, messages=MESSAGES, **extra)
    else:
        response = await client.converse_stream(
            modelId=request.model_id, messages=MESSAGES, **extra
        )
        async for _ in response["stream"]:
            pass


async def interleaved(
    clients: dict[str, Any],
    operation: str,
    requests: dict[str, Request],
    calls: int,
    seed: int,
    fake: FakeBedrock,
) -> Timing:
    shuffler = random.Random(seed)
    for name, client in clients.items():  # warm up: pools, caches, first-time warnings
        for _ in range(20):
            await call_once(client, operation, requests[name])
    result: dict[str, list[float]] = {name: [] for name in clients}
    names = list(clients)
    clock = time.perf_counter
    for number in range(calls):
        if number % 50 == 0:
            fake.clear_requests()  # untimed: the fake's log must tax no variant
        shuffler.shuffle(names)
        for name in names:
            started = clock()
            await call_once(clients[name], operation, requests[name])
            result[name].append(clock() - started)
    return Timing(result)


async def measure(calls: int, seed: int) -> dict[str, Timing]:
    timings: dict[str, Timing] = {}
    with FakeBedrock(scenario()) as fake:
        catalog = warm_catalog(fake, "server")
        config = AioConfig(retries={"total_max_attempts": 1, "mode": "standard"})
        async with get_session().create_client(
            "bedrock-runtime",
            region_name="us-east-1",
            endpoint_url=fake.endpoint_url,
            aws_access_key_id="AKIAFAKEBEDROCKTEST0",
            aws_secret_access_key="fake-bedrock-secret-key-not-a-credential",
            config=config,
        ) as raw:
            governed = bl.wrap(raw, catalog=catalog, policy=POLICY, ledger=full_ledger())
            clients = {"raw": raw, "governed": governed}
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", bl.LifecycleWarning)
                for number, (name, operation, ours, theirs) in enumerate(CASES):
                    requests = {"raw": theirs, "governed": ours}
                    gc.collect()
                    timings[name] = await interleaved(
                        clients, operation, requests, calls, seed + number, fake
                    )
    return timings


def _us(seconds: float) -> str:
    return f"{seconds * 1e6:8.1f}"


def report(timings: dict[str, Timing]) -> list[tuple[str, float]]:
    print(
        f"{'path':<10} {'raw us':>8} {'governed us':>11} {'added us':>9} "
        f"{'95% CI us':>19} {'ratio':>7}"
    )
    ratios = []
    for name, timing in timings.items():
        low, high = timing.added_interval("governed")
        ratio = timing.ratio("governed")
        ratios.append((name, ratio))
        print(
            f"{name:<10} {_us(timing.median('raw'))} {_us(timing.median('governed')):>11} "
            f"{_us(timing.added('governed')):>9} [{_us(low)}, {_us(high)}] {ratio:7.3f}"
        )
    return ratios


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--calls", type=int, default=600, help="calls per variant and path")
    parser.add_argument("--quick", action="store_true", help="few calls (a smoke run)")
    parser.add_argument("--seed", type=int, default=20260115)
    parser.add_argument("--max-ratio", type=float, default=1.02)
    parser.add_argument("--no-fail", action="store_true", help="exit 0 even when targets miss")
    args = parser.parse_args(argv)
    calls = 40 if args.quick else args.calls
    import aiobotocore

    print(
        f"aiobotocore {aiobotocore.__version__}, {calls} calls per variant and path, "
        "loopback HTTP to the fake Bedrock"
    )
    ratios = report(asyncio.run(measure(calls, args.seed)))
    missed = [(name, ratio) for name, ratio in ratios if ratio > args.max_ratio]
    for name, ratio in missed:
        print(f"MISSED: {name} ratio {ratio:.3f} > {args.max_ratio}")
    return 1 if missed and not args.no_fail else 0


if __name__ == "__main__":
    sys.exit(main())
