"""The persisted lifecycle cache file: round trip, permissions, damage, merging."""

from __future__ import annotations

import json
import os
import re
import stat
import sys
from dataclasses import replace
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from bedrock_lifecycle import LifecycleDataWarning, ModelLifecycle, Source
from bedrock_lifecycle._cache_file import (
    CacheData,
    RegionData,
    default_cache_path,
    read_cache,
    write_cache,
)

UTC = timezone.utc
NOW = datetime(2026, 1, 15, 12, tzinfo=UTC)
SONNET = "anthropic.claude-3-5-sonnet-20240620-v1:0"
NOVA = "amazon.nova-pro-v1:0"
POSIX = pytest.mark.skipif(sys.platform == "win32", reason="POSIX file modes")


def entry(model_id: str, region: str, **values: Any) -> ModelLifecycle:
    return ModelLifecycle(model_id, region, source=Source.API, as_of=NOW, **values)


def sample() -> CacheData:
    return CacheData(
        regions={
            "us-east-1": RegionData(
                fetched_at=NOW,
                models={
                    SONNET: entry(
                        SONNET,
                        "us-east-1",
                        legacy_at=datetime(2025, 8, 25, tzinfo=UTC),
                        extended_access_at=datetime(2025, 12, 1, tzinfo=UTC),
                        eol_at=datetime(2026, 3, 1, tzinfo=UTC),
                        status="LEGACY",
                        recommended=("anthropic.claude-sonnet-4-20250514-v1:0",),
                        name="Claude 3.5 Sonnet",
                        provider="Anthropic",
                    ),
                    NOVA: entry(NOVA, "us-east-1", status="ACTIVE"),
                },
            ),
            "eu-central-2": RegionData(
                fetched_at=NOW - timedelta(hours=1),
                models={SONNET: entry(SONNET, "eu-central-2", eol_at=datetime(2026, 6, 1))},
                endpoint="http://127.0.0.1:9999",
            ),
        },
        observed={(SONNET, "us-east-1"): ("eol", NOW)},
        resolved={"arn:aws:bedrock:us-east-1:123456789012:application-inference-profile/app": NOVA},
        last_used={(SONNET, "eu-central-2"): NOW - timedelta(days=3)},
    )


def test_round_trip(tmp_path: Path) -> None:
    path = tmp_path / "c.json"
    original = sample()
    write_cache(path, original, NOW)
    loaded = read_cache(path)
    assert loaded is not None
    assert set(loaded.regions) == {"us-east-1", "eu-central-2"}
    for region, data in original.regions.items():
        got = loaded.regions[region]
        assert got.fetched_at == data.fetched_at
        assert got.endpoint == data.endpoint
        assert set(got.models) == set(data.models)
        for model_id, want in data.models.items():
            have = got.models[model_id]
            # Entries come back from the cache labelled as such, otherwise unchanged.
            assert have.source is Source.CACHE
            assert have == _as_cache(want)
            assert have.as_of == data.fetched_at
    assert loaded.observed == original.observed
    assert loaded.resolved == original.resolved
    assert loaded.last_used == original.last_used


def _as_cache(value: ModelLifecycle) -> ModelLifecycle:
    return replace(value, source=Source.CACHE)


def test_file_holds_only_lifecycle_facts(tmp_path: Path) -> None:
    path = tmp_path / "c.json"
    write_cache(path, sample(), NOW)
    raw = json.loads(path.read_text("utf-8"))
    assert raw["kind"] == "bedrock-lifecycle-cache"
    assert raw["format"] == 1
    assert set(raw) == {
        "format",
        "kind",
        "written_at",
        "regions",
        "observed",
        "resolved",
        "last_used",
    }
    model = raw["regions"]["us-east-1"]["models"][SONNET]
    assert set(model) == {
        "legacy_at",
        "extended_access_at",
        "eol_at",
        "status",
        "recommended",
        "name",
        "provider",
    }
    assert model["eol_at"] == "2026-03-01T00:00:00+00:00"


def test_missing_file_is_none_without_warning(tmp_path: Path) -> None:
    assert read_cache(tmp_path / "absent.json") is None


@POSIX
def test_atomic_write_is_owner_only(tmp_path: Path) -> None:
    old_umask = os.umask(0)
    try:
        path = tmp_path / "fresh" / "deeper" / "c.json"
        write_cache(path, sample(), NOW)
    finally:
        os.umask(old_umask)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    assert stat.S_IMODE(path.parent.parent.stat().st_mode) == 0o700
    # No temporary files are left behind.
    assert sorted(p.name for p in path.parent.iterdir()) == ["c.json"]


@POSIX
def test_rewrite_replaces_a_loose_file_with_an_owner_only_one(tmp_path: Path) -> None:
    path = tmp_path / "c.json"
    path.write_text("{}", "utf-8")
    path.chmod(0o644)
    write_cache(path, sample(), NOW)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert read_cache(path) is not None


