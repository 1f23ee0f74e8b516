"""A fake Amazon Bedrock for tests: real boto3 clients talk to it unchanged.

It serves the control plane (``bedrock``) and the runtime (``bedrock-runtime``) with Bedrock's own
shapes, status codes, error types and messages, streams real event-stream frames, follows a
settable clock through each model's lifecycle, and injects faults on request. Use it over loopback
HTTP (:attr:`FakeBedrock.endpoint_url`) or in-process (:meth:`FakeBedrock.client`,
:meth:`FakeBedrock.attach`). Nothing in the library proper imports this package.
"""

from __future__ import annotations

from ._eventstream import encode_event, encode_exception, encode_message
from ._fake import FakeBedrock
from ._faults import Fault, FaultKind, RecordedRequest
from ._scenario import (
    FakeCustomModel,
    FakeInferenceProfile,
    FakeModel,
    FakeProvisionedModel,
    FakeUsage,
    LifecycleDates,
    Scenario,
)

__all__ = [
    "FakeBedrock",
    "FakeCustomModel",
    "FakeInferenceProfile",
    "FakeModel",
    "FakeProvisionedModel",
    "FakeUsage",
    "Fault",
    "FaultKind",
    "LifecycleDates",
    "RecordedRequest",
    "Scenario",
    "encode_event",
    "encode_exception",
    "encode_message",
]
