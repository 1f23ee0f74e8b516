"""Migration rehearsal: ``bedrock-lifecycle rehearse`` and ``compare`` run as the installed
console script against the project's fake Bedrock, served over loopback.

The fake serves its default scenario at 2026-01-15 with a reply of its own for each model:
Claude 3.5 Sonnet v1 (``OLD``) is the model in use; Claude Sonnet 4.5 (``NEW``, called through
its ``us.`` profile) refuses ``temperature`` with ``top_p``, which the bundled constraints know,
so requests to it are adapted; ``STRICT`` refuses ``top_k``, which nothing bundled knows, so
requests that set it are refused.
"""

from __future__ import annotations

import json
import os
import pty
import shutil
import stat
import subprocess
import sys
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, replace
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest

from bedrock_lifecycle import ShadowRecord
from bedrock_lifecycle.ledger import read_shadow_records
from bedrock_lifecycle.testing import (
    FakeBedrock,
    FakeModel,
    FakeUsage,
    FaultKind,
    RecordedRequest,
    Scenario,
)

from ._cli_env import cli_env

pytestmark = pytest.mark.slow

NOW = datetime(2026, 1, 15, tzinfo=timezone.utc)
OLD = "anthropic.claude-3-5-sonnet-20240620-v1:0"
SONNET45 = "anthropic.claude-sonnet-4-5-20250929-v1:0"
NEW = f"us.{SONNET45}"
STRICT = "amazon.example-strict-v1:0"  # an id of our own: nothing bundled knows it
#: Refuses three parameters, one refusal at a time: more than a fallback sends to learn them.
STRICTER = "amazon.example-stricter-v1:0"

OLD_REPLY = "Paris is the capital of France, on the Seine."
NEW_REPLY = "The capital of France is Paris."

_SCRIPT = shutil.which("bedrock-lifecycle", path=os.path.dirname(sys.executable))
COMMAND = [_SCRIPT] if _SCRIPT else [sys.executable, "-m", "bedrock_lifecycle.cli"]
TIMEOUT = 60


def world() -> Scenario:
    default = Scenario.default()
    models = {model.model_id: model for model in default.models}
    return default.with_models(
        replace(
            models[OLD], reply=OLD_REPLY, usage=FakeUsage(input_tokens=1000, output_tokens=200)
        ),
        replace(
            models[SONNET45], reply=NEW_REPLY, usage=FakeUsage(input_tokens=1000, output_tokens=100)
        ),
        FakeModel(STRICT, regions=("us-east-1",), refuses=("top_k",), reply=NEW_REPLY),
        FakeModel(
            STRICTER,
            regions=("us-east-1",),
            refuses=("top_k", "temperature", "top_p"),
            reply=NEW_REPLY,
        ),
    )


@pytest.fixture
def served() -> Iterator[FakeBedrock]:
    with FakeBedrock(world(), now=NOW) as fake:
        fake.start()
        yield fake


class CLI:
    """``bedrock-lifecycle`` in a subprocess: its own cache, dummy credentials, no AWS
    configuration, warnings as errors."""

    def __init__(self, tmp_path: Path, fake: FakeBedrock) -> None:
        self.tmp_path = tmp_path
        self.endpoint = fake.endpoint_url
        self.env = cli_env(tmp_path / "cache", "AKIAFAKEREHEARSAL000")

    def __call__(self, *args: str, **kwargs: Any) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [*COMMAND, *args],
            capture_output=True,
            text=True,
            env=self.env,
            cwd=self.tmp_path,
            timeout=TIMEOUT,
            check=False,
            **kwargs,
        )

    def rehearse(self, to: str, prompts: Path, *args: str) -> subprocess.CompletedProcess[str]:
        return self(
            "rehearse",
            "--from",
            OLD,
            "--to",
            to,
            "--prompts",
            str(prompts),
            "--endpoint-url",
            self.endpoint,
            "--region",
            "us-east-1",
            *args,
        )


@pytest.fixture
def cli(tmp_path: Path, served: FakeBedrock) -> CLI:
    return CLI(tmp_path, served)


