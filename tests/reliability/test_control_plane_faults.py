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
import threading
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.config import Config

import bedrock_lifecycle as bl
from bedrock_lifecycle._bundled import SnapshotRow, load_snapshot
from bedrock_lifecycle.testing import FakeBedrock, FakeModel, FaultKind, Scenario

MAX_WAIT = 0.3
BOUND = MAX_WAIT + 1.0  # generous: the point is "bounded", not a tight timing
TTL = timedelta(hours=1)
LIST = "ListFoundationModels"
MESSAGES = [{"role": "user", "content": [{"text": "Say hello."}]}]


def _dated_row() -> SnapshotRow:
    for row in load_snapshot().rows:
        if row.regions and row.legacy_at and row.eol_at:
            return row
    raise AssertionError("the bundled snapshot has no dated row")


ROW = _dated_row()
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
INJECTED = {
    "throttling": FaultKind.THROTTLING,
    "internal-error": FaultKind.INTERNAL_ERROR,
    "service-unavailable": FaultKind.SERVICE_UNAVAILABLE,
    "access-denied": FaultKind.ACCESS_DENIED,
    "malformed-json": FaultKind.MALFORMED_JSON,
}
LOGGED_CODE = {
    "throttling": "ThrottlingException",
    "internal-error": "InternalServerException",
    "service-unavailable": "ServiceUnavailableException",
    "access-denied": "AccessDeniedException",
    "no-credentials": "NoCredentialsError",
    "timeout": "ReadTimeoutError",
}


def settle(timeout: float = 15.0) -> None:
    """Wait for every catalog background thread to finish."""
    deadline = time.monotonic() + timeout
    for thread in threading.enumerate():
        if thread.name.startswith("bedrock-lifecycle-"):
            thread.join(max(0.0, deadline - time.monotonic()))
            assert not thread.is_alive(), f"{thread.name} did not finish"


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


def _without_credentials(monkeypatch: pytest.MonkeyPatch, folder: Path) -> None:
    """Leave boto3's default credential chain with nothing to find."""
    for name in (
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_SESSION_TOKEN",
        "AWS_SECURITY_TOKEN",
        "AWS_PROFILE",
        "AWS_DEFAULT_PROFILE",
        "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
        "AWS_CONTAINER_CREDENTIALS_FULL_URI",
        "AWS_WEB_IDENTITY_TOKEN_FILE",
        "AWS_ROLE_ARN",
    ):
        monkeypatch.delenv(name, raising=False)
    empty = folder / "empty-aws-config"
    empty.write_text("", "utf-8")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(empty))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(empty))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")


class ControlPlane:
    """Hands the catalog real boto3 ``bedrock`` clients and breaks them on demand."""

    def __init__(self, fake: FakeBedrock, fault: str) -> None:
        self.fake = fake
        self.fault = fault
        self.broken = False

    def client(self, region: str) -> Any:
        if self.fault == "timeout":
            config = Config(read_timeout=0.1, connect_timeout=1)
            return self.fake.client("bedrock", region, mode="server", config=config)
        if self.fault == "no-credentials":
            return _Switch(self, region)
        return self.fake.client("bedrock", region)

    def break_(self) -> None:
        self.broken = True
        if self.fault in INJECTED:
            self.fake.inject(LIST, INJECTED[self.fault])
        elif self.fault == "timeout":
            self.fake.inject(LIST, FaultKind.LATENCY, delay=0.3)
        elif self.fault == "latency":
            self.fake.inject(LIST, FaultKind.LATENCY, delay=MAX_WAIT + 0.3, times=1)


class _Switch:
    """A healthy client with dummy credentials until the fault is switched on; then one built
    from a session whose credential chain finds nothing."""

    def __init__(self, plane: ControlPlane, region: str) -> None:
        self._plane = plane
        self._healthy = plane.fake.client("bedrock", region)
        self._broken: Any = None
        self.meta = self._healthy.meta

    def __getattr__(self, name: str) -> Any:
        if not self._plane.broken:
            return getattr(self._healthy, name)
        if self._broken is None:
            session = boto3.Session(region_name=self.meta.region_name)
            config = Config(retries={"total_max_attempts": 1})
            self._broken = self._plane.fake.attach(session.client("bedrock", config=config))
        return getattr(self._broken, name)


def _catalog(fake: FakeBedrock, plane: ControlPlane, cache_path: Path) -> bl.Catalog:
    return bl.Catalog(
        client_factory=plane.client,
        region_name=REGION,
        clock=fake.clock,
        cache_path=cache_path,
        ttl=TTL,
        max_wait=MAX_WAIT,
    )


def _prepare(
    state: str, fake: FakeBedrock, plane: ControlPlane, path: Path
) -> tuple[bl.Catalog, str]:
    """A catalog in ``state`` whose next call needs a refresh, and the EOL date it must use."""
    if state == "cold":
        return _catalog(fake, plane, path), BUNDLED_EOL
    if state == "stale":  # an earlier process fetched and wrote the cache file
        earlier = _catalog(fake, ControlPlane(fake, "none"), path)
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
    plane = ControlPlane(fake, fault)
    catalog, expected_eol = _prepare(state, fake, plane, tmp_path / "cache.json")
    if fault == "no-credentials":
        _without_credentials(monkeypatch, tmp_path)
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
