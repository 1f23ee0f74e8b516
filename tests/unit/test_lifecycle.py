"""ModelLifecycle: states to the second, transitions, date normalisation."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone

import pytest
from botocore.utils import parse_timestamp
from dateutil import tz

from bedrock_lifecycle import ModelLifecycle, Source, State

UTC = timezone.utc
SECOND = timedelta(seconds=1)
LEGACY_AT = datetime(2025, 8, 25, tzinfo=UTC)
EXTENDED_AT = datetime(2025, 12, 1, tzinfo=UTC)
EOL_AT = datetime(2026, 3, 1, tzinfo=UTC)
MODEL = "anthropic.claude-3-5-sonnet-20240620-v1:0"


def dated(**changes: object) -> ModelLifecycle:
    values: dict[str, object] = {
        "model_id": MODEL,
        "region": "us-east-1",
        "legacy_at": LEGACY_AT,
        "extended_access_at": EXTENDED_AT,
        "eol_at": EOL_AT,
        "source": Source.API,
    }
    values.update(changes)
    return ModelLifecycle(**values)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("at", "expected"),
    [
        (LEGACY_AT - SECOND, State.ACTIVE),
        (LEGACY_AT, State.LEGACY),
        (LEGACY_AT + SECOND, State.LEGACY),
        (EXTENDED_AT - SECOND, State.LEGACY),
        (EXTENDED_AT, State.EXTENDED_ACCESS),
        (EXTENDED_AT + SECOND, State.EXTENDED_ACCESS),
        (EOL_AT - SECOND, State.EXTENDED_ACCESS),
        (EOL_AT, State.EOL),
        (EOL_AT + SECOND, State.EOL),
        (EOL_AT + timedelta(days=3650), State.EOL),
    ],
)
def test_state_boundaries_to_the_second(at: datetime, expected: State) -> None:
    assert dated().state(at) is expected


def test_legacy_then_eol_without_extended_access() -> None:
    entry = dated(extended_access_at=None)
    assert entry.state(EOL_AT - SECOND) is State.LEGACY
    assert entry.state(EOL_AT) is State.EOL


def test_eol_date_alone() -> None:
    entry = dated(legacy_at=None, extended_access_at=None)
    assert entry.state(EOL_AT - SECOND) is State.ACTIVE
    assert entry.state(EOL_AT) is State.EOL


def test_status_legacy_without_dates_is_legacy() -> None:
    entry = ModelLifecycle(MODEL, "us-east-1", source=Source.API, status="LEGACY")
    assert entry.state(LEGACY_AT - timedelta(days=999)) is State.LEGACY
    assert entry.next_transition(LEGACY_AT) is None
    assert entry.days_until_eol(LEGACY_AT) is None


def test_status_is_upper_cased() -> None:
    entry = ModelLifecycle(MODEL, source=Source.API, status="legacy")
    assert entry.status == "LEGACY"
    assert entry.state(LEGACY_AT) is State.LEGACY


def test_status_active_with_passed_dates_follows_the_dates() -> None:
    # The API's status lags: the dates decide once they have passed.
    entry = dated(status="ACTIVE")
    assert entry.state(EOL_AT) is State.EOL
    assert entry.state(EXTENDED_AT) is State.EXTENDED_ACCESS
    assert entry.state(LEGACY_AT) is State.LEGACY


def test_observed_eol_status_is_eol_before_the_date() -> None:
    entry = dated(status="EOL", source=Source.OBSERVED)
    assert entry.state(LEGACY_AT - SECOND) is State.EOL


def test_unknown_entry() -> None:
    entry = ModelLifecycle.unknown("no.such-model-v1:0", "us-east-1")
    assert entry.source is Source.NONE
    assert not entry.known
    assert entry.state(EOL_AT) is State.UNKNOWN
    assert entry.next_transition(EOL_AT) is None
    assert entry.days_until_eol(EOL_AT) is None
    assert entry.region == "us-east-1"


def test_unknown_source_with_dates_still_follows_dates() -> None:
    entry = ModelLifecycle(MODEL, eol_at=EOL_AT)
    assert entry.state(EOL_AT - SECOND) is State.UNKNOWN
    assert entry.state(EOL_AT) is State.EOL


def test_known_without_dates_is_active() -> None:
    entry = ModelLifecycle(MODEL, source=Source.BUNDLED)
    assert entry.known
    assert entry.state(EOL_AT) is State.ACTIVE


def test_state_defaults_to_now() -> None:
    past = dated(eol_at=datetime(2000, 1, 1, tzinfo=UTC), legacy_at=None, extended_access_at=None)
    future = dated(legacy_at=datetime(2999, 1, 1, tzinfo=UTC), extended_access_at=None, eol_at=None)
    assert past.state() is State.EOL
    assert future.state() is State.ACTIVE


def test_naive_datetimes_are_taken_as_utc() -> None:
    entry = dated(eol_at=datetime(2026, 3, 1))
    assert entry.eol_at == EOL_AT
    assert entry.eol_at is not None
    assert entry.eol_at.tzinfo is UTC
    assert entry.state(datetime(2026, 2, 28, 23, 59, 59)) is State.EXTENDED_ACCESS
    assert entry.state(datetime(2026, 3, 1)) is State.EOL


def test_non_utc_datetimes_are_converted() -> None:
    tokyo = timezone(timedelta(hours=9))
    entry = dated(eol_at=datetime(2026, 3, 1, 9, 0, tzinfo=tokyo))
    assert entry.eol_at == EOL_AT
    assert entry.eol_at is not None
    assert entry.eol_at.utcoffset() == timedelta(0)
    new_york = tz.gettz("America/New_York")
    assert entry.state(datetime(2026, 2, 28, 18, 59, 59, tzinfo=new_york)) is (
        State.EXTENDED_ACCESS
    )
    assert entry.state(datetime(2026, 2, 28, 19, 0, 0, tzinfo=new_york)) is State.EOL


def test_as_of_is_normalised_and_ignored_by_equality() -> None:
    a = dated(as_of=datetime(2026, 1, 1))
    b = dated(as_of=datetime(2026, 1, 2, tzinfo=UTC))
    assert a.as_of == datetime(2026, 1, 1, tzinfo=UTC)
    assert a == b


@pytest.fixture
def local_tz_tokyo(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    if not hasattr(time, "tzset"):  # pragma: no cover - Windows has no tzset
        pytest.skip("time.tzset is Unix-only")
    monkeypatch.setenv("TZ", "Asia/Tokyo")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


@pytest.mark.usefixtures("local_tz_tokyo")
def test_botocore_tzlocal_timestamps() -> None:
    # botocore parses rest-json epoch timestamps into local-time datetimes (tzlocal).
    parsed = parse_timestamp(EOL_AT.timestamp())
    assert isinstance(parsed.tzinfo, tz.tzlocal)
    assert parsed.hour == 9  # Tokyo wall clock
    entry = dated(eol_at=parsed)
    assert entry.eol_at == EOL_AT
    assert entry.eol_at is not None
    assert entry.eol_at.hour == 0
    assert entry.eol_at.utcoffset() == timedelta(0)
    assert entry.state(parse_timestamp((EOL_AT - SECOND).timestamp())) is State.EXTENDED_ACCESS
    assert entry.state(parse_timestamp(EOL_AT.timestamp())) is State.EOL
    iso = parse_timestamp("2026-03-01T00:00:00Z")
    assert dated(eol_at=iso).eol_at == EOL_AT


@pytest.mark.parametrize(
    ("at", "expected"),
    [
        (LEGACY_AT - timedelta(days=30), (State.LEGACY, LEGACY_AT)),
        (LEGACY_AT - SECOND, (State.LEGACY, LEGACY_AT)),
        (LEGACY_AT, (State.EXTENDED_ACCESS, EXTENDED_AT)),
        (EXTENDED_AT - SECOND, (State.EXTENDED_ACCESS, EXTENDED_AT)),
        (EXTENDED_AT, (State.EOL, EOL_AT)),
        (EOL_AT - SECOND, (State.EOL, EOL_AT)),
        (EOL_AT, None),
        (EOL_AT + timedelta(days=1), None),
    ],
)
def test_next_transition(at: datetime, expected: tuple[State, datetime] | None) -> None:
    assert dated().next_transition(at) == expected


def test_next_transition_skips_missing_dates() -> None:
    entry = dated(extended_access_at=None)
    assert entry.next_transition(LEGACY_AT) == (State.EOL, EOL_AT)
    assert dated(legacy_at=None).next_transition(LEGACY_AT - SECOND) == (
        State.EXTENDED_ACCESS,
        EXTENDED_AT,
    )


def test_next_transition_accepts_naive_time() -> None:
    assert dated().next_transition(datetime(2025, 12, 1)) == (State.EOL, EOL_AT)


@pytest.mark.parametrize(
    ("at", "days"),
    [
        (EOL_AT - timedelta(days=10), 10),
        (EOL_AT - timedelta(days=1), 1),
        (EOL_AT - timedelta(days=1) + SECOND, 0),
        (EOL_AT - SECOND, 0),
        (EOL_AT, 0),
        (EOL_AT + SECOND, -1),
        (EOL_AT + timedelta(days=1), -1),
        (EOL_AT + timedelta(days=1, seconds=1), -2),
    ],
)
def test_days_until_eol(at: datetime, days: int) -> None:
    assert dated().days_until_eol(at) == days


def test_days_until_eol_without_eol_date() -> None:
    assert dated(eol_at=None).days_until_eol(EOL_AT) is None


def test_rejects_bad_values() -> None:
    with pytest.raises(TypeError, match="eol_at"):
        ModelLifecycle(MODEL, eol_at="2026-03-01")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="recommended"):
        ModelLifecycle(MODEL, recommended="anthropic.claude-sonnet-4-20250514-v1:0")
    with pytest.raises(ValueError):
        ModelLifecycle(MODEL, source="somewhere")  # type: ignore[arg-type]


def test_recommended_and_source_are_coerced() -> None:
    entry = ModelLifecycle(MODEL, recommended=["a.b-v1:0", "c.d-v1:0"], source="api")  # type: ignore[arg-type]
    assert entry.recommended == ("a.b-v1:0", "c.d-v1:0")
    assert entry.source is Source.API


def test_state_rank_and_label() -> None:
    ordered = [State.ACTIVE, State.LEGACY, State.EXTENDED_ACCESS, State.EOL]
    assert [s.rank for s in ordered] == sorted(s.rank for s in ordered)
    assert State.UNKNOWN.rank < State.ACTIVE.rank
    assert str(State.EXTENDED_ACCESS) == "EXTENDED_ACCESS"
    assert State.EXTENDED_ACCESS.label == "extended access"
    assert str(Source.OVERRIDE) == "override"


def test_legacy_status_describes_the_present_only() -> None:
    # The control plane says LEGACY today; before the known legacy date the model was Active.
    entry = dated(status="LEGACY")
    assert entry.state(LEGACY_AT - SECOND) is State.ACTIVE
    assert entry.state(LEGACY_AT) is State.LEGACY
