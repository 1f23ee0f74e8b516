"""Preflight: ``bl.preflight`` through real boto3 clients, and ``bedrock-lifecycle check`` run as
the installed console script, both against the project's fake Bedrock.

The fake serves its default scenario at 2026-01-15: Claude 3.5 Sonnet v1 (``V1``) is in extended
access in us-east-1 (EOL 2026-03-01) and Legacy in eu-central-2 (EOL 2026-06-01); AWS recommends
Claude Sonnet 4.5 (``SONNET45``) for it, which is sold only through inference profiles and refuses
``temperature`` with ``top_p``.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from datetime import date, datetime, timezone
from pathlib import Path

import pytest

import bedrock_lifecycle as bl
from bedrock_lifecycle.testing import (
    FakeBedrock,
    FakeModel,
    FakeUsage,
    FaultKind,
    Scenario,
)

from ._cli_env import cli_env

UTC = timezone.utc
NOW = datetime(2026, 1, 15, tzinfo=UTC)
V1 = "anthropic.claude-3-5-sonnet-20240620-v1:0"
V2 = "anthropic.claude-3-5-sonnet-20241022-v2:0"
SONNET45 = "anthropic.claude-sonnet-4-5-20250929-v1:0"
NOVA = "amazon.nova-pro-v1:0"
LLAMA = "meta.llama3-1-70b-instruct-v1:0"
# Ids of our own (AWS has no such models): nothing bundled can say anything about them.
BRIDGE = "amazon.example-bridge-v1:0"
GONE = "amazon.example-gone-v1:0"
EU_ONLY = "amazon.example-eu-only-v1:0"

RUNTIME_OPERATIONS = frozenset(
    {"Converse", "ConverseStream", "InvokeModel", "InvokeModelWithResponseStream", "CountTokens"}
)


def world() -> Scenario:
    """The default scenario, plus a priced on-demand successor (v2, 1000 in / 500 out tokens),
    a model that retires before v1 does, and one whose only profiles are ``eu.`` ones."""
    return Scenario.default().with_models(
        FakeModel(
            V2, regions=("us-east-1",), usage=FakeUsage(input_tokens=1000, output_tokens=500)
        ),
        FakeModel(
            BRIDGE, regions=("us-east-1",), legacy_at=date(2025, 12, 1), eol_at=date(2026, 2, 1)
        ),
        FakeModel(EU_ONLY, regions=("us-east-1", "eu-central-2"), profile_geos=("eu",)),
    )


def sent(fake: FakeBedrock, operation: str) -> list[tuple[str, str | None]]:
    """``(region, model id)`` of every request of ``operation`` the fake answered."""
    return [(r.region, r.model_id) for r in fake.requests if r.operation == operation]


# -- the library ------------------------------------------------------------------------------


@pytest.fixture
def fake() -> Iterator[FakeBedrock]:
    with FakeBedrock(world(), now=NOW) as served:
        yield served


def check(
    fake: FakeBedrock,
    models: list[str] | None,
    regions: tuple[str, ...] = ("us-east-1",),
    *,
    policy: bl.Policy | None = None,
    invoke: bool = False,
    catalog: bl.Catalog | None = None,
    prices: bl.PriceBook | None = None,
) -> bl.PreflightReport:
    session = fake.session()
    if catalog is None:
        catalog = bl.Catalog(session=session, clock=fake.clock, persist=False, max_wait=5.0)
    return bl.preflight(
        policy,
        regions=regions,
        models=models,
        catalog=catalog,
        session=session,
        invoke=invoke,
        prices=prices,
    )


def only(report: bl.PreflightReport, model_id: str, region: str = "us-east-1") -> bl.PreflightRow:
    (row,) = [r for r in report.rows if r.model_id == model_id and r.region == region]
    return row


def test_the_successor_is_checked_in_the_form_the_application_calls(fake: FakeBedrock) -> None:
    report = check(fake, [f"eu.{V1}", V1], ("us-east-1", "eu-central-2"))
    assert not report.ok
    profiled = only(report, f"eu.{V1}", "eu-central-2")
    assert (profiled.role, profiled.successor) == ("chosen", f"eu.{SONNET45}")
    assert (profiled.state, profiled.eol_at) == (bl.State.LEGACY, datetime(2026, 6, 1, tzinfo=UTC))
    assert (profiled.offered, profiled.on_demand, profiled.streaming) == (True, False, True)
    assert profiled.adaptations == "temperature with topP; maxTokens <= 64000"
    assert profiled.ok
    by_base = only(report, V1)
    assert by_base.successor == SONNET45
    assert not by_base.ok
    assert "sold only through inference profiles: a call by base id fails" in by_base.problems[0]
    # An eu. profile is no profile in us-east-1, and neither is its successor's.
    abroad = only(report, f"eu.{V1}")
    assert abroad.offered is False
    assert f"inference profile eu.{SONNET45} is not offered in us-east-1" in abroad.problems
    assert report.problems == (abroad, by_base, only(report, V1, "eu-central-2"))


def test_each_question_is_asked_once_and_only_the_control_plane(fake: FakeBedrock) -> None:
    # Both ids of v1 fall back to Sonnet 4.5: one GetFoundationModel per region, one
    # GetInferenceProfile per profile and region, nothing sent to the runtime.
    check(fake, [f"us.{V1}", V1, f"us.{V1}"], ("us-east-1", "eu-central-2"))
    assert sent(fake, "GetFoundationModel") == [
        ("us-east-1", SONNET45),
        ("eu-central-2", SONNET45),
    ]
    assert sent(fake, "GetInferenceProfile") == [
        ("us-east-1", f"us.{SONNET45}"),
        ("eu-central-2", f"us.{SONNET45}"),
    ]
    assert not [r for r in fake.requests if r.operation in RUNTIME_OPERATIONS]


def test_a_model_without_successor_is_a_problem_only_when_it_is_ageing(fake: FakeBedrock) -> None:
    report = check(fake, [NOVA, LLAMA], policy=bl.Policy(use_recommended=False))
    nova = only(report, NOVA)
    assert (nova.role, nova.successor, nova.ok) == ("none", None, True)
    assert "none needed yet" in nova.notes[0]
    llama = only(report, LLAMA)
    assert llama.role == "none"
    assert llama.problems == (
        "it is Legacy, EOL 2026-06-01 and no successor is configured or recommended: add one, "
        f"Policy(successors={{{LLAMA!r}: '<model id>'}})",
    )


def test_refused_successors_are_rows_with_the_walks_reason(fake: FakeBedrock) -> None:
    report = check(fake, [f"us.{V1}"], policy=bl.Policy(successors={V1: BRIDGE}))
    refused, chosen = report.rows
    assert (refused.role, refused.successor) == ("refused", f"us.{BRIDGE}")
    assert refused.successor_eol_at == datetime(2026, 2, 1, tzinfo=UTC)
    assert refused.refused == f"retires 2026-02-01 in us-east-1, before us.{V1} (2026-03-01)"
    assert refused.problems == (f"a fallback would skip it: {refused.refused}",)
    # The walk goes on to AWS's recommendation, as a call would.
    assert (chosen.role, chosen.successor, chosen.ok) == ("chosen", f"us.{SONNET45}", True)
    assert not report.ok


def test_a_successor_not_offered_in_the_region_or_form(fake: FakeBedrock) -> None:
    policy = bl.Policy(successors={V1: NOVA, V2: EU_ONLY})
    report = check(fake, [V1, f"us.{V2}"], ("eu-central-2", "us-east-1"), policy=policy)
    nova = only(report, V1, "eu-central-2")
    assert nova.offered is False
    assert nova.problems[0].startswith(f"{NOVA} is not offered in eu-central-2 (")
    assert only(report, V1, "us-east-1").ok
    profile = only(report, f"us.{V2}", "us-east-1")
    assert profile.successor == f"us.{EU_ONLY}"
    assert profile.problems == (f"inference profile us.{EU_ONLY} is not offered in us-east-1",)


def test_control_plane_errors_are_problems_not_exceptions(fake: FakeBedrock) -> None:
    fake.inject("GetFoundationModel", FaultKind.ACCESS_DENIED)
    fake.inject("GetInferenceProfile", FaultKind.DROP_CONNECTION)
    row = only(check(fake, [f"us.{V1}"]), f"us.{V1}")
    assert row.offered is None
    assert row.on_demand is None
    assert row.problems[0].startswith(
        f"GetFoundationModel {SONNET45} in us-east-1 failed: AccessDeniedException"
    )
    assert row.problems[1].startswith(
        f"GetInferenceProfile us.{SONNET45} in us-east-1 failed: ConnectionClosedError"
    )


def test_invoke_makes_one_adapted_call_per_successor_and_prices_it(fake: FakeBedrock) -> None:
    policy = bl.Policy(successors={V1: V2, LLAMA: NOVA}, constraints={NOVA: {"max_tokens": 4}})
    report = check(fake, [V1, LLAMA, V1], policy=policy, invoke=True)
    v2 = only(report, V1)
    # The test call asks for 8 tokens at most, and Bedrock (the fake too) reports no more.
    assert (v2.invoke_ok, v2.input_tokens, v2.output_tokens) == (True, 1000, 8)
    assert v2.cost_usd == pytest.approx(0.00312)  # $3 / $15 per million tokens, bundled
    nova = only(report, LLAMA)
    assert nova.invoke_ok is True
    assert nova.cost_usd is None  # no price known: unknown, never $0
    assert nova.adaptations == "maxTokens <= 4"
    converse = [r for r in fake.requests if r.operation == "Converse"]
    assert [r.model_id for r in converse] == [V2, NOVA]
    limits = [json.loads(r.body)["inferenceConfig"]["maxTokens"] for r in converse]
    assert limits == [8, 4]  # the probe's 8, clamped to what the policy says nova takes


def test_invoke_prices_from_the_book_given(fake: FakeBedrock) -> None:
    prices = bl.PriceBook({NOVA: bl.Price(input_per_1m=1.0, output_per_1m=2.0)})
    report = check(
        fake, [LLAMA], policy=bl.Policy(successors={LLAMA: NOVA}), invoke=True, prices=prices
    )
    row = only(report, LLAMA)
    assert row.invoke_ok is True
    assert row.input_tokens is not None
    assert row.output_tokens is not None
    expected = (row.input_tokens * 1.0 + row.output_tokens * 2.0) / 1_000_000
    assert row.cost_usd == pytest.approx(expected)


def test_a_failed_test_call_is_a_problem(fake: FakeBedrock) -> None:
    fake.inject("Converse", FaultKind.THROTTLING)
    row = only(check(fake, [f"us.{V1}"], invoke=True), f"us.{V1}")
    assert row.invoke_ok is False
    assert row.cost_usd is None
    assert row.invoke_error is not None
    assert row.invoke_error.startswith("ThrottlingException")
    assert row.problems == (f"the test call failed: {row.invoke_error}",)


def test_by_default_the_models_the_catalog_saw_called_where_they_were_called(
    fake: FakeBedrock,
) -> None:
    session = fake.session()
    catalog = bl.Catalog(session=session, clock=fake.clock, persist=False, max_wait=5.0)
    catalog.note_success(V1, "eu-central-2", NOW)
    catalog.note_success(NOVA, "us-west-2", NOW)
    report = check(fake, None, ("us-east-1", "eu-central-2"), catalog=catalog)
    assert [(row.model_id, row.region) for row in report.rows] == [(V1, "eu-central-2")]


# -- the command ------------------------------------------------------------------------------

_SCRIPT = shutil.which("bedrock-lifecycle", path=os.path.dirname(sys.executable))
COMMAND = [_SCRIPT] if _SCRIPT else [sys.executable, "-m", "bedrock_lifecycle.cli"]
TIMEOUT = 30


@pytest.fixture
def served() -> Iterator[FakeBedrock]:
    with FakeBedrock(world(), now=NOW) as fake:
        fake.start()
        yield fake


class CLI:
    """``bedrock-lifecycle`` in a subprocess with its own cache, dummy credentials, no AWS
    configuration, and every call sent to the fake."""

    def __init__(self, tmp_path: Path, fake: FakeBedrock) -> None:
        self.tmp_path = tmp_path
        self.env = cli_env(tmp_path / "cache", "AKIAFAKECHECKTEST000")
        self.endpoint = fake.endpoint_url

    def __call__(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [*COMMAND, "check", "--endpoint-url", self.endpoint, "--at", "2026-01-15", *args],
            capture_output=True,
            text=True,
            env=self.env,
            cwd=self.tmp_path,
            timeout=TIMEOUT,
            check=False,
        )

    def policy(self, text: str) -> str:
        path = self.tmp_path / "policy.toml"
        path.write_text(textwrap.dedent(text), encoding="utf-8")
        return str(path)


@pytest.fixture
def cli(tmp_path: Path, served: FakeBedrock) -> CLI:
    return CLI(tmp_path, served)


def block(stdout: str, heading: str) -> list[str]:
    """The lines under ``heading`` (a model and region), up to the next blank line."""
    lines = stdout.splitlines()
    start = lines.index(heading) + 1
    end = lines.index("", start)
    return lines[start:end]


@pytest.mark.slow
def test_check_exits_0_when_every_successor_is_ready(cli: CLI, served: FakeBedrock) -> None:
    # A global profile: a us. one is no profile in eu-central-2.
    done = cli(f"global.{V1}", NOVA, "-r", "us-east-1", "-r", "eu-central-2")
    assert done.returncode == 0, done.stdout + done.stderr
    lines = done.stdout.splitlines()
    assert lines[0] == "Preflight as of 2026-01-15: 2 models in use, 2 regions"
    assert block(done.stdout, f"global.{V1} in us-east-1: extended access, EOL 2026-03-01") == [
        f"  ready    global.{SONNET45} (Active)",
        "           offered: yes; on demand: no; streams: yes",
        "           adaptations: temperature with topP; maxTokens <= 64000",
    ]
    assert f"global.{V1} in eu-central-2: Legacy, EOL 2026-06-01" in lines
    assert block(done.stdout, f"{NOVA} in us-east-1: Active") == [
        "  ok       no successor",
        "           Active: no successor configured or recommended, none needed yet",
    ]
    assert lines[-1] == "Ready: 4 of 4 checks passed."
    assert not [r for r in served.requests if r.operation in RUNTIME_OPERATIONS]


@pytest.mark.slow
@pytest.mark.parametrize(
    ("successor", "reason"),
    [
        (GONE, "end of life 2025-12-01 in us-east-1"),
        (BRIDGE, f"retires 2026-02-01 in us-east-1, before us.{V1} (2026-03-01)"),
    ],
    ids=["past-eol", "retires-before"],
)
def test_check_exits_1_when_a_successor_would_be_refused(
    cli: CLI, tmp_path: Path, successor: str, reason: str
) -> None:
    overrides = tmp_path / "overrides.toml"
    overrides.write_text(f'[models."{GONE}"]\neol_at = 2025-12-01\n', encoding="utf-8")
    policy = cli.policy(f'[successors]\n"{V1}" = "{successor}"\n')
    done = cli(f"us.{V1}", "--policy", policy, "--overrides", str(overrides))
    assert done.returncode == 1, done.stdout + done.stderr
    rows = block(done.stdout, f"us.{V1} in us-east-1: extended access, EOL 2026-03-01")
    assert rows[0].startswith(f"  REFUSED  us.{successor} (")
    assert rows[1] == f"           problem: a fallback would skip it: {reason}"
    assert rows[2] == f"  ready    us.{SONNET45} (Active)"
    assert done.stdout.splitlines()[-1] == "Not ready: 1 problem in 1 of 2 checks."


@pytest.mark.slow
def test_check_a_profile_only_successor_called_by_base_id_is_a_problem(cli: CLI) -> None:
    done = cli(V1)
    assert done.returncode == 1
    rows = block(done.stdout, f"{V1} in us-east-1: extended access, EOL 2026-03-01")
    assert rows[0] == f"  PROBLEM  {SONNET45} (Active)"
    assert rows[1] == (
        f"           problem: {SONNET45} is sold only through inference profiles: a call by "
        f"base id fails; call it through an inference profile (<geo>.{SONNET45})"
    )


@pytest.mark.slow
def test_check_json(cli: CLI) -> None:
    done = cli(f"us.{V1}", V1, "--json")
    assert done.returncode == 1
    report = json.loads(done.stdout)
    assert report.keys() == {"ok", "at", "invoked", "rows"}
    assert (report["ok"], report["at"], report["invoked"]) == (
        False,
        "2026-01-15T00:00:00+00:00",
        False,
    )
    ready, problem = report["rows"]
    assert ready == {
        "model_id": f"us.{V1}",
        "base_model_id": V1,
        "region": "us-east-1",
        "state": "EXTENDED_ACCESS",
        "eol_at": "2026-03-01",
        "role": "chosen",
        "successor": f"us.{SONNET45}",
        "successor_base_model_id": SONNET45,
        "successor_state": "ACTIVE",
        "successor_eol_at": None,
        "refused": None,
        "offered": True,
        "on_demand": False,
        "streaming": True,
        "adaptations": "temperature with topP; maxTokens <= 64000",
        "invoke": None,
        "ok": True,
        "problems": [],
        "notes": [],
    }
    assert (problem["model_id"], problem["successor"], problem["ok"]) == (V1, SONNET45, False)
    assert len(problem["problems"]) == 1


@pytest.mark.slow
def test_check_invoke_shows_the_cost_or_says_it_is_unknown(cli: CLI, served: FakeBedrock) -> None:
    policy = cli.policy(f'[successors]\n"{V1}" = "{V2}"\n"{LLAMA}" = "{NOVA}"\n')
    done = cli(V1, LLAMA, "--policy", policy, "--invoke")
    assert done.returncode == 0, done.stdout + done.stderr
    v1 = block(done.stdout, f"{V1} in us-east-1: extended access, EOL 2026-03-01")
    assert "           test call: ok, 1000 in / 8 out tokens, cost $0.003120" in v1
    llama = block(done.stdout, f"{LLAMA} in us-east-1: Legacy, EOL 2026-06-01")
    (call,) = [line for line in llama if "test call" in line]
    assert call.endswith("out tokens, cost unknown (no price)")
    assert "$0.000000" not in done.stdout
    assert sent(served, "Converse") == [("us-east-1", V2), ("us-east-1", NOVA)]
    as_json = json.loads(cli(V1, LLAMA, "--policy", policy, "--invoke", "--json").stdout)
    invokes = [row["invoke"] for row in as_json["rows"]]
    assert invokes[0] == {
        "ok": True,
        "error": None,
        "input_tokens": 1000,
        "output_tokens": 8,
        "cost_usd": 0.00312,
    }
    assert invokes[1]["ok"] is True
    assert invokes[1]["cost_usd"] is None


def test_check_prices_a_test_call_from_a_price_file(
    cli: CLI, served: FakeBedrock, tmp_path: Path
) -> None:
    policy = cli.policy(f'[successors]\n"{LLAMA}" = "{NOVA}"\n')
    prices = tmp_path / "prices.toml"
    prices.write_text(
        f'format = 1\n[prices."{NOVA}"]\ninput_per_1m = 1.0\noutput_per_1m = 2.0\n', "utf-8"
    )
    done = cli(LLAMA, "--policy", policy, "--invoke", "--prices", str(prices), "--json")
    assert done.returncode == 0, done.stdout + done.stderr
    (row,) = json.loads(done.stdout)["rows"]
    call = row["invoke"]
    expected = (call["input_tokens"] * 1.0 + call["output_tokens"] * 2.0) / 1_000_000
    assert call["cost_usd"] == pytest.approx(expected)
    bad = tmp_path / "bad.toml"
    bad.write_text("format = 1\n[prices.x]\ninput_per_1m = -1\n", "utf-8")
    done = cli(LLAMA, "--policy", policy, "--invoke", "--prices", str(bad))
    assert done.returncode == 2
    assert "bad.toml" in done.stderr


@pytest.mark.slow
def test_check_models_from_a_ledger_in_the_regions_they_were_used(cli: CLI, tmp_path: Path) -> None:
    path = tmp_path / "usage.jsonl"
    with bl.JsonlLedger(path) as ledger:
        for model, region in ((f"eu.{V1}", "eu-central-2"), (NOVA, "us-east-1")):
            ledger.record(
                bl.UsageRecord.from_usage(
                    bl.Usage(input_tokens=10, output_tokens=5),
                    price=None,
                    operation="Converse",
                    region=region,
                    requested_model_id=model,
                    invoked_model_id=model,
                    state="ACTIVE",
                    extended_access=False,
                    timestamp=NOW,
                )
            )
    done = cli("--ledger", str(path), "--json")
    assert done.returncode == 0, done.stdout + done.stderr
    rows = json.loads(done.stdout)["rows"]
    assert sorted((row["model_id"], row["region"]) for row in rows) == [
        (NOVA, "us-east-1"),
        (f"eu.{V1}", "eu-central-2"),
    ]


@pytest.mark.slow
def test_check_control_plane_error_is_a_problem_not_a_crash(cli: CLI, served: FakeBedrock) -> None:
    served.inject("GetInferenceProfile", FaultKind.ACCESS_DENIED)
    done = cli(f"us.{V1}")
    assert done.returncode == 1
    assert "Traceback" not in done.stderr
    assert (
        f"           problem: GetInferenceProfile us.{SONNET45} in us-east-1 failed: "
        "AccessDeniedException" in done.stdout
    )


def assert_one_line_error(done: subprocess.CompletedProcess[str], *fragments: str) -> None:
    assert done.returncode == 2, done.stdout + done.stderr
    assert done.stdout == ""
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith("bedrock-lifecycle: error: ")
    for fragment in fragments:
        assert fragment in lines[0]


@pytest.mark.slow
def test_check_usage_errors_exit_2(cli: CLI, tmp_path: Path) -> None:
    assert_one_line_error(cli(), "no models in use to check")
    bad = cli.policy('on_eol = "warn"\n')
    assert_one_line_error(cli(V1, "--policy", bad), "policy.toml", "on_eol")
    assert_one_line_error(cli("--ledger", str(tmp_path / "none.jsonl")), "none.jsonl")


def test_check_is_listed_with_examples() -> None:
    from bedrock_lifecycle.cli import build_parser

    parser = build_parser()
    assert "bedrock-lifecycle check" in (parser.epilog or "")
    args = parser.parse_args(["check", V1, "-r", "eu-central-2", "--invoke", "--json"])
    assert (args.models, args.region, args.invoke, args.json) == (
        [V1],
        ["eu-central-2"],
        True,
        True,
    )
