"""Control-plane failures never reach the caller: bounded waits, last-good data, one log line.

Every failure kind is tried with a cold catalog (no data: the bundled snapshot answers), a warm
one (its own last-good data, past the TTL) and a stale one (only a persisted cache file from an
earlier process, past the TTL).
"""

from __future__ import annotations

import gc
import logging
import time
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any, TypeVar

import pytest

from bedrock_lifecycle import Source, State
from bedrock_lifecycle._catalog import Catalog
from bedrock_lifecycle.testing import FakeBedrock, FakeModel, FaultKind, Scenario

from .._control_plane import (
    BreakableControlPlane,
    Injection,
    dated_row,
    without_credentials,
)
from .._control_plane import settle as wait_for_threads

LIST = "ListFoundationModels"
ACCOUNT = "123456789012"
MAX_WAIT = 0.2
TTL = timedelta(hours=1)
LOGGER = "bedrock_lifecycle._catalog"


T = TypeVar("T")


def timed(call: Callable[[], T]) -> tuple[T, float]:
    """``call()`` and the seconds it took, with the cyclic collector off meanwhile: a full pass
    over the whole suite's heap (tens of milliseconds late in a run) is not the catalog
    waiting, which is what the bounds below are about."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        started = time.monotonic()
        result = call()
        return result, time.monotonic() - started
    finally:
        if enabled:
            gc.enable()


ROW = dated_row()
REGION = ROW.regions[0]
API_EOL = (ROW.eol_at or ROW.legacy_at) + timedelta(days=400)  # type: ignore[operator]


def settle() -> None:
    """Wait until no catalog background thread (refresh or id resolution) is running."""
    wait_for_threads("bedrock-lifecycle-", timeout=10.0)


def failure_warnings(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [
        r
        for r in caplog.records
        if r.name == LOGGER
        and r.levelno == logging.WARNING
        and r.getMessage().startswith("bedrock_lifecycle.refresh_failed")
    ]


@pytest.fixture(autouse=True)
def _isolated_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in ("BEDROCK_LIFECYCLE_OFFLINE", "BEDROCK_LIFECYCLE_TTL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("BEDROCK_LIFECYCLE_CACHE_DIR", str(tmp_path / "default-cache"))


@pytest.fixture
def fake() -> Iterator[FakeBedrock]:
    scenario = Scenario(
        models=(
            FakeModel(ROW.model_id, regions=(REGION,), legacy_at=ROW.legacy_at, eol_at=API_EOL),
        ),
        now=(ROW.legacy_at or ROW.eol_at) + timedelta(days=1),  # type: ignore[operator]
    )
    with FakeBedrock(scenario) as bedrock:
        yield bedrock
    settle()


@pytest.fixture
def no_credentials(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Make boto3's credential chain find nothing: no env keys, empty files, no IMDS."""
    without_credentials(monkeypatch, tmp_path)


ClientFactory = Callable[[str], Any]

# Every failure, and what the fake injects into ListFoundationModels for it ("no-credentials"
# breaks the client itself).
FAILURES: tuple[str, ...] = (
    "throttling",
    "internal-error",
    "service-unavailable",
    "access-denied",
    "malformed-json",
    "dropped-connection",
    "timeout",
    "no-credentials",
)
INJECTED: dict[str, Injection] = {
    "throttling": (FaultKind.THROTTLING, {}),
    "internal-error": (FaultKind.INTERNAL_ERROR, {}),
    "service-unavailable": (FaultKind.SERVICE_UNAVAILABLE, {}),
    "access-denied": (FaultKind.ACCESS_DENIED, {}),
    "malformed-json": (FaultKind.MALFORMED_JSON, {}),
    "dropped-connection": (FaultKind.DROP_CONNECTION, {}),
    "timeout": (FaultKind.LATENCY, {"delay": 0.4}),
}
EXPECTED_CODE = {
    "throttling": "ThrottlingException",
    "internal-error": "InternalServerException",
    "service-unavailable": "ServiceUnavailableException",
    "access-denied": "AccessDeniedException",
    "no-credentials": "NoCredentialsError",
}


def breakable(fake: FakeBedrock, name: str) -> BreakableControlPlane:
    return BreakableControlPlane(fake, name, INJECTED, read_timeout=0.15)


def _catalog(fake: FakeBedrock, factory: ClientFactory, cache_path: Path) -> Catalog:
    return Catalog(
        client_factory=factory,
        region_name=REGION,
        clock=fake.clock,
        cache_path=cache_path,
        ttl=TTL,
        max_wait=MAX_WAIT,
    )


