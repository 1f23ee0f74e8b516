"""Many threads on one governed client: nothing lost, nothing doubled, one refresh, no deadlock.

64 threads share ONE wrapped client, a cold catalog and a ledger that writes to both a JSON Lines
file and a SQLite database. Each thread makes a mix of Converse, InvokeModel, ConverseStream and
InvokeModelWithResponseStream calls (streams drained) on an Active model, a Legacy model (warns),
an end-of-life model the catalog knows about (proactive fallback) and one it does not (Bedrock
refuses it, the client retries on the successor: reactive fallback).

Size: 64 threads x 500 calls (32,000 calls), as the issue asks: about 40 s on a 2-core machine
(the GIL serialises botocore's work). The races this test is after happen mostly in the first few
hundred calls, when the catalog is cold, the fallback is being learnt and the warnings are being
issued; the full size also checks that nothing is lost once the ledgers' queues are busy.
"""

from __future__ import annotations

import json
import threading
import warnings
from collections import Counter
from collections.abc import Iterator
from datetime import date, datetime, timezone
from pathlib import Path
from typing import Any

import pytest

import bedrock_lifecycle as bl
from bedrock_lifecycle.testing import FakeBedrock, FakeModel, FakeUsage, Scenario

THREADS = 64
CALLS = 500
REGION = "us-east-1"
NOW = datetime(2026, 1, 15, tzinfo=timezone.utc)

ACTIVE = "anthropic.claude-sonnet-4-20250514-v1:0"
LEGACY = "anthropic.claude-3-5-sonnet-20241022-v2:0"
EOL_KNOWN = "anthropic.claude-3-5-sonnet-20240620-v1:0"
EOL_UNKNOWN = "anthropic.claude-3-7-sonnet-20250219-v1:0"
MODELS = (ACTIVE, LEGACY, EOL_KNOWN, EOL_UNKNOWN)
RUNTIME = ("Converse", "InvokeModel", "ConverseStream", "InvokeModelWithResponseStream")
MESSAGES = [{"role": "user", "content": [{"text": "Say hello."}]}]
BODY = json.dumps(
    {
        "anthropic_version": "bedrock-2023-05-31",
        "max_tokens": 32,
        "messages": [{"role": "user", "content": "Say hello."}],
    }
).encode()


def scenario() -> Scenario:
    usage = FakeUsage(input_tokens=100, output_tokens=50)
    return Scenario(
        models=(
            FakeModel(ACTIVE, regions=(REGION,), usage=usage),
            FakeModel(
                LEGACY,
                regions=(REGION,),
                legacy_at=date(2025, 8, 25),
                eol_at=date(2026, 10, 1),
                usage=usage,
            ),
            FakeModel(
                EOL_KNOWN,
                regions=(REGION,),
                legacy_at=date(2025, 6, 1),
                eol_at=date(2025, 12, 1),
                usage=usage,
            ),
            FakeModel(
                EOL_UNKNOWN,
                regions=(REGION,),
                legacy_at=date(2025, 6, 1),
                eol_at=date(2025, 12, 15),
                usage=usage,
            ),
        ),
    )


