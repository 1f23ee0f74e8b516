from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from ._moto_s3 import BUCKET, moto_server, new_session, point_boto3_at
from ._world import ACTIVE_AT, World, scenario


@pytest.fixture(params=["inprocess", "server"])
def world(request: pytest.FixtureRequest) -> Iterator[World]:
    """The shared scenario, served in-process and over loopback HTTP."""
    from bedrock_lifecycle.testing import FakeBedrock

    with FakeBedrock(scenario(), now=ACTIVE_AT) as fake:
        yield World(fake, request.param)


@pytest.fixture
def local_world() -> Iterator[World]:
    """The shared scenario, in-process only (for tests where the transport does not matter)."""
    from bedrock_lifecycle.testing import FakeBedrock

    with FakeBedrock(scenario(), now=ACTIVE_AT) as fake:
        yield World(fake, "inprocess")


@pytest.fixture(scope="session")
def s3_server() -> Iterator[str]:
    """moto's S3 server on loopback, for the fleet tests (started on first use)."""
    with moto_server() as url:
        yield url


@pytest.fixture
def s3(s3_server: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[Any]:
    """An S3 client on moto's server, with the bucket; the environment points boto3 there too
    (code that builds its own client finds it), and the default cache is the test's own."""
    point_boto3_at(monkeypatch, s3_server)
    monkeypatch.setenv("BEDROCK_LIFECYCLE_CACHE_DIR", str(tmp_path / "default-cache"))
    client = new_session().client("s3")
    if BUCKET not in {b["Name"] for b in client.list_buckets()["Buckets"]}:
        client.create_bucket(Bucket=BUCKET)
    yield client
    client.close()
