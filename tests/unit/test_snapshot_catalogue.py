"""The bundled catalogue of listed models, how it feeds lookups, and the model-card reader."""

from __future__ import annotations

import importlib.util
import json
import re
import sys
from dataclasses import replace
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

import bedrock_lifecycle as bl
from bedrock_lifecycle._bundled import (
    CatalogueEntry,
    catalogue_entry,
    load_catalogue,
    load_snapshot,
    parse_catalogue,
    parse_snapshot,
)
from bedrock_lifecycle._errors import CatalogError
from bedrock_lifecycle._ids import IdForm, parse_model_id
from bedrock_lifecycle._lifecycle import ModelLifecycle, Source, State
from bedrock_lifecycle._policy import Policy
from bedrock_lifecycle._wording import state_warning

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / "src" / "bedrock_lifecycle" / "data"
CARDS = ROOT / "tests" / "fixtures" / "lifecycle" / "cards"
REGION_RE = re.compile(r"[a-z]{2}(?:-gov)?-[a-z]+-\d")

NOVA_PRO = "amazon.nova-pro-v1:0"
HAIKU_45 = "anthropic.claude-haiku-4-5-20251001-v1:0"
SONNET_45 = "anthropic.claude-sonnet-4-5-20250929-v1:0"
SONNET_4 = "anthropic.claude-sonnet-4-20250514-v1:0"
LLAMA_33 = "meta.llama3-3-70b-instruct-v1:0"
NOW = datetime(2026, 12, 1, tzinfo=timezone.utc)


def _utc(day: str) -> datetime:
    return datetime.fromisoformat(day).replace(tzinfo=timezone.utc)


@pytest.fixture(scope="module")
def raw() -> dict[str, Any]:
    document: dict[str, Any] = json.loads((DATA / "catalogue.json").read_text("utf-8"))
    return document


