"""Comparing a model with its successor from shadow records: the figures, and a verdict.

:func:`compare` takes :class:`ShadowRecord` objects (from shadow traffic or from a replay) and
returns a :class:`Comparison`: one :class:`PairComparison` per model pair (primary -> shadow),
each with

- the calls, the time they span, and each side's success rate and errors by code;
- each side's latency distribution over its successful calls, and the successor's p50 and p95
  over the primary's (``latency_ratio_p50`` / ``_p95``: above 1 the successor is slower);
- tokens and cost per successful call, and the monthly cost difference at the observed rate
  (calls a day over the records' time span, times 30; the rate can be given instead);
- how often the two stop reasons agree, and the distributions of similarity and score;
- a :class:`Verdict` against :class:`Thresholds`: ready when the successor succeeded on at least
  ``min_success`` of the calls and refused none (a ``ValidationException`` is a refusal: the
  successor does not take the request as sent), plus the optional similarity, score and latency
  bounds.

Unknown is never zero: a figure with nothing to compute it from is ``None``. Everything here is
a pure function of the records; nothing is read from the clock or the network.

:func:`evaluation_datasets` turns records that kept their texts into Amazon Bedrock's "bring
your own inference responses" prompt datasets, one per model, for LLM-as-a-judge evaluation jobs.
"""

from __future__ import annotations

import json
import re
import statistics
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from ._shadow_record import ShadowRecord, ShadowSide

__all__ = [
    "BYOIR_MAX_PROMPTS",
    "MIN_OBSERVED_SPAN",
    "Comparison",
    "Distribution",
    "EvaluationExport",
    "PairComparison",
    "SideSummary",
    "Thresholds",
    "Verdict",
    "compare",
    "evaluation_datasets",
    "evaluation_identifier",
    "group_pairs",
    "prompt_text",
]

REFUSAL_CODE = "ValidationException"
"""The error code that means "the model does not take this request as sent"."""

MIN_OBSERVED_SPAN = timedelta(hours=1)
"""The shortest time span of records a rate of calls a day is read from. A replay's records
span seconds: projecting a month from them would say nothing about production."""

BYOIR_MAX_PROMPTS = 1000
"""The most prompts Amazon Bedrock takes in one evaluation job's dataset."""

_DAYS_A_MONTH = 30
_SECONDS_A_DAY = 86_400.0


# -- distributions ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Distribution:
    """Summary of a set of numbers: how many, mean, p10 / p50 / p90 / p95, min and max.

    Percentiles interpolate linearly between the closest ranks (``statistics.quantiles`` with
    ``method="inclusive"``, which is also NumPy's default). Every figure is ``None`` when there
    are no numbers.
    """

    count: int = 0
    mean: float | None = None
    p10: float | None = None
    p50: float | None = None
    p90: float | None = None
    p95: float | None = None
    minimum: float | None = None
    maximum: float | None = None

    @classmethod
    def of(cls, values: Iterable[float | None]) -> Distribution:
        """The distribution of ``values`` (``None`` entries are left out)."""
        known = sorted(float(value) for value in values if value is not None)
        if not known:
            return cls()
        if len(known) == 1:
            only = known[0]
            return cls(1, only, only, only, only, only, only, only)
        cuts = statistics.quantiles(known, n=100, method="inclusive")
        return cls(
            count=len(known),
            mean=statistics.fmean(known),
            p10=cuts[9],
            p50=cuts[49],
            p90=cuts[89],
            p95=cuts[94],
            minimum=known[0],
            maximum=known[-1],
        )

    def to_dict(self) -> dict[str, Any]:
        """A JSON-safe dict."""
        return {
            "count": self.count,
            "mean": self.mean,
            "p10": self.p10,
            "p50": self.p50,
            "p90": self.p90,
            "p95": self.p95,
            "min": self.minimum,
            "max": self.maximum,
        }


def _mean(values: Iterable[float | None]) -> float | None:
    known = [float(value) for value in values if value is not None]
    return statistics.fmean(known) if known else None


def _ratio(numerator: float | None, denominator: float | None) -> float | None:
    if numerator is None or denominator is None or denominator <= 0:
        return None
    return numerator / denominator


