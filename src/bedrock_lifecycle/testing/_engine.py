"""One request-handling implementation behind both the loopback server and in-process mode.

A request comes in as method, raw path (percent-encoded, with query), headers and body; an answer
goes out as status, headers and body bytes (or "drop the connection"). The engine owns the fake's
mutable state (clock, last-use table, faults, request log) behind a single lock.
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
import math
import re
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from .._clock import Clock, as_utc, utc_now
from .._lifecycle import State
from ._eventstream import encode_event, encode_exception
from ._faults import Fault, FaultKind, RecordedRequest
from ._scenario import FakeModel, LifecycleDates, Scenario, utc_or_none

__all__ = ["Engine", "FakeRequest", "FakeResponse"]

logger = logging.getLogger(__name__)

MSG_EOL = (
    "This model version has reached the end of its life. "
    "Please refer to the AWS documentation for more details."
)
MSG_IDLE = (
    "Access denied. This Model is marked by provider as Legacy and you have not been actively "
    "using the model in the last {days} days. Please upgrade to an active model on Amazon Bedrock"
)
MSG_INVALID_ID = "The provided model identifier is invalid."
MSG_NOT_ALLOWED = "Operation not allowed"
MSG_PROFILE_ONLY = (
    "Invocation of model ID {model} with on-demand throughput isn't supported. Retry your "
    "request with the ID or ARN of an inference profile that contains this model."
)
MSG_MALFORMED = "Malformed input request, please reformat your input and try again."
MSG_NO_FOUNDATION_MODEL = (
    "Could not resolve the foundation model from the provided model identifier."
)
MSG_MODEL_ERRORS = "The model returned the following errors: "
MSG_REFUSED = "`{name}` is deprecated for this model."
MSG_REFUSED_TOGETHER = (
    MSG_MODEL_ERRORS + "`{first}` and `{second}` cannot both be specified for this model. "
    "Please use only one."
)
MSG_MAX_TOKENS = (
    "The maximum tokens you requested exceeds the model limit of {limit}. "
    "Try again with a maximum tokens value that is lower than {limit}."
)

_ERROR_NAMESPACE = "http://internal.amazon.com/coral/com.amazon.bedrock/"
_JSON = "application/json"
_EVENTSTREAM = "application/vnd.amazon.eventstream"
_CREDENTIAL_SCOPE = re.compile(r"Credential=[^/,\s]+/\d{8}/([a-z0-9-]+)/")
_ARN = re.compile(r"^arn:(aws[a-z-]*):bedrock:([a-z0-9-]*):(\d{12})?:([a-z-]+)/(.+)$")
#: ARN kinds whose resource belongs to an account (the account field is required); a
#: foundation model belongs to none (the field is empty).
_ACCOUNT_ARNS = frozenset(
    {"inference-profile", "application-inference-profile", "provisioned-model"}
)
_STREAM_OPERATIONS = frozenset({"ConverseStream", "InvokeModelWithResponseStream"})
_USE_OPERATIONS = frozenset(
    {
        "Converse",
        "ConverseStream",
        "InvokeModel",
        "InvokeModelWithResponseStream",
        "StartAsyncInvoke",
    }
)
_INFERENCE_OPERATIONS = frozenset(
    {"Converse", "ConverseStream", "InvokeModel", "InvokeModelWithResponseStream"}
)
_CONVERSE_PARAMETERS = {"temperature": "temperature", "topP": "top_p", "maxTokens": "max_tokens"}
_PARAMETER_ORDER = ("temperature", "top_p", "top_k")
_RUNTIME_SUFFIXES = {
    "invoke": "InvokeModel",
    "invoke-with-response-stream": "InvokeModelWithResponseStream",
    "converse": "Converse",
    "converse-stream": "ConverseStream",
    "count-tokens": "CountTokens",
}


def _partition(region: str) -> str:
    """The ARN partition of ``region``."""
    if region.startswith("cn-"):
        return "aws-cn"
    if region.startswith("us-gov-"):
        return "aws-us-gov"
    return "aws"


_GEO_REGIONS = {
    "us": ("us-",),
    "us-gov": ("us-gov-",),
    "eu": ("eu-",),
    "apac": ("ap-",),
    "jp": ("ap-northeast-1", "ap-northeast-3"),
    "au": ("ap-southeast-2", "ap-southeast-4"),
    "ca": ("ca-",),
    "global": ("",),
}


def _geo_serves(geo: str, region: str) -> bool:
    """Whether a ``<geo>.`` system inference profile can be called from ``region``: only from a
    source region of its geography, in its partition (GovCloud for ``us-gov``, the commercial
    one for every other, ``global`` included)."""
    prefixes = _GEO_REGIONS.get(geo)
    partition = "aws-us-gov" if geo == "us-gov" else "aws"
    return prefixes is not None and _partition(region) == partition and region.startswith(prefixes)


_ENUMS = {
    "byOutputModality": ("TEXT", "IMAGE", "EMBEDDING"),
    "byInferenceType": ("ON_DEMAND", "PROVISIONED"),
    "byCustomizationType": ("FINE_TUNING", "CONTINUED_PRE_TRAINING", "DISTILLATION"),
    "type": ("SYSTEM_DEFINED", "APPLICATION"),
}
_STREAM_EXCEPTIONS = {
    "ConverseStream": (
        "internalServerException",
        "modelStreamErrorException",
        "validationException",
        "throttlingException",
        "serviceUnavailableException",
    ),
    "InvokeModelWithResponseStream": (
        "internalServerException",
        "modelStreamErrorException",
        "validationException",
        "throttlingException",
        "modelTimeoutException",
        "serviceUnavailableException",
    ),
}
_FAULT_ERRORS = {
    FaultKind.THROTTLING: (
        429,
        "ThrottlingException",
        "Too many requests, please wait before trying again.",
    ),
    FaultKind.INTERNAL_ERROR: (500, "InternalServerException", "Internal server error"),
    FaultKind.SERVICE_UNAVAILABLE: (503, "ServiceUnavailableException", "Service unavailable"),
    FaultKind.ACCESS_DENIED: (
        403,
        "AccessDeniedException",
        "You don't have access to the model with the specified model ID.",
    ),
}


@dataclass(frozen=True, slots=True)
class FakeRequest:
    """An HTTP request as the engine sees it (header names lower-cased)."""

    method: str
    path: str
    headers: Mapping[str, str]
    body: bytes
    mode: str


@dataclass(frozen=True, slots=True)
class FakeResponse:
    """The engine's answer; ``drop`` means close the connection without answering."""

    status: int
    headers: tuple[tuple[str, str], ...]
    body: bytes
    drop: bool = False