@pytest.fixture(scope="module")
def regen() -> ModuleType:
    path = ROOT / "scripts" / "regen_snapshot.py"
    spec = importlib.util.spec_from_file_location("regen_snapshot", path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["regen_snapshot"] = module
    spec.loader.exec_module(module)
    return module


def _offline_catalog(tmp_path: Path) -> bl.Catalog:
    return bl.Catalog(
        region_name="us-east-1", offline=True, persist=False, cache_path=tmp_path / "c.json"
    )


# -- the bundled catalogue --------------------------------------------------------------------


def test_every_entry_names_its_source_and_date(raw: dict[str, Any]) -> None:
    entries = parse_catalogue(raw, origin="catalogue.json")
    assert len(entries) >= 90
    assert raw["kind"] == "bedrock-lifecycle-catalogue"
    for entry in entries:
        assert entry.source in raw["sources"], entry.model_id
        assert entry.as_of == _utc(raw["as_of"]), entry.model_id
        assert "docs.aws.amazon.com/bedrock/latest/userguide/" in raw["sources"][entry.source]
        assert parse_model_id(entry.model_id).form is IdForm.BASE, entry.model_id
        assert entry.name, entry.model_id
        assert entry.provider, entry.model_id
        assert entry.regions, entry.model_id
        assert all(REGION_RE.fullmatch(region) for region in entry.regions), entry.model_id
        assert set(entry.on_demand_regions) <= set(entry.regions), entry.model_id
    assert load_catalogue() == entries


def test_current_models_resolve_active_with_the_catalogue_date(tmp_path: Path) -> None:
    catalog = _offline_catalog(tmp_path)
    for model_id in (f"us.{NOVA_PRO}", f"us.{HAIKU_45}", NOVA_PRO, f"eu.{SONNET_45}"):
        entry = catalog.lookup(model_id, "us-east-1")
        assert entry.state(NOW) is State.ACTIVE, model_id
        assert entry.source is Source.BUNDLED, model_id
        assert entry.as_of == _utc("2026-09-01"), model_id
    assert catalog.lookup(NOVA_PRO, "eu-west-2").name == "Nova Pro"


# Newly listed models, one or more per provider, as callers name them (base id or system profile).
LISTED = (
    ("us.anthropic.claude-opus-4-5-20251101-v1:0", "us-east-1"),
    ("global.anthropic.claude-opus-5", "ap-northeast-1"),
    ("eu.anthropic.claude-sonnet-4-6", "eu-west-1"),
    ("us.amazon.nova-2-lite-v1:0", "us-west-2"),
    ("amazon.titan-embed-text-v2:0", "eu-central-2"),
    ("cohere.embed-v4:0", "ap-southeast-4"),
    ("us.deepseek.r1-v1:0", "us-east-2"),
    ("google.gemma-3-27b-it", "sa-east-1"),
    ("us.meta.llama4-maverick-17b-instruct-v1:0", "us-west-1"),
    ("mistral.mistral-large-3-675b-instruct", "ap-south-1"),
    ("nvidia.nemotron-super-3-120b", "us-gov-west-1"),
    ("openai.gpt-oss-120b-1:0", "eu-north-1"),
    ("qwen.qwen3-32b-v1:0", "ap-southeast-3"),
    ("us.stability.stable-image-inpaint-v1:0", "us-east-1"),
    ("twelvelabs.pegasus-1-2-v1:0", "mx-central-1"),
    ("us.writer.palmyra-x5-v1:0", "us-west-2"),
    ("zai.glm-5", "sa-east-1"),
)
COPY_KINDS = (
    "model card",
    "per-model summary",
    "copy",
    "copies",
    "saved versions",
    "ListFoundationModels",
    "catalogue keyed by model card",
    "SDK model lists",
    "routing table",
    "quote",
    "review",
    "code",
)


def test_newly_listed_models_resolve_active_in_their_regions(tmp_path: Path) -> None:
    catalog = _offline_catalog(tmp_path)
    for model_id, region in LISTED:
        entry = catalog.lookup(model_id, region)
        assert entry.state(NOW) is State.ACTIVE, (model_id, region)
        assert entry.source is Source.BUNDLED, model_id
        assert entry.as_of == _utc("2026-09-01"), model_id
    # Listed in the US only: not claimed Active elsewhere.
    assert catalog.lookup("us.writer.palmyra-x5-v1:0", "eu-west-1").state(NOW) is State.UNKNOWN


def test_the_catalogue_covers_every_provider_and_no_retired_model(raw: dict[str, Any]) -> None:
    entries = parse_catalogue(raw, origin="catalogue.json")
    providers = {entry.provider for entry in entries}
    assert {
        "Amazon",
        "Anthropic",
        "Cohere",
        "DeepSeek",
        "Google",
        "Meta",
        "Mistral AI",
        "NVIDIA",
        "OpenAI",
        "Qwen",
        "Stability AI",
        "TwelveLabs",
        "Writer",
    } <= providers
    # A model in AWS's lifecycle tables (Legacy or past end of life) is left to those rows.
    dated = {row.model_id for row in load_snapshot().rows}
    assert not dated & {entry.model_id for entry in entries}
    for entry in entries:
        if entry.inference == "profile_only":
            assert not entry.on_demand_regions, entry.model_id
        assert set(entry.profiles) <= {"au", "eu", "global", "jp", "us", "us-gov", "apac"}


def test_every_source_names_at_least_two_kinds_of_public_copy(raw: dict[str, Any]) -> None:
    for key, description in raw["sources"].items():
        kinds = {kind for kind in COPY_KINDS if kind in description}
        assert len(kinds) >= 2, (key, description)
    used = {model["source"] for model in raw["models"]}
    assert used == set(raw["sources"])


def test_an_id_in_no_data_stays_unknown(tmp_path: Path) -> None:
    catalog = _offline_catalog(tmp_path)
    for model_id in ("acme.made-up-model-v9:0", "us.amazon.nova-ultra-v9:0"):
        entry = catalog.lookup(model_id, "us-east-1")
        assert entry.state(NOW) is State.UNKNOWN, model_id
        assert not entry.known
    # A listed model outside the regions AWS lists it in is not claimed Active there.
    assert catalog.lookup(NOVA_PRO, "sa-east-1").state(NOW) is State.UNKNOWN


def test_a_lifecycle_row_wins_over_the_catalogue() -> None:
    snapshot = load_snapshot()
    index = snapshot.index()
    # Claude 3.5 Sonnet v1 has dated rows; a catalogue entry for it must not make it Active.
    listed = CatalogueEntry(
        model_id="anthropic.claude-3-5-sonnet-20240620-v1:0",
        name="x",
        provider="Anthropic",
        regions=("us-east-1", "sa-east-1"),
        source="test",
    )
    merged = replace(snapshot, catalogue=(*snapshot.catalogue, listed)).index()
    row = merged[("anthropic.claude-3-5-sonnet-20240620-v1:0", "us-east-1")]
    assert row == index[("anthropic.claude-3-5-sonnet-20240620-v1:0", "us-east-1")]
    assert row.state(NOW) is State.EOL
    assert merged[("anthropic.claude-3-5-sonnet-20240620-v1:0", "sa-east-1")].state(NOW) is (
        State.ACTIVE
    )


def test_catalogue_facts_are_available_beside_the_lifecycle() -> None:
    pro = catalogue_entry(NOVA_PRO)
    assert pro is not None
    assert pro.inference == "on_demand"
    assert "us-east-1" in pro.on_demand_regions
    assert "us-east-2" in pro.regions
    assert "us-east-2" not in pro.on_demand_regions
    assert pro.profiles == ("eu", "us")
    assert pro.streams is True
    assert (pro.launched_at, pro.eol_not_before) == (_utc("2024-12-05"), _utc("2025-12-04"))
    haiku = catalogue_entry(HAIKU_45)
    assert haiku is not None
    # Facts only one copy gave are left out, as "not confirmed" (None), never as "no".
    assert haiku.eol_not_before is None
    assert haiku.streams is None
    assert catalogue_entry("acme.made-up-model-v9:0") is None


def test_unconfirmed_sonnet_45_legacy_row_is_gone_and_sonnet_4_has_no_replacement() -> None:
    index = load_snapshot().index()
    sonnet_45 = index[(SONNET_45, "us-east-1")]
    assert sonnet_45.legacy_at is None
    assert sonnet_45.eol_at is None
    assert sonnet_45.state(_utc("2027-05-01")) is State.ACTIVE
    # No public copy of AWS's pages gives Claude Sonnet 4 a recommended replacement.
    sonnet_4 = index[(SONNET_4, "us-east-1")]
    assert sonnet_4.eol_at == _utc("2026-10-14")
    assert sonnet_4.recommended == ()


def test_llama_33_is_not_claimed_active_on_one_copy() -> None:
    # One public copy of its card says Legacy, EOL 2027-03-30; no second copy was found, so the
    # bundled data says nothing rather than "Active".
    assert catalogue_entry(LLAMA_33) is None
    assert (LLAMA_33, "us-east-1") not in load_snapshot().index()


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"kind": "bedrock-lifecycle-cache"}, "not a format-1 bedrock-lifecycle-catalogue"),
        ({"format": 2}, "not a format-1 bedrock-lifecycle-catalogue"),
        ({"models": {}}, "'models' must be a list"),
        ({"sources": {}}, "'sources' must be a non-empty object"),
    ],
)
def test_a_broken_catalogue_names_the_file_and_the_reason(
    raw: dict[str, Any], change: dict[str, Any], reason: str
) -> None:
    broken = {**json.loads(json.dumps(raw)), **change}
    with pytest.raises(CatalogError, match=rf"^broken\.json: {re.escape(reason)}"):
        parse_catalogue(broken, origin="broken.json")