def write_lines(path: Path, *lines: Any) -> Path:
    path.write_text("".join(json.dumps(line) + "\n" for line in lines), encoding="utf-8")
    return path


def converse(text: str, **config: Any) -> dict[str, Any]:
    request: dict[str, Any] = {"messages": [{"role": "user", "content": [{"text": text}]}]}
    if config:
        request["inferenceConfig"] = config
    return request


SECRET = "Capital of France? (a secret question)"

PROMPTS = (
    converse(SECRET, temperature=0.2, topP=0.9, maxTokens=300),
    converse("What is the capital of France?", temperature=0.5, topP=0.5),
    {**converse("Name the capital."), "system": [{"text": "Answer in one line."}]},
    {"prompt": "Which city is the capital of France?", "referenceResponse": "Paris"},
    {
        "conversationTurns": [
            {
                "prompt": {"content": [{"text": "Hello"}]},
                "referenceResponses": [{"content": [{"text": "Hi! How can I help?"}]}],
            },
            {"prompt": {"content": [{"text": "What is the capital of France?"}]}},
        ]
    },
)

SONNET45_PRICES = {
    "format": 1,
    "prices": {SONNET45: {"input_per_1m": 3.0, "output_per_1m": 15.0}},
}


# -- replay -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Rehearsed:
    """One replay of :data:`PROMPTS` from ``OLD`` to ``NEW`` (Sonnet 4.5 priced by a price-book
    file), shared by the tests that only read its outcome."""

    cli: CLI
    done: subprocess.CompletedProcess[str]
    requests: tuple[RecordedRequest, ...]
    ledger: Path


@pytest.fixture(scope="module")
def rehearsed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Rehearsed]:
    folder = tmp_path_factory.mktemp("rehearsed")
    prompts = write_lines(folder / "prompts.jsonl", *PROMPTS)
    prices = folder / "prices.json"
    prices.write_text(json.dumps(SONNET45_PRICES), encoding="utf-8")
    with FakeBedrock(world(), now=NOW) as fake:
        cli = CLI(folder, fake.start())
        done = cli.rehearse(NEW, prompts, "--out", "rehearsal", "--prices", str(prices))
        yield Rehearsed(cli, done, fake.requests, folder / "rehearsal" / "shadow.jsonl")


def sent_to(requests: Iterable[RecordedRequest], model_id: str) -> list[dict[str, Any]]:
    """The Converse request bodies the fake answered for ``model_id``."""
    return [
        json.loads(request.body)
        for request in requests
        if request.operation == "Converse" and request.model_id == model_id
    ]


def test_rehearse_adapts_requests_for_the_successor_and_records_each_pair(
    rehearsed: Rehearsed,
) -> None:
    done = rehearsed.done
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""  # no progress bar when stderr is not a terminal
    lines = done.stdout.splitlines()
    assert lines[0] == f"Rehearsed 5 prompts in us-east-1: {OLD} -> {NEW}"
    assert "  primary:   5 ok" in lines
    assert "  successor: 5 ok" in lines
    assert "  adapted:   2 of 5 requests to the successor" in lines
    assert any("inferenceConfig.topP dropped (refused together with temperature): 2" in line
               for line in lines)  # fmt: skip
    # The primary got each request as written; the successor without topP.
    to_old, to_new = sent_to(rehearsed.requests, OLD), sent_to(rehearsed.requests, NEW)
    assert sum("topP" in body.get("inferenceConfig", {}) for body in to_old) == 2
    assert all("topP" not in body.get("inferenceConfig", {}) for body in to_new)
    assert len(to_new) == 5
    # The conversation went out as user / assistant / user.
    assert ["user", "assistant", "user"] in [[m["role"] for m in b["messages"]] for b in to_old]

    ledger = rehearsed.ledger
    assert stat.S_IMODE(ledger.stat().st_mode) == 0o600
    assert stat.S_IMODE(ledger.parent.stat().st_mode) == 0o700
    records = read_shadow_records(ledger)
    assert len(records) == 5
    for record in records:
        assert isinstance(record, ShadowRecord)
        assert (record.primary_model_id, record.shadow_model_id) == (OLD, NEW)
        assert record.primary.ok
        assert record.shadow.ok
        assert record.primary.output_chars == len(OLD_REPLY)
        assert (record.primary.text, record.shadow.text, record.prompt) == (None, None, None)
        assert (record.primary.latency_ms or 0) > 0
        assert record.primary.cost_usd == pytest.approx((1000 * 3 + 200 * 15) / 1e6)
        assert record.shadow.cost_usd == pytest.approx((1000 * 3 + 100 * 15) / 1e6)
        assert 0.2 < (record.similarity or 0) < 0.8
        assert len(record.prompt_hash or "") == 64
    # Figures only: no prompt and no reply in the file.
    text = ledger.read_text(encoding="utf-8")
    assert SECRET not in text
    assert OLD_REPLY not in text