@pytest.fixture(autouse=True)
def _isolated(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in ("BEDROCK_LIFECYCLE_OFFLINE", "BEDROCK_LIFECYCLE_TTL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("BEDROCK_LIFECYCLE_CACHE_DIR", str(tmp_path / "default-cache"))


@pytest.fixture
def fake() -> Iterator[FakeBedrock]:
    with FakeBedrock(scenario(), now=NOW) as bedrock:
        yield bedrock


def _one_call(client: bl.LifecycleClient, operation: str, model: str) -> str:
    """Make one call, drain it, return the request id the caller saw."""
    if operation == "Converse":
        response: Any = client.converse(modelId=model, messages=MESSAGES)
        assert response["output"]["message"]["content"]
    elif operation == "InvokeModel":
        response = client.invoke_model(modelId=model, body=BODY)
        assert json.loads(response["body"].read())
    elif operation == "ConverseStream":
        response = client.converse_stream(modelId=model, messages=MESSAGES)
        assert any("metadata" in event for event in response["stream"])
    else:
        response = client.invoke_model_with_response_stream(modelId=model, body=BODY)
        assert sum(1 for _ in response["body"]) >= 2
    meta = response["ResponseMetadata"]
    expected = ACTIVE if model in (EOL_KNOWN, EOL_UNKNOWN) else model
    assert meta["BedrockLifecycle"]["invokedModelId"] == expected
    return str(meta["RequestId"])


def test_64_threads_on_one_client_lose_and_double_nothing(
    fake: FakeBedrock, tmp_path: Path
) -> None:
    jsonl = bl.JsonlLedger(tmp_path / "ledger" / "usage.jsonl", queue_size=THREADS * CALLS)
    sqlite = bl.SqliteLedger(tmp_path / "ledger" / "usage.db", queue_size=THREADS * CALLS)
    catalog = bl.Catalog(
        client_factory=lambda region: fake.client("bedrock", region),
        region_name=REGION,
        clock=fake.clock,
        persist=False,
        bundled=False,
        max_wait=10.0,
        overrides={EOL_KNOWN: {"eol_at": "2025-12-01", "recommended": [ACTIVE]}},
    )
    client = bl.wrap(
        fake.client("bedrock-runtime", REGION),
        catalog=catalog,
        ledger=bl.MultiLedger(jsonl, sqlite),
        policy=bl.Policy(successors={EOL_UNKNOWN: ACTIVE}),
    )
    barrier = threading.Barrier(THREADS)
    seen: list[list[str]] = [[] for _ in range(THREADS)]
    failures: list[BaseException] = []

    def work(number: int) -> None:
        try:
            barrier.wait(30)
            for call in range(CALLS):
                operation = RUNTIME[(number + call) % len(RUNTIME)]
                model = MODELS[(number * 7 + call) % len(MODELS)]
                seen[number].append(_one_call(client, operation, model))
        except BaseException as exc:  # reported by the main thread
            failures.append(exc)

    workers = [threading.Thread(target=work, args=(n,), daemon=True) for n in range(THREADS)]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")  # record every warning any thread issues
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join(timeout=90)
    assert not [w for w in workers if w.is_alive()], "deadlock: threads still running"
    assert not failures, failures[:3]

    # Warnings: only the expected kinds, and warn-once holds under the race.
    kinds = Counter(w.category for w in caught)
    assert set(kinds) <= {bl.LegacyModelWarning, bl.FallbackWarning}, kinds
    assert kinds[bl.LegacyModelWarning] == 1
    assert 1 <= kinds[bl.FallbackWarning] <= 2  # one per (requested, successor) pair

    # Every call succeeded once from the caller's view; the fake answered each exactly once.
    request_ids = [rid for ids in seen for rid in ids]
    assert len(request_ids) == THREADS * CALLS
    assert len(set(request_ids)) == len(request_ids)
    answered = [
        r
        for r in fake.requests
        if r.operation in RUNTIME and r.status_code == 200 and r.error_code is None
    ]
    assert len(answered) == THREADS * CALLS
    refused = [r for r in fake.requests if r.operation in RUNTIME and r.status_code != 200]
    assert refused, "the unknown end-of-life model was never refused: no reactive fallback"
    assert all(r.model_id == EOL_UNKNOWN for r in refused)

    # One refresh for the region (TTL not reached), whatever the 64 threads did at once.
    assert fake.count("ListFoundationModels", region=REGION) == 1

    # The ledgers hold exactly one record per call, with the caller's request ids.
    jsonl.flush()
    sqlite.flush()
    for ledger in (jsonl, sqlite):
        records = ledger.records()
        assert ledger.errors == 0
        ids = Counter(rec.request_id for rec in records)
        assert len(records) == THREADS * CALLS
        assert set(ids) == set(request_ids)
        assert max(ids.values()) == 1
        fallbacks = [rec for rec in records if rec.fallback_from is not None]
        assert {rec.fallback_from for rec in fallbacks} == {EOL_KNOWN, EOL_UNKNOWN}
        assert all(rec.invoked_model_id == ACTIVE for rec in fallbacks)
        assert Counter(rec.operation for rec in records) == Counter(
            RUNTIME[(n + c) % len(RUNTIME)] for n in range(THREADS) for c in range(CALLS)
        )
    jsonl.close()
    sqlite.close()
    catalog.close()
