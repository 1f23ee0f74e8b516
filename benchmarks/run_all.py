"""Run every benchmark and print one markdown report.

Usage::

    python benchmarks/run_all.py [--quick] [--output report.md] [--only wrapper,catalog]

Runs each ``benchmarks/bench_*.py`` script in turn, in a fresh interpreter (the same Python as this
one), captures what it prints, and assembles a report: the machine (CPU model, cores, OS, Python,
boto3 and botocore versions), the command that reproduces it, a summary of which targets were met,
then each benchmark's own tables. ``--quick`` passes each script its smoke-run options (numbers
are then only indicative). The report goes to standard output and, with ``--output``, to a file.

Exit status: 0 when every script ran (a missed target is reported, not an error), 2 when a
script crashed or is missing.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import shlex
import subprocess
import sys
import time
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent


@dataclass(frozen=True, slots=True)
class Bench:
    """One benchmark script: its title, full and quick arguments, and whether it has targets."""

    name: str
    script: str
    title: str
    args: tuple[str, ...] = ()
    quick: tuple[str, ...] = ()
    judged: bool = True
    """The script exits 1 when a target is missed (else its exit status only says it ran)."""


BENCHES = (
    Bench(
        "wrapper",
        "bench_wrapper.py",
        "Per-call overhead of the governed client",
        quick=("--quick",),
    ),
    Bench(
        "catalog",
        "bench_catalog.py",
        "Catalog start-up and warm lookups",
        quick=("--number", "2000"),
    ),
    Bench(
        "fleet",
        "bench_fleet.py",
        "A fleet on a shared snapshot over a simulated day",
        quick=("--processes", "10", "--hours", "12"),
    ),
    Bench("ledger", "bench_ledger.py", "Ledger sinks", quick=("5000",), judged=False),
    Bench(
        "shadow",
        "bench_shadow.py",
        "Shadow traffic on the caller's thread",
        quick=("--calls", "300"),
    ),
    Bench(
        "scan",
        "bench_scan.py",
        "`scan` against `grep -rE`",
        quick=("--files", "2000", "--repeat", "1"),
    ),
    Bench("import", "bench_import.py", "Import time", quick=("--runs", "5")),
    Bench(
        "fake",
        "bench_fake.py",
        "Throughput of the fake Bedrock",
        ("--seconds", "1"),
        ("--seconds", "0.3"),
        judged=False,
    ),
)


@dataclass(frozen=True, slots=True)
class Outcome:
    bench: Bench
    status: int | None
    """Exit status; ``None`` when the script is not there."""
    seconds: float
    output: str
    errors: str


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text("utf-8").splitlines():
            if line.lower().startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    if sys.platform == "darwin":
        try:
            done = subprocess.run(
                ["sysctl", "-n", "machdep.cpu.brand_string"],
                capture_output=True,
                text=True,
                check=False,
            )
            if done.stdout.strip():
                return done.stdout.strip()
        except OSError:
            pass
    return platform.processor() or platform.machine() or "unknown"


def version(package: str) -> str:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return "not installed"


def git_commit() -> str:
    try:
        done = subprocess.run(
            ["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
            check=False,
        )
        dirty = subprocess.run(
            ["git", "-C", str(ROOT), "status", "--porcelain", "--untracked-files=no"],
            capture_output=True,
            text=True,
            check=False,
        )
    except OSError:
        return "unknown"
    commit = done.stdout.strip() or "unknown"
    return commit + (" (with uncommitted changes)" if dirty.stdout.strip() else "")


def machine() -> list[tuple[str, str]]:
    affinity = getattr(os, "sched_getaffinity", None)
    usable = len(affinity(0)) if affinity is not None else os.cpu_count()
    return [
        ("CPU", cpu_model()),
        ("cores", f"{os.cpu_count()} logical, {usable} usable by this process"),
        ("OS", f"{platform.system()} {platform.release()} ({platform.machine()})"),
        ("Python", f"{platform.python_implementation()} {platform.python_version()}"),
        ("boto3", version("boto3")),
        ("botocore", version("botocore")),
        ("bedrock-lifecycle", f"{version('bedrock-lifecycle')} at commit {git_commit()}"),
        ("date", dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")),
    ]


def run(bench: Bench, quick: bool) -> Outcome:
    path = HERE / bench.script
    if not path.exists():
        return Outcome(bench, None, 0.0, "", f"{bench.script} is not there")
    command = [sys.executable, str(path), *(bench.quick if quick else bench.args)]
    print(f"running {bench.script} ...", file=sys.stderr, flush=True)
    started = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, cwd=ROOT, check=False)
    return Outcome(bench, done.returncode, time.perf_counter() - started, done.stdout, done.stderr)


def verdict(outcome: Outcome) -> str:
    if outcome.status is None:
        return "not run (script missing)"
    if outcome.status == 0:
        return "targets met" if outcome.bench.judged else "ran (no target)"
    if outcome.status == 1 and outcome.bench.judged and outcome.output.strip():
        return "**target missed**"
    return f"**crashed** (exit {outcome.status})"


def report(outcomes: list[Outcome], command: str) -> str:
    lines = ["# bedrock-lifecycle benchmarks", "", "## Machine", ""]
    lines += ["| | |", "|---|---|"]
    lines += [f"| {key} | {value} |" for key, value in machine()]
    lines += ["", "## Reproduce", "", "```", command, "```", "", "## Summary", ""]
    lines += ["| benchmark | script | result | seconds |", "|---|---|---|---:|"]
    for outcome in outcomes:
        lines.append(
            f"| {outcome.bench.title} | `{outcome.bench.script}` | {verdict(outcome)} "
            f"| {outcome.seconds:.1f} |"
        )
    for outcome in outcomes:
        lines += ["", f"## {outcome.bench.title} (`{outcome.bench.script}`)", ""]
        if outcome.status is None:
            lines.append("Not run: the script is not in `benchmarks/` yet.")
            continue
        text = outcome.output.strip()
        if text.startswith(("|", "#")) or "\n|" in text:
            lines.append(text)  # the script prints markdown itself
        else:
            lines += ["```", text or "(no output)", "```"]
        if outcome.status not in (0, 1) or (outcome.status and not outcome.output.strip()):
            lines += ["", "Errors:", "", "```", outcome.errors.strip()[-4000:], "```"]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smoke-run sizes (fast, noisy)")
    parser.add_argument("--output", type=Path, help="also write the report to this file")
    parser.add_argument(
        "--only", help="comma-separated benchmark names: " + ", ".join(b.name for b in BENCHES)
    )
    args = parser.parse_args(argv)
    chosen: tuple[Bench, ...] = BENCHES
    if args.only:
        wanted = {name.strip() for name in args.only.split(",")}
        unknown = wanted - {bench.name for bench in BENCHES}
        if unknown:
            parser.error(f"unknown benchmark(s): {', '.join(sorted(unknown))}")
        chosen = tuple(bench for bench in BENCHES if bench.name in wanted)
    outcomes = [run(bench, args.quick) for bench in chosen]
    shown = ["python", "benchmarks/run_all.py", *(argv if argv is not None else sys.argv[1:])]
    text = report(outcomes, shlex.join(shown))
    print(text)
    if args.output:
        args.output.write_text(text, "utf-8")
    crashed = [o for o in outcomes if o.status is None or verdict(o).startswith("**crashed")]
    return 2 if crashed else 0


if __name__ == "__main__":
    sys.exit(main())