def test_compare_finds_an_adapted_successor_ready(rehearsed: Rehearsed) -> None:
    done = rehearsed.cli("compare", str(rehearsed.ledger))

    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[0].startswith(f"{OLD} -> {NEW}: 5 calls over ")
    assert "success             5/5 (100.0%)  5/5 (100.0%)" in done.stdout
    assert "cost/call              $0.006000     $0.004500  0.75x" in done.stdout
    assert "stop reasons agree: 5 of 5 (100.0%)" in done.stdout
    assert "verdict: ready" in done.stdout
    # The replay lasted seconds: no month is projected from it unless a rate is given.
    assert "pass --calls-per-day N" in done.stdout

    given = rehearsed.cli("compare", str(rehearsed.ledger), "--json", "--calls-per-day", "1000")
    data = json.loads(given.stdout)
    (found,) = data["pairs"]
    assert data["ready"] is True
    assert found["shadow"]["success_rate"] == 1.0
    assert found["primary"]["output_tokens_per_call"] == 200
    assert found["shadow"]["cost_per_call_usd"] == pytest.approx(0.0045)
    # The successor saves $0.0015 a call: $45 a month at 1,000 calls a day.
    assert found["monthly_cost_difference_usd"] == pytest.approx(-45.0)


def test_a_refused_parameter_is_learned_and_the_request_sent_again_adapted(
    cli: CLI, served: FakeBedrock, tmp_path: Path
) -> None:
    """STRICT's refusal of top_k is in no table: Bedrock's answer names it, so the rehearsal
    learns it and sends again without it, as a fallback does; the next prompt that sets it is
    adapted before it is sent."""
    with_top_k = {**converse("Capital of France?"), "additionalModelRequestFields": {"top_k": 40}}
    prompts = write_lines(tmp_path / "prompts.jsonl", with_top_k, with_top_k)
    served.clear_requests()

    done = cli.rehearse(STRICT, prompts, "--out", "out", "--concurrency", "1")
    assert done.returncode == 0, done.stderr
    assert "  successor: 2 ok" in done.stdout
    assert "  adapted:   2 of 2 requests to the successor" in done.stdout
    assert "additionalModelRequestFields.top_k dropped" in done.stdout
    sent = sent_to(served.requests, STRICT)
    assert [body.get("additionalModelRequestFields") for body in sent] == [
        {"top_k": 40},
        None,
        None,
    ]
    assert cli("compare", "out/shadow.jsonl").returncode == 0


def test_a_successor_that_still_refuses_is_not_ready(
    cli: CLI, served: FakeBedrock, tmp_path: Path
) -> None:
    """STRICTER names one refused parameter per answer, three in all: after the fallback's
    three sends the request is still refused, and the report says so."""
    refused = {
        **converse("Capital of France?", temperature=0.5, topP=0.9),
        "additionalModelRequestFields": {"top_k": 40},
    }
    prompts = write_lines(tmp_path / "prompts.jsonl", refused, converse("And of Spain?"))
    served.clear_requests()

    done = cli.rehearse(STRICTER, prompts, "--out", "out", "--concurrency", "1")
    assert done.returncode == 0, done.stderr
    assert "  successor: 1 ok, 1 failed (ValidationException 1)" in done.stdout
    assert len(sent_to(served.requests, STRICTER)) == 3 + 1

    text = cli("compare", "out/shadow.jsonl")
    assert text.returncode == 1
    assert "errors                         -  ValidationException 1" in text.stdout
    assert "verdict: NOT READY" in text.stdout
    assert (
        "  - the successor answered 1 of 2 calls (50.0%), under 99.0% (ValidationException 1)"
        in text.stdout
    )
    assert "  - the successor refused 1 request(s) (ValidationException)" in text.stdout
    # A looser bar lets it pass.
    assert (
        cli("compare", "out/shadow.jsonl", "--min-success", "0.5", "--max-refused", "1").returncode
        == 0
    )