# -- one side ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SideSummary:
    """What one model did over a pair's calls.

    ``latency_ms`` covers successful calls only (a refusal answers fast and would flatter the
    figure). ``input_tokens_per_call``, ``output_tokens_per_call`` and ``cost_per_call`` are
    means over successful calls that report them; ``priced_calls`` says how many had a cost.
    ``errors`` lists ``(error code, calls)``, most frequent first.
    """

    model_id: str
    calls: int
    succeeded: int
    errors: tuple[tuple[str, int], ...] = ()
    latency_ms: Distribution = field(default_factory=Distribution)
    input_tokens_per_call: float | None = None
    output_tokens_per_call: float | None = None
    cost_per_call: float | None = None
    priced_calls: int = 0

    @property
    def success_rate(self) -> float | None:
        """Successful calls over all calls (``None`` without calls)."""
        return self.succeeded / self.calls if self.calls else None

    @classmethod
    def of(cls, model_id: str, sides: Sequence[ShadowSide]) -> SideSummary:
        """Summarise the sides one model answered."""
        ok = [side for side in sides if side.ok]
        codes = Counter(side.error_code or "error" for side in sides if not side.ok)
        priced = [side.cost_usd for side in ok if side.cost_usd is not None]
        return cls(
            model_id=model_id,
            calls=len(sides),
            succeeded=len(ok),
            errors=tuple(sorted(codes.items(), key=lambda item: (-item[1], item[0]))),
            latency_ms=Distribution.of(side.latency_ms for side in ok),
            input_tokens_per_call=_mean(side.input_tokens for side in ok),
            output_tokens_per_call=_mean(side.output_tokens for side in ok),
            cost_per_call=_mean(priced),
            priced_calls=len(priced),
        )

    def to_dict(self) -> dict[str, Any]:
        """A JSON-safe dict."""
        return {
            "model_id": self.model_id,
            "calls": self.calls,
            "succeeded": self.succeeded,
            "success_rate": self.success_rate,
            "errors": dict(self.errors),
            "latency_ms": self.latency_ms.to_dict(),
            "input_tokens_per_call": self.input_tokens_per_call,
            "output_tokens_per_call": self.output_tokens_per_call,
            "cost_per_call_usd": self.cost_per_call,
            "priced_calls": self.priced_calls,
        }


# -- thresholds and verdict -------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Thresholds:
    """What a successor must show to be ready.

    ``min_success``
        The least share of calls the successor must answer (default 0.99).
    ``max_refused``
        The most requests it may refuse with a ``ValidationException`` (default 0).
    ``min_similarity`` / ``min_score``
        The least median similarity / score (``None``: not judged). With a bound set, a pair
        with nothing to measure it on is not ready.
    ``max_latency_ratio``
        The most the successor's p95 latency may be over the primary's (``None``: not judged).
    """

    min_success: float = 0.99
    max_refused: int = 0
    min_similarity: float | None = None
    min_score: float | None = None
    max_latency_ratio: float | None = None

    def __post_init__(self) -> None:
        # A score is whatever the user's scorer returns: only the shares and the similarity
        # have a known range.
        for name in ("min_success", "min_similarity"):
            value = getattr(self, name)
            if value is not None and not 0.0 <= value <= 1.0:
                raise ValueError(f"{name} must be between 0 and 1, not {value!r}")
        if self.max_refused < 0:
            raise ValueError(f"max_refused must not be negative, not {self.max_refused!r}")
        if self.max_latency_ratio is not None and self.max_latency_ratio <= 0:
            raise ValueError(f"max_latency_ratio must be above 0, not {self.max_latency_ratio!r}")

    def to_dict(self) -> dict[str, Any]:
        """A JSON-safe dict."""
        return {
            "min_success": self.min_success,
            "max_refused": self.max_refused,
            "min_similarity": self.min_similarity,
            "min_score": self.min_score,
            "max_latency_ratio": self.max_latency_ratio,
        }


@dataclass(frozen=True, slots=True)
class Verdict:
    """Whether the successor is ready, and every reason it is not."""

    ready: bool
    reasons: tuple[str, ...] = ()

    def __str__(self) -> str:
        return "ready" if self.ready else "not ready: " + "; ".join(self.reasons)


def _codes(errors: Iterable[tuple[str, int]]) -> str:
    return ", ".join(f"{code} {count}" for code, count in errors)


