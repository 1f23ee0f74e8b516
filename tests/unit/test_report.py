"""compare(): the figures and the verdict for a model and its successor, from records built by
hand; and the Bedrock evaluation datasets made from records that kept their texts."""

from __future__ import annotations

import json
import re
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

from bedrock_lifecycle import ShadowRecord, ShadowSide
from bedrock_lifecycle._report import (
    Distribution,
    Thresholds,
    compare,
    evaluation_datasets,
    evaluation_identifier,
    prompt_text,
)

T0 = datetime(2026, 1, 15, 9, 0, tzinfo=timezone.utc)
OLD = "anthropic.claude-3-5-sonnet-20240620-v1:0"
NEW = "us.anthropic.claude-sonnet-4-5-20250929-v1:0"
NOVA = "amazon.nova-pro-v1:0"


def side(model: str, **values: Any) -> ShadowSide:
    """A successful call: 100 ms, 1,000 in / 200 out tokens, $0.006, end_turn."""
    defaults: dict[str, Any] = {
        "latency_ms": 100.0,
        "input_tokens": 1000,
        "output_tokens": 200,
        "cost_usd": 0.006,
        "stop_reason": "end_turn",
        "output_chars": 800,
    }
    return ShadowSide(model_id=model, **{**defaults, **values})


def refused(model: str = NEW) -> ShadowSide:
    return ShadowSide(
        model_id=model,
        latency_ms=20.0,
        error_code="ValidationException",
        error_message="`temperature` and `top_p` cannot both be specified for this model.",
    )


def pair(
    at: datetime = T0,
    primary: ShadowSide | None = None,
    shadow: ShadowSide | None = None,
    **values: Any,
) -> ShadowRecord:
    return ShadowRecord(
        timestamp=at,
        region="us-east-1",
        operation="Converse",
        shadow_operation="Converse",
        primary=primary or side(OLD),
        shadow=shadow or side(NEW),
        **values,
    )


# -- distributions ----------------------------------------------------------------------------


def test_percentiles_interpolate_between_ranks_and_skip_unknowns() -> None:
    found = Distribution.of([*range(1, 11), None])  # 1..10
    assert found.count == 10
    assert found.mean == pytest.approx(5.5)
    assert found.p50 == pytest.approx(5.5)
    assert found.p10 == pytest.approx(1.9)
    assert found.p90 == pytest.approx(9.1)
    assert found.p95 == pytest.approx(9.55)
    assert (found.minimum, found.maximum) == (1.0, 10.0)


def test_one_value_is_every_percentile_and_none_is_unknown() -> None:
    assert Distribution.of([42.0]).p10 == Distribution.of([42.0]).p95 == 42.0
    empty = Distribution.of([None, None])
    assert empty.count == 0
    assert empty.p50 is None
    assert empty.mean is None


# -- one pair's figures -----------------------------------------------------------------------


def test_latency_percentiles_and_ratios_count_successful_calls_only() -> None:
    records = [
        pair(
            T0 + timedelta(seconds=i),
            side(OLD, latency_ms=100.0 * (i + 1)),
            side(NEW, latency_ms=50.0 * (i + 1)),
        )
        for i in range(10)
    ]
    # A refusal answers in 20 ms: it must not make the successor look faster still.
    records.append(pair(T0 + timedelta(seconds=10), side(OLD, latency_ms=550.0), refused()))
    (found,) = compare(records).pairs
    assert found.primary.latency_ms.count == 11
    assert found.shadow.latency_ms.count == 10
    assert found.shadow.latency_ms.minimum == 50.0
    assert found.primary.latency_ms.p50 == 550.0
    assert found.shadow.latency_ms.p50 == pytest.approx(275.0)
    assert found.latency_ratio_p50 == pytest.approx(0.5)
    assert found.latency_ratio_p95 == pytest.approx(
        found.shadow.latency_ms.p95 / found.primary.latency_ms.p95  # type: ignore[operator]
    )


def test_success_rate_and_errors_by_code() -> None:
    throttled = ShadowSide(model_id=NEW, error_code="ThrottlingException", latency_ms=5.0)
    records = [pair(), pair(shadow=refused()), pair(shadow=refused()), pair(shadow=throttled)]
    (found,) = compare(records).pairs
    assert found.calls == 4
    assert found.shadow.succeeded == 1
    assert found.shadow.success_rate == 0.25
    assert found.shadow.errors == (("ValidationException", 2), ("ThrottlingException", 1))
    assert found.refused == 2
    assert found.primary.success_rate == 1.0
    assert found.primary.errors == ()


def test_tokens_and_cost_per_call_leave_unpriced_calls_out_of_the_mean() -> None:
    records = [
        pair(shadow=side(NEW, input_tokens=1000, output_tokens=300, cost_usd=0.0075)),
        pair(shadow=side(NEW, input_tokens=1000, output_tokens=100, cost_usd=None)),
    ]
    (found,) = compare(records).pairs
    assert found.shadow.output_tokens_per_call == 200.0
    assert found.shadow.cost_per_call == 0.0075  # not (0.0075 + 0) / 2
    assert found.shadow.priced_calls == 1
    assert found.primary.cost_per_call == 0.006


