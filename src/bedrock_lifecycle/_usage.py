"""Token usage read from Bedrock responses, and the usage record every ledger sink receives.

Where the counts come from, per operation:

- ``Converse``: the response's ``usage`` and ``metrics.latencyMs`` (:func:`usage_from_converse`).
- ``ConverseStream``: the final ``metadata`` event, same shape (:func:`usage_from_stream_metadata`).
- ``InvokeModel``: HTTP headers only, ``x-amzn-bedrock-*`` (:func:`usage_from_invoke_headers`).
- ``InvokeModelWithResponseStream``: ``amazon-bedrock-invocationMetrics`` inside the last chunk's
  JSON (:func:`usage_from_invoke_stream_chunk`).

The extractors are pure and tolerant: a missing or malformed value becomes ``None``, never an
exception. Nothing here reads or keeps prompt or response text.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass, fields
from datetime import datetime, timezone
from typing import Any, NamedTuple

from ._clock import as_utc, utc_now
from ._pricing import Price, compute_cost

__all__ = [
    "NO_FIGURES",
    "RECORD_FIELDS",
    "Figures",
    "RecordTemplate",
    "Usage",
    "UsageRecord",
    "converse_figures",
    "figures_from_tail",
    "figures_of",
    "invoke_chunk_figures",
    "invoke_header_figures",
    "last_chunk_figures",
    "metrics_tail",
    "settle",
    "stream_metadata_figures",
    "usage_from_converse",
    "usage_from_figures",
    "usage_from_invoke_headers",
    "usage_from_invoke_stream_chunk",
    "usage_from_stream_metadata",
]

INVOCATION_METRICS_KEY = "amazon-bedrock-invocationMetrics"
_INVOCATION_METRICS_MARKER = INVOCATION_METRICS_KEY.encode("ascii")

HEADER_INPUT_TOKENS = "x-amzn-bedrock-input-token-count"
HEADER_OUTPUT_TOKENS = "x-amzn-bedrock-output-token-count"
HEADER_LATENCY = "x-amzn-bedrock-invocation-latency"
HEADER_CACHE_READ = "x-amzn-bedrock-cache-read-input-token-count"
HEADER_CACHE_WRITE = "x-amzn-bedrock-cache-write-input-token-count"


def _count(value: Any) -> int | None:
    """A non-negative token count, or ``None`` for anything else (bools, garbage, negatives)."""
    if type(value) is int:  # the common case, first: botocore hands back plain ints
        return value if value >= 0 else None
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value if value >= 0 else None
    if isinstance(value, float):
        return int(value) if value.is_integer() and value >= 0 else None
    if isinstance(value, (str, bytes)):
        text = value.strip()
        if text.isdigit():
            return int(text)
    return None


def _millis(value: Any) -> int | float | None:
    """A non-negative latency in milliseconds, or ``None``."""
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return value if math.isfinite(value) and value >= 0 else None
    if isinstance(value, bytes):
        value = value.decode("ascii", "replace")
    if isinstance(value, str):
        text = value.strip()
        if text.isdigit():
            return int(text)
        try:
            number = float(text)
        except ValueError:
            return None
        return number if math.isfinite(number) and number >= 0 else None
    return None


@dataclass(frozen=True, slots=True)
class Usage:
    """Token counts and latency of one call; ``None`` where Bedrock did not say."""

    input_tokens: int | None = None
    output_tokens: int | None = None
    cache_read_input_tokens: int | None = None
    cache_write_input_tokens: int | None = None
    latency_ms: int | float | None = None
    first_byte_latency_ms: int | float | None = None

    @property
    def known(self) -> bool:
        """Whether both input and output token counts are known (enough to price the call)."""
        return self.input_tokens is not None and self.output_tokens is not None


def _from_usage_block(usage: Any, metrics: Any) -> Usage:
    usage = usage if isinstance(usage, (dict, Mapping)) else {}
    metrics = metrics if isinstance(metrics, (dict, Mapping)) else {}
    return Usage(
        input_tokens=_count(usage.get("inputTokens")),
        output_tokens=_count(usage.get("outputTokens")),
        cache_read_input_tokens=_count(usage.get("cacheReadInputTokens")),
        cache_write_input_tokens=_count(usage.get("cacheWriteInputTokens")),
        latency_ms=_millis(metrics.get("latencyMs")),
    )


def usage_from_converse(response: Mapping[str, Any]) -> Usage:
    """Usage of a ``Converse`` response: ``usage`` {inputTokens, outputTokens, cache...} and
    ``metrics.latencyMs``."""
    if not isinstance(response, (dict, Mapping)):
        return Usage()  # type: ignore[unreachable]
    return _from_usage_block(response.get("usage"), response.get("metrics"))


def usage_from_stream_metadata(event: Mapping[str, Any]) -> Usage:
    """Usage of a ``ConverseStream`` ``metadata`` event.

    Accepts the event as the stream yields it (``{"metadata": {...}}``) or its inner dict.
    """
    if not isinstance(event, (dict, Mapping)):
        return Usage()  # type: ignore[unreachable]
    inner = event.get("metadata")
    if isinstance(inner, (dict, Mapping)):
        event = inner
    return _from_usage_block(event.get("usage"), event.get("metrics"))


def usage_from_invoke_headers(headers: Mapping[str, str]) -> Usage:
    """Usage of an ``InvokeModel`` call from its HTTP headers.

    Pass ``response["ResponseMetadata"]["HTTPHeaders"]`` (botocore lower-cases the names; other
    casings are accepted too).
    """
    if not isinstance(headers, (dict, Mapping)):
        return Usage()  # type: ignore[unreachable]
    if HEADER_INPUT_TOKENS not in headers:
        headers = {str(name).lower(): value for name, value in headers.items()}
    return Usage(
        input_tokens=_count(headers.get(HEADER_INPUT_TOKENS)),
        output_tokens=_count(headers.get(HEADER_OUTPUT_TOKENS)),
        cache_read_input_tokens=_count(headers.get(HEADER_CACHE_READ)),
        cache_write_input_tokens=_count(headers.get(HEADER_CACHE_WRITE)),
        latency_ms=_millis(headers.get(HEADER_LATENCY)),
    )


def usage_from_invoke_stream_chunk(chunk_bytes: bytes | bytearray | memoryview) -> Usage | None:
    """Usage carried by an ``InvokeModelWithResponseStream`` chunk, or ``None`` if it has none.

    Only the last chunk carries ``amazon-bedrock-invocationMetrics``; other chunks are rejected by
    a substring test without being parsed.
    """
    metrics = _invocation_metrics(chunk_bytes)
    if metrics is None:
        return None
    return Usage(
        input_tokens=_count(metrics.get("inputTokenCount")),
        output_tokens=_count(metrics.get("outputTokenCount")),
        cache_read_input_tokens=_count(metrics.get("cacheReadInputTokenCount")),
        cache_write_input_tokens=_count(metrics.get("cacheWriteInputTokenCount")),
        latency_ms=_millis(metrics.get("invocationLatency")),
        first_byte_latency_ms=_millis(metrics.get("firstByteLatency")),
    )


Figures = tuple[Any, Any, Any, Any, Any]
"""Raw usage figures as Bedrock sent them: (input tokens, output tokens, cache-read tokens,
cache-write tokens, latency in ms). Unchecked: :func:`usage_from_figures` checks them."""

NO_FIGURES: Figures = (None, None, None, None, None)


def usage_from_figures(figures: Figures) -> Usage:
    """:class:`Usage` from raw figures, each checked as the extractors check them."""
    return Usage(
        input_tokens=_count(figures[0]),
        output_tokens=_count(figures[1]),
        cache_read_input_tokens=_count(figures[2]),
        cache_write_input_tokens=_count(figures[3]),
        latency_ms=_millis(figures[4]),
    )


def figures_of(usage: Usage) -> Figures:
    """The figures of a checked :class:`Usage` (for a pending record)."""
    return (
        usage.input_tokens,
        usage.output_tokens,
        usage.cache_read_input_tokens,
        usage.cache_write_input_tokens,
        usage.latency_ms,
    )


# The raw-figure readers below run on every governed call: plain dicts (what botocore returns)
# are read as they are, unchecked (checks happen when the record is built); any other shape
# goes through the tolerant extractor above.


def _block_figures(usage: Any, metrics: Any) -> Figures | None:
    if type(usage) is dict and type(metrics) is dict:
        return (
            usage.get("inputTokens"),
            usage.get("outputTokens"),
            usage.get("cacheReadInputTokens"),
            usage.get("cacheWriteInputTokens"),
            metrics.get("latencyMs"),
        )
    return None


def converse_figures(response: Mapping[str, Any]) -> Figures:
    """Raw figures of a ``Converse`` response."""
    found = _block_figures(response.get("usage"), response.get("metrics"))
    return found or figures_of(usage_from_converse(response))


def stream_metadata_figures(event: Mapping[str, Any]) -> Figures:
    """Raw figures of a ``ConverseStream`` ``metadata`` event."""
    inner = event.get("metadata")
    found = (
        _block_figures(inner.get("usage"), inner.get("metrics")) if type(inner) is dict else None
    )
    return found or figures_of(usage_from_stream_metadata(event))


def invoke_header_figures(headers: Any) -> Figures:
    """Raw figures of ``InvokeModel``'s HTTP headers (``None``: no headers)."""
    if type(headers) is dict and HEADER_INPUT_TOKENS in headers:
        return (
            headers.get(HEADER_INPUT_TOKENS),
            headers.get(HEADER_OUTPUT_TOKENS),
            headers.get(HEADER_CACHE_READ),
            headers.get(HEADER_CACHE_WRITE),
            headers.get(HEADER_LATENCY),
        )
    return figures_of(usage_from_invoke_headers(headers if isinstance(headers, Mapping) else {}))


