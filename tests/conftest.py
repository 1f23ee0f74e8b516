"""Suite-wide isolation: no test writes to the real cache directory or asks EC2 for credentials,
none reads the developer's own bedrock-lifecycle settings, and none leaves process-wide state
(refusals learned by fallbacks and shadows) to the next."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

import bedrock_lifecycle as bl

#: Settings a developer's shell may hold that would change what the tests see.
_OWN_SETTINGS = (
    "BEDROCK_LIFECYCLE_OFFLINE",
    "BEDROCK_LIFECYCLE_TTL",
    "BEDROCK_LIFECYCLE_SOURCE",
    "BEDROCK_LIFECYCLE_SOURCE_MAX_AGE",
    "BEDROCK_LIFECYCLE_POLICY",
)


@pytest.fixture(autouse=True)
def _isolated_environment(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> Iterator[None]:
    monkeypatch.setenv("BEDROCK_LIFECYCLE_CACHE_DIR", str(tmp_path_factory.mktemp("bl-cache")))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    for name in _OWN_SETTINGS:
        monkeypatch.delenv(name, raising=False)
    yield
    bl.ConstraintBook.default().forget_learned()  # learned refusals are process-wide
