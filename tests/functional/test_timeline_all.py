"""``bedrock-lifecycle timeline --all``: every known transition in the window, per region.

A new user's first question ("what changes, and when?") has no models in use to start from: the
command then lists every model the catalog knows in the region(s). The console script runs in a
subprocess with its own empty cache directory and no AWS configuration; "now" is pinned with
``--at`` so the bundled snapshot of AWS's published tables gives the same answer every day.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

import bedrock_lifecycle as bl
from bedrock_lifecycle.testing import FakeBedrock, FakeModel, Scenario

from ._cli_env import cli_env

pytestmark = pytest.mark.slow

_SCRIPT = shutil.which("bedrock-lifecycle", path=os.path.dirname(sys.executable))
COMMAND = [_SCRIPT] if _SCRIPT else [sys.executable, "-m", "bedrock_lifecycle.cli"]
TIMEOUT = 30

AT = "2026-01-10"
NOW = datetime(2026, 1, 10, tzinfo=timezone.utc)
SONNET35 = "anthropic.claude-3-5-sonnet-20240620-v1:0"
SONNET37 = "anthropic.claude-3-7-sonnet-20250219-v1:0"
HAIKU3 = "anthropic.claude-3-haiku-20240307-v1:0"
OPUS3 = "anthropic.claude-3-opus-20240229-v1:0"
SONNET45 = "anthropic.claude-sonnet-4-5-20250929-v1:0"
# Not an AWS model: only the fake's control plane lists it.
ONLY_LISTED = "amazon.example-listed-only-v1:0"


def run(
    tmp_path: Path, *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*COMMAND, *args],
        capture_output=True,
        text=True,
        env={**cli_env(tmp_path / "cache"), **(env or {})},
        cwd=tmp_path,
        timeout=TIMEOUT,
        check=False,
    )


def events(tmp_path: Path, *args: str) -> list[dict[str, Any]]:
    done = run(tmp_path, "timeline", *args, "--json")
    assert done.returncode == 0, done.stderr
    result: list[dict[str, Any]] = json.loads(done.stdout)
    return result


def bundled_transitions(region: str, days: int) -> set[tuple[str, str, str]]:
    """What the bundled snapshot says happens in ``region`` within ``days`` of ``NOW``, computed
    from the library's own catalog: ``(date, model id, state)``."""
    catalog = bl.Catalog(offline=True, persist=False, clock=lambda: NOW)
    horizon = NOW + timedelta(days=days)
    found = set()
    for entry in catalog.entries(region):
        for state, when in (
            ("LEGACY", entry.legacy_at),
            ("EXTENDED_ACCESS", entry.extended_access_at),
            ("EOL", entry.eol_at),
        ):
            if when is not None and NOW < when <= horizon:
                found.add((when.date().isoformat(), entry.model_id, state))
    return found


def test_all_lists_every_known_transition_in_the_window(tmp_path: Path) -> None:
    listed = events(tmp_path, "--all", "--offline", "--at", AT, "--days", "180", "-r", "us-east-1")
    triples = [(e["date"], e["model_id"], e["transition"]) for e in listed]
    # Dates AWS published for us-east-1, as bundled.
    assert ("2026-01-27", SONNET37, "EXTENDED_ACCESS") in triples
    assert ("2026-03-01", SONNET35, "EOL") in triples
    assert ("2026-03-10", HAIKU3, "LEGACY") in triples
    assert ("2026-04-28", SONNET37, "EOL") in triples
    assert ("2026-06-10", HAIKU3, "EXTENDED_ACCESS") in triples
    # Every transition the bundled data holds in the window, each once, in date order.
    assert set(triples) == bundled_transitions("us-east-1", 180)
    assert len(triples) == len(set(triples)) > 20
    assert [e["date"] for e in listed] == sorted(e["date"] for e in listed)
    assert all(e["region"] == "us-east-1" for e in listed)
    assert all(AT < e["date"] <= "2026-07-09" for e in listed)
    sonnet35 = next(e for e in listed if e["model_id"] == SONNET35)
    assert (sonnet35["days"], sonnet35["replacement"]) == (50, SONNET45)
    assert sonnet35["replacement_source"] == "aws"


def test_the_window_bounds_the_list(tmp_path: Path) -> None:
    short = events(tmp_path, "--all", "--offline", "--at", AT, "--days", "10", "-r", "us-east-1")
    assert [(e["date"], e["days"], e["model_id"], e["transition"]) for e in short] == [
        ("2026-01-15", 5, OPUS3, "EOL")
    ]
    assert bundled_transitions("us-east-1", 10) == {("2026-01-15", OPUS3, "EOL")}
    # Claude 3.7 Sonnet enters extended access on day 17: in a 20-day window, not in 10.
    longer = events(tmp_path, "--all", "--offline", "--at", AT, "--days", "20", "-r", "us-east-1")
    assert ("2026-01-27", SONNET37, "EXTENDED_ACCESS") in {
        (e["date"], e["model_id"], e["transition"]) for e in longer
    }


