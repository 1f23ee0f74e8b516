"""The async suite: real aiobotocore clients against the fake Bedrock's loopback server.

Isolated as the main suite is (no real cache directory, no EC2 credentials), and with no AWS
configuration files at all.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Iterator

import pytest

from bedrock_lifecycle.testing import FakeBedrock

from ._world import ACTIVE_AT, AioWorld, scenario


@pytest.fixture(autouse=True)
def _isolated_environment(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("BEDROCK_LIFECYCLE_CACHE_DIR", str(tmp_path_factory.mktemp("bl-cache")))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.setenv("AWS_CONFIG_FILE", os.devnull)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", os.devnull)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    monkeypatch.delenv("BEDROCK_LIFECYCLE_OFFLINE", raising=False)
    monkeypatch.delenv("BEDROCK_LIFECYCLE_TTL", raising=False)


@pytest.fixture
def fake() -> Iterator[FakeBedrock]:
    """The shared scenario of the main suite's client tests, over loopback HTTP."""
    with FakeBedrock(scenario(), now=ACTIVE_AT) as served:
        served.start()
        yield served


@pytest.fixture
async def world(fake: FakeBedrock) -> AsyncIterator[AioWorld]:
    """The fake plus factories for governed aiobotocore clients (closed after the test)."""
    async with AioWorld(fake) as made:
        yield made
