"""Time ``scan_paths`` against ``grep -rEn`` on a generated source tree.

Usage::

    python benchmarks/bench_scan.py [--files 20000] [--repeat 3] [--jobs N] [--max-ratio 2.0]

Builds a tree of ``--files`` text files in a temporary directory (mostly code and config without
any model id, a few percent with one or more ids in assorted forms, plus near misses such as
``os.path`` and ``docs.aws.amazon.com``), then times a full iteration of ``scan_paths`` and a
``grep -rEn`` run with an equivalent extended regular expression, best of ``--repeat`` each, in the
same process run. Prints both times and their ratio; exits 1 when the ratio exceeds
``--max-ratio`` or when the two disagree about which files hold ids.
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bedrock_lifecycle._scan import PROVIDERS, scan_paths

_WORDS = (
    *("client", "request", "response", "model", "region", "value", "result", "config"),
    *("handler", "session", "token", "payload", "stream", "message", "content", "retry"),
    *("timeout", "logger", "record", "window", "buffer", "cursor", "status", "metric"),
    *("latency", "account", "profile", "bucket", "object", "schema", "version"),
)

_IDS = (
    "anthropic.claude-3-5-sonnet-20240620-v1:0",
    "us.anthropic.claude-3-5-sonnet-20241022-v2:0",
    "amazon.titan-text-express-v1",
    "meta.llama3-1-70b-instruct-v1:0",
    "cohere.command-r-plus-v1:0",
    "eu.amazon.nova-pro-v1:0",
    "mistral.mistral-large-2402-v1:0",
    "arn:aws:bedrock:us-east-1::foundation-model/anthropic.claude-v2:1",
    "arn:aws:bedrock:us-west-2:123456789012:inference-profile/us.meta.llama3-2-90b-instruct-v1:0",
    "arn:aws:bedrock:us-east-1:123456789012:provisioned-model/abcd1234efgh",
)

_NEAR_MISSES = (
    "path = os.path.join(root, name)",
    "self.model_id = model_id",
    "see https://docs.aws.amazon.com/bedrock/latest/userguide/",
    "contact: dev@amazon.com",
    'version = "v1:0"',
    "import.meta.env.VITE_API",
)

_SUFFIXES = (".py", ".js", ".ts", ".json", ".yaml", ".md", ".toml", ".tf", ".txt", "")


def _line(rng: random.Random) -> str:
    words = rng.choices(_WORDS, k=rng.randint(3, 12))
    style = rng.random()
    if style < 0.4:
        return f"    {words[0]}_{words[1]} = {'.'.join(words[2:5])}({', '.join(words[5:])})"
    if style < 0.7:
        return f'  "{words[0]}": "{" ".join(words[1:])}",'
    if style < 0.72:
        return rng.choice(_NEAR_MISSES)
    return " ".join(words)


def build_tree(root: Path, files: int, seed: int = 20240620) -> set[str]:
    """Write ``files`` files under ``root``; return the relative paths that contain an id."""
    rng = random.Random(seed)
    with_ids: set[str] = set()
    dirs = max(1, files // 100)
    for index in range(files):
        directory = root / f"pkg{index % dirs:04d}" / f"mod{(index // dirs) % 7}"
        directory.mkdir(parents=True, exist_ok=True)
        name = f"file{index:06d}{rng.choice(_SUFFIXES)}"
        lines = [_line(rng) for _ in range(rng.randint(10, 200))]
        if rng.random() < 0.03:
            for _ in range(rng.randint(1, 3)):
                model_id = rng.choice(_IDS)
                lines.insert(rng.randrange(len(lines) + 1), f'MODEL_ID = "{model_id}"  # pinned')
            with_ids.add(str(directory.relative_to(root) / name))
        (directory / name).write_text("\n".join(lines) + "\n", encoding="utf-8")
    return with_ids


def grep_pattern() -> str:
    """An extended regular expression (POSIX ERE) close to the scanner's own pattern."""
    c = "(:|%3[Aa])"
    s = "(/|%2[Ff])"
    providers = "|".join(PROVIDERS)
    arn = f"arn{c}aws[a-z0-9-]*{c}bedrock{c}[a-z0-9-]*{c}[0-9]*{c}[a-z-]+{s}[A-Za-z0-9._:/%-]+"
    geo = "((us-gov|apac|global|us|eu|jp|au|ca)\\.)?"
    base = f"{geo}({providers})\\.[a-z0-9]+(-[a-z0-9]+)+({c}[0-9]+[a-z]*)*"
    return f"({arn}|{base})"


def _best(repeat: int, run: object) -> float:
    assert callable(run)
    best = float("inf")
    for _ in range(repeat):
        started = time.perf_counter()
        run()
        best = min(best, time.perf_counter() - started)
    return best


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=20_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--jobs", type=int, default=None)
    parser.add_argument("--max-ratio", type=float, default=2.0)
    args = parser.parse_args(argv)

    grep = shutil.which("grep")
    if grep is None:
        print("grep not found", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory(prefix="bl-bench-scan-") as tmp:
        root = Path(tmp) / "tree"
        started = time.perf_counter()
        expected = build_tree(root, args.files)
        print(
            f"built {args.files} files in {time.perf_counter() - started:.1f}s "
            f"({len(expected)} with ids)"
        )

        scanned: set[str] = set()

        def run_scan() -> None:
            scanned.clear()
            for finding in scan_paths([root], jobs=args.jobs):
                scanned.add(os.path.relpath(finding.path, root))

        grep_out: list[bytes] = []

        def run_grep() -> None:
            # Output goes to a pipe: GNU grep stops at the first match when it writes to /dev/null.
            done = subprocess.run(
                [grep, "-rEn", grep_pattern(), str(root)],
                stdout=subprocess.PIPE,
                check=False,
            )
            if done.returncode not in (0, 1):
                raise RuntimeError(f"grep failed with exit code {done.returncode}")
            grep_out[:] = [done.stdout]

        grep_s = _best(args.repeat, run_grep)
        scan_s = _best(args.repeat, run_scan)
        grep_files = {
            os.path.relpath(line.split(b":", 1)[0].decode(), root)
            for line in grep_out[0].splitlines()
        }
    ratio = scan_s / grep_s
    print(f"grep -rEn : {grep_s * 1000:8.1f} ms (best of {args.repeat})")
    print(f"scan_paths: {scan_s * 1000:8.1f} ms (best of {args.repeat}, jobs={args.jobs})")
    print(f"ratio     : {ratio:.2f}x (limit {args.max_ratio:.1f}x)")
    if scanned != expected or grep_files != expected:
        print(
            f"disagreement: expected {len(expected)} files, scan found {len(scanned)}, "
            f"grep found {len(grep_files)}",
            file=sys.stderr,
        )
        return 1
    return 0 if ratio <= args.max_ratio else 1


if __name__ == "__main__":
    sys.exit(main())
