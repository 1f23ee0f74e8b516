"""A shared scenario for the client and hook tests.

OLD (Claude 3.5 Sonnet v1) ages in us-east-1: Legacy 2025-08-25, extended access 2025-12-01,
EOL 2026-03-01; in eu-central-2 everything is three months later. MID (Claude 3.7 Sonnet) goes EOL
on 2026-02-01 so that chains OLD -> MID -> NEW have a dead middle link. TITAN is an EOL Titan
Text model whose InvokeModel body NOVA cannot read.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date, datetime, timezone
from typing import Any

import bedrock_lifecycle as bl
from bedrock_lifecycle.testing import (
    FakeBedrock,
    FakeInferenceProfile,
    FakeModel,
    FakeUsage,
    LifecycleDates,
    Scenario,
)

OLD = "anthropic.claude-3-5-sonnet-20240620-v1:0"
MID = "anthropic.claude-3-7-sonnet-20250219-v1:0"
NEW = "anthropic.claude-sonnet-4-20250514-v1:0"
V2 = "anthropic.claude-3-5-sonnet-20241022-v2:0"
TITAN = "amazon.titan-text-express-v1"
NOVA = "amazon.nova-lite-v1:0"
REGIONS = ("us-east-1", "eu-central-2")


def utc(year: int, month: int, day: int, *rest: int) -> datetime:
    return datetime(year, month, day, *rest, tzinfo=timezone.utc)


ACTIVE_AT = utc(2025, 6, 1)
LEGACY_AT = utc(2025, 9, 15)
EXTENDED_AT = utc(2026, 1, 15)
EOL_AT = utc(2026, 3, 2)

USAGE = FakeUsage(input_tokens=1000, output_tokens=500)


def scenario() -> Scenario:
    return Scenario(
        models=(
            FakeModel(
                OLD,
                regions=("us-east-1",),
                legacy_at=date(2025, 8, 25),
                extended_access_at=date(2025, 12, 1),
                eol_at=date(2026, 3, 1),
                per_region={
                    "eu-central-2": LifecycleDates(
                        legacy_at=date(2025, 11, 25),
                        extended_access_at=date(2026, 3, 1),
                        eol_at=date(2026, 6, 1),
                    )
                },
                usage=USAGE,
            ),
            FakeModel(
                MID,
                regions=REGIONS,
                legacy_at=date(2025, 10, 1),
                eol_at=date(2026, 2, 1),
                usage=USAGE,
            ),
            FakeModel(NEW, regions=REGIONS, usage=USAGE),
            FakeModel(
                V2,
                regions=("us-east-1",),
                legacy_at=date(2025, 8, 25),
                extended_access_at=date(2025, 12, 1),
                eol_at=date(2026, 10, 1),
                usage=USAGE,
            ),
            FakeModel(
                TITAN,
                regions=("us-east-1",),
                legacy_at=date(2025, 4, 1),
                eol_at=date(2025, 8, 15),
                usage=USAGE,
            ),
            FakeModel(NOVA, regions=("us-east-1",), usage=USAGE),
        ),
        profiles=(FakeInferenceProfile("app-old", OLD, region="us-east-1"),),
    )


@dataclass
class World:
    """A fake Bedrock plus factories for governed clients that share its clock."""

    fake: FakeBedrock
    mode: str

    def catalog(self, **kwargs: Any) -> bl.Catalog:
        """A catalog on the fake's clock; ``warm=False`` for one that has never seen a model."""
        kwargs.setdefault("persist", False)
        kwargs.setdefault("bundled", False)
        kwargs.setdefault("max_wait", 5.0)
        if not kwargs.get("offline"):
            kwargs.setdefault(
                "client_factory",
                lambda region: self.fake.client("bedrock", region, mode=self.mode),
            )
        warm = kwargs.pop("warm", True)
        catalog = bl.Catalog(clock=lambda: self.fake.now, **kwargs)
        if warm and not catalog.offline:
            # A catalog that has been running since the models were Active, as in production:
            # Bedrock drops a model from ListFoundationModels after its EOL, and a catalog that
            # knew it keeps its dates.
            now = self.fake.now
            self.fake.set_time(ACTIVE_AT)
            catalog.refresh("us-east-1")
            self.fake.set_time(now)
            self.fake.clear_requests()
        return catalog

    def runtime(self, region: str = "us-east-1") -> Any:
        return self.fake.client("bedrock-runtime", region, mode=self.mode)

    def client(
        self,
        *,
        region: str = "us-east-1",
        catalog: bl.Catalog | None = None,
        **kwargs: Any,
    ) -> bl.LifecycleClient:
        kwargs.setdefault("ledger", bl.MemoryLedger())
        return bl.wrap(self.runtime(region), catalog=catalog or self.catalog(), **kwargs)

    def at(self, when: datetime) -> None:
        self.fake.set_time(when)

    def invoked(self, operation: str | None = None) -> list[str | None]:
        """Model ids as sent, for successful requests (optionally of one operation)."""
        return [
            r.model_id
            for r in self.fake.requests
            if r.status_code < 300
            and r.error_code is None
            and r.operation not in CONTROL_OPERATIONS
            and (operation is None or r.operation == operation)
        ]


