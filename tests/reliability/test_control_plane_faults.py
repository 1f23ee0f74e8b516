"""Control-plane faults never break a runtime call made through the governed client.

The matrix: every kind of control-plane failure x a cold catalog (no data: the bundled snapshot
answers), a warm one (its own last-good data, past the TTL) and a stale one (only the cache file an
earlier process wrote, past the TTL). In every cell the runtime calls go through ``wrap()`` to the
fake Bedrock and must succeed, return within ``max_wait`` plus a generous margin, be decided on
last-good or bundled data (visible in ``ResponseMetadata["BedrockLifecycle"]["eolAt"]``), and the
failure streak must be logged at WARNING exactly once. ``docs/reliability.md`` shows the matrix.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

import bedrock_lifecycle as bl
from bedrock_lifecycle.testing import FakeBedrock, FakeModel, FaultKind, Scenario

from .._control_plane import (
    LIST,
    BreakableControlPlane,
    Injection,
    dated_row,
    settle,
    without_credentials,
)

MAX_WAIT = 0.3
BOUND = MAX_WAIT + 1.0  # generous: the point is "bounded", not a tight timing
TTL = timedelta(hours=1)
MESSAGES = [{"role": "user", "content": [{"text": "Say hello."}]}]


ROW = dated_row()
MODEL = ROW.model_id
REGION = ROW.regions[0]
BUNDLED_EOL = ROW.eol_at.date().isoformat()  # type: ignore[union-attr]
API_EOL = ROW.eol_at + timedelta(days=400)  # type: ignore[operator]
NOW = ROW.legacy_at + timedelta(days=1)  # type: ignore[operator]

FAULTS = (
    "throttling",
    "internal-error",
    "service-unavailable",
    "timeout",
    "latency",
    "access-denied",
    "no-credentials",
    "malformed-json",
)
INJECTED: dict[str, Injection] = {
    "throttling": (FaultKind.THROTTLING, {}),
    "internal-error": (FaultKind.INTERNAL_ERROR, {}),
    "service-unavailable": (FaultKind.SERVICE_UNAVAILABLE, {}),
    "access-denied": (FaultKind.ACCESS_DENIED, {}),
    "malformed-json": (FaultKind.MALFORMED_JSON, {}),
    "timeout": (FaultKind.LATENCY, {"delay": 0.3}),
    "latency": (FaultKind.LATENCY, {"delay": MAX_WAIT + 0.3, "times": 1}),
}
LOGGED_CODE = {
    "throttling": "ThrottlingException",
    "internal-error": "InternalServerException",
    "service-unavailable": "ServiceUnavailableException",
    "access-denied": "AccessDeniedException",
    "no-credentials": "NoCredentialsError",
    "timeout": "ReadTimeoutError",
}


@pytest.fixture(autouse=True)
def _isolated(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[None]:
    for name in ("BEDROCK_LIFECYCLE_OFFLINE", "BEDROCK_LIFECYCLE_TTL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("BEDROCK_LIFECYCLE_CACHE_DIR", str(tmp_path / "default-cache"))
    yield
    settle()


@pytest.fixture
def fake() -> Iterator[FakeBedrock]:
    model = FakeModel(MODEL, regions=(REGION,), legacy_at=ROW.legacy_at, eol_at=API_EOL)
    with FakeBedrock(Scenario(models=(model,)), now=NOW) as bedrock:
        yield bedrock


def control_plane(fake: FakeBedrock, fault: str) -> BreakableControlPlane:
    return BreakableControlPlane(fake, fault, INJECTED, read_timeout=0.1)


def _catalog(fake: FakeBedrock, plane: BreakableControlPlane, cache_path: Path) -> bl.Catalog:
    return bl.Catalog(
        client_factory=plane.client,
        region_name=REGION,
        clock=fake.clock,
        cache_path=cache_path,
        ttl=TTL,
        max_wait=MAX_WAIT,
    )


def _prepare(
    state: str, fake: FakeBedrock, plane: BreakableControlPlane, path: Path
) -> tuple[bl.Catalog, str]:
    """A catalog in ``state`` whose next call needs a refresh, and the EOL date it must use."""
    if state == "cold":
        return _catalog(fake, plane, path), BUNDLED_EOL
    if state == "stale":  # an earlier process fetched and wrote the cache file
        earlier = _catalog(fake, control_plane(fake, "none"), path)
        earlier.refresh(REGION)
        earlier.close()
        catalog = _catalog(fake, plane, path)
    else:
        catalog = _catalog(fake, plane, path)
        catalog.refresh(REGION)
    fake.advance(TTL + timedelta(minutes=1))
    return catalog, API_EOL.date().isoformat()


def _warnings(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [
        r
        for r in caplog.records
        if r.name.startswith("bedrock_lifecycle") and r.levelno >= logging.WARNING
    ]


def _call(client: bl.LifecycleClient, number: int) -> tuple[float, dict[str, Any]]:
    started = time.monotonic()
    if number % 2:
        response = client.converse_stream(modelId=MODEL, messages=MESSAGES)
        assert [e for e in response["stream"] if "messageStop" in e]
    else:
        response = client.converse(modelId=MODEL, messages=MESSAGES)
        assert response["output"]["message"]["content"][0]["text"]
    return time.monotonic() - started, response["ResponseMetadata"]["BedrockLifecycle"]


@pytest.mark.parametrize("state", ["cold", "warm", "stale"])
@pytest.mark.parametrize("fault", FAULTS)
def test_runtime_calls_survive_control_plane_faults(
    fake: FakeBedrock,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    fault: str,
    state: str,
) -> None:
    caplog.set_level(logging.DEBUG, logger="bedrock_lifecycle")
    plane = control_plane(fake, fault)
    catalog, expected_eol = _prepare(state, fake, plane, tmp_path / "cache.json")
    if fault == "no-credentials":
        without_credentials(monkeypatch, tmp_path)
    policy = bl.Policy(on_legacy="ignore", on_extended_access="ignore")
    client = bl.wrap(fake.client("bedrock-runtime", REGION), catalog=catalog, policy=policy)
    plane.break_()
    fake.clear_requests()
    caplog.clear()

    # The first call triggers the refresh that fails (or is slow); it is answered in bounded time
    # from what the catalog has, and succeeds.
    elapsed, meta = _call(client, 0)
    assert elapsed < BOUND, elapsed
    assert meta["eolAt"] == expected_eol
    assert meta["state"] == "LEGACY"
    settle()

    # More calls inside the failure backoff: answered at once, no new attempt.
    for number in range(1, 5):
        elapsed, meta = _call(client, number)
        assert elapsed < BOUND, elapsed
    calls = 5
    # After the backoff (30 s + at most 15 s jitter) one more background attempt fails in the
    # same streak. The state does not matter here; checking it once keeps the suite fast.
    retried = state == "warm" and fault != "latency"
    if retried:
        fake.advance(timedelta(seconds=60))
        elapsed, meta = _call(client, 5)
        assert elapsed < BOUND, elapsed
        settle()
        elapsed, meta = _call(client, 6)
        calls = 7

    runtime = [r for r in fake.requests if r.operation in ("Converse", "ConverseStream")]
    assert len(runtime) == calls
    assert all(r.status_code == 200 and r.error_code is None for r in runtime)
    logged = _warnings(caplog)
    if fault == "latency":
        # Slow, not failed: no warning, and once the refresh lands the live data answers.
        assert logged == []
        assert meta["eolAt"] == API_EOL.date().isoformat()
        assert fake.count(LIST) == 1
    else:
        assert meta["eolAt"] == expected_eol  # still last-good (or bundled) data
        assert len(logged) == 1, [r.getMessage() for r in logged]
        message = logged[0].getMessage()
        assert message.startswith("bedrock_lifecycle.refresh_failed")
        assert REGION in message
        if fault in LOGGED_CODE:
            assert LOGGED_CODE[fault] in message
        if fault == "no-credentials":
            assert fake.count(LIST) == 0  # nothing could be signed, nothing was sent
        elif retried:
            assert fake.count(LIST) >= 2  # the first round and the retry after the backoff
        else:
            assert fake.count(LIST) >= 1
    catalog.close()
