"""Instructions the governed client adds to a call, counted by valgrind's callgrind.

Usage::

    python benchmarks/bench_instructions.py [--calls 200] [--jobs 2]
        [--paths active,legacy,extended,fallback]
        [--operations Converse,InvokeModel,ConverseStream,InvokeModelWithResponseStream]
        [--variants raw,noledger,wrap,hooks]

Timing on a shared two-core VM moves by several percent from run to run; instruction counts
repeat to a few hundred instructions per call, so they show a change of one microsecond that
timing cannot (docs/performance.md, "Where the time goes"). Each cell (path, operation,
variant) runs in a fresh interpreter under ``valgrind --tool=callgrind --collect-atstart=no``
with ``PYTHONHASHSEED=0``:

- the client is set up as ``bench_wrapper.py`` sets it up (its scenario, a warm catalog, a
  full ``MemoryLedger``), and makes 50 calls to warm up (first warnings, caches);
- the garbage collector is switched off and only the timed calls are counted, between two
  callgrind client requests made from a two-function C library this script builds on the spot
  with ``cc`` (valgrind's ``callgrind.h`` is needed);
- the count is the dump's total divided by the calls.

Variants: ``raw`` (the boto3 client), ``noledger`` (a ``LifecycleClient`` whose governor has
no ledger), ``wrap`` (``bl.wrap()`` with a full ``MemoryLedger``) and ``hooks`` (a client of a
session ``install()`` governs, full ``MemoryLedger``). The table gives the raw client's count
and what each variant adds. A full table (4 paths, 4 operations, 4 variants) takes about half an
hour on two cores; pick cells with the options. Exit status 2 when valgrind or cc is missing.
"""

from __future__ import annotations

import argparse
import gc
import os
import shutil
import subprocess
import sys
import tempfile
import warnings
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

HERE = Path(__file__).resolve().parent
PATHS = ("active", "legacy", "extended", "fallback")
OPERATIONS = ("Converse", "InvokeModel", "ConverseStream", "InvokeModelWithResponseStream")
VARIANTS = ("raw", "noledger", "wrap", "hooks")
WARM_UP = 50
_C_SOURCE = """\
#include <valgrind/callgrind.h>
void count_on(void) { CALLGRIND_ZERO_STATS; CALLGRIND_TOGGLE_COLLECT; }
void count_off(void) { CALLGRIND_TOGGLE_COLLECT; CALLGRIND_DUMP_STATS; }
"""


def _child(path: str, operation: str, variant: str, calls: int, library: str) -> None:
    """Set one cell's client up, warm it, and make ``calls`` counted calls."""
    import ctypes

    sys.path.insert(0, str(HERE))
    import bench_wrapper as bench

    import bedrock_lifecycle as bl
    from bedrock_lifecycle.testing import FakeBedrock

    warnings.simplefilter("ignore")
    counter = ctypes.CDLL(library)
    with FakeBedrock(bench.scenario()) as fake:
        catalog = bench.warm_catalog(fake, "inprocess")
        raw = fake.client("bedrock-runtime")
        if variant == "raw":
            client = raw
        elif variant == "noledger":
            governor = bl.Governor(
                catalog=catalog, policy=bench.POLICY, ledger=None, prices=bl.PriceBook.bundled()
            )
            client = bl.LifecycleClient(raw, governor)
        elif variant == "wrap":
            client = bl.wrap(raw, catalog=catalog, policy=bench.POLICY, ledger=bench.full_ledger())
        else:
            client = bench.hooked_client(fake, catalog, "inprocess")
        chosen = bench.PATHS[path]
        request = chosen.raw if variant == "raw" else chosen.governed
        for _ in range(WARM_UP):
            bench.call_once(client, operation, request)
        fake.clear_requests()
        gc.collect()
        gc.disable()
        counter.count_on()
        for _ in range(calls):
            bench.call_once(client, operation, request)
        counter.count_off()


def _build_library(directory: Path) -> Path:
    source = directory / "count.c"
    source.write_text(_C_SOURCE, encoding="ascii")
    library = directory / "count.so"
    subprocess.run(
        ["cc", "-O2", "-shared", "-fPIC", "-o", str(library), str(source)],
        check=True,
        capture_output=True,
        text=True,
    )
    return library


def _count(cell: tuple[str, str, str], calls: int, library: Path, directory: Path) -> float:
    """Instructions per call of one cell (a fresh interpreter under callgrind)."""
    path, operation, variant = cell
    out = directory / f"callgrind.{path}.{operation}.{variant}"
    environment = {**os.environ, "PYTHONHASHSEED": "0"}
    command = [
        "valgrind",
        "--tool=callgrind",
        "--collect-atstart=no",
        f"--callgrind-out-file={out}",
        sys.executable,
        str(Path(__file__).resolve()),
        "--child",
        path,
        operation,
        variant,
        str(calls),
        str(library),
    ]
    done = subprocess.run(command, capture_output=True, text=True, env=environment, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"{path} {operation} {variant}: {done.stderr[-2000:]}")
    total = 0
    for dump in directory.glob(f"{out.name}*"):
        for line in dump.read_text(encoding="utf-8", errors="replace").splitlines():
            if line.startswith(("totals:", "summary:")):
                total += int(line.split()[1])
                break
    return total / calls


def _names(text: str, allowed: tuple[str, ...], option: str) -> tuple[str, ...]:
    names = tuple(name.strip() for name in text.split(",") if name.strip())
    unknown = [name for name in names if name not in allowed]
    if unknown or not names:
        raise SystemExit(f"{option}: expected some of {', '.join(allowed)}, got {text!r}")
    return names


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=200, help="counted calls per cell")
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--paths", default=",".join(PATHS))
    parser.add_argument("--operations", default=",".join(OPERATIONS))
    parser.add_argument("--variants", default=",".join(VARIANTS))
    parser.add_argument("--child", nargs=5, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        path, operation, variant, calls, library = args.child
        _child(path, operation, variant, int(calls), library)
        return 0
    missing = [tool for tool in ("valgrind", "cc") if shutil.which(tool) is None]
    if missing:
        print(f"needs {' and '.join(missing)} (valgrind's callgrind, and a C compiler)")
        return 2
    paths = _names(args.paths, PATHS, "--paths")
    operations = _names(args.operations, OPERATIONS, "--operations")
    variants = _names(args.variants, VARIANTS, "--variants")
    if "raw" not in variants:
        variants = ("raw", *variants)
    cells = [(p, o, v) for p in paths for o in operations for v in variants]
    with tempfile.TemporaryDirectory(prefix="bench-instructions-") as name:
        directory = Path(name)
        library = _build_library(directory)
        with ThreadPoolExecutor(max_workers=max(1, args.jobs)) as pool:
            counts = dict(
                zip(
                    cells,
                    pool.map(lambda cell: _count(cell, args.calls, library, directory), cells),
                    strict=True,
                )
            )
    print(
        f"{args.calls} counted calls per cell, after {WARM_UP} to warm up; collector off, "
        "PYTHONHASHSEED=0\n"
    )
    added = [v for v in variants if v != "raw"]
    print("| path | operation | raw instructions/call | " + " | ".join(added) + " |")
    print("|---|---|---:|" + "---:|" * len(added))
    for path in paths:
        for operation in operations:
            raw = counts[(path, operation, "raw")]
            extra = " | ".join(f"{counts[(path, operation, v)] - raw:+,.0f}" for v in added)
            print(f"| {path} | {operation} | {raw:,.0f} | {extra} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