class _Reject(Exception):
    """An error answer, raised from deep inside request handling."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message


@dataclass(frozen=True, slots=True)
class _Route:
    operation: str
    sent_id: str | None
    query: Mapping[str, list[str]]


@dataclass(slots=True)
class _Outcome:
    response: FakeResponse
    resolved: str | None = None
    error_code: str | None = None
    sent: str | None = None


#: Where each provider's InvokeModel body names its output limit (Anthropic and Mistral, Meta,
#: Amazon Titan, others).
_MAX_TOKENS_KEYS = ("max_tokens", "max_gen_len", "maxTokenCount", "max_new_tokens")


def _cap_output(usage: dict[str, int], limit: Any, reply: str) -> tuple[str, bool]:
    """Bedrock never answers more output tokens than the request allowed: cut ``usage`` to
    ``limit`` (a request's max tokens), and ``reply`` in the same proportion (at least one
    character); the reply to send, and whether it was cut."""
    configured = usage["outputTokens"]
    if type(limit) is not int or not 0 < limit < configured:
        return reply, False
    usage["totalTokens"] -= configured - limit
    usage["outputTokens"] = limit
    return reply[: max(1, len(reply) * limit // configured)], True


def _body_limit(body: Any) -> Any:
    if isinstance(body, dict):
        for key in _MAX_TOKENS_KEYS:
            if key in body:
                return body[key]
        config = body.get("inferenceConfig")  # Nova's native body
        if isinstance(config, dict):
            return config.get("max_new_tokens", config.get("maxTokens"))
        config = body.get("textGenerationConfig")  # Titan Text's
        if isinstance(config, dict):
            return config.get("maxTokenCount")
    return None


def _tokens_for(chars: int) -> int:
    return max(1, math.ceil(chars / 4))


_NOT_TEXT = frozenset({"role", "type", "anthropic_version", "format", "media_type"})


def _text_chars(node: Any) -> int:
    """Characters of the string values inside ``node`` (a decoded JSON document), leaving out
    structural fields such as ``role``."""
    if isinstance(node, str):
        return len(node)
    if isinstance(node, Mapping):
        return sum(_text_chars(value) for key, value in node.items() if key not in _NOT_TEXT)
    if isinstance(node, list):
        return sum(_text_chars(value) for value in node)
    return 0


def _split_reply(text: str, pieces: int = 3) -> list[str]:
    words = text.split(" ")
    size = max(1, math.ceil(len(words) / pieces))
    chunks = [" ".join(words[i : i + size]) for i in range(0, len(words), size)]
    return [chunk + (" " if index < len(chunks) - 1 else "") for index, chunk in enumerate(chunks)]


class Engine:
    """The fake's state and request handling; thread-safe."""

    def __init__(
        self,
        scenario: Scenario,
        *,
        now: datetime | Clock | None,
        idle_days: int | None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._lock = threading.RLock()
        self._scenario = scenario
        self._idle_days = idle_days
        self._sleep = sleep
        self._live_clock: Clock | None = None
        self._frozen: datetime | None = None
        if callable(now):
            self._live_clock = now
        elif now is not None:
            self._frozen = as_utc(now)
        elif scenario.now is not None:
            self._frozen = utc_or_none(scenario.now)
        else:
            self._live_clock = utc_now
        self._last_used: dict[tuple[str, str], datetime] = {}
        self._seed_last_used(scenario)
        self._faults: list[list[Any]] = []  # [fault, remaining or None]
        self._log: list[RecordedRequest] = []
        self._sequence = 0

    # -- state ------------------------------------------------------------------------------

    def _seed_last_used(self, scenario: Scenario) -> None:
        for model in scenario.models:
            last_used = utc_or_none(model.last_used)
            if last_used is not None:
                for region in model.regions:
                    self._last_used[(model.model_id, region)] = last_used

    @property
    def scenario(self) -> Scenario:
        with self._lock:
            return self._scenario

    @scenario.setter
    def scenario(self, value: Scenario) -> None:
        with self._lock:
            self._scenario = value
            self._seed_last_used(value)

    def now(self) -> datetime:
        with self._lock:
            if self._frozen is not None:
                return self._frozen
            assert self._live_clock is not None
            return as_utc(self._live_clock())

    def set_time(self, when: datetime) -> None:
        with self._lock:
            self._frozen = as_utc(when)
            self._live_clock = None

    def advance(self, delta: timedelta) -> datetime:
        with self._lock:
            self._frozen = self.now() + delta
            self._live_clock = None
            return self._frozen

    @property
    def idle_days(self) -> int | None:
        return self._idle_days

    def mark_used(self, model_id: str, at: datetime, region: str | None) -> None:
        with self._lock:
            for each in self._regions_of(model_id, region):
                self._last_used[(model_id, each)] = as_utc(at)

    def forget_use(self, model_id: str, region: str | None) -> None:
        with self._lock:
            for each in self._regions_of(model_id, region):
                self._last_used.pop((model_id, each), None)

    def last_used(self, model_id: str, region: str) -> datetime | None:
        with self._lock:
            return self._last_used.get((model_id, region))

    def _regions_of(self, model_id: str, region: str | None) -> tuple[str, ...]:
        if region is not None:
            return (region,)
        model = self._scenario.model(model_id)
        if model is None:
            raise KeyError(f"model {model_id!r} is not in the scenario")
        return model.regions

    def add_fault(self, fault: Fault) -> None:
        with self._lock:
            self._faults.append([fault, fault.times])

    def clear_faults(self) -> None:
        with self._lock:
            self._faults.clear()

    def faults(self) -> tuple[Fault, ...]:
        with self._lock:
            return tuple(
                fault if remaining is None else replace(fault, times=remaining)
                for fault, remaining in self._faults
            )

    def requests(self) -> tuple[RecordedRequest, ...]:
        with self._lock:
            return tuple(self._log)

    def clear_requests(self) -> None:
        with self._lock:
            self._log.clear()

    def _take_faults(
        self, operation: str, sent: str | None, resolved: str | None
    ) -> tuple[float, Fault | None]:
        """Total latency to add and the first failing fault that applies (consumed)."""
        delay = 0.0
        chosen: Fault | None = None
        with self._lock:
            for entry in self._faults:
                fault, remaining = entry
                if remaining == 0 or not fault.matches(operation, sent, resolved):
                    continue
                if fault.kind is FaultKind.STREAM_ERROR and operation not in _STREAM_OPERATIONS:
                    continue
                if fault.kind is FaultKind.LATENCY:
                    delay += fault.delay
                elif chosen is None:
                    chosen = fault
                else:
                    continue
                if remaining is not None:
                    entry[1] = remaining - 1
            self._faults = [entry for entry in self._faults if entry[1] != 0]
        return delay, chosen

    def _next_id(self) -> int:
        with self._lock:
            self._sequence += 1
            return self._sequence

    # -- entry point ------------------------------------------------------------------------

    def handle(self, request: FakeRequest) -> FakeResponse:
        """Answer one request. Never raises."""
        route = self._route(request)
        region = self._region(request)
        operation = route.operation if route is not None else "Unknown"
        sent = route.sent_id if route is not None else None
        try:
            outcome = self._dispatch(request, route, region)
        except _Reject as reject:
            outcome = _Outcome(
                self._error(reject.status, reject.code, reject.message), None, reject.code
            )
        except Exception:  # a bug in the fake must still answer like a service would
            logger.exception("fake bedrock failed on %s %s", request.method, operation)
            outcome = _Outcome(
                self._error(500, "InternalServerException", "Internal server error"),
                None,
                "InternalServerException",
            )
        record = RecordedRequest(
            operation=operation,
            region=region,
            model_id=outcome.sent or sent,
            resolved_model=outcome.resolved,
            status_code=0 if outcome.response.drop else outcome.response.status,
            error_code="ConnectionDropped" if outcome.response.drop else outcome.error_code,
            mode=request.mode,
            method=request.method,
            path=urlsplit(request.path).path,
            at=self.now(),
            body=request.body,
        )
        with self._lock:
            self._log.append(record)
        return outcome.response

    # -- plumbing ---------------------------------------------------------------------------

    def _region(self, request: FakeRequest) -> str:
        match = _CREDENTIAL_SCOPE.search(request.headers.get("authorization", ""))
        return match.group(1) if match else self.scenario.default_region

    @staticmethod
    def _route(request: FakeRequest) -> _Route | None:
        parts = urlsplit(request.path)
        query = parse_qs(parts.query, keep_blank_values=True)
        segments = [unquote(segment) for segment in parts.path.split("/")[1:]]
        if segments and segments[-1] == "":
            segments.pop()
        if not segments:
            return None
        head, rest = segments[0], segments[1:]
        if request.method == "GET":
            single = {
                "foundation-models": "GetFoundationModel",
                "inference-profiles": "GetInferenceProfile",
                "provisioned-model-throughput": "GetProvisionedModelThroughput",
                "custom-models": "GetCustomModel",
            }
            if head in single and rest:
                return _Route(single[head], "/".join(rest), query)
            if head == "foundation-models":
                return _Route("ListFoundationModels", None, query)
            if head == "inference-profiles":
                return _Route("ListInferenceProfiles", None, query)
            return None
        if request.method != "POST":
            return None
        if head == "async-invoke" and not rest:
            return _Route("StartAsyncInvoke", None, query)
        if head == "model" and len(rest) >= 2 and rest[-1] in _RUNTIME_SUFFIXES:
            return _Route(_RUNTIME_SUFFIXES[rest[-1]], "/".join(rest[:-1]), query)
        return None

    def _headers(
        self, content_type: str, extra: Mapping[str, str] | None = None
    ) -> tuple[tuple[str, str], ...]:
        request_id = str(uuid.UUID(int=self._next_id()))
        headers = [("Content-Type", content_type), ("x-amzn-RequestId", request_id)]
        headers.extend((extra or {}).items())
        return tuple(headers)

    def _error(self, status: int, code: str, message: str) -> FakeResponse:
        body = json.dumps({"message": message}).encode("utf-8")
        headers = self._headers(_JSON, {"x-amzn-ErrorType": f"{code}:{_ERROR_NAMESPACE}"})
        return FakeResponse(status, headers, body)

    def _json(self, body: Any, extra: Mapping[str, str] | None = None) -> FakeResponse:
        return FakeResponse(200, self._headers(_JSON, extra), json.dumps(body).encode("utf-8"))

    def _timestamp(self, moment: datetime | date | None) -> Any:
        value = utc_or_none(moment)
        if value is None:
            return None
        if self.scenario.timestamp_format == "iso":
            return value.strftime("%Y-%m-%dT%H:%M:%SZ")
        return int(value.timestamp())

    @staticmethod
    def _body_json(request: FakeRequest) -> dict[str, Any]:
        try:
            body = json.loads(request.body or b"{}")
        except (ValueError, UnicodeDecodeError):
            raise _Reject(400, "ValidationException", MSG_MALFORMED) from None
        if not isinstance(body, dict):
            raise _Reject(400, "ValidationException", MSG_MALFORMED)
        return body

    # -- dispatch ---------------------------------------------------------------------------

    def _dispatch(self, request: FakeRequest, route: _Route | None, region: str) -> _Outcome:
        if route is None:
            raise _Reject(
                404,
                "UnknownOperationException",
                f"Unknown operation {request.method} {urlsplit(request.path).path}",
            )
        sent = route.sent_id
        body: dict[str, Any] | None = None
        if route.operation == "StartAsyncInvoke":
            body = self._body_json(request)
            model_id = body.get("modelId")
            if not isinstance(model_id, str) or not model_id:
                raise _Reject(
                    400, "ValidationException", "1 validation error detected: modelId is required"
                )
            sent = model_id
        resolved = self._peek_base(sent, region) if sent else None
        delay, fault = self._take_faults(route.operation, sent, resolved)
        if delay > 0:
            self._sleep(delay)
        try:
            outcome = self._run(request, route, region, sent, body, fault)
        except _Reject as reject:
            error = self._error(reject.status, reject.code, reject.message)
            outcome = _Outcome(error, resolved, reject.code)
        outcome.sent = sent
        return outcome

    def _run(
        self,
        request: FakeRequest,
        route: _Route,
        region: str,
        sent: str | None,
        body: dict[str, Any] | None,
        fault: Fault | None,
    ) -> _Outcome:
        if fault is not None and fault.kind is not FaultKind.STREAM_ERROR:
            if fault.kind is FaultKind.DROP_CONNECTION:
                return _Outcome(FakeResponse(0, (), b"", drop=True))
            if fault.kind is FaultKind.MALFORMED_JSON:
                return _Outcome(
                    FakeResponse(200, self._headers(_JSON), b'{"modelSummaries": [{"modelId": "')
                )
            status, code, message = _FAULT_ERRORS[fault.kind]
            raise _Reject(status, code, fault.message or message)
        operation = route.operation
        if operation == "ListFoundationModels":
            return _Outcome(self._list_foundation_models(region, route.query))
        if operation == "GetFoundationModel":
            return self._get_foundation_model(region, sent or "")
        if operation == "ListInferenceProfiles":
            return _Outcome(self._list_inference_profiles(region, route.query))
        if operation == "GetInferenceProfile":
            return self._get_inference_profile(region, sent or "")
        if operation == "GetProvisionedModelThroughput":
            return self._get_provisioned(region, sent or "")
        if operation == "GetCustomModel":
            return self._get_custom_model(region, sent or "")
        return self._runtime(request, operation, region, sent or "", body, fault)

    # -- model resolution -------------------------------------------------------------------

    def _peek_base(self, sent: str, region: str) -> str | None:
        try:
            model, _ = self._resolve(sent, region, operation="")
        except _Reject:
            return None
        return model.model_id

    def _resolve(self, sent: str, region: str, operation: str) -> tuple[FakeModel, str]:
        """``(model, form)`` for a runtime model identifier, or a ValidationException."""
        scenario = self.scenario
        invalid = _Reject(400, "ValidationException", MSG_INVALID_ID)
        match = _ARN.match(sent)
        if match is not None:
            partition, arn_region, account, kind, rest = match.groups()
            if arn_region != region or partition != _partition(region):
                raise invalid
            if (account is not None) != (kind in _ACCOUNT_ARNS):
                raise invalid  # an account on a foundation model, or none on a profile
            if kind == "foundation-model":
                model = scenario.model(rest)
                if model is None:
                    raise invalid
                self._check_on_demand(model, sent, operation, region)
                return model, "foundation-model-arn"
            if kind == "inference-profile":
                return self._system_profile(rest, region, invalid), "inference-profile-arn"
            if kind == "application-inference-profile":
                for profile in scenario.profiles:
                    if profile.profile_id == rest and profile.region == region:
                        model = scenario.model(profile.model_id)
                        if model is not None:
                            return model, "application-inference-profile-arn"
                raise invalid
            if kind == "provisioned-model":
                for provisioned in scenario.provisioned:
                    if provisioned.provisioned_id == rest and provisioned.region == region:
                        base = self._provisioned_base(
                            provisioned.model_id, provisioned.custom_model
                        )
                        model = scenario.model(base)
                        if model is not None:
                            return model, "provisioned-model-arn"
                raise invalid
            raise invalid
        model = scenario.model(sent)
        if model is not None:
            self._check_on_demand(model, sent, operation, region)
            return model, "base"
        return self._system_profile(sent, region, invalid), "system-inference-profile"

    @staticmethod
    def _check_on_demand(model: FakeModel, sent: str, operation: str, region: str) -> None:
        """A model sold only through inference profiles (here) refuses an on-demand call, by
        its base id or its foundation-model ARN."""
        if operation in _USE_OPERATIONS | {"CountTokens"} and not model.on_demand_in(region):
            raise _Reject(400, "ValidationException", MSG_PROFILE_ONLY.format(model=sent))

    def _system_profile(self, profile_id: str, region: str, invalid: _Reject) -> FakeModel:
        geo, _, base = profile_id.partition(".")
        if not base or not _geo_serves(geo, region):
            raise invalid  # an unknown geography, or one the caller's region is not in
        model = self.scenario.model(base)
        if model is None or (model.profile_geos is not None and geo not in model.profile_geos):
            raise invalid
        return model

    def _provisioned_base(self, model_id: str, custom_model: str | None) -> str:
        if custom_model is not None:
            for custom in self.scenario.custom_models:
                if custom.name == custom_model:
                    return custom.base_model_id
        return model_id

    def _check_lifecycle(self, model: FakeModel, region: str, operation: str) -> None:
        if not model.offered_in(region):
            raise _Reject(400, "ValidationException", MSG_INVALID_ID)
        now = self.now()
        state = model.state(region, now)
        if state is State.EOL:
            raise _Reject(404, "ResourceNotFoundException", MSG_EOL)
        if state in (State.LEGACY, State.EXTENDED_ACCESS) and self._idle_days is not None:
            last = self.last_used(model.model_id, region)
            if last is not None and now - last > timedelta(days=self._idle_days):
                raise _Reject(
                    404, "ResourceNotFoundException", MSG_IDLE.format(days=self._idle_days)
                )
        if state in model.not_allowed_states:
            raise _Reject(400, "ValidationException", MSG_NOT_ALLOWED)

    @staticmethod
    def _check_refusals(request: FakeRequest, model: FakeModel, operation: str) -> None:
        """A ValidationException for the first inference parameter ``model`` refuses."""
        try:
            body = json.loads(request.body or b"{}")
        except (ValueError, UnicodeDecodeError):
            return  # the operation itself answers a malformed body
        if not isinstance(body, dict):
            return
        converse = operation in ("Converse", "ConverseStream")
        given: dict[str, Any] = body
        if converse:
            fields, config = body.get("additionalModelRequestFields"), body.get("inferenceConfig")
            given = dict(fields) if isinstance(fields, dict) else {}
            if isinstance(config, dict):
                given.update(
                    (name, config[key])
                    for key, name in _CONVERSE_PARAMETERS.items()
                    if key in config
                )
        rank = {name: index for index, name in enumerate(_PARAMETER_ORDER)}
        refused = sorted(
            (name for name in model.refuses if name in given),
            key=lambda name: (rank.get(name, len(rank)), name),
        )
        if refused:
            prefix = MSG_MODEL_ERRORS if converse else ""
            raise _Reject(400, "ValidationException", prefix + MSG_REFUSED.format(name=refused[0]))
        for first, second in model.refuses_together:
            if first in given and second in given:
                message = MSG_REFUSED_TOGETHER.format(first=first, second=second)
                raise _Reject(400, "ValidationException", message)
        limit = model.max_tokens
        requested = given.get("max_tokens") if converse else _body_limit(body)
        if limit is not None and isinstance(requested, int | float) and requested > limit:
            raise _Reject(400, "ValidationException", MSG_MAX_TOKENS.format(limit=limit))

    # -- control plane ----------------------------------------------------------------------

    def _fm_arn(self, model_id: str, region: str) -> str:
        return f"arn:aws:bedrock:{region}::foundation-model/{model_id}"

    def _lifecycle_block(
        self, dates: LifecycleDates, state: State, with_dates: bool
    ) -> dict[str, Any]:
        block: dict[str, Any] = {"status": "ACTIVE" if state is State.ACTIVE else "LEGACY"}
        if with_dates:
            for key, value in (
                ("startOfLifeTime", dates.start_at),
                ("legacyTime", dates.legacy_at),
                ("publicExtendedAccessTime", dates.extended_access_at),
                ("endOfLifeTime", dates.eol_at),
            ):
                if value is not None:
                    block[key] = self._timestamp(value)
        return block

    def _model_summary(self, model: FakeModel, region: str, with_dates: bool) -> dict[str, Any]:
        dates = model.dates(region)
        state = dates.state(self.now())
        return {
            "modelArn": self._fm_arn(model.model_id, region),
            "modelId": model.model_id,
            "modelName": model.name,
            "providerName": model.provider,
            "inputModalities": list(model.input_modalities),
            "outputModalities": list(model.output_modalities),
            "responseStreamingSupported": model.streaming,
            "customizationsSupported": list(model.customizations),
            "inferenceTypesSupported": list(model.inference_types_in(region)),
            "modelLifecycle": self._lifecycle_block(
                dates, state, with_dates and model.publish_dates
            ),
        }

    def _visible(self, model: FakeModel, region: str) -> bool:
        return model.offered_in(region) and model.state(region, self.now()) is not State.EOL

    @staticmethod
    def _query_value(query: Mapping[str, list[str]], name: str) -> str | None:
        values = query.get(name)
        if not values:
            return None
        value = values[-1]
        allowed = _ENUMS.get(name)
        if allowed is not None and value not in allowed:
            raise _Reject(
                400,
                "ValidationException",
                f"1 validation error detected: Value '{value}' at '{name}' failed to satisfy "
                f"constraint: Member must satisfy enum value set: [{', '.join(allowed)}]",
            )
        return value

    def _list_foundation_models(self, region: str, query: Mapping[str, list[str]]) -> FakeResponse:
        provider = self._query_value(query, "byProvider")
        modality = self._query_value(query, "byOutputModality")
        inference = self._query_value(query, "byInferenceType")
        customization = self._query_value(query, "byCustomizationType")
        scenario = self.scenario
        summaries = []
        for model in scenario.models:
            if not self._visible(model, region):
                continue
            if provider is not None and (model.provider or "").lower() != provider.lower():
                continue
            if modality is not None and modality not in model.output_modalities:
                continue
            if inference is not None and inference not in model.inference_types_in(region):
                continue
            if customization is not None and customization not in model.customizations:
                continue
            summaries.append(self._model_summary(model, region, scenario.list_dates))
        return self._json({"modelSummaries": summaries})

    def _get_foundation_model(self, region: str, sent: str) -> _Outcome:
        match = _ARN.match(sent)
        model_id = sent
        if match is not None:
            _, arn_region, _account, kind, rest = match.groups()
            model_id = rest if kind == "foundation-model" and arn_region == region else ""
        model = self.scenario.model(model_id)
        if model is None or not self._visible(model, region):
            raise _Reject(404, "ResourceNotFoundException", MSG_NO_FOUNDATION_MODEL)
        details = self._model_summary(model, region, with_dates=True)
        return _Outcome(self._json({"modelDetails": details}), model.model_id)

    def _geo_of(self, region: str) -> str:
        if region.startswith("us-gov-"):
            return "us-gov"
        prefix = region.split("-", 1)[0]
        return {"ap": "apac"}.get(prefix, prefix)

    def _destinations(self, model: FakeModel, geo: str, region: str) -> list[str]:
        prefixes = _GEO_REGIONS.get(geo, (region,))
        found = [r for r in model.regions if any(r.startswith(p) for p in prefixes)]
        if region in found:
            found.remove(region)
        return ([region, *found] if model.offered_in(region) else found or [region])[:5]

    def _system_profile_body(self, model: FakeModel, geo: str, region: str) -> dict[str, Any]:
        profile_id = f"{geo}.{model.model_id}"
        stamp = self._timestamp(model.dates(region).start_at)
        body: dict[str, Any] = {
            "inferenceProfileName": f"{geo.upper()} {model.name}",
            "description": f"Routes requests to {model.name} in {geo.upper()} regions.",
            "inferenceProfileArn": (
                f"arn:aws:bedrock:{region}:{self.scenario.account_id}:inference-profile/{profile_id}"
            ),
            "models": [
                {"modelArn": self._fm_arn(model.model_id, each)}
                for each in self._destinations(model, geo, region)
            ],
            "inferenceProfileId": profile_id,
            "status": "ACTIVE",
            "type": "SYSTEM_DEFINED",
        }
        if stamp is not None:
            body["createdAt"] = body["updatedAt"] = stamp
        return body

    def _app_profile_body(self, profile_id: str, region: str) -> dict[str, Any] | None:
        scenario = self.scenario
        for profile in scenario.profiles:
            if profile.profile_id != profile_id or profile.region != region:
                continue
            model = scenario.model(profile.model_id)
            if model is None:
                return None
            body: dict[str, Any] = {
                "inferenceProfileName": profile.name or profile.profile_id,
                "inferenceProfileArn": profile.arn(scenario.account_id),
                "models": [{"modelArn": self._fm_arn(model.model_id, region)}],
                "inferenceProfileId": profile.profile_id,
                "status": "ACTIVE",
                "type": "APPLICATION",
            }
            if profile.description:
                body["description"] = profile.description
            return body
        return None

    def _list_inference_profiles(self, region: str, query: Mapping[str, list[str]]) -> FakeResponse:
        kind = self._query_value(query, "type")
        scenario = self.scenario
        items: list[dict[str, Any]] = []
        if kind in (None, "SYSTEM_DEFINED"):
            for model in scenario.models:
                if not self._visible(model, region):
                    continue
                for geo in model.profile_geos or (self._geo_of(region),):
                    items.append(self._system_profile_body(model, geo, region))
        if kind in (None, "APPLICATION"):
            for profile in scenario.profiles:
                if profile.region == region:
                    body = self._app_profile_body(profile.profile_id, region)
                    if body is not None:
                        items.append(body)
        try:
            start = int(self._query_value(query, "nextToken") or 0)
            size = int(self._query_value(query, "maxResults") or 1000)
        except ValueError:
            raise _Reject(400, "ValidationException", "Invalid pagination parameters") from None
        page: dict[str, Any] = {"inferenceProfileSummaries": items[start : start + size]}
        if start + size < len(items):
            page["nextToken"] = str(start + size)
        return self._json(page)

    def _get_inference_profile(self, region: str, sent: str) -> _Outcome:
        not_found = _Reject(
            404, "ResourceNotFoundException", "The specified inference profile was not found."
        )
        profile_id = sent
        match = _ARN.match(sent)
        if match is not None:
            _, arn_region, _account, kind, rest = match.groups()
            if arn_region != region or kind not in (
                "inference-profile",
                "application-inference-profile",
            ):
                raise not_found
            profile_id = rest
        app = self._app_profile_body(profile_id, region)
        if app is not None:
            base = app["models"][0]["modelArn"].rsplit("/", 1)[1]
            return _Outcome(self._json(app), base)
        try:
            model = self._system_profile(profile_id, region, not_found)
        except _Reject:
            raise not_found from None
        if not self._visible(model, region):
            raise not_found
        geo = profile_id.partition(".")[0]
        return _Outcome(self._json(self._system_profile_body(model, geo, region)), model.model_id)

    def _get_provisioned(self, region: str, sent: str) -> _Outcome:
        scenario = self.scenario
        for provisioned in scenario.provisioned:
            if provisioned.region != region:
                continue
            if sent not in (
                provisioned.arn(scenario.account_id),
                provisioned.name,
                provisioned.provisioned_id,
            ):
                continue
            base = self._provisioned_base(provisioned.model_id, provisioned.custom_model)
            fm_arn = self._fm_arn(base, region)
            model_arn = fm_arn
            if provisioned.custom_model is not None:
                for custom in scenario.custom_models:
                    if custom.name == provisioned.custom_model:
                        model_arn = custom.arn(scenario.account_id)
            stamp = self._timestamp(self.now() - timedelta(days=30))
            body = {
                "modelUnits": provisioned.model_units,
                "desiredModelUnits": provisioned.model_units,
                "provisionedModelName": provisioned.name or provisioned.provisioned_id,
                "provisionedModelArn": provisioned.arn(scenario.account_id),
                "modelArn": model_arn,
                "desiredModelArn": model_arn,
                "foundationModelArn": fm_arn,
                "status": "InService",
                "creationTime": stamp,
                "lastModifiedTime": stamp,
            }
            return _Outcome(self._json(body), base)
        raise _Reject(404, "ResourceNotFoundException", f"Provisioned model {sent} was not found.")

    def _get_custom_model(self, region: str, sent: str) -> _Outcome:
        scenario = self.scenario
        for custom in scenario.custom_models:
            if custom.region == region and sent in (custom.name, custom.arn(scenario.account_id)):
                body = {
                    "modelArn": custom.arn(scenario.account_id),
                    "modelName": custom.name,
                    "baseModelArn": self._fm_arn(custom.base_model_id, region),
                    "customizationType": "FINE_TUNING",
                    "modelStatus": "Active",
                    "creationTime": self._timestamp(self.now() - timedelta(days=30)),
                }
                return _Outcome(self._json(body), custom.base_model_id)
        raise _Reject(404, "ResourceNotFoundException", f"Custom model {sent} was not found.")

    # -- runtime ----------------------------------------------------------------------------

    def _runtime(
        self,
        request: FakeRequest,
        operation: str,
        region: str,
        sent: str,
        body: dict[str, Any] | None,
        fault: Fault | None,
    ) -> _Outcome:
        model, _form = self._resolve(sent, region, operation)
        try:
            self._check_lifecycle(model, region, operation)
            if operation in _INFERENCE_OPERATIONS:
                self._check_refusals(request, model, operation)
        except _Reject as reject:
            return _Outcome(
                self._error(reject.status, reject.code, reject.message), model.model_id, reject.code
            )
        if operation in ("Converse", "ConverseStream"):
            response, error = self._converse(
                request, model, stream=operation == "ConverseStream", fault=fault
            )
        elif operation in ("InvokeModel", "InvokeModelWithResponseStream"):
            response, error = self._invoke(
                request, model, stream=operation == "InvokeModelWithResponseStream", fault=fault
            )
        elif operation == "CountTokens":
            response, error = self._count_tokens(request, model), None
        else:
            assert body is not None
            response, error = self._start_async(body, region), None
        if operation in _USE_OPERATIONS:
            self.mark_used(model.model_id, self.now(), region)
        return _Outcome(response, model.model_id, error)

    def _usage(self, model: FakeModel, input_chars: int) -> dict[str, int]:
        configured = model.usage
        reply = self._reply(model)
        usage = {
            "inputTokens": configured.input_tokens
            if configured.input_tokens is not None
            else _tokens_for(input_chars),
            "outputTokens": configured.output_tokens
            if configured.output_tokens is not None
            else _tokens_for(len(reply)),
        }
        total = usage["inputTokens"] + usage["outputTokens"]
        if configured.cache_read_tokens is not None:
            usage["cacheReadInputTokens"] = configured.cache_read_tokens
            total += configured.cache_read_tokens
        if configured.cache_write_tokens is not None:
            usage["cacheWriteInputTokens"] = configured.cache_write_tokens
            total += configured.cache_write_tokens
        usage["totalTokens"] = total
        return usage

    @staticmethod
    def _reply(model: FakeModel) -> str:
        return (
            model.reply
            if model.reply is not None
            else f"This is a fake reply from {model.model_id}."
        )

    def _stream_response(
        self,
        operation: str,
        frames: list[bytes],
        fault: Fault | None,
        extra: Mapping[str, str] | None = None,
    ) -> tuple[FakeResponse, str | None]:
        error = None
        if fault is not None and fault.kind is FaultKind.STREAM_ERROR:
            kind = fault.exception_type
            if kind not in _STREAM_EXCEPTIONS[operation]:
                kind = "modelStreamErrorException"
            frames = frames[: max(0, fault.after_events)]
            frames.append(encode_exception(kind, fault.message or "The stream was interrupted."))
            error = kind
        return FakeResponse(200, self._headers(_EVENTSTREAM, extra), b"".join(frames)), error

    def _converse(
        self, request: FakeRequest, model: FakeModel, *, stream: bool, fault: Fault | None
    ) -> tuple[FakeResponse, str | None]:
        body = self._body_json(request)
        messages = body.get("messages", [])
        system = body.get("system", [])
        if not isinstance(messages, list) or not isinstance(system, list):
            raise _Reject(400, "ValidationException", MSG_MALFORMED)
        usage = self._usage(model, _text_chars(messages) + _text_chars(system))
        config = body.get("inferenceConfig")
        limit = config.get("maxTokens") if isinstance(config, dict) else None
        reply, capped = _cap_output(usage, limit, self._reply(model))
        stop = "max_tokens" if capped else "end_turn"
        metrics = {"latencyMs": model.latency_ms}
        if not stream:
            answer = {
                "output": {"message": {"role": "assistant", "content": [{"text": reply}]}},
                "stopReason": stop,
                "usage": usage,
                "metrics": metrics,
            }
            return self._json(answer), None
        frames = [encode_event("messageStart", {"role": "assistant"})]
        frames.extend(
            encode_event("contentBlockDelta", {"delta": {"text": piece}, "contentBlockIndex": 0})
            for piece in _split_reply(reply)
        )
        frames.append(encode_event("contentBlockStop", {"contentBlockIndex": 0}))
        frames.append(encode_event("messageStop", {"stopReason": stop}))
        frames.append(encode_event("metadata", {"usage": usage, "metrics": metrics}))
        return self._stream_response("ConverseStream", frames, fault)

    def _invoke(
        self, request: FakeRequest, model: FakeModel, *, stream: bool, fault: Fault | None
    ) -> tuple[FakeResponse, str | None]:
        body = self._body_json(request)
        usage = self._usage(model, _text_chars(body))
        reply, capped = _cap_output(usage, _body_limit(body), self._reply(model))
        if not stream:
            headers = {
                "X-Amzn-Bedrock-Input-Token-Count": str(usage["inputTokens"]),
                "X-Amzn-Bedrock-Output-Token-Count": str(usage["outputTokens"]),
                "X-Amzn-Bedrock-Invocation-Latency": str(model.latency_ms),
            }
            if "cacheReadInputTokens" in usage:
                headers["X-Amzn-Bedrock-Cache-Read-Input-Token-Count"] = str(
                    usage["cacheReadInputTokens"]
                )
            if "cacheWriteInputTokens" in usage:
                headers["X-Amzn-Bedrock-Cache-Write-Input-Token-Count"] = str(
                    usage["cacheWriteInputTokens"]
                )
            return self._json(self._provider_body(model, reply, usage, capped), headers), None
        metrics: dict[str, int] = {
            "inputTokenCount": usage["inputTokens"],
            "outputTokenCount": usage["outputTokens"],
            "invocationLatency": model.latency_ms,
            "firstByteLatency": model.first_byte_latency_ms,
        }
        if "cacheReadInputTokens" in usage:
            metrics["cacheReadInputTokenCount"] = usage["cacheReadInputTokens"]
        if "cacheWriteInputTokens" in usage:
            metrics["cacheWriteInputTokenCount"] = usage["cacheWriteInputTokens"]
        chunks = list(self._provider_chunks(model, reply, usage, capped))
        chunks[-1]["amazon-bedrock-invocationMetrics"] = metrics
        frames = [
            encode_event(
                "chunk",
                {"bytes": base64.b64encode(json.dumps(chunk).encode("utf-8")).decode("ascii")},
            )
            for chunk in chunks
        ]
        return self._stream_response(
            "InvokeModelWithResponseStream", frames, fault, {"X-Amzn-Bedrock-Content-Type": _JSON}
        )

    @staticmethod
    def _provider_body(
        model: FakeModel, reply: str, usage: Mapping[str, int], capped: bool = False
    ) -> dict[str, Any]:
        family = model.model_id.split(".", 1)[0]
        if family == "anthropic":
            anthropic_usage = {
                "input_tokens": usage["inputTokens"],
                "output_tokens": usage["outputTokens"],
            }
            if "cacheReadInputTokens" in usage:
                anthropic_usage["cache_read_input_tokens"] = usage["cacheReadInputTokens"]
            if "cacheWriteInputTokens" in usage:
                anthropic_usage["cache_creation_input_tokens"] = usage["cacheWriteInputTokens"]
            return {
                "id": "msg_bdrk_fake",
                "type": "message",
                "role": "assistant",
                "model": model.model_id,
                "content": [{"type": "text", "text": reply}],
                "stop_reason": "max_tokens" if capped else "end_turn",
                "stop_sequence": None,
                "usage": anthropic_usage,
            }
        if family == "meta":
            return {
                "generation": reply,
                "prompt_token_count": usage["inputTokens"],
                "generation_token_count": usage["outputTokens"],
                "stop_reason": "length" if capped else "stop",
            }
        if model.model_id.startswith("amazon.nova"):
            return {
                "output": {"message": {"role": "assistant", "content": [{"text": reply}]}},
                "stopReason": "max_tokens" if capped else "end_turn",
                "usage": {
                    "inputTokens": usage["inputTokens"],
                    "outputTokens": usage["outputTokens"],
                    "totalTokens": usage["totalTokens"],
                },
            }
        return {
            "inputTextTokenCount": usage["inputTokens"],
            "outputText": reply,
            "results": [
                {
                    "tokenCount": usage["outputTokens"],
                    "outputText": reply,
                    "completionReason": "LENGTH" if capped else "FINISH",
                }
            ],
        }

    @staticmethod
    def _provider_chunks(
        model: FakeModel, reply: str, usage: Mapping[str, int], capped: bool = False
    ) -> Iterator[dict[str, Any]]:
        pieces = _split_reply(reply)
        if model.model_id.split(".", 1)[0] == "anthropic":
            yield {
                "type": "message_start",
                "message": {
                    "id": "msg_bdrk_fake",
                    "type": "message",
                    "role": "assistant",
                    "model": model.model_id,
                    "content": [],
                    "stop_reason": None,
                    "stop_sequence": None,
                    "usage": {"input_tokens": usage["inputTokens"], "output_tokens": 1},
                },
            }
            yield {
                "type": "content_block_start",
                "index": 0,
                "content_block": {"type": "text", "text": ""},
            }
            for piece in pieces:
                yield {
                    "type": "content_block_delta",
                    "index": 0,
                    "delta": {"type": "text_delta", "text": piece},
                }
            yield {"type": "content_block_stop", "index": 0}
            yield {
                "type": "message_delta",
                "delta": {
                    "stop_reason": "max_tokens" if capped else "end_turn",
                    "stop_sequence": None,
                },
                "usage": {"output_tokens": usage["outputTokens"]},
            }
            yield {"type": "message_stop"}
            return
        for index, piece in enumerate(pieces):
            last = index == len(pieces) - 1
            yield {
                "outputText": piece,
                "index": 0,
                "totalOutputTextTokenCount": usage["outputTokens"] if last else None,
                "completionReason": ("LENGTH" if capped else "FINISH") if last else None,
                "inputTextTokenCount": usage["inputTokens"] if index == 0 else None,
            }

    def _count_tokens(self, request: FakeRequest, model: FakeModel) -> FakeResponse:
        body = self._body_json(request)
        source = body.get("input")
        if not isinstance(source, dict) or len(source) != 1:
            raise _Reject(400, "ValidationException", MSG_MALFORMED)
        if "converse" in source and isinstance(source["converse"], dict):
            converse = source["converse"]
            chars = _text_chars(converse.get("messages", [])) + _text_chars(
                converse.get("system", [])
            )
        elif "invokeModel" in source and isinstance(source["invokeModel"], dict):
            try:
                raw = base64.b64decode(source["invokeModel"].get("body", ""), validate=True)
                chars = _text_chars(json.loads(raw))
            except (ValueError, binascii.Error, TypeError):
                raise _Reject(400, "ValidationException", MSG_MALFORMED) from None
        else:
            raise _Reject(400, "ValidationException", MSG_MALFORMED)
        configured = model.usage.input_tokens
        return self._json(
            {"inputTokens": configured if configured is not None else _tokens_for(chars)}
        )

    def _start_async(self, body: dict[str, Any], region: str) -> FakeResponse:
        if not isinstance(body.get("outputDataConfig"), dict):
            raise _Reject(
                400,
                "ValidationException",
                "1 validation error detected: outputDataConfig is required",
            )
        invocation = f"fake{self._next_id():08d}"
        arn = f"arn:aws:bedrock:{region}:{self.scenario.account_id}:async-invoke/{invocation}"
        return self._json({"invocationArn": arn})
