"""The async face under a running service: cancellation, a slow control plane, many tasks at
once, the ways a governed client is made (bl.aio.client, aioboto3), and the example."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

import bedrock_lifecycle as bl

from ._world import (
    DUMMY_KEY,
    DUMMY_SECRET,
    LEGACY_AT,
    MESSAGES,
    NEW,
    NOVA,
    OLD,
    AioWorld,
    call,
    meta,
)

ROOT = Path(__file__).resolve().parents[1]


def _other_tasks() -> set[asyncio.Task[Any]]:
    return asyncio.all_tasks() - {asyncio.current_task()}  # type: ignore[operator]


# -- cancellation ---------------------------------------------------------------------------------


async def test_a_call_cancelled_while_sent_records_nothing(world: AioWorld) -> None:
    client = await world.aio_client()
    await call(client, "Converse", OLD)  # the decision is kept: the next call is a reused one
    world.fake.inject("Converse", "latency", delay=1.0, times=1)
    with pytest.raises(TimeoutError):  # cancels the call half-way through its send
        await asyncio.wait_for(call(client, "Converse", OLD), timeout=0.3)
    assert len(client.ledger.records()) == 1  # type: ignore[union-attr]
    assert _other_tasks() == set()
    response = await call(client, "Converse", OLD)  # the client is still usable
    assert meta(response)["invokedModelId"] == OLD
    assert len(client.ledger.records()) == 2  # type: ignore[union-attr]


async def test_a_call_cancelled_while_planned_sends_and_records_nothing(
    world: AioWorld,
) -> None:
    world.fake.inject("ListFoundationModels", "latency", delay=1.0, times=1)
    catalog = world.catalog(warm=False)  # a cold catalog: the first call waits for a refresh
    client = await world.aio_client(catalog=catalog)
    with pytest.raises(TimeoutError):
        await asyncio.wait_for(call(client, "Converse", OLD), timeout=0.2)
    assert _other_tasks() == set()
    await asyncio.to_thread(catalog.close)  # the refresh (and the planning) end in their threads
    assert world.fake.count("ListFoundationModels") == 1
    assert world.fake.count("Converse") == 0  # the cancelled call was never sent
    assert client.ledger.records() == []  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("operation", "key"), [("ConverseStream", "stream"), ("InvokeModelWithResponseStream", "body")]
)
async def test_a_stream_cancelled_half_way_records_what_it_saw_and_closes(
    world: AioWorld, operation: str, key: str
) -> None:
    client = await world.aio_client()
    method = getattr(
        client, "converse_stream" if key == "stream" else "invoke_model_with_response_stream"
    )
    from ._world import ANTHROPIC_BODY

    arguments: dict[str, Any] = (
        {"messages": MESSAGES} if key == "stream" else {"body": ANTHROPIC_BODY}
    )
    response = await method(modelId=OLD, **arguments)
    first = asyncio.Event()
    seen: list[Any] = []

    async def consume() -> None:
        async for event in response[key]:
            seen.append(event)
            first.set()
            await asyncio.Event().wait()  # a consumer stuck on its own work

    task = asyncio.create_task(consume())
    await first.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    await asyncio.get_running_loop().shutdown_asyncgens()  # the abandoned async for, finalised
    [record] = client.ledger.records()  # type: ignore[union-attr]
    assert len(seen) == 1
    assert record.invoked_model_id == OLD
    assert record.input_tokens is None  # the usage rides on the last event, never seen
    assert response[key]._raw_stream.closed  # the HTTP response was closed, not left half-read
    assert _other_tasks() == set()


# -- the event loop is never blocked -------------------------------------------------------------


async def test_a_slow_control_plane_never_blocks_the_event_loop(world: AioWorld) -> None:
    world.fake.inject("ListFoundationModels", "latency", delay=1.0, times=1)
    world.at(LEGACY_AT)
    catalog = world.catalog(warm=False)
    client = await world.aio_client(catalog=catalog, policy=bl.Policy(successors={OLD: NEW}))
    # aiobotocore's own first call loads its endpoint rules and opens a connection on the loop
    # (tens of milliseconds, governed or not): made first, ungoverned, outside the measure.
    await client.unwrap().converse(modelId=NOVA, messages=MESSAGES)
    loop = asyncio.get_running_loop()
    lags: list[float] = []
    done = asyncio.Event()

    async def ticker() -> None:
        while not done.is_set():
            before = loop.time()
            await asyncio.sleep(0.002)
            lags.append(loop.time() - before - 0.002)

    ticking = asyncio.create_task(ticker())
    started = time.perf_counter()
    with pytest.warns(bl.LegacyModelWarning):
        await asyncio.gather(*(call(client, "Converse", OLD) for _ in range(20)))
    elapsed = time.perf_counter() - started
    done.set()
    await ticking
    assert elapsed >= 0.9  # the calls did wait for the slow control plane...
    assert len(lags) > 100  # ...while the loop kept ticking...
    assert max(lags) < 0.05, f"the loop was blocked for {max(lags) * 1000:.1f} ms"  # ...freely
    assert len(client.ledger.records()) == 20  # type: ignore[union-attr]


# -- many tasks on one client -------------------------------------------------------------------


async def test_two_hundred_tasks_on_one_client_are_each_recorded_once(
    world: AioWorld, tmp_path: Path
) -> None:
    world.at(LEGACY_AT)
    memory = bl.MemoryLedger()
    jsonl = bl.JsonlLedger(tmp_path / "usage.jsonl")  # written by its writer thread
    client = await world.aio_client(
        ledger=bl.MultiLedger(memory, jsonl), policy=bl.Policy(on_legacy="ignore")
    )
    operations = ["Converse", "ConverseStream", "InvokeModel", "InvokeModelWithResponseStream"]
    responses = await asyncio.gather(*(call(client, operations[n % 4], OLD) for n in range(200)))
    ids = [r["ResponseMetadata"]["RequestId"] for r in responses]
    records = memory.records()
    assert len(records) == 200
    assert sorted(r.request_id for r in records) == sorted(ids)  # each call once, none twice
    assert {(r.input_tokens, r.output_tokens) for r in records} == {(1000, 500)}
    await asyncio.to_thread(jsonl.close)
    lines = (tmp_path / "usage.jsonl").read_text("utf-8").splitlines()
    assert sorted(json.loads(line)["request_id"] for line in lines) == sorted(ids)


# -- the ways a governed client is made ---------------------------------------------------------


async def test_bl_aio_client_builds_one_with_its_own_control_plane(world: AioWorld) -> None:
    from aiobotocore.session import get_session

    async with bl.aio.client(
        get_session(),
        region_name="us-east-1",
        endpoint_url=world.fake.endpoint_url,
        aws_access_key_id=DUMMY_KEY,
        aws_secret_access_key=DUMMY_SECRET,
    ) as client:
        assert isinstance(client, bl.AsyncLifecycleClient)
        response = await call(client, "Converse", NOVA)
        assert meta(response)["state"] == "ACTIVE"
        # The catalog asked the same endpoint, through an aiobotocore "bedrock" client.
        assert world.fake.count("ListFoundationModels") == 1
        control = client.catalog._control_for("us-east-1")
        assert control.meta.service_model.service_name == "bedrock"
    assert _other_tasks() == set()
    with pytest.raises(RuntimeError):  # its control-plane clients are closed with the block
        control.list_foundation_models()


async def test_an_aioboto3_session_client_is_governed(world: AioWorld) -> None:
    import aioboto3

    catalog = world.catalog()
    session = aioboto3.Session(
        aws_access_key_id=DUMMY_KEY, aws_secret_access_key=DUMMY_SECRET, region_name="us-east-1"
    )
    async with session.client("bedrock-runtime", endpoint_url=world.fake.endpoint_url) as raw:
        client = bl.wrap(raw, catalog=catalog, policy=bl.Policy(successors={OLD: NEW}))
        response = await call(client, "ConverseStream", OLD)
    assert meta(response)["invokedModelId"] == OLD
    assert [r.operation for r in client.ledger.records()] == ["ConverseStream"]  # type: ignore[union-attr]
    async with bl.aio.client(
        session, endpoint_url=world.fake.endpoint_url, catalog=catalog
    ) as made:
        await call(made, "Converse", OLD)
    assert world.invoked() == [OLD, OLD]


async def test_a_boto3_session_is_refused_with_a_pointer(world: AioWorld) -> None:
    with pytest.raises(TypeError, match=r"bedrock_lifecycle\.client\(\)"):
        async with bl.aio.client(world.fake.session()):
            pass


def test_importing_the_package_imports_neither_aiobotocore_nor_asyncio() -> None:
    code = (
        "import sys, bedrock_lifecycle as bl; "
        "assert 'aiobotocore' not in sys.modules and 'asyncio' not in sys.modules, "
        "sorted(m for m in sys.modules if m.startswith(('aio', 'asyncio'))); "
        "bl.AsyncLifecycleClient; assert 'aiobotocore' not in sys.modules"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)


def test_the_async_example_runs(tmp_path: Path) -> None:
    env = {key: value for key, value in os.environ.items() if not key.startswith("AWS_")}
    env.update(
        AWS_CONFIG_FILE=os.devnull,
        AWS_SHARED_CREDENTIALS_FILE=os.devnull,
        AWS_EC2_METADATA_DISABLED="true",
        BEDROCK_LIFECYCLE_CACHE_DIR=str(tmp_path / "cache"),
    )
    done = subprocess.run(
        [sys.executable, "-W", "error", str(ROOT / "examples" / "async_fallback.py")],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""
    lines = done.stdout.splitlines()
    assert lines[0].startswith("FallbackWarning: us.anthropic.claude-3-5-sonnet-20240620-v1:0")
    assert lines[1] == "invoked: us.anthropic.claude-sonnet-4-20250514-v1:0"
    assert lines[2].startswith("streamed: This is a fake reply")
    assert lines[3] == "ledger: 12 records, all on us.anthropic.claude-sonnet-4-20250514-v1:0"
