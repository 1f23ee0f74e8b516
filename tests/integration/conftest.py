"""Shared set-up for the framework integration tests (LangChain, Strands).

Every test runs against the project's fake Bedrock at a moment when Claude 3.5 Sonnet v1 is past
its end of life in us-east-1 (2026-03-01 in the fake's default scenario), with Claude Sonnet 4
as the configured successor. The successor answers with a fixed reply and fixed token counts,
so a test can tell which model answered and that usage went through unaltered.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest

import bedrock_lifecycle as bl
from bedrock_lifecycle.testing import FakeBedrock, FakeUsage, Scenario
from bedrock_lifecycle.testing.pytest_plugin import dummy_aws_environment

EOL_MODEL = "anthropic.claude-3-5-sonnet-20240620-v1:0"
SUCCESSOR = "anthropic.claude-sonnet-4-20250514-v1:0"
EOL_PROFILE = f"us.{EOL_MODEL}"
SUCCESSOR_PROFILE = f"us.{SUCCESSOR}"
SUCCESSOR_REPLY = "Hello from the successor model."
EOL_REPLY = "Hello from the retired model."
SUCCESSOR_INPUT_TOKENS = 21
SUCCESSOR_OUTPUT_TOKENS = 13
AFTER_EOL = datetime(2026, 3, 15, tzinfo=timezone.utc)
DUMMY_ACCESS_KEY = "AKIAINTEGRATIONTEST0"
DUMMY_SECRET_KEY = "integration-test-dummy-secret"


@pytest.fixture(autouse=True)
def _no_aws(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Dummy credentials and no AWS config, so nothing a framework builds can reach AWS."""
    dummy_aws_environment(monkeypatch, "us-east-1")
    monkeypatch.setenv("AWS_REGION", "us-east-1")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", DUMMY_ACCESS_KEY)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", DUMMY_SECRET_KEY)
    monkeypatch.setenv("BEDROCK_LIFECYCLE_CACHE_DIR", str(tmp_path / "bl-cache"))


def integration_scenario() -> Scenario:
    """The default scenario, with fixed replies and token counts on the two Sonnets."""
    default = Scenario.default()
    successor = default.model(SUCCESSOR)
    retired = default.model(EOL_MODEL)
    assert successor is not None
    assert retired is not None
    return default.with_models(
        dataclasses.replace(
            successor,
            reply=SUCCESSOR_REPLY,
            usage=FakeUsage(
                input_tokens=SUCCESSOR_INPUT_TOKENS, output_tokens=SUCCESSOR_OUTPUT_TOKENS
            ),
        ),
        dataclasses.replace(retired, reply=EOL_REPLY),
    )


@pytest.fixture
def fake() -> Iterator[FakeBedrock]:
    """The fake Bedrock, its clock two weeks past Claude 3.5 Sonnet v1's end of life."""
    with FakeBedrock(integration_scenario(), now=AFTER_EOL) as bedrock:
        yield bedrock


CatalogFactory = Callable[..., bl.Catalog]


@pytest.fixture
def make_catalog(fake: FakeBedrock) -> Iterator[CatalogFactory]:
    """Catalogs on the fake's clock, kept in memory, closed after the test.

    ``informed=True`` (default): the catalog reads the fake's control plane and the bundled
    snapshot, so it knows the model is past end of life. ``informed=False``: offline, no bundled
    data, no overrides, so it knows nothing and only Bedrock's error can tell.
    """
    made: list[bl.Catalog] = []

    def make(*, informed: bool = True, **options: Any) -> bl.Catalog:
        options.setdefault("persist", False)
        options.setdefault("clock", fake.clock)
        if informed:
            options.setdefault("control_client", fake.client("bedrock"))
        else:
            options.update(offline=True, bundled=False)
        catalog = bl.Catalog(**options)
        made.append(catalog)
        return catalog

    yield make
    for catalog in made:
        catalog.close(timeout=5)


@pytest.fixture
def install_everywhere() -> Iterator[Callable[..., bl.Governor]]:
    """``bl.install(...)`` without a session (every client the process creates is governed),
    uninstalled after the test even when it fails, so no later test inherits it."""

    def install(**options: Any) -> bl.Governor:
        return bl.install(**options)

    yield install
    bl.uninstall()


@pytest.fixture
def policy() -> bl.Policy:
    """Sonnet 3.5 v1 goes to Sonnet 4 once past end of life."""
    return bl.Policy(successors={EOL_MODEL: SUCCESSOR})
