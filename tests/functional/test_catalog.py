"""The lifecycle catalog through real botocore clients against the fake Bedrock."""

from __future__ import annotations

import json
import stat
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import replace
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from bedrock_lifecycle import ConfigurationError, ModelLifecycle, Source, State
from bedrock_lifecycle._bundled import load_snapshot
from bedrock_lifecycle._catalog import Catalog
from bedrock_lifecycle.testing import (
    FakeBedrock,
    FakeModel,
    FaultKind,
    LifecycleDates,
    Scenario,
)

UTC = timezone.utc
ACCOUNT = "123456789012"
SONNET35 = "anthropic.claude-3-5-sonnet-20240620-v1:0"
SONNET4 = "anthropic.claude-sonnet-4-20250514-v1:0"
NOVA = "amazon.nova-pro-v1:0"
TITAN = "amazon.titan-text-express-v1"
LLAMA = "meta.llama3-1-70b-instruct-v1:0"
LIST = "ListFoundationModels"
# Ids of our own, so the bundled snapshot (which grows as AWS publishes) cannot interfere.
ALPHA = "example.alpha-text-v1:0"
BETA = "example.beta-text-v1:0"
GAMMA = "example.gamma-text-v1:0"


def day(year: int, month: int, dd: int) -> datetime:
    return datetime(year, month, dd, tzinfo=UTC)