def test_monthly_cost_difference_at_the_observed_rate() -> None:
    # 4 calls over 2 days: 2 calls a day; the successor costs $0.001 more a call.
    records = [
        pair(T0 + timedelta(hours=16 * i), shadow=side(NEW, cost_usd=0.007)) for i in range(4)
    ]
    records[-1] = pair(T0 + timedelta(days=2), shadow=side(NEW, cost_usd=0.007))
    (found,) = compare(records).pairs
    assert found.span == timedelta(days=2)
    assert found.calls_per_day == pytest.approx(2.0)
    assert found.calls_per_day_observed is True
    assert found.monthly_cost_difference == pytest.approx(0.001 * 2.0 * 30)


def test_a_replay_too_short_to_show_a_rate_projects_nothing_unless_told_the_rate() -> None:
    records = [pair(T0 + timedelta(seconds=i), shadow=side(NEW, cost_usd=0.004)) for i in range(50)]
    (found,) = compare(records).pairs
    assert found.calls_per_day is None
    assert found.monthly_cost_difference is None
    (given,) = compare(records, calls_per_day=10_000).pairs
    assert given.calls_per_day == 10_000
    assert given.calls_per_day_observed is False
    assert given.monthly_cost_difference == pytest.approx(-0.002 * 10_000 * 30)  # cheaper


def test_no_monthly_difference_when_one_model_has_no_price() -> None:
    records = [pair(shadow=side(NEW, cost_usd=None)), pair(T0 + timedelta(days=1))]
    (found,) = compare(records, calls_per_day=100).pairs
    assert found.shadow.cost_per_call == 0.006
    records = [pair(shadow=side(NEW, cost_usd=None)) for _ in range(3)]
    (found,) = compare(records, calls_per_day=100).pairs
    assert found.shadow.cost_per_call is None
    assert found.monthly_cost_difference is None


def test_stop_reasons_agree_only_where_both_answered() -> None:
    records = [
        pair(),
        pair(shadow=side(NEW, stop_reason="max_tokens")),
        pair(shadow=side(NEW, stop_reason=None)),  # unknown: not compared
        pair(shadow=refused()),  # failed: not compared
    ]
    (found,) = compare(records).pairs
    assert found.stop_reasons_compared == 2
    assert found.stop_reason_agreement == 0.5


def test_similarity_and_score_distributions() -> None:
    records = [pair(similarity=value / 10, score=value) for value in range(1, 6)]
    records.append(pair(shadow=refused(), similarity=None))
    (found,) = compare(records).pairs
    assert found.similarity.count == 5
    assert found.similarity.p50 == pytest.approx(0.3)
    assert found.similarity.mean == pytest.approx(0.3)
    assert found.score.p90 == pytest.approx(4.6)


def test_pairs_are_grouped_by_model_pair_in_model_order() -> None:
    records = [pair(), pair(primary=side(NOVA), shadow=side(NEW)), pair(T0 + timedelta(hours=2))]
    report = compare(records)
    assert [(p.primary_model_id, p.shadow_model_id, p.calls) for p in report.pairs] == [
        (NOVA, NEW, 1),
        (OLD, NEW, 2),
    ]
    assert report.pairs[1].last_at == T0 + timedelta(hours=2)


# -- verdict ----------------------------------------------------------------------------------


def test_ready_when_the_successor_answered_everything() -> None:
    report = compare([pair() for _ in range(100)])
    assert report.ready
    assert report.pairs[0].verdict.ready
    assert report.pairs[0].verdict.reasons == ()
    assert str(report.pairs[0].verdict) == "ready"


def test_one_throttled_call_in_a_hundred_is_still_ready_but_two_are_not() -> None:
    throttled = ShadowSide(model_id=NEW, error_code="ThrottlingException")
    ninety_nine = [pair() for _ in range(99)] + [pair(shadow=throttled)]
    assert compare(ninety_nine).ready
    ninety_eight = [pair() for _ in range(98)] + [pair(shadow=throttled)] * 2
    verdict = compare(ninety_eight).pairs[0].verdict
    assert not verdict.ready
    assert verdict.reasons == (
        "the successor answered 98 of 100 calls (98.0%), under 99.0% (ThrottlingException 2)",
    )


def test_a_single_refusal_is_not_ready_even_above_the_success_bar() -> None:
    records = [pair() for _ in range(199)] + [pair(shadow=refused())]
    verdict = compare(records).pairs[0].verdict
    assert compare(records).pairs[0].shadow.success_rate == pytest.approx(0.995)
    assert not verdict.ready
    assert len(verdict.reasons) == 1
    assert "refused 1 request(s) (ValidationException)" in verdict.reasons[0]
    assert compare(records, thresholds=Thresholds(max_refused=1)).ready


