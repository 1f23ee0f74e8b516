"""``demo``: one model's whole lifecycle in a few seconds, offline, through the real wrapper.

A :class:`~bedrock_lifecycle.testing.FakeBedrock` answers in-process (no socket, dummy
credentials). It serves Claude 3.5 Sonnet v2 with the dates AWS published for us-east-1 (Legacy
2025-08-25, public extended access 2025-12-01, end of life 2026-03-01) and Claude Sonnet 4.5 as
its successor. A small application calls the model through ``bl.wrap`` at four moments while the
fake's clock (which the catalog shares) moves forward: Active, Legacy, extended access, past end of
life. Each stage shows the warnings the application would see, which model really answered, and
the ledger's cost report at the end shows the extended-access premium.

The catalog keeps everything in memory (``persist=False``): the user's cache is never touched.
"""

from __future__ import annotations

import argparse
import time
import warnings
from dataclasses import dataclass
from datetime import date, datetime, timezone
from typing import Any

import bedrock_lifecycle as bl
from bedrock_lifecycle.testing import FakeBedrock, FakeModel, FakeUsage, Scenario

from ._output import Output, day, state_label

__all__ = ["DEMO_MODEL", "DEMO_SUCCESSOR", "run_demo"]

DEMO_MODEL = "anthropic.claude-3-5-sonnet-20241022-v2:0"
DEMO_SUCCESSOR = "anthropic.claude-sonnet-4-5-20250929-v1:0"
_APP_MODEL_ID = f"us.{DEMO_MODEL}"  # what the application passes: a system inference profile
_REGION = "us-east-1"
_CALLS_PER_STAGE = 3
_USAGE = FakeUsage(input_tokens=1200, output_tokens=400)
#: Claude Sonnet 4.5's published on-demand price; the bundled book has Sonnet v2's own prices.
_SUCCESSOR_PRICE = {"input_per_1m": 3.0, "output_per_1m": 15.0}
_STAGES = (
    (date(2025, 7, 1), "the model is Active: nothing to say"),
    (date(2025, 9, 15), "AWS marked the model Legacy on 2025-08-25"),
    (date(2026, 1, 10), "public extended access since 2025-12-01: same model, higher price"),
    (date(2026, 3, 15), "end of life was 2026-03-01: calls would fail, so they fall back"),
)
_PAUSE_S = 0.5


@dataclass(frozen=True, slots=True)
class _Call:
    requested: str
    invoked: str
    state: str
    fallback: bool


def _scenario() -> Scenario:
    return Scenario(
        models=(
            FakeModel(
                DEMO_MODEL,
                name="Claude 3.5 Sonnet v2",
                regions=(_REGION,),
                start_at=date(2024, 10, 22),
                legacy_at=date(2025, 8, 25),
                extended_access_at=date(2025, 12, 1),
                eol_at=date(2026, 3, 1),
                usage=_USAGE,
                reply="Here is a summary of your ticket.",
            ),
            FakeModel(
                DEMO_SUCCESSOR,
                name="Claude Sonnet 4.5",
                regions=(_REGION,),
                start_at=date(2025, 9, 29),
                profile_only=True,
                usage=_USAGE,
                reply="Here is a summary of your ticket.",
            ),
        ),
        now=_STAGES[0][0],
    )


def _application(runtime: Any) -> list[_Call]:
    """The "application": summarise a few support tickets with Converse."""
    calls = []
    for number in range(1, _CALLS_PER_STAGE + 1):
        response = runtime.converse(
            modelId=_APP_MODEL_ID,
            messages=[
                {"role": "user", "content": [{"text": f"Summarise support ticket #{number}."}]}
            ],
            inferenceConfig={"maxTokens": 400},
        )
        info = response["ResponseMetadata"]["BedrockLifecycle"]
        calls.append(
            _Call(
                requested=info["requestedModelId"],
                invoked=info["invokedModelId"],
                state=info["state"],
                fallback=bool(info["fallback"]),
            )
        )
    return calls


def _money(value: float) -> str:
    return f"${value:,.4f}"