def test_throttling_is_retried_with_backoff(cli: CLI, served: FakeBedrock, tmp_path: Path) -> None:
    served.inject("Converse", FaultKind.THROTTLING, times=1, model_id=NEW)
    prompts = write_lines(tmp_path / "prompts.jsonl", converse("One?"))

    done = cli.rehearse(NEW, prompts, "--out", "out")

    assert done.returncode == 0, done.stderr
    assert "  successor: 1 ok" in done.stdout
    assert served.count("Converse", model_id=NEW, status_code=429) == 1
    assert served.count("Converse", model_id=NEW, status_code=200) == 1
    (record,) = read_shadow_records(tmp_path / "out" / "shadow.jsonl")
    assert record.shadow.ok
    # The latency is the answered attempt's, not the backoff before it.
    assert record.shadow.latency_ms is not None
    assert record.shadow.latency_ms < 1000


def test_a_progress_bar_only_on_a_terminal(cli: CLI, tmp_path: Path) -> None:
    prompts = write_lines(tmp_path / "prompts.jsonl", converse("One?"), converse("Two?"))
    leader, follower = pty.openpty()
    try:
        done = subprocess.run(
            [*COMMAND, "rehearse", "--from", OLD, "--to", NEW, "--prompts", str(prompts),
             "--endpoint-url", cli.endpoint, "--out", "out"],
            stdout=subprocess.PIPE, stderr=follower, text=True, env=cli.env, cwd=tmp_path,
            timeout=TIMEOUT, check=False,
        )  # fmt: skip
        os.close(follower)
        drawn = b""
        while True:
            try:
                chunk = os.read(leader, 65536)
            except OSError:  # EIO: the terminal's other end is closed and drained
                break
            if not chunk:
                break
            drawn += chunk
    finally:
        os.close(leader)
    assert done.returncode == 0
    assert "2 prompts" in drawn.decode("utf-8", "replace")
    assert "2/2" in drawn.decode("utf-8", "replace")


# -- texts and the evaluation export ----------------------------------------------------------


def test_keep_text_feeds_bedrock_evaluation_datasets(cli: CLI, tmp_path: Path) -> None:
    dataset = write_lines(
        tmp_path / "eval.jsonl",
        {"prompt": "Which city is the capital of France?", "referenceResponse": "Paris",
         "category": "geography"},
        {"prompt": "Name the capital of France.", "category": "geography"},
    )  # fmt: skip
    assert cli.rehearse(NEW, dataset, "--keep-text", "--out", "out").returncode == 0
    records = read_shadow_records(tmp_path / "out" / "shadow.jsonl")
    assert {rec.shadow.text for rec in records} == {NEW_REPLY}

    done = cli("compare", "out/shadow.jsonl", "--byoir", "datasets")

    assert done.returncode == 0, done.stderr
    folder = tmp_path / "datasets"
    files = sorted(path.name for path in folder.iterdir())
    assert files == [
        "anthropic.claude-3-5-sonnet-20240620-v1-0.jsonl",
        "us.anthropic.claude-sonnet-4-5-20250929-v1-0.jsonl",
    ]
    for name in files:
        assert stat.S_IMODE((folder / name).stat().st_mode) == 0o600
    lines = [
        json.loads(line) for line in (folder / files[1]).read_text(encoding="utf-8").splitlines()
    ]
    by_prompt = {line["prompt"]: line for line in lines}
    assert by_prompt["Which city is the capital of France?"] == {
        "prompt": "Which city is the capital of France?",
        "referenceResponse": "Paris",
        "category": "geography",
        "modelResponses": [
            {
                "response": NEW_REPLY,
                "modelIdentifier": "us.anthropic.claude-sonnet-4-5-20250929-v1-0",
            }
        ],
    }
    assert "referenceResponse" not in by_prompt["Name the capital of France."]
    assert "evaluation dataset written to" in done.stderr


