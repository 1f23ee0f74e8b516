"""SharedPolicy, the reloader behind Policy.from_source: schedule, single flight, formats."""

from __future__ import annotations

import copy
import dataclasses
import re
import threading
from datetime import timedelta
from pathlib import Path

import pytest

import bedrock_lifecycle as bl
from bedrock_lifecycle._policy import shared_policy_of
from bedrock_lifecycle._shared_policy import SharedPolicy

A, B, C = "acme.model-a-v1:0", "acme.model-b-v1:0", "acme.model-c-v1:0"
T0 = 1_800_000_000.0  # the planning catalog's clock, in POSIX seconds


def reloader(policy: bl.Policy) -> SharedPolicy:
    found = shared_policy_of(policy)
    assert found is not None
    return found


def test_the_schedule_starts_at_the_first_plan_and_reads_once_per_ttl(tmp_path: Path) -> None:
    path = tmp_path / "policy.toml"
    path.write_text(f'[successors]\n"{A}" = "{B}"\n', "utf-8")
    shared = reloader(bl.Policy.from_source(path, ttl=60))
    first = shared.current(T0, 3600)
    assert shared.next_check() == pytest.approx(T0 + 60, abs=1)
    path.write_text(f'[successors]\n"{A}" = "{C}"\n', "utf-8")
    assert shared.current(T0 + 30, 3600) is first  # not due: the source is not read
    assert shared.stats().reads == 1
    latest = shared.current(T0 + 60, 3600)
    assert latest.successors == {A: C}
    assert shared.next_check() == T0 + 120
    assert shared_policy_of(latest) is shared  # a reloaded policy is followed in turn
    assert shared.stats().reads == 2


def test_without_a_ttl_the_planning_catalogs_ttl_applies(tmp_path: Path) -> None:
    path = tmp_path / "policy.json"
    path.write_text("{}", "utf-8")
    shared = reloader(bl.Policy.from_source(path))
    assert shared.ttl is None
    shared.current(T0, 900)
    assert shared.next_check() == pytest.approx(T0 + 900, abs=1)


def test_the_ttl_comes_from_the_environment_when_not_given(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "policy.json"
    path.write_text("{}", "utf-8")
    monkeypatch.setenv("BEDROCK_LIFECYCLE_TTL", "45")
    assert reloader(bl.Policy.from_source(path)).ttl == 45
    assert reloader(bl.Policy.from_source(path, ttl=10)).ttl == 10  # explicit wins
    monkeypatch.setenv("BEDROCK_LIFECYCLE_TTL", "soon")
    with pytest.raises(bl.ConfigurationError, match="BEDROCK_LIFECYCLE_TTL"):
        bl.Policy.from_source(path)


@pytest.mark.parametrize(
    ("ttl", "message"),
    [
        (0, "'ttl': must be positive, not 0"),
        (timedelta(seconds=-5), "'ttl': must be positive"),
        ("60", "'ttl': must be a timedelta or seconds, not '60'"),
        (True, "'ttl': must be a timedelta or seconds, not True"),
    ],
)
def test_a_ttl_is_checked_as_the_catalogs_durations_are(
    tmp_path: Path, ttl: object, message: str
) -> None:
    path = tmp_path / "policy.json"
    path.write_text("{}", "utf-8")
    assert reloader(bl.Policy.from_source(path, ttl=timedelta(minutes=2))).ttl == 120
    with pytest.raises(bl.ConfigurationError, match=re.escape(message)):
        bl.Policy.from_source(path, ttl=ttl)  # type: ignore[arg-type]
    # The catalog's durations: zero allowed, negative and non-durations refused.
    assert bl.Catalog(persist=False, bundled=False, max_wait=0).offline is False
    with pytest.raises(bl.ConfigurationError, match="'max_wait': must not be negative"):
        bl.Catalog(persist=False, max_wait=-1)
    with pytest.raises(bl.ConfigurationError, match="'ttl': must be a timedelta or seconds"):
        bl.Catalog(persist=False, ttl="1h")  # type: ignore[arg-type]


def test_one_thread_reads_while_the_others_go_on_with_the_last_policy(tmp_path: Path) -> None:
    path = tmp_path / "policy.toml"
    path.write_text(f'[successors]\n"{A}" = "{B}"\n', "utf-8")
    shared = reloader(bl.Policy.from_source(path, ttl=60))
    before = shared.current(T0, 3600)
    path.write_text(f'[successors]\n"{A}" = "{C}"\n', "utf-8")
    reading, release = threading.Event(), threading.Event()
    source = shared._source
    plain_read = source.read

    def slow_read() -> bytes | None:
        reading.set()
        assert release.wait(5)
        return plain_read()

    source.read = slow_read  # type: ignore[method-assign]
    results: list[bl.Policy] = []
    reader = threading.Thread(target=lambda: results.append(shared.current(T0 + 60, 3600)))
    reader.start()
    assert reading.wait(5)
    assert shared.current(T0 + 61, 3600) is before  # not blocked, not a second read
    release.set()
    reader.join(5)
    assert results[0].successors == {A: C}
    assert shared.stats().reads == 2
    assert shared.current(T0 + 62, 3600) is results[0]


def test_the_same_settings_published_again_keep_the_same_policy(tmp_path: Path) -> None:
    path = tmp_path / "policy.toml"
    path.write_text(f'[successors]\n"{A}" = "{B}"\n', "utf-8")
    shared = reloader(bl.Policy.from_source(path, ttl=60))
    first = shared.current(T0, 3600)
    path.write_text(f'# republished\n[successors]\n"{A}" = "{B}"\n', "utf-8")
    assert shared.current(T0 + 60, 3600) is first  # the governor keeps its decisions
    assert shared.stats().reads == 2


@pytest.mark.parametrize(
    ("name", "body"),
    [
        ("policy", f'{{"successors": {{"{A}": "{B}"}}}}'),
        ("policy.cfg", f'[successors]\n"{A}" = "{B}"\n'),
        ("policy.json", f'  {{"successors": {{"{A}": "{B}"}}}}'),
    ],
)
def test_a_name_without_a_known_suffix_is_sniffed(tmp_path: Path, name: str, body: str) -> None:
    path = tmp_path / name
    path.write_text(body, "utf-8")
    assert bl.Policy.from_source(path).successors == {A: B}


def test_a_shared_policy_compares_and_copies_like_any_policy(tmp_path: Path) -> None:
    path = tmp_path / "policy.toml"
    path.write_text('on_eol = "error"\n', "utf-8")
    shared = bl.Policy.from_source(path)
    assert shared == bl.Policy(on_eol="error")
    assert hash(shared) == hash(bl.Policy(on_eol="error"))
    assert "SharedPolicy" not in repr(shared)
    assert shared_policy_of(copy.copy(shared)) is shared_policy_of(shared)
    # A changed copy is a policy of its own: not reloaded.
    assert shared_policy_of(dataclasses.replace(shared, on_legacy="ignore")) is None
    assert shared_policy_of(bl.Policy()) is None