def _prepare(
    state: str, fake: FakeBedrock, failing: BreakableControlPlane, cache_path: Path
) -> tuple[Catalog, Source]:
    """A catalog in ``state`` whose next lookup needs a refresh, and the source it answers from."""
    if state == "cold":
        return _catalog(fake, failing.client, cache_path), Source.BUNDLED
    if state == "warm":
        catalog = _catalog(fake, failing.client, cache_path)
        expected = Source.API
    else:
        writer = _catalog(fake, lambda region: fake.client("bedrock", region), cache_path)
        assert writer.refresh(REGION)[0].ok
        writer.close()
        catalog = _catalog(fake, failing.client, cache_path)
        expected = Source.CACHE
    if state == "warm":
        assert catalog.refresh(REGION)[0].ok  # synchronous: no race with max_wait
    assert catalog.lookup(ROW.model_id).source is expected
    settle()
    fake.advance(TTL + timedelta(seconds=1))
    return catalog, expected


@pytest.mark.parametrize("state", ["cold", "warm", "stale"])
@pytest.mark.parametrize("name", sorted(FAILURES))
def test_failed_refresh_never_reaches_the_caller(
    request: pytest.FixtureRequest,
    fake: FakeBedrock,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
    name: str,
    state: str,
) -> None:
    caplog.set_level(logging.DEBUG, logger="bedrock_lifecycle")
    cache_path = tmp_path / "c.json"
    failing = breakable(fake, name)
    catalog, expected_source = _prepare(state, fake, failing, cache_path)
    if name == "no-credentials":
        request.getfixturevalue("no_credentials")
    failing.break_()
    fake.clear_requests()

    # 1. The lookup answers within the bounded wait, from what the catalog has.
    entry, elapsed = timed(lambda: catalog.lookup(ROW.model_id))
    assert elapsed < MAX_WAIT + 0.25, elapsed
    assert entry.source is expected_source
    expected_eol = ROW.eol_at if expected_source is Source.BUNDLED else API_EOL
    assert entry.eol_at == expected_eol
    assert entry.state(fake.now) is State.LEGACY
    settle()
    first_round = fake.count(LIST)
    if name == "no-credentials":
        assert first_round == 0  # nothing could be signed, nothing was sent
    else:
        assert first_round >= 1

    # 2. Within the backoff: no new attempt, whatever the callers do; one warning so far.
    for _ in range(10):
        assert catalog.lookup(ROW.model_id).eol_at == expected_eol
    fake.advance(timedelta(seconds=29))
    catalog.lookup(ROW.model_id)
    settle()
    assert fake.count(LIST) == first_round
    warnings = failure_warnings(caplog)
    assert len(warnings) == 1
    assert REGION in warnings[0].getMessage()
    if name in EXPECTED_CODE:
        assert EXPECTED_CODE[name] in warnings[0].getMessage()

    # 3. After the backoff (at most 30 s + 15 s jitter): one new attempt, still failing, no
    #    new warning in the same streak.
    fake.advance(timedelta(seconds=20))
    again, elapsed = timed(lambda: catalog.lookup(ROW.model_id))
    assert again.eol_at == expected_eol
    assert elapsed < MAX_WAIT + 0.25, elapsed
    settle()
    if name != "no-credentials":
        assert fake.count(LIST) > first_round
    assert len(failure_warnings(caplog)) == 1

    # 4. Once the control plane answers again, the next retry recovers.
    if name == "no-credentials":
        catalog.close()
        return
    failing.mend()
    fake.advance(timedelta(minutes=3))
    catalog.lookup(ROW.model_id)
    settle()
    recovered = catalog.lookup(ROW.model_id)
    assert recovered.source is Source.API
    assert recovered.eol_at == API_EOL
    assert any(r.getMessage() == "bedrock_lifecycle.refresh_recovered" for r in caplog.records)
    if state != "warm":  # the rest is the same for every state; once keeps the suite fast
        catalog.close()
        return
    # A new failure streak is reported again, once.
    failing.break_()
    fake.advance(TTL + timedelta(seconds=1))
    catalog.lookup(ROW.model_id)
    settle()
    catalog.lookup(ROW.model_id)
    assert len(failure_warnings(caplog)) == 2
    catalog.close()