@pytest.mark.parametrize(
    ("field", "value", "reason"),
    [
        ("inference", "sometimes", r"models\[0\]\.inference: expected one of"),
        ("regions", ["Virginia"], r"models\[0\]\.regions: 'Virginia' is not a region code"),
        ("launched_at", "Dec 5", r"models\[0\]\.launched_at: 'Dec 5' is not an ISO date"),
        ("source", "elsewhere", r"models\[0\]: 'source' must name one of the file's sources"),
        ("stream", True, r"models\[0\]: unknown key 'stream'"),
        ("model_id", "us/nova", r"models\[0\]: 'us/nova' is not a base model id"),
        ("legacy_period_days", 0, r"models\[0\]\.legacy_period_days: expected a positive"),
    ],
)
def test_a_broken_entry_names_the_entry_and_the_reason(
    raw: dict[str, Any], field: str, value: Any, reason: str
) -> None:
    broken = json.loads(json.dumps(raw))
    broken["models"][0][field] = value
    with pytest.raises(CatalogError, match=rf"^broken\.json: {reason}"):
        parse_catalogue(broken, origin="broken.json")


# -- the wording assumes no fixed notice period ---------------------------------------------------


def test_a_45_day_legacy_warning_counts_its_own_days() -> None:
    legacy = _utc("2026-10-01")
    entry = ModelLifecycle(
        model_id="moonshotai.example-k3",
        legacy_at=legacy,
        eol_at=legacy + timedelta(days=45),
        source=Source.BUNDLED,
    )
    text = state_warning(entry, State.LEGACY, "us-east-1", legacy + timedelta(days=1), Policy())
    assert "end of life on 2026-11-15 (44 days left)" in text
    assert not re.search(r"six months|6 months|180 days|months'? notice", text)


