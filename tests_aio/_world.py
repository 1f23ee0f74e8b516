"""The main suite's shared scenario (tests/functional/_world.py), for aiobotocore clients."""

from __future__ import annotations

from contextlib import AsyncExitStack
from types import TracebackType
from typing import Any

from aiobotocore.config import AioConfig
from aiobotocore.session import get_session
from tests.functional._world import (
    ACTIVE_AT,
    ANTHROPIC_BODY,
    EOL_AT,
    EXTENDED_AT,
    LEGACY_AT,
    MESSAGES,
    NEW,
    NOVA,
    OLD,
    OPERATIONS,
    RECORDED,
    World,
    scenario,
    utc,
)

import bedrock_lifecycle as bl

__all__ = [
    "ACTIVE_AT",
    "ANTHROPIC_BODY",
    "DUMMY_KEY",
    "DUMMY_SECRET",
    "EOL_AT",
    "EOL_MESSAGE",
    "EXTENDED_AT",
    "LEGACY_AT",
    "MESSAGES",
    "NEW",
    "NOVA",
    "OLD",
    "OPERATIONS",
    "RECORDED",
    "AioWorld",
    "call",
    "meta",
    "scenario",
    "utc",
]

DUMMY_KEY = "AKIAFAKEBEDROCKTEST0"
DUMMY_SECRET = "fake-bedrock-secret-key-not-a-credential"
EOL_MESSAGE = (
    "This model version has reached the end of its life. Please refer to the AWS "
    "documentation for more details."
)


def scenario_dates(fake: Any) -> dict[str, Any]:
    """The scenario's lifecycle dates as catalog overrides.

    aiobotocore pins an older botocore (2.25.1: botocore 1.40.61) whose ``bedrock`` model reads
    only ``status`` in ListFoundationModels' ``modelLifecycle``: the dates the fake serves are
    dropped by the parser, as they would be from AWS. The catalog gets them this way instead
    (in production: from the bundled data, a cache file or overrides).
    """

    def dates(source: Any) -> dict[str, str]:
        found = {}
        for key in ("legacy_at", "extended_access_at", "eol_at"):
            value = getattr(source, key, None)
            if value is not None:
                found[key] = value.isoformat()[:10]
        return found

    models: dict[str, Any] = {}
    for model in fake.scenario.models:
        entry: dict[str, Any] = dates(model)
        if model.per_region:
            entry["regions"] = {region: dates(d) for region, d in model.per_region.items()}
        models[model.model_id] = entry
    return {"models": models}


class AioWorld(World):
    """:class:`World` (its catalogs: sync control-plane clients over loopback, plus the
    scenario's dates) with aiobotocore runtime clients, each closed when the world is left."""

    def __init__(self, fake: Any) -> None:
        super().__init__(fake, "server")
        self._stack = AsyncExitStack()

    def catalog(self, **kwargs: Any) -> bl.Catalog:
        kwargs.setdefault("overrides", scenario_dates(self.fake))
        return super().catalog(**kwargs)

    async def __aenter__(self) -> AioWorld:
        await self._stack.__aenter__()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self._stack.__aexit__(exc_type, exc, tb)

    async def aio_runtime(self, region: str = "us-east-1", **config: Any) -> Any:
        """A raw aiobotocore ``bedrock-runtime`` client talking to the fake."""
        options: dict[str, Any] = {
            "retries": {"total_max_attempts": 1, "mode": "standard"},
            "connect_timeout": 5,
            "read_timeout": 30,
        }
        options.update(config)
        made = get_session().create_client(
            "bedrock-runtime",
            region_name=region,
            endpoint_url=self.fake.endpoint_url,
            aws_access_key_id=DUMMY_KEY,
            aws_secret_access_key=DUMMY_SECRET,
            config=AioConfig(**options),
        )
        return await self._stack.enter_async_context(made)

    async def aio_client(
        self, *, region: str = "us-east-1", catalog: bl.Catalog | None = None, **kwargs: Any
    ) -> bl.AsyncLifecycleClient:
        """A governed aiobotocore client (``bl.wrap``), recording in a fresh MemoryLedger."""
        kwargs.setdefault("ledger", bl.MemoryLedger())
        runtime = await self.aio_runtime(region)
        return bl.wrap(runtime, catalog=catalog or self.catalog(), **kwargs)


def meta(response: Any) -> dict[str, Any]:
    return response["ResponseMetadata"]["BedrockLifecycle"]  # type: ignore[no-any-return]


async def call(client: Any, operation: str, model_id: str, body: bytes = ANTHROPIC_BODY) -> Any:
    """Make one call of ``operation`` and drain any stream or body; returns the response."""
    if operation == "Converse":
        return await client.converse(modelId=model_id, messages=MESSAGES)
    if operation == "ConverseStream":
        response = await client.converse_stream(modelId=model_id, messages=MESSAGES)
        response["events"] = [event async for event in response["stream"]]
        return response
    if operation == "InvokeModel":
        response = await client.invoke_model(modelId=model_id, body=body)
        response["payload"] = await response["body"].read()
        return response
    if operation == "InvokeModelWithResponseStream":
        response = await client.invoke_model_with_response_stream(modelId=model_id, body=body)
        response["events"] = [event async for event in response["body"]]
        return response
    if operation == "CountTokens":
        return await client.count_tokens(
            modelId=model_id, input={"converse": {"messages": MESSAGES}}
        )
    if operation == "StartAsyncInvoke":
        return await client.start_async_invoke(
            modelId=model_id,
            modelInput={"inputText": "hello"},
            outputDataConfig={"s3OutputDataConfig": {"s3Uri": "s3://bucket/out/"}},
        )
    raise AssertionError(operation)
