"""What the library writes: owner-only files and folders, and never a prompt, a reply or a secret.

With DEBUG logging on for the whole ``bedrock_lifecycle`` logger (botocore's own loggers are not
ours and stay out of it), calls carry unique marker strings in their prompts, the fake model answers
with a marker in its reply, errors carry a marker in their message, and the clients sign with
dummy credentials that are markers too. None of the markers may appear in a log record (message,
arguments, ``extra`` fields, traceback), a warning, a ledger file or the cache file.
"""

from __future__ import annotations

import json
import logging
import os
import stat
import uuid
import warnings
from collections.abc import Iterator
from datetime import date, datetime, timezone
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError, EventStreamError

import bedrock_lifecycle as bl
from bedrock_lifecycle.testing import FakeBedrock, FakeModel, FaultKind, Scenario

REGION = "us-east-1"
NOW = datetime(2026, 1, 15, tzinfo=timezone.utc)
ACTIVE = "anthropic.claude-sonnet-4-20250514-v1:0"
LEGACY = "anthropic.claude-3-5-sonnet-20241022-v2:0"
GONE = "anthropic.claude-3-7-sonnet-20250219-v1:0"


def _marker(kind: str) -> str:
    return f"MARKER{kind}{uuid.uuid4().hex[:12].upper()}"


PROMPT = _marker("PROMPT")
SYSTEM = _marker("SYSTEM")
BODY_PROMPT = _marker("BODY")
REPLY = _marker("REPLY")
ERROR = _marker("ERROR")
ACCESS_KEY = "AKIA" + _marker("AK")[:16]
SECRET_KEY = _marker("SECRET") + "x" * 20
SESSION_TOKEN = _marker("TOKEN")
MARKERS = (PROMPT, SYSTEM, BODY_PROMPT, REPLY, ERROR, ACCESS_KEY, SECRET_KEY, SESSION_TOKEN)


def scenario() -> Scenario:
    return Scenario(
        models=(
            FakeModel(ACTIVE, regions=(REGION,), reply=f"Here you are: {REPLY}."),
            FakeModel(
                LEGACY,
                regions=(REGION,),
                legacy_at=date(2025, 8, 25),
                eol_at=date(2026, 10, 1),
                reply=f"Old model says {REPLY}.",
            ),
            FakeModel(
                GONE, regions=(REGION,), legacy_at=date(2025, 6, 1), eol_at=date(2025, 12, 15)
            ),
        )
    )


