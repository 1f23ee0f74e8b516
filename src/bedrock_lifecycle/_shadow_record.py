"""One shadow pair as it is kept: the primary call and its successor's answer to the same request.

A :class:`ShadowRecord` holds figures only (latency, tokens, cost, stop reason, lengths, a text
similarity, a score and a hash of the prompt). Texts are kept only when the user asked for them
(``Shadow(keep_text=True)``); by default no prompt or reply is stored anywhere.

The text similarity (:func:`text_similarity`) is the Sorensen-Dice coefficient over the multisets
of lower-cased word unigrams and bigrams of the two replies: linear in their length, with no
dependency, 1.0 for the same words in the same order, 0.0 for no word in common. It says whether
two answers use the same words, not whether they mean the same; a ``scorer`` does that.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, fields
from datetime import datetime, timezone
from itertools import pairwise
from typing import Any

from ._clock import as_utc

__all__ = [
    "SHADOW_RECORD_KIND",
    "ShadowRecord",
    "ShadowSide",
    "prompt_hash",
    "text_similarity",
]

SHADOW_RECORD_KIND = "shadow"
"""The ``kind`` a shadow record carries in files (JSONL lines), next to usage records."""

_WORD = re.compile(r"\w+", re.UNICODE)


def text_similarity(first: str | None, second: str | None) -> float | None:
    """How alike two replies are in words, from 0.0 to 1.0; ``None`` when either is unknown.

    Sorensen-Dice over the multisets of lower-cased word unigrams and bigrams. Two empty replies
    are alike (1.0); an empty and a non-empty one are not (0.0).
    """
    if first is None or second is None:
        return None
    a, b = _grams(first), _grams(second)
    total = sum(a.values()) + sum(b.values())
    if total == 0:
        return 1.0
    common = sum((a & b).values())
    return round(2.0 * common / total, 6)


def _grams(text: str) -> Counter[str]:
    words = _WORD.findall(text.lower())
    grams: Counter[str] = Counter(words)
    grams.update(f"{one} {two}" for one, two in pairwise(words))
    return grams


def prompt_hash(request: Mapping[str, Any]) -> str:
    """A SHA-256 (hex) of the request's prompt: Converse's ``messages`` and ``system``, or an
    InvokeModel ``body``. Equal prompts hash equal whatever the inference settings; the prompt
    itself cannot be read back from it."""
    body = request.get("body")
    if body is not None:
        if isinstance(body, str):
            body = body.encode("utf-8")
        if isinstance(body, (bytes, bytearray)):
            return hashlib.sha256(bytes(body)).hexdigest()
        return hashlib.sha256(_canonical(body)).hexdigest()
    prompt = {"messages": request.get("messages"), "system": request.get("system")}
    return hashlib.sha256(_canonical(prompt)).hexdigest()


def _canonical(value: Any) -> bytes:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), default=repr).encode("utf-8")


_SIDE_INTS = ("input_tokens", "output_tokens", "output_chars")
_SIDE_NUMBERS = ("latency_ms", "cost_usd")
_SIDE_TEXTS = ("stop_reason", "error_code", "error_message", "text")


@dataclass(frozen=True, slots=True)
class ShadowSide:
    """What one side of a pair did. ``None`` means not known (never zero by default).

    ``latency_ms`` is the wall-clock time of the call as this process saw it (for a stream, to
    its last event). ``cost_usd`` is priced from the price book, ``None`` when the model's price
    or the token counts are unknown. ``error_code`` and ``error_message`` are set when the call
    failed (Bedrock's error code, or the exception's type name). ``output_chars`` is the
    reply's length in characters; ``text`` the reply itself, only with ``keep_text=True``.
    """

    model_id: str
    latency_ms: float | None = None
    input_tokens: int | None = None
    output_tokens: int | None = None
    cost_usd: float | None = None
    stop_reason: str | None = None
    output_chars: int | None = None
    error_code: str | None = None
    error_message: str | None = None
    text: str | None = None

    @property
    def ok(self) -> bool:
        """Whether the call succeeded."""
        return self.error_code is None

    def to_dict(self) -> dict[str, Any]:
        """A JSON-safe dict (``text`` only when kept)."""
        out = {name: getattr(self, name) for name in _SIDE_FIELDS}
        if out["text"] is None:
            del out["text"]
        return out

    @classmethod
    def from_dict(cls, data: Any, *, where: str = "side") -> ShadowSide:
        """Rebuild a side from :meth:`to_dict` output; ``ValueError`` names the bad field."""
        if not isinstance(data, Mapping):
            raise ValueError(f"{where} must be an object, not {type(data).__name__}")
        model = data.get("model_id")
        if not isinstance(model, str) or not model:
            raise ValueError(f"{where}.model_id must be a non-empty string, not {model!r}")
        values: dict[str, Any] = {"model_id": model}
        for name in _SIDE_INTS:
            value = data.get(name)
            if value is not None and (isinstance(value, bool) or not isinstance(value, int)):
                raise ValueError(f"{where}.{name} must be an integer or null, not {value!r}")
            values[name] = value
        for name in _SIDE_NUMBERS:
            value = data.get(name)
            if value is not None and (
                isinstance(value, bool)
                or not isinstance(value, (int, float))
                or not math.isfinite(value)
            ):
                raise ValueError(f"{where}.{name} must be a number or null, not {value!r}")
            values[name] = None if value is None else float(value)
        for name in _SIDE_TEXTS:
            value = data.get(name)
            if value is not None and not isinstance(value, str):
                raise ValueError(f"{where}.{name} must be a string or null, not {value!r}")
            values[name] = value
        return cls(**values)


_SIDE_FIELDS: tuple[str, ...] = tuple(f.name for f in fields(ShadowSide))


@dataclass(frozen=True, slots=True)
class ShadowRecord:
    """One mirrored call: the primary's answer and its successor's, to the same request.

    ``operation`` is the primary's operation (a stream is shadowed by its non-streaming twin,
    named in ``shadow_operation``). ``similarity`` is :func:`text_similarity` of the two replies
    (``None`` when either is unknown or failed). ``score`` is what the user's ``scorer``
    returned (``None`` without one, or when it raised). ``prompt_hash`` is :func:`prompt_hash`
    of the request. ``prompt`` holds the request's messages and system prompt as JSON text,
    only with ``keep_text=True``.
    """

    timestamp: datetime
    region: str | None
    operation: str
    shadow_operation: str
    primary: ShadowSide
    shadow: ShadowSide
    similarity: float | None = None
    score: float | None = None
    prompt_hash: str | None = None
    prompt: str | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.timestamp, datetime):
            raise TypeError(f"ShadowRecord.timestamp must be a datetime, not {self.timestamp!r}")
        if self.timestamp.tzinfo is not timezone.utc:
            object.__setattr__(self, "timestamp", as_utc(self.timestamp))

    @property
    def primary_model_id(self) -> str:
        """The model the caller's call went to."""
        return self.primary.model_id

    @property
    def shadow_model_id(self) -> str:
        """The successor the request was mirrored to."""
        return self.shadow.model_id

    def to_dict(self) -> dict[str, Any]:
        """A JSON-safe dict with ``"kind": "shadow"`` (how files tell it from a usage record)."""
        out: dict[str, Any] = {
            "kind": SHADOW_RECORD_KIND,
            "timestamp": self.timestamp.isoformat(),
            "region": self.region,
            "operation": self.operation,
            "shadow_operation": self.shadow_operation,
            "primary": self.primary.to_dict(),
            "shadow": self.shadow.to_dict(),
            "similarity": self.similarity,
            "score": self.score,
            "prompt_hash": self.prompt_hash,
        }
        if self.prompt is not None:
            out["prompt"] = self.prompt
        return out

    @classmethod
    def from_dict(cls, data: Any) -> ShadowRecord:
        """Rebuild a record from :meth:`to_dict` output. Unknown keys are ignored.

        Raises ``ValueError`` naming the field when one is missing or has the wrong type.
        """
        if not isinstance(data, Mapping):
            raise ValueError(f"a shadow record must be an object, not {type(data).__name__}")
        if data.get("kind") != SHADOW_RECORD_KIND:
            raise ValueError(f"not a shadow record (kind {data.get('kind')!r})")
        stamp = data.get("timestamp")
        if not isinstance(stamp, str):
            raise ValueError(f"timestamp must be an ISO string, not {stamp!r}")
        try:
            timestamp = datetime.fromisoformat(stamp.replace("Z", "+00:00"))
        except ValueError:
            raise ValueError(f"timestamp must be an ISO string, not {stamp!r}") from None
        values: dict[str, Any] = {"timestamp": timestamp}
        for name in ("operation", "shadow_operation"):
            value = data.get(name)
            if not isinstance(value, str) or not value:
                raise ValueError(f"{name} must be a non-empty string, not {value!r}")
            values[name] = value
        for name in ("region", "prompt_hash", "prompt"):
            value = data.get(name)
            if value is not None and not isinstance(value, str):
                raise ValueError(f"{name} must be a string or null, not {value!r}")
            values[name] = value
        for name in ("similarity", "score"):
            value = data.get(name)
            if value is not None and (
                isinstance(value, bool)
                or not isinstance(value, (int, float))
                or not math.isfinite(value)
            ):
                raise ValueError(f"{name} must be a number or null, not {value!r}")
            values[name] = None if value is None else float(value)
        values["primary"] = ShadowSide.from_dict(data.get("primary"), where="primary")
        values["shadow"] = ShadowSide.from_dict(data.get("shadow"), where="shadow")
        return cls(**values)


