"""The lifecycle catalog: control-plane calls at start-up and the cost of a warm lookup.

Usage::

    python benchmarks/bench_catalog.py [--threads 64] [--repeat 7] [--number 20000]

Three measurements against the fake Bedrock (in-process), counting control-plane requests with
the fake's request log:

1. cold start with a persisted cache: one catalog fetches two regions and writes its cache file;
   a second catalog (as a new process would) answers lookups in both regions from the file. It
   must make zero control-plane calls. Also reported: the first lookup's time (file read included).
2. a thundering herd: ``--threads`` threads start at once (a barrier) on a cold catalog, each
   looking up models in two regions while ListFoundationModels is slowed down by 200 ms. There must
   be exactly one ListFoundationModels per region.
3. warm ``lookup()``: microseconds per call for each id form (base id, cross-region profile,
   foundation-model ARN), best of ``--repeat`` runs of ``--number`` calls.

Exit status 1 when a count is wrong (``--no-fail`` to always exit 0).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import threading
import time
import timeit
from functools import partial
from pathlib import Path

import bedrock_lifecycle as bl
from bedrock_lifecycle.testing import FakeBedrock, FakeModel, FaultKind, Scenario

REGIONS = ("us-east-1", "us-west-2")
OLD = "anthropic.claude-3-5-sonnet-20240620-v1:0"
NEW = "anthropic.claude-sonnet-4-20250514-v1:0"
LIST = "ListFoundationModels"
CONTROL = frozenset(
    {
        "ListFoundationModels",
        "GetFoundationModel",
        "GetInferenceProfile",
        "GetProvisionedModelThroughput",
        "GetCustomModel",
    }
)


def scenario() -> Scenario:
    models = [
        FakeModel(OLD, regions=REGIONS, legacy_at=None),
        FakeModel(NEW, regions=REGIONS),
        *(FakeModel(f"amazon.bench-model-{n:03d}-v1:0", regions=REGIONS) for n in range(100)),
    ]
    return Scenario(models=tuple(models))


def make_catalog(fake: FakeBedrock, cache_path: Path | None, max_wait: float = 5.0) -> bl.Catalog:
    return bl.Catalog(
        client_factory=lambda region: fake.client("bedrock", region),
        region_name=REGIONS[0],
        cache_path=cache_path,
        persist=cache_path is not None,
        max_wait=max_wait,
    )


def control_calls(fake: FakeBedrock) -> int:
    return sum(1 for r in fake.requests if r.operation in CONTROL)


def cold_start_with_cache(fake: FakeBedrock, folder: Path) -> tuple[int, float]:
    path = folder / "lifecycle-cache.json"
    first = make_catalog(fake, path)
    for region in REGIONS:
        first.lookup(OLD, region)
    first.close()
    fake.clear_requests()
    started = time.perf_counter()
    second = make_catalog(fake, path)
    second.lookup(OLD, REGIONS[0])
    first_lookup = time.perf_counter() - started
    for region in REGIONS:
        for model in (OLD, NEW, f"us.{NEW}"):
            second.lookup(model, region)
    second.close()
    return control_calls(fake), first_lookup


def herd(fake: FakeBedrock, threads: int) -> tuple[dict[str, int], float, int]:
    fake.clear_requests()
    fake.inject(LIST, FaultKind.LATENCY, delay=0.2)
    catalog = make_catalog(fake, None)
    barrier = threading.Barrier(threads)
    wrong: list[str] = []

    def work(number: int) -> None:
        barrier.wait()
        for region in REGIONS if number % 2 else REGIONS[::-1]:
            entry = catalog.lookup(OLD, region)
            if entry.source is not bl.Source.API:
                wrong.append(f"{region}: {entry.source}")

    workers = [threading.Thread(target=work, args=(n,)) for n in range(threads)]
    started = time.perf_counter()
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(30)
    elapsed = time.perf_counter() - started
    alive = sum(worker.is_alive() for worker in workers)
    fake.clear_faults()
    catalog.close()
    per_region = {region: fake.count(LIST, region=region) for region in REGIONS}
    return per_region, elapsed, alive + len(wrong)


def warm_lookups(fake: FakeBedrock, repeat: int, number: int) -> dict[str, float]:
    catalog = make_catalog(fake, None)
    catalog.refresh(REGIONS[0])
    forms = {
        "base id": OLD,
        "cross-region profile": f"us.{OLD}",
        "foundation-model ARN": f"arn:aws:bedrock:us-east-1::foundation-model/{OLD}",
    }
    result = {}
    for label, model in forms.items():
        catalog.lookup(model)
        best = min(timeit.repeat(partial(catalog.lookup, model), number=number, repeat=repeat))
        result[label] = best / number * 1e6
    fake.clear_requests()
    catalog.lookup(OLD)
    if control_calls(fake):
        raise SystemExit("a warm lookup called the control plane")
    catalog.close()
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=64)
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--number", type=int, default=20_000)
    parser.add_argument("--no-fail", action="store_true")
    args = parser.parse_args(argv)
    failures: list[str] = []
    with FakeBedrock(scenario()) as fake, tempfile.TemporaryDirectory() as tmp:
        calls, first_lookup = cold_start_with_cache(fake, Path(tmp))
        per_region, herd_s, herd_bad = herd(fake, args.threads)
        warm = warm_lookups(fake, args.repeat, args.number)
    print("| measurement | result | target |")
    print("|---|---:|---|")
    print(f"| control-plane calls, cold start with a persisted cache | {calls} | 0 |")
    print(f"| first lookup on that start (file read included) | {first_lookup * 1e3:.2f} ms | - |")
    for region, count in per_region.items():
        print(
            f"| ListFoundationModels in {region}, {args.threads} threads on a cold catalog "
            f"| {count} | 1 |"
        )
    print(
        f"| wall time of the {args.threads}-thread start (200 ms control plane) "
        f"| {herd_s * 1e3:.0f} ms | - |"
    )
    for label, micros in warm.items():
        print(f"| warm `lookup()`, {label} | {micros:.2f} us | microseconds |")
    if calls:
        failures.append(f"cold start with a cache made {calls} control-plane calls")
    if any(count != 1 for count in per_region.values()):
        failures.append(f"herd made {per_region} ListFoundationModels calls")
    if herd_bad:
        failures.append(f"{herd_bad} herd threads hung or answered from the wrong source")
    print()
    print("Targets missed: " + "; ".join(failures) if failures else "Targets met.")
    return 1 if failures and not args.no_fail else 0


if __name__ == "__main__":
    sys.exit(main())
