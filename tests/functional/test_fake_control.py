"""Control-plane operations of the fake through real boto3 ``bedrock`` clients."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from datetime import date, datetime, timezone
from typing import Any

import pytest
from botocore.exceptions import ClientError

from bedrock_lifecycle._clock import as_utc
from bedrock_lifecycle.testing import (
    FakeBedrock,
    FakeCustomModel,
    FakeInferenceProfile,
    FakeModel,
    FakeProvisionedModel,
    LifecycleDates,
    Scenario,
)

SONNET35 = "anthropic.claude-3-5-sonnet-20240620-v1:0"
SONNET4 = "anthropic.claude-sonnet-4-20250514-v1:0"
SONNET45 = "anthropic.claude-sonnet-4-5-20250929-v1:0"
NOVA = "amazon.nova-pro-v1:0"
TITAN = "amazon.titan-text-express-v1"
LLAMA = "meta.llama3-1-70b-instruct-v1:0"


def _utc(year: int, month: int, day: int) -> datetime:
    return datetime(year, month, day, tzinfo=timezone.utc)


@pytest.fixture
def fake() -> Iterator[FakeBedrock]:
    with FakeBedrock() as instance:
        yield instance


@pytest.fixture(params=["inprocess", "server"])
def control(fake: FakeBedrock, request: pytest.FixtureRequest) -> Any:
    return fake.client("bedrock", mode=request.param)


def _ids(response: dict[str, Any]) -> list[str]:
    return [summary["modelId"] for summary in response["modelSummaries"]]


def test_list_foundation_models_hides_models_past_eol(control: Any) -> None:
    assert _ids(control.list_foundation_models()) == [SONNET35, SONNET4, SONNET45, NOVA, LLAMA]


def test_list_carries_status_and_dates_in_utc(control: Any) -> None:
    (sonnet,) = [
        s for s in control.list_foundation_models()["modelSummaries"] if s["modelId"] == SONNET35
    ]
    assert sonnet["modelArn"] == f"arn:aws:bedrock:us-east-1::foundation-model/{SONNET35}"
    assert sonnet["providerName"] == "Anthropic"
    assert sonnet["inferenceTypesSupported"] == ["ON_DEMAND", "PROVISIONED"]
    lifecycle = sonnet["modelLifecycle"]
    assert lifecycle["status"] == "LEGACY"
    assert as_utc(lifecycle["legacyTime"]) == _utc(2025, 8, 25)
    assert as_utc(lifecycle["publicExtendedAccessTime"]) == _utc(2025, 12, 1)
    assert as_utc(lifecycle["endOfLifeTime"]) == _utc(2026, 3, 1)
    assert as_utc(lifecycle["startOfLifeTime"]) == _utc(2024, 6, 20)


@pytest.mark.parametrize(
    ("filters", "expected"),
    [
        ({"byProvider": "anthropic"}, [SONNET35, SONNET4, SONNET45]),
        ({"byProvider": "Meta"}, [LLAMA]),
        ({"byCustomizationType": "FINE_TUNING"}, [NOVA]),
        ({"byInferenceType": "PROVISIONED"}, [SONNET35]),
        ({"byOutputModality": "TEXT"}, [SONNET35, SONNET4, SONNET45, NOVA, LLAMA]),
        ({"byOutputModality": "IMAGE"}, []),
        ({"byProvider": "Amazon", "byInferenceType": "ON_DEMAND"}, [NOVA]),
    ],
)
def test_list_filters(control: Any, filters: dict[str, str], expected: list[str]) -> None:
    assert _ids(control.list_foundation_models(**filters)) == expected


def test_list_rejects_values_outside_the_enum(control: Any) -> None:
    with pytest.raises(ClientError) as caught:
        control.list_foundation_models(byOutputModality="SMELL")
    assert caught.value.response["Error"]["Code"] == "ValidationException"
    assert "byOutputModality" in caught.value.response["Error"]["Message"]


def test_per_region_dates_and_offering(fake: FakeBedrock) -> None:
    def lifecycle(region: str) -> dict[str, Any]:
        client = fake.client("bedrock", region_name=region)
        return client.get_foundation_model(modelIdentifier=SONNET35)["modelDetails"][
            "modelLifecycle"
        ]

    assert as_utc(lifecycle("us-east-1")["endOfLifeTime"]) == _utc(2026, 3, 1)
    assert as_utc(lifecycle("eu-central-2")["endOfLifeTime"]) == _utc(2026, 6, 1)
    assert as_utc(lifecycle("ap-northeast-1")["endOfLifeTime"]) == _utc(2026, 7, 30)
    west = fake.client("bedrock", region_name="us-west-2")
    assert SONNET35 not in _ids(west.list_foundation_models())
    assert TITAN in _ids(west.list_foundation_models())  # EOL only in us-east-1


def test_list_without_dates_forces_a_get(fake: FakeBedrock) -> None:
    fake.scenario = dataclasses.replace(Scenario.default(), list_dates=False)
    control = fake.client("bedrock")
    for summary in control.list_foundation_models()["modelSummaries"]:
        assert set(summary["modelLifecycle"]) == {"status"}
    details = control.get_foundation_model(modelIdentifier=SONNET35)["modelDetails"]
    assert "endOfLifeTime" in details["modelLifecycle"]


def test_unpublished_dates_and_iso_timestamps() -> None:
    scenario = Scenario(
        models=(
            FakeModel(NOVA, legacy_at=date(2026, 1, 1), publish_dates=False),
            FakeModel(LLAMA, eol_at=date(2027, 1, 1)),
        ),
        timestamp_format="iso",
        now=date(2026, 2, 1),
    )
    with FakeBedrock(scenario) as fake:
        control = fake.client("bedrock")
        nova = control.get_foundation_model(modelIdentifier=NOVA)["modelDetails"]
        assert nova["modelLifecycle"] == {"status": "LEGACY"}
        llama = control.get_foundation_model(modelIdentifier=LLAMA)["modelDetails"]
        assert llama["modelLifecycle"]["endOfLifeTime"] == _utc(2027, 1, 1)


@pytest.mark.parametrize(
    "identifier", [SONNET35, f"arn:aws:bedrock:us-east-1::foundation-model/{SONNET35}"]
)
def test_get_foundation_model_by_id_or_arn(control: Any, identifier: str) -> None:
    details = control.get_foundation_model(modelIdentifier=identifier)["modelDetails"]
    assert details["modelId"] == SONNET35


@pytest.mark.parametrize("identifier", [TITAN, "anthropic.nothing-v1:0"])
def test_get_foundation_model_unknown_or_gone(control: Any, identifier: str) -> None:
    with pytest.raises(ClientError) as caught:
        control.get_foundation_model(modelIdentifier=identifier)
    assert caught.value.response["Error"]["Code"] == "ResourceNotFoundException"
    assert caught.value.response["ResponseMetadata"]["HTTPStatusCode"] == 404


def test_system_inference_profile(control: Any) -> None:
    profile = control.get_inference_profile(inferenceProfileIdentifier=f"us.{SONNET4}")
    assert profile["type"] == "SYSTEM_DEFINED"
    assert profile["status"] == "ACTIVE"
    assert profile["inferenceProfileId"] == f"us.{SONNET4}"
    assert profile["models"] == [
        {"modelArn": f"arn:aws:bedrock:us-east-1::foundation-model/{SONNET4}"},
        {"modelArn": f"arn:aws:bedrock:us-west-2::foundation-model/{SONNET4}"},
    ]
    by_arn = control.get_inference_profile(
        inferenceProfileIdentifier=profile["inferenceProfileArn"]
    )
    assert by_arn["inferenceProfileId"] == profile["inferenceProfileId"]


def test_profile_reports_active_while_base_is_legacy(control: Any) -> None:
    profile = control.get_inference_profile(inferenceProfileIdentifier=f"us.{SONNET35}")
    assert profile["status"] == "ACTIVE"
    base = profile["models"][0]["modelArn"].rsplit("/", 1)[1]
    details = control.get_foundation_model(modelIdentifier=base)["modelDetails"]
    assert details["modelLifecycle"]["status"] == "LEGACY"


def test_application_inference_profile(control: Any) -> None:
    arn = "arn:aws:bedrock:us-east-1:123456789012:application-inference-profile/app-sonnet"
    for identifier in ("app-sonnet", arn):
        profile = control.get_inference_profile(inferenceProfileIdentifier=identifier)
        assert profile["type"] == "APPLICATION"
        assert profile["inferenceProfileArn"] == arn
        assert profile["models"] == [
            {"modelArn": f"arn:aws:bedrock:us-east-1::foundation-model/{SONNET4}"}
        ]


def test_unknown_inference_profile(control: Any) -> None:
    with pytest.raises(ClientError) as caught:
        control.get_inference_profile(inferenceProfileIdentifier="us.nothing.here-v1:0")
    assert caught.value.response["Error"]["Code"] == "ResourceNotFoundException"


def test_list_inference_profiles_filters_and_pages(control: Any) -> None:
    everything = control.list_inference_profiles()["inferenceProfileSummaries"]
    kinds = {p["inferenceProfileId"]: p["type"] for p in everything}
    assert kinds["app-sonnet"] == "APPLICATION"
    assert kinds[f"us.{NOVA}"] == "SYSTEM_DEFINED"
    assert f"us.{TITAN}" not in kinds
    apps = control.list_inference_profiles(typeEquals="APPLICATION")["inferenceProfileSummaries"]
    assert [p["inferenceProfileId"] for p in apps] == ["app-sonnet"]
    pages = control.get_paginator("list_inference_profiles").paginate(
        PaginationConfig={"PageSize": 2}
    )
    paged = [p["inferenceProfileId"] for page in pages for p in page["inferenceProfileSummaries"]]
    assert paged == [p["inferenceProfileId"] for p in everything]


def test_provisioned_and_custom_models(control: Any) -> None:
    arn = "arn:aws:bedrock:us-east-1:123456789012:provisioned-model/prov00000001"
    for identifier in ("sonnet-pt", arn):
        provisioned = control.get_provisioned_model_throughput(provisionedModelId=identifier)
        assert provisioned["provisionedModelArn"] == arn
        assert provisioned["foundationModelArn"] == (
            f"arn:aws:bedrock:us-east-1::foundation-model/{SONNET35}"
        )
        assert provisioned["status"] == "InService"
    custom = control.get_custom_model(modelIdentifier="my-nova")
    assert custom["baseModelArn"] == f"arn:aws:bedrock:us-east-1::foundation-model/{NOVA}"
    assert control.get_custom_model(modelIdentifier=custom["modelArn"])["modelName"] == "my-nova"
    with pytest.raises(ClientError, match="ResourceNotFoundException"):
        control.get_custom_model(modelIdentifier="nope")
    with pytest.raises(ClientError, match="ResourceNotFoundException"):
        control.get_provisioned_model_throughput(provisionedModelId="nope")


def test_provisioned_custom_model_resolves_to_its_base() -> None:
    scenario = Scenario(
        models=(FakeModel(NOVA),),
        custom_models=(FakeCustomModel("tuned", NOVA, model_suffix="a1b2c3d4e5f6"),),
        provisioned=(FakeProvisionedModel("pt0000000001", NOVA, custom_model="tuned"),),
        profiles=(FakeInferenceProfile("myapp", NOVA, region="us-east-1"),),
    )
    with FakeBedrock(scenario) as fake:
        control = fake.client("bedrock")
        provisioned = control.get_provisioned_model_throughput(provisionedModelId="pt0000000001")
        assert provisioned["modelArn"].endswith(":custom-model/amazon.nova-pro-v1:0/a1b2c3d4e5f6")
        assert provisioned["foundationModelArn"].endswith(f"foundation-model/{NOVA}")
        runtime = fake.client("bedrock-runtime")
        runtime.converse(modelId=provisioned["provisionedModelArn"], messages=[])
        assert fake.requests[-1].resolved_model == NOVA


def test_from_snapshot_builds_models_and_successors() -> None:
    from bedrock_lifecycle._bundled import load_snapshot

    snapshot = load_snapshot()
    scenario = Scenario.from_snapshot()
    assert scenario.now == snapshot.as_of
    for row in snapshot.rows:
        model = scenario.model(row.model_id)
        assert model is not None
        for region in row.regions:
            dates = model.dates(region)
            assert (dates.legacy_at, dates.extended_access_at, dates.eol_at) == (
                row.legacy_at,
                row.extended_access_at,
                row.eol_at,
            )
        for successor in row.recommended:
            assert scenario.model(successor) is not None
    first = snapshot.rows[0]
    only = Scenario.from_snapshot(as_of=date(2020, 1, 1), regions=first.regions[:1])
    assert only.now == _utc(2020, 1, 1)
    assert all(set(m.regions) <= set(first.regions[:1]) for m in only.models)
    with FakeBedrock(only) as fake:
        listed = _ids(fake.client("bedrock", region_name=first.regions[0]).list_foundation_models())
        assert first.model_id in listed  # everything is Active in 2020


def test_from_snapshot_refuses_what_the_bundled_data_says_bedrock_refuses() -> None:
    from bedrock_lifecycle._bundled import load_catalogue

    catalogue = load_catalogue()
    region = "us-east-1"
    profile_only = next(
        e for e in catalogue if e.inference == "profile_only" and region in e.regions and e.profiles
    )
    partly = next(
        e
        for e in catalogue
        if e.inference == "on_demand"
        and region in e.regions
        and e.on_demand_regions
        and region not in e.on_demand_regions
    )
    scenario = Scenario.from_snapshot()
    assert scenario.model(profile_only.model_id) is not None  # Active models are served too
    sonnet45 = "anthropic.claude-sonnet-4-5-20250929-v1:0"
    messages = [{"role": "user", "content": [{"text": "hi"}]}]
    with FakeBedrock(scenario) as fake:
        runtime = fake.client("bedrock-runtime", region_name=region)
        control = fake.client("bedrock", region_name=region)
        # The constraint table: Sonnet 4.5 refuses temperature with topP, and its ceiling.
        refusals = {
            "The model returned the following errors: `temperature` and `top_p` cannot both be "
            "specified for this model. Please use only one.": {"temperature": 0.5, "topP": 0.9},
            "The maximum tokens you requested exceeds the model limit of 64000. Try again with "
            "a maximum tokens value that is lower than 64000.": {"maxTokens": 64001},
        }
        for message, config in refusals.items():
            with pytest.raises(ClientError) as refused:
                runtime.converse(modelId=sonnet45, messages=messages, inferenceConfig=config)
            error = refused.value.response["Error"]
            assert (error["Code"], error["Message"]) == ("ValidationException", message)
        # The catalogue: on-demand calls where the model takes none, and the profiles it has.
        for entry in (profile_only, partly):
            with pytest.raises(ClientError, match="on-demand throughput isn't supported"):
                runtime.converse(modelId=entry.model_id, messages=messages)
            geo = "us" if "us" in entry.profiles else "global"
            runtime.converse(modelId=f"{geo}.{entry.model_id}", messages=messages)
            details = control.get_foundation_model(modelIdentifier=entry.model_id)
            assert "ON_DEMAND" not in details["modelDetails"]["inferenceTypesSupported"]
        elsewhere = fake.client("bedrock-runtime", region_name=partly.on_demand_regions[0])
        elsewhere.converse(modelId=partly.model_id, messages=messages)
        # ... and no global profile where the catalogue lists only geographic ones.
        regional = next(
            e
            for e in catalogue
            if region in e.regions and e.profiles and "global" not in e.profiles
        )
        with pytest.raises(ClientError, match="model identifier is invalid"):
            runtime.converse(modelId=f"global.{regional.model_id}", messages=messages)


def test_per_region_replaces_defaults() -> None:
    model = FakeModel(
        NOVA,
        regions=("us-east-1",),
        eol_at=date(2026, 1, 1),
        per_region={"eu-west-1": LifecycleDates(eol_at=date(2027, 1, 1))},
    )
    assert model.regions == ("us-east-1", "eu-west-1")
    assert model.dates("eu-west-1").eol_at == _utc(2027, 1, 1)
    assert model.dates("us-east-1").eol_at == _utc(2026, 1, 1)
    with pytest.raises(ValueError, match="declared twice"):
        Scenario(models=(model, model))
