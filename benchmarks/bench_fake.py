"""Throughput of the fake Bedrock: requests per second through real boto3 clients.

Run: ``python benchmarks/bench_fake.py [--seconds 2]``. Prints one line per case.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from typing import Any

from bedrock_lifecycle.testing import FakeBedrock

MODEL = "amazon.nova-pro-v1:0"
MESSAGES = [{"role": "user", "content": [{"text": "How far away is the moon?"}]}]


def _rate(call: Callable[[], Any], seconds: float) -> float:
    for _ in range(20):  # warm up: connection pool, model loading
        call()
    done = 0
    started = time.perf_counter()
    while (elapsed := time.perf_counter() - started) < seconds:
        call()
        done += 1
    return done / elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=2.0, help="time per case")
    args = parser.parse_args()
    with FakeBedrock() as fake:
        for mode in ("inprocess", "server"):
            runtime = fake.client("bedrock-runtime", mode=mode)
            converse = _rate(
                lambda c=runtime: c.converse(modelId=MODEL, messages=MESSAGES), args.seconds
            )
            stream = _rate(
                lambda c=runtime: list(
                    c.converse_stream(modelId=MODEL, messages=MESSAGES)["stream"]
                ),
                args.seconds,
            )
            print(f"Converse        {mode:<9} {converse:8.0f} req/s")
            print(f"ConverseStream  {mode:<9} {stream:8.0f} req/s")


if __name__ == "__main__":
    main()
