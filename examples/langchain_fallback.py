"""LangChain's ChatBedrockConverse on a model past end of life, answered by its successor.

The only change to a LangChain application is ``client=bl.wrap(...)``. This script runs
offline: the fake Bedrock from ``bedrock_lifecycle.testing`` stands in for AWS, its clock set
two weeks after Claude 3.5 Sonnet v1's end of life in us-east-1.

    python examples/langchain_fallback.py
"""

from __future__ import annotations

import warnings
from datetime import datetime, timezone

from langchain_aws import ChatBedrockConverse

import bedrock_lifecycle as bl
from bedrock_lifecycle.testing import FakeBedrock

RETIRED = "anthropic.claude-3-5-sonnet-20240620-v1:0"
SUCCESSOR = "anthropic.claude-sonnet-4-20250514-v1:0"


def main() -> None:
    with FakeBedrock(now=datetime(2026, 3, 15, tzinfo=timezone.utc)) as fake:
        # In an application: catalog=None (the shared default) and boto3.client(...) below.
        catalog = bl.Catalog(control_client=fake.client("bedrock"), persist=False, clock=fake.clock)
        ledger = bl.MemoryLedger()
        runtime = bl.wrap(
            fake.client("bedrock-runtime", mode="server"),  # boto3.client("bedrock-runtime")
            policy=bl.Policy(successors={RETIRED: SUCCESSOR}),
            catalog=catalog,
            ledger=ledger,
        )
        chat = ChatBedrockConverse(
            client=runtime,  # LangChain uses this client as given
            bedrock_client=fake.client("bedrock"),  # omit in an application
            model=f"us.{RETIRED}",
            region_name="us-east-1",
        )

        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", bl.FallbackWarning)
            answer = chat.invoke("Say hello.")
            streamed = "".join(chunk.text for chunk in chat.stream("Say hello again."))

        for warning in caught:
            print(f"warning: {warning.category.__name__}: {warning.message}")
        decided = answer.response_metadata["ResponseMetadata"]["BedrockLifecycle"]
        print(f"answer: {answer.text}")
        print(f"streamed: {streamed}")
        print(f"requested: {decided['requestedModelId']} ({decided['state']})")
        print(f"invoked: {decided['invokedModelId']}")
        for record in ledger.records():
            print(
                f"ledger: {record.operation} {record.invoked_model_id} "
                f"fallback_from={record.fallback_from} "
                f"tokens={record.input_tokens}/{record.output_tokens}"
            )
        catalog.close()


if __name__ == "__main__":
    main()