def test_optional_bounds_on_similarity_score_and_latency() -> None:
    records = [
        pair(shadow=side(NEW, latency_ms=300.0), similarity=0.4, score=0.9) for _ in range(5)
    ]
    assert compare(records).ready  # none of them judged by default
    strict = Thresholds(min_similarity=0.5, min_score=0.8, max_latency_ratio=2.0)
    verdict = compare(records, thresholds=strict).pairs[0].verdict
    assert not verdict.ready
    assert verdict.reasons == (
        "median similarity 0.40 is under 0.50",
        "the successor's p95 latency is 3.00x the primary's, over 2.00x",
    )
    loose = Thresholds(min_similarity=0.4, max_latency_ratio=3.0)
    assert compare(records, thresholds=loose).ready


def test_a_bound_with_nothing_to_measure_is_not_ready() -> None:
    records = [pair(similarity=None, score=None)]
    verdict = compare(records, thresholds=Thresholds(min_score=0.5)).pairs[0].verdict
    assert verdict.reasons == ("no score to judge (no pair where both answered)",)


def test_an_empty_comparison_is_not_ready() -> None:
    report = compare([])
    assert report.pairs == ()
    assert not report.ready


@pytest.mark.parametrize(
    "values",
    [{"min_success": 1.5}, {"min_similarity": -0.1}, {"max_refused": -1}, {"max_latency_ratio": 0}],
)
def test_thresholds_out_of_range_are_refused(values: dict[str, Any]) -> None:
    with pytest.raises(ValueError, match=next(iter(values))):
        Thresholds(**values)


def test_to_dict_is_json_and_carries_the_verdict() -> None:
    report = compare([pair(), pair(shadow=refused())], calls_per_day=1000)
    data = json.loads(json.dumps(report.to_dict()))
    assert data["ready"] is False
    (found,) = data["pairs"]
    assert found["shadow"]["errors"] == {"ValidationException": 1}
    assert found["shadow"]["success_rate"] == 0.5
    assert found["calls_per_day"] == 1000
    assert found["reasons"][0].startswith("the successor answered 1 of 2 calls (50.0%)")
    assert data["thresholds"]["min_success"] == 0.99


# -- evaluation datasets ----------------------------------------------------------------------


def test_identifiers_match_what_an_evaluation_job_accepts() -> None:
    pattern = re.compile(r"[a-zA-Z0-9][a-zA-Z0-9._-]{0,255}")
    for model in (OLD, NEW, "arn:aws:bedrock:us-east-1::foundation-model/amazon.nova-pro-v1:0"):
        assert pattern.fullmatch(evaluation_identifier(model)), model
    assert evaluation_identifier(OLD) == "anthropic.claude-3-5-sonnet-20240620-v1-0"


def test_prompt_text_of_a_single_question_and_of_a_conversation() -> None:
    one = {"messages": [{"role": "user", "content": [{"text": "What is 2+2?"}]}]}
    assert prompt_text(json.dumps(one)) == "What is 2+2?"
    more = {
        "system": [{"text": "Be brief."}],
        "messages": [
            {"role": "user", "content": [{"text": "Hi"}]},
            {"role": "assistant", "content": [{"text": "Hello!"}]},
            {"role": "user", "content": [{"text": "A joke?"}]},
        ],
    }
    assert prompt_text(json.dumps(more)) == (
        "System: Be brief.\n\nUser: Hi\n\nAssistant: Hello!\n\nUser: A joke?"
    )
    assert prompt_text("plain words") == "plain words"


def kept(text: str, **extra: str) -> str:
    return json.dumps({"messages": [{"role": "user", "content": [{"text": text}]}], **extra})


def test_datasets_one_per_model_with_the_same_prompts() -> None:
    records = [
        pair(
            primary=side(OLD, text="Paris."),
            shadow=side(NEW, text="It is Paris."),
            prompt=kept("Capital of France?", referenceResponse="Paris", category="geo"),
            prompt_hash="h1",
        ),
        # The same prompt again: used once per model.
        pair(
            primary=side(OLD, text="Paris!"),
            shadow=side(NEW, text="Paris!"),
            prompt=kept("Capital of France?"),
            prompt_hash="h1",
        ),
        # The successor refused: neither model is judged on it.
        pair(primary=side(OLD, text="4"), shadow=refused(), prompt=kept("2+2?"), prompt_hash="h2"),
        # Texts not kept.
        pair(prompt_hash="h3"),
    ]
    export = evaluation_datasets(records)
    old_id, new_id = evaluation_identifier(OLD), evaluation_identifier(NEW)
    assert sorted(export.datasets) == sorted([old_id, new_id])
    assert export.model_ids[new_id] == NEW
    assert export.without_answer == 1
    assert export.without_text == 1
    (line,) = export.datasets[new_id]
    assert line == {
        "prompt": "Capital of France?",
        "referenceResponse": "Paris",
        "category": "geo",
        "modelResponses": [{"response": "It is Paris.", "modelIdentifier": new_id}],
    }
    (old_line,) = export.datasets[old_id]
    assert old_line["modelResponses"] == [{"response": "Paris.", "modelIdentifier": old_id}]


def test_no_dataset_without_kept_texts() -> None:
    export = evaluation_datasets([pair(), pair()])
    assert export.datasets == {}
    assert export.without_text == 2