def test_refresh_reports_failures_instead_of_raising(fake: FakeBedrock, tmp_path: Path) -> None:
    catalog = _catalog(fake, lambda region: fake.client("bedrock", region), tmp_path / "c.json")
    fake.inject(LIST, FaultKind.ACCESS_DENIED)
    (result,) = catalog.refresh(REGION)
    assert result.ok is False
    assert result.error == "AccessDeniedException"
    assert result.changes == ()
    assert catalog.lookup(ROW.model_id).source is Source.BUNDLED


def test_transient_failure_is_retried_within_the_round(fake: FakeBedrock, tmp_path: Path) -> None:
    catalog = _catalog(fake, lambda region: fake.client("bedrock", region), tmp_path / "c.json")
    fake.inject(LIST, FaultKind.THROTTLING, times=1)
    (result,) = catalog.refresh(REGION)
    assert result.ok
    assert fake.count(LIST) == 2
    assert fake.count(LIST, status_code=429) == 1


def test_access_denied_is_not_retried_within_the_round(fake: FakeBedrock, tmp_path: Path) -> None:
    catalog = _catalog(fake, lambda region: fake.client("bedrock", region), tmp_path / "c.json")
    fake.inject(LIST, FaultKind.ACCESS_DENIED)
    catalog.refresh(REGION)
    assert fake.count(LIST) == 1


def test_failed_detail_call_keeps_what_the_list_said(fake: FakeBedrock, tmp_path: Path) -> None:
    fake.scenario = Scenario(
        models=(FakeModel("example.legacy-text-v1:0", legacy_at=fake.now - timedelta(days=5)),),
        now=fake.now,
        list_dates=False,
    )
    fake.inject("GetFoundationModel", FaultKind.INTERNAL_ERROR)
    catalog = _catalog(fake, lambda region: fake.client("bedrock", region), tmp_path / "c.json")
    entry = catalog.lookup("example.legacy-text-v1:0", "us-east-1")
    assert entry.source is Source.API
    assert entry.status == "LEGACY"
    assert entry.legacy_at is None
    assert entry.state(fake.now) is State.LEGACY


def test_slow_arn_resolution_is_bounded_too(fake: FakeBedrock, tmp_path: Path) -> None:
    fake.scenario = Scenario.default()
    fake.set_time(Scenario.default().now)  # type: ignore[arg-type]
    arn = f"arn:aws:bedrock:us-east-1:{ACCOUNT}:application-inference-profile/app-sonnet"
    fake.inject("GetInferenceProfile", FaultKind.LATENCY, delay=0.6, times=1)
    catalog = Catalog(
        client_factory=lambda region: fake.client("bedrock", region),
        region_name="us-east-1",
        clock=fake.clock,
        cache_path=tmp_path / "c.json",
        max_wait=MAX_WAIT,
    )
    entry, elapsed = timed(lambda: catalog.lookup(arn))
    assert elapsed < MAX_WAIT + 0.25, elapsed
    assert entry.state(fake.now) is State.UNKNOWN  # not resolved yet
    # The resolution finishes in the background and is then used without another call.
    deadline = time.monotonic() + 3
    while catalog.lookup(arn).model_id != "anthropic.claude-sonnet-4-20250514-v1:0":
        assert time.monotonic() < deadline
        time.sleep(0.02)
    assert fake.count("GetInferenceProfile") == 1
    catalog.close()


def test_failed_arn_resolution_is_unknown_and_retried_later(
    fake: FakeBedrock, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    fake.scenario = Scenario.default()
    arn = f"arn:aws:bedrock:us-east-1:{ACCOUNT}:application-inference-profile/app-sonnet"
    fake.inject("GetInferenceProfile", FaultKind.ACCESS_DENIED)
    catalog = _catalog(fake, lambda region: fake.client("bedrock", region), tmp_path / "c.json")
    assert catalog.lookup(arn).state(fake.now) is State.UNKNOWN
    settle()
    calls = fake.count("GetInferenceProfile")
    assert calls >= 1
    catalog.lookup(arn)
    assert fake.count("GetInferenceProfile") == calls
    assert [r.levelname for r in caplog.records if "resolve_failed" in r.getMessage()] == [
        "WARNING"
    ]
    fake.clear_faults()
    fake.advance(timedelta(minutes=6))
    deadline = time.monotonic() + 3
    while catalog.lookup(arn).model_id != "anthropic.claude-sonnet-4-20250514-v1:0":
        assert time.monotonic() < deadline
        time.sleep(0.02)
    catalog.close()
