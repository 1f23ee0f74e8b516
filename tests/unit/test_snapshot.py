"""The bundled lifecycle snapshot, and the script that regenerates it from saved AWS pages."""

from __future__ import annotations

import importlib.util
import json
import re
import stat
import sys
from datetime import date, datetime, timezone
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from bedrock_lifecycle._bundled import Snapshot, load_snapshot, parse_snapshot
from bedrock_lifecycle._errors import CatalogError
from bedrock_lifecycle._ids import IdForm, parse_model_id
from bedrock_lifecycle._lifecycle import State

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / "src" / "bedrock_lifecycle" / "data" / "lifecycle.json"
FIXTURES = ROOT / "tests" / "fixtures" / "lifecycle"
REGION_RE = re.compile(r"[a-z]{2}(?:-gov)?-[a-z]+-\d")

SONNET_35_V1 = "anthropic.claude-3-5-sonnet-20240620-v1:0"
SONNET_35_V2 = "anthropic.claude-3-5-sonnet-20241022-v2:0"


def _utc(day: str) -> datetime:
    return datetime.fromisoformat(day).replace(tzinfo=timezone.utc)


@pytest.fixture(scope="module")
def raw() -> dict[str, Any]:
    document: dict[str, Any] = json.loads(DATA.read_text("utf-8"))
    return document


@pytest.fixture(scope="module")
def snapshot(raw: dict[str, Any]) -> Snapshot:
    return parse_snapshot(raw, origin=str(DATA))


