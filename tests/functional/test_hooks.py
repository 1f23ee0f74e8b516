"""install(): governance through botocore events on every client a session creates."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from botocore.exceptions import ClientError

import bedrock_lifecycle as bl

from ._world import EOL_AT, LEGACY_AT, NEW, OLD, OPERATIONS, RECORDED, World, call


@pytest.fixture
def session(local_world: World) -> Iterator[Any]:
    """A boto3 session whose clients talk to the fake in-process; uninstalled afterwards."""
    made = local_world.fake.session("us-east-1")
    yield made
    bl.uninstall(made)


@pytest.mark.parametrize("operation", OPERATIONS)
def test_installed_hooks_rewrite_eol_models_on_new_clients(
    local_world: World, session: Any, operation: str
) -> None:
    local_world.at(EOL_AT)
    governor = bl.install(
        session,
        catalog=local_world.catalog(),
        policy=bl.Policy(successors={OLD: NEW}),
        ledger=bl.MemoryLedger(),
    )
    client = session.client("bedrock-runtime")  # a plain boto3 client, created after install
    with pytest.warns(bl.FallbackWarning):
        response = call(client, operation, f"us.{OLD}")
    assert local_world.invoked(operation) == [f"us.{NEW}"]
    assert response["ResponseMetadata"]["BedrockLifecycle"]["fallback"] is True
    if operation in RECORDED:
        [record] = governor.ledger.records()  # type: ignore[union-attr]
        assert record.invoked_model_id == f"us.{NEW}"
        assert record.fallback_from == f"us.{OLD}"
        assert record.input_tokens == 1000


def test_installed_hooks_warn_and_raise_like_the_wrapper(local_world: World, session: Any) -> None:
    local_world.at(LEGACY_AT)
    bl.install(session, catalog=local_world.catalog())
    client = session.client("bedrock-runtime")
    with pytest.warns(bl.LegacyModelWarning, match="2026-03-01") as caught:
        client.converse(modelId=OLD, messages=[{"role": "user", "content": [{"text": "x"}]}])
    assert caught[0].filename == __file__  # the caller's line, through botocore's frames
    local_world.at(EOL_AT)
    bl.install(session, catalog=local_world.catalog(), policy=bl.Policy(on_eol="error"))
    with pytest.raises(bl.ModelEndOfLifeError) as raised:
        call(session.client("bedrock-runtime"), "Converse", OLD)
    assert isinstance(raised.value, ClientError)
    assert raised.value.response["Error"]["Code"] == "ResourceNotFoundException"
    assert local_world.invoked() == []  # the EOL call was never sent


def test_hook_mode_learns_from_a_lifecycle_error_for_the_next_call(
    local_world: World, session: Any
) -> None:
    local_world.at(EOL_AT)
    catalog = local_world.catalog(offline=True)  # knows nothing: only Bedrock's answer tells
    bl.install(session, catalog=catalog, policy=bl.Policy(successors={OLD: NEW}))
    client = session.client("bedrock-runtime")
    # Hooks cannot resend a request: the first call fails as boto3 would fail it ...
    with pytest.raises(ClientError, match="end of its life"):
        call(client, "Converse", OLD)
    # ... but the error is remembered, and the next call goes to the successor.
    with pytest.warns(bl.FallbackWarning):
        call(client, "Converse", OLD)
    assert local_world.invoked() == [NEW]
    assert catalog.withdrawn(OLD, "us-east-1") == "eol"


def test_uninstall_stops_governing_new_clients(local_world: World, session: Any) -> None:
    local_world.at(EOL_AT)
    bl.install(session, catalog=local_world.catalog(), policy=bl.Policy(successors={OLD: NEW}))
    assert bl.installed_governor(session) is not None
    bl.uninstall(session)
    assert bl.installed_governor(session) is None
    client = session.client("bedrock-runtime")
    with pytest.raises(ClientError, match="end of its life"):
        call(client, "Converse", OLD)
    bl.uninstall(session)  # harmless twice


def test_clients_created_before_install_are_not_governed(local_world: World, session: Any) -> None:
    local_world.at(EOL_AT)
    early = session.client("bedrock-runtime")
    bl.install(session, catalog=local_world.catalog(), policy=bl.Policy(successors={OLD: NEW}))
    with pytest.raises(ClientError):
        call(early, "Converse", OLD)


def test_installing_twice_replaces_the_settings(local_world: World, session: Any) -> None:
    local_world.at(EOL_AT)
    bl.install(session, catalog=local_world.catalog(), policy=bl.Policy(on_eol="error"))
    bl.install(session, catalog=local_world.catalog(), policy=bl.Policy(successors={OLD: NEW}))
    with pytest.warns(bl.FallbackWarning):  # one handler pair: one decision, one warning
        call(session.client("bedrock-runtime"), "Converse", OLD)
    assert local_world.invoked() == [NEW]


def test_install_reaches_the_default_boto3_session(
    local_world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    import boto3

    monkeypatch.setattr(boto3, "DEFAULT_SESSION", local_world.fake.session("us-east-1"))
    local_world.at(EOL_AT)
    try:
        bl.install(catalog=local_world.catalog(), policy=bl.Policy(successors={OLD: NEW}))
        with pytest.warns(bl.FallbackWarning):
            call(boto3.client("bedrock-runtime"), "Converse", OLD)
    finally:
        bl.uninstall()
    assert local_world.invoked() == [NEW]
