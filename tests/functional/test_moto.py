"""Governed clients inside moto's ``mock_aws()``, as users who already test with moto write them.

moto (5.2.5) implements neither ListFoundationModels nor Converse (both raise
``NotImplementedError``), and its InvokeModel answers ``{}`` with no token-count headers. The
wrapper must still work there: the catalog falls back to the bundled data without a warning, an
InvokeModel call gives a usage record whose tokens and cost are unknown, and Converse fails
exactly as it does on an unwrapped moto client.
"""

from __future__ import annotations

import json
import logging
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path

import boto3
import moto
import pytest

import bedrock_lifecycle as bl

from ._cli_env import cli_env

REGION = "us-east-1"
SONNET35 = "anthropic.claude-3-5-sonnet-20240620-v1:0"
SONNET45 = "anthropic.claude-sonnet-4-5-20250929-v1:0"
SONNET4 = "anthropic.claude-sonnet-4-20250514-v1:0"  # us-east-1: Legacy 2026-04-14, EOL 2026-10-14
ACTIVE_AT = datetime(2026, 1, 10, tzinfo=timezone.utc)
EOL_AT = datetime(2026, 3, 15, tzinfo=timezone.utc)  # Claude 3.5 Sonnet v1: EOL 2026-03-01 here
ANTHROPIC_BODY = json.dumps(
    {
        "anthropic_version": "bedrock-2023-05-31",
        "max_tokens": 64,
        "messages": [{"role": "user", "content": "Hello"}],
    }
)
MESSAGES = [{"role": "user", "content": [{"text": "Hello"}]}]


@pytest.fixture
def mocked() -> Iterator[None]:
    with moto.mock_aws():
        yield


def catalog_at(tmp_path: Path, now: datetime) -> bl.Catalog:
    return bl.Catalog(region_name=REGION, cache_path=tmp_path / "lifecycle.json", clock=lambda: now)


