"""Getting started: govern a bedrock-runtime client, offline, against the built-in fake.

In your application the two lines marked "real" replace the fake: everything else is the same.
Run it: python examples/getting_started.py
"""

from __future__ import annotations

import warnings
from datetime import datetime, timezone

import bedrock_lifecycle as bl
from bedrock_lifecycle.testing import FakeBedrock, FakeModel, Scenario

OLD = "anthropic.claude-3-5-sonnet-20240620-v1:0"
NEW = "anthropic.claude-sonnet-4-20250514-v1:0"

world = Scenario(
    models=(
        FakeModel(
            OLD,
            legacy_at=datetime(2025, 8, 25),
            extended_access_at=datetime(2025, 12, 1),
            eol_at=datetime(2026, 3, 1),
        ),
        FakeModel(NEW),
    )
)
policy = bl.Policy(successors={OLD: NEW})
messages = [{"role": "user", "content": [{"text": "Say hello."}]}]

with FakeBedrock(world, now=datetime(2026, 1, 15, tzinfo=timezone.utc)) as fake:
    # real: client = bl.client(region_name="us-east-1", policy=policy)
    catalog = bl.Catalog(control_client=fake.client("bedrock"), persist=False, clock=fake.clock)
    # The fake's client is typed Any, so wrap() cannot tell sync from async: say which it is.
    client: bl.LifecycleClient = bl.wrap(
        fake.client("bedrock-runtime"), policy=policy, catalog=catalog
    )

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        response = client.converse(modelId=f"us.{OLD}", messages=messages)
    print("January:", caught[0].category.__name__, "-", caught[0].message)
    print("  invoked:", (bl.lifecycle_metadata(response) or {}).get("invokedModelId"))

    fake.set_time(datetime(2026, 3, 2, tzinfo=timezone.utc))  # the day after end of life
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        response = client.converse(modelId=f"us.{OLD}", messages=messages)
    print("March:", caught[0].category.__name__, "-", caught[0].message)
    print("  invoked:", (bl.lifecycle_metadata(response) or {}).get("invokedModelId"))

    for record in client.ledger.records():  # type: ignore[union-attr]
        print("ledger:", record.invoked_model_id, record.input_tokens, record.output_tokens)
