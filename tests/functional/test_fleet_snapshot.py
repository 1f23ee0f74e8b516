"""A fleet on one shared snapshot: published once, read by every process instead of asking AWS.

S3 is moto's threaded server (it serves S3 faithfully: ETags, ``If-None-Match`` and 304); the
control plane is the project's fake, whose request log counts every ``ListFoundationModels``.
Real botocore clients throughout. Many catalogs in one process stand in for many processes: each
has its own memory, its own snapshot reads and its own clock (the fake's, moved by the tests).
"""

from __future__ import annotations

import importlib.util
import json
import logging
import subprocess
import threading
import time
import warnings
from collections.abc import Callable, Iterator
from dataclasses import astuple
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

import bedrock_lifecycle as bl
from bedrock_lifecycle._fleet_snapshot import SNAPSHOT_KIND, decode_snapshot
from bedrock_lifecycle.testing import FakeBedrock, FakeModel, FaultKind, LifecycleDates, Scenario

from ._cli_env import cli_env
from ._moto_s3 import BUCKET, moto_server, new_session
from .test_cli import COMMAND

UTC = timezone.utc
LIST = "ListFoundationModels"
CONTROL = ("ListFoundationModels", "GetFoundationModel")
REGIONS = ("us-east-1", "eu-west-1")
# Ids of our own, so the bundled data (which grows as AWS publishes) cannot interfere.
ALPHA = "amazon.example-alpha-v1:0"  # Legacy, EOL 2026-06-01 (eu-west-1: 2026-09-01)
BETA = "amazon.example-beta-v1:0"  # Active, ALPHA's successor
NOW = datetime(2026, 1, 15, tzinfo=UTC)
HOUR = timedelta(hours=1)
ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "fleet_snapshot"
MESSAGES = [{"role": "user", "content": [{"text": "Hello"}]}]


def scenario(alpha_eol: date | datetime = date(2026, 6, 1)) -> Scenario:
    return Scenario(
        models=(
            FakeModel(
                ALPHA,
                regions=REGIONS,
                legacy_at=date(2025, 12, 1),
                eol_at=alpha_eol,
                per_region={
                    "eu-west-1": LifecycleDates(legacy_at=date(2026, 3, 1), eol_at=date(2026, 9, 1))
                },
            ),
            FakeModel(BETA, regions=REGIONS),
        ),
        now=NOW,
    )


# -- the world: moto's S3, the fake control plane, catalogs on the fake's clock ------------------


@pytest.fixture
def location(request: pytest.FixtureRequest) -> str:
    """An object of this test's own."""
    return f"s3://{BUCKET}/snapshots/{request.node.name}.json"


@pytest.fixture
def fake() -> Iterator[FakeBedrock]:
    with FakeBedrock(scenario()) as bedrock:
        yield bedrock


def control(fake: FakeBedrock) -> Callable[[str], Any]:
    """A catalog's ``client_factory``: real ``bedrock`` clients answered by the fake."""
    return lambda region: fake.client("bedrock", region)


def control_calls(fake: FakeBedrock) -> int:
    return sum(fake.count(operation) for operation in CONTROL)


def key_of(location: str) -> str:
    return location.split("/", 3)[3]


CatalogFactory = Callable[..., bl.Catalog]


@pytest.fixture
def make_catalog(fake: FakeBedrock, location: str, s3: Any) -> Iterator[CatalogFactory]:
    made: list[bl.Catalog] = []

    def make(**options: Any) -> bl.Catalog:
        options.setdefault("source", location)
        options.setdefault("session", new_session())
        options.setdefault("client_factory", control(fake))
        options.setdefault("clock", fake.clock)
        options.setdefault("region_name", REGIONS[0])
        options.setdefault("persist", False)
        options.setdefault("max_wait", 10.0)
        catalog = bl.Catalog(**options)
        made.append(catalog)
        return catalog

    yield make
    for catalog in made:
        catalog.close(timeout=5)


def publish(fake: FakeBedrock, location: str, **options: Any) -> bl.SnapshotReport:
    """Publish REGIONS from the fake, then forget the requests it took."""
    options.setdefault("regions", REGIONS)
    options.setdefault("session", new_session())
    report = bl.publish_snapshot(
        location, client_factory=control(fake), clock=fake.clock, **options
    )
    fake.clear_requests()
    return report


def counts(catalog: bl.Catalog) -> tuple[int, int, int]:
    """The catalog's snapshot reads: (reads, answered "not modified", failed)."""
    stats = catalog.source_stats()
    assert stats is not None
    return astuple(stats)