@pytest.fixture(scope="module")
def regen() -> ModuleType:
    path = ROOT / "scripts" / "regen_snapshot.py"
    spec = importlib.util.spec_from_file_location("regen_snapshot", path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["regen_snapshot"] = module  # dataclasses look their module up by name
    spec.loader.exec_module(module)
    return module


# -- the bundled snapshot -------------------------------------------------------------------------


def test_bundled_snapshot_parses_and_names_its_sources(
    raw: dict[str, Any], snapshot: Snapshot
) -> None:
    assert raw["format"] == 1
    assert snapshot.as_of is not None
    assert len(snapshot.rows) == len(raw["rows"]) > 40
    assert snapshot.sources
    for row in snapshot.rows:
        assert row.source in snapshot.sources, row
        assert row.as_of == snapshot.as_of
    for description in snapshot.sources.values():
        assert "docs.aws.amazon.com/bedrock/latest/userguide/model-lifecycle" in description
    # The loader adds the catalogue of listed models (data/catalogue.json) to these rows.
    assert load_snapshot().rows == snapshot.rows


def test_every_model_id_is_a_base_id(snapshot: Snapshot) -> None:
    for row in snapshot.rows:
        ref = parse_model_id(row.model_id)
        assert ref.form is IdForm.BASE, row.model_id
        assert ref.base_id == row.model_id
        assert row.name, row.model_id
        assert row.provider, row.model_id


def test_regions_are_region_codes_and_region_less_rows_stand_alone(snapshot: Snapshot) -> None:
    with_regions = {row.model_id for row in snapshot.rows if row.regions}
    for row in snapshot.rows:
        for region in row.regions:
            assert REGION_RE.fullmatch(region), (row.model_id, region)
        assert list(row.regions) == sorted(set(row.regions)), row.model_id
        if not row.regions:
            # AWS gave no region list ("all Regions" or nothing said): the row applies
            # everywhere, so the same model must not also have region-specific rows.
            assert row.model_id not in with_regions, row.model_id
    assert len(with_regions) > 25


def test_dates_are_ordered_and_every_row_has_one(snapshot: Snapshot) -> None:
    for row in snapshot.rows:
        dates = [d for d in (row.legacy_at, row.extended_access_at, row.eol_at) if d is not None]
        assert dates, row.model_id
        assert dates == sorted(dates), row.model_id
        for value in dates:
            assert value.utcoffset() == timezone.utc.utcoffset(None)
            assert (value.hour, value.minute, value.second) == (0, 0, 0)


def test_no_model_and_region_appears_twice(snapshot: Snapshot) -> None:
    seen: set[tuple[str, str | None]] = set()
    for row in snapshot.rows:
        for region in row.regions or (None,):
            key = (row.model_id, region)
            assert key not in seen, key
            seen.add(key)
    assert len(snapshot.index()) == len(seen)


def test_recommended_ids_are_well_formed_and_not_the_model_itself(snapshot: Snapshot) -> None:
    for row in snapshot.rows:
        assert len(set(row.recommended)) == len(row.recommended), row.model_id
        for successor in row.recommended:
            assert parse_model_id(successor).form is IdForm.BASE, successor
            assert successor != row.model_id
            # Bedrock ids carry a version; a bare "-v1" without ":0" is a known page typo.
            assert not successor.startswith("meta.llama3") or successor.endswith(":0"), successor


def test_claude_35_sonnet_v1_dates_differ_by_region(snapshot: Snapshot) -> None:
    index = snapshot.index()
    us = index[(SONNET_35_V1, "us-east-1")]
    zurich = index[(SONNET_35_V1, "eu-central-2")]
    tokyo = index[(SONNET_35_V1, "ap-northeast-1")]
    assert us.eol_at == _utc("2026-03-01")
    assert zurich.eol_at == _utc("2026-06-01")
    assert tokyo.eol_at == _utc("2026-07-30")
    assert us.legacy_at == zurich.legacy_at == _utc("2025-08-25")
    assert us.recommended == ("anthropic.claude-sonnet-4-5-20250929-v1:0",)
    on_march_2 = _utc("2026-03-02")
    assert us.state(at=on_march_2) is State.EOL
    assert zurich.state(at=on_march_2) is State.EXTENDED_ACCESS
    assert tokyo.state(at=on_march_2) is State.LEGACY


def test_claude_35_sonnet_v1_and_v2_enter_extended_access_on_1_december_2025(
    snapshot: Snapshot,
) -> None:
    index = snapshot.index()
    for model_id in (SONNET_35_V1, SONNET_35_V2):
        entry = index[(model_id, "us-east-1")]
        assert entry.extended_access_at == _utc("2025-12-01"), model_id
        assert entry.state(at=_utc("2025-11-30")) is State.LEGACY
        assert entry.state(at=_utc("2025-12-01")) is State.EXTENDED_ACCESS


def test_retired_models_published_without_regions_apply_everywhere(snapshot: Snapshot) -> None:
    index = snapshot.index()
    claude_21 = index[("anthropic.claude-v2:1", None)]
    assert claude_21.eol_at == _utc("2025-07-21")
    assert claude_21.recommended == ("anthropic.claude-sonnet-4-5-20250929-v1:0",)
    titan = index[("amazon.titan-text-express-v1", None)]
    assert titan.eol_at == _utc("2025-08-15")
    assert titan.state(at=_utc("2025-08-15")) is State.EOL
    assert ("amazon.titan-text-express-v1", "us-east-1") not in index


def test_bundled_rows_cover_both_pages(snapshot: Snapshot) -> None:
    descriptions = " ".join(snapshot.sources.values())
    assert "model-lifecycle.html" in descriptions
    assert "model-lifecycle-legacy.html" in descriptions
    used = {row.source for row in snapshot.rows}
    assert used == set(snapshot.sources)


def test_parse_snapshot_rejects_a_broken_date(raw: dict[str, Any]) -> None:
    broken = json.loads(json.dumps(raw))
    broken["rows"][0]["eol_at"] = "1 March 2026"
    with pytest.raises(CatalogError, match=r"rows\[0\]\.eol_at"):
        parse_snapshot(broken, origin="broken.json")


# -- the regen script: small parsers --------------------------------------------------------------


@pytest.mark.parametrize(
    ("cell", "expected"),
    [
        ("August 25, 2025", date(2025, 8, 25)),
        ("Aug 25, 2025", date(2025, 8, 25)),
        ("Mar 1, 2026 (us-east-1, us-east-2, and us-west-2<br>Regions)", date(2026, 3, 1)),
        ("July 15th, 2025 (all Regions)", date(2025, 7, 15)),
        ("2025-08-25", date(2025, 8, 25)),
        ("1/15/2026", date(2026, 1, 15)),
        ("—", None),
        ("NA", None),
        ("TBD", None),
        ("", None),
    ],
)
def test_parse_date_reads_the_formats_aws_uses(
    regen: ModuleType, cell: str, expected: date | None
) -> None:
    assert regen.parse_date(cell) == expected


def test_parse_date_refuses_text_that_is_not_a_date(regen: ModuleType) -> None:
    with pytest.raises(ValueError, match="not a date"):
        regen.parse_date("early next year")


def test_parse_regions_reads_codes_out_of_date_cells(regen: ModuleType) -> None:
    cell = "August 25, 2025 (us-east-1, us-gov-west-1, and ap-southeast-2<br>Regions)"
    assert regen.parse_regions(cell) == ["us-east-1", "us-gov-west-1", "ap-southeast-2"]
    assert regen.parse_regions("January 21, 2025 (all Regions)") == []
    assert regen.parse_regions("us-east-1, us-east-1") == ["us-east-1"]


def test_recommended_ids_are_split_and_typos_fixed(regen: ModuleType) -> None:
    cell = "stability.stable-image-core-v1:0, stability.sd3-large-v1:0,<br>and x.y-v1:0"
    assert regen.recommended_ids(cell) == [
        "stability.stable-image-core-v1:0",
        "stability.sd3-large-v1:0",
        "x.y-v1:0",
    ]
    assert regen.recommended_ids("ai21.jamba-instruct-v1:0 in US East (N. Virginia)") == [
        "ai21.jamba-instruct-v1:0"
    ]
    assert regen.recommended_ids("meta.llama3-1-8b-instruct-v1") == [
        "meta.llama3-1-8b-instruct-v1:0"
    ]


# -- the regen script: whole pages ----------------------------------------------------------------


def _by_key(entries: list[Any]) -> dict[tuple[str, str | None], Any]:
    out: dict[tuple[str, str | None], Any] = {}
    for entry in entries:
        for region in entry.regions or (None,):
            out[(entry.model_id, region)] = entry
    return out


def test_old_html_layout_with_rowspan_and_names(regen: ModuleType) -> None:
    entries = regen.parse_page(FIXTURES / "lifecycle_old.html", source="old")
    found = _by_key(entries)
    # The Active table (launch dates) is skipped.
    assert "anthropic.claude-sonnet-4-5-20250929-v1:0" not in {e.model_id for e in entries}
    us = found[(SONNET_35_V1, "us-east-2")]
    assert (us.legacy_at, us.extended_access_at, us.eol_at) == (
        date(2025, 8, 25),
        date(2025, 12, 1),
        date(2026, 3, 1),
    )
    # The rowspan continuation row keeps the model and its recommendation.
    zurich = found[(SONNET_35_V1, "eu-central-2")]
    assert zurich.eol_at == date(2026, 6, 1)
    assert zurich.recommended == ("anthropic.claude-sonnet-4-5-20250929-v1:0",)
    opus = found[("anthropic.claude-3-opus-20240229-v1:0", None)]
    assert opus.extended_access_at is None
    assert opus.recommended == (
        "anthropic.claude-opus-4-1-20250805-v1:0",
        "anthropic.claude-sonnet-4-5-20250929-v1:0",
    )
    assert opus.provider == "Anthropic"
    titan = found[("amazon.titan-text-express-v1", None)]
    assert titan.name == "Amazon Titan Text G1 Express"
    assert found[("ai21.j2-mid-v1", "us-west-2")].eol_at == date(2024, 10, 4)
    llama = found[("meta.llama2-13b-chat-v1", None)]
    assert llama.recommended == ("meta.llama3-1-8b-instruct-v1:0",)
    assert {e.source for e in entries} == {"old"}


def test_new_markdown_layout_table_and_bullets(regen: ModuleType) -> None:
    entries = regen.parse_page(FIXTURES / "lifecycle_new.md", source="new")
    found = _by_key(entries)
    assert found[(SONNET_35_V1, "ap-southeast-2")].eol_at == date(2026, 7, 30)
    zurich = found[(SONNET_35_V1, "eu-central-2")]  # short continuation row
    assert zurich.name == "Claude 3.5 Sonnet"
    assert (zurich.legacy_at, zurich.extended_access_at, zurich.eol_at) == (
        date(2025, 8, 25),
        date(2025, 12, 1),
        date(2026, 6, 1),
    )
    canvas = found[("amazon.nova-canvas-v1:0", "us-east-1")]
    assert (canvas.legacy_at, canvas.extended_access_at) == (date(2026, 3, 30), None)
    command = found[("cohere.command-r-plus-v1:0", "us-west-2")]
    assert (command.name, command.provider) == ("Command R+", "Cohere")
    haiku = "anthropic.claude-3-haiku-20240307-v1:0"
    assert found[(haiku, "eu-west-1")].eol_at == date(2026, 9, 10)
    assert found[(haiku, "us-gov-west-1")].eol_at == date(2026, 10, 10)
    assert found[(haiku, "us-gov-west-1")].extended_access_at is None
    assert all(not e.has_recommended_column for e in entries)


def test_merge_prefers_newer_pages_and_keeps_retired_regions(regen: ModuleType) -> None:
    old = regen.parse_page(FIXTURES / "lifecycle_old.html", source="old")
    new = regen.parse_page(FIXTURES / "lifecycle_new.md", source="new")
    rows = regen.merge_pages([old, new])
    found = _by_key(rows)
    # Only the old page has us-east-1 for Claude 3.5 Sonnet v1 (past EOL): kept.
    us = found[(SONNET_35_V1, "us-east-1")]
    assert (us.eol_at, us.source) == (date(2026, 3, 1), "old")
    # Both pages have eu-central-2: the newer wins, name and provider come from it too.
    zurich = found[(SONNET_35_V1, "eu-central-2")]
    assert (zurich.source, zurich.name) == ("new", "Claude 3.5 Sonnet")
    # The newer page has no recommended column: the model keeps the older recommendation.
    assert zurich.recommended == ("anthropic.claude-sonnet-4-5-20250929-v1:0",)
    assert found[("anthropic.claude-3-opus-20240229-v1:0", None)].eol_at == date(2026, 1, 15)
    assert len(_by_key(rows)) == sum(max(1, len(r.regions)) for r in rows)


def test_merge_drops_withdrawn_regions_and_narrowed_all_region_rows(regen: ModuleType) -> None:
    def entry(model_id: str, regions: tuple[str, ...], eol: date, source: str) -> Any:
        return regen.Entry(
            name=model_id,
            provider="X",
            model_id=model_id,
            regions=regions,
            legacy_at=date(2026, 1, 1),
            extended_access_at=None,
            eol_at=eol,
            source=source,
        )

    older = [
        entry("x.a-v1:0", ("us-east-1", "ap-south-1"), date(2026, 7, 1), "p1"),
        entry("x.b-v1:0", (), date(2026, 7, 1), "p1"),
        entry("x.c-v1:0", ("eu-west-1",), date(2025, 1, 1), "p1"),
    ]
    newer = [
        entry("x.a-v1:0", ("us-east-1",), date(2026, 7, 1), "p2"),
        entry("x.b-v1:0", ("us-west-2",), date(2026, 7, 1), "p2"),
        entry("x.c-v1:0", ("us-east-1",), date(2026, 9, 1), "p2"),
    ]
    found = _by_key(regen.merge_pages([older, newer]))
    assert ("x.a-v1:0", "ap-south-1") not in found  # same group, region taken out
    assert ("x.b-v1:0", None) not in found  # "all regions" narrowed to a list
    assert found[("x.c-v1:0", "eu-west-1")].eol_at == date(2025, 1, 1)  # a different group
    assert found[("x.c-v1:0", "us-east-1")].source == "p2"


def test_main_writes_a_snapshot_the_package_accepts(regen: ModuleType, tmp_path: Path) -> None:
    out = tmp_path / "data" / "lifecycle.json"
    url = "https://docs.aws.amazon.com/bedrock/latest/userguide/model-lifecycle.html"
    code = regen.main(
        [
            "--as-of",
            "2026-11-25",
            "--source-url",
            url,
            "--source-note",
            "fixture",
            str(FIXTURES / "lifecycle_old.html"),
            str(FIXTURES / "lifecycle_new.md"),
            "-o",
            str(out),
        ]
    )
    assert code == 0
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    document = json.loads(out.read_text("utf-8"))
    parsed = parse_snapshot(document, origin=str(out))
    assert parsed.as_of == _utc("2026-11-25")
    assert set(parsed.sources) == {"lifecycle-old", "lifecycle-new"}
    assert parsed.sources["lifecycle-old"] == f"{url} — fixture"
    index = parsed.index()
    assert index[(SONNET_35_V1, "us-east-1")].eol_at == _utc("2026-03-01")
    assert index[(SONNET_35_V1, "eu-central-2")].extended_access_at == _utc("2025-12-01")


# -- the regen script: bad input ------------------------------------------------------------------


def _page(tmp_path: Path, text: str, name: str = "page.md") -> Path:
    path = tmp_path / name
    path.write_text(text, "utf-8")
    return path


HEADER = (
    "| Model provider | Model name | Model ID | Regions | Legacy date | EOL date |"
    " Public extended access start date |\n| --- | --- | --- | --- | --- | --- | --- |\n"
)


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("# Model lifecycle\n\nNo tables here.\n", "no Legacy/EOL lifecycle table"),
        (
            HEADER
            + "| Cohere | Command R | cohere.command-r-v1:0 | us-east-1 | soon | later | — |\n",
            "legacy date: 'soon' is not a date",
        ),
        (
            # A copy whose columns slipped: the regions landed in the Model ID field.
            "- **Command R**\n  - **Model name:** cohere.command-r-v1:0\n"
            "  - **Model ID:** us-east-1, us-west-2\n  - **Regions:** February 19, 2026\n"
            "  - **Legacy date:** August 19, 2026\n  - **EOL date:** May 19, 2026\n",
            "'us-east-1, us-west-2' is not a Bedrock model id",
        ),
        (
            "| Model version | Legacy date | EOL date |\n| --- | --- | --- |\n"
            "| Claude 9 Poem | January 1, 2026 | July 1, 2026 |\n",
            "no model id for the model named 'Claude 9 Poem'",
        ),
        (
            HEADER + "| A | B | x.b-v1:0 | us-east-1 | January 1, 2026 | July 1, 2026 | — |\n"
            "| A | B | x.b-v1:0 | us-east-1 | January 1, 2026 | August 1, 2026 | — |\n",
            "conflicts with",
        ),
        (
            HEADER + "| A | B | x.b-v1:0 | everywhere | January 1, 2026 | July 1, 2026 | — |\n",
            "no region code in the Regions cell",
        ),
    ],
)
def test_bad_pages_fail_with_the_file_and_the_reason(
    regen: ModuleType, tmp_path: Path, text: str, reason: str
) -> None:
    path = _page(tmp_path, text)
    with pytest.raises(regen.SnapshotInputError) as caught:
        regen.parse_page(path)
    assert str(path) in str(caught.value)
    assert reason in str(caught.value)


def test_main_reports_bad_input_on_stderr_and_exits_2(
    regen: ModuleType, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    missing = tmp_path / "nope.html"
    out = tmp_path / "out.json"
    assert regen.main(["--as-of", "2026-11-25", str(missing), "-o", str(out)]) == 2
    err = capsys.readouterr().err
    assert str(missing) in err
    assert "cannot be read" in err
    assert not out.exists()
    good = str(FIXTURES / "lifecycle_new.md")
    assert regen.main(["--as-of", "25/11/2026", good]) == 2
    assert "is not YYYY-MM-DD" in capsys.readouterr().err
    args = ["--as-of", "2026-11-25", "--source-url", "a", "--source-url", "b", "--source-url", "c"]
    assert regen.main([*args, good, good]) == 2
    assert "once per input file" in capsys.readouterr().err