def invoke_chunk_figures(chunk_bytes: bytes) -> Figures | None:
    """Raw figures of an ``InvokeModelWithResponseStream`` metrics chunk, or ``None``."""
    metrics = _invocation_metrics(chunk_bytes)
    if metrics is None:
        return None
    return (
        metrics.get("inputTokenCount"),
        metrics.get("outputTokenCount"),
        metrics.get("cacheReadInputTokenCount"),
        metrics.get("cacheWriteInputTokenCount"),
        metrics.get("invocationLatency"),
    )


def last_chunk_figures(data: Any) -> tuple[Any, ...]:
    """What a stream's pending record gets from its last chunk's bytes.

    The :func:`metrics_tail`, unparsed (the record is built from it when read), when the chunk
    ends with the metrics alone; else the figures parsed from the whole chunk.
    """
    if type(data) is not bytes:
        return NO_FIGURES
    tail = metrics_tail(data)
    if tail is not None:
        return (tail, None, None, None, None)
    return invoke_chunk_figures(data) or NO_FIGURES


_QUOTED_METRICS_KEY = f'"{INVOCATION_METRICS_KEY}"'.encode("ascii")


def metrics_tail(chunk_bytes: bytes) -> bytes | None:
    """The end of a metrics chunk, from its metrics key on, when it holds nothing else.

    ``{..., "amazon-bedrock-invocationMetrics": {<flat object>}}`` gives
    ``b'"amazon-bedrock-invocationMetrics": {<flat object>}}'``: Bedrock's own figures, never
    model output, so it can be kept and parsed later (:func:`figures_from_tail`). ``None`` for
    any other layout (the caller then parses the whole chunk). Why the checks suffice, in
    valid JSON:

    - the quoted key cannot lie inside a string: there its quotes would be escaped, and the
      closing one would follow a backslash, not ``s``; with ``:`` after it, it is a key;
    - one ``{`` in the tail, and after the first ``}`` only the final ``}``: the value is a flat
      object, the last member of the object that closes the document.
    """
    start = chunk_bytes.rfind(_QUOTED_METRICS_KEY)
    if start < 0:
        return None
    tail = chunk_bytes[start:]
    opening = tail.find(b"{")
    closing = tail.find(b"}")
    if (
        opening < 0
        or closing < opening
        or tail.find(b"{", opening + 1) >= 0
        or tail[closing + 1 :].strip() != b"}"
        or tail[len(_QUOTED_METRICS_KEY) : opening].strip() != b":"
    ):
        return None
    return tail


