"""A Strands agent on a model past end of life, answered by its successor.

The only change to a Strands application is ``model.client = bl.wrap(model.client, ...)``.
This script runs offline: the fake Bedrock from ``bedrock_lifecycle.testing`` stands in for
AWS, its clock set two weeks after Claude 3.5 Sonnet v1's end of life in us-east-1.

    python examples/strands_fallback.py
"""

from __future__ import annotations

import warnings
from datetime import datetime, timezone

from strands import Agent
from strands.models import BedrockModel

import bedrock_lifecycle as bl
from bedrock_lifecycle.testing import FakeBedrock

RETIRED = "anthropic.claude-3-5-sonnet-20240620-v1:0"
SUCCESSOR = "anthropic.claude-sonnet-4-20250514-v1:0"


def main() -> None:
    with FakeBedrock(now=datetime(2026, 3, 15, tzinfo=timezone.utc)) as fake:
        # In an application: catalog=None (the shared default), and no boto_session below
        # (or the session you already use).
        catalog = bl.Catalog(control_client=fake.client("bedrock"), persist=False, clock=fake.clock)
        ledger = bl.MemoryLedger()
        model = BedrockModel(model_id=f"us.{RETIRED}", boto_session=fake.session("us-east-1"))
        model.client = bl.wrap(
            model.client,  # the client Strands built, now governed
            policy=bl.Policy(successors={RETIRED: SUCCESSOR}),
            catalog=catalog,
            ledger=ledger,
        )
        agent = Agent(model=model, callback_handler=None)

        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", bl.FallbackWarning)
            result = agent("Say hello.")

        for warning in caught:
            print(f"warning: {warning.category.__name__}: {warning.message}")
        print(f"answer: {str(result).strip()}")
        for request in fake.requests:
            if request.model_id is not None:
                print(
                    f"bedrock saw: {request.operation} {request.model_id} -> {request.status_code}"
                )
        for record in ledger.records():
            print(
                f"ledger: {record.operation} {record.invoked_model_id} "
                f"fallback_from={record.fallback_from} "
                f"tokens={record.input_tokens}/{record.output_tokens}"
            )
        catalog.close()


if __name__ == "__main__":
    main()