@pytest.fixture(autouse=True)
def _isolated(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[None]:
    monkeypatch.setenv("BEDROCK_LIFECYCLE_CACHE_DIR", str(tmp_path / "default-cache"))
    monkeypatch.delenv("BEDROCK_LIFECYCLE_OFFLINE", raising=False)
    monkeypatch.delenv("BEDROCK_LIFECYCLE_TTL", raising=False)
    old = os.umask(0o022)  # a permissive umask: owner-only modes must not come from it
    yield
    os.umask(old)


def _signed_client(fake: FakeBedrock, service: str) -> Any:
    """A real boto3 client signing with the marker credentials, answered by the fake."""
    session = boto3.Session(
        aws_access_key_id=ACCESS_KEY,
        aws_secret_access_key=SECRET_KEY,
        aws_session_token=SESSION_TOKEN,
        region_name=REGION,
    )
    config = Config(retries={"total_max_attempts": 1})
    return fake.attach(session.client(service, config=config))


def _record_text(record: logging.LogRecord, formatter: logging.Formatter) -> str:
    return formatter.format(record) + repr(record.__dict__)


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def _calls(client: bl.LifecycleClient) -> None:
    messages = [{"role": "user", "content": [{"text": f"Please keep {PROMPT} secret."}]}]
    system = [{"text": f"System prompt {SYSTEM}"}]
    body = json.dumps(
        {
            "anthropic_version": "bedrock-2023-05-31",
            "max_tokens": 32,
            "messages": [{"role": "user", "content": f"Body prompt {BODY_PROMPT}"}],
        }
    ).encode()
    replies = []
    for model in (ACTIVE, LEGACY, GONE):  # Active, Legacy (warns), EOL unknown (reactive)
        response = client.converse(modelId=model, messages=messages, system=system)
        replies.append(response["output"]["message"]["content"][0]["text"])
        replies.append(client.invoke_model(modelId=model, body=body)["body"].read().decode())
        stream = client.converse_stream(modelId=model, messages=messages, system=system)
        replies.append(repr(list(stream["stream"])))
        stream = client.invoke_model_with_response_stream(modelId=model, body=body)
        replies.append(repr(list(stream["body"])))
    assert all(REPLY in text or "bytes" in text for text in replies)
    assert REPLY in replies[0]  # the fake really answered with the marker


def test_no_prompt_reply_or_secret_reaches_logs_ledgers_or_cache(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="bedrock_lifecycle")
    ledger_dir = tmp_path / "ledgers"
    cache_path = tmp_path / "cache" / "lifecycle.json"
    jsonl = bl.JsonlLedger(ledger_dir / "usage.jsonl")
    sqlite = bl.SqliteLedger(ledger_dir / "usage.db")
    with FakeBedrock(scenario(), now=NOW) as fake, warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        catalog = bl.Catalog(
            client_factory=lambda region: _signed_client(fake, "bedrock"),
            region_name=REGION,
            clock=fake.clock,
            cache_path=cache_path,
            bundled=False,
            max_wait=5.0,
        )
        client = bl.wrap(
            _signed_client(fake, "bedrock-runtime"),
            catalog=catalog,
            ledger=bl.MultiLedger(jsonl, sqlite),
            policy=bl.Policy(successors={GONE: ACTIVE}, idle_warning_days=1),
        )
        _calls(client)
        # Errors whose messages carry a marker: a refused call and a failed stream.
        fake.inject("Converse", FaultKind.THROTTLING, times=1, message=f"slow down {ERROR}")
        with pytest.raises(ClientError):
            client.converse(modelId=ACTIVE, messages=[{"role": "user", "content": [{"text": "x"}]}])
        fake.inject(
            "ConverseStream",
            FaultKind.STREAM_ERROR,
            times=1,
            after_events=1,
            message=f"stream broke {ERROR}",
        )
        with pytest.raises(EventStreamError):
            stream = client.converse_stream(
                modelId=ACTIVE, messages=[{"role": "user", "content": [{"text": PROMPT}]}]
            )
            list(stream["stream"])
        fake.inject("ListFoundationModels", FaultKind.ACCESS_DENIED, message=f"no {ERROR}")
        catalog.refresh(REGION)
        fake.clear_faults()
        catalog.close()
        jsonl.close()
        sqlite.close()

    # The run exercised the paths that log and warn.
    ours = [r for r in caplog.records if r.name.startswith("bedrock_lifecycle")]
    assert any(r.levelno == logging.DEBUG for r in ours)
    assert any("lifecycle_error" in r.getMessage() for r in ours)
    assert any(issubclass(w.category, bl.LegacyModelWarning) for w in caught)
    assert any(issubclass(w.category, bl.FallbackWarning) for w in caught)
    assert len(jsonl.records()) == 12 + 1  # 12 calls above and the stream cut short
    assert all(
        r.name.startswith("bedrock_lifecycle") or r.levelno >= logging.WARNING
        for r in caplog.records
    )

    formatter = logging.Formatter("%(name)s %(levelname)s %(message)s")
    texts = {f"log {r.name}:{r.lineno}": _record_text(r, formatter) for r in ours}
    texts.update({f"warning {i}": str(w.message) for i, w in enumerate(caught)})
    files = [cache_path, *sorted(ledger_dir.iterdir())]
    texts.update({f"file {p.name}": p.read_bytes().decode("latin-1") for p in files})
    for where, text in texts.items():
        for marker in MARKERS:
            assert marker not in text, f"{marker[:14]}... found in {where}"

    # Owner-only: every file we created, and the folders we created for them.
    assert _mode(cache_path) == 0o600
    assert _mode(cache_path.parent) == 0o700
    assert _mode(ledger_dir) == 0o700
    for path in ledger_dir.iterdir():
        assert _mode(path) == 0o600, path.name
    assert {p.name for p in ledger_dir.iterdir()} >= {"usage.jsonl", "usage.db"}