def test_with_no_models_in_use_timeline_lists_them_all_and_says_why(tmp_path: Path) -> None:
    args = ("--offline", "--at", AT, "--days", "90", "-r", "us-east-1")
    every = events(tmp_path, "--all", *args)
    bare = run(tmp_path, "timeline", *args, "--json")
    assert bare.returncode == 0, bare.stderr
    assert json.loads(bare.stdout) == every
    assert every, "the bundled data has transitions in this window"
    assert "no models in use are known on this machine" in bare.stderr
    assert "showing every model known in us-east-1" in bare.stderr

    table = run(tmp_path, "timeline", *args)
    assert table.returncode == 0, table.stderr
    lines = table.stdout.splitlines()
    assert lines[0] == "Transitions from 2026-01-10 to 2026-04-10"
    assert lines[1].split() == ["DATE", "IN", "MODEL", "REGION", "BECOMES", "REPLACEMENT"]
    body = [line.split() for line in lines[2:]]
    assert [(row[0], row[2]) for row in body] == [(e["date"], e["model_id"]) for e in every]
    assert ["2026-03-01", "50d", SONNET35, "us-east-1", "EOL", SONNET45] in body


def test_without_offline_and_without_credentials_it_answers_from_bundled_data(
    tmp_path: Path,
) -> None:
    """The default (online) mode with no credentials: the control plane cannot be asked, so the
    answer is the bundled one, with a one-line warning."""
    offline = events(tmp_path, "--all", "--offline", "--at", AT, "--days", "90")
    done = run(tmp_path, "timeline", "--at", AT, "--days", "90", "--json")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == offline
    assert "could not fetch lifecycle data for us-east-1" in done.stderr
    assert "Traceback" not in done.stderr


def test_regions_are_listed_each_with_their_own_dates(tmp_path: Path) -> None:
    listed = events(
        tmp_path, "--all", "--offline", "--at", AT, "-r", "us-east-1", "-r", "eu-central-2"
    )
    sonnet35 = {(e["region"], e["date"]) for e in listed if e["model_id"] == SONNET35}
    assert sonnet35 == {("us-east-1", "2026-03-01"), ("eu-central-2", "2026-06-01")}
    regions = {e["region"] for e in listed}
    assert regions == {"us-east-1", "eu-central-2"}
    both = bundled_transitions("us-east-1", 180) | bundled_transitions("eu-central-2", 180)
    assert {(e["date"], e["model_id"], e["transition"]) for e in listed} == both


def test_models_in_use_still_narrow_the_list(tmp_path: Path) -> None:
    ledger = tmp_path / "usage.jsonl"
    with bl.JsonlLedger(ledger) as sink:
        sink.record(
            bl.UsageRecord.from_usage(
                bl.Usage(input_tokens=10, output_tokens=5),
                price=None,
                operation="Converse",
                region="us-east-1",
                requested_model_id=HAIKU3,
                invoked_model_id=HAIKU3,
                state="ACTIVE",
                extended_access=False,
                timestamp=datetime(2026, 1, 5, tzinfo=timezone.utc),
            )
        )
    narrowed = events(tmp_path, "--ledger", str(ledger), "--offline", "--at", AT)
    assert [(e["date"], e["model_id"], e["transition"]) for e in narrowed] == [
        ("2026-03-10", HAIKU3, "LEGACY"),
        ("2026-06-10", HAIKU3, "EXTENDED_ACCESS"),
    ]


@pytest.mark.parametrize("extra", [[SONNET35], ["--ledger", "usage.jsonl"]])
def test_all_with_models_or_a_ledger_is_a_usage_error(tmp_path: Path, extra: list[str]) -> None:
    done = run(tmp_path, "timeline", "--all", "--offline", *extra)
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert lines == [
        "bedrock-lifecycle: error: --all reports every known model: name no MODEL and no --ledger"
    ]


def test_online_all_includes_models_only_the_control_plane_lists(tmp_path: Path) -> None:
    scenario = Scenario(
        models=(
            FakeModel(
                ONLY_LISTED,
                regions=("us-east-1",),
                legacy_at=date(2026, 2, 1),
                extended_access_at=date(2026, 3, 1),
                eol_at=date(2026, 5, 1),
            ),
        ),
        now=date(2026, 1, 10),
    )
    with FakeBedrock(scenario) as fake:
        fake.start()
        done = run(
            tmp_path,
            "timeline",
            "--all",
            "--at",
            AT,
            "--endpoint-url",
            fake.endpoint_url,
            "--json",
            env=cli_env(tmp_path / "cache", access_key_id="AKIAFAKETIMELINE0000"),
        )
        assert done.returncode == 0, done.stderr
        assert fake.count("ListFoundationModels", region="us-east-1") == 1
    listed = [(e["date"], e["model_id"], e["transition"]) for e in json.loads(done.stdout)]
    assert [t for t in listed if t[1] == ONLY_LISTED] == [
        ("2026-02-01", ONLY_LISTED, "LEGACY"),
        ("2026-03-01", ONLY_LISTED, "EXTENDED_ACCESS"),
        ("2026-05-01", ONLY_LISTED, "EOL"),
    ]
    # The bundled tables still count: AWS's dates for models the fake does not list.
    assert ("2026-03-01", SONNET35, "EOL") in listed
