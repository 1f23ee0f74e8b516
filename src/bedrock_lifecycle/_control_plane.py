"""Reading lifecycle data from the Bedrock control plane (``boto3.client("bedrock")``).

Pure functions over an injected client: no caching, no threads. The catalog decides when to call.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    NoCredentialsError,
    ReadTimeoutError,
)
from botocore.exceptions import (
    ConnectionError as BotoConnectionError,
)

from ._ids import IdForm, ModelRef, parse_model_id
from ._lifecycle import ModelLifecycle, Source

__all__ = [
    "ControlPlaneFetch",
    "fetch_region",
    "is_transient",
    "resolve_base_model",
]

logger = logging.getLogger(__name__)

_TRANSIENT_CODES = frozenset(
    {
        "ThrottlingException",
        "Throttling",
        "TooManyRequestsException",
        "ServiceUnavailableException",
        "InternalServerException",
        "InternalFailure",
        "RequestTimeout",
        "RequestTimeoutException",
    }
)

#: At most this many GetFoundationModel calls per refresh, for Legacy models the list gave no
#: dates for. Control-plane quotas are small.
MAX_DETAIL_CALLS = 25


@dataclass(frozen=True, slots=True)
class ControlPlaneFetch:
    """What one ListFoundationModels round (plus detail calls) returned for a region."""

    region: str
    fetched_at: datetime
    models: dict[str, ModelLifecycle]
    detail_calls: int = 0


def is_transient(exc: BaseException) -> bool:
    """Whether retrying soon might help: throttling, 5xx, timeouts, dropped connections."""
    if isinstance(exc, ClientError):
        error = exc.response.get("Error", {})
        status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode") or 0
        return error.get("Code") in _TRANSIENT_CODES or int(status) >= 500
    if isinstance(exc, NoCredentialsError):
        return False
    return isinstance(exc, (BotoConnectionError, ReadTimeoutError, BotoCoreError, ValueError))


def _lifecycle_from_summary(
    summary: Mapping[str, Any], region: str, fetched_at: datetime
) -> ModelLifecycle | None:
    model_id = summary.get("modelId")
    if not isinstance(model_id, str) or not model_id:
        return None
    raw = summary.get("modelLifecycle") or {}
    if not isinstance(raw, Mapping):
        raw = {}

    def when(key: str) -> datetime | None:
        value = raw.get(key)
        return value if isinstance(value, datetime) else None

    status = raw.get("status")
    return ModelLifecycle(
        model_id=model_id,
        region=region,
        legacy_at=when("legacyTime"),
        extended_access_at=when("publicExtendedAccessTime"),
        eol_at=when("endOfLifeTime"),
        source=Source.API,
        status=status if isinstance(status, str) else None,
        name=summary.get("modelName") if isinstance(summary.get("modelName"), str) else None,
        provider=(
            summary.get("providerName") if isinstance(summary.get("providerName"), str) else None
        ),
        as_of=fetched_at,
    )


def fetch_region(client: Any, region: str, fetched_at: datetime) -> ControlPlaneFetch:
    """List every foundation model in ``region`` with its lifecycle.

    Legacy models listed without an end-of-life date get one GetFoundationModel call each (up to
    :data:`MAX_DETAIL_CALLS`); a failing detail call keeps what the list said.
    Raises whatever the client raises for the list call itself.
    """
    response = client.list_foundation_models()
    summaries = response.get("modelSummaries")
    if not isinstance(summaries, list):
        raise ValueError("ListFoundationModels answered without a modelSummaries list")
    models: dict[str, ModelLifecycle] = {}
    for summary in summaries:
        if isinstance(summary, Mapping):
            entry = _lifecycle_from_summary(summary, region, fetched_at)
            if entry is not None:
                models[entry.model_id] = entry
    calls = 0
    for model_id, entry in list(models.items()):
        if entry.status != "LEGACY" or entry.eol_at is not None or calls >= MAX_DETAIL_CALLS:
            continue
        calls += 1
        try:
            detail = client.get_foundation_model(modelIdentifier=model_id).get("modelDetails")
        except (ClientError, BotoCoreError) as exc:
            logger.debug(
                "bedrock_lifecycle.detail_failed",
                extra={
                    "bedrock_lifecycle.model_id": model_id,
                    "bedrock_lifecycle.region": region,
                    "bedrock_lifecycle.error": type(exc).__name__,
                },
            )
            continue
        if isinstance(detail, Mapping):
            better = _lifecycle_from_summary(detail, region, fetched_at)
            if better is not None:
                models[model_id] = better
    return ControlPlaneFetch(
        region=region, fetched_at=fetched_at, models=models, detail_calls=calls
    )


def _base_from_arn(arn: Any) -> str | None:
    if not isinstance(arn, str):
        return None
    ref = parse_model_id(arn)
    return ref.base_id


def resolve_base_model(client: Any, ref: ModelRef) -> str | None:
    """Ask the control plane which base model stands behind ``ref``.

    Application inference profiles (GetInferenceProfile), provisioned throughput
    (GetProvisionedModelThroughput) and custom models (GetCustomModel). Returns ``None`` for forms
    without a base model (imported models, prompt routers). Raises what the client raises.
    """
    if ref.form is IdForm.APPLICATION_PROFILE_ARN:
        response = client.get_inference_profile(inferenceProfileIdentifier=ref.raw)
        for model in response.get("models") or ():
            base = _base_from_arn(model.get("modelArn") if isinstance(model, Mapping) else None)
            if base:
                return base
        return None
    if ref.form is IdForm.PROVISIONED_MODEL_ARN:
        response = client.get_provisioned_model_throughput(provisionedModelId=ref.raw)
        base = _base_from_arn(response.get("foundationModelArn"))
        if base:
            return base
        model_arn = response.get("modelArn")
        if isinstance(model_arn, str) and model_arn != ref.raw:
            nested = parse_model_id(model_arn)
            if nested.form is IdForm.CUSTOM_MODEL_ARN:
                return nested.base_id or resolve_base_model(client, nested)
        return None
    if ref.form is IdForm.CUSTOM_MODEL_ARN:
        if ref.base_id:
            return ref.base_id
        response = client.get_custom_model(modelIdentifier=ref.raw)
        return _base_from_arn(response.get("baseModelArn"))
    return None
