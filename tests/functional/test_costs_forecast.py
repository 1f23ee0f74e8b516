"""``bedrock-lifecycle costs --forecast``, run as the console script on a fixture ledger.

The ledger (``tests/fixtures/forecast/usage.jsonl``) holds, with the clock at 2026-01-10
(``--at``), so the window is 2026-01-03 to 2026-01-10:

- Claude 3.5 Sonnet v2 in us-east-1: two calls a day in the window, 1,000 input and 500 output
  tokens each (2,000 input and 1,000 output a day); one call before the window (2025-12-20)
  and one after "today" (2026-01-10 06:00), both left out;
- the same model in ap-northeast-1: one call (its price was published for US regions only);
- Amazon Nova Pro in us-east-1: one call (no price, no end of life);
- a shadow record with 900,000 input tokens, which must be passed over.

Bundled data for v2 in us-east-1: extended access since 2025-12-01, end of life 2026-03-01 (50
days after 2026-01-10); $3 / $15 standard, $6 / $30 extended, per million tokens. Its successor
(AWS's recommendation) is Claude Sonnet 4.5, priced by ``successor-prices.toml`` at
$3.30 / $16.50. A day of v2 in us-east-1:

    standard:  2,000 x $3 / 1e6 + 1,000 x $15 / 1e6 = $0.006 + $0.015 = $0.021
    extended:  2,000 x $6 / 1e6 + 1,000 x $30 / 1e6 = $0.012 + $0.030 = $0.042 (premium $0.021)
    successor: 2,000 x $3.30 / 1e6 + 1,000 x $16.50 / 1e6 = $0.0066 + $0.0165 = $0.0231

Until end of life (50 days): standard $1.05, premium $1.05, successor $1.155, saving
$2.10 - $1.155 = $0.945.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from .test_cli import CLI, NOVA, SONNET35_V2, assert_one_line_error

pytestmark = pytest.mark.slow

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "forecast"
LEDGER = str(FIXTURES / "usage.jsonl")
PRICES = str(FIXTURES / "successor-prices.toml")
SONNET45 = "anthropic.claude-sonnet-4-5-20250929-v1:0"
DOCS = Path(__file__).resolve().parents[2] / "docs" / "cli.md"
# Were the command to reach for the control plane, it would fail at once on a closed port and
# say so on stderr ("could not fetch lifecycle data").
NO_AWS_HERE = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_REGION": "us-east-1",
    "AWS_ENDPOINT_URL_BEDROCK": "http://127.0.0.1:9",
}


@pytest.fixture
def cli(tmp_path: Path) -> CLI:
    return CLI(tmp_path)  # BEDROCK_LIFECYCLE_OFFLINE unset: offline must be the default


def forecast(cli: CLI, *args: str) -> dict[str, Any]:
    done = cli(
        "costs", "--ledger", LEDGER, "--forecast", "--at", "2026-01-10", *args, env=NO_AWS_HERE
    )
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""
    if "--json" not in args:
        return {"text": done.stdout}
    report: dict[str, Any] = json.loads(done.stdout)
    return report


def row(report: dict[str, Any], model: str, region: str) -> dict[str, Any]:
    found: dict[str, Any] = next(
        r for r in report["rows"] if (r["model_id"], r["region"]) == (model, region)
    )
    return found


def test_forecast_json_figures_by_hand(cli: CLI) -> None:
    report = forecast(cli, "--prices", PRICES, "--json")
    assert report["at"] == "2026-01-10T00:00:00+00:00"
    assert report["window_start"] == "2026-01-03T00:00:00+00:00"
    assert [(r["model_id"], r["region"]) for r in report["rows"]] == [
        (NOVA, "us-east-1"),
        (SONNET35_V2, "ap-northeast-1"),
        (SONNET35_V2, "us-east-1"),
    ]
    v2 = row(report, SONNET35_V2, "us-east-1")
    # 14 calls in the window: neither the December call, nor the one after "today", nor the
    # shadow record's 900,000 tokens count.
    assert (v2["calls"], v2["calls_per_day"], v2["input_tokens"]) == (14, 2.0, 14_000)
    assert v2["state"] == "EXTENDED_ACCESS"
    assert v2["end_at"] == "2026-03-01T00:00:00+00:00"
    assert v2["standard_usd"] == pytest.approx(1.05)  # 50 x $0.021
    assert v2["premium_usd"] == pytest.approx(1.05)  # 50 x $0.021, all in extended access
    assert v2["successor_id"] == SONNET45
    assert v2["successor_usd"] == pytest.approx(1.155)  # 50 x $0.0231
    assert v2["saving_usd"] == pytest.approx(0.945)  # 2.10 - 1.155
    assert (v2["unpriced_calls"], v2["notes"]) == (0, [])


def test_forecast_says_what_it_cannot_price(cli: CLI) -> None:
    report = forecast(cli, "--prices", PRICES, "--json")
    tokyo = row(report, SONNET35_V2, "ap-northeast-1")
    assert (tokyo["standard_usd"], tokyo["premium_usd"], tokyo["saving_usd"]) == (None,) * 3
    assert tokyo["unpriced_calls"] == 1
    assert tokyo["notes"] == [
        "no price for this model in ap-northeast-1 "
        "(its price was published for us-east-1, us-east-2, us-west-2 only)"
    ]
    nova = row(report, NOVA, "us-east-1")
    assert (nova["standard_usd"], nova["unpriced_calls"]) == (None, 1)
    assert "no end of life known: give until" in nova["notes"]
    total = report["total"]
    assert (total["standard_usd"], total["unpriced_calls"], total["complete"]) == (
        pytest.approx(1.05),
        2,
        False,
    )
    # Without the successor's price, the saving is unknown too (the bundled book has none).
    bare = row(forecast(cli, "--json"), SONNET35_V2, "us-east-1")
    assert (bare["standard_usd"], bare["saving_usd"]) == (pytest.approx(1.05), None)
    assert bare["notes"] == [f"no price for the successor {SONNET45} in us-east-1"]


def test_move_by_and_until(cli: CLI) -> None:
    moved = row(
        forecast(cli, "--prices", PRICES, "--move-by", "2026-02-01", "--json"),
        SONNET35_V2,
        "us-east-1",
    )
    # 28 days, 2026-02-01 to 2026-03-01: successor 28 x $0.0231 = $0.6468;
    # saving 28 x $0.042 - $0.6468 = $1.176 - $0.6468 = $0.5292.
    assert moved["move_by"] == "2026-02-01T00:00:00+00:00"
    assert moved["successor_usd"] == pytest.approx(0.6468)
    assert moved["saving_usd"] == pytest.approx(0.5292)
    cut = forecast(cli, "--prices", PRICES, "--until", "2026-02-14", "--window", "2", "--json")
    v2 = row(cut, SONNET35_V2, "us-east-1")
    # A plain --until date includes that day: the end is 2026-02-15, 36 days away. The last two
    # days hold 4 calls: the same $0.021 a day. Standard 36 x $0.021 = $0.756, premium the same.
    assert (cut["window_days"], v2["calls"]) == (2.0, 4)
    assert v2["end_at"] == "2026-02-15T00:00:00+00:00"
    assert v2["standard_usd"] == pytest.approx(0.756)
    assert v2["premium_usd"] == pytest.approx(0.756)
    assert [r["model_id"] for r in cut["rows"]] == [SONNET35_V2]  # the others fell outside


def test_forecast_table_is_the_one_the_docs_show(cli: CLI) -> None:
    text = forecast(cli, "--prices", PRICES)["text"]
    lines = text.splitlines()
    v2 = next(line for line in lines if line.startswith(SONNET35_V2) and "us-east-1" in line)
    # The UNPRICED cell is blank: every call of it was priced.
    assert v2.split()[-5:] == ["2.00", "2026-03-01", "$1.0500", "$1.0500", "$0.9450"]
    tokyo = next(line for line in lines if "ap-northeast-1" in line and "unknown" in line)
    assert tokyo.split()[-6:] == ["0.14", "1", "2026-07-30", "unknown", "unknown", "unknown"]
    total = next(line for line in lines if line.startswith("TOTAL"))
    assert total.split()[1] == "2"  # unpriced calls
    assert "$1.0500 + 2 unknown" in total
    page = DOCS.read_text("utf-8")
    table = lines[lines.index(next(line for line in lines if line.startswith("MODEL"))) :]
    for line in table[: table.index("")]:
        assert line in page, line


def test_plain_costs_counts_unpriced_calls_per_model_and_region(cli: CLI) -> None:
    done = cli("costs", "--ledger", LEDGER, "--by", "model")
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0].split()[:3] == ["MODEL", "CALLS", "UNPRICED"]
    nova = next(line for line in lines if line.startswith(NOVA))
    assert nova.split()[1:3] == ["1", "1"]
    assert f"  {SONNET35_V2} in ap-northeast-1: 1" in lines
    report = json.loads(cli("costs", "--ledger", LEDGER, "--json").stdout)
    assert report["unpriced"] == [
        {"model": NOVA, "region": "us-east-1", "calls": 1},
        {"model": SONNET35_V2, "region": "ap-northeast-1", "calls": 1},
    ]
    assert report["total"]["unpriced_calls"] == 2


def test_forecast_reaches_for_aws_only_when_asked(cli: CLI) -> None:
    # The same run with --online tries the (closed) endpoint and says so: the check above that
    # stderr is empty would catch a default run that did.
    done = cli(
        "costs",
        "--ledger",
        LEDGER,
        "--forecast",
        "--at",
        "2026-01-10",
        "--online",
        "--json",
        env=NO_AWS_HERE,
    )
    assert done.returncode == 0, done.stderr
    assert "could not fetch lifecycle data for us-east-1" in done.stderr


def test_forecast_online_reads_the_fleets_snapshot_first(cli: CLI, tmp_path: Path) -> None:
    missing = tmp_path / "fleet" / "lifecycle.json"
    done = cli(
        "costs", "--ledger", LEDGER, "--forecast", "--at", "2026-01-10", "--online",
        "--source", str(missing), "--json", env=NO_AWS_HERE,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert f"cannot read the shared lifecycle snapshot {missing}" in done.stderr
    assert "could not fetch lifecycle data for us-east-1" in done.stderr  # then the control plane
    # Offline (the default) reads no snapshot, so --source alone is refused, as with or without
    # --forecast.
    assert_one_line_error(
        cli("costs", "--ledger", LEDGER, "--forecast", "--source", str(missing)), "--online"
    )
    assert_one_line_error(cli("costs", "--ledger", LEDGER, "--source", ""), "--forecast")


def test_forecast_options_are_checked(cli: CLI) -> None:
    assert_one_line_error(
        cli("costs", "--ledger", LEDGER, "--window", "3"), "--window", "--forecast"
    )
    assert_one_line_error(
        cli("costs", "--ledger", LEDGER, "--forecast", "--since", "2026-01-01"), "--since"
    )
    assert_one_line_error(
        cli("costs", "--ledger", LEDGER, "--forecast", "--endpoint-url", "http://x"), "--online"
    )
    bad = cli("costs", "--ledger", LEDGER, "--forecast", "--window", "0")
    assert bad.returncode == 2
    assert "--window" in bad.stderr
