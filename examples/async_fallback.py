"""An aiobotocore service on a model past end of life, answered by its successor.

``bl.aio.client()`` builds a governed aiobotocore ``bedrock-runtime`` client (``bl.wrap()``
governs one you already have): every method is awaited as aiobotocore's is, and the lifecycle
rules are the sync client's. This script runs offline against the fake Bedrock, its clock set
two weeks after Claude 3.5 Sonnet v1's end of life in us-east-1. It needs the ``aio`` extra:

    pip install 'bedrock-lifecycle[aio]'
    python examples/async_fallback.py
"""

from __future__ import annotations

import asyncio
import warnings
from datetime import datetime, timezone

import bedrock_lifecycle as bl
from bedrock_lifecycle.testing import FakeBedrock

RETIRED = "anthropic.claude-3-5-sonnet-20240620-v1:0"
SUCCESSOR = "anthropic.claude-sonnet-4-20250514-v1:0"  # sold through inference profiles only
MODEL = f"us.{RETIRED}"  # a cross-region profile: the fallback keeps the "us." form
MESSAGES = [{"role": "user", "content": [{"text": "Say hello."}]}]


async def main(fake: FakeBedrock) -> None:
    # In an application: bl.aio.client(region_name="us-east-1", policy=...) and no catalog.
    catalog = bl.Catalog(control_client=fake.client("bedrock"), persist=False, clock=fake.clock)
    async with bl.aio.client(
        region_name="us-east-1",
        endpoint_url=fake.endpoint_url,  # omit in an application
        aws_access_key_id="AKIAEXAMPLEEXAMPLE00",  # omit in an application
        aws_secret_access_key="example-secret",
        policy=bl.Policy(successors={RETIRED: SUCCESSOR}),
        catalog=catalog,
    ) as client:
        with warnings.catch_warnings(record=True) as said:
            warnings.simplefilter("always", bl.LifecycleWarning)
            response = await client.converse(modelId=MODEL, messages=MESSAGES)
        for warning in said:
            print(f"{warning.category.__name__}: {str(warning.message).splitlines()[0]}")
        print("invoked:", (bl.lifecycle_metadata(response) or {}).get("invokedModelId"))

        # Streams are read with async for; their usage is recorded when they end.
        streamed = await client.converse_stream(modelId=MODEL, messages=MESSAGES)
        text = "".join(
            [
                event["contentBlockDelta"]["delta"].get("text", "")
                async for event in streamed["stream"]
                if "contentBlockDelta" in event
            ]
        )
        print("streamed:", text)

        # Ten calls at once: each is decided, sent and recorded on its own.
        await asyncio.gather(
            *(client.converse(modelId=MODEL, messages=MESSAGES) for _ in range(10))
        )
        records = client.ledger.records()  # type: ignore[union-attr]
        print(f"ledger: {len(records)} records, all on {records[-1].invoked_model_id}")


if __name__ == "__main__":
    with FakeBedrock(now=datetime(2026, 3, 15, tzinfo=timezone.utc)) as served:
        asyncio.run(main(served))
