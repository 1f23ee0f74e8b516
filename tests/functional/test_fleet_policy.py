"""A shared policy: one object in S3 (or a file) that a fleet of running clients follows.

Real botocore clients against the fake Bedrock, and moto's S3 server for the policy object. The
catalog runs on the fake's clock and never refreshes (offline), so a reused decision can only end
at the policy's next check: the assertions before that moment would fail if the policy were read
on every call, and those after it would fail if it were never read again.
"""

from __future__ import annotations

import json
import logging
import time
import warnings
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.config import Config

import bedrock_lifecycle as bl
from bedrock_lifecycle.cli._app import main as cli_main

from ._moto_s3 import BUCKET, moto_server
from ._world import EOL_AT, MESSAGES, NEW, NOVA, OLD, World

TTL = 300  # seconds between checks of the policy source
REGION = "us-east-1"
V1 = f'[successors]\n"{OLD}" = "{NEW}"\n'.encode()  # a policy the operations team publishes
V2 = f'[successors]\n"{OLD}" = "{NOVA}"\n'.encode()  # ... and the successor it moves to later
OFFLINE_DATES = {OLD: {"legacy_at": "2025-08-25", "eol_at": "2026-03-01"}}  # EOL at EOL_AT


@pytest.fixture
def key(request: pytest.FixtureRequest) -> str:
    """An object key of this test's own (policies read through the environment are kept per
    location for the process)."""
    return f"policies/{request.node.name}.toml"


class Wire:
    """The HTTP status of every GetObject an S3 client sends (200, or 304 for "unchanged")."""

    def __init__(self, client: Any) -> None:
        self.statuses: list[int] = []
        client.meta.events.register("after-call.s3.GetObject", self._seen)

    def _seen(self, http_response: Any, **_: Any) -> None:
        self.statuses.append(http_response.status_code)


def put(s3: Any, key: str, body: bytes) -> None:
    s3.put_object(Bucket=BUCKET, Key=key, Body=body)


def offline_catalog(world: World, **kwargs: Any) -> bl.Catalog:
    return world.catalog(offline=True, overrides=OFFLINE_DATES, **kwargs)


def converse(client: Any) -> str:
    """One Converse call to OLD; the model it went to."""
    response = client.converse(modelId=OLD, messages=MESSAGES)
    return str(response["ResponseMetadata"]["BedrockLifecycle"]["invokedModelId"])