# -- the regen script: model cards ----------------------------------------------------------------


def test_parse_date_reads_the_day_first_form_of_newer_cards(regen: ModuleType) -> None:
    assert regen.parse_date("18th Sept 2026") == date(2026, 9, 18)
    assert regen.parse_date("Dec 06, 2024") == date(2024, 12, 6)


def test_a_model_card_gives_lifecycle_regions_and_inference(regen: ModuleType) -> None:
    card = regen.parse_card(CARDS / "card_llama33_a.md")
    assert card.model_id == LLAMA_33
    assert (card.provider, card.name) == ("Meta", "Llama 3.3 70B Instruct")
    assert (card.status, card.eol_at) == ("LEGACY", date(2027, 3, 30))
    assert (card.launched_at, card.eol_not_before) == (date(2024, 12, 6), date(2025, 12, 6))
    assert card.legacy_period_days == 180
    assert card.regions == ("us-east-1", "us-east-2", "us-west-2")
    assert card.on_demand_regions == ("us-east-2",)
    assert card.inference == "on_demand"
    assert card.profiles == ("us",)
    assert card.streams is True
    short = regen.parse_card(CARDS / "card_kimi_45day.md")
    assert short.legacy_period_days == 45
    assert short.eol_not_before is None  # "Not Applicable, at least 45 day EOL Notice"
    assert (short.inference, short.profiles) == ("profile_only", ("global", "us"))


def test_merging_cards_keeps_only_what_two_copies_agree_on(regen: ModuleType) -> None:
    first = regen.parse_card(CARDS / "card_llama33_a.md")
    second = regen.parse_card(CARDS / "card_llama33_b.md")
    one_off = regen.parse_card(CARDS / "card_kimi_45day.md")
    report: list[str] = []
    [llama] = regen.merge_cards([first, second, one_off], report=report)
    assert (llama["status"], llama["eol_at"]) == ("LEGACY", "2027-03-30")
    assert "moonshotai.example-k3: left out, 1 copy of its card" in report
    later = replace(second, eol_at=date(2027, 4, 30))
    report = []
    [disputed] = regen.merge_cards([first, later], report=report)
    assert "eol_at" not in disputed
    assert disputed["status"] == "LEGACY"
    assert f"{LLAMA_33}: eol_at left out (copies disagree)" in report


def test_catalogue_mode_writes_a_file_the_package_reads(regen: ModuleType, tmp_path: Path) -> None:
    out = tmp_path / "catalogue.json"
    cards = [str(CARDS / name) for name in ("card_llama33_a.md", "card_llama33_b.md")]
    code = regen.main(["catalogue", "--as-of", "2026-11-25", *cards, "-o", str(out)])
    assert code == 0
    entries = parse_catalogue(json.loads(out.read_text("utf-8")), origin=str(out))
    snapshot = replace(parse_snapshot({"format": 1, "rows": []}), catalogue=entries)
    llama = snapshot.index()[(LLAMA_33, "us-east-1")]
    assert llama.as_of == _utc("2026-11-25")
    assert llama.state(_utc("2026-12-01")) is State.LEGACY
    assert llama.state(_utc("2027-03-30")) is State.EOL
    assert llama.days_until_eol(_utc("2027-03-01")) == 29


def test_catalogue_mode_refuses_a_page_that_is_not_a_card(
    regen: ModuleType, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    page = tmp_path / "page.md"
    page.write_text("# Something else\n\nNo tables.\n", "utf-8")
    assert regen.main(["catalogue", "--as-of", "2026-11-25", str(page)]) == 2
    assert "no bedrock-runtime model id (is this a model card?)" in capsys.readouterr().err