def test_the_export_needs_kept_texts(rehearsed: Rehearsed, tmp_path: Path) -> None:
    folder = tmp_path / "datasets"
    done = rehearsed.cli("compare", str(rehearsed.ledger), "--byoir", str(folder))

    assert done.returncode == 2
    assert done.stderr.startswith(f"bedrock-lifecycle: error: {folder}: the ledger keeps no texts")
    assert "--keep-text" in done.stderr
    assert len(done.stderr.splitlines()) == 1
    assert not folder.exists()


# -- bad input --------------------------------------------------------------------------------

BAD_LINES = {
    "not JSON": (
        ['{"messages": [{"role": "user", "content": [{"text": "ok"}]}]}', "{not json"],
        "line 2: not JSON",
    ),
    "wrong type": (
        [json.dumps({"messages": [{"role": "user", "content": SECRET}]})],
        "line 1: not a valid Converse request: Invalid type for parameter messages[0].content, "
        "type: <class 'str'>",
    ),
    "turn without its reply": (
        ["", json.dumps({"conversationTurns": [{"prompt": {"content": [{"text": SECRET}]}},
                                               {"prompt": {"content": [{"text": "b"}]}}]})],
        "line 2: conversationTurns[0] has no referenceResponses",
    ),
    "unknown form": ([json.dumps({"question": SECRET})], "line 1: expected a Converse request"),
    "empty prompt": ([json.dumps({"prompt": ""})], "line 1: prompt must be a non-empty string"),
    "no prompts": (["", "  "], "no prompts in the file"),
}  # fmt: skip


@pytest.mark.parametrize("case", ["not JSON", "wrong type"])
def test_a_bad_prompts_file_stops_the_command_before_any_call(
    cli: CLI, served: FakeBedrock, tmp_path: Path, case: str
) -> None:
    lines, reason = BAD_LINES[case]
    prompts = tmp_path / "prompts.jsonl"
    prompts.write_text("\n".join(lines) + "\n", encoding="utf-8")

    done = cli.rehearse(NEW, prompts)

    assert done.returncode == 2
    assert done.stdout == ""
    assert done.stderr.startswith(f"bedrock-lifecycle: error: {prompts}: {reason}"), done.stderr
    assert len(done.stderr.splitlines()) == 1
    assert SECRET not in done.stderr  # an error never quotes the prompt
    assert served.count("Converse") == 0  # nothing was sent
    assert not (tmp_path / "bedrock-rehearsal").exists()


@pytest.mark.parametrize("case", sorted(BAD_LINES))
def test_each_bad_line_is_named_with_its_reason(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], case: str
) -> None:
    from bedrock_lifecycle.cli import main

    lines, reason = BAD_LINES[case]
    prompts = tmp_path / "prompts.jsonl"
    prompts.write_text("\n".join(lines) + "\n", encoding="utf-8")

    out = str(tmp_path / "out")
    status = main(["rehearse", "--from", OLD, "--to", NEW, "--prompts", str(prompts), "--out", out])

    err = capsys.readouterr().err
    assert status == 2
    assert err.startswith(f"bedrock-lifecycle: error: {prompts}: {reason}"), err
    assert SECRET not in err
    assert not (tmp_path / "out").exists()


def test_compare_on_a_ledger_without_shadow_records(cli: CLI, tmp_path: Path) -> None:
    (tmp_path / "usage.jsonl").write_text("", encoding="utf-8")
    done = cli("compare", "usage.jsonl")
    assert done.returncode == 2
    assert done.stderr.startswith("bedrock-lifecycle: error: usage.jsonl: no shadow records")
    missing = cli("compare", "nowhere.jsonl")
    assert missing.returncode == 2
    assert "nowhere.jsonl: no such ledger file" in missing.stderr