# -- reading a side off a response ------------------------------------------------------------


def converse_reply(response: Mapping[str, Any]) -> tuple[str | None, str | None]:
    """``(text, stop reason)`` of a ``Converse`` response (text blocks joined; ``None`` when
    the response has no message)."""
    stop = response.get("stopReason")
    message = (response.get("output") or {}).get("message")
    if not isinstance(message, Mapping):
        return None, stop if isinstance(stop, str) else None
    parts = [
        block["text"]
        for block in message.get("content") or ()
        if isinstance(block, Mapping) and isinstance(block.get("text"), str)
    ]
    return "".join(parts), stop if isinstance(stop, str) else None


# Where each provider's InvokeModel body puts its reply and stop reason, tried in order.
_BODY_TEXT_PATHS: tuple[tuple[Any, ...], ...] = (
    ("content", "*", "text"),  # Anthropic Messages
    ("output", "message", "content", "*", "text"),  # Amazon Nova
    ("results", 0, "outputText"),  # Amazon Titan Text
    ("generation",),  # Meta Llama
    ("outputs", 0, "text"),  # Mistral (text completion)
    ("choices", 0, "message", "content"),  # Mistral chat, AI21 Jamba, OpenAI-style
    ("text",),  # Cohere Command R
    ("generations", 0, "text"),  # Cohere Command
    ("completion",),  # Anthropic Text Completions
)
_BODY_STOP_PATHS: tuple[tuple[Any, ...], ...] = (
    ("stop_reason",),
    ("stopReason",),
    ("results", 0, "completionReason"),
    ("outputs", 0, "stop_reason"),
    ("choices", 0, "finish_reason"),
    ("finish_reason",),
    ("generations", 0, "finish_reason"),
)