def run_demo(args: argparse.Namespace, out: Output) -> int:
    pause = _PAUSE_S if not args.fast and not args.json and out.stdout.isatty() else 0.0
    ledger = bl.MemoryLedger()
    policy = bl.Policy(
        successors={DEMO_MODEL: DEMO_SUCCESSOR},
        on_legacy="warn",
        on_extended_access="warn",
        on_eol="fallback",
        idle_warning_days=0,
    )
    stages: list[dict[str, Any]] = []
    with FakeBedrock(_scenario(), idle_days=None) as fake:
        catalog = bl.Catalog(
            control_client=fake.client("bedrock", _REGION),
            region_name=_REGION,
            persist=False,
            clock=fake.clock,
        )
        runtime = bl.wrap(
            fake.client("bedrock-runtime", _REGION),
            catalog=catalog,
            policy=policy,
            ledger=ledger,
            prices={DEMO_SUCCESSOR: _SUCCESSOR_PRICE},
        )
        if not args.json:
            out.line(
                f"bedrock-lifecycle demo: an application calls {_APP_MODEL_ID} in {_REGION} "
                "through bl.wrap() while a fake Bedrock's clock moves on.",
                "bold",
            )
            out.line(
                f"Policy: successor {DEMO_MODEL} -> {DEMO_SUCCESSOR}; warn when Legacy or in "
                "extended access, fall back at end of life. No AWS account, no network."
            )
        try:
            for index, (when, story) in enumerate(_STAGES):
                fake.set_time(datetime(when.year, when.month, when.day, tzinfo=timezone.utc))
                catalog.refresh(_REGION)  # what a long-running process does every few hours
                entry = catalog.lookup(_APP_MODEL_ID, _REGION)
                state = entry.state(catalog.now())
                with warnings.catch_warnings(record=True) as caught:
                    warnings.simplefilter("always")
                    calls = _application(runtime)
                raised = [
                    {"category": w.category.__name__, "message": str(w.message)}
                    for w in caught
                    if issubclass(w.category, bl.LifecycleWarning)
                ]
                stage = {
                    "date": when.isoformat(),
                    "state": state.value,
                    "story": story,
                    "legacy_at": day(entry.legacy_at),
                    "extended_access_at": day(entry.extended_access_at),
                    "eol_at": day(entry.eol_at),
                    "warnings": raised,
                    "calls": [
                        {
                            "requested": call.requested,
                            "invoked": call.invoked,
                            "state": call.state,
                            "fallback": call.fallback,
                        }
                        for call in calls
                    ],
                }
                stages.append(stage)
                if not args.json:
                    if index and pause:
                        time.sleep(pause)
                    _print_stage(out, index, when, state, story, raised, calls)
        finally:
            catalog.close()
    records = ledger.records()
    first_seen: dict[tuple[str, str], datetime] = {}
    for rec in records:
        first_seen.setdefault((rec.state, rec.invoked_model_id), rec.timestamp)
    by_state = sorted(
        bl.summarize(records, by=("state", "model")),
        key=lambda row: first_seen[(row.state or "", row.model or "")],
    )
    total = bl.summarize(records, by=())[0]
    if args.json:
        out.json(
            {
                "model": _APP_MODEL_ID,
                "successor": DEMO_SUCCESSOR,
                "region": _REGION,
                "stages": stages,
                "costs": {
                    "rows": [row.to_dict() for row in by_state],
                    "total": total.to_dict(),
                },
            }
        )
        return 0
    out.line()
    out.line("Cost report (from the ledger every call was recorded in)", "bold")
    out.table(
        ["STATE", "MODEL INVOKED", "CALLS", "COST", "STANDARD", "PREMIUM"],
        [
            [
                state_label(row.state or ""),
                row.model or "-",
                str(row.calls),
                _money(row.cost_usd) if row.fully_priced else "unknown",
                _money(row.standard_cost_usd),
                _money(row.premium_usd),
            ]
            for row in by_state
        ],
        states=[row.state for row in by_state],
        state_column=0,
        right=(2, 3, 4, 5),
    )
    premium_calls = sum(row.calls for row in by_state if row.state == "EXTENDED_ACCESS")
    out.line()
    out.line(
        f"Extended-access premium: {_money(total.premium_usd)} over {premium_calls} calls "
        f"(Claude 3.5 Sonnet v2 costs twice its standard price in extended access).",
        "magenta",
    )
    out.line(f"Total: {_money(total.cost_usd)} for {total.calls} calls.")
    return 0


def _print_stage(
    out: Output,
    index: int,
    when: date,
    state: bl.State,
    story: str,
    raised: list[dict[str, str]],
    calls: list[_Call],
) -> None:
    out.line()
    out.line(f"[{index + 1}/{len(_STAGES)}] {when.isoformat()}: {story}", "bold")
    out.line(f"    state:    {out.state(state.value)}")
    if raised:
        for warning in raised:
            out.line(f"    warning:  {warning['category']}: {warning['message']}", "yellow")
    else:
        out.line("    warning:  none")
    invoked = sorted({call.invoked for call in calls})
    fallbacks = sum(call.fallback for call in calls)
    out.line(f"    invoked:  {', '.join(invoked)} ({len(calls)} calls)")
    if fallbacks:
        out.line(
            f"    fallback: yes, {fallbacks} of {len(calls)} calls went to the successor "
            "instead of failing",
            "bold",
        )
    else:
        out.line("    fallback: no")
