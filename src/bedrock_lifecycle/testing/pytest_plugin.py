"""pytest plugin (registered through the ``pytest11`` entry point): the ``fake_bedrock`` fixture.

``fake_bedrock`` is a started :class:`FakeBedrock` serving ``fake_bedrock_scenario`` (by default
:meth:`Scenario.default`; override the fixture to supply another). For the duration of the test
only, the environment carries dummy AWS credentials, no profile or config files, no bearer token,
and ``AWS_ENDPOINT_URL_BEDROCK`` / ``AWS_ENDPOINT_URL_BEDROCK_RUNTIME`` pointing at the fake, so
``boto3.client("bedrock-runtime")`` in the code under test reaches the fake and never AWS.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from ._fake import DUMMY_ACCESS_KEY, DUMMY_SECRET_KEY, FakeBedrock
from ._scenario import Scenario

__all__ = ["dummy_aws_environment", "fake_bedrock", "fake_bedrock_scenario"]

_CLEARED = (
    "AWS_PROFILE",
    "AWS_DEFAULT_PROFILE",
    "AWS_SESSION_TOKEN",
    "AWS_SECURITY_TOKEN",
    "AWS_BEARER_TOKEN_BEDROCK",
    "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
    "AWS_CONTAINER_CREDENTIALS_FULL_URI",
    "AWS_WEB_IDENTITY_TOKEN_FILE",
    "AWS_ROLE_ARN",
    "AWS_ENDPOINT_URL",
    "AWS_ENDPOINT_URL_BEDROCK",
    "AWS_ENDPOINT_URL_BEDROCK_RUNTIME",
)


def dummy_aws_environment(monkeypatch: pytest.MonkeyPatch, region: str = "us-east-1") -> None:
    """Point boto3 at nothing real for the rest of the test: dummy credentials, no profiles,
    config or credential files, no instance metadata, one attempt per call."""
    for name in _CLEARED:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", DUMMY_ACCESS_KEY)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", DUMMY_SECRET_KEY)
    monkeypatch.setenv("AWS_DEFAULT_REGION", region)
    monkeypatch.setenv("AWS_CONFIG_FILE", os.devnull)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", os.devnull)
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "1")


@pytest.fixture
def fake_bedrock_scenario() -> Scenario:
    """The scenario ``fake_bedrock`` serves; override this fixture to change it."""
    return Scenario.default()


@pytest.fixture
def fake_bedrock(
    fake_bedrock_scenario: Scenario, monkeypatch: pytest.MonkeyPatch
) -> Iterator[FakeBedrock]:
    """A started fake Bedrock, with dummy AWS settings in the environment for this test only."""
    dummy_aws_environment(monkeypatch, fake_bedrock_scenario.default_region)
    with FakeBedrock(fake_bedrock_scenario) as fake:
        monkeypatch.setenv("AWS_ENDPOINT_URL_BEDROCK", fake.endpoint_url)
        monkeypatch.setenv("AWS_ENDPOINT_URL_BEDROCK_RUNTIME", fake.endpoint_url)
        yield fake
