"""The environment every ``bedrock-lifecycle`` subprocess of the tests runs in."""

from __future__ import annotations

import os
from pathlib import Path


def cli_env(cache_dir: Path, access_key_id: str | None = None) -> dict[str, str]:
    """This process's environment without AWS or bedrock-lifecycle settings: its own cache, no
    AWS configuration or instance metadata, plain output, warnings as errors, and (with
    ``access_key_id``) dummy credentials for a fake endpoint."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("AWS_", "BEDROCK_LIFECYCLE_")) and key != "NO_COLOR"
    }
    env.update(
        BEDROCK_LIFECYCLE_CACHE_DIR=str(cache_dir),
        NO_COLOR="1",
        AWS_CONFIG_FILE=os.devnull,
        AWS_SHARED_CREDENTIALS_FILE=os.devnull,
        AWS_EC2_METADATA_DISABLED="true",
        PYTHONWARNINGS="error",
    )
    if access_key_id is not None:
        env.update(AWS_ACCESS_KEY_ID=access_key_id, AWS_SECRET_ACCESS_KEY="fake")
    return env