def _judge(
    shadow: SideSummary,
    refused: int,
    similarity: Distribution,
    score: Distribution,
    latency_ratio_p95: float | None,
    thresholds: Thresholds,
) -> Verdict:
    reasons: list[str] = []
    rate = shadow.success_rate or 0.0
    if rate < thresholds.min_success:
        reasons.append(
            f"the successor answered {shadow.succeeded} of {shadow.calls} calls ({rate:.1%}), "
            f"under {thresholds.min_success:.1%} ({_codes(shadow.errors)})"
        )
    if refused > thresholds.max_refused:
        reasons.append(
            f"the successor refused {refused} request(s) ({REFUSAL_CODE}): it does not take "
            "them as sent; name what it refuses in the policy's constraints"
        )
    for name, bound, found in (
        ("similarity", thresholds.min_similarity, similarity),
        ("score", thresholds.min_score, score),
    ):
        if bound is None:
            continue
        if found.p50 is None:
            reasons.append(f"no {name} to judge (no pair where both answered)")
        elif found.p50 < bound:
            reasons.append(f"median {name} {found.p50:.2f} is under {bound:.2f}")
    bound = thresholds.max_latency_ratio
    if bound is not None:
        if latency_ratio_p95 is None:
            reasons.append("no latency ratio to judge (no successful call on one side)")
        elif latency_ratio_p95 > bound:
            reasons.append(
                f"the successor's p95 latency is {latency_ratio_p95:.2f}x the primary's, "
                f"over {bound:.2f}x"
            )
    return Verdict(ready=not reasons, reasons=tuple(reasons))


# -- one pair ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PairComparison:
    """One model and its successor, compared over the records that paired them.

    ``calls_per_day`` is the rate the monthly difference is projected at: the one given to
    :func:`compare`, else the records' own (calls over their time span, when it is at least
    :data:`MIN_OBSERVED_SPAN`), else ``None``. ``monthly_cost_difference`` is the successor's
    cost per call minus the primary's, times ``calls_per_day`` times 30 (negative: the successor
    is cheaper). ``stop_reason_agreement`` is the share of pairs where both answered with a stop
    reason and the two are the same, out of ``stop_reasons_compared`` such pairs.
    """

    primary_model_id: str
    shadow_model_id: str
    calls: int
    first_at: datetime
    last_at: datetime
    primary: SideSummary
    shadow: SideSummary
    refused: int
    latency_ratio_p50: float | None
    latency_ratio_p95: float | None
    calls_per_day: float | None
    calls_per_day_observed: bool
    monthly_cost_difference: float | None
    stop_reason_agreement: float | None
    stop_reasons_compared: int
    similarity: Distribution
    score: Distribution
    verdict: Verdict

    @property
    def span(self) -> timedelta:
        """The time between the first and the last record."""
        return self.last_at - self.first_at

    def to_dict(self) -> dict[str, Any]:
        """A JSON-safe dict."""
        return {
            "primary_model_id": self.primary_model_id,
            "shadow_model_id": self.shadow_model_id,
            "calls": self.calls,
            "first_at": self.first_at.isoformat(),
            "last_at": self.last_at.isoformat(),
            "span_seconds": self.span.total_seconds(),
            "primary": self.primary.to_dict(),
            "shadow": self.shadow.to_dict(),
            "refused": self.refused,
            "latency_ratio_p50": self.latency_ratio_p50,
            "latency_ratio_p95": self.latency_ratio_p95,
            "calls_per_day": self.calls_per_day,
            "calls_per_day_observed": self.calls_per_day_observed,
            "monthly_cost_difference_usd": self.monthly_cost_difference,
            "stop_reason_agreement": self.stop_reason_agreement,
            "stop_reasons_compared": self.stop_reasons_compared,
            "similarity": self.similarity.to_dict(),
            "score": self.score.to_dict(),
            "ready": self.verdict.ready,
            "reasons": list(self.verdict.reasons),
        }


def _observed_rate(records: Sequence[ShadowRecord], span: timedelta) -> float | None:
    if span < MIN_OBSERVED_SPAN:
        return None
    return len(records) / (span.total_seconds() / _SECONDS_A_DAY)