def settle(timeout: float = 10.0) -> None:
    """Wait for the catalogs' background refreshes."""
    deadline = time.monotonic() + timeout
    for thread in threading.enumerate():
        if thread.name.startswith("bedrock-lifecycle-"):
            thread.join(max(0.0, deadline - time.monotonic()))
            assert not thread.is_alive(), f"{thread.name} did not finish"


def lifecycle_warnings(action: Callable[[], object]) -> list[str]:
    """Run ``action`` (and let background refreshes finish); the LifecycleDataWarnings said."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        action()
        settle()
    return [str(w.message) for w in caught if w.category is bl.LifecycleDataWarning]


# -- publishing ---------------------------------------------------------------------------------


def test_a_published_snapshot_holds_every_region_as_of_and_only_lifecycle_data(
    fake: FakeBedrock, s3: Any, location: str
) -> None:
    report = publish(fake, location)
    assert report.written
    assert report.covered == REGIONS
    assert report.failed == {}
    assert report.previous_as_of is None
    body = s3.get_object(Bucket=BUCKET, Key=key_of(location))["Body"].read()
    assert len(body) == report.size
    document = json.loads(body)
    assert document["kind"] == SNAPSHOT_KIND
    assert document["format"] == 1
    assert document["as_of"] == NOW.isoformat()
    assert document["regions_covered"] == sorted(REGIONS)
    assert set(document) == {
        "kind", "format", "as_of", "written_by", "regions_covered", "regions_failed", "regions"
    }  # fmt: skip
    us = document["regions"]["us-east-1"]
    assert us["endpoint"] is None
    assert us["fetched_at"] == NOW.isoformat()
    assert set(us["models"]) == {ALPHA, BETA}
    fields = {"legacy_at", "extended_access_at", "eol_at", "status", "recommended"}
    assert set(us["models"][ALPHA]) == fields | {"name", "provider"}
    assert us["models"][ALPHA]["eol_at"] == "2026-06-01T00:00:00+00:00"
    assert document["regions"]["eu-west-1"]["models"][ALPHA]["eol_at"].startswith("2026-09-01")
    snapshot = decode_snapshot(body)  # what every reader checks
    assert snapshot.regions["us-east-1"].models[ALPHA].source is bl.Source.SHARED


def test_a_region_that_fails_is_reported_and_left_out(
    fake: FakeBedrock, s3: Any, location: str
) -> None:
    with FakeBedrock(scenario()) as denied:
        denied.inject(LIST, FaultKind.ACCESS_DENIED)
        factory = control(fake)
        report = bl.publish_snapshot(
            location,
            regions=[*REGIONS, "eu-west-3"],
            client_factory=lambda r: (
                denied.client("bedrock", r) if r == "eu-west-3" else factory(r)
            ),
            clock=fake.clock,
            session=new_session(),
        )
    assert report.written
    assert report.covered == REGIONS
    assert report.failed == {"eu-west-3": "AccessDeniedException"}
    document = json.loads(s3.get_object(Bucket=BUCKET, Key=key_of(location))["Body"].read())
    assert sorted(document["regions"]) == sorted(REGIONS)
    assert document["regions_failed"] == {"eu-west-3": "AccessDeniedException"}


def test_a_region_that_fails_keeps_the_previous_snapshots_copy(
    fake: FakeBedrock, s3: Any, location: str
) -> None:
    first = publish(fake, location)
    assert first.carried == ()
    before = json.loads(s3.get_object(Bucket=BUCKET, Key=key_of(location))["Body"].read())
    fake.advance(HOUR)
    with FakeBedrock(scenario()) as throttled:
        throttled.inject(LIST, FaultKind.ACCESS_DENIED)
        factory = control(fake)
        report = bl.publish_snapshot(
            location,
            regions=REGIONS,
            client_factory=lambda r: (
                throttled.client("bedrock", r) if r == "eu-west-1" else factory(r)
            ),
            clock=fake.clock,
            session=new_session(),
        )
    assert report.written
    assert report.failed == {"eu-west-1": "AccessDeniedException"}
    assert report.carried == ("eu-west-1",)
    assert report.covered == REGIONS
    after = json.loads(s3.get_object(Bucket=BUCKET, Key=key_of(location))["Body"].read())
    # The carried copy is the old one, fetch time and all, so a reader still judges its age;
    # the region that answered is new.
    assert after["regions"]["eu-west-1"] == before["regions"]["eu-west-1"]
    assert (
        after["regions"]["us-east-1"]["fetched_at"] > before["regions"]["us-east-1"]["fetched_at"]
    )
    assert after["regions_failed"] == {"eu-west-1": "AccessDeniedException"}
    assert sorted(after["regions_covered"]) == sorted(REGIONS)


def test_nothing_is_written_when_every_region_fails(
    fake: FakeBedrock, s3: Any, location: str
) -> None:
    publish(fake, location)
    before = s3.get_object(Bucket=BUCKET, Key=key_of(location))["Body"].read()
    fake.inject(LIST, FaultKind.ACCESS_DENIED)
    fake.advance(HOUR)
    report = publish(fake, location)
    assert not report.written
    assert report.failed == dict.fromkeys(REGIONS, "AccessDeniedException")
    assert s3.get_object(Bucket=BUCKET, Key=key_of(location))["Body"].read() == before


def test_a_republish_reports_changes_and_keeps_models_gone_after_end_of_life(
    fake: FakeBedrock, s3: Any, location: str
) -> None:
    publish(fake, location)
    fake.set_time(datetime(2026, 6, 2, tzinfo=UTC))  # ALPHA is past EOL in us-east-1: not listed
    report = publish(fake, location)
    assert report.previous_as_of == NOW
    us, eu = report.regions
    assert [(c.model_id, c.change) for c in us.changes] == [(ALPHA, "state")]  # EOL
    assert [(c.model_id, c.change) for c in eu.changes] == [(ALPHA, "state")]  # Legacy
    snapshot = decode_snapshot(s3.get_object(Bucket=BUCKET, Key=key_of(location))["Body"].read())
    kept = snapshot.regions["us-east-1"].models[ALPHA]
    assert kept.eol_at == datetime(2026, 6, 1, tzinfo=UTC)


# -- reading: many processes, no control-plane calls ----------------------------------------------


def test_twenty_catalogs_on_one_snapshot_make_no_control_plane_call(
    fake: FakeBedrock, location: str, make_catalog: CatalogFactory
) -> None:
    publish(fake, location)
    catalogs = [make_catalog() for _ in range(20)]
    for catalog in catalogs:
        us = catalog.lookup(f"us.{ALPHA}")
        eu = catalog.lookup(ALPHA, "eu-west-1")
        assert (us.source, us.state(NOW), us.eol_at) == (
            bl.Source.SHARED,
            bl.State.LEGACY,
            datetime(2026, 6, 1, tzinfo=UTC),
        )
        assert (eu.source, eu.state(NOW)) == (bl.Source.SHARED, bl.State.ACTIVE)
        assert eu.as_of == NOW
        assert catalog.resolve(BETA).entry.source is bl.Source.SHARED
    assert {e.model_id for e in catalogs[0].entries("eu-west-1")} >= {ALPHA, BETA}
    settle()
    assert control_calls(fake) == 0
    # One read per process, however many regions it looked up.
    assert {counts(catalog) for catalog in catalogs} == {(1, 0, 0)}


def test_constructing_a_catalog_with_a_source_makes_no_request(
    fake: FakeBedrock, location: str, make_catalog: CatalogFactory
) -> None:
    publish(fake, location)
    session = new_session()
    sent: list[str] = []
    session.events.register("before-send.s3", lambda request, **_: sent.append(request.method))
    catalog = make_catalog(session=session)
    catalog.entries("us-east-1")  # never touches the network
    assert sent == []
    assert counts(catalog) == (0, 0, 0)
    assert catalog.lookup(ALPHA).source is bl.Source.SHARED
    assert sent == ["GET"]  # the session given is the one the S3 client came from


def test_an_unchanged_snapshot_is_revalidated_with_a_304_once_per_ttl(
    fake: FakeBedrock, location: str, make_catalog: CatalogFactory
) -> None:
    publish(fake, location)
    catalog = make_catalog(ttl=HOUR)
    catalog.lookup(ALPHA)
    generation = catalog.generation
    assert catalog.fresh_until("us-east-1") == NOW + HOUR
    fake.advance(HOUR - timedelta(seconds=1))
    catalog.lookup(ALPHA)
    settle()
    assert counts(catalog) == (1, 0, 0)  # still fresh: no read at all
    fake.advance(timedelta(seconds=2))
    assert catalog.lookup(ALPHA).source is bl.Source.SHARED  # answered from the copy held
    settle()
    assert counts(catalog) == (2, 1, 0)  # reads, not modified (HTTP 304), failures
    assert catalog.generation == generation  # nothing changed: reused decisions stand
    assert catalog.fresh_until("us-east-1") == NOW + 2 * HOUR + timedelta(seconds=1)
    assert control_calls(fake) == 0


def test_a_new_snapshot_bumps_the_generation_and_reused_decisions_end_with_the_ttl(
    fake: FakeBedrock, location: str, make_catalog: CatalogFactory
) -> None:
    publish(fake, location)
    catalog = make_catalog(ttl=HOUR)
    runtime = bl.wrap(
        fake.client("bedrock-runtime", "us-east-1"),
        catalog=catalog,
        policy=bl.Policy(successors={ALPHA: BETA}, on_legacy="ignore"),
    )

    def invoked() -> str:
        response = runtime.converse(modelId=ALPHA, messages=MESSAGES)
        return str(response["ResponseMetadata"]["BedrockLifecycle"]["invokedModelId"])

    assert invoked() == ALPHA
    generation = catalog.generation
    # AWS moves ALPHA's end of life to half an hour from now; the next publication says so
    # (while Bedrock, here, keeps serving it: only the snapshot can tell the client).
    fake.advance(timedelta(minutes=1))
    with FakeBedrock(scenario(alpha_eol=NOW + timedelta(minutes=30)), now=NOW) as announced:
        bl.publish_snapshot(
            location,
            regions=REGIONS,
            client_factory=control(announced),
            clock=fake.clock,
            session=new_session(),
        )
    assert invoked() == ALPHA  # the reused decision holds until the region's data is due
    fake.advance(HOUR)
    # The decision ended with the TTL: this call's lookup starts the re-read, in the background.
    with warnings.catch_warnings(record=True) as said:
        warnings.simplefilter("always")
        invoked()
        settle()
        went = invoked()
    assert went == BETA
    assert bl.FallbackWarning in [w.category for w in said]
    assert catalog.generation > generation
    entry = catalog.lookup(ALPHA)
    assert (entry.source, entry.eol_at) == (bl.Source.SHARED, NOW + timedelta(minutes=30))
    assert control_calls(fake) == 0


# -- fallback: outages and stale data -------------------------------------------------------------


def test_an_outage_answers_from_the_last_good_copy_then_from_the_control_plane(
    fake: FakeBedrock,
    make_catalog: CatalogFactory,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    location = f"s3://{BUCKET}/outage.json"
    with moto_server() as url:  # a server of its own, stopped mid-test (an outage)
        monkeypatch.setenv("AWS_ENDPOINT_URL_S3", url)
        new_session().client("s3").create_bucket(Bucket=BUCKET)
        publish(fake, location)
        catalog = make_catalog(source=location, ttl=HOUR, source_max_age=3 * HOUR)
        assert catalog.lookup(ALPHA).source is bl.Source.SHARED
    caplog.set_level(logging.DEBUG, logger="bedrock_lifecycle")
    fake.advance(HOUR + timedelta(seconds=1))
    catalog.lookup(ALPHA)
    settle()
    # The snapshot is unreachable, but the copy held is 1 hour old, under the 3-hour bound.
    assert catalog.lookup(ALPHA).source is bl.Source.SHARED
    assert control_calls(fake) == 0
    [failed] = [r for r in caplog.records if "snapshot_failed:" in r.getMessage()]
    assert failed.levelno == logging.WARNING
    assert location in failed.getMessage()
    assert "its last good copy" in failed.getMessage()
    fake.advance(2 * HOUR)  # the copy held is now over 3 hours old
    catalog.lookup(ALPHA)
    settle()
    entry = catalog.lookup(ALPHA)
    assert (entry.source, entry.as_of) == (bl.Source.API, fake.now)
    assert fake.count(LIST, region="us-east-1") == 1
    assert counts(catalog)[2] == 2  # failed reads
    again = [r for r in caplog.records if "snapshot_failed" in r.getMessage()]
    assert [r.levelno for r in again] == [logging.WARNING, logging.DEBUG]  # once per streak


def test_a_process_without_a_good_copy_calls_the_control_plane(
    fake: FakeBedrock, make_catalog: CatalogFactory, caplog: pytest.LogCaptureFixture
) -> None:
    catalog = make_catalog(source=f"s3://{BUCKET}/never-published.json")
    entry = catalog.lookup(ALPHA)
    assert entry.source is bl.Source.API
    assert fake.count(LIST) == 1
    [failed] = [r for r in caplog.records if "snapshot_failed:" in r.getMessage()]
    assert "NoSuchKey" in failed.getMessage()
    assert "the control plane" in failed.getMessage()


def test_data_older_than_the_bound_sends_a_process_to_the_control_plane(
    fake: FakeBedrock, location: str, make_catalog: CatalogFactory
) -> None:
    publish(fake, location)  # and then the publisher stops running
    fake.advance(timedelta(days=1, seconds=1))  # the default bound: 1 day
    catalog = make_catalog()
    assert catalog.source_max_age == timedelta(days=1)
    assert catalog.lookup(ALPHA).source is bl.Source.API
    assert fake.count(LIST) == 1
    assert counts(catalog) == (1, 0, 0)


# -- validation ---------------------------------------------------------------------------------


def _cache_file_body() -> bytes:
    return json.dumps({"kind": "bedrock-lifecycle-cache", "format": 1, "regions": {}}).encode()


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b'{"kind": "bedrock-lifecycle-snapshot", "format": 1, "regions": {', "not JSON"),
        (_cache_file_body(), "not a bedrock-lifecycle snapshot (kind 'bedrock-lifecycle-cache')"),
        (b" " * (8 * 1024 * 1024 + 1), "over the limit of 8388608"),
    ],
    ids=["bad-json", "foreign-kind", "over-size-limit"],
)
def test_a_corrupt_object_is_ignored_with_one_warning(
    fake: FakeBedrock,
    s3: Any,
    location: str,
    make_catalog: CatalogFactory,
    body: bytes,
    reason: str,
) -> None:
    s3.put_object(Bucket=BUCKET, Key=key_of(location), Body=body)
    catalog = make_catalog(ttl=HOUR)
    [message] = lifecycle_warnings(lambda: catalog.lookup(ALPHA))
    assert location in message
    assert reason in message
    assert catalog.lookup(ALPHA).source is bl.Source.API  # no good copy: the control plane
    fake.advance(HOUR + timedelta(seconds=1))
    # Unchanged object: revalidated (304), not fetched again, not warned about again.
    assert lifecycle_warnings(lambda: catalog.lookup(ALPHA)) == []
    assert counts(catalog)[:2] == (2, 1)  # reads; the second answered "not modified"


def test_a_corrupt_object_after_a_good_one_keeps_the_good_copy(
    fake: FakeBedrock, s3: Any, location: str, make_catalog: CatalogFactory
) -> None:
    publish(fake, location)
    catalog = make_catalog(ttl=HOUR)
    assert catalog.lookup(ALPHA).source is bl.Source.SHARED
    snapshot = json.loads(s3.get_object(Bucket=BUCKET, Key=key_of(location))["Body"].read())
    snapshot["regions"]["us-east-1"]["models"][ALPHA]["eol_at"] = "soon"
    s3.put_object(Bucket=BUCKET, Key=key_of(location), Body=json.dumps(snapshot).encode())
    fake.advance(HOUR + timedelta(seconds=1))
    said = lifecycle_warnings(lambda: catalog.lookup(ALPHA))
    assert len(said) == 1
    assert "'soon'" in said[0] or "soon" in said[0]
    entry = catalog.lookup(ALPHA)
    assert (entry.source, entry.eol_at) == (bl.Source.SHARED, datetime(2026, 6, 1, tzinfo=UTC))
    assert control_calls(fake) == 0


# -- precedence -----------------------------------------------------------------------------------


def test_an_override_beats_the_snapshot_field_by_field(
    fake: FakeBedrock, location: str, make_catalog: CatalogFactory
) -> None:
    publish(fake, location)
    catalog = make_catalog(overrides={ALPHA: {"eol_at": "2026-02-01"}})
    entry = catalog.lookup(ALPHA)
    assert entry.source is bl.Source.OVERRIDE
    assert entry.eol_at == datetime(2026, 2, 1, tzinfo=UTC)
    assert entry.legacy_at == datetime(2025, 12, 1, tzinfo=UTC)  # from the snapshot


def test_an_observed_end_of_life_beats_the_snapshot(
    fake: FakeBedrock, location: str, make_catalog: CatalogFactory
) -> None:
    publish(fake, location)
    catalog = make_catalog()
    assert catalog.lookup(BETA).state(NOW) is bl.State.ACTIVE
    catalog.mark_unavailable(BETA, "us-east-1", "eol")
    entry = catalog.lookup(BETA)
    assert (entry.source, entry.state(NOW)) == (bl.Source.OBSERVED, bl.State.EOL)


def test_newer_own_data_beats_an_older_snapshot(
    fake: FakeBedrock, location: str, make_catalog: CatalogFactory
) -> None:
    publish(fake, location)
    catalog = make_catalog()
    assert catalog.lookup(ALPHA).source is bl.Source.SHARED
    fake.scenario = scenario(alpha_eol=date(2026, 7, 1))
    fake.advance(HOUR)
    (result,) = catalog.refresh("us-east-1")
    assert [(c.model_id, c.change) for c in result.changes] == [(ALPHA, "dates")]
    entry = catalog.lookup(ALPHA)
    assert (entry.source, entry.eol_at) == (bl.Source.API, datetime(2026, 7, 1, tzinfo=UTC))


def test_a_newer_snapshot_beats_an_older_cache_file_and_an_older_one_loses_to_a_newer(
    fake: FakeBedrock, location: str, make_catalog: CatalogFactory, tmp_path: Path
) -> None:
    cache = tmp_path / "lifecycle.json"
    # An earlier process fetched us-east-1 itself and kept it in its cache file...
    make_catalog(source=False, persist=True, cache_path=cache).refresh("us-east-1")
    # ... and an hour later the fleet's publisher saw a new EOL date.
    fake.scenario = scenario(alpha_eol=date(2026, 7, 1))
    fake.advance(HOUR)
    publish(fake, location)
    catalog = make_catalog(persist=True, cache_path=cache)
    catalog.lookup(ALPHA)  # answered from the cache file at once; the snapshot read follows
    settle()
    entry = catalog.lookup(ALPHA)
    assert (entry.source, entry.eol_at) == (bl.Source.SHARED, datetime(2026, 7, 1, tzinfo=UTC))
    # Now the other way round: own data newer than the snapshot wins.
    fake.scenario = scenario(alpha_eol=date(2026, 8, 1))
    fake.advance(HOUR)
    make_catalog(source=False, persist=True, cache_path=cache).refresh("us-east-1")
    newer_own = make_catalog(persist=True, cache_path=cache)
    newer_own.lookup(ALPHA)
    settle()
    entry = newer_own.lookup(ALPHA)
    assert (entry.source, entry.eol_at) == (bl.Source.CACHE, datetime(2026, 8, 1, tzinfo=UTC))
    assert fake.count(LIST) == 1  # the refresh asked for since the publication, nothing else


# -- configuration --------------------------------------------------------------------------------


def test_the_environment_names_the_source_and_the_argument_wins(
    fake: FakeBedrock, location: str, make_catalog: CatalogFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    publish(fake, location)
    monkeypatch.setenv("BEDROCK_LIFECYCLE_SOURCE", location)
    monkeypatch.setenv("BEDROCK_LIFECYCLE_SOURCE_MAX_AGE", "7200")
    from_env = make_catalog(source=None)
    assert from_env.source == location
    assert from_env.source_max_age == timedelta(hours=2)
    assert from_env.lookup(ALPHA).source is bl.Source.SHARED
    assert make_catalog(source=False).source is None
    assert make_catalog(source="").source is None
    assert make_catalog(source=False).lookup(ALPHA).source is bl.Source.API
    other = f"s3://{BUCKET}/other.json"
    assert make_catalog(source=other, source_max_age=60).source == other
    monkeypatch.setenv("BEDROCK_LIFECYCLE_SOURCE", "")
    assert make_catalog(source=None).source is None


@pytest.mark.parametrize(
    ("given", "message"),
    [
        ("s3://fleet-bucket", "an S3 location is s3://bucket/key"),
        ("s3:///key.json", "an S3 location is s3://bucket/key"),
        ("https://example.com/snapshot.json", "unsupported location scheme 'https'"),
        (True, "must be an s3://bucket/key location, a path, False or None"),
    ],
)
def test_a_bad_location_is_a_configuration_error(
    given: Any, message: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("BEDROCK_LIFECYCLE_SOURCE", raising=False)
    with pytest.raises(bl.ConfigurationError, match=message) as raised:
        bl.Catalog(source=given, persist=False)
    assert raised.value.key == "source"


def test_a_bad_environment_value_names_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BEDROCK_LIFECYCLE_SOURCE", "ftp://host/snapshot.json")
    with pytest.raises(bl.ConfigurationError, match="unsupported location scheme 'ftp'") as raised:
        bl.Catalog(persist=False)
    assert (raised.value.key, raised.value.source) == ("BEDROCK_LIFECYCLE_SOURCE", "environment")
    monkeypatch.setenv("BEDROCK_LIFECYCLE_SOURCE", "s3://b/k.json")
    monkeypatch.setenv("BEDROCK_LIFECYCLE_SOURCE_MAX_AGE", "a day")
    with pytest.raises(bl.ConfigurationError, match="BEDROCK_LIFECYCLE_SOURCE_MAX_AGE"):
        bl.Catalog(persist=False)
    with pytest.raises(bl.ConfigurationError, match="source_max_age"):
        bl.Catalog(persist=False, source_max_age=timedelta(0))


def test_a_file_source_works_like_an_object(fake: FakeBedrock, tmp_path: Path) -> None:
    path = tmp_path / "shared" / "snapshot.json"
    report = publish(fake, path)
    assert report.location == str(path)
    assert path.stat().st_mode & 0o077 == 0  # owner-only, like the cache file
    catalog = bl.Catalog(
        source=f"file://{path}", client_factory=control(fake), clock=fake.clock, persist=False,
        region_name="us-east-1",
    )  # fmt: skip
    try:
        assert catalog.lookup(ALPHA).source is bl.Source.SHARED
    finally:
        catalog.close()
    assert control_calls(fake) == 0


# -- the command line and the Lambda example -------------------------------------------------------


@pytest.fixture
def served() -> Iterator[FakeBedrock]:
    with FakeBedrock(scenario()) as bedrock:
        bedrock.start()
        yield bedrock


@pytest.mark.slow
def test_refresh_all_regions_to_a_path_publishes_every_bedrock_region(
    served: FakeBedrock, tmp_path: Path
) -> None:
    path = tmp_path / "snapshot.json"
    done = subprocess.run(
        [*COMMAND, "refresh", "--all-regions", "--to", str(path), "--endpoint-url",
         served.endpoint_url],
        capture_output=True, text=True, timeout=60, check=False, cwd=tmp_path,
        env=cli_env(tmp_path / "cache", access_key_id="AKIAFAKEFLEETTEST000"),
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    everywhere = new_session().get_available_regions("bedrock")
    assert len(everywhere) > 20
    snapshot = decode_snapshot(path.read_bytes())
    assert sorted(snapshot.regions) == sorted(everywhere)
    assert set(snapshot.regions["eu-west-1"].models) == {ALPHA, BETA}
    assert served.count(LIST) == len(everywhere)
    lines = done.stdout.splitlines()
    assert "us-east-1: 2 models, 2 changes" in lines
    assert "ap-south-1: 0 models, no changes" in lines
    assert done.stderr == (
        f"bedrock-lifecycle: snapshot of {len(everywhere)} regions written to {path}\n"
    )
    assert not (tmp_path / "cache").exists()  # a publisher writes no cache file


@pytest.mark.slow
def test_the_cli_reads_the_snapshot_its_source_option_names(
    served: FakeBedrock, tmp_path: Path
) -> None:
    path = tmp_path / "snapshot.json"
    bl.publish_snapshot(  # on the real clock, as the command line runs
        str(path), regions=("us-east-1",), client_factory=control(served), session=new_session()
    )
    served.clear_requests()
    env = cli_env(tmp_path / "cache", access_key_id="AKIAFAKEFLEETTEST000")

    def status(*extra: str, environment: dict[str, str] = env) -> tuple[str, int]:
        done = subprocess.run(
            [*COMMAND, "status", ALPHA, "-r", "us-east-1", "--json", "--endpoint-url",
             served.endpoint_url, *extra],
            capture_output=True, text=True, timeout=60, check=False, cwd=tmp_path,
            env=environment,
        )  # fmt: skip
        assert done.returncode == 0, done.stderr
        (row,) = json.loads(done.stdout)
        calls = control_calls(served)
        served.clear_requests()
        return row["source"], calls

    assert status("--source", str(path)) == ("shared", 0)
    from_environment = {**env, "BEDROCK_LIFECYCLE_SOURCE": str(path)}
    assert status(environment=from_environment) == ("shared", 0)
    assert status("--source", "", environment=from_environment) == ("api", 1)

    refused = subprocess.run(
        [*COMMAND, "refresh", "--to", str(tmp_path / "other.json"), "--source", str(path)],
        capture_output=True, text=True, timeout=60, check=False, cwd=tmp_path, env=env,
    )  # fmt: skip
    assert refused.returncode == 2
    assert refused.stderr.count("\n") == 1
    assert "--source" in refused.stderr
    assert not (tmp_path / "other.json").exists()


@pytest.mark.slow
def test_refresh_to_s3_prints_json_and_says_what_it_left_out(
    served: FakeBedrock, s3: Any, s3_server: str, location: str, tmp_path: Path
) -> None:
    env = cli_env(tmp_path / "cache", access_key_id="AKIAFAKEFLEETTEST000")
    env.update(AWS_ENDPOINT_URL_S3=s3_server, AWS_DEFAULT_REGION="us-east-1")
    done = subprocess.run(
        [*COMMAND, "refresh", "-r", "us-east-1", "-r", "eu-west-1", "--to", location,
         "--endpoint-url", served.endpoint_url, "--json"],
        capture_output=True, text=True, timeout=60, check=False, cwd=tmp_path, env=env,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert (report["location"], report["written"]) == (location, True)
    assert report["regions_covered"] == list(REGIONS)
    assert report["regions_failed"] == {}
    assert [r["models"] for r in report["regions"]] == [2, 2]
    body = s3.get_object(Bucket=BUCKET, Key=key_of(location))["Body"].read()
    assert len(body) == report["size"]
    served.inject(LIST, FaultKind.ACCESS_DENIED, times=1)  # one region's listing is refused
    partial = subprocess.run(
        [*COMMAND, "refresh", "-r", "us-east-1", "-r", "eu-west-1", "--to", location,
         "--endpoint-url", served.endpoint_url],
        capture_output=True, text=True, timeout=60, check=False, cwd=tmp_path, env=env,
    )  # fmt: skip
    assert partial.returncode == 0, partial.stderr
    assert partial.stderr == (
        "bedrock-lifecycle: snapshot of 2 regions (1 failed: 1 kept from the previous "
        f"snapshot) written to {location}\n"
    )
    body = s3.get_object(Bucket=BUCKET, Key=key_of(location))["Body"].read()
    assert sorted(decode_snapshot(body).regions) == sorted(REGIONS)
    env["BEDROCK_LIFECYCLE_OFFLINE"] = "1"  # every region fails: nothing published, status 1
    failed = subprocess.run(
        [*COMMAND, "refresh", "-r", "us-east-1", "--to", location],
        capture_output=True, text=True, timeout=60, check=False, cwd=tmp_path, env=env,
    )  # fmt: skip
    assert failed.returncode == 1
    assert failed.stdout.splitlines() == ["us-east-1: failed (offline)"]
    assert "nothing written" in failed.stderr
    assert s3.get_object(Bucket=BUCKET, Key=key_of(location))["Body"].read() == body


def test_the_cloudformation_template_deploys_the_handler_with_the_least_iam() -> None:
    template = json.loads((EXAMPLE / "template.json").read_text("utf-8"))
    resources = template["Resources"]
    kinds = {name: resource["Type"] for name, resource in resources.items()}
    assert kinds["PublisherFunction"] == "AWS::Lambda::Function"
    assert kinds["PublishSchedule"] == "AWS::Events::Rule"
    assert kinds["PublisherRole"] == "AWS::IAM::Role"
    assert kinds["PublishPermission"] == "AWS::Lambda::Permission"
    function = resources["PublisherFunction"]["Properties"]
    assert function["Handler"] == "handler.handler"
    assert function["Role"] == {"Fn::GetAtt": ["PublisherRole", "Arn"]}
    assert set(function["Environment"]["Variables"]) == {"SNAPSHOT_LOCATION", "SNAPSHOT_REGIONS"}
    [target] = resources["PublishSchedule"]["Properties"]["Targets"]
    assert target["Arn"] == {"Fn::GetAtt": ["PublisherFunction", "Arn"]}
    assert resources["PublishPermission"]["Properties"]["Principal"] == "events.amazonaws.com"
    [policy] = resources["PublisherRole"]["Properties"]["Policies"]
    actions: set[str] = set()
    for statement in policy["PolicyDocument"]["Statement"]:
        listed = statement["Action"]
        actions.update([listed] if isinstance(listed, str) else listed)
    assert actions == {
        "bedrock:ListFoundationModels",
        "bedrock:GetFoundationModel",
        "s3:PutObject",
        "s3:GetObject",
        "logs:CreateLogStream",
        "logs:PutLogEvents",
    }
    [read] = resources["ReaderPolicy"]["Properties"]["PolicyDocument"]["Statement"]
    assert read["Action"] == "s3:GetObject"
    source = (EXAMPLE / "handler.py").read_text("utf-8")
    for variable in function["Environment"]["Variables"]:
        assert variable in source


def test_the_lambda_handler_publishes_to_s3_from_the_control_plane(
    served: FakeBedrock, s3: Any, location: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    spec = importlib.util.spec_from_file_location("fleet_handler", EXAMPLE / "handler.py")
    assert spec is not None
    assert spec.loader is not None
    handler = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(handler)
    monkeypatch.setenv("AWS_ENDPOINT_URL_BEDROCK", served.endpoint_url)
    monkeypatch.setenv("SNAPSHOT_LOCATION", location)
    monkeypatch.setenv("SNAPSHOT_REGIONS", "us-east-1, eu-west-1")
    summary = handler.handler({"source": "aws.events"}, None)
    assert summary["written"] is True
    assert summary["regions_covered"] == 2
    assert served.count(LIST) == 2
    body = s3.get_object(Bucket=BUCKET, Key=key_of(location))["Body"].read()
    assert sorted(decode_snapshot(body).regions) == sorted(REGIONS)
    monkeypatch.delenv("SNAPSHOT_REGIONS")  # every Bedrock region botocore knows
    served.clear_requests()
    summary = handler.handler({}, None)
    assert summary["regions_covered"] == served.count(LIST) > 20
    served.inject(LIST, FaultKind.ACCESS_DENIED)
    with pytest.raises(RuntimeError, match="no region could be fetched"):
        handler.handler({}, None)