CONTROL_OPERATIONS = frozenset(
    {
        "ListFoundationModels",
        "GetFoundationModel",
        "GetInferenceProfile",
        "ListInferenceProfiles",
        "GetProvisionedModelThroughput",
        "GetCustomModel",
    }
)

MESSAGES = [{"role": "user", "content": [{"text": "Say hello."}]}]
# max_tokens above every output the test worlds configure: the fake, as Bedrock, reports no more
# output tokens than the request allows.
ANTHROPIC_BODY = (
    b'{"anthropic_version": "bedrock-2023-05-31", "max_tokens": 1024,'
    b' "messages": [{"role": "user", "content": "Say hello."}]}'
)
TITAN_BODY = b'{"inputText": "Say hello.", "textGenerationConfig": {"maxTokenCount": 1024}}'


def call(client: Any, operation: str, model_id: str, body: bytes = ANTHROPIC_BODY) -> Any:
    """Make one call of ``operation`` and drain any stream; returns the response."""
    if operation == "Converse":
        return client.converse(modelId=model_id, messages=MESSAGES)
    if operation == "ConverseStream":
        response = client.converse_stream(modelId=model_id, messages=MESSAGES)
        response["events"] = list(response["stream"])
        return response
    if operation == "InvokeModel":
        response = client.invoke_model(modelId=model_id, body=body)
        response["payload"] = response["body"].read()
        return response
    if operation == "InvokeModelWithResponseStream":
        response = client.invoke_model_with_response_stream(modelId=model_id, body=body)
        response["events"] = list(response["body"])
        return response
    if operation == "CountTokens":
        return client.count_tokens(modelId=model_id, input={"converse": {"messages": MESSAGES}})
    if operation == "StartAsyncInvoke":
        return client.start_async_invoke(
            modelId=model_id,
            modelInput={"inputText": "hello"},
            outputDataConfig={"s3OutputDataConfig": {"s3Uri": "s3://bucket/out/"}},
        )
    raise AssertionError(operation)


OPERATIONS = (
    "Converse",
    "ConverseStream",
    "InvokeModel",
    "InvokeModelWithResponseStream",
    "CountTokens",
    "StartAsyncInvoke",
)
RECORDED = ("Converse", "ConverseStream", "InvokeModel", "InvokeModelWithResponseStream")


def world_fixture(mode: str) -> Callable[[], Iterator[World]]:
    def make() -> Iterator[World]:
        with FakeBedrock(scenario(), now=ACTIVE_AT) as fake:
            yield World(fake, mode)

    return make