def _pair(
    records: Sequence[ShadowRecord], thresholds: Thresholds, calls_per_day: float | None
) -> PairComparison:
    first, last = records[0], records[-1]
    primary = SideSummary.of(first.primary_model_id, [rec.primary for rec in records])
    shadow = SideSummary.of(first.shadow_model_id, [rec.shadow for rec in records])
    refused = sum(
        1 for rec in records if (rec.shadow.error_code or "").lower() == REFUSAL_CODE.lower()
    )
    span = last.timestamp - first.timestamp
    observed = calls_per_day is None
    rate = _observed_rate(records, span) if observed else calls_per_day
    monthly = None
    if rate is not None and primary.cost_per_call is not None and shadow.cost_per_call is not None:
        monthly = (shadow.cost_per_call - primary.cost_per_call) * rate * _DAYS_A_MONTH
    compared = [
        (rec.primary.stop_reason, rec.shadow.stop_reason)
        for rec in records
        if rec.primary.ok
        and rec.shadow.ok
        and rec.primary.stop_reason is not None
        and rec.shadow.stop_reason is not None
    ]
    agreement = (
        sum(1 for mine, theirs in compared if mine == theirs) / len(compared) if compared else None
    )
    similarity = Distribution.of(rec.similarity for rec in records)
    score = Distribution.of(rec.score for rec in records)
    ratio_p50 = _ratio(shadow.latency_ms.p50, primary.latency_ms.p50)
    ratio_p95 = _ratio(shadow.latency_ms.p95, primary.latency_ms.p95)
    return PairComparison(
        primary_model_id=first.primary_model_id,
        shadow_model_id=first.shadow_model_id,
        calls=len(records),
        first_at=first.timestamp,
        last_at=last.timestamp,
        primary=primary,
        shadow=shadow,
        refused=refused,
        latency_ratio_p50=ratio_p50,
        latency_ratio_p95=ratio_p95,
        calls_per_day=rate,
        calls_per_day_observed=observed and rate is not None,
        monthly_cost_difference=monthly,
        stop_reason_agreement=agreement,
        stop_reasons_compared=len(compared),
        similarity=similarity,
        score=score,
        verdict=_judge(shadow, refused, similarity, score, ratio_p95, thresholds),
    )