def test_failed_write_leaves_old_file_intact(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "c.json"
    write_cache(path, sample(), NOW)
    before = path.read_bytes()

    def refuse(_src: Any, _dst: Any) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", refuse)
    with pytest.raises(OSError, match="No space"):
        write_cache(path, CacheData(), NOW + timedelta(hours=1))
    monkeypatch.undo()
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["c.json"]


def _valid() -> dict[str, Any]:
    return {
        "format": 1,
        "kind": "bedrock-lifecycle-cache",
        "written_at": NOW.isoformat(),
        "regions": {
            "us-east-1": {
                "endpoint": None,
                "fetched_at": NOW.isoformat(),
                "models": {NOVA: {"status": "ACTIVE"}},
            }
        },
        "observed": {},
        "resolved": {},
        "last_used": {},
    }


def _with(**changes: Any) -> str:
    data = _valid()
    data.update(changes)
    return json.dumps(data)


DAMAGED = {
    "not json": ("{ this is not json", "Expecting"),
    "truncated": (_with()[:40], "Unterminated|Expecting"),
    "empty": ("", "Expecting value"),
    "a list": ("[1, 2, 3]", "not a bedrock-lifecycle cache"),
    "foreign json": (json.dumps({"hello": "world"}), "not a bedrock-lifecycle cache"),
    "other kind": (_with(kind="something-else"), "not a bedrock-lifecycle cache"),
    "newer format": (_with(format=2), "unsupported cache format 2"),
    "no format": (json.dumps({"kind": "bedrock-lifecycle-cache"}), "unsupported cache format"),
    "region not object": (_with(regions={"us-east-1": []}), "region 'us-east-1'"),
    "no fetched_at": (
        _with(regions={"us-east-1": {"models": {}}}),
        "no fetched_at",
    ),
    "bad timestamp": (
        _with(regions={"us-east-1": {"fetched_at": "yesterday", "models": {}}}),
        "Invalid isoformat|yesterday",
    ),
    "numeric timestamp": (
        _with(regions={"us-east-1": {"fetched_at": 17, "models": {}}}),
        "ISO timestamp",
    ),
    "model not object": (
        _with(regions={"us-east-1": {"fetched_at": NOW.isoformat(), "models": {NOVA: 1}}}),
        "is not an object",
    ),
    "bad status": (
        _with(
            regions={
                "us-east-1": {"fetched_at": NOW.isoformat(), "models": {NOVA: {"status": "EOL"}}}
            }
        ),
        "unknown status",
    ),
    "bad recommended": (
        _with(
            regions={
                "us-east-1": {
                    "fetched_at": NOW.isoformat(),
                    "models": {NOVA: {"recommended": "x"}},
                }
            }
        ),
        "recommended",
    ),
    "models a list": (
        _with(regions={"us-east-1": {"fetched_at": NOW.isoformat(), "models": [1]}}),
        "items|AttributeError|object",
    ),
    "observed kind": (
        _with(observed={f"{NOVA}|us-east-1": {"kind": "gone", "at": NOW.isoformat()}}),
        "malformed",
    ),
    "observed key": (
        _with(observed={NOVA: {"kind": "eol", "at": NOW.isoformat()}}),
        "bad key",
    ),
    "last_used key": (_with(last_used={"nokey": NOW.isoformat()}), "bad key"),
    "regions a string": (_with(regions="us-east-1"), "items|AttributeError|object"),
}


@pytest.mark.parametrize("case", sorted(DAMAGED))
def test_damaged_file_is_ignored_with_exactly_one_warning(
    tmp_path: Path, case: str, caplog: pytest.LogCaptureFixture
) -> None:
    text, reason = DAMAGED[case]
    path = tmp_path / "c.json"
    path.write_text(text, "utf-8")
    with pytest.warns(LifecycleDataWarning) as record:
        assert read_cache(path) is None
    assert len(record) == 1
    message = str(record[0].message)
    assert str(path) in message
    assert re.search(reason, message), message
    assert any(r.message == "bedrock_lifecycle.cache_ignored" for r in caplog.records)


def test_binary_garbage_is_ignored_with_one_warning(tmp_path: Path) -> None:
    path = tmp_path / "c.json"
    path.write_bytes(b"\x89PNG\r\n\x1a\n\xff\xfe\x00")
    with pytest.warns(LifecycleDataWarning, match="cannot be read") as record:
        assert read_cache(path) is None
    assert len(record) == 1


def test_directory_in_place_of_the_file_is_ignored(tmp_path: Path) -> None:
    path = tmp_path / "c.json"
    path.mkdir()
    with pytest.warns(LifecycleDataWarning, match="cannot be read") as record:
        assert read_cache(path) is None
    assert len(record) == 1


def test_warn_false_logs_but_does_not_warn(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "c.json"
    path.write_text("garbage", "utf-8")
    assert read_cache(path, warn=False) is None  # filterwarnings=error would fail on a warning
    assert [r.levelname for r in caplog.records] == ["WARNING"]


def test_unknown_extra_fields_are_tolerated(tmp_path: Path) -> None:
    data = _valid()
    data["something_new"] = {"a": 1}
    data["regions"]["us-east-1"]["models"][NOVA]["future_field"] = 3
    path = tmp_path / "c.json"
    path.write_text(json.dumps(data), "utf-8")
    loaded = read_cache(path)
    assert loaded is not None
    assert loaded.regions["us-east-1"].models[NOVA].status == "ACTIVE"


def test_merge_from_keeps_the_newest_facts() -> None:
    old = NOW - timedelta(hours=2)
    new = NOW + timedelta(hours=2)
    mine = CacheData(
        regions={
            "us-east-1": RegionData(new, {NOVA: entry(NOVA, "us-east-1", status="LEGACY")}),
            "us-west-2": RegionData(old, {NOVA: entry(NOVA, "us-west-2", status="ACTIVE")}),
        },
        observed={(NOVA, "us-east-1"): ("idle", old)},
        resolved={"arn-a": NOVA},
        last_used={(NOVA, "us-east-1"): new, (NOVA, "us-west-2"): old},
    )
    theirs = CacheData(
        regions={
            "us-east-1": RegionData(old, {}),
            "us-west-2": RegionData(new, {SONNET: entry(SONNET, "us-west-2")}),
            "eu-west-1": RegionData(old, {}),
        },
        observed={(NOVA, "us-east-1"): ("eol", new), (SONNET, "us-west-2"): ("eol", new)},
        resolved={"arn-a": SONNET, "arn-b": SONNET},
        last_used={(NOVA, "us-east-1"): old, (NOVA, "us-west-2"): new, (SONNET, "x"): old},
    )
    mine.merge_from(theirs)
    # Region data: the later fetch wins, whole.
    assert set(mine.regions["us-east-1"].models) == {NOVA}
    assert set(mine.regions["us-west-2"].models) == {SONNET}
    assert mine.regions["eu-west-1"].fetched_at == old
    # Observed errors and resolutions: what we already hold is kept, new keys are added.
    assert mine.observed == {
        (NOVA, "us-east-1"): ("idle", old),
        (SONNET, "us-west-2"): ("eol", new),
    }
    assert mine.resolved == {"arn-a": NOVA, "arn-b": SONNET}
    # Last use: the most recent wins.
    assert mine.last_used == {
        (NOVA, "us-east-1"): new,
        (NOVA, "us-west-2"): new,
        (SONNET, "x"): old,
    }


def test_merge_from_equal_fetch_times_keeps_mine() -> None:
    mine = CacheData(regions={"us-east-1": RegionData(NOW, {NOVA: entry(NOVA, "us-east-1")})})
    mine.merge_from(CacheData(regions={"us-east-1": RegionData(NOW, {})}))
    assert set(mine.regions["us-east-1"].models) == {NOVA}


def test_default_cache_path_env_override(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BEDROCK_LIFECYCLE_CACHE_DIR", str(tmp_path / "mine"))
    assert default_cache_path() == tmp_path / "mine" / "lifecycle.json"


@pytest.mark.skipif(sys.platform in ("win32", "darwin"), reason="XDG applies to Linux/Unix")
def test_default_cache_path_follows_xdg(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("BEDROCK_LIFECYCLE_CACHE_DIR", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert default_cache_path() == tmp_path / "bedrock-lifecycle" / "lifecycle.json"
    monkeypatch.setenv("XDG_CACHE_HOME", "relative/dir")  # not absolute: ignored per the spec
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert default_cache_path() == tmp_path / "home" / ".cache" / "bedrock-lifecycle" / (
        "lifecycle.json"
    )


def test_concurrent_saves_in_one_process_lose_nothing(tmp_path: Path) -> None:
    import threading

    from bedrock_lifecycle import Catalog
    from bedrock_lifecycle._cache_file import read_cache

    path = tmp_path / "cache.json"
    catalog = Catalog(cache_path=path, bundled=False, region_name="us-east-1")
    written: set[str] = set()
    for round_number in range(4):  # a lost update is a race: give it several chances
        models = [f"amazon.test-model-{round_number}-{n}-v1:0" for n in range(24)]
        barrier = threading.Barrier(len(models))

        def first_success(model_id: str, barrier: threading.Barrier = barrier) -> None:
            barrier.wait()
            catalog.note_success(model_id, "us-east-1")  # a first success is written at once

        threads = [threading.Thread(target=first_success, args=(m,)) for m in models]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=30)
        written.update(models)
        on_disk = read_cache(path)
        assert on_disk is not None
        assert {model for model, _ in on_disk.last_used} == written
