"""Model identifier parsing and rendering."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bedrock_lifecycle._ids import (
    KNOWN_GEO_PREFIXES,
    IdForm,
    ModelRef,
    arn_for_model,
    base_model_id,
    parse_model_id,
    render_successor,
)

SONNET = "anthropic.claude-3-5-sonnet-20240620-v1:0"
SONNET_V2 = "anthropic.claude-3-5-sonnet-20241022-v2:0"
ACCOUNT = "123456789012"
PARTITIONS = ["aws", "aws-us-gov", "aws-cn", "aws-iso", "aws-iso-b"]

BASE_IDS = [
    "amazon.titan-text-express-v1",
    "meta.llama3-1-70b-instruct-v1:0",
    SONNET,
    "amazon.nova-pro-v1:0",
    "stability.sd3-5-large-v1:0",
    "cohere.embed-english-v3",
    "twelvelabs.marengo-embed-2-7-v1:0",
    "openai.gpt-oss-120b-1:0",
    "anthropic.claude-3-haiku-20240307-v1:0:200k",
    "meta.llama3-8b-instruct-v1:0:8k",
    "amazon.titan-text-lite-v1:0:4k",
]


# --- example-based: every form -------------------------------------------------------------


@pytest.mark.parametrize("value", BASE_IDS)
def test_base_ids(value: str) -> None:
    ref = parse_model_id(value)
    assert ref == ModelRef(raw=value, form=IdForm.BASE, base_id=value)
    assert not ref.needs_control_plane
    assert ref.profile_id is None


@pytest.mark.parametrize("geo", sorted(KNOWN_GEO_PREFIXES))
def test_system_profiles_with_known_geo(geo: str) -> None:
    value = f"{geo}.{SONNET}"
    ref = parse_model_id(value)
    assert ref.form is IdForm.PROFILE
    assert ref.base_id == SONNET
    assert ref.geo == geo
    assert ref.profile_id == value
    assert not ref.needs_control_plane


@pytest.mark.parametrize("geo", ["ca", "xx-new", "mars2"])
def test_unknown_geo_prefix_is_still_a_profile(geo: str) -> None:
    assert geo not in KNOWN_GEO_PREFIXES
    ref = parse_model_id(f"{geo}.amazon.nova-pro-v1:0")
    assert (ref.form, ref.geo, ref.base_id) == (IdForm.PROFILE, geo, "amazon.nova-pro-v1:0")


def test_profile_with_too_many_segments_keeps_geo_but_needs_control_plane() -> None:
    ref = parse_model_id("us.vendor.family.model-v1:0")
    assert (ref.form, ref.geo, ref.base_id) == (IdForm.PROFILE, "us", None)
    assert ref.needs_control_plane
    assert ref.profile_id is None


@pytest.mark.parametrize("partition", PARTITIONS)
def test_foundation_model_arn(partition: str) -> None:
    value = f"arn:{partition}:bedrock:us-west-2::foundation-model/{SONNET}"
    ref = parse_model_id(value)
    assert ref == ModelRef(
        raw=value,
        form=IdForm.FOUNDATION_MODEL_ARN,
        base_id=SONNET,
        partition=partition,
        region="us-west-2",
        account=None,
        resource_id=SONNET,
    )
    assert not ref.needs_control_plane


@pytest.mark.parametrize("partition", PARTITIONS)
def test_inference_profile_arn(partition: str) -> None:
    value = f"arn:{partition}:bedrock:eu-central-1:{ACCOUNT}:inference-profile/eu.{SONNET}"
    ref = parse_model_id(value)
    assert ref.form is IdForm.INFERENCE_PROFILE_ARN
    assert (ref.partition, ref.region, ref.account) == (partition, "eu-central-1", ACCOUNT)
    assert (ref.geo, ref.base_id) == ("eu", SONNET)
    assert ref.profile_id == f"eu.{SONNET}"
    assert ref.resource_id == f"eu.{SONNET}"
    assert not ref.needs_control_plane


def test_us_gov_inference_profile_arn() -> None:
    value = f"arn:aws-us-gov:bedrock:us-gov-west-1:{ACCOUNT}:inference-profile/us-gov.{SONNET}"
    ref = parse_model_id(value)
    assert (ref.geo, ref.region, ref.base_id) == ("us-gov", "us-gov-west-1", SONNET)


@pytest.mark.parametrize(
    ("resource", "form"),
    [
        ("application-inference-profile/a1b2c3d4e5f6", IdForm.APPLICATION_PROFILE_ARN),
        ("provisioned-model/abcdef123456", IdForm.PROVISIONED_MODEL_ARN),
        ("custom-model-deployment/abcdef123456", IdForm.CUSTOM_MODEL_DEPLOYMENT_ARN),
        ("imported-model/abcdef123456", IdForm.IMPORTED_MODEL_ARN),
        ("default-prompt-router/anthropic.claude:1", IdForm.PROMPT_ROUTER_ARN),
        ("prompt-router/my-router-1", IdForm.PROMPT_ROUTER_ARN),
        ("custom-model/imported/abcdef123456", IdForm.CUSTOM_MODEL_ARN),
    ],
)
@pytest.mark.parametrize("partition", PARTITIONS)
def test_arns_that_need_the_control_plane(resource: str, form: IdForm, partition: str) -> None:
    value = f"arn:{partition}:bedrock:us-east-1:{ACCOUNT}:{resource}"
    ref = parse_model_id(value)
    assert ref.form is form
    assert ref.base_id is None
    assert ref.needs_control_plane
    assert (ref.partition, ref.region, ref.account) == (partition, "us-east-1", ACCOUNT)
    assert ref.resource_id == resource.split("/", 1)[1]


@pytest.mark.parametrize("base", ["amazon.titan-text-express-v1:0:8k", SONNET])
def test_custom_model_arn_reads_base_id(base: str) -> None:
    value = f"arn:aws:bedrock:us-east-1:{ACCOUNT}:custom-model/{base}/abcdef123456"
    ref = parse_model_id(value)
    assert (ref.form, ref.base_id) == (IdForm.CUSTOM_MODEL_ARN, base)
    assert ref.resource_id == f"{base}/abcdef123456"
    assert not ref.needs_control_plane


@pytest.mark.parametrize(
    "value",
    [
        "",
        " ",
        "\t\n",
        "claude",
        "anthropic.",
        ".claude-v2",
        "anthropic..claude",
        "Anthropic.Claude-V2",
        f" {SONNET}",
        f"{SONNET}\n",
        "anthropic.claude-v2:",
        "anthropic.claude v2",
        "arn:aws:bedrock:us-east-1::foundation-model",
        "arn:aws:bedrock:us-east-1::foundation-model/",
        f"arn:aws:s3:us-east-1::foundation-model/{SONNET}",
        f"arn:azure:bedrock:us-east-1::foundation-model/{SONNET}",
        f"arn:aws:bedrock:us-east-1:{ACCOUNT}:guardrail/abc123",
        f"arn:aws:bedrock:us-east-1:{ACCOUNT}:async-invoke/abcdef123456",
        f"arn:aws:bedrock:us-east-1:{ACCOUNT}",
        "arn:",
        "x" * 5000,
        "a." * 2000 + "b",
    ],
)
def test_garbage_is_unknown(value: str) -> None:
    ref = parse_model_id(value)
    assert (ref.form, ref.base_id, ref.raw) == (IdForm.UNKNOWN, None, value)
    assert not ref.needs_control_plane
    assert ref.profile_id is None


def test_url_encoded_ids_are_not_decoded() -> None:
    assert parse_model_id("anthropic.claude-3-5-sonnet-20240620-v1%3A0").form is IdForm.UNKNOWN
    encoded = f"arn%3Aaws%3Abedrock%3Aus-east-1%3A%3Afoundation-model%2F{SONNET}"
    assert parse_model_id(encoded).form is IdForm.UNKNOWN


def test_rendering_does_not_url_encode() -> None:
    ref = parse_model_id(f"arn:aws:bedrock:us-east-1::foundation-model/{SONNET}")
    rendered = render_successor(ref, SONNET_V2)
    assert rendered == f"arn:aws:bedrock:us-east-1::foundation-model/{SONNET_V2}"
    assert "%" not in rendered


def test_empty_region_and_account_are_none() -> None:
    ref = parse_model_id(f"arn:aws:bedrock:::inference-profile/us.{SONNET}")
    assert ref.form is IdForm.INFERENCE_PROFILE_ARN
    assert (ref.region, ref.account) == (None, None)


@pytest.mark.parametrize("value", [None, 42, b"anthropic.claude-v2", [SONNET]])
def test_non_strings_raise_type_error(value: Any) -> None:
    with pytest.raises(TypeError, match="must be a str"):
        parse_model_id(value)


def test_str_subclass_is_parsed_as_plain_str() -> None:
    class Tagged(str):
        pass

    ref = parse_model_id(Tagged(SONNET))
    assert ref.form is IdForm.BASE
    assert type(ref.raw) is str
    assert type(ref.base_id) is str


def test_parse_results_are_cached() -> None:
    value = f"eu.{SONNET_V2}"
    assert parse_model_id(value) is parse_model_id("".join(["eu.", SONNET_V2]))


def test_base_model_id_shortcut() -> None:
    assert base_model_id(f"apac.{SONNET}") == SONNET
    assert base_model_id(f"arn:aws:bedrock:us-east-1:{ACCOUNT}:provisioned-model/abc") is None
    assert base_model_id("nonsense") is None


def test_form_str_is_its_value() -> None:
    assert str(IdForm.APPLICATION_PROFILE_ARN) == "application-inference-profile-arn"


# --- arn_for_model ---------------------------------------------------------------------------


@pytest.mark.parametrize("partition", PARTITIONS)
def test_arn_for_model(partition: str) -> None:
    arn = arn_for_model(SONNET, "us-gov-west-1", partition)
    assert arn == f"arn:{partition}:bedrock:us-gov-west-1::foundation-model/{SONNET}"
    ref = parse_model_id(arn)
    assert (ref.form, ref.base_id, ref.partition) == (
        IdForm.FOUNDATION_MODEL_ARN,
        SONNET,
        partition,
    )


def test_arn_for_model_defaults_to_aws_partition() -> None:
    assert arn_for_model(SONNET, "us-east-1").startswith("arn:aws:bedrock:us-east-1::")


@pytest.mark.parametrize(
    ("base", "region", "partition", "message"),
    [
        (f"us.{SONNET}", "us-east-1", "aws", "not a base model id"),
        ("", "us-east-1", "aws", "not a base model id"),
        (SONNET, "", "aws", "not a region"),
        (SONNET, "us east 1", "aws", "not a region"),
        (SONNET, "us-east-1", "gcp", "not an AWS partition"),
    ],
)
def test_arn_for_model_rejects_bad_input(
    base: str, region: str, partition: str, message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        arn_for_model(base, region, partition)


# --- render_successor: examples --------------------------------------------------------------


@pytest.mark.parametrize(
    ("caller", "expected"),
    [
        (SONNET, SONNET_V2),
        (f"us.{SONNET}", f"us.{SONNET_V2}"),
        (f"xx-new.{SONNET}", f"xx-new.{SONNET_V2}"),
        (
            f"arn:aws-cn:bedrock:cn-north-1::foundation-model/{SONNET}",
            f"arn:aws-cn:bedrock:cn-north-1::foundation-model/{SONNET_V2}",
        ),
        (
            f"arn:aws:bedrock:ap-northeast-1:{ACCOUNT}:inference-profile/apac.{SONNET}",
            f"arn:aws:bedrock:ap-northeast-1:{ACCOUNT}:inference-profile/apac.{SONNET_V2}",
        ),
        # Forms that need the control plane go on demand, as a foundation-model ARN in their region.
        (
            f"arn:aws-iso-b:bedrock:us-isob-east-1:{ACCOUNT}:provisioned-model/abcdef123456",
            f"arn:aws-iso-b:bedrock:us-isob-east-1::foundation-model/{SONNET_V2}",
        ),
        (
            f"arn:aws:bedrock:eu-west-1:{ACCOUNT}:application-inference-profile/a1b2c3d4e5f6",
            f"arn:aws:bedrock:eu-west-1::foundation-model/{SONNET_V2}",
        ),
        (
            f"arn:aws:bedrock:us-east-1:{ACCOUNT}:custom-model/{SONNET}/abcdef123456",
            f"arn:aws:bedrock:us-east-1::foundation-model/{SONNET_V2}",
        ),
        (
            f"arn:aws:bedrock:us-east-1:{ACCOUNT}:default-prompt-router/anthropic.claude:1",
            f"arn:aws:bedrock:us-east-1::foundation-model/{SONNET_V2}",
        ),
        # No region known: the plain base id.
        (
            f"arn:aws:bedrock::{ACCOUNT}:application-inference-profile/a1b2c3d4e5f6",
            SONNET_V2,
        ),
        ("not a model id", SONNET_V2),
    ],
)
def test_render_successor_in_callers_form(caller: str, expected: str) -> None:
    assert render_successor(parse_model_id(caller), SONNET_V2) == expected


@pytest.mark.parametrize(
    "successor",
    [
        f"eu.{SONNET_V2}",
        f"arn:aws:bedrock:us-east-1::foundation-model/{SONNET_V2}",
        f"arn:aws:bedrock:us-east-1:{ACCOUNT}:inference-profile/us.{SONNET_V2}",
        f"arn:aws:bedrock:us-east-1:{ACCOUNT}:provisioned-model/abcdef123456",
    ],
)
@pytest.mark.parametrize(
    "caller", [SONNET, f"us.{SONNET}", f"arn:aws:bedrock:us-east-1::foundation-model/{SONNET}"]
)
def test_full_successor_ids_are_returned_unchanged(caller: str, successor: str) -> None:
    assert render_successor(parse_model_id(caller), successor) == successor


@pytest.mark.parametrize("successor", ["", "   ", "no dots here", f"{SONNET}%20"])
def test_render_rejects_a_successor_that_is_not_a_model_id(successor: str) -> None:
    with pytest.raises(ValueError, match="not a Bedrock model id"):
        render_successor(parse_model_id(SONNET), successor)


# --- properties ------------------------------------------------------------------------------

segments = st.from_regex(r"[a-z0-9-]{1,12}", fullmatch=True)
base_ids = st.builds(
    lambda provider, name, versions: f"{provider}.{name}" + "".join(f":{v}" for v in versions),
    segments,
    segments,
    st.lists(segments, max_size=2),
)
geos = st.one_of(st.sampled_from(sorted(KNOWN_GEO_PREFIXES)), segments)
partitions = st.one_of(
    st.sampled_from(PARTITIONS), st.from_regex(r"aws-[a-z]{1,5}", fullmatch=True)
)
regions = st.from_regex(r"[a-z]{2}(-gov|-iso|-isob)?-[a-z]{4,9}-[1-9]", fullmatch=True)
accounts = st.from_regex(r"[0-9]{12}", fullmatch=True)


@st.composite
def ids_in_round_trip_forms(draw: st.DrawFn) -> str:
    base = draw(base_ids)
    kind = draw(st.sampled_from(["base", "profile", "fm-arn", "ip-arn"]))
    if kind == "base":
        return base
    if kind == "profile":
        return f"{draw(geos)}.{base}"
    partition, region = draw(partitions), draw(regions)
    if kind == "fm-arn":
        return f"arn:{partition}:bedrock:{region}::foundation-model/{base}"
    return (
        f"arn:{partition}:bedrock:{region}:{draw(accounts)}:inference-profile/{draw(geos)}.{base}"
    )


@given(st.text())
def test_parse_never_raises_on_text(value: str) -> None:
    ref = parse_model_id(value)
    assert ref.raw == value
    assert isinstance(ref.form, IdForm)
    if ref.base_id is not None:
        assert ref.base_id in value
        assert parse_model_id(ref.base_id).form is IdForm.BASE


@given(st.text(alphabet="arn:aws-bedrock/.0123456789foundation-model", max_size=80))
def test_parse_never_raises_on_arn_like_text(value: str) -> None:
    ref = parse_model_id(value)
    assert ref.raw == value
    if ref.partition is not None:
        assert value.startswith(f"arn:{ref.partition}:bedrock:")
        assert ref.resource_id is not None
        assert value.endswith(ref.resource_id)


@given(ids_in_round_trip_forms())
def test_round_trip_with_own_base(value: str) -> None:
    ref = parse_model_id(value)
    assert ref.form is not IdForm.UNKNOWN
    assert ref.base_id is not None
    assert render_successor(ref, ref.base_id) == value


@given(ids_in_round_trip_forms(), base_ids)
def test_form_geo_and_region_survive_rendering(value: str, successor: str) -> None:
    ref = parse_model_id(value)
    rendered = parse_model_id(render_successor(ref, successor))
    assert rendered.form is ref.form
    assert rendered.base_id == successor
    assert (rendered.geo, rendered.partition, rendered.region, rendered.account) == (
        ref.geo,
        ref.partition,
        ref.region,
        ref.account,
    )


@given(segments.filter(lambda g: g not in KNOWN_GEO_PREFIXES), base_ids)
def test_unknown_geo_prefixes_parse_as_profiles(geo: str, base: str) -> None:
    ref = parse_model_id(f"{geo}.{base}")
    assert (ref.form, ref.geo, ref.base_id) == (IdForm.PROFILE, geo, base)
    assert ref.profile_id == f"{geo}.{base}"


@given(
    st.sampled_from(
        [
            "application-inference-profile",
            "provisioned-model",
            "custom-model-deployment",
            "imported-model",
            "prompt-router",
            "default-prompt-router",
        ]
    ),
    st.from_regex(r"[a-z0-9]{12}", fullmatch=True),
    partitions,
    regions,
    accounts,
    base_ids,
)
def test_control_plane_forms_render_on_demand_in_their_region(
    kind: str, resource: str, partition: str, region: str, account: str, successor: str
) -> None:
    ref = parse_model_id(f"arn:{partition}:bedrock:{region}:{account}:{kind}/{resource}")
    assert ref.needs_control_plane
    rendered = parse_model_id(render_successor(ref, successor))
    assert rendered.form is IdForm.FOUNDATION_MODEL_ARN
    assert (rendered.partition, rendered.region, rendered.base_id) == (partition, region, successor)


@pytest.mark.parametrize(
    ("value", "form", "base", "geo"),
    [
        ("openai.gpt-5.4-v1:0", IdForm.BASE, "openai.gpt-5.4-v1:0", None),
        ("deepseek.v3.2-v1:0", IdForm.BASE, "deepseek.v3.2-v1:0", None),
        ("us.openai.gpt-5.4-v1:0", IdForm.PROFILE, "openai.gpt-5.4-v1:0", "us"),
        ("global.minimax.minimax-m2.1", IdForm.PROFILE, "minimax.minimax-m2.1", "global"),
        # Not a known provider: still read as a profile whose base cannot be read.
        ("zz.example.model.v2", IdForm.PROFILE, None, "zz"),
    ],
)
def test_a_known_providers_model_name_may_hold_dots(
    value: str, form: IdForm, base: str | None, geo: str | None
) -> None:
    ref = parse_model_id(value)
    assert (ref.form, ref.base_id, ref.geo) == (form, base, geo)