# -- every pair -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Comparison:
    """Every model pair in the records, ordered by primary then shadow model id."""

    pairs: tuple[PairComparison, ...]
    thresholds: Thresholds

    @property
    def ready(self) -> bool:
        """Whether there is at least one pair and every pair's successor is ready."""
        return bool(self.pairs) and all(pair.verdict.ready for pair in self.pairs)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-safe dict."""
        return {
            "ready": self.ready,
            "thresholds": self.thresholds.to_dict(),
            "pairs": [pair.to_dict() for pair in self.pairs],
        }


def group_pairs(records: Iterable[ShadowRecord]) -> dict[tuple[str, str], list[ShadowRecord]]:
    """Records by ``(primary model id, shadow model id)``, each list oldest first, the pairs in
    model-id order."""
    grouped: dict[tuple[str, str], list[ShadowRecord]] = {}
    for rec in records:
        grouped.setdefault((rec.primary_model_id, rec.shadow_model_id), []).append(rec)
    return {key: sorted(grouped[key], key=lambda rec: rec.timestamp) for key in sorted(grouped)}


def compare(
    records: Iterable[ShadowRecord],
    *,
    thresholds: Thresholds | None = None,
    calls_per_day: float | None = None,
) -> Comparison:
    """Compare each primary model with its shadow, over ``records``.

    ``thresholds`` decide the verdicts (default :class:`Thresholds`). ``calls_per_day`` is the
    rate to project monthly costs at (default: each pair's own observed rate, when its records
    span at least :data:`MIN_OBSERVED_SPAN`).
    """
    if calls_per_day is not None and calls_per_day < 0:
        raise ValueError(f"calls_per_day must not be negative, not {calls_per_day!r}")
    judged = thresholds if thresholds is not None else Thresholds()
    pairs = tuple(_pair(group, judged, calls_per_day) for group in group_pairs(records).values())
    return Comparison(pairs=pairs, thresholds=judged)


# -- Bedrock evaluation datasets ------------------------------------------------------------

_NOT_IN_IDENTIFIER = re.compile(r"[^a-zA-Z0-9._-]+")


def evaluation_identifier(model_id: str) -> str:
    """``model_id`` as an evaluation job's ``inferenceSourceIdentifier`` may spell it.

    Bedrock takes ``[a-zA-Z0-9][a-zA-Z0-9._-]{0,255}`` there, and the dataset's
    ``modelIdentifier`` must match it, so ``anthropic.claude-3-5-sonnet-20240620-v1:0`` becomes
    ``anthropic.claude-3-5-sonnet-20240620-v1-0`` (an ARN's ``:`` and ``/`` likewise).
    """
    spelled = _NOT_IN_IDENTIFIER.sub("-", model_id).strip("-._")
    return (spelled or "model")[:256]


def _kept_prompt(raw: str) -> Mapping[str, Any] | None:
    try:
        document = json.loads(raw)
    except ValueError:
        return None
    return document if isinstance(document, Mapping) else None


def _texts(content: Any) -> str:
    if isinstance(content, str):
        return content
    if not isinstance(content, list):
        return ""
    return "".join(
        block["text"]
        for block in content
        if isinstance(block, Mapping) and isinstance(block.get("text"), str)
    )


def prompt_text(raw: str) -> str:
    """The text of a kept prompt (``ShadowRecord.prompt``), as an evaluation dataset's
    ``prompt`` string.

    A kept prompt is the request's ``messages`` and ``system`` as JSON. One user message and no
    system prompt gives that message's text; anything longer is written out as a transcript
    (``System:``, ``User:``, ``Assistant:`` paragraphs). Text that is not such JSON is taken
    as it is.
    """
    document = _kept_prompt(raw)
    if document is None or not isinstance(document.get("messages"), list):
        return raw
    messages = [m for m in document["messages"] if isinstance(m, Mapping)]
    system = _texts(document.get("system"))
    if not system and len(messages) == 1 and messages[0].get("role") == "user":
        return _texts(messages[0].get("content"))
    parts = [f"System: {system}"] if system else []
    for message in messages:
        role = str(message.get("role") or "user").capitalize()
        parts.append(f"{role}: {_texts(message.get('content'))}")
    return "\n\n".join(parts)


@dataclass(frozen=True, slots=True)
class EvaluationExport:
    """Bring-your-own-inference-responses datasets, one per model.

    ``datasets`` maps each model's :func:`evaluation_identifier` to its dataset lines (at most
    one per prompt); ``model_ids`` maps it back to the model id. ``without_text`` counts the
    records left out because their texts were not kept, ``without_answer`` those left out
    because a side failed or had no reply text (both models are judged on the same prompts).
    """

    datasets: Mapping[str, tuple[dict[str, Any], ...]]
    model_ids: Mapping[str, str]
    without_text: int
    without_answer: int


def _dataset_line(
    prompt: str, kept: Mapping[str, Any] | None, side: ShadowSide, identifier: str
) -> dict[str, Any]:
    line: dict[str, Any] = {"prompt": prompt}
    for key in ("referenceResponse", "category"):
        value = kept.get(key) if kept is not None else None
        if isinstance(value, str) and value:
            line[key] = value
    line["modelResponses"] = [{"response": side.text, "modelIdentifier": identifier}]
    return line


def evaluation_datasets(records: Iterable[ShadowRecord]) -> EvaluationExport:
    """Amazon Bedrock evaluation datasets ("bring your own inference responses") from records
    that kept their texts.

    Each dataset line is ``{"prompt", "referenceResponse"?, "category"?, "modelResponses":
    [{"response", "modelIdentifier"}]}``, the form Bedrock's LLM-as-a-judge jobs take, with one
    model identifier per dataset as a job requires. Only records where both sides answered
    with text are used, so both models are judged on the same prompts; a prompt seen twice
    (same :func:`~bedrock_lifecycle._shadow_record.prompt_hash`) is used once per model. A
    kept prompt's ``referenceResponse`` and ``category`` (as ``rehearse`` keeps them from an
    evaluation prompt dataset) are carried over.
    """
    datasets: dict[str, list[dict[str, Any]]] = {}
    model_ids: dict[str, str] = {}
    seen: set[tuple[str, str]] = set()
    without_text = without_answer = 0
    for rec in records:
        if rec.prompt is None:
            without_text += 1
            continue
        sides = (rec.primary, rec.shadow)
        if not all(side.ok and side.text for side in sides):
            without_answer += 1
            continue
        kept = _kept_prompt(rec.prompt)
        prompt = prompt_text(rec.prompt)
        key = rec.prompt_hash or prompt
        for side in sides:
            identifier = evaluation_identifier(side.model_id)
            if (identifier, key) in seen:
                continue
            seen.add((identifier, key))
            model_ids.setdefault(identifier, side.model_id)
            lines = datasets.setdefault(identifier, [])
            lines.append(_dataset_line(prompt, kept, side, identifier))
    return EvaluationExport(
        datasets={name: tuple(lines) for name, lines in sorted(datasets.items())},
        model_ids=model_ids,
        without_text=without_text,
        without_answer=without_answer,
    )