def loud_records(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [
        f"{record.levelname} {record.getMessage()}"
        for record in caplog.records
        if record.name.startswith("bedrock_lifecycle") and record.levelno >= logging.WARNING
    ]


def test_moto_has_no_list_foundation_models(mocked: None) -> None:
    """The premise: if moto learns the operation, the fallback below is no longer exercised."""
    control = boto3.client("bedrock", region_name=REGION)
    with pytest.raises(NotImplementedError):
        control.list_foundation_models()


def test_the_catalog_falls_back_to_bundled_data_quietly(
    mocked: None, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="bedrock_lifecycle")
    catalog = catalog_at(tmp_path, EOL_AT)
    try:
        entry = catalog.lookup(SONNET35, REGION)
        assert catalog.refresh_count >= 1, "the control plane was asked"
        assert entry.source is bl.Source.BUNDLED
        assert entry.eol_at == datetime(2026, 3, 1, tzinfo=timezone.utc)
        assert entry.state(EOL_AT) is bl.State.EOL
        (result,) = catalog.refresh(REGION)
        assert (result.ok, result.error) == (False, "NotImplementedError")
    finally:
        catalog.close()
    # Under moto the bundled data is the expected answer, not a fault worth a warning.
    assert loud_records(caplog) == []


def test_invoke_model_with_an_empty_body_records_unknown_tokens(
    mocked: None, tmp_path: Path
) -> None:
    ledger = bl.MemoryLedger()
    catalog = catalog_at(tmp_path, ACTIVE_AT)
    try:
        runtime = bl.wrap(
            boto3.client("bedrock-runtime", region_name=REGION), catalog=catalog, ledger=ledger
        )
        response = runtime.invoke_model(modelId=SONNET4, body=ANTHROPIC_BODY)
    finally:
        catalog.close()
    assert response["body"].read() == b"{}"
    assert bl.lifecycle_metadata(response) == {
        "requestedModelId": SONNET4,
        "invokedModelId": SONNET4,
        "state": "ACTIVE",
        "eolAt": "2026-10-14",  # as bundled for us-east-1
        "fallback": False,
        "adapted": [],
    }
    (record,) = ledger.records()
    assert (record.operation, record.region, record.invoked_model_id) == (
        "InvokeModel",
        REGION,
        SONNET4,
    )
    assert (record.input_tokens, record.output_tokens) == (None, None)
    assert (record.cost_usd, record.premium_usd) == (None, None)
    # Counted apart as unpriced and unmetered, never as $0.
    (row,) = bl.summarize([record], by=())
    assert (row.calls, row.unpriced_calls, row.unmetered_calls, row.cost_usd) == (1, 1, 1, 0.0)


def test_an_eol_model_falls_back_before_the_call(mocked: None, tmp_path: Path) -> None:
    ledger = bl.MemoryLedger()
    catalog = catalog_at(tmp_path, EOL_AT)
    try:
        runtime = bl.client(region_name=REGION, catalog=catalog, ledger=ledger)
        with pytest.warns(bl.FallbackWarning, match="reached end of life on 2026-03-01"):
            response = runtime.invoke_model(modelId=SONNET35, body=ANTHROPIC_BODY)
    finally:
        catalog.close()
    assert json.loads(response["body"].read()) == {}
    metadata = bl.lifecycle_metadata(response)
    assert metadata is not None
    assert (metadata["invokedModelId"], metadata["fallback"]) == (SONNET45, True)
    (record,) = ledger.records()
    assert (record.requested_model_id, record.invoked_model_id) == (SONNET35, SONNET45)
    assert record.fallback_from == SONNET35
    assert record.input_tokens is None


def test_converse_fails_as_it_does_without_the_wrapper(mocked: None, tmp_path: Path) -> None:
    plain = boto3.client("bedrock-runtime", region_name=REGION)
    with pytest.raises(NotImplementedError) as unwrapped:
        plain.converse(modelId=SONNET4, messages=MESSAGES)
    ledger = bl.MemoryLedger()
    catalog = catalog_at(tmp_path, ACTIVE_AT)
    try:
        runtime = bl.wrap(plain, catalog=catalog, ledger=ledger)
        with pytest.raises(NotImplementedError) as wrapped:
            runtime.converse(modelId=SONNET4, messages=MESSAGES)
        assert catalog.withdrawn(SONNET4, REGION) is None
    finally:
        catalog.close()
    assert str(wrapped.value) == str(unwrapped.value)
    assert ledger.records() == []


_SCRIPT = textwrap.dedent(
    f"""
    import json, logging
    import boto3, moto
    import bedrock_lifecycle as bl

    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s %(message)s")
    body = {ANTHROPIC_BODY!r}
    with moto.mock_aws():
        ledger = bl.MemoryLedger()
        wrapped = bl.wrap(boto3.client("bedrock-runtime", region_name="{REGION}"), ledger=ledger)
        built = bl.client(region_name="{REGION}", ledger=ledger)
        for runtime in (wrapped, built):
            answer = runtime.invoke_model(modelId="{SONNET45}", body=body)
            print(answer["body"].read().decode(), bl.lifecycle_metadata(answer)["state"])
        print(json.dumps([r.input_tokens for r in ledger.records()]))
        print(bl.default_catalog().lookup("{SONNET35}", "{REGION}").source.value)
    """
)


@pytest.mark.slow
def test_the_default_catalog_is_quiet_under_moto(tmp_path: Path) -> None:
    """``bl.wrap(client)`` and ``bl.client(...)`` without a catalog use the process-wide one: a
    fresh interpreter, so that its first refresh failure is the one observed."""
    done = subprocess.run(
        [sys.executable, "-c", _SCRIPT],
        capture_output=True,
        text=True,
        env=cli_env(tmp_path / "cache"),
        cwd=tmp_path,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == ["{} ACTIVE", "{} ACTIVE", "[null, null]", "bundled"]
    assert done.stderr == ""


def test_an_application_profile_arn_is_unknown_quietly(
    mocked: None, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="bedrock_lifecycle")
    catalog = catalog_at(tmp_path, ACTIVE_AT)
    arn = f"arn:aws:bedrock:{REGION}:123456789012:application-inference-profile/abc123"
    try:
        entry = catalog.lookup(arn, REGION)
    finally:
        catalog.close()
    assert entry.state(ACTIVE_AT) is bl.State.UNKNOWN
    said = [r.getMessage() for r in caplog.records if "resolve_failed" in r.getMessage()]
    assert said
    assert "NotImplementedError" in said[0]
    assert loud_records(caplog) == []
