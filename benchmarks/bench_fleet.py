"""A fleet over a simulated day: control-plane calls with and without a shared snapshot.

Usage::

    python benchmarks/bench_fleet.py [--processes 50] [--regions 4] [--lifetime-hours 12]
                                     [--ttl-hours 6] [--hours 24] [--step-minutes 10]
                                     [--no-fail]

``--processes`` processes, each replaced by a fresh one (a cold start: empty memory, no cache
file) every ``--lifetime-hours`` (staggered), look up a model in each of ``--regions`` regions
every ``--step-minutes`` for ``--hours`` of simulated time. Many ``Catalog`` objects in this one
process stand in for the processes; the clock is the fake's, moved step by step, so a day takes
seconds. The control plane is the project's fake Bedrock (in-process), whose request log counts
every ``ListFoundationModels``; S3 is moto's threaded server (real HTTP, ETags and 304s).

Two runs of the same day:

1. **without** a snapshot: every process asks the control plane itself (once per region at
   start, then once per region per TTL);
2. **with** a snapshot: a publisher (``publish_snapshot``, as the scheduled Lambda function does)
   fetches every region every 6 hours, and the processes read the snapshot
   (``Catalog(source="s3://...")``): one GET at start, then a conditional GET per TTL.

Targets: with the snapshot the processes make no control-plane call at all, and each makes at
most one snapshot read at start plus one per TTL of its life. Exit status 1 when a target is
missed (``--no-fail`` to always exit 0).
"""

from __future__ import annotations

import argparse
import logging
import math
import os
import sys
import threading
import time
from dataclasses import astuple, dataclass
from datetime import datetime, timedelta, timezone

import boto3
import botocore.loaders
import botocore.session

import bedrock_lifecycle as bl
from bedrock_lifecycle.testing import FakeBedrock, FakeModel, Scenario

ALL_REGIONS = (
    "us-east-1",
    "us-west-2",
    "eu-west-1",
    "eu-central-1",
    "ap-northeast-1",
    "ap-south-1",
)
MODEL = "anthropic.claude-3-5-sonnet-20240620-v1:0"
START = datetime(2026, 1, 15, tzinfo=timezone.utc)
END_OF_LIFE = datetime(2026, 9, 1, tzinfo=timezone.utc)
PUBLISH_EVERY = timedelta(hours=6)
BUCKET = "fleet-bench"
CONTROL = ("ListFoundationModels", "GetFoundationModel")

_LOADER = botocore.loaders.create_loader()


def session() -> boto3.Session:
    """A boto3 session per process, sharing one parsed-model cache (creating clients is then
    cheap: the benchmark measures calls, not botocore's start-up)."""
    core = botocore.session.Session()
    core.register_component("data_loader", _LOADER)
    return boto3.Session(
        aws_access_key_id="bench", aws_secret_access_key="bench", region_name="us-east-1",
        botocore_session=core,
    )  # fmt: skip


def scenario(regions: tuple[str, ...]) -> Scenario:
    models = [
        FakeModel(MODEL, regions=regions, legacy_at=START - timedelta(days=90), eol_at=END_OF_LIFE),
        *(FakeModel(f"amazon.bench-model-{n:02d}-v1:0", regions=regions) for n in range(30)),
    ]  # fmt: skip
    return Scenario(models=tuple(models), now=START)


@dataclass
class Day:
    """What one simulated day cost."""

    control_calls: int = 0
    """Control-plane requests made by the processes."""
    publisher_calls: int = 0
    """Control-plane requests made by the publisher."""
    publishes: int = 0
    reads: int = 0
    not_modified: int = 0
    failures: int = 0
    cold_starts: int = 0
    max_reads_per_process: int = 0
    lookups: int = 0
    seconds: float = 0.0

    @property
    def full_gets(self) -> int:
        return self.reads - self.not_modified - self.failures


def row(label: str, without: object, shared: object) -> None:
    print(f"| {label} | {without} | {shared} |")


def settle() -> None:
    for thread in threading.enumerate():
        if thread.name.startswith("bedrock-lifecycle-"):
            thread.join(10)