def _dig(value: Any, path: tuple[Any, ...]) -> Any:
    for index, step in enumerate(path):
        if step == "*":
            if not isinstance(value, list):
                return None
            found = [_dig(item, path[index + 1 :]) for item in value]
            texts = [item for item in found if isinstance(item, str)]
            return "".join(texts) if texts else None
        if isinstance(step, int):
            if not isinstance(value, list) or len(value) <= step:
                return None
            value = value[step]
        else:
            if not isinstance(value, Mapping):
                return None
            value = value.get(step)
    return value


def invoke_reply(body: bytes | str | None) -> tuple[str | None, str | None]:
    """``(text, stop reason)`` of an ``InvokeModel`` body, for the providers' known layouts;
    ``(None, None)`` for anything else."""
    if body is None:
        return None, None
    try:
        document = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        return None, None
    text = stop = None
    for path in _BODY_TEXT_PATHS:
        found = _dig(document, path)
        if isinstance(found, str):
            text = found
            break
    for path in _BODY_STOP_PATHS:
        found = _dig(document, path)
        if isinstance(found, str):
            stop = found
            break
    return text, stop


def failed_side(model_id: str, exc: BaseException, latency_ms: float | None) -> ShadowSide:
    """The side of a call that raised: Bedrock's error code and message for a ``ClientError``,
    else the exception's type name and text."""
    response = getattr(exc, "response", None)
    error = response.get("Error", {}) if isinstance(response, Mapping) else {}
    code = error.get("Code") if isinstance(error, Mapping) else None
    message = error.get("Message") if isinstance(error, Mapping) else None
    return ShadowSide(
        model_id=model_id,
        latency_ms=latency_ms,
        error_code=str(code) if code else type(exc).__name__,
        error_message=str(message) if message is not None else str(exc)[:500],
    )