def wait_for(predicate: Callable[[], bool], timeout: float = 3.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(0.005)


def use(fake: FakeBedrock, scenario: Scenario) -> None:
    """Serve ``scenario`` from its own ``now`` on."""
    fake.scenario = scenario
    assert scenario.now is not None
    fake.set_time(scenario.now)


@pytest.fixture(autouse=True)
def _isolated_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in ("BEDROCK_LIFECYCLE_OFFLINE", "BEDROCK_LIFECYCLE_TTL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("BEDROCK_LIFECYCLE_CACHE_DIR", str(tmp_path / "default-cache"))


@pytest.fixture
def fake() -> Iterator[FakeBedrock]:
    with FakeBedrock() as bedrock:
        yield bedrock


@pytest.fixture
def cache_path(tmp_path: Path) -> Path:
    return tmp_path / "cache" / "c.json"


CatalogFactory = Callable[..., Catalog]


@pytest.fixture
def make_catalog(fake: FakeBedrock, cache_path: Path) -> Iterator[CatalogFactory]:
    made: list[Catalog] = []

    def make(**options: Any) -> Catalog:
        options.setdefault("session", fake.session())
        options.setdefault("region_name", "us-east-1")
        options.setdefault("clock", fake.clock)
        options.setdefault("cache_path", cache_path)
        options.setdefault("max_wait", 5.0)
        catalog = Catalog(**options)
        made.append(catalog)
        return catalog

    yield make
    for catalog in made:
        catalog.close(timeout=5)


# -- lookups -------------------------------------------------------------------------------


def test_every_id_form_naming_the_base_reads_the_same_entry(
    fake: FakeBedrock, make_catalog: CatalogFactory
) -> None:
    catalog = make_catalog()
    forms = [
        SONNET35,
        f"us.{SONNET35}",
        f"arn:aws:bedrock:us-east-1::foundation-model/{SONNET35}",
        f"arn:aws:bedrock:us-east-1:{ACCOUNT}:inference-profile/us.{SONNET35}",
        f"arn:aws:bedrock:us-east-1:{ACCOUNT}:custom-model/{SONNET35}/abcdef123456",
    ]
    entries = [catalog.lookup(form) for form in forms]
    for entry in entries:
        assert entry.model_id == SONNET35
        assert entry.region == "us-east-1"
        assert entry.source is Source.API
        assert entry.eol_at == day(2026, 3, 1)
        assert entry.extended_access_at == day(2025, 12, 1)
        assert entry.state(fake.now) is State.EXTENDED_ACCESS
    # One list call for the region; no id above needed the control plane.
    assert fake.count() == 1
    assert fake.count(LIST, region="us-east-1") == 1


@pytest.mark.parametrize(
    ("arn", "operation", "base"),
    [
        (
            f"arn:aws:bedrock:us-east-1:{ACCOUNT}:application-inference-profile/app-sonnet",
            "GetInferenceProfile",
            SONNET4,
        ),
        (
            f"arn:aws:bedrock:us-east-1:{ACCOUNT}:provisioned-model/prov00000001",
            "GetProvisionedModelThroughput",
            SONNET35,
        ),
    ],
)
def test_arns_resolved_through_the_control_plane_once(
    fake: FakeBedrock,
    make_catalog: CatalogFactory,
    cache_path: Path,
    arn: str,
    operation: str,
    base: str,
) -> None:
    catalog = make_catalog()
    entry = catalog.lookup(arn)
    assert entry.model_id == base
    assert entry.source is Source.API
    assert entry.state(fake.now) is (fake.scenario.model(base) or _missing()).state(
        "us-east-1", fake.now
    )
    assert fake.count(operation) == 1
    for _ in range(5):
        assert catalog.lookup(arn).model_id == base
        assert catalog.base_model(arn) == base
    assert fake.count(operation) == 1  # cached in memory
    assert fake.count(LIST) == 1
    # ... and persisted: a new catalog on the same file makes no call at all.
    fake.clear_requests()
    again = make_catalog()
    assert again.lookup(arn).model_id == base
    assert fake.count() == 0
    assert arn in json.loads(cache_path.read_text("utf-8"))["resolved"]


def _missing() -> Any:
    raise AssertionError("model not in scenario")


def test_custom_model_arn_with_base_in_it_needs_no_call(
    fake: FakeBedrock, make_catalog: CatalogFactory
) -> None:
    catalog = make_catalog()
    arn = f"arn:aws:bedrock:us-east-1:{ACCOUNT}:custom-model/{NOVA}/abcdef123456"
    assert catalog.lookup(arn).model_id == NOVA
    assert fake.count("GetCustomModel") == 0


def test_per_region_dates_for_the_same_id(fake: FakeBedrock, make_catalog: CatalogFactory) -> None:
    catalog = make_catalog()
    expected = {
        "us-east-1": (day(2026, 3, 1), State.EXTENDED_ACCESS),
        "eu-central-2": (day(2026, 6, 1), State.LEGACY),
        "ap-northeast-1": (day(2026, 7, 30), State.LEGACY),
    }
    for region, (eol, state) in expected.items():
        entry = catalog.lookup(SONNET35, region)
        assert entry.region == region
        assert entry.eol_at == eol
        assert entry.state(fake.now) is state
    # A region given in the ARN wins over the catalog's region.
    arn = f"arn:aws:bedrock:eu-central-2::foundation-model/{SONNET35}"
    assert catalog.lookup(arn, "eu-central-2").eol_at == day(2026, 6, 1)
    for region in expected:
        assert fake.count(LIST, region=region) == 1
    assert fake.count(LIST) == 3


def test_unknown_ids_are_unknown_never_errors(
    fake: FakeBedrock, make_catalog: CatalogFactory, caplog: pytest.LogCaptureFixture
) -> None:
    catalog = make_catalog()
    for model_id in [
        "",
        "   ",
        "not a model",
        "example.never-heard-of-v9:0",
        "arn:aws:s3:::my-bucket",
        f"arn:aws:bedrock:us-east-1:{ACCOUNT}:imported-model/abcdefghijkl",
        f"arn:aws:bedrock:us-east-1:{ACCOUNT}:application-inference-profile/nope",
        f"arn:aws:bedrock:us-east-1:{ACCOUNT}:provisioned-model/nope00000000",
        "x" * 5000,
    ]:
        entry = catalog.lookup(model_id)
        assert entry.state(fake.now) is State.UNKNOWN, model_id
        assert not entry.known
    with pytest.raises(TypeError):
        catalog.lookup(None)  # type: ignore[arg-type]
    # The failed resolutions are not retried on every lookup.
    before = fake.count()
    catalog.lookup(f"arn:aws:bedrock:us-east-1:{ACCOUNT}:application-inference-profile/nope")
    assert fake.count() == before


def test_no_region_anywhere_answers_from_bundled_without_calls(
    fake: FakeBedrock, make_catalog: CatalogFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("AWS_REGION", raising=False)
    monkeypatch.delenv("AWS_DEFAULT_REGION", raising=False)
    catalog = make_catalog(session=None, region_name=None, client_factory=fake.client)
    assert catalog.region_name is None
    row = load_snapshot().rows[0]
    entry = catalog.lookup(row.model_id)
    assert entry.source is Source.BUNDLED
    assert entry.eol_at == row.eol_at
    assert fake.count() == 0


# -- precedence ----------------------------------------------------------------------------


def _bundled_row() -> Any:
    for row in load_snapshot().rows:
        if row.regions and row.legacy_at and row.eol_at:
            return row
    raise AssertionError("the bundled snapshot has no dated row")


def test_override_beats_api_field_by_field(fake: FakeBedrock, make_catalog: CatalogFactory) -> None:
    catalog = make_catalog(
        overrides={
            SONNET35: {
                "eol_at": "2027-01-01",
                "recommended": [NOVA],
                "regions": {"eu-central-2": {"eol_at": "2027-02-01"}},
            }
        }
    )
    east = catalog.lookup(SONNET35)
    assert east.source is Source.OVERRIDE
    assert east.eol_at == day(2027, 1, 1)
    assert east.recommended == (NOVA,)
    # Fields the override leaves out come from the control plane.
    assert east.legacy_at == day(2025, 8, 25)
    assert east.extended_access_at == day(2025, 12, 1)
    assert east.status == "LEGACY"
    assert east.name == "Claude 3.5 Sonnet"
    eu = catalog.lookup(SONNET35, "eu-central-2")
    assert eu.eol_at == day(2027, 2, 1)
    assert eu.extended_access_at == day(2026, 3, 1)  # eu-central-2's own API date
    # An override makes an unknown model known, with no call needed to know it.
    catalog2 = make_catalog(overrides={ALPHA: {"status": "LEGACY"}}, offline=True)
    assert catalog2.lookup(ALPHA).state(fake.now) is State.LEGACY


def test_api_beats_bundled_and_fills_from_it(
    fake: FakeBedrock, make_catalog: CatalogFactory
) -> None:
    row = _bundled_row()
    region = row.regions[0]
    later = row.eol_at + timedelta(days=400)
    use(
        fake,
        Scenario(
            models=(
                FakeModel(row.model_id, regions=(region,), eol_at=later),
                # Listed as Legacy with no dates anywhere: the bundled dates fill in.
                FakeModel(ALPHA, regions=(region,), legacy_at=row.legacy_at, publish_dates=False),
            ),
            now=row.legacy_at + timedelta(days=1),
        ),
    )
    catalog = make_catalog(region_name=region)
    entry = catalog.lookup(row.model_id)
    assert entry.source is Source.API
    assert entry.eol_at == later
    assert entry.name == row.model_id  # the fake's name, not the bundled one
    alpha = catalog.lookup(ALPHA)
    assert alpha.source is Source.API
    assert alpha.status == "LEGACY"
    assert alpha.state(fake.now) is State.LEGACY


def test_api_status_active_is_not_made_legacy_by_bundled_dates(
    fake: FakeBedrock, make_catalog: CatalogFactory, cache_path: Path
) -> None:
    row = _bundled_row()
    region = row.regions[0]
    use(
        fake,
        Scenario(
            models=(FakeModel(row.model_id, regions=(region,)),),
            now=row.eol_at + timedelta(days=1),
        ),
    )
    catalog = make_catalog(region_name=region)
    entry = catalog.lookup(row.model_id)
    assert entry.status == "ACTIVE"
    assert entry.legacy_at is None
    assert entry.state(fake.now) is State.ACTIVE
    # A process that reads the same answer from the cache file agrees.
    fake.clear_requests()
    reader = make_catalog(region_name=region, offline=True)
    cached = reader.lookup(row.model_id)
    assert cached.source is Source.CACHE
    assert cached.state(fake.now) is State.ACTIVE
    assert fake.count() == 0


def test_cache_beats_bundled_and_api_beats_cache(
    fake: FakeBedrock, make_catalog: CatalogFactory
) -> None:
    row = _bundled_row()
    region = row.regions[0]
    first_eol = row.eol_at + timedelta(days=100)
    second_eol = row.eol_at + timedelta(days=200)
    use(
        fake,
        Scenario(
            models=(FakeModel(row.model_id, regions=(region,), eol_at=first_eol),),
            now=row.legacy_at - timedelta(days=10),
        ),
    )
    make_catalog(region_name=region).lookup(row.model_id)
    # Cache over bundled: an offline reader sees what the first process fetched.
    offline = make_catalog(region_name=region, offline=True)
    cached = offline.lookup(row.model_id)
    assert cached.source is Source.CACHE
    assert cached.eol_at == first_eol
    assert cached.as_of == fake.now
    # Without it, the bundled row.
    bare = make_catalog(region_name=region, persist=False, offline=True)
    assert bare.lookup(row.model_id).source is Source.BUNDLED
    assert bare.lookup(row.model_id).eol_at == row.eol_at
    # API over cache: once the cache is stale, a live answer replaces it.
    fake.scenario = fake.scenario.with_models(
        FakeModel(row.model_id, regions=(region,), eol_at=second_eol)
    )
    fake.advance(timedelta(hours=7))
    live = make_catalog(region_name=region, max_wait=0)
    assert live.lookup(row.model_id).eol_at == first_eol  # stale answer at once
    live.refresh(region)
    assert live.lookup(row.model_id).source is Source.API
    assert live.lookup(row.model_id).eol_at == second_eol


def test_bundled_false_knows_nothing_offline(
    fake: FakeBedrock, make_catalog: CatalogFactory
) -> None:
    row = _bundled_row()
    catalog = make_catalog(bundled=False, offline=True, persist=False)
    assert catalog.lookup(row.model_id, row.regions[0]).state(fake.now) is State.UNKNOWN


# -- what the control plane says ------------------------------------------------------------


def test_legacy_models_listed_without_dates_get_one_detail_call(
    fake: FakeBedrock, make_catalog: CatalogFactory
) -> None:
    use(fake, replace(Scenario.default(), list_dates=False))
    catalog = make_catalog()
    llama = catalog.lookup(LLAMA)
    assert llama.source is Source.API
    assert llama.eol_at == day(2026, 6, 1)
    assert llama.legacy_at == day(2025, 12, 1)
    assert catalog.lookup(SONNET35).eol_at == day(2026, 3, 1)
    assert fake.count("GetFoundationModel", model_id=LLAMA) == 1
    assert fake.count("GetFoundationModel", model_id=SONNET35) == 1
    # Active models need no detail call.
    assert fake.count("GetFoundationModel", model_id=NOVA) == 0
    assert fake.count("GetFoundationModel", model_id=SONNET4) == 0
    assert fake.count("GetFoundationModel") == 2


def test_model_known_then_gone_after_eol_is_eol(
    fake: FakeBedrock, make_catalog: CatalogFactory, cache_path: Path
) -> None:
    fake.set_time(day(2025, 9, 30))
    catalog = make_catalog(bundled=False)
    before = catalog.lookup(TITAN)
    assert before.state(fake.now) is State.LEGACY
    assert before.eol_at == day(2025, 10, 1)
    fake.advance(timedelta(days=2))
    results = catalog.refresh("us-east-1")
    assert fake.count(LIST) == 2
    assert results[0].ok
    gone = catalog.lookup(TITAN)
    assert gone.state(fake.now) is State.EOL
    # A new process that only has the cache file knows it too.
    reader = make_catalog(bundled=False, offline=True)
    assert reader.lookup(TITAN).state(fake.now) is State.EOL
    # A model the catalog never saw before its EOL is simply unknown.
    assert catalog.lookup(TITAN, "eu-west-1").state(fake.now) is State.UNKNOWN


def test_refresh_reports_changes(fake: FakeBedrock, make_catalog: CatalogFactory) -> None:
    use(
        fake,
        Scenario(
            models=(
                FakeModel(ALPHA, legacy_at=date(2026, 2, 1), eol_at=date(2026, 8, 1)),
                FakeModel(BETA),
                FakeModel(GAMMA, legacy_at=date(2025, 6, 1), eol_at=date(2026, 1, 20)),
            ),
            now=date(2026, 1, 15),
        ),
    )
    catalog = make_catalog(bundled=False)
    first = catalog.refresh("us-east-1")
    assert [r.region for r in first] == ["us-east-1"]
    assert first[0].ok
    assert first[0].models == 3
    assert {(c.model_id, c.change) for c in first[0].changes} == {
        (ALPHA, "added"),
        (BETA, "added"),
        (GAMMA, "added"),
    }
    # Nothing changed: nothing reported.
    assert catalog.refresh("us-east-1")[0].changes == ()
    # A month later: ALPHA turned Legacy, GAMMA reached EOL and left the list, BETA was
    # withdrawn without a date, and a new model appeared.
    fake.scenario = Scenario(
        models=(
            FakeModel(ALPHA, legacy_at=date(2026, 2, 1), eol_at=date(2026, 8, 1)),
            FakeModel(GAMMA, legacy_at=date(2025, 6, 1), eol_at=date(2026, 1, 20)),
            FakeModel("example.delta-text-v1:0"),
        ),
        now=fake.now,
    )
    fake.advance(timedelta(days=31))
    changes = {c.model_id: c for c in catalog.refresh()[0].changes}
    assert set(changes) == {ALPHA, BETA, GAMMA, "example.delta-text-v1:0"}
    assert changes[ALPHA].change == "state"
    assert changes[ALPHA].before is not None
    assert changes[ALPHA].after is not None
    assert changes[ALPHA].after.state(fake.now) is State.LEGACY
    assert changes[GAMMA].change == "state"
    assert changes[GAMMA].after is not None
    assert changes[GAMMA].after.state(fake.now) is State.EOL
    assert changes[BETA].change == "removed"
    assert changes[BETA].after is None
    assert changes["example.delta-text-v1:0"].change == "added"
    # Moved dates are reported as such.
    fake.scenario = fake.scenario.with_models(
        FakeModel(ALPHA, legacy_at=date(2026, 2, 1), eol_at=date(2026, 10, 1))
    )
    dated = catalog.refresh("us-east-1")[0].changes
    assert [(c.model_id, c.change) for c in dated] == [(ALPHA, "dates")]


def test_refresh_without_region_covers_every_known_region(
    fake: FakeBedrock, make_catalog: CatalogFactory
) -> None:
    catalog = make_catalog()
    catalog.lookup(SONNET35, "eu-central-2")
    results = catalog.refresh()
    assert sorted(r.region for r in results) == ["eu-central-2", "us-east-1"]
    assert all(r.ok for r in results)


# -- caching -------------------------------------------------------------------------------


def test_ttl_warm_lookups_make_no_calls_and_expiry_refreshes_once(
    fake: FakeBedrock, make_catalog: CatalogFactory
) -> None:
    catalog = make_catalog(ttl=timedelta(hours=1))
    catalog.lookup(SONNET35)
    assert fake.count(LIST) == 1
    for _ in range(50):
        catalog.lookup(SONNET35)
        catalog.lookup(NOVA)
    fake.advance(timedelta(minutes=59, seconds=59))
    catalog.lookup(SONNET35)
    assert fake.count() == 1
    fake.advance(timedelta(seconds=2))
    for _ in range(20):
        catalog.lookup(SONNET35)
    wait_for(lambda: fake.count(LIST) == 2)
    catalog.close()
    for _ in range(20):
        catalog.lookup(SONNET35)
    assert fake.count(LIST) == 2


def test_ttl_from_environment(
    fake: FakeBedrock, make_catalog: CatalogFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("BEDROCK_LIFECYCLE_TTL", "60")
    catalog = make_catalog()
    assert catalog.ttl == timedelta(seconds=60)
    catalog.lookup(NOVA)
    fake.advance(timedelta(seconds=59))
    catalog.lookup(NOVA)
    assert fake.count(LIST) == 1
    fake.advance(timedelta(seconds=2))
    catalog.lookup(NOVA)
    wait_for(lambda: fake.count(LIST) == 2)
    # An explicit ttl wins over the environment.
    assert make_catalog(ttl=timedelta(minutes=5)).ttl == timedelta(minutes=5)
    monkeypatch.setenv("BEDROCK_LIFECYCLE_TTL", "soon")
    with pytest.raises(ConfigurationError, match="BEDROCK_LIFECYCLE_TTL"):
        make_catalog()
    monkeypatch.setenv("BEDROCK_LIFECYCLE_TTL", "-5")
    with pytest.raises(ConfigurationError, match="positive"):
        make_catalog()


def test_stale_while_revalidate_answers_at_once_from_last_good(
    fake: FakeBedrock, make_catalog: CatalogFactory
) -> None:
    catalog = make_catalog(ttl=timedelta(hours=1), max_wait=2.0)
    assert catalog.lookup(SONNET35).eol_at == day(2026, 3, 1)
    fake.scenario = fake.scenario.with_models(
        FakeModel(SONNET35, legacy_at=date(2025, 8, 25), eol_at=date(2026, 9, 1))
    )
    fake.inject(LIST, FaultKind.LATENCY, delay=0.5, times=1)
    fake.advance(timedelta(hours=2))
    started = time.monotonic()
    stale = catalog.lookup(SONNET35)
    elapsed = time.monotonic() - started
    assert elapsed < 0.2
    assert stale.eol_at == day(2026, 3, 1)  # last good, not a wait for the slow refresh
    wait_for(lambda: catalog.lookup(SONNET35).eol_at == day(2026, 9, 1))
    assert fake.count(LIST) == 2


def test_cold_lookup_waits_at_most_max_wait(
    fake: FakeBedrock, make_catalog: CatalogFactory
) -> None:
    row = _bundled_row()
    fake.inject(LIST, FaultKind.LATENCY, delay=0.6, times=1)
    catalog = make_catalog(max_wait=0.1, region_name=row.regions[0])
    started = time.monotonic()
    entry = catalog.lookup(row.model_id)
    assert time.monotonic() - started < 0.4
    assert entry.source is Source.BUNDLED
    wait_for(lambda: fake.count(LIST) == 1)


def test_single_flight_many_threads_one_call_per_region(
    fake: FakeBedrock, make_catalog: CatalogFactory
) -> None:
    fake.inject(LIST, FaultKind.LATENCY, delay=0.2)
    catalog = make_catalog(max_wait=2.0)
    regions = ["us-east-1", "eu-central-2"]
    threads = 64
    barrier = threading.Barrier(threads)
    answers: list[ModelLifecycle] = []
    errors: list[BaseException] = []
    lock = threading.Lock()

    def worker(index: int) -> None:
        region = regions[index % 2]
        try:
            barrier.wait()
            entry = catalog.lookup(SONNET35, region)
        except BaseException as exc:  # pragma: no cover - reported below
            with lock:
                errors.append(exc)
            return
        with lock:
            answers.append(entry)

    pool = [threading.Thread(target=worker, args=(i,)) for i in range(threads)]
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join(10)
    assert errors == []
    assert len(answers) == threads
    assert all(entry.source is Source.API for entry in answers)
    assert {entry.eol_at for entry in answers if entry.region == "eu-central-2"} == {
        day(2026, 6, 1)
    }
    assert fake.count(LIST, region="us-east-1") == 1
    assert fake.count(LIST, region="eu-central-2") == 1
    assert fake.count(LIST) == 2


# -- the persisted cache -------------------------------------------------------------------


def test_second_catalog_on_a_fresh_cache_makes_no_calls(
    fake: FakeBedrock, make_catalog: CatalogFactory, cache_path: Path
) -> None:
    first = make_catalog()
    for region in ("us-east-1", "eu-central-2"):
        first.lookup(SONNET35, region)
    assert fake.count(LIST) == 2
    if sys.platform != "win32":
        assert stat.S_IMODE(cache_path.stat().st_mode) == 0o600
        assert stat.S_IMODE(cache_path.parent.stat().st_mode) == 0o700
    fake.clear_requests()
    fake.advance(timedelta(hours=5))
    second = make_catalog()
    for region, eol in (("us-east-1", day(2026, 3, 1)), ("eu-central-2", day(2026, 6, 1))):
        entry = second.lookup(SONNET35, region)
        assert entry.source is Source.CACHE
        assert entry.eol_at == eol
    second.lookup(NOVA)
    assert fake.count() == 0
    # Past the TTL (counted from the first fetch) the second catalog refreshes.
    fake.advance(timedelta(hours=2))
    second.lookup(NOVA)
    wait_for(lambda: fake.count(LIST, region="us-east-1") == 1)


def test_cache_file_holds_no_secrets_or_bodies(
    fake: FakeBedrock, make_catalog: CatalogFactory, cache_path: Path
) -> None:
    catalog = make_catalog()
    catalog.lookup(f"arn:aws:bedrock:us-east-1:{ACCOUNT}:application-inference-profile/app-sonnet")
    text = cache_path.read_text("utf-8")
    assert "AKIA" not in text
    assert "secret" not in text.lower()
    assert "modelSummaries" not in text


def test_corrupt_cache_file_warns_once_and_is_replaced(
    fake: FakeBedrock, make_catalog: CatalogFactory, cache_path: Path
) -> None:
    from bedrock_lifecycle import LifecycleDataWarning

    cache_path.parent.mkdir(parents=True)
    cache_path.write_text('{"format": 1, "kind": "bedrock-lifecycle-cache", "regions": [', "utf-8")
    catalog = make_catalog()
    with pytest.warns(LifecycleDataWarning) as record:
        entry = catalog.lookup(SONNET35)
    assert len(record) == 1
    catalog.lookup(NOVA)  # no second warning (warnings are errors here)
    assert entry.source is Source.API
    loaded = json.loads(cache_path.read_text("utf-8"))
    assert "us-east-1" in loaded["regions"]


def test_cache_from_another_endpoint_is_not_used(
    fake: FakeBedrock, make_catalog: CatalogFactory, cache_path: Path
) -> None:
    server_client = fake.client("bedrock", "us-east-1", mode="server")
    first = make_catalog(session=None, control_client=server_client)
    assert first.lookup(NOVA).source is Source.API
    assert fake.count(LIST) == 1
    # A catalog talking to the real endpoint must not trust data fetched from the fake server.
    other = make_catalog(offline=True)
    assert other.lookup(NOVA).source is not Source.CACHE


# -- offline -------------------------------------------------------------------------------


def _offline_checks(fake: FakeBedrock, catalog: Catalog, cache_path: Path) -> None:
    row = _bundled_row()
    assert catalog.offline
    entry = catalog.lookup(row.model_id, row.regions[0])
    assert entry.source is Source.BUNDLED
    assert catalog.lookup(SONNET35, "eu-central-2").source is not Source.API
    arn = f"arn:aws:bedrock:us-east-1:{ACCOUNT}:application-inference-profile/app-sonnet"
    assert catalog.lookup(arn).state(fake.now) is State.UNKNOWN
    results = catalog.refresh("us-east-1")
    assert results[0].ok is False
    assert results[0].error == "offline"
    catalog.mark_unavailable(NOVA, "us-east-1", "eol")
    catalog.close()
    assert fake.count() == 0
    assert not cache_path.exists()


def test_offline_parameter_makes_no_calls(
    fake: FakeBedrock, make_catalog: CatalogFactory, cache_path: Path
) -> None:
    _offline_checks(fake, make_catalog(offline=True), cache_path)


@pytest.mark.parametrize("value", ["1", "true", "yes"])
def test_offline_environment_makes_no_calls(
    fake: FakeBedrock,
    make_catalog: CatalogFactory,
    cache_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    value: str,
) -> None:
    monkeypatch.setenv("BEDROCK_LIFECYCLE_OFFLINE", value)
    _offline_checks(fake, make_catalog(), cache_path)


# -- observed lifecycle errors -------------------------------------------------------------


def test_mark_unavailable_persists_and_a_new_catalog_sees_it(
    fake: FakeBedrock, make_catalog: CatalogFactory
) -> None:
    catalog = make_catalog()
    assert catalog.lookup(NOVA).state(fake.now) is State.ACTIVE
    catalog.mark_unavailable(f"us.{NOVA}", "us-east-1", "eol")
    catalog.mark_unavailable(LLAMA, "us-east-1", "idle")
    seen = catalog.lookup(NOVA)
    assert seen.state(fake.now) is State.EOL
    assert seen.source is Source.OBSERVED
    assert catalog.withdrawn(NOVA, "us-east-1") == "eol"
    # Only that region.
    assert catalog.lookup(NOVA, "us-west-2").state(fake.now) is State.ACTIVE
    fake.clear_requests()
    fresh = make_catalog()
    assert fresh.lookup(NOVA).state(fake.now) is State.EOL
    assert fresh.withdrawn(NOVA, "us-east-1") == "eol"
    assert fresh.withdrawn(LLAMA, "us-east-1") == "idle"
    assert fresh.lookup(LLAMA).state(fake.now) is State.LEGACY  # idle is not EOL
    assert fake.count() == 0
    fresh.forget(NOVA)
    assert fresh.lookup(NOVA).state(fake.now) is State.ACTIVE
    assert make_catalog().withdrawn(NOVA, "us-east-1") is None
    with pytest.raises(ValueError, match="kind"):
        catalog.mark_unavailable(NOVA, "us-east-1", "gone")


def test_entries_lists_every_known_model_in_a_region(
    fake: FakeBedrock, make_catalog: CatalogFactory
) -> None:
    catalog = make_catalog(overrides={ALPHA: {"eol_at": "2027-01-01"}})
    catalog.lookup(NOVA)
    ids = [entry.model_id for entry in catalog.entries()]
    assert ids == sorted(ids)
    assert {SONNET35, SONNET4, NOVA, LLAMA, ALPHA} <= set(ids)
    assert all(entry.region == "us-east-1" for entry in catalog.entries())


def test_default_lifecycle_dates_object_available() -> None:
    # The fake's per-region dates helper is what the scenario above relies on.
    dates = LifecycleDates(eol_at=date(2026, 1, 1))
    assert dates.eol_at == day(2026, 1, 1)
