"""The governed client type-checks wherever boto3's typed bedrock-runtime client is expected.

CI runs ``mypy --strict`` on this file (with the ``typing`` extra's stubs installed). Run it:
python examples/typed_client.py
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import bedrock_lifecycle as bl
from bedrock_lifecycle.testing import FakeBedrock

if TYPE_CHECKING:
    from mypy_boto3_bedrock_runtime import BedrockRuntimeClient


def ask(client: BedrockRuntimeClient, question: str) -> str:
    """Application code written against boto3's own client type."""
    response = client.converse(
        modelId="amazon.nova-pro-v1:0",
        messages=[{"role": "user", "content": [{"text": question}]}],
    )
    return response["output"]["message"]["content"][0].get("text", "")


with FakeBedrock() as fake:
    catalog = bl.Catalog(control_client=fake.client("bedrock"), persist=False, clock=fake.clock)
    governed: bl.LifecycleClient = bl.wrap(fake.client("bedrock-runtime"), catalog=catalog)
    print("answer:", ask(governed, "Say hello."))
