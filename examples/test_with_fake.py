"""A user's test against the fake: a model reaches end of life and Bedrock says so."""

from datetime import datetime, timezone

import pytest
from botocore.exceptions import ClientError


def test_model_reaches_end_of_life(fake_bedrock):
    runtime = fake_bedrock.client("bedrock-runtime", region_name="us-east-1")
    model = "anthropic.claude-3-5-sonnet-20240620-v1:0"
    runtime.converse(modelId=model, messages=[{"role": "user", "content": [{"text": "hi"}]}])
    fake_bedrock.set_time(datetime(2026, 3, 1, tzinfo=timezone.utc))
    with pytest.raises(ClientError) as caught:
        runtime.converse(modelId=model, messages=[])
    assert caught.value.response["Error"]["Code"] == "ResourceNotFoundException"
    assert fake_bedrock.count("Converse", status_code=404) == 1
