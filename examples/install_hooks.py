"""install(): govern every bedrock-runtime client a boto3 session creates, offline.

Useful when clients are built inside libraries you do not control. No successor is configured
here: the bundled snapshot of AWS's lifecycle tables knows that Titan Text Express reached end of
life on 2025-08-15 and that AWS recommends Nova Micro instead. Run it:
python examples/install_hooks.py
"""

from __future__ import annotations

import warnings
from datetime import datetime, timezone

import bedrock_lifecycle as bl
from bedrock_lifecycle.testing import FakeBedrock, FakeModel, Scenario

OLD = "amazon.titan-text-express-v1"
world = Scenario(
    models=(FakeModel(OLD, eol_at=datetime(2025, 8, 15)), FakeModel("amazon.nova-micro-v1:0"))
)

with FakeBedrock(world, now=datetime(2025, 9, 1, tzinfo=timezone.utc)) as fake:
    session = fake.session("us-east-1")  # real: boto3.Session(), or nothing for the default one
    catalog = bl.Catalog(control_client=fake.client("bedrock"), persist=False, clock=fake.clock)
    governor = bl.install(session, catalog=catalog)

    runtime = session.client("bedrock-runtime")  # an ordinary boto3 client
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        response = runtime.converse(
            modelId=OLD, messages=[{"role": "user", "content": [{"text": "Say hello."}]}]
        )
    print(caught[0].category.__name__, "-", caught[0].message)
    print("invoked:", (bl.lifecycle_metadata(response) or {}).get("invokedModelId"))
    print("ledger records:", len(governor.ledger.records()))  # type: ignore[union-attr]
    bl.uninstall(session)
