"""Import time of ``bedrock_lifecycle`` beyond what ``import boto3`` already costs.

Usage::

    python benchmarks/bench_import.py [--runs 30] [--top 12] [--max-ms 30]

Two figures, both with compiled bytecode available (as in an installed package: the subprocesses
write and reuse ``.pyc`` files under a temporary ``PYTHONPYCACHEPREFIX``, whatever
``PYTHONDONTWRITEBYTECODE`` says, and leave the source tree untouched):

- wall clock: ``python -c "import boto3"`` and ``python -c "import boto3, bedrock_lifecycle"``
  run alternately ``--runs`` times each in fresh interpreters; the figure is the difference of the
  medians (and the ratio);
- ``python -X importtime``: the modules imported by ``import bedrock_lifecycle`` after boto3 (and
  ``botocore.session``, which creating any client needs) is loaded, with the median cumulative
  and self times over the runs; the biggest are listed so imports can be made lazy.

Exit status 1 when the added time exceeds ``--max-ms`` (``--no-fail`` to always exit 0).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections import defaultdict

BASELINE = "import boto3, botocore.session"
WITH_US = "import boto3, botocore.session; import bedrock_lifecycle"


def _env(pycache: str) -> dict[str, str]:
    env = dict(os.environ)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env["PYTHONPYCACHEPREFIX"] = pycache
    return env


def _wall(code: str, env: dict[str, str]) -> float:
    started = time.perf_counter()
    subprocess.run([sys.executable, "-c", code], env=env, check=True)
    return time.perf_counter() - started


def _importtime(env: dict[str, str]) -> dict[str, tuple[int, int]]:
    """``{module: (self us, cumulative us)}`` for modules imported after the baseline."""
    code = f"{BASELINE}; import sys; sys.stderr.write('--marker--\\n'); import bedrock_lifecycle"
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", code],
        env=env,
        check=True,
        capture_output=True,
        text=True,
    )
    found: dict[str, tuple[int, int]] = {}
    after = False
    for line in done.stderr.splitlines():
        if line.strip() == "--marker--":
            after = True
            continue
        if not after or not line.startswith("import time:") or "|" not in line:
            continue
        own, cumulative, name = line[len("import time:") :].split("|", 2)
        if not own.strip().isdigit():
            continue  # the header line
        found[name.strip()] = (int(own), int(cumulative))
    return found


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--top", type=int, default=12)
    parser.add_argument("--max-ms", type=float, default=30.0)
    parser.add_argument("--no-fail", action="store_true")
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory(prefix="bl-pycache-") as pycache:
        env = _env(pycache)
        for _ in range(2):  # compile and cache bytecode, warm the OS file cache
            _wall(WITH_US, env)
        base: list[float] = []
        ours: list[float] = []
        for _ in range(args.runs):
            base.append(_wall(BASELINE, env))
            ours.append(_wall(WITH_US, env))
        selfs: dict[str, list[int]] = defaultdict(list)
        cumulative: dict[str, list[int]] = defaultdict(list)
        runs = max(5, args.runs // 3)
        for _ in range(runs):
            for name, (own, total) in _importtime(env).items():
                selfs[name].append(own)
                cumulative[name].append(total)

    base_ms = statistics.median(base) * 1e3
    ours_ms = statistics.median(ours) * 1e3
    added = ours_ms - base_ms
    print(f"{args.runs} fresh interpreters each, alternating; bytecode cached\n")
    print("| measure | median ms |")
    print("|---|---:|")
    print(f"| `{BASELINE}` | {base_ms:.1f} |")
    print(f"| `{WITH_US}` | {ours_ms:.1f} |")
    print(f"| added by bedrock_lifecycle (wall clock) | {added:.1f} |")
    print(f"| ratio | {ours_ms / base_ms:.3f} |")
    top_level = statistics.median(cumulative.get("bedrock_lifecycle", [0])) / 1e3
    print(f"| `bedrock_lifecycle` cumulative (-X importtime) | {top_level:.1f} |")
    print(f"\nBiggest imports after boto3 (-X importtime, median of {runs} runs):\n")
    print("| module | self ms | cumulative ms |")
    print("|---|---:|---:|")
    ranked = sorted(selfs, key=lambda name: statistics.median(selfs[name]), reverse=True)
    for name in ranked[: args.top]:
        print(
            f"| `{name}` | {statistics.median(selfs[name]) / 1e3:.2f} "
            f"| {statistics.median(cumulative[name]) / 1e3:.2f} |"
        )
    third_party = sorted(
        (name for name in selfs if "." not in name and name != "bedrock_lifecycle"),
        key=lambda name: statistics.median(cumulative[name]),
        reverse=True,
    )
    if third_party:
        print("\nTop-level packages pulled in (cumulative ms): ", end="")
        print(
            ", ".join(
                f"`{name}` {statistics.median(cumulative[name]) / 1e3:.1f}"
                for name in third_party[:8]
            )
        )
    verdict = "met" if added <= args.max_ms else "missed"
    print(f"\nTarget (<= {args.max_ms:.0f} ms added): {verdict}.")
    return 1 if added > args.max_ms and not args.no_fail else 0


if __name__ == "__main__":
    sys.exit(main())
