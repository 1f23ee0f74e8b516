"""The ``bedrock-lifecycle`` command, run for real in a subprocess.

Every test runs the installed console script (or ``python -m``) with its own cache directory,
no AWS configuration and ``NO_COLOR``; Bedrock is the project's fake, reached over loopback.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from dataclasses import replace
from datetime import date, datetime, timezone
from pathlib import Path
from typing import Any

import pytest

import bedrock_lifecycle as bl
from bedrock_lifecycle.testing import FakeBedrock, FakeModel, Scenario

from ._cli_env import cli_env

pytestmark = pytest.mark.slow

UTC = timezone.utc
SONNET35 = "anthropic.claude-3-5-sonnet-20240620-v1:0"
SONNET35_V2 = "anthropic.claude-3-5-sonnet-20241022-v2:0"
NOVA = "amazon.nova-pro-v1:0"
# Ids of our own (AWS has no such models), so the bundled snapshot cannot interfere with the
# overrides; known provider prefixes, so the scanner recognises them.
ALPHA = "amazon.example-alpha-v1:0"
BETA = "meta.example-beta-v1:0"
ALPHA_NEXT = "amazon.example-alpha-v2:0"

_SCRIPT = shutil.which("bedrock-lifecycle", path=os.path.dirname(sys.executable))
COMMAND = [_SCRIPT] if _SCRIPT else [sys.executable, "-m", "bedrock_lifecycle.cli"]
TIMEOUT = 30


def base_env(cache_dir: Path) -> dict[str, str]:
    return cli_env(cache_dir)


class CLI:
    def __init__(self, tmp_path: Path) -> None:
        self.cache_dir = tmp_path / "cache"
        self.env = base_env(self.cache_dir)
        self.cwd = tmp_path

    def __call__(
        self, *args: str, env: dict[str, str] | None = None, cwd: Path | None = None
    ) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [*COMMAND, *args],
            capture_output=True,
            text=True,
            env={**self.env, **(env or {})},
            cwd=cwd or self.cwd,
            timeout=TIMEOUT,
            check=False,
        )

    def json(self, *args: str, **kwargs: Any) -> Any:
        done = self(*args, **kwargs)
        assert done.returncode == 0, done.stderr
        return json.loads(done.stdout)


@pytest.fixture
def cli(tmp_path: Path) -> CLI:
    return CLI(tmp_path)


@pytest.fixture
def offline(cli: CLI) -> CLI:
    cli.env["BEDROCK_LIFECYCLE_OFFLINE"] = "1"
    return cli


@pytest.fixture
def overrides(tmp_path: Path) -> Path:
    path = tmp_path / "overrides.toml"
    path.write_text(
        textwrap.dedent(
            f"""
            [models."{ALPHA}"]
            legacy_at = 2026-01-01
            extended_access_at = 2026-04-01
            eol_at = 2026-07-01
            recommended = ["{ALPHA_NEXT}"]

            [models."{ALPHA}".regions.eu-west-1]
            eol_at = 2026-09-01

            [models."{BETA}"]
            legacy_at = 2026-02-15
            eol_at = 2026-08-15
            """
        ),
        encoding="utf-8",
    )
    return path


def assert_one_line_error(done: subprocess.CompletedProcess[str], *fragments: str) -> None:
    assert done.returncode == 2
    assert "Traceback" not in done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith("bedrock-lifecycle: error: ")
    for fragment in fragments:
        assert fragment in lines[0]


def usage_record(
    model: str, when: datetime, *, extended: bool, state: str, priced: bool = True
) -> bl.UsageRecord:
    book = bl.PriceBook.bundled()
    return bl.UsageRecord.from_usage(
        bl.Usage(input_tokens=1000, output_tokens=500),
        price=book.price_for(model) if priced else None,
        operation="Converse",
        region="us-east-1",
        requested_model_id=model,
        invoked_model_id=model,
        state=state,
        extended_access=extended,
        timestamp=when,
    )


@pytest.fixture
def ledger_path(tmp_path: Path) -> Path:
    path = tmp_path / "usage.jsonl"
    with bl.JsonlLedger(path) as ledger:
        for rec in (
            usage_record(
                SONNET35_V2, datetime(2025, 11, 20, 9, tzinfo=UTC), extended=False, state="LEGACY"
            ),
            usage_record(
                SONNET35_V2,
                datetime(2026, 1, 5, 9, tzinfo=UTC),
                extended=True,
                state="EXTENDED_ACCESS",
            ),
            usage_record(
                SONNET35_V2,
                datetime(2026, 1, 6, 9, tzinfo=UTC),
                extended=True,
                state="EXTENDED_ACCESS",
            ),
            usage_record(
                NOVA,
                datetime(2026, 1, 6, 10, tzinfo=UTC),
                extended=False,
                state="ACTIVE",
                priced=False,
            ),
        ):
            ledger.record(rec)
    return path


# -- conventions ------------------------------------------------------------------------------


def test_version_and_help_with_examples(cli: CLI) -> None:
    version = cli("--version")
    assert version.returncode == 0
    assert version.stdout.strip() == f"bedrock-lifecycle {bl.__version__}"
    helped = cli("scan", "--help")
    assert helped.returncode == 0
    assert "examples:" in helped.stdout
    assert "--fail-on {legacy,extended-access,eol}" in helped.stdout


@pytest.mark.parametrize("module", ["bedrock_lifecycle", "bedrock_lifecycle.cli"])
def test_runs_as_a_module(cli: CLI, module: str) -> None:
    done = subprocess.run(
        [sys.executable, "-m", module, "--version"],
        capture_output=True,
        text=True,
        env=cli.env,
        timeout=TIMEOUT,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == f"bedrock-lifecycle {bl.__version__}"


def test_user_mistakes_are_one_line_errors_with_status_2(offline: CLI, tmp_path: Path) -> None:
    broken = tmp_path / "broken.toml"
    broken.write_text('[models."x.y-1"\neol_at = 2026-01-01\n', encoding="utf-8")
    assert_one_line_error(offline("status", "--overrides", str(broken), ALPHA), "broken.toml")
    unknown_key = tmp_path / "typo.json"
    unknown_key.write_text(json.dumps({"models": {ALPHA: {"eol": "2026-01-01"}}}), "utf-8")
    assert_one_line_error(offline("status", "--overrides", str(unknown_key), ALPHA), "typo.json")
    assert_one_line_error(offline("costs", "--ledger", str(tmp_path / "none.jsonl")), "none.jsonl")
    assert_one_line_error(offline("scan", str(tmp_path / "missing-dir")), "missing-dir")
    bad_policy = tmp_path / "policy.toml"
    bad_policy.write_text('on_eol = "warn"\n', encoding="utf-8")
    assert_one_line_error(
        offline("status", "--policy", str(bad_policy), ALPHA), "policy.toml", "on_eol"
    )
    argparse_error = offline("status", "--at", "next tuesday")
    assert argparse_error.returncode == 2
    assert "Traceback" not in argparse_error.stderr
    assert "bedrock-lifecycle status: error: argument --at" in argparse_error.stderr


# -- status -----------------------------------------------------------------------------------


def test_status_json_for_bundled_and_overridden_models(offline: CLI, overrides: Path) -> None:
    rows = offline.json(
        "status",
        SONNET35,
        ALPHA,
        "--region",
        "us-east-1",
        "--region",
        "eu-central-2",
        "--region",
        "eu-west-1",
        "--overrides",
        str(overrides),
        "--at",
        "2026-01-10",
        "--json",
    )
    by_key = {(row["model_id"], row["region"]): row for row in rows}
    assert len(rows) == 6
    # AWS's published per-region dates for Claude 3.5 Sonnet v1 (bundled snapshot).
    east = by_key[(SONNET35, "us-east-1")]
    assert east["state"] == "EXTENDED_ACCESS"
    assert (east["legacy_at"], east["extended_access_at"], east["eol_at"]) == (
        "2025-08-25",
        "2025-12-01",
        "2026-03-01",
    )
    assert east["next_transition"] == {"state": "EOL", "date": "2026-03-01", "days": 50}
    assert east["replacement_source"] == "aws"
    assert by_key[(SONNET35, "eu-central-2")]["eol_at"] == "2026-06-01"
    # Overrides: model-wide dates, and a region table that moves EOL for eu-west-1 only.
    alpha = by_key[(ALPHA, "us-east-1")]
    assert alpha["state"] == "LEGACY"
    assert alpha["source"] == "override"
    assert alpha["next_transition"] == {
        "state": "EXTENDED_ACCESS",
        "date": "2026-04-01",
        "days": 81,
    }
    assert (alpha["replacement"], alpha["replacement_source"]) == (ALPHA_NEXT, "aws")
    assert by_key[(ALPHA, "eu-west-1")]["eol_at"] == "2026-09-01"
    assert by_key[(ALPHA, "us-east-1")]["eol_at"] == "2026-07-01"


def test_status_table_and_policy_successor(offline: CLI, overrides: Path, tmp_path: Path) -> None:
    policy = tmp_path / "policy.toml"
    policy.write_text(f'[successors]\n"{ALPHA}" = "example.gamma-text-v1:0"\n', "utf-8")
    done = offline(
        "status",
        ALPHA,
        BETA,
        "-r",
        "us-east-1",
        "--overrides",
        str(overrides),
        "--policy",
        str(policy),
        "--at",
        "2026-05-01",
    )
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0] == "Lifecycle as of 2026-05-01"
    assert lines[1].split()[:3] == ["MODEL", "REGION", "STATE"]
    alpha = next(line for line in lines if line.startswith(ALPHA))
    assert "extended access" in alpha
    assert "EOL in 61d" in alpha
    assert "example.gamma-text-v1:0 (policy)" in alpha
    beta = next(line for line in lines if line.startswith(BETA))
    assert re.search(r"\bLegacy\b.*2026-02-15\s+-\s+2026-08-15\s+EOL in 106d", beta)
    assert "\x1b[" not in done.stdout


def test_status_with_nothing_known_says_so(offline: CLI) -> None:
    done = offline("status")
    assert done.returncode == 0
    assert done.stdout == ""
    assert "no models in use are known on this machine" in done.stderr
    assert offline.json("status", "--json") == []


def test_status_lists_models_from_a_ledger(offline: CLI, ledger_path: Path) -> None:
    rows = offline.json("status", "--ledger", str(ledger_path), "--at", "2026-01-10", "--json")
    assert [(row["model_id"], row["region"]) for row in rows] == [
        (NOVA, "us-east-1"),
        (SONNET35_V2, "us-east-1"),
    ]
    v2 = rows[1]
    assert v2["state"] == "EXTENDED_ACCESS"
    assert v2["last_used"] == "2026-01-06T09:00:00+00:00"


def test_status_lists_models_this_machine_called(cli: CLI) -> None:
    """A governed call through the library writes the cache; status then finds the model."""
    cache_file = cli.cache_dir / "lifecycle.json"
    scenario = Scenario(
        models=(
            FakeModel(
                ALPHA, regions=("us-east-1",), legacy_at=date(2026, 1, 1), eol_at=date(2026, 6, 1)
            ),
        ),
        now=date(2026, 2, 1),
    )
    with FakeBedrock(scenario) as fake:
        catalog = bl.Catalog(
            control_client=fake.client("bedrock"), cache_path=cache_file, clock=fake.clock
        )
        runtime = bl.wrap(fake.client("bedrock-runtime"), catalog=catalog)
        with pytest.warns(bl.LegacyModelWarning):
            runtime.converse(
                modelId=ALPHA, messages=[{"role": "user", "content": [{"text": "hi"}]}]
            )
        catalog.close()
    rows = cli.json("status", "--offline", "--at", "2026-02-01", "--json")
    assert [(row["model_id"], row["region"], row["state"]) for row in rows] == [
        (ALPHA, "us-east-1", "LEGACY")
    ]
    assert rows[0]["eol_at"] == "2026-06-01"
    assert rows[0]["last_used"] == "2026-02-01T00:00:00+00:00"


# -- timeline ---------------------------------------------------------------------------------


def test_timeline_orders_transitions_within_the_window(offline: CLI, overrides: Path) -> None:
    args = (
        "timeline",
        ALPHA,
        BETA,
        "-r",
        "us-east-1",
        "--overrides",
        str(overrides),
        "--at",
        "2026-01-10",
    )
    events = offline.json(*args, "--days", "180", "--json")
    assert [(e["date"], e["model_id"], e["transition"]) for e in events] == [
        ("2026-02-15", BETA, "LEGACY"),
        ("2026-04-01", ALPHA, "EXTENDED_ACCESS"),
        ("2026-07-01", ALPHA, "EOL"),
    ]
    assert events[0]["days"] == 36
    short = offline.json(*args, "--days", "60", "--json")
    assert [e["date"] for e in short] == ["2026-02-15"]
    table = offline(*args, "--days", "180")
    assert table.returncode == 0
    body = [line for line in table.stdout.splitlines() if line.startswith("2026-")]
    assert [line.split()[0] for line in body] == ["2026-02-15", "2026-04-01", "2026-07-01"]
    empty = offline(*args, "--days", "10")
    assert "No lifecycle transitions in the next 10 days" in empty.stdout


# -- scan -------------------------------------------------------------------------------------


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    root = tmp_path / "repo"
    (root / "app").mkdir(parents=True)
    (root / "app" / "main.py").write_text(
        textwrap.dedent(
            f"""\
            import boto3

            CHAT = "{SONNET35}"
            FAST = "us.{ALPHA}"
            """
        ),
        encoding="utf-8",
    )
    (root / "infra.tf").write_text(f'model = "{BETA}"\n', encoding="utf-8")
    (root / "README.md").write_text("No model ids here: os.path, docs.aws.amazon.com.\n", "utf-8")
    return root


def scan(cli: CLI, tree: Path, overrides: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return cli("scan", ".", "--overrides", str(overrides), "--at", "2026-01-10", *args, cwd=tree)


def test_scan_text_reports_positions_states_and_replacements(
    cli: CLI, tree: Path, overrides: Path
) -> None:
    done = scan(cli, tree, overrides)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[:2] == [
        f"app/main.py:3:9: extended access {SONNET35} in us-east-1 (Legacy 2025-08-25, "
        "extended access 2025-12-01, EOL 2026-03-01) -> anthropic.claude-sonnet-4-5-20250929-v1:0",
        f"app/main.py:4:9: Legacy us.{ALPHA} in us-east-1 (Legacy 2026-01-01, extended access "
        f"2026-04-01, EOL 2026-07-01) -> {ALPHA_NEXT}",
    ]
    assert lines[2:] == [
        "3 model id(s) in 2 file(s): 1 extended access, 1 Legacy, 1 Active "
        "(Active ones not listed; --all lists them)"
    ]


def test_scan_fail_on_sets_the_exit_status(cli: CLI, tree: Path, overrides: Path) -> None:
    assert scan(cli, tree, overrides, "--fail-on", "eol").returncode == 0
    failing = scan(cli, tree, overrides, "--fail-on", "extended-access")
    assert failing.returncode == 1
    assert "1 finding(s) at or above --fail-on extended-access" in failing.stderr
    assert scan(cli, tree, overrides, "--fail-on", "legacy").returncode == 1
    later = cli(
        "scan",
        ".",
        "--overrides",
        str(overrides),
        "--at",
        "2026-03-02",
        "--fail-on",
        "eol",
        cwd=tree,
    )
    assert later.returncode == 1


def test_scan_json_and_sarif(cli: CLI, tree: Path, overrides: Path) -> None:
    found = json.loads(scan(cli, tree, overrides, "--format", "json").stdout)
    assert [(f["path"], f["line"], f["column"], f["state"]) for f in found] == [
        ("app/main.py", 3, 9, "EXTENDED_ACCESS"),
        ("app/main.py", 4, 9, "LEGACY"),
        ("infra.tf", 1, 10, "ACTIVE"),
    ]
    assert found[1]["base_model_id"] == ALPHA
    assert found[1]["form"] == "profile"
    assert found[0]["eol_at"] == "2026-03-01"
    done = scan(cli, tree, overrides, "--format", "sarif", "--fail-on", "legacy")
    assert done.returncode == 1
    sarif = json.loads(done.stdout)
    assert sarif["version"] == "2.1.0"
    results = sarif["runs"][0]["results"]
    assert [r["ruleId"] for r in results] == ["BL002", "BL001"]
    location = results[0]["locations"][0]["physicalLocation"]
    assert location["artifactLocation"]["uri"] == "app/main.py"
    assert location["region"]["startLine"] == 3


def test_scan_region_changes_the_verdict(cli: CLI, tree: Path, overrides: Path) -> None:
    east = json.loads(scan(cli, tree, overrides, "--format", "json", "-r", "us-east-1").stdout)
    west = json.loads(scan(cli, tree, overrides, "--format", "json", "-r", "eu-west-1").stdout)
    assert east[1]["eol_at"] == "2026-07-01"
    assert west[1]["eol_at"] == "2026-09-01"


# -- costs ------------------------------------------------------------------------------------


def test_costs_from_a_jsonl_ledger(offline: CLI, ledger_path: Path) -> None:
    done = offline("costs", "--ledger", str(ledger_path))
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    nova = next(line for line in lines if line.startswith(NOVA))
    assert nova.split()[-2:] == ["unknown", "unknown"]
    v2 = next(line for line in lines if line.startswith(SONNET35_V2))
    # Standard $3/$15, extended $6/$30 per million: 1000 in + 500 out per call.
    assert v2.split()[1:] == ["3", "3,000", "1,500", "$0.0525", "$0.0210"]
    assert "Known spend: $0.0525 over 3 priced call(s)" in lines
    assert "Extended-access premium: $0.0210 (2 call(s) in public extended access)" in lines
    assert any(line.startswith("Unpriced: 1 call(s) have no known cost") for line in lines)
    assert "$0.0000" not in nova


def test_costs_json_filters_and_groups(offline: CLI, ledger_path: Path) -> None:
    report = offline.json(
        "costs",
        "--ledger",
        str(ledger_path),
        "--since",
        "2026-01-01",
        "--until",
        "2026-01-05",
        "--by",
        "model,day",
        "--json",
    )
    assert [(r["model"], r["day"], r["calls"]) for r in report["rows"]] == [
        (SONNET35_V2, "2026-01-05", 1)
    ]
    assert report["total"]["premium_usd"] == pytest.approx(0.0105)
    everything = offline.json("costs", "--ledger", str(ledger_path), "--json")
    nova = next(r for r in everything["rows"] if r["model"] == NOVA)
    assert nova["cost_usd"] is None
    assert nova["unpriced_calls"] == 1
    assert everything["extended_access_calls"] == 2


def test_costs_from_an_sqlite_ledger(offline: CLI, tmp_path: Path) -> None:
    path = tmp_path / "usage.db"
    with bl.SqliteLedger(path) as ledger:
        ledger.record(
            usage_record(
                SONNET35_V2,
                datetime(2026, 1, 5, tzinfo=UTC),
                extended=True,
                state="EXTENDED_ACCESS",
            )
        )
    report = offline.json("costs", "--ledger", str(path), "--json")
    assert report["total"]["cost_usd"] == pytest.approx(0.021)
    assert report["total"]["premium_usd"] == pytest.approx(0.0105)
    not_a_db = tmp_path / "notes.db"
    not_a_db.write_text("plain text, not SQLite\n", encoding="utf-8")
    assert_one_line_error(offline("costs", "--ledger", str(not_a_db)), "notes.db")


# -- refresh against the fake over loopback ------------------------------------------------------


@pytest.fixture
def served() -> Iterator[FakeBedrock]:
    with FakeBedrock() as fake:
        fake.start()
        yield fake


def test_refresh_reports_changes_and_status_reads_the_cache(cli: CLI, served: FakeBedrock) -> None:
    aws = {"AWS_ACCESS_KEY_ID": "AKIAFAKECLITEST00000", "AWS_SECRET_ACCESS_KEY": "fake"}
    url = served.endpoint_url
    first = cli("refresh", "--endpoint-url", url, "-r", "us-east-1", env=aws)
    assert first.returncode == 0, first.stderr
    lines = first.stdout.splitlines()
    assert lines[0] == "us-east-1: 5 models, 5 changes"
    assert f"  + {NOVA} (Active)" in lines
    assert (cli.cache_dir / "lifecycle.json").is_file()
    unchanged = cli("refresh", "--endpoint-url", url, "-r", "us-east-1", env=aws)
    assert unchanged.stdout.splitlines() == ["us-east-1: 5 models, no changes"]
    llama = "meta.llama3-1-70b-instruct-v1:0"
    model = served.scenario.model(llama)
    assert model is not None
    served.scenario = served.scenario.with_models(replace(model, eol_at=date(2026, 9, 1)))
    changed = cli("refresh", "--endpoint-url", url, "-r", "us-east-1", "--json", env=aws)
    (region,) = json.loads(changed.stdout)
    assert region["ok"] is True
    assert region["changes"] == [
        {
            "model_id": llama,
            "change": "dates",
            "before": {
                "state": region["changes"][0]["before"]["state"],
                "legacy_at": "2025-12-01",
                "extended_access_at": None,
                "eol_at": "2026-06-01",
            },
            "after": {
                "state": region["changes"][0]["after"]["state"],
                "legacy_at": "2025-12-01",
                "extended_access_at": None,
                "eol_at": "2026-09-01",
            },
        }
    ]
    served.clear_requests()
    status = cli.json(
        "status",
        llama,
        "--endpoint-url",
        url,
        "-r",
        "us-east-1",
        "--at",
        "2026-01-15",
        "--json",
        env=aws,
    )
    assert status[0]["eol_at"] == "2026-09-01"
    # Answered from the cache file refresh wrote, without asking the control plane again.
    assert status[0]["source"] == "cache"
    assert served.count("ListFoundationModels") == 0


def test_refresh_fails_with_status_1_when_every_region_fails(cli: CLI) -> None:
    # With BEDROCK_LIFECYCLE_OFFLINE set the catalog never calls AWS: each region fails.
    done = cli(
        "refresh", "-r", "us-east-1", "-r", "eu-west-1", env={"BEDROCK_LIFECYCLE_OFFLINE": "1"}
    )
    assert done.returncode == 1
    assert done.stdout.splitlines() == [
        "us-east-1: failed (offline)",
        "eu-west-1: failed (offline)",
    ]


# -- demo -------------------------------------------------------------------------------------


def test_demo_shows_warnings_fallback_and_premium(cli: CLI) -> None:
    done = cli("demo", "--fast")
    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert "LegacyModelWarning: anthropic.claude-3-5-sonnet-20241022-v2:0 is Legacy" in out
    assert "ExtendedAccessWarning:" in out
    assert "FallbackWarning:" in out
    assert "invoked:  us.anthropic.claude-sonnet-4-5-20250929-v1:0 (3 calls)" in out
    assert "fallback: yes, 3 of 3 calls went to the successor" in out
    # 3 calls x (1200 in, 400 out) at $6/$30 instead of $3/$15 per million tokens.
    assert "Extended-access premium: $0.0288 over 3 calls" in out
    assert not cli.cache_dir.exists()  # nothing written to the (user's) cache directory


def test_demo_json(cli: CLI) -> None:
    report = cli.json("demo", "--json")
    assert [stage["state"] for stage in report["stages"]] == [
        "ACTIVE",
        "LEGACY",
        "EXTENDED_ACCESS",
        "EOL",
    ]
    categories = [[w["category"] for w in stage["warnings"]] for stage in report["stages"]]
    assert categories[0] == []
    assert "LegacyModelWarning" in categories[1]
    assert "ExtendedAccessWarning" in categories[2]
    assert categories[3] == ["FallbackWarning"]
    last = report["stages"][3]["calls"]
    assert {(c["invoked"], c["fallback"]) for c in last} == {
        ("us.anthropic.claude-sonnet-4-5-20250929-v1:0", True)
    }
    assert report["costs"]["total"]["premium_usd"] == pytest.approx(0.0288)
    assert report["costs"]["total"]["calls"] == 12


# -- fake-server ------------------------------------------------------------------------------


def start_server(cli: CLI, *args: str) -> tuple[subprocess.Popen[str], str, str]:
    """Start ``fake-server``; returns the process, its banner and its endpoint URL."""
    process = subprocess.Popen(
        [*COMMAND, "fake-server", "--port", "0", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=cli.env,
    )
    assert process.stdout is not None
    banner = ""
    while "Press Ctrl-C to stop." not in banner:
        line = process.stdout.readline()
        if not line:
            process.kill()
            raise AssertionError(f"the server did not start: {banner!r} {process.communicate()}")
        banner += line
    match = re.search(r"listening on (http://127\.0\.0\.1:\d+)", banner)
    assert match is not None, banner
    return process, banner, match.group(1)


def bedrock_client(url: str) -> Any:
    import boto3

    session = boto3.Session(
        aws_access_key_id="AKIAFAKECLITEST00000",
        aws_secret_access_key="fake",
        region_name="us-east-1",
    )
    return session.client("bedrock", endpoint_url=url)


@pytest.mark.skipif(sys.platform == "win32", reason="SIGINT to a child process is POSIX-only")
def test_fake_server_serves_until_interrupted(cli: CLI, tmp_path: Path) -> None:
    scenario = tmp_path / "scenario.toml"
    scenario.write_text(
        textwrap.dedent(
            f"""
            now = 2026-02-01
            [[models]]
            model_id = "{ALPHA}"
            regions = ["us-east-1"]
            legacy_at = 2026-01-01
            eol_at = 2026-06-01
            """
        ),
        encoding="utf-8",
    )
    process, banner, url = start_server(cli, "--scenario", str(scenario))
    try:
        summaries = bedrock_client(url).list_foundation_models()["modelSummaries"]
        assert [(s["modelId"], s["modelLifecycle"]["status"]) for s in summaries] == [
            (ALPHA, "LEGACY")
        ]
    finally:
        process.send_signal(signal.SIGINT)
        out, err = process.communicate(timeout=TIMEOUT)
    assert process.returncode == 0, err
    assert f"export AWS_ENDPOINT_URL_BEDROCK_RUNTIME={url}" in banner
    assert "Stopped after 1 request(s)." in out
    assert "Traceback" not in err


def test_fake_server_rejects_a_bad_scenario(cli: CLI, tmp_path: Path) -> None:
    scenario = tmp_path / "scenario.json"
    scenario.write_text(json.dumps({"models": [{"model_id": ALPHA, "eol": "2026-01-01"}]}), "utf-8")
    assert_one_line_error(cli("fake-server", "--scenario", str(scenario)), "scenario.json", "eol")


def test_fake_server_scenario_file_declares_what_a_model_refuses(tmp_path: Path) -> None:
    from bedrock_lifecycle.cli._fake_server import load_scenario

    scenario = tmp_path / "scenario.toml"
    scenario.write_text(
        textwrap.dedent(
            f"""
            [[models]]
            model_id = "{ALPHA}"
            refuses = ["top_k"]
            refuses_together = [["temperature", "top_p"]]
            max_tokens = 4096
            """
        ),
        encoding="utf-8",
    )
    (model,) = load_scenario(scenario).models
    assert model.refuses == ("top_k",)
    assert model.refuses_together == (("temperature", "top_p"),)
    assert model.max_tokens == 4096
    with FakeBedrock(scenario=load_scenario(scenario)) as fake:
        runtime = fake.client("bedrock-runtime", region_name="us-east-1")
        with pytest.raises(runtime.exceptions.ValidationException, match="cannot both"):
            runtime.converse(
                modelId=ALPHA,
                messages=[{"role": "user", "content": [{"text": "hi"}]}],
                inferenceConfig={"temperature": 0.5, "topP": 0.9},
            )


@pytest.mark.parametrize(
    ("line", "key"),
    [
        ('refuses_together = [["temperature"]]', "refuses_together"),
        ('refuses = "temperature"', None),
        ("max_tokens = 1.5", "max_tokens"),
    ],
)
def test_fake_server_scenario_file_refusal_keys_are_checked(
    tmp_path: Path, line: str, key: str | None
) -> None:
    from bedrock_lifecycle.cli._fake_server import load_scenario

    scenario = tmp_path / "scenario.toml"
    scenario.write_text(f'[[models]]\nmodel_id = "{ALPHA}"\n{line}\n', encoding="utf-8")
    if key is None:  # a single name is taken as a one-item list
        assert load_scenario(scenario).models[0].refuses == ("temperature",)
        return
    with pytest.raises(bl.ConfigurationError, match=key) as caught:
        load_scenario(scenario)
    assert "scenario.toml" in str(caught.value)


# -- colour -----------------------------------------------------------------------------------


@pytest.mark.skipif(sys.platform == "win32", reason="needs a pseudo-terminal")
@pytest.mark.parametrize("no_color", [False, True])
def test_colour_on_a_terminal_unless_no_color(
    offline: CLI, overrides: Path, no_color: bool
) -> None:
    import pty

    env = dict(offline.env)
    env.pop("NO_COLOR")
    if no_color:
        env["NO_COLOR"] = "1"
    primary, secondary = pty.openpty()
    process = subprocess.Popen(
        [*COMMAND, "status", ALPHA, "--overrides", str(overrides), "--at", "2026-05-01"],
        stdout=secondary,
        stderr=secondary,
        env=env,
    )
    os.close(secondary)
    output = b""
    while True:
        try:
            chunk = os.read(primary, 65536)
        except OSError:  # EIO once the child has closed the terminal
            break
        if not chunk:
            break
        output += chunk
    os.close(primary)
    assert process.wait(timeout=TIMEOUT) == 0
    text = output.decode("utf-8")
    assert ALPHA in text
    assert ("\x1b[" in text) is not no_color
