"""What models refuse: the bundled table, user entries, learned refusals and request adaptation."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

import bedrock_lifecycle as bl
from bedrock_lifecycle._constraints import (
    _bundled_entries,
    constraint_from_refusal,
    parse_constraints_file,
)

S45 = "anthropic.claude-sonnet-4-5-20250929-v1:0"
OPUS47 = "anthropic.claude-opus-4-7"
PAIR = bl.ModelConstraints(refuses_together=(("temperature", "topP"),), max_tokens=64000)


# -- the bundled table -----------------------------------------------------------------------


def test_every_bundled_entry_names_a_public_source() -> None:
    data = json.loads((Path(bl.__file__).parent / "data" / "constraints.json").read_text("utf-8"))
    assert data["format"] == 1
    for entry in data["entries"]:
        assert entry["source"] in data["sources"], entry
    for text in data["sources"].values():
        assert re.search(r"[\w.-]+/[\w.-]+#\d+|docs\.anthropic\.com", text), text
    assert len(_bundled_entries()) == len(data["entries"])


@pytest.mark.parametrize(
    ("model_id", "expected"),
    [
        (S45, "temperature with topP; maxTokens <= 64000"),
        (f"us.{S45}", "temperature with topP; maxTokens <= 64000"),
        (
            "global.anthropic.claude-haiku-4-5-20251001-v1:0",
            "temperature with topP; maxTokens <= 64000",
        ),
        ("anthropic.claude-sonnet-4-6", "temperature with topP"),
        ("eu.anthropic.claude-opus-4-7", "temperature refused; topK refused; topP refused"),
        ("anthropic.claude-3-5-sonnet-20240620-v1:0", "maxTokens <= 4096"),
        (
            f"arn:aws:bedrock:us-east-1::foundation-model/{S45}",
            "temperature with topP; maxTokens <= 64000",
        ),
        ("amazon.nova-pro-v1:0", "no known constraints"),
    ],
)
def test_bundled_constraints_by_any_id_form(model_id: str, expected: str) -> None:
    assert bl.ConstraintBook().for_model(model_id).describe() == expected


# -- precedence ------------------------------------------------------------------------------


def test_a_given_entry_beats_a_bundled_one_of_the_same_or_shorter_length() -> None:
    book = bl.ConstraintBook({S45: {"max_tokens": 1000}})
    assert book.for_model(S45).max_tokens == 1000
    assert book.for_model(S45).refuses_together == ()  # the given entry replaces, not merges
    # A longer bundled prefix beats a shorter given one.
    book = bl.ConstraintBook({"anthropic.": {"refuses": ["topK"]}})
    assert book.for_model(S45) == PAIR
    assert book.for_model("anthropic.claude-example-v1:0").refuses == frozenset({"topK"})


def test_learned_constraints_add_to_the_table_and_are_shared() -> None:
    book = bl.ConstraintBook()
    extra = bl.ConstraintBook().with_entries({"x.model-v1": bl.ModelConstraints(max_tokens=9)})
    learned = bl.ModelConstraints(refuses=("topK",))
    assert book.learn(f"us.{S45}", learned) is True
    assert book.learn(S45, learned) is False  # nothing new
    assert book.for_model(S45) == PAIR.merged(learned)
    assert book.learned() == {S45: learned}
    assert extra.for_model(S45) == PAIR  # a separate book keeps its own table
    default = bl.ConstraintBook.default()
    try:
        default.with_entries({"x.model-v1": bl.ModelConstraints(max_tokens=9)}).learn(S45, learned)
        assert default.learned() == {S45: learned}
    finally:
        default.forget_learned()
    assert default.learned() == {}


def test_merged_takes_every_refusal_and_the_lower_ceiling() -> None:
    one = bl.ModelConstraints(refuses=("temperature",), max_tokens=100, source="a")
    two = bl.ModelConstraints(refuses_together=(("temperature", "topP"),), max_tokens=50)
    both = one.merged(two)
    assert both.refuses == frozenset({"temperature"})
    assert both.refuses_together == (("temperature", "topP"),)
    assert both.max_tokens == 50
    assert both.covers(one)
    assert both.covers(two)
    assert not one.covers(two)
    assert bl.ModelConstraints().empty
    assert not one.empty


@pytest.mark.parametrize(
    ("data", "fragment"),
    [
        ({"refuses": ["temprature"]}, "unknown inference parameter 'temprature'"),
        ({"refuses": "temperature"}, "list of parameter names"),
        ({"refuses_together": [["temperature"]]}, "pair of parameter names"),
        ({"max_tokens": 0}, "positive whole number"),
        ({"max_tokens": True}, "positive whole number"),
        ({"refuses_fields": [""]}, "non-empty strings"),
        ({"refuse": ["topK"]}, "unknown constraint 'refuse'"),
        ("topK", "must be a table"),
    ],
)
def test_bad_constraints_are_refused_with_the_reason(data: Any, fragment: str) -> None:
    with pytest.raises(bl.ConfigurationError, match=re.escape(fragment)):
        bl.ModelConstraints.from_mapping(data)


def test_provider_spellings_are_accepted() -> None:
    constraints = bl.ModelConstraints(refuses=("top_p", "top_k"), max_tokens=5)
    assert constraints.refuses == frozenset({"topP", "topK"})


def test_policy_constraints_from_a_file_and_errors_name_the_file(tmp_path: Path) -> None:
    good = tmp_path / "policy.toml"
    good.write_text(
        '[constraints."acme.model-v1"]\nrefuses = ["temperature"]\nmax_tokens = 1000\n', "utf-8"
    )
    policy = bl.Policy.from_file(good)
    assert policy.constraints["acme.model-v1"] == bl.ModelConstraints(
        refuses=("temperature",), max_tokens=1000
    )
    assert policy.adapt_requests is True
    bad = tmp_path / "bad.toml"
    bad.write_text('[constraints."acme.model-v1"]\nrefuses = ["temprature"]\n', "utf-8")
    with pytest.raises(bl.ConfigurationError) as raised:
        bl.Policy.from_file(bad)
    assert "bad.toml" in str(raised.value)
    assert "temprature" in str(raised.value)


def test_policy_constraints_are_read_only_and_part_of_equality() -> None:
    one = bl.Policy(constraints={"a.b-v1": {"max_tokens": 5}})
    two = bl.Policy(constraints={"a.b-v1": bl.ModelConstraints(max_tokens=5)})
    assert one == two
    assert hash(one) == hash(two)
    assert one != bl.Policy()
    with pytest.raises(TypeError):
        one.constraints["x"] = bl.ModelConstraints()  # type: ignore[index]
    assert bl.Policy(adapt_requests=False) != bl.Policy()
    with pytest.raises(bl.ConfigurationError):
        bl.Policy(adapt_requests="no")  # type: ignore[arg-type]


def test_a_constraints_document_of_another_format_is_refused() -> None:
    with pytest.raises(bl.ConfigurationError, match="format 1"):
        parse_constraints_file({"format": 2, "entries": []}, origin="x.json")
    with pytest.raises(bl.ConfigurationError, match=r"entries\[0\]"):
        parse_constraints_file({"format": 1, "entries": [{"max_tokens": 5}]}, origin="x.json")


# -- reading Bedrock's refusals ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("message", "expected"),
    [
        (
            "The model returned the following errors: `temperature` and `top_p` cannot both be "
            "specified for this model. Please use only one.",
            bl.ModelConstraints(refuses_together=(("temperature", "topP"),)),
        ),
        (
            "The model returned the following errors: `temperature` is deprecated for this model.",
            bl.ModelConstraints(refuses=("temperature",)),
        ),
        ("`top_k` is not supported for this model.", bl.ModelConstraints(refuses=("topK",))),
        (
            "`thinking` is not supported for this model.",
            bl.ModelConstraints(refuses_fields=("thinking",)),
        ),
        (
            "The maximum tokens you requested exceeds the model limit of 4096",
            bl.ModelConstraints(max_tokens=4096),
        ),
        ("Malformed input request: #: extraneous key [foo] is not permitted", None),
        ("The provided model identifier is invalid.", None),
        (None, None),
    ],
)
def test_constraint_from_refusal(message: str | None, expected: bl.ModelConstraints | None) -> None:
    assert constraint_from_refusal(message) == expected


# -- adapting a request ----------------------------------------------------------------------


def test_converse_drops_the_second_of_a_pair_and_clamps() -> None:
    params = {
        "modelId": S45,
        "inferenceConfig": {"temperature": 0.1, "topP": 0.5, "maxTokens": 70000},
    }
    adapted, changes = bl.adapt_request("Converse", params, PAIR)
    assert adapted["inferenceConfig"] == {"temperature": 0.1, "maxTokens": 64000}
    assert [str(c) for c in changes] == [
        "inferenceConfig.topP dropped (refused together with temperature)",
        "inferenceConfig.maxTokens clamped (70000 -> 64000, the model's limit)",
    ]
    assert params["inferenceConfig"] == {"temperature": 0.1, "topP": 0.5, "maxTokens": 70000}


def test_converse_pair_split_across_sections_and_provider_fields() -> None:
    constraints = bl.ModelConstraints(
        refuses=("topK",), refuses_together=(("temperature", "topP"),), refuses_fields=("x",)
    )
    params = {
        "inferenceConfig": {"temperature": 0.1},
        "additionalModelRequestFields": {"top_p": 0.5, "top_k": 3, "x": 1, "keep": 2},
    }
    adapted, changes = bl.adapt_request("ConverseStream", params, constraints)
    assert adapted["additionalModelRequestFields"] == {"keep": 2}
    assert adapted["inferenceConfig"] == {"temperature": 0.1}
    assert sorted(c.path for c in changes) == [
        "additionalModelRequestFields.top_k",
        "additionalModelRequestFields.top_p",
        "additionalModelRequestFields.x",
    ]


def test_an_emptied_section_is_left_out() -> None:
    constraints = bl.ModelConstraints(refuses=("temperature",))
    adapted, _ = bl.adapt_request("Converse", {"inferenceConfig": {"temperature": 1}}, constraints)
    assert "inferenceConfig" not in adapted


@pytest.mark.parametrize("body_type", [bytes, str])
def test_invoke_model_body_in_the_providers_names(body_type: type) -> None:
    body = {"max_tokens": 70000, "temperature": 0.2, "top_p": 0.9, "messages": []}
    raw = json.dumps(body)
    params = {"modelId": S45, "body": raw.encode() if body_type is bytes else raw}
    adapted, changes = bl.adapt_request("InvokeModel", params, PAIR)
    assert json.loads(adapted["body"]) == {"max_tokens": 64000, "temperature": 0.2, "messages": []}
    assert [c.path for c in changes] == ["body.top_p", "body.max_tokens"]


ODD_BODY = {
    "temperature": 0.2,
    "top_p": 0.9,
    "max_tokens": 10**30,
    "messages": [{"role": "user", "content": 'caf\u00e9 "quoted" \\ \n\u2028 \U0001f600'}],
    "extra": {"x": [1.5e300, -0.0, 3, None, False], "top_p": 1},
}


@pytest.mark.parametrize("ascii_only", [True, False])
def test_an_adapted_body_is_written_as_json_dumps_writes_it(ascii_only: bool) -> None:
    raw = json.dumps(ODD_BODY, ensure_ascii=ascii_only).encode()
    adapted, changes = bl.adapt_request("InvokeModel", {"modelId": S45, "body": raw}, PAIR)
    expected = {key: value for key, value in ODD_BODY.items() if key != "top_p"}
    expected["max_tokens"] = 64000
    assert adapted["body"] == json.dumps(expected, ensure_ascii=False).encode()
    assert [c.path for c in changes] == ["body.top_p", "body.max_tokens"]


@pytest.mark.parametrize(
    ("body", "adapted"),
    [
        (b' \n{"temperature": 0.2, "top_p": 0.9}\r\n', True),
        (b'{"temperature": 0.2, "top_p": 0.9}  ', True),
        (b'{"temperature": 0.2, "top_p": 0.9} {}', False),
        (b'{"temperature": 0.2, "top_p": 0.9', False),
        (b'\xff{"temperature": 0.2, "top_p": 0.9}', False),
    ],
)
def test_a_body_is_read_as_the_json_decoder_reads_it(body: bytes, adapted: bool) -> None:
    params = {"modelId": S45, "body": body}
    result, changes = bl.adapt_request("InvokeModel", params, PAIR)
    if adapted:
        assert json.loads(result["body"]) == {"temperature": 0.2}
        assert [c.path for c in changes] == ["body.top_p"]
    else:
        assert (result, changes) == (params, ())


def test_an_interpreter_without_the_c_encoder_writes_the_same_body() -> None:
    # A fresh interpreter whose json module has no C encoder, as on some other Pythons.
    code = (
        "import json, json.encoder, sys\n"
        "json.encoder.c_make_encoder = None\n"
        "import bedrock_lifecycle as bl\n"
        "from bedrock_lifecycle._constraints import _encode_json_once\n"
        "assert _encode_json_once is None\n"
        "c = bl.ModelConstraints(refuses_together=(('temperature', 'topP'),), max_tokens=64000)\n"
        "params = {'modelId': 'x', 'body': sys.stdin.buffer.read()}\n"
        "sys.stdout.buffer.write(bl.adapt_request('InvokeModel', params, c)[0]['body'])\n"
    )
    raw = json.dumps(ODD_BODY).encode()
    done = subprocess.run(
        [sys.executable, "-c", code], input=raw, capture_output=True, check=True, timeout=60
    )
    expected, _ = bl.adapt_request("InvokeModel", {"modelId": S45, "body": raw}, PAIR)
    assert done.stdout == expected["body"]


def test_a_c_encoder_that_writes_otherwise_is_not_used(monkeypatch: pytest.MonkeyPatch) -> None:
    import json.encoder

    from bedrock_lifecycle._constraints import _one_shot_encoder

    assert _one_shot_encoder() is not None  # CPython's own
    made = json.encoder.c_make_encoder
    assert made is not None

    def ascii_only(*args: Any) -> Any:  # what ensure_ascii=True would make
        return made(*args[:2], json.encoder.encode_basestring_ascii, *args[3:])

    monkeypatch.setattr(json.encoder, "c_make_encoder", ascii_only)
    assert _one_shot_encoder() is None
    monkeypatch.setattr(json.encoder, "c_make_encoder", lambda *args: 1 / 0)
    assert _one_shot_encoder() is None


@pytest.mark.parametrize("body", [b"not json", b"[1, 2]", b'{"top_k": 1, "max_tokens": 10}', None])
def test_bodies_that_need_nothing_or_cannot_be_read_are_left_alone(body: bytes | None) -> None:
    params = {"modelId": S45, "body": body}
    adapted, changes = bl.adapt_request("InvokeModelWithResponseStream", params, PAIR)
    assert adapted is params
    assert changes == ()


def test_async_invoke_model_input() -> None:
    params = {"modelId": OPUS47, "modelInput": {"temperature": 1, "top_k": 3, "prompt": "x"}}
    constraints = bl.ConstraintBook().for_model(OPUS47)
    adapted, changes = bl.adapt_request("StartAsyncInvoke", params, constraints)
    assert adapted["modelInput"] == {"prompt": "x"}
    assert {c.path for c in changes} == {"modelInput.temperature", "modelInput.top_k"}


def test_nothing_to_adapt_returns_the_same_object() -> None:
    params = {"inferenceConfig": {"temperature": 0.1}}
    assert bl.adapt_request("Converse", params, PAIR) == (params, ())
    assert bl.adapt_request("Converse", params, bl.ModelConstraints())[0] is params
    assert bl.adapt_request("CountTokens", params, PAIR)[0] is params


@pytest.mark.parametrize(
    ("body", "changed"),
    [
        (b'{"max_tokens": 64, "messages": []}', None),
        (b'{"max_tokens" : 64000}', None),
        (b'{"max_tokens": 70000}', 64000),
        (b'{"max_tokens": 1e9}', 64000),
        (b'{"max_tokens": 64.5}', None),
        (b'{"meta": {"max_tokens": 99999}, "max_tokens": 5}', None),
        (b'{"meta": {"max_tokens": 5}, "max_tokens": 99999}', 64000),
    ],
)
def test_max_tokens_alone_is_clamped_only_at_the_top_level_and_only_above_the_ceiling(
    body: bytes, changed: int | None
) -> None:
    params = {"modelId": S45, "body": body}
    adapted, changes = bl.adapt_request("InvokeModel", params, PAIR)
    if changed is None:
        assert adapted is params
        assert changes == ()
    else:
        assert json.loads(adapted["body"])["max_tokens"] == changed
        assert [c.path for c in changes] == ["body.max_tokens"]