def calls(*clients: Any) -> tuple[list[str], list[type[Warning]]]:
    """One call per client: where each went, and every warning raised meanwhile."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        went = [converse(client) for client in clients]
    return went, [w.category for w in caught]


def later(world: World, seconds: float) -> None:
    world.at(EOL_AT + timedelta(seconds=seconds))


@pytest.fixture
def session(local_world: World) -> Iterator[Any]:
    made = local_world.fake.session(REGION)
    yield made
    bl.uninstall(made)


# -- a change reaches every running client --------------------------------------------------------


def test_a_new_successor_reaches_wrapped_and_hooked_clients_within_one_ttl(
    local_world: World, session: Any, s3: Any, key: str
) -> None:
    local_world.at(EOL_AT)
    put(s3, key, V1)
    wire = Wire(s3)
    policy = bl.Policy.from_source(f"s3://{BUCKET}/{key}", ttl=TTL, client=s3)
    assert policy.successors == {OLD: NEW}
    catalog = offline_catalog(local_world)
    wrapped = bl.wrap(local_world.runtime(), catalog=catalog, policy=policy)
    governor = bl.install(session, catalog=catalog, policy=policy)
    hooked = session.client("bedrock-runtime")

    assert calls(wrapped, hooked) == ([NEW, NEW], [bl.FallbackWarning])

    # The operations team moves OLD's calls to NOVA. Until the next check, nothing reads it:
    # the decisions made with the first version are reused as they are.
    put(s3, key, V2)
    later(local_world, TTL - 10)  # (the schedule started when the policy was read, just before)
    assert calls(wrapped, hooked) == ([NEW, NEW], [])
    assert wrapped.governor.reuse("Converse", OLD, REGION) is not None
    assert governor.reuse("Converse", OLD, REGION) is not None
    assert wire.statuses == [200]  # only the read when the policy was built

    # One TTL after the first call: the next call reads the new version, once for both faces.
    later(local_world, TTL)
    assert calls(wrapped, hooked) == ([NOVA, NOVA], [bl.FallbackWarning])
    assert wire.statuses == [200, 200]
    assert wrapped.policy.successors == {OLD: NOVA}
    assert governor.policy is wrapped.policy

    # Another TTL: read again, conditionally; unchanged, so Bedrock calls are decided as before.
    later(local_world, 2 * TTL)
    assert calls(wrapped, hooked) == ([NOVA, NOVA], [])
    assert wire.statuses == [200, 200, 304]
    assert local_world.invoked() == [NEW, NEW, NEW, NEW, NOVA, NOVA, NOVA, NOVA]


def test_a_file_path_source_is_followed_too(
    local_world: World, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # ttl=None: BEDROCK_LIFECYCLE_TTL when set (here 120 s; the catalog's own TTL is 6 hours).
    monkeypatch.setenv("BEDROCK_LIFECYCLE_TTL", "120")
    local_world.at(EOL_AT)
    path = tmp_path / "fleet" / "policy.json"
    path.parent.mkdir()
    path.write_text(json.dumps({"successors": {OLD: NEW}}), "utf-8")
    policy = bl.Policy.from_source(path)
    client = bl.wrap(
        local_world.runtime(),
        catalog=offline_catalog(local_world, ttl=timedelta(hours=6)),
        policy=policy,
    )
    assert calls(client) == ([NEW], [bl.FallbackWarning])
    path.write_text(json.dumps({"successors": {OLD: NOVA}, "on_legacy": "warn"}), "utf-8")
    later(local_world, 110)
    assert calls(client) == ([NEW], [])
    later(local_world, 120)
    assert calls(client) == ([NOVA], [bl.FallbackWarning])


def test_without_a_ttl_of_its_own_the_policy_follows_the_catalogs(
    local_world: World, tmp_path: Path
) -> None:
    local_world.at(EOL_AT)
    path = tmp_path / "policy.toml"
    path.write_bytes(V1)
    client = bl.wrap(
        local_world.runtime(),
        catalog=offline_catalog(local_world, ttl=timedelta(minutes=10)),
        policy=bl.Policy.from_source(f"file://{path}"),
    )
    assert calls(client) == ([NEW], [bl.FallbackWarning])
    path.write_bytes(V2)
    later(local_world, 590)
    assert calls(client) == ([NEW], [])
    later(local_world, 600)
    assert calls(client) == ([NOVA], [bl.FallbackWarning])


def test_a_change_made_before_the_first_call_counts_from_when_the_policy_was_read(
    local_world: World, tmp_path: Path
) -> None:
    # A process that reads its policy at start and makes its first call more than one TTL
    # later checks for a new version before that call, not one TTL after it.
    local_world.at(EOL_AT)
    path = tmp_path / "policy.toml"
    path.write_bytes(V1)
    policy = bl.Policy.from_source(path, ttl=0.2)
    path.write_bytes(V2)
    time.sleep(0.25)
    client = bl.wrap(local_world.runtime(), catalog=offline_catalog(local_world), policy=policy)
    assert calls(client) == ([NOVA], [bl.FallbackWarning])


# -- what goes wrong keeps the last valid policy ---------------------------------------------------


def test_an_invalid_new_policy_keeps_the_last_valid_one_with_one_warning(
    local_world: World, s3: Any, key: str
) -> None:
    local_world.at(EOL_AT)
    put(s3, key, V1)
    wire = Wire(s3)
    location = f"s3://{BUCKET}/{key}"
    client = bl.wrap(
        local_world.runtime(),
        catalog=offline_catalog(local_world),
        policy=bl.Policy.from_source(location, ttl=TTL, client=s3),
    )
    assert calls(client) == ([NEW], [bl.FallbackWarning])

    put(s3, key, b'[successors]\n"broken = \n')
    later(local_world, TTL)
    with pytest.warns(bl.LifecycleDataWarning) as caught:
        assert converse(client) == NEW
    [warned] = caught
    assert location in str(warned.message)
    assert "invalid TOML" in str(warned.message)
    assert warned.filename == __file__  # pointed at the caller's line

    # The same bad object is not complained about again: read conditionally (304), and quiet.
    later(local_world, 2 * TTL)
    assert calls(client) == ([NEW], [])
    assert wire.statuses == [200, 200, 304]

    # A new bad version is named once too: here a misspelt setting.
    put(s3, key, V2.replace(b"[successors]", b'on_legasy = "warn"\n[successors]'))
    later(local_world, 3 * TTL)
    went, said = calls(client)
    assert (went, said) == ([NEW], [bl.LifecycleDataWarning])

    # ... and a cycle of successors.
    put(s3, key, f'[successors]\n"{OLD}" = "{NOVA}"\n"{NOVA}" = "{OLD}"\n'.encode())
    later(local_world, 4 * TTL)
    with pytest.warns(bl.LifecycleDataWarning, match="successors form a cycle"):
        assert converse(client) == NEW

    # A valid version is picked up at the next check.
    put(s3, key, V2)
    later(local_world, 5 * TTL)
    assert calls(client) == ([NOVA], [bl.FallbackWarning])
    assert client.policy.successors == {OLD: NOVA}


def test_a_missing_object_keeps_the_last_valid_policy_and_logs_once(
    local_world: World, s3: Any, key: str, caplog: pytest.LogCaptureFixture
) -> None:
    local_world.at(EOL_AT)
    put(s3, key, V1)
    client = bl.wrap(
        local_world.runtime(),
        catalog=offline_catalog(local_world),
        policy=bl.Policy.from_source(f"s3://{BUCKET}/{key}", ttl=TTL, client=s3),
    )
    assert calls(client) == ([NEW], [bl.FallbackWarning])
    s3.delete_object(Bucket=BUCKET, Key=key)
    caplog.set_level(logging.DEBUG, logger="bedrock_lifecycle")
    for step in (1, 2, 3):
        later(local_world, step * TTL)
        assert calls(client) == ([NEW], [])  # no Python warning for an outage: a log line
    failed = [r for r in caplog.records if r.name.endswith("_shared_policy")]
    assert [(r.levelname, r.getMessage().split(":")[0]) for r in failed] == [
        ("WARNING", "bedrock_lifecycle.policy_source_failed"),
        ("DEBUG", "bedrock_lifecycle.policy_source_failed_again"),
        ("DEBUG", "bedrock_lifecycle.policy_source_failed_again"),
    ]
    assert "NoSuchKey" in failed[0].getMessage()
    caplog.clear()
    put(s3, key, V2)
    later(local_world, 4 * TTL)
    assert calls(client) == ([NOVA], [bl.FallbackWarning])
    assert [r.getMessage() for r in caplog.records if r.name.endswith("_shared_policy")] == [
        "bedrock_lifecycle.policy_source_recovered",
        "bedrock_lifecycle.policy_reloaded",
    ]


def test_an_s3_outage_keeps_the_last_valid_policy(
    local_world: World, s3: Any, caplog: pytest.LogCaptureFixture
) -> None:
    with moto_server() as url:  # a server of its own, stopped mid-test (an outage)
        own = boto3.session.Session().client(
            "s3",
            endpoint_url=url,
            config=Config(retries={"max_attempts": 1, "mode": "standard"}, connect_timeout=1),
        )
        own.create_bucket(Bucket=BUCKET)
        own.put_object(Bucket=BUCKET, Key="policy.toml", Body=V1)
        local_world.at(EOL_AT)
        client = bl.wrap(
            local_world.runtime(),
            catalog=offline_catalog(local_world),
            policy=bl.Policy.from_source(f"s3://{BUCKET}/policy.toml", ttl=TTL, client=own),
        )
        assert calls(client) == ([NEW], [bl.FallbackWarning])
    caplog.set_level(logging.WARNING, logger="bedrock_lifecycle")
    for step in (1, 2):
        later(local_world, step * TTL)
        assert calls(client) == ([NEW], [])
    [logged] = [r for r in caplog.records if "policy_source_failed" in r.getMessage()]
    assert f"s3://{BUCKET}/policy.toml" in logged.getMessage()
    assert client.policy.successors == {OLD: NEW}
    own.close()


# -- the first read, and the environment -----------------------------------------------------------


def test_a_first_read_that_fails_raises_naming_the_location_and_the_reason(
    s3: Any, key: str, tmp_path: Path
) -> None:
    location = f"s3://{BUCKET}/{key}"
    with pytest.raises(bl.ConfigurationError, match="NoSuchKey") as raised:
        bl.Policy.from_source(location, client=s3)
    assert raised.value.source == location
    put(s3, key, b'on_eol = "warn"\n')
    with pytest.raises(bl.ConfigurationError, match="expected one of error, fallback") as raised:
        bl.Policy.from_source(location, client=s3)
    assert (raised.value.source, raised.value.key) == (location, "on_eol")
    with pytest.raises(bl.ConfigurationError, match=r"file not found|No such file"):
        bl.Policy.from_source(tmp_path / "nowhere.toml")
    with pytest.raises(bl.ConfigurationError, match="unsupported location scheme 'https'"):
        bl.Policy.from_source("https://example.com/policy.toml")
    with pytest.raises(bl.ConfigurationError, match="'ttl': must be positive"):
        bl.Policy.from_source(location, ttl=0, client=s3)


def test_the_environment_names_the_policy_used_when_none_is_given(
    local_world: World,
    session: Any,
    s3: Any,
    request: pytest.FixtureRequest,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # No suffix: the format is sniffed (a document starting with "{" is JSON).
    key = f"policies/{request.node.name}"
    put(s3, key, json.dumps({"successors": {OLD: NOVA}}).encode())
    monkeypatch.setenv("BEDROCK_LIFECYCLE_POLICY", f"s3://{BUCKET}/{key}")
    local_world.at(EOL_AT)
    catalog = offline_catalog(local_world)
    wrapped = bl.wrap(local_world.runtime(), catalog=catalog)
    governor = bl.install(session, catalog=catalog)
    assert wrapped.policy.successors == {OLD: NOVA}
    assert governor.policy is wrapped.policy  # one copy per process, read once
    assert calls(wrapped, session.client("bedrock-runtime")) == (
        [NOVA, NOVA],
        [bl.FallbackWarning],
    )
    # An explicit policy wins.
    explicit = bl.wrap(local_world.runtime(), catalog=catalog, policy=bl.Policy(on_eol="error"))
    assert explicit.policy == bl.Policy(on_eol="error")
    with pytest.raises(bl.ModelEndOfLifeError):
        converse(explicit)


def test_an_unreadable_policy_in_the_environment_stops_the_client_being_made(
    local_world: World, s3: Any, key: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("BEDROCK_LIFECYCLE_POLICY", f"s3://{BUCKET}/{key}")
    with pytest.raises(bl.ConfigurationError, match="BEDROCK_LIFECYCLE_POLICY") as raised:
        bl.wrap(local_world.runtime(), catalog=offline_catalog(local_world))
    assert "NoSuchKey" in str(raised.value)
    # Not remembered as a failure: once the object is there, the next client gets it.
    put(s3, key, V1)
    client = bl.wrap(local_world.runtime(), catalog=offline_catalog(local_world))
    assert client.policy.successors == {OLD: NEW}


def test_the_command_line_uses_the_policy_in_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "policy.toml"
    path.write_text(f'[successors]\n"{OLD}" = "{NOVA}"\n', "utf-8")
    monkeypatch.setenv("BEDROCK_LIFECYCLE_POLICY", str(path))
    argv = ["status", OLD, "-r", REGION, "--offline", "--at", "2026-01-10", "--json"]
    assert cli_main(argv) == 0
    [row] = json.loads(capsys.readouterr().out)
    assert (row["replacement"], row["replacement_source"]) == (NOVA, "policy")
    # --policy wins over the environment.
    explicit = tmp_path / "explicit.toml"
    explicit.write_text(f'[successors]\n"{OLD}" = "{NEW}"\n', "utf-8")
    assert cli_main([*argv, "--policy", str(explicit)]) == 0
    [row] = json.loads(capsys.readouterr().out)
    assert (row["replacement"], row["replacement_source"]) == (NEW, "policy")
