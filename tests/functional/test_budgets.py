"""Budgets, through real clients against the fake, with fixed token counts.

OLD (Claude 3.5 Sonnet v1) is in public extended access in us-east-1 from 2025-12-01 to its end of
life on 2026-03-01. Each call uses 1,000 input and 500 output tokens: $0.0105 at the standard price
($3 / $15 per million) and $0.021 at the extended price ($6 / $30), so each call's premium is
$0.0105. A premium budget of $0.10 then crosses 50% on the 5th call ($0.0525), 80% on the 8th
($0.084) and 100% on the 10th ($0.105).
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
import warnings
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

import bedrock_lifecycle as bl

from ._world import MESSAGES, NEW, OLD, World, call, utc

POLICY = bl.Policy(successors={OLD: NEW})
JANUARY = utc(2026, 1, 28)  # OLD in extended access
FEBRUARY = utc(2026, 2, 2)  # the next month, five days on (an idle Legacy model is withdrawn
# after 15 days without calls, so the calls stay close together)
NEW_PRICE = {NEW: {"input_per_1m": 3.0, "output_per_1m": 15.0}}


def calls(
    client: Any, count: int, operation: str = "Converse"
) -> list[list[warnings.WarningMessage]]:
    """Make ``count`` calls; the BudgetWarnings each one raised."""
    raised = []
    for _ in range(count):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            call(client, operation, OLD)
        raised.append([w for w in caught if issubclass(w.category, bl.BudgetWarning)])
    return raised


def governed(world: World, *budgets: bl.Budget, **kwargs: Any) -> bl.LifecycleClient:
    world.at(JANUARY)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", bl.LifecycleWarning)
        return world.client(policy=POLICY, budgets=list(budgets), prices=NEW_PRICE, **kwargs)


@pytest.mark.parametrize("operation", ["Converse", "ConverseStream"])
def test_thresholds_are_crossed_exactly_once_each(world: World, operation: str) -> None:
    events: list[bl.BudgetEvent] = []
    budget = bl.Budget(0.10, name="claude premium", on_threshold=events.append)
    client = governed(world, budget)
    raised = calls(client, 12, operation)
    crossing_calls = [number for number, found in enumerate(raised, 1) if found]
    assert crossing_calls == [5, 8, 10]
    assert [len(found) for found in raised if found] == [1, 1, 1]
    assert [event.threshold for event in events] == [0.5, 0.8, 1.0]
    assert [event.spend_usd for event in events] == pytest.approx([0.0525, 0.084, 0.105])
    assert {event.budget for event in events} == {"claude premium"}
    assert events[0].period == "month"
    assert events[0].period_start == utc(2026, 1, 1)
    assert events[0].period_end == utc(2026, 2, 1)
    assert "50%" in str(raised[4][0].message)
    assert "100%" in str(raised[9][0].message)
    # action="warn": every call still went to OLD.
    assert world.invoked() == [OLD] * 12
    assert budget.spend(JANUARY) == pytest.approx(0.126)


def test_a_new_period_starts_from_nothing(local_world: World) -> None:
    events: list[bl.BudgetEvent] = []
    budget = bl.Budget(0.10, on_threshold=events.append)
    client = governed(local_world, budget)
    calls(client, 10)
    local_world.at(FEBRUARY)
    raised = calls(client, 5)
    assert [bool(found) for found in raised] == [False] * 4 + [True]
    assert [event.period_start for event in events] == [utc(2026, 1, 1)] * 3 + [utc(2026, 2, 1)]
    assert budget.spend(FEBRUARY) == pytest.approx(0.0525)


def test_day_budget_rolls_over_at_midnight_utc(local_world: World) -> None:
    budget = bl.Budget(0.05, period="day", thresholds=(1.0,))
    client = governed(local_world, budget)
    raised = calls(client, 6)
    assert [bool(found) for found in raised] == [False] * 4 + [True, False]
    local_world.at(JANUARY.replace(day=JANUARY.day + 1))
    assert budget.spend(JANUARY.replace(day=JANUARY.day + 1)) == 0.0


def test_fallback_action_sends_calls_to_the_successor_until_the_period_ends(
    world: World,
) -> None:
    budget = bl.Budget(0.10, action="fallback")
    client = governed(world, budget)
    calls(client, 10)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        response = call(client, "Converse", OLD)
    assert any(issubclass(w.category, bl.FallbackWarning) for w in caught)
    assert response["ResponseMetadata"]["BedrockLifecycle"]["invokedModelId"] == NEW
    calls(client, 3)
    assert world.invoked()[-4:] == [NEW] * 4
    # The calls to NEW pay no premium: the spent budget does not grow.
    assert budget.spend(JANUARY) == pytest.approx(0.105)
    world.at(FEBRUARY)
    calls(client, 1)
    assert world.invoked()[-1] == OLD


def test_error_action_refuses_before_sending(world: World) -> None:
    budget = bl.Budget(0.10, action="error", name="hard cap")
    client = governed(world, budget)
    calls(client, 10)
    sent = len(world.fake.requests)
    with pytest.raises(bl.BudgetExceededError) as refused:
        call(client, "Converse", OLD)
    assert len(world.fake.requests) == sent  # nothing reached Bedrock
    error = refused.value
    assert isinstance(error, ClientError)
    assert isinstance(error, client.exceptions.ServiceQuotaExceededException)
    assert error.response["Error"]["Code"] == "ServiceQuotaExceededException"
    assert error.budget == "hard cap"
    assert error.spend_usd == pytest.approx(0.105)
    assert error.period_end == utc(2026, 2, 1)
    assert "2026-02-01" in str(error)
    # A call that pays no premium is not refused by a premium budget.
    response = client.converse(modelId=NEW, messages=MESSAGES)
    assert response["ResponseMetadata"]["BedrockLifecycle"]["invokedModelId"] == NEW
    world.at(FEBRUARY)
    calls(client, 1)  # a new month: calls go through again


def test_total_budget_counts_every_covered_call(local_world: World) -> None:
    budget = bl.Budget(0.05, kind="total", models=[NEW], action="error", thresholds=(1.0,))
    client = governed(local_world, budget)
    calls(client, 3)  # OLD is not covered
    for _ in range(5):  # $0.0105 each at NEW's standard price: the 5th reaches $0.0525
        client.converse(modelId=NEW, messages=MESSAGES)
    with pytest.raises(bl.BudgetExceededError):
        client.converse(modelId=NEW, messages=MESSAGES)
    calls(client, 1)  # still fine


def test_install_charges_and_refuses_too(local_world: World) -> None:
    session = local_world.fake.session("us-east-1")
    local_world.at(JANUARY)
    budget = bl.Budget(0.10, action="error")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", bl.LifecycleWarning)
        bl.install(session, catalog=local_world.catalog(), policy=POLICY, budgets=[budget])
    try:
        client = session.client("bedrock-runtime")
        calls(client, 10)
        with pytest.raises(bl.BudgetExceededError):
            client.converse(modelId=OLD, messages=MESSAGES)
    finally:
        bl.uninstall(session)


def test_budget_arguments_are_checked() -> None:
    with pytest.raises(bl.ConfigurationError, match="limit_usd"):
        bl.Budget(0)
    with pytest.raises(bl.ConfigurationError, match="period"):
        bl.Budget(1, period="week")  # type: ignore[arg-type]
    with pytest.raises(bl.ConfigurationError, match="action"):
        bl.Budget(1, action="stop")  # type: ignore[arg-type]
    with pytest.raises(bl.ConfigurationError, match="models"):
        bl.Budget(1, models=OLD)
    with pytest.raises(bl.ConfigurationError, match="readable ledger"):
        bl.Budget(1, ledger=object())
    with pytest.raises(TypeError, match="Budget"):
        bl.wrap(_runtime(), budgets=[object()])  # type: ignore[list-item]


def _runtime() -> Any:
    import boto3

    return boto3.client("bedrock-runtime", region_name="us-east-1")


_PROCESS = textwrap.dedent(
    """
    import sys, warnings
    sys.path.insert(0, {tests!r})
    import bedrock_lifecycle as bl
    from bedrock_lifecycle.testing import FakeBedrock
    from functional._world import EXTENDED_AT, OLD, NEW, MESSAGES, World, scenario

    warnings.simplefilter("ignore")
    path, count = sys.argv[1], int(sys.argv[2])
    with FakeBedrock(scenario(), now=EXTENDED_AT) as fake:
        world = World(fake, "inprocess")
        shared = bl.SqliteLedger(path)
        budget = bl.Budget(0.10, action="error", ledger=shared)
        policy = bl.Policy(successors={{OLD: NEW}})
        client = world.client(ledger=shared, budgets=[budget], policy=policy)
        made = 0
        try:
            for _ in range(count):
                client.converse(modelId=OLD, messages=MESSAGES)
                made += 1
        except bl.BudgetExceededError:
            print("refused after", made)
        else:
            print("made", made)
        shared.close()
    """
)


def test_two_processes_share_one_sqlite_budget(tmp_path: Path) -> None:
    script = tmp_path / "spend.py"
    script.write_text(_PROCESS.format(tests=str(Path(__file__).resolve().parents[1])))
    ledger = tmp_path / "usage.db"

    def run(count: int) -> str:
        done = subprocess.run(
            [sys.executable, str(script), str(ledger), str(count)],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert done.returncode == 0, done.stderr
        return done.stdout.strip()

    assert run(6) == "made 6"  # $0.063 of premium
    assert run(10) == "refused after 4"  # the 4th reaches $0.105: the 5th is refused
    assert run(1) == "refused after 0"
    records = bl.SqliteLedger(str(ledger)).records()
    assert len(records) == 10
    assert sum(r.premium_usd or 0 for r in records) == pytest.approx(0.105)
    assert all(r.timestamp < datetime(2026, 2, 1, tzinfo=r.timestamp.tzinfo) for r in records)
