"""The Policy: validation, loading, decisions, successor chains and InvokeModel body families."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bedrock_lifecycle import ConfigurationError, State
from bedrock_lifecycle._policy import BODY_FAMILIES, Action, Policy, body_family

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"

SONNET_3 = "anthropic.claude-3-sonnet-20240229-v1:0"
SONNET_35 = "anthropic.claude-3-5-sonnet-20240620-v1:0"
SONNET_4 = "anthropic.claude-sonnet-4-20250514-v1:0"
SONNET_45 = "anthropic.claude-sonnet-4-5-20250929-v1:0"


def identity(body: bytes) -> bytes:
    return body


def config_error(**kwargs: Any) -> ConfigurationError:
    with pytest.raises(ConfigurationError) as info:
        Policy(**kwargs)
    return info.value


# -- construction --------------------------------------------------------------------------------


def test_defaults() -> None:
    policy = Policy()
    assert dict(policy.successors) == {}
    assert policy.on_legacy is Action.WARN
    assert policy.on_extended_access is Action.WARN
    assert policy.on_eol is Action.FALLBACK
    assert policy.reactive_fallback is True
    assert policy.warn_once is True
    assert policy.idle_warning_days == 10
    assert dict(policy.translators) == {}
    assert policy.use_recommended is True


def test_the_documented_keywords_work() -> None:
    policy = Policy(
        successors={},
        on_legacy="warn",
        on_extended_access="warn",
        on_eol="fallback",
        reactive_fallback=True,
        warn_once=True,
    )
    assert policy == Policy()


def test_construction_is_keyword_only() -> None:
    with pytest.raises(TypeError):
        Policy({})  # type: ignore[call-arg]


@pytest.mark.parametrize("value", ["error", "ERROR", " error ", Action.ERROR])
def test_actions_are_normalised(value: str) -> None:
    policy = Policy(on_legacy=value, on_extended_access=value, on_eol=value)
    assert policy.on_legacy is Action.ERROR
    assert policy.on_extended_access is Action.ERROR
    assert policy.on_eol is Action.ERROR
    assert policy == Policy(on_legacy="error", on_extended_access="error", on_eol="error")


@pytest.mark.parametrize("field", ["on_legacy", "on_extended_access"])
@pytest.mark.parametrize("action", ["warn", "fallback", "error", "ignore"])
def test_legacy_fields_take_every_action(field: str, action: str) -> None:
    settings: dict[str, Any] = {field: action}
    assert getattr(Policy(**settings), field) is Action(action)


@pytest.mark.parametrize("action", ["warn", "ignore"])
def test_on_eol_refuses_warn_and_ignore(action: str) -> None:
    err = config_error(on_eol=action)
    assert err.key == "on_eol"
    assert "'on_eol'" in str(err)
    assert "expected one of error, fallback" in str(err)
    assert "past end of life" in str(err)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("on_legacy", "shout"),
        ("on_legacy", 1),
        ("on_legacy", None),
        ("on_extended_access", ""),
        ("on_extended_access", ["warn"]),
        ("on_eol", "fall back"),
    ],
)
def test_bad_actions_name_the_field(field: str, value: Any) -> None:
    err = config_error(**{field: value})
    assert err.key == field
    assert f"{field!r}" in str(err)


@pytest.mark.parametrize("field", ["reactive_fallback", "warn_once", "use_recommended"])
@pytest.mark.parametrize("value", [1, 0, "true", None])
def test_flags_must_be_booleans(field: str, value: Any) -> None:
    err = config_error(**{field: value})
    assert err.key == field
    assert "expected true or false" in str(err)


@pytest.mark.parametrize("value", [True, 1.5, "10", None, -1])
def test_idle_warning_days_must_be_a_non_negative_int(value: Any) -> None:
    err = config_error(idle_warning_days=value)
    assert err.key == "idle_warning_days"


def test_idle_warning_days_zero_is_allowed() -> None:
    assert Policy(idle_warning_days=0).idle_warning_days == 0


@pytest.mark.parametrize("value", [["a.b"], "a.b=c.d", None, 3])
def test_successors_must_be_a_mapping(value: Any) -> None:
    err = config_error(successors=value)
    assert err.key == "successors"


def test_successor_values_must_be_strings() -> None:
    err = config_error(successors={SONNET_3: 42})
    assert err.key == SONNET_3
    assert "successor must be a model id string, got int 42" in str(err)


def test_successor_keys_must_be_strings() -> None:
    err = config_error(successors={1: SONNET_4})
    assert err.key == "successors"
    assert "got int 1" in str(err)


@pytest.mark.parametrize("bad", ["", " anthropic.x", "anthropic x"])
def test_successor_ids_must_look_like_ids(bad: str) -> None:
    err = config_error(successors={SONNET_3: bad})
    assert err.key == SONNET_3
    err = config_error(successors={bad: SONNET_4})
    assert err.key == bad


def test_cycle_of_length_one_names_the_key() -> None:
    err = config_error(successors={SONNET_35: SONNET_4, SONNET_3: SONNET_3})
    assert err.key == SONNET_3
    assert "its own successor" in str(err)


def test_cycle_of_length_two() -> None:
    err = config_error(successors={SONNET_3: SONNET_35, SONNET_35: SONNET_3})
    assert err.key == SONNET_3
    assert f"cycle: {SONNET_3} -> {SONNET_35} -> {SONNET_3}" in str(err)


def test_cycle_of_length_three_behind_a_tail() -> None:
    err = config_error(
        successors={"x.start": "a.one", "a.one": "a.two", "a.two": "a.three", "a.three": "a.one"}
    )
    assert err.key == "a.one"
    assert "cycle: a.one -> a.two -> a.three -> a.one" in str(err)


def test_long_chains_without_cycles_are_fine() -> None:
    chain = {f"m.v{n}": f"m.v{n + 1}" for n in range(50)}
    assert dict(Policy(successors=chain).successors) == chain


def test_successors_are_copied_and_read_only() -> None:
    mine = {SONNET_3: SONNET_35}
    policy = Policy(successors=mine)
    mine[SONNET_35] = SONNET_4
    assert dict(policy.successors) == {SONNET_3: SONNET_35}
    with pytest.raises(TypeError):
        policy.successors[SONNET_35] = SONNET_4  # type: ignore[index]


def test_translators_are_copied_and_read_only() -> None:
    mine = {("anthropic-text-completions", "anthropic-messages"): identity}
    policy = Policy(translators=mine)
    mine.clear()
    assert len(policy.translators) == 1
    with pytest.raises(TypeError):
        policy.translators[("a.b", "c.d")] = identity  # type: ignore[index]


def test_policy_is_frozen() -> None:
    policy = Policy()
    with pytest.raises(dataclasses.FrozenInstanceError):
        policy.on_eol = "error"  # type: ignore[misc]


@pytest.mark.parametrize(
    ("translators", "fragment"),
    [
        ({"anthropic.claude-v2": identity}, "(from, to) pairs"),
        ({("a.b",): identity}, "(from, to) pairs"),
        ({("a.b", ""): identity}, "(from, to) pairs"),
        ({("anthropic-message", "a.b"): identity}, "did you mean 'anthropic-messages'"),
        ({("a.b", "c.d"): "not callable"}, "must be callable"),
        ([("a.b", "c.d")], "expected a mapping"),
    ],
)
def test_bad_translators(translators: Any, fragment: str) -> None:
    err = config_error(translators=translators)
    assert err.key == "translators"
    assert fragment in str(err)


def test_equality_hash_and_repr() -> None:
    one = Policy(successors={SONNET_3: SONNET_35}, on_eol="error", translators={})
    two = Policy(successors={SONNET_3: SONNET_35}, on_eol=Action.ERROR)
    assert one == two
    assert hash(one) == hash(two)
    assert one != Policy(successors={SONNET_3: SONNET_4}, on_eol="error")
    assert len({one, two, Policy()}) == 2
    text = repr(Policy(successors={SONNET_3: SONNET_35}, translators={("a.b", "c.d"): identity}))
    assert text.startswith("Policy(successors={")
    assert f"{SONNET_3!r}: {SONNET_35!r}" in text
    assert "on_eol='fallback'" in text
    assert "('a.b', 'c.d'): <identity>" in text
    assert "mappingproxy" not in text


def test_replace_revalidates() -> None:
    policy = Policy(on_legacy="error")
    assert dataclasses.replace(policy, on_eol="error").on_legacy is Action.ERROR
    with pytest.raises(ConfigurationError):
        dataclasses.replace(policy, on_eol="warn")


# -- decisions ----------------------------------------------------------------------------------


def test_action_for_each_state() -> None:
    policy = Policy(on_legacy="ignore", on_extended_access="error", on_eol="fallback")
    assert policy.action_for(State.LEGACY) is Action.IGNORE
    assert policy.action_for(State.EXTENDED_ACCESS) is Action.ERROR
    assert policy.action_for(State.EOL) is Action.FALLBACK
    assert policy.action_for(State.ACTIVE) is Action.IGNORE
    assert policy.action_for(State.UNKNOWN) is Action.IGNORE
    strict = Policy(on_legacy="fallback", on_extended_access="warn", on_eol="error")
    assert strict.action_for(State.LEGACY) is Action.FALLBACK
    assert strict.action_for(State.EXTENDED_ACCESS) is Action.WARN
    assert strict.action_for(State.EOL) is Action.ERROR


def test_successor_for_prefers_the_full_id() -> None:
    profile = f"us.{SONNET_35}"
    policy = Policy(successors={profile: f"us.{SONNET_45}", SONNET_35: SONNET_4})
    assert policy.successor_for(profile, SONNET_35) == f"us.{SONNET_45}"
    assert policy.successor_for(f"eu.{SONNET_35}", SONNET_35) == SONNET_4
    assert policy.successor_for(SONNET_35, SONNET_35) == SONNET_4
    assert policy.successor_for(f"eu.{SONNET_35}", None) is None
    assert policy.successor_for(SONNET_4, SONNET_4) is None


def no_recommendations(model_id: str) -> Sequence[str]:
    return ()


def test_chain_stops_at_the_first_usable_candidate() -> None:
    policy = Policy(successors={SONNET_3: SONNET_35, SONNET_35: SONNET_4, SONNET_4: SONNET_45})
    asked: list[str] = []

    def usable(model_id: str) -> bool:
        asked.append(model_id)
        return model_id == SONNET_4

    assert policy.successor_chain(SONNET_3, SONNET_3, is_usable=usable) == [SONNET_35, SONNET_4]
    assert asked == [SONNET_35, SONNET_4]


def test_chain_is_empty_when_nothing_is_usable() -> None:
    policy = Policy(successors={SONNET_3: SONNET_35, SONNET_35: SONNET_4})
    assert policy.successor_chain(SONNET_3, SONNET_3, is_usable=lambda _: False) == []
    assert policy.successor_candidates(SONNET_3, SONNET_3) == [SONNET_35, SONNET_4]


def test_chain_without_any_successor() -> None:
    assert Policy().successor_chain(SONNET_3, SONNET_3, is_usable=lambda _: True) == []


def test_chain_respects_max_hops() -> None:
    policy = Policy(successors={f"m.v{n}": f"m.v{n + 1}" for n in range(20)})
    assert policy.successor_candidates("m.v0", None, max_hops=3) == ["m.v1", "m.v2", "m.v3"]
    assert policy.successor_chain("m.v0", None, is_usable=lambda m: m == "m.v9") == []
    assert policy.successor_chain("m.v0", None, is_usable=lambda m: m == "m.v8")[-1] == "m.v8"
    with pytest.raises(ValueError, match="max_hops"):
        policy.successor_candidates("m.v0", None, max_hops=0)


def test_chain_uses_base_ids_of_candidates_when_told_how() -> None:
    policy = Policy(successors={SONNET_3: f"us.{SONNET_35}", SONNET_35: SONNET_4})

    def base_of(model_id: str) -> str:
        return model_id.removeprefix("us.")

    assert policy.successor_candidates(SONNET_3, SONNET_3) == [f"us.{SONNET_35}"]
    assert policy.successor_candidates(SONNET_3, SONNET_3, base_id_of=base_of) == [
        f"us.{SONNET_35}",
        SONNET_4,
    ]


def test_recommended_replacement_is_used_without_a_configured_successor() -> None:
    table = {SONNET_3: [SONNET_35, SONNET_4], SONNET_35: [SONNET_4]}
    asked: list[str] = []

    def recommended(base_id: str) -> Sequence[str]:
        asked.append(base_id)
        return table.get(base_id, [])

    chain = Policy().successor_chain(
        f"us.{SONNET_3}", SONNET_3, is_usable=lambda m: m == SONNET_4, recommended=recommended
    )
    assert chain == [SONNET_35, SONNET_4]
    assert asked == [SONNET_3, SONNET_35]


def test_configured_successor_beats_the_recommendation() -> None:
    policy = Policy(successors={SONNET_3: SONNET_45})
    chain = policy.successor_chain(
        SONNET_3, SONNET_3, is_usable=lambda _: True, recommended=lambda _: [SONNET_35]
    )
    assert chain == [SONNET_45]


def test_recommendations_can_be_switched_off() -> None:
    chain = Policy(use_recommended=False).successor_chain(
        SONNET_3, SONNET_3, is_usable=lambda _: True, recommended=lambda _: [SONNET_35]
    )
    assert chain == []


def test_configured_and_recommended_hops_mix() -> None:
    policy = Policy(successors={SONNET_35: SONNET_4})
    recommended = {SONNET_3: [SONNET_35], SONNET_4: [SONNET_45]}
    assert policy.successor_candidates(
        SONNET_3, SONNET_3, recommended=lambda b: recommended.get(b, [])
    ) == [SONNET_35, SONNET_4, SONNET_45]


def test_a_cycle_through_recommendations_ends_the_walk() -> None:
    # SONNET_4 is configured back to SONNET_35, which recommends SONNET_4: a loop the static
    # check on successors alone cannot see.
    policy = Policy(successors={SONNET_4: SONNET_35})
    recommended = {SONNET_35: [SONNET_4], SONNET_3: [SONNET_35]}
    candidates = policy.successor_candidates(
        SONNET_3, SONNET_3, recommended=lambda b: recommended.get(b, [])
    )
    assert candidates == [SONNET_35, SONNET_4]


def test_visited_recommendations_are_skipped_for_the_next_one() -> None:
    recommended = {SONNET_3: [SONNET_35], SONNET_35: [SONNET_3, SONNET_4]}
    candidates = Policy().successor_candidates(
        SONNET_3, SONNET_3, recommended=lambda b: recommended.get(b, [])
    )
    assert candidates == [SONNET_35, SONNET_4]


def test_a_successor_with_an_already_seen_base_ends_the_walk() -> None:
    policy = Policy(successors={f"us.{SONNET_3}": f"eu.{SONNET_3}"})
    candidates = policy.successor_candidates(
        f"us.{SONNET_3}", SONNET_3, base_id_of=lambda m: m.split(".", 1)[1]
    )
    assert candidates == []


# -- body families and translators --------------------------------------------------------------


@pytest.mark.parametrize(
    ("base_id", "family"),
    [
        ("anthropic.claude-v2", "anthropic-text-completions"),
        ("anthropic.claude-v2:1", "anthropic-text-completions"),
        ("anthropic.claude-v2:1:200k", "anthropic-text-completions"),
        ("anthropic.claude-instant-v1", "anthropic-text-completions"),
        (SONNET_3, "anthropic-messages"),
        ("anthropic.claude-3-haiku-20240307-v1:0:48k", "anthropic-messages"),
        (SONNET_35, "anthropic-messages"),
        ("anthropic.claude-3-7-sonnet-20250219-v1:0", "anthropic-messages"),
        (SONNET_4, "anthropic-messages"),
        ("anthropic.claude-opus-4-1-20250805-v1:0", "anthropic-messages"),
        ("anthropic.claude-haiku-4-5-20251001-v1:0", "anthropic-messages"),
        (f"us.{SONNET_45}", "anthropic-messages"),
        ("global.anthropic.claude-sonnet-4-5-20250929-v1:0", "anthropic-messages"),
        ("amazon.titan-text-express-v1", "amazon-titan-text"),
        ("amazon.titan-text-premier-v1:0", "amazon-titan-text"),
        ("amazon.titan-tg1-large", "amazon-titan-text"),
        ("amazon.nova-pro-v1:0", "amazon-nova"),
        ("amazon.nova-micro-v1:0", "amazon-nova"),
        ("apac.amazon.nova-lite-v1:0", "amazon-nova"),
        ("amazon.nova-premier-v1:0", "amazon-nova"),
        ("amazon.nova-2-lite-v1:0", "amazon-nova"),
        ("amazon.titan-embed-text-v1", "amazon-titan-embed"),
        ("amazon.titan-embed-text-v2:0", "amazon-titan-embed"),
        ("amazon.titan-embed-g1-text-02", "amazon-titan-embed"),
        ("amazon.titan-embed-image-v1", "amazon-titan-embed-image"),
        ("amazon.titan-image-generator-v1", "amazon-image-generation"),
        ("amazon.titan-image-generator-v2:0", "amazon-image-generation"),
        ("amazon.nova-canvas-v1:0", "amazon-image-generation"),
        ("meta.llama2-70b-chat-v1", "meta-llama"),
        ("meta.llama3-1-70b-instruct-v1:0", "meta-llama"),
        ("meta.llama4-scout-17b-instruct-v1:0", "meta-llama"),
        ("mistral.mistral-7b-instruct-v0:2", "mistral"),
        ("mistral.mixtral-8x7b-instruct-v0:1", "mistral"),
        ("mistral.mistral-large-2402-v1:0", "mistral"),
        ("mistral.mistral-small-2402-v1:0", "mistral"),
        ("mistral.mistral-large-2407-v1:0", "mistral-chat"),
        ("mistral.pixtral-large-2502-v1:0", "mistral-chat"),
        ("cohere.command-text-v14", "cohere-command"),
        ("cohere.command-light-text-v14", "cohere-command"),
        ("cohere.command-r-v1:0", "cohere-command-r"),
        ("cohere.command-r-plus-v1:0", "cohere-command-r"),
        ("cohere.embed-english-v3", "cohere-embed"),
        ("cohere.embed-multilingual-v3", "cohere-embed"),
        ("ai21.jamba-instruct-v1:0", "ai21-jamba"),
        ("ai21.jamba-1-5-large-v1:0", "ai21-jamba"),
        ("ai21.j2-ultra-v1", "ai21-jurassic"),
        ("stability.stable-diffusion-xl-v1", "stability-sdxl"),
        ("stability.sd3-large-v1:0", "stability-image"),
        ("stability.sd3-5-large-v1:0", "stability-image"),
        ("stability.stable-image-ultra-v1:1", "stability-image"),
        ("stability.stable-image-core-v1:1", "stability-image"),
        ("stability.stable-image-inpaint-v1:0", "unknown"),
        ("amazon.nova-sonic-v1:0", "unknown"),
        ("amazon.nova-reel-v1:0", "unknown"),
        ("cohere.rerank-v3-5:0", "unknown"),
        ("deepseek.r1-v1:0", "unknown"),
        ("anthropic", "unknown"),
        ("", "unknown"),
        ("arn:aws:bedrock:us-east-1:123456789012:provisioned-model/abcdefghijkl", "unknown"),
    ],
)
def test_body_family(base_id: str, family: str) -> None:
    assert body_family(base_id) == family
    assert family in BODY_FAMILIES


def test_same_family_is_compatible() -> None:
    policy = Policy()
    assert policy.compatible_bodies(SONNET_3, SONNET_45)
    assert policy.compatible_bodies(
        "meta.llama3-70b-instruct-v1:0", "meta.llama3-1-8b-instruct-v1:0"
    )
    assert not policy.compatible_bodies("anthropic.claude-v2:1", SONNET_4)
    assert not policy.compatible_bodies("amazon.titan-text-express-v1", "amazon.nova-lite-v1:0")
    assert not policy.compatible_bodies(
        "mistral.mistral-large-2402-v1:0", "mistral.mistral-large-2407-v1:0"
    )


def test_unknown_family_is_never_compatible() -> None:
    assert not Policy().compatible_bodies("deepseek.r1-v1:0", "deepseek.r1-v1:0")
    assert not Policy().compatible_bodies("vendor.model-a", "vendor.model-b")


def test_translator_by_family_makes_bodies_compatible() -> None:
    policy = Policy(translators={("anthropic-text-completions", "anthropic-messages"): identity})
    assert policy.compatible_bodies("anthropic.claude-v2:1", SONNET_4)
    assert not policy.compatible_bodies(SONNET_4, "anthropic.claude-v2:1")
    assert policy.translator_for("anthropic.claude-instant-v1", SONNET_45) is identity
    assert policy.translator_for(SONNET_3, SONNET_4) is None


def test_translator_lookup_order() -> None:
    def by_ids(body: bytes) -> bytes:
        return b"ids"

    def by_id_family(body: bytes) -> bytes:
        return b"id-family"

    def by_family_id(body: bytes) -> bytes:
        return b"family-id"

    def by_families(body: bytes) -> bytes:
        return b"families"

    titan, nova, nova_pro = (
        "amazon.titan-text-express-v1",
        "amazon.nova-lite-v1:0",
        "amazon.nova-pro-v1:0",
    )
    full = {
        (titan, nova): by_ids,
        (titan, "amazon-nova"): by_id_family,
        ("amazon-titan-text", nova): by_family_id,
        ("amazon-titan-text", "amazon-nova"): by_families,
    }
    assert Policy(translators=full).translator_for(titan, nova) is by_ids
    del full[(titan, nova)]
    assert Policy(translators=full).translator_for(titan, nova) is by_id_family
    del full[(titan, "amazon-nova")]
    assert Policy(translators=full).translator_for(titan, nova) is by_family_id
    assert Policy(translators=full).translator_for(titan, nova_pro) is by_families
    assert (
        Policy(translators=full).translator_for("amazon.titan-text-lite-v1", nova) is by_family_id
    )


def test_translator_between_unknown_models_by_id() -> None:
    policy = Policy(translators={("vendor.model-a", "vendor.model-b"): identity})
    assert policy.compatible_bodies("vendor.model-a", "vendor.model-b")
    assert not policy.compatible_bodies("vendor.model-b", "vendor.model-a")


# -- loading --------------------------------------------------------------------------------------


def test_from_mapping_builds_the_same_policy() -> None:
    data: dict[str, Any] = {
        "successors": {SONNET_3: SONNET_35},
        "on_legacy": "fallback",
        "on_extended_access": "error",
        "on_eol": "error",
        "reactive_fallback": False,
        "warn_once": False,
        "idle_warning_days": 5,
        "use_recommended": False,
    }
    assert Policy.from_mapping(data) == Policy(**data)


def test_from_mapping_unknown_key_names_key_and_file() -> None:
    with pytest.raises(ConfigurationError) as info:
        Policy.from_mapping({"on_legasy": "warn"}, source="conf/policy.toml")
    err = info.value
    assert err.key == "on_legasy"
    assert err.source == "conf/policy.toml"
    assert str(err).startswith("conf/policy.toml: 'on_legasy': unknown policy setting")
    assert "did you mean 'on_legacy'" in str(err)


def test_from_mapping_refuses_translators() -> None:
    with pytest.raises(ConfigurationError) as info:
        Policy.from_mapping({"translators": {}})
    assert info.value.key == "translators"
    assert "cannot come from a file" in str(info.value)


def test_from_mapping_adds_the_file_to_validation_errors() -> None:
    with pytest.raises(ConfigurationError) as info:
        Policy.from_mapping({"on_eol": "warn"}, source="policy.json")
    assert info.value.key == "on_eol"
    assert info.value.source == "policy.json"
    assert str(info.value).startswith("policy.json: 'on_eol': expected one of error, fallback")


def test_from_mapping_ignores_listed_keys() -> None:
    policy = Policy.from_mapping({"on_eol": "error", "price_book": "p.toml"}, ignore={"price_book"})
    assert policy == Policy(on_eol="error")


@pytest.mark.parametrize("data", [[("on_eol", "error")], "on_eol=error", None])
def test_from_mapping_needs_a_mapping(data: Any) -> None:
    with pytest.raises(ConfigurationError, match="must be a table"):
        Policy.from_mapping(data)


def test_from_mapping_non_string_key() -> None:
    with pytest.raises(ConfigurationError, match="names must be strings"):
        Policy.from_mapping({1: "warn"})  # type: ignore[dict-item]


def test_from_toml_file(tmp_path: Path) -> None:
    path = tmp_path / "policy.toml"
    path.write_text(
        f'on_legacy = "error"\nidle_warning_days = 3\n[successors]\n"{SONNET_3}" = "{SONNET_4}"\n',
        encoding="utf-8",
    )
    assert Policy.from_file(path) == Policy(
        on_legacy="error", idle_warning_days=3, successors={SONNET_3: SONNET_4}
    )


def test_from_json_file(tmp_path: Path) -> None:
    path = tmp_path / "policy.json"
    path.write_text(json.dumps({"on_eol": "error", "successors": {SONNET_3: SONNET_4}}))
    assert Policy.from_file(str(path)) == Policy(on_eol="error", successors={SONNET_3: SONNET_4})


@pytest.mark.parametrize(
    ("name", "content", "key", "fragment"),
    [
        ("p.toml", 'on_eol = "warn"\n', "on_eol", "expected one of error, fallback"),
        ("p.toml", "warn_once = 1\n", "warn_once", "expected true or false"),
        ("p.toml", 'idle_warning_days = "10"\n', "idle_warning_days", "whole number"),
        ("p.toml", 'successors = ["a.b"]\n', "successors", "expected a mapping"),
        ("p.toml", '[successors]\n"a.b" = 3\n', "a.b", "model id string"),
        ("p.toml", '[successors]\n"a.b" = "c.d"\n"c.d" = "a.b"\n', "a.b", "cycle"),
        ("p.toml", 'on_eol = "error"\nunknown_thing = 1\n', "unknown_thing", "unknown policy"),
        ("p.json", '{"on_legacy": null}', "on_legacy", "expected one of"),
        ("p.json", '{"translators": {}}', "translators", "cannot come from a file"),
    ],
)
def test_file_errors_name_the_file_and_the_key(
    tmp_path: Path, name: str, content: str, key: str, fragment: str
) -> None:
    path = tmp_path / name
    path.write_text(content, encoding="utf-8")
    with pytest.raises(ConfigurationError) as info:
        Policy.from_file(path)
    assert info.value.source == str(path)
    assert info.value.key == key
    assert str(path) in str(info.value)
    assert repr(key) in str(info.value)
    assert fragment in str(info.value)


@pytest.mark.parametrize(
    ("name", "content", "fragment"),
    [
        ("p.toml", 'on_eol = "error\n', "invalid TOML"),
        ("p.json", '["on_eol"]', "top level must be a JSON object"),
        ("p.json", '{"on_eol": }', "invalid JSON at line 1, column 12"),
        ("p.yaml", "on_eol: error\n", "unsupported file type"),
    ],
)
def test_unreadable_policy_files(tmp_path: Path, name: str, content: str, fragment: str) -> None:
    path = tmp_path / name
    path.write_text(content, encoding="utf-8")
    with pytest.raises(ConfigurationError) as info:
        Policy.from_file(path)
    assert info.value.source == str(path)
    assert "cannot read policy file" in str(info.value)
    assert fragment in str(info.value)


def test_from_pyproject(tmp_path: Path) -> None:
    path = tmp_path / "pyproject.toml"
    path.write_text(
        '[project]\nname = "app"\n\n[tool.bedrock-lifecycle]\non_eol = "error"\n'
        f'[tool.bedrock-lifecycle.successors]\n"{SONNET_3}" = "{SONNET_4}"\n',
        encoding="utf-8",
    )
    assert Policy.from_pyproject(path) == Policy(on_eol="error", successors={SONNET_3: SONNET_4})


def test_from_pyproject_searches_upwards(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "pyproject.toml").write_text(
        '[tool.bedrock-lifecycle]\non_legacy = "ignore"\n', encoding="utf-8"
    )
    (tmp_path / "app").mkdir()
    monkeypatch.chdir(tmp_path / "app")
    assert Policy.from_pyproject() == Policy(on_legacy="ignore")


def test_from_pyproject_without_a_section_gives_the_default(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "app"\n', encoding="utf-8")
    assert Policy.from_pyproject(tmp_path / "pyproject.toml") == Policy()
    monkeypatch.chdir(tmp_path)
    assert Policy.from_pyproject() == Policy()


def test_from_pyproject_errors_name_the_file_and_section(tmp_path: Path) -> None:
    path = tmp_path / "pyproject.toml"
    path.write_text('[tool.bedrock-lifecycle]\non_eol = "warn"\n', encoding="utf-8")
    with pytest.raises(ConfigurationError) as info:
        Policy.from_pyproject(path)
    assert info.value.key == "on_eol"
    assert info.value.source == f"{path} [tool.bedrock-lifecycle]"


def test_the_example_policy_file_loads() -> None:
    policy = Policy.from_file(EXAMPLES / "policy.toml")
    assert policy.on_extended_access is Action.FALLBACK
    assert policy.successor_for(f"us.{SONNET_3}", SONNET_3) == SONNET_35
    chain = policy.successor_chain(
        SONNET_3, SONNET_3, is_usable=lambda m: m.startswith("us."), recommended=no_recommendations
    )
    assert chain == [SONNET_35, f"us.{SONNET_4}"]
    arn = "arn:aws:bedrock:eu-central-1::foundation-model/amazon.titan-text-express-v1"
    assert policy.successor_for(arn, "amazon.titan-text-express-v1") == "eu.amazon.nova-lite-v1:0"


# -- fuzzing --------------------------------------------------------------------------------------

FIELD_NAMES = [f.name for f in dataclasses.fields(Policy)]
scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-5, max_value=50),
    st.floats(allow_nan=True),
    st.sampled_from(["warn", "fallback", "error", "ignore", "WARN", "", "a.b", "c.d", "a b"]),
    st.text(max_size=8),
)
values = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3),
        st.dictionaries(
            st.sampled_from(["a.b", "c.d", "e.f", "x"]) | st.text(max_size=5), inner, max_size=4
        ),
    ),
    max_leaves=8,
)
keys = st.one_of(st.sampled_from(FIELD_NAMES), st.text(max_size=10), st.integers())


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(keys, values, max_size=6))
def test_from_mapping_returns_a_policy_or_raises_configuration_error(data: dict[Any, Any]) -> None:
    outcome: object
    try:
        outcome = Policy.from_mapping(data, source="fuzz.toml")
    except ConfigurationError as err:
        outcome = err
    if isinstance(outcome, ConfigurationError):
        assert outcome.source == "fuzz.toml"
        assert str(outcome).startswith("fuzz.toml: ")
    else:
        assert isinstance(outcome, Policy)
        assert set(data) <= set(FIELD_NAMES)
        hash(outcome)


@settings(max_examples=200, deadline=None)
@given(
    st.dictionaries(
        st.sampled_from(["m.a", "m.b", "m.c", "m.d", "m.e"]),
        st.sampled_from(["m.a", "m.b", "m.c", "m.d", "m.e"]),
        max_size=5,
    )
)
def test_accepted_successor_maps_never_loop(successors: dict[str, str]) -> None:
    try:
        policy = Policy(successors=successors)
    except ConfigurationError:
        # Rejected maps must really contain a cycle.
        for start in successors:
            node, steps = start, 0
            while node in successors and steps <= len(successors):
                node, steps = successors[node], steps + 1
            if steps > len(successors):
                return
        pytest.fail(f"rejected a map without a cycle: {successors}")
    for start in successors:
        candidates = policy.successor_candidates(start, start, max_hops=10)
        assert len(candidates) == len(set(candidates)) <= len(successors)


def test_unknown_keyword_at_construction_is_a_configuration_error_naming_it() -> None:
    with pytest.raises(ConfigurationError, match="did you mean 'on_legacy'") as raised:
        Policy(on_legcy="warn")  # type: ignore[call-arg]
    assert raised.value.key == "on_legcy"