def simulate(args: argparse.Namespace, regions: tuple[str, ...], location: str | None) -> Day:
    day = Day()
    started = time.perf_counter()
    step = timedelta(minutes=args.step_minutes)
    ttl = timedelta(hours=args.ttl_hours)
    lifetime = timedelta(hours=args.lifetime_hours)
    end = START + timedelta(hours=args.hours)
    with FakeBedrock(scenario(regions)) as fake:
        clients: dict[str, object] = {}
        lock = threading.Lock()

        def control(region: str) -> object:
            # One client per region for every process (botocore clients are thread-safe): the
            # count of calls is what matters here, not the cost of building clients.
            with lock:
                if region not in clients:
                    clients[region] = fake.client("bedrock", region)
                return clients[region]

        def publish() -> None:
            assert location is not None
            before = sum(fake.count(op) for op in CONTROL)
            report = bl.publish_snapshot(
                location, regions=regions, client_factory=control, clock=fake.clock,
                session=session(),
            )  # fmt: skip
            if not report.written:
                raise SystemExit(f"publishing failed: {report.failed}")
            day.publisher_calls += sum(fake.count(op) for op in CONTROL) - before
            day.publishes += 1

        def start() -> bl.Catalog:
            day.cold_starts += 1
            return bl.Catalog(
                source=location if location is not None else False,
                client_factory=control, session=session(), clock=fake.clock,
                region_name=regions[0], persist=False, bundled=False, ttl=ttl, max_wait=10,
            )  # fmt: skip

        def retire(catalog: bl.Catalog) -> None:
            catalog.close(timeout=5)
            stats = catalog.source_stats()
            if stats is not None:
                reads, not_modified, failures = astuple(stats)
                day.reads += reads
                day.not_modified += not_modified
                day.failures += failures
                day.max_reads_per_process = max(day.max_reads_per_process, reads)

        # Process i is first replaced at a staggered offset, then every `lifetime`.
        offsets = [lifetime * (i / args.processes) for i in range(args.processes)]
        next_restart = [START + offset for offset in offsets]
        catalogs = [start() for _ in range(args.processes)]
        next_publish = START
        now = START
        while now < end:
            if location is not None and now >= next_publish:
                publish()
                next_publish += PUBLISH_EVERY
            for i in range(args.processes):
                if now >= next_restart[i] and now > START:
                    retire(catalogs[i])
                    catalogs[i] = start()
                if now >= next_restart[i]:
                    next_restart[i] += lifetime
                for region in regions:
                    catalogs[i].lookup(MODEL, region)
                    day.lookups += 1
            settle()
            now += step
            fake.set_time(now)
        for catalog in catalogs:
            retire(catalog)
        day.control_calls = sum(fake.count(op) for op in CONTROL) - day.publisher_calls
    day.seconds = time.perf_counter() - started
    return day


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--processes", type=int, default=50)
    parser.add_argument("--regions", type=int, default=4, choices=range(1, len(ALL_REGIONS) + 1))
    parser.add_argument("--lifetime-hours", type=float, default=12.0)
    parser.add_argument("--ttl-hours", type=float, default=6.0, help="the catalogs' TTL")
    parser.add_argument("--hours", type=float, default=24.0)
    parser.add_argument("--step-minutes", type=float, default=10.0)
    parser.add_argument("--no-fail", action="store_true")
    args = parser.parse_args(argv)
    regions = ALL_REGIONS[: args.regions]

    from moto.server import ThreadedMotoServer  # a test extra: imported only to run

    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # one line per request otherwise

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    os.environ["AWS_ENDPOINT_URL_S3"] = f"http://{host}:{port}"
    os.environ["AWS_EC2_METADATA_DISABLED"] = "true"
    try:
        session().client("s3").create_bucket(Bucket=BUCKET)
        without = simulate(args, regions, None)
        shared = simulate(args, regions, f"s3://{BUCKET}/snapshot.json")
    finally:
        server.stop()

    read_bound = 1 + math.ceil(args.lifetime_hours / args.ttl_hours)
    print(
        f"{args.processes} processes x {len(regions)} regions over {args.hours:g} simulated hours "
        f"(a lookup per region every {args.step_minutes:g} min, each process restarted cold every "
        f"{args.lifetime_hours:g} h, TTL {args.ttl_hours:g} h; snapshot published "
        f"every {PUBLISH_EVERY.total_seconds() / 3600:g} h)"
    )
    print()
    print("| | without a snapshot | with a shared snapshot |")
    print("|---|---:|---:|")
    print(f"| cold starts | {without.cold_starts} | {shared.cold_starts} |")
    print(f"| lookups | {without.lookups:,} | {shared.lookups:,} |")
    row("control-plane calls by the processes", without.control_calls, shared.control_calls)
    publisher = f"{shared.publisher_calls} ({shared.publishes} runs)"
    row("control-plane calls by the publisher", "-", publisher)
    total_without = without.control_calls
    total_with = shared.control_calls + shared.publisher_calls
    print(f"| control-plane calls in all | {total_without} | {total_with} |")
    print(f"| S3 GETs answered 200 (full object) | - | {shared.full_gets} |")
    print(f"| S3 GETs answered 304 (unchanged) | - | {shared.not_modified} |")
    print(f"| S3 reads failed | - | {shared.failures} |")
    most = f"{shared.max_reads_per_process} (bound {read_bound})"
    row("most snapshot reads by one process", "-", most)
    print(f"| wall time of the simulation | {without.seconds:.1f} s | {shared.seconds:.1f} s |")
    failures = []
    if shared.control_calls:
        failures.append(
            f"processes on the snapshot made {shared.control_calls} control-plane calls"
        )
    if shared.max_reads_per_process > read_bound:
        failures.append(f"a process read the snapshot {shared.max_reads_per_process} times")
    if shared.failures:
        failures.append(f"{shared.failures} snapshot reads failed")
    print()
    print("Targets missed: " + "; ".join(failures) if failures else "Targets met.")
    return 1 if failures and not args.no_fail else 0


if __name__ == "__main__":
    sys.exit(main())