def figures_from_tail(tail: bytes) -> Figures:
    """The figures in a :func:`metrics_tail`."""
    return invoke_chunk_figures(b"{" + tail) or NO_FIGURES


def _invocation_metrics(chunk_bytes: bytes | bytearray | memoryview) -> Mapping[str, Any] | None:
    data = bytes(chunk_bytes) if not isinstance(chunk_bytes, bytes) else chunk_bytes
    # find(), not `in`: bytes.__contains__ first tries its operand as an int (a TypeError).
    if data.find(_INVOCATION_METRICS_MARKER) < 0:
        return None
    try:
        document = json.loads(data)
    except (ValueError, UnicodeDecodeError):
        return None
    metrics = document.get(INVOCATION_METRICS_KEY) if isinstance(document, dict) else None
    return metrics if isinstance(metrics, (dict, Mapping)) else None


_INT_FIELDS = (
    "input_tokens",
    "output_tokens",
    "cache_read_input_tokens",
    "cache_write_input_tokens",
)
_MONEY_FIELDS = ("cost_usd", "standard_cost_usd", "premium_usd")
_TEXT_FIELDS = ("region", "request_id", "fallback_from")


@dataclass(frozen=True, slots=True)
class UsageRecord:
    """One governed Bedrock call, as the ledger keeps it. Never any prompt or response text.

    ``invoked_model_id`` is the id the call went to (a successor after a fallback, when
    ``fallback_from`` names the id first tried). ``state`` is the lifecycle state's string value
    (``"ACTIVE"``, ``"LEGACY"``, ``"EXTENDED_ACCESS"``, ...). Costs are US dollars; ``None`` means
    unknown, never zero.
    """

    timestamp: datetime
    operation: str
    region: str | None
    requested_model_id: str
    invoked_model_id: str
    state: str
    extended_access: bool
    input_tokens: int | None = None
    output_tokens: int | None = None
    cache_read_input_tokens: int | None = None
    cache_write_input_tokens: int | None = None
    latency_ms: int | float | None = None
    cost_usd: float | None = None
    standard_cost_usd: float | None = None
    premium_usd: float | None = None
    request_id: str | None = None
    fallback_from: str | None = None

    def __post_init__(self) -> None:
        timestamp = self.timestamp
        if not isinstance(timestamp, datetime):
            raise TypeError(f"UsageRecord.timestamp must be a datetime, not {timestamp!r}")
        if timestamp.tzinfo is not timezone.utc:
            object.__setattr__(self, "timestamp", as_utc(timestamp))
        state = self.state
        if type(state) is not str:
            # A State member (a str subclass) is stored as its plain value.
            object.__setattr__(self, "state", str(getattr(state, "value", state)))

    @classmethod
    def from_usage(
        cls,
        usage: Usage,
        *,
        price: Price | None,
        operation: str,
        region: str | None,
        requested_model_id: str,
        invoked_model_id: str,
        state: str,
        extended_access: bool,
        request_id: str | None = None,
        fallback_from: str | None = None,
        timestamp: datetime | None = None,
    ) -> UsageRecord:
        """A record for one call, priced with ``price`` (see :func:`compute_cost`)."""
        cost, standard, premium = compute_cost(
            price,
            extended_access=extended_access,
            input_tokens=usage.input_tokens,
            output_tokens=usage.output_tokens,
            cache_read=usage.cache_read_input_tokens,
            cache_write=usage.cache_write_input_tokens,
        )
        return cls(
            timestamp=utc_now() if timestamp is None else timestamp,
            operation=operation,
            region=region,
            requested_model_id=requested_model_id,
            invoked_model_id=invoked_model_id,
            state=state,
            extended_access=extended_access,
            input_tokens=usage.input_tokens,
            output_tokens=usage.output_tokens,
            cache_read_input_tokens=usage.cache_read_input_tokens,
            cache_write_input_tokens=usage.cache_write_input_tokens,
            latency_ms=usage.latency_ms,
            cost_usd=cost,
            standard_cost_usd=standard,
            premium_usd=premium,
            request_id=request_id,
            fallback_from=fallback_from,
        )

    def to_dict(self) -> dict[str, Any]:
        """A JSON-safe dict; the timestamp is ISO 8601 with its ``+00:00`` offset."""
        out: dict[str, Any] = {name: getattr(self, name) for name in RECORD_FIELDS}
        out["timestamp"] = self.timestamp.isoformat()
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> UsageRecord:
        """Rebuild a record from :meth:`to_dict` output. Unknown keys are ignored.

        Raises ``ValueError`` when a required field is missing or a value has the wrong type.
        """
        if not isinstance(data, Mapping):
            raise ValueError(f"a usage record must be an object, not {type(data).__name__}")
        try:
            stamp = data["timestamp"]
            timestamp = datetime.fromisoformat(stamp.replace("Z", "+00:00"))
            values: dict[str, Any] = {"timestamp": timestamp}
            for name in ("operation", "requested_model_id", "invoked_model_id", "state"):
                value = data[name]
                if not isinstance(value, str):
                    raise ValueError(f"{name} must be a string, not {value!r}")
                values[name] = value
            extended = data["extended_access"]
        except KeyError as exc:
            raise ValueError(f"usage record lacks {exc.args[0]!r}") from None
        except AttributeError:
            raise ValueError(
                f"timestamp must be an ISO string, not {data['timestamp']!r}"
            ) from None
        if not isinstance(extended, bool):
            raise ValueError(f"extended_access must be true or false, not {extended!r}")
        values["extended_access"] = extended
        for name in _TEXT_FIELDS:
            value = data.get(name)
            if value is not None and not isinstance(value, str):
                raise ValueError(f"{name} must be a string or null, not {value!r}")
            values[name] = value
        for name in _INT_FIELDS:
            value = data.get(name)
            if value is not None and (isinstance(value, bool) or not isinstance(value, int)):
                raise ValueError(f"{name} must be an integer or null, not {value!r}")
            values[name] = value
        for name in (*_MONEY_FIELDS, "latency_ms"):
            value = data.get(name)
            if value is not None and (
                isinstance(value, bool) or not isinstance(value, (int, float))
            ):
                raise ValueError(f"{name} must be a number or null, not {value!r}")
            values[name] = float(value) if value is not None and name != "latency_ms" else value
        return cls(**values)


