"""The persisted catalog cache survives a process killed while writing it.

(Ledger files under SIGKILL are covered in tests/unit/test_ledger_processes.py.)

A child process keeps rewriting a large cache file through the catalog (each lifecycle error it
is told about is persisted), and is killed with SIGKILL at a random moment. Whatever the moment,
the file on disk is either absent or a whole, valid cache file that a new catalog reads without a
warning: the write goes to a temporary file that is renamed over the old one.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
import warnings
from pathlib import Path

import pytest

from bedrock_lifecycle._cache_file import read_cache

CHILD = r"""
import sys
from datetime import datetime, timezone
from bedrock_lifecycle import Catalog
from bedrock_lifecycle._cache_file import RegionData
from bedrock_lifecycle._lifecycle import ModelLifecycle, Source

path = sys.argv[1]
catalog = Catalog(cache_path=path, region_name="us-east-1", bundled=False)
fetched = datetime(2026, 1, 1, tzinfo=timezone.utc)
# A few thousand entries so that each rewrite takes a while (a wide window to be killed in).
models = {
    f"amazon.bulk-model-{n:05d}-v1:0": ModelLifecycle(
        model_id=f"amazon.bulk-model-{n:05d}-v1:0",
        region="us-east-1",
        eol_at=fetched,
        recommended=("amazon.nova-pro-v1:0",),
        source=Source.API,
        status="LEGACY",
        as_of=fetched,
    )
    for n in range(3000)
}
catalog._regions["us-east-1"] = RegionData(fetched_at=fetched, models=models, endpoint=None)
number = 0
while True:
    catalog.mark_unavailable(f"amazon.gone-{number}-v1:0", "us-east-1", "eol")
    if number == 0:
        print("ready", flush=True)
    number += 1
"""


@pytest.mark.slow
@pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs SIGKILL (POSIX)")
def test_cache_file_is_whole_or_absent_after_sigkill(tmp_path: Path) -> None:
    env = dict(os.environ, BEDROCK_LIFECYCLE_CACHE_DIR=str(tmp_path / "unused"))
    env.pop("BEDROCK_LIFECYCLE_OFFLINE", None)
    chooser = random.Random(7)
    for round_number in range(4):
        path = tmp_path / f"round-{round_number}" / "lifecycle-cache.json"
        with subprocess.Popen(
            [sys.executable, "-c", CHILD, str(path)],
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            env=env,
        ) as child:
            try:
                assert child.stdout is not None
                assert child.stdout.readline().strip() == b"ready", "the child did not start"
                time.sleep(chooser.uniform(0.0, 0.25))
            finally:
                child.send_signal(signal.SIGKILL)
                child.wait(10)
        assert child.returncode == -signal.SIGKILL
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # a damaged file would warn: fail instead
            data = read_cache(path)
        assert data is not None  # the first write finished before "ready"
        assert len(data.regions["us-east-1"].models) == 3000
        assert ("amazon.gone-0-v1:0", "us-east-1") in data.observed
        assert all(kind == "eol" for kind, _ in data.observed.values())
        assert path.stat().st_mode & 0o777 == 0o600
        # Only a temporary file of the write that was cut short may remain beside it.
        leftovers = [p.name for p in path.parent.iterdir() if p != path]
        assert all(name.startswith(".lifecycle-") and name.endswith(".tmp") for name in leftovers)
        assert len(leftovers) <= 1
