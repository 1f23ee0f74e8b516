"""Reused decisions: every lifecycle path reuses its decision, and the reuse ends when it must.

A warned Legacy call and a steady fallback are decided once and reused (see
docs/internals.md); these tests pin what reuse must never change: warnings said when due,
adaptations named when new, successors that age out passed over, the idle guard still on guard.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest

import bedrock_lifecycle as bl

from ._world import World
from .test_fallback_adaptation import (
    AFTER_OLD_EOL,
    DATED,
    MESSAGES,
    OLD,
    S45,
    SAMPLING,
    STRICT,
    _world,
    meta,
    sent,
    utc,
)


@pytest.fixture
def local() -> Iterator[World]:
    yield from _world("inprocess")


def offline_catalog(world: World, **overrides: Any) -> bl.Catalog:
    """A catalog that never refreshes: only dated transitions can end a reused decision."""
    return bl.Catalog(
        clock=lambda: world.fake.now,
        offline=True,
        persist=False,
        bundled=False,
        overrides=overrides,
    )


def converse(client: Any, model_id: str, **kwargs: Any) -> Any:
    return client.converse(modelId=model_id, messages=MESSAGES, **kwargs)


def test_a_warned_legacy_call_warns_once_and_the_idle_guard_still_fires(local: World) -> None:
    local.at(utc(2026, 2, 1))  # DATED is Legacy (EOL 2026-12-31)
    catalog = offline_catalog(local, **{DATED: {"legacy_at": "2025-09-01", "eol_at": "2026-12-31"}})
    client = local.client(catalog=catalog)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for _ in range(5):
            response = converse(client, DATED)
    assert [w.category for w in caught] == [bl.LegacyModelWarning]
    assert meta(response)["state"] == "LEGACY"
    assert client.governor.reuse("Converse", DATED, "us-east-1") is not None
    assert len(client.ledger.records()) == 5  # type: ignore[union-attr]
    # Eleven days without a call: Bedrock withdraws idle Legacy access after 15.
    local.at(utc(2026, 2, 12))
    with pytest.warns(bl.IdleLegacyWarning, match="11 days ago"):
        converse(client, DATED)


def test_a_steady_fallback_names_each_new_adaptation_once(local: World) -> None:
    local.at(AFTER_OLD_EOL)
    client = local.client(policy=bl.Policy(successors={OLD: S45}))
    caller = f"us.{OLD}"
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for _ in range(3):
            first = converse(client, caller, inferenceConfig=dict(SAMPLING))
        plain = converse(client, caller)
        converse(client, caller)
        clamped = converse(client, caller, inferenceConfig={"maxTokens": 100000})
        converse(client, caller, inferenceConfig={"maxTokens": 100000})
    messages = [str(w.message) for w in caught if w.category is bl.FallbackWarning]
    assert len(messages) == 3  # topP dropped; nothing changed; maxTokens clamped
    assert "inferenceConfig.topP dropped" in messages[0]
    assert "adapted" not in messages[1]
    assert "inferenceConfig.maxTokens clamped" in messages[2]
    assert meta(first)["adapted"] == ["inferenceConfig.topP"]
    assert meta(plain)["adapted"] == []
    assert meta(clamped)["adapted"] == ["inferenceConfig.maxTokens"]
    assert [b.get("inferenceConfig") for b in sent(local, f"us.{S45}")] == [
        {"temperature": 0.2},
        {"temperature": 0.2},
        {"temperature": 0.2},
        None,
        None,
        {"maxTokens": 64000},
        {"maxTokens": 64000},
    ]
    # Each response has a list of its own.
    meta(plain)["adapted"].append("x")
    assert meta(first)["adapted"] == ["inferenceConfig.topP"]


def test_a_reused_fallback_picks_up_what_another_client_learned(local: World) -> None:
    local.at(AFTER_OLD_EOL)
    policy = bl.Policy(successors={OLD: STRICT})
    dates = {OLD: {"eol_at": "2026-03-01"}}
    one = local.client(policy=policy, catalog=offline_catalog(local, **dates))
    two = local.client(policy=policy, catalog=offline_catalog(local, **dates))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", bl.FallbackWarning)
        converse(two, OLD)  # two's fallback decision is made and kept before any lesson
        assert two.governor.reuse("Converse", OLD, "us-east-1") is not None
        converse(one, OLD, inferenceConfig=dict(SAMPLING))  # one learns: 3 sends
        local.fake.clear_requests()
        response = converse(two, OLD, inferenceConfig=dict(SAMPLING))
    assert meta(response)["adapted"] == ["inferenceConfig.temperature", "inferenceConfig.topP"]
    assert [r.error_code for r in local.fake.requests if r.model_id == STRICT] == [None]


def test_reuse_ends_when_a_successor_on_the_walk_reaches_end_of_life(local: World) -> None:
    # An offline catalog never refreshes: only the successor's own end of life can end the
    # reused fallback, and the walk must then go on to the next candidate.
    short = STRICT  # Active in the fake; this catalog says it retires on 2026-06-01
    catalog = offline_catalog(
        local,
        **{
            OLD: {"eol_at": "2026-03-01"},
            short: {"eol_at": "2026-06-01", "recommended": [S45]},
            S45: {"legacy_at": "2027-01-01"},
        },
    )
    client = local.client(policy=bl.Policy(successors={OLD: short}), catalog=catalog)
    local.at(AFTER_OLD_EOL)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", bl.LifecycleWarning)
        assert meta(converse(client, f"us.{OLD}"))["invokedModelId"] == f"us.{short}"
        assert meta(converse(client, f"us.{OLD}"))["invokedModelId"] == f"us.{short}"
        local.at(utc(2026, 6, 1) + timedelta(seconds=1))
        assert meta(converse(client, f"us.{OLD}"))["invokedModelId"] == f"us.{S45}"
        assert meta(converse(client, f"us.{OLD}"))["invokedModelId"] == f"us.{S45}"


def test_reuse_ends_when_the_requested_model_changes_state(local: World) -> None:
    catalog = offline_catalog(local, **{DATED: {"legacy_at": "2026-01-01", "eol_at": "2026-12-31"}})
    client = local.client(policy=bl.Policy(successors={DATED: STRICT}), catalog=catalog)
    local.at(utc(2025, 12, 31))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        converse(client, DATED)
        converse(client, DATED)  # Active: a reused pass-through
        local.at(utc(2026, 1, 1))
        converse(client, DATED)
    assert [w.category for w in caught] == [bl.LegacyModelWarning]


def test_replacing_the_policy_ends_every_reused_decision(local: World) -> None:
    local.at(AFTER_OLD_EOL)
    session = local.fake.session("us-east-1")
    try:
        governor = bl.install(
            session, catalog=local.catalog(), policy=bl.Policy(successors={OLD: S45})
        )
        runtime = session.client("bedrock-runtime")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", bl.FallbackWarning)
            converse(runtime, f"us.{OLD}")
            converse(runtime, f"us.{OLD}")
        governor.policy = bl.Policy(on_eol="error")  # a reconfiguration in place
        with pytest.raises(bl.ModelEndOfLifeError):
            converse(runtime, f"us.{OLD}")
    finally:
        bl.uninstall(session)


def test_installed_hooks_reuse_a_fallback_and_record_every_call(local: World) -> None:
    local.at(AFTER_OLD_EOL)
    session = local.fake.session("us-east-1")
    ledger = bl.MemoryLedger()
    try:
        bl.install(
            session,
            catalog=local.catalog(),
            policy=bl.Policy(successors={OLD: f"us.{S45}"}),
            ledger=ledger,
        )
        runtime = session.client("bedrock-runtime")
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            responses = [
                runtime.converse(modelId=OLD, messages=MESSAGES, inferenceConfig=dict(SAMPLING))
                for _ in range(4)
            ]
    finally:
        bl.uninstall(session)
    assert [w.category for w in caught] == [bl.FallbackWarning]
    assert {meta(r)["invokedModelId"] for r in responses} == {f"us.{S45}"}
    assert all(meta(r)["adapted"] == ["inferenceConfig.topP"] for r in responses)
    assert [r.fallback_from for r in ledger.records()] == [OLD] * 4
    assert all(b["inferenceConfig"] == {"temperature": 0.2} for b in sent(local, f"us.{S45}"))
