from __future__ import annotations

from collections.abc import Iterator

import pytest

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