RECORD_FIELDS: tuple[str, ...] = tuple(f.name for f in fields(UsageRecord))
"""Every field of :class:`UsageRecord`, in order (the JSONL keys and the SQLite columns)."""


class RecordTemplate(NamedTuple):
    """What every usage record of one kind of governed call shares (model, state, price ...):
    a named tuple, made with keywords (a dataclass would cost every import a millisecond).

    The hot path does not build a :class:`UsageRecord`: it hands a sink that accepts them a
    *pending record* (made only by :meth:`pending`, so its layout lives here alone), a list
    ``[template, timestamp, request_id, input_tokens, output_tokens,
    cache_read_input_tokens, cache_write_input_tokens, latency_ms]`` holding the figures
    exactly as Bedrock sent them (for a stream of InvokeModelWithResponseStream, the
    :func:`metrics_tail` of its last chunk may stand in for the five figures). :func:`settle`
    turns it into the record (checking and pricing the figures) when the record is first read,
    and keeps the result in the same list.
    """

    price: Price | None
    operation: str
    region: str | None
    requested_model_id: str
    invoked_model_id: str
    state: str
    extended_access: bool
    fallback_from: str | None

    def pending(self, timestamp: datetime | float, figures: Figures, request_id: Any) -> list[Any]:
        """A pending record for raw ``figures`` (see the class docstring)."""
        return [self, timestamp, request_id, *figures]

    def costs(self, pending: list[Any]) -> tuple[float | None, float | None, float | None]:
        """``(cost, standard_cost, premium)`` of a pending record, without building the record
        (what a budget charges; see :func:`compute_cost`)."""
        first = pending[3]
        if type(first) is bytes:
            figures = figures_from_tail(first)
        elif type(first) is UsageRecord:  # settled already: the list holds the record
            return first.cost_usd, first.standard_cost_usd, first.premium_usd
        else:
            figures = (first, pending[4], pending[5], pending[6], pending[7])
        return compute_cost(
            self.price,
            extended_access=self.extended_access,
            input_tokens=_count(figures[0]),
            output_tokens=_count(figures[1]),
            cache_read=_count(figures[2]),
            cache_write=_count(figures[3]),
        )

    def build(self, pending: list[Any]) -> UsageRecord:
        """The record a pending list stands for; raw figures are checked as the extractors do."""
        first = pending[3]
        if type(first) is bytes:  # an InvokeModelWithResponseStream metrics tail, unparsed
            usage = usage_from_figures(figures_from_tail(first))
        else:
            usage = usage_from_figures((first, pending[4], pending[5], pending[6], pending[7]))
        request_id = pending[2]
        return UsageRecord.from_usage(
            usage,
            price=self.price,
            operation=self.operation,
            region=self.region,
            requested_model_id=self.requested_model_id,
            invoked_model_id=self.invoked_model_id,
            state=self.state,
            extended_access=self.extended_access,
            request_id=request_id if isinstance(request_id, str) else None,
            fallback_from=self.fallback_from,
            timestamp=_as_datetime(pending[1]),
        )


def _as_datetime(value: datetime | float) -> datetime:
    if isinstance(value, datetime):
        return value
    return datetime.fromtimestamp(value, timezone.utc)


def settle(item: UsageRecord | list[Any]) -> UsageRecord:
    """The :class:`UsageRecord` behind a ledger entry: a record, or a pending record (built
    once, then kept in the list in place of its raw figures)."""
    if type(item) is not list:
        return item  # type: ignore[return-value]
    if len(item) == 1:
        return item[0]  # type: ignore[no-any-return]
    template: RecordTemplate = item[0]
    record = template.build(item)
    item[:] = (record,)  # one slice assignment: readers see raw figures or the record
    return record
