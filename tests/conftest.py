"""Suite-wide isolation: no test writes to the real cache directory or asks EC2 for credentials."""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def _isolated_environment(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("BEDROCK_LIFECYCLE_CACHE_DIR", str(tmp_path_factory.mktemp("bl-cache")))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.delenv("BEDROCK_LIFECYCLE_OFFLINE", raising=False)
    monkeypatch.delenv("BEDROCK_LIFECYCLE_TTL", raising=False)
