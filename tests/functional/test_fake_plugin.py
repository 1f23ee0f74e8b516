"""The ``fake_bedrock`` pytest fixture (the plugin is active through the pytest11 entry point)."""

from __future__ import annotations

import importlib.util
import os
from datetime import date
from pathlib import Path

import boto3
import pytest

from bedrock_lifecycle.testing import FakeBedrock, FakeModel, Scenario

_SEEN: dict[str, str] = {}


def test_fixture_serves_the_default_scenario(fake_bedrock: FakeBedrock) -> None:
    assert isinstance(fake_bedrock, FakeBedrock)
    assert fake_bedrock.port is not None  # started
    assert fake_bedrock.scenario == Scenario.default()
    runtime = fake_bedrock.client("bedrock-runtime")
    runtime.converse(modelId="amazon.nova-pro-v1:0", messages=[])
    assert fake_bedrock.count("Converse") == 1


def test_plain_boto3_clients_reach_the_fake_with_dummy_credentials(
    fake_bedrock: FakeBedrock,
) -> None:
    assert os.environ["AWS_ENDPOINT_URL_BEDROCK_RUNTIME"] == fake_bedrock.endpoint_url
    assert "AWS_PROFILE" not in os.environ
    assert "AWS_BEARER_TOKEN_BEDROCK" not in os.environ
    credentials = boto3.Session().get_credentials()
    assert credentials is not None
    assert credentials.access_key == os.environ["AWS_ACCESS_KEY_ID"]
    assert credentials.access_key.startswith("AKIAFAKE")
    client = boto3.client("bedrock")
    names = [m["modelId"] for m in client.list_foundation_models()["modelSummaries"]]
    assert "amazon.nova-pro-v1:0" in names
    assert fake_bedrock.requests[-1].mode == "server"
    _SEEN["endpoint"] = fake_bedrock.endpoint_url


def test_environment_is_restored_after_the_fixture() -> None:
    assert os.environ.get("AWS_ENDPOINT_URL_BEDROCK_RUNTIME") != _SEEN.get("endpoint", "-")
    assert not os.environ.get("AWS_ACCESS_KEY_ID", "").startswith("AKIAFAKE")


class TestScenarioOverride:
    @pytest.fixture
    def fake_bedrock_scenario(self) -> Scenario:
        return Scenario(
            models=(FakeModel("acme.tiny-v1:0", eol_at=date(2026, 2, 1)),),
            now=date(2026, 1, 1),
        )

    def test_the_supplied_scenario_is_served(self, fake_bedrock: FakeBedrock) -> None:
        control = fake_bedrock.client("bedrock", mode="server")
        summaries = control.list_foundation_models()["modelSummaries"]
        assert [(s["modelId"], s["providerName"]) for s in summaries] == [
            ("acme.tiny-v1:0", "Acme")
        ]
        fake_bedrock.set_time(fake_bedrock.now.replace(month=3))
        assert control.list_foundation_models()["modelSummaries"] == []


def test_documented_example_runs_and_matches_the_docs() -> None:
    root = Path(__file__).resolve().parents[2]
    source = (root / "examples" / "test_with_fake.py").read_text("utf-8")
    docs = (root / "docs" / "testing.md").read_text("utf-8")
    body = source.split('"""', 2)[2].strip()
    assert body in docs
    assert len(source.splitlines()) < 20
    spec = importlib.util.spec_from_file_location(
        "example_test_with_fake", root / "examples" / "test_with_fake.py"
    )
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    with FakeBedrock() as fake:
        module.test_model_reaches_end_of_life(fake)
