"""``status``, ``scan`` and ``timeline`` offline: listed models are Active with the data's date,
unknown ids stay unknown, and a replacement past end of life is walked past."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from bedrock_lifecycle.cli._app import main

NOVA_PRO = "us.amazon.nova-pro-v1:0"
HAIKU_45 = "us.anthropic.claude-haiku-4-5-20251001-v1:0"
MADE_UP = "anthropic.claude-made-up-9-v1:0"
AT = "2026-12-01"


@pytest.fixture(autouse=True)
def _isolated(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in ("AWS_REGION", "AWS_DEFAULT_REGION", "BEDROCK_LIFECYCLE_OFFLINE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("BEDROCK_LIFECYCLE_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("NO_COLOR", "1")


def _run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def _json(capsys: pytest.CaptureFixture[str], *args: str) -> Any:
    code, out, err = _run(capsys, *args, "--json")
    assert code == 0, err
    return json.loads(out)


def test_status_says_active_with_the_as_of_date(capsys: pytest.CaptureFixture[str]) -> None:
    rows = _json(capsys, "status", "--offline", "--at", AT, NOVA_PRO, HAIKU_45, MADE_UP)
    by_model = {row["model_id"]: row for row in rows}
    for model_id in (NOVA_PRO, HAIKU_45):
        row = by_model[model_id]
        assert (row["state"], row["source"], row["as_of"]) == ("ACTIVE", "bundled", "2026-09-01")
    unknown = by_model[MADE_UP]
    assert (unknown["state"], unknown["source"], unknown["as_of"]) == ("UNKNOWN", "none", None)

    code, out, err = _run(capsys, "status", "--offline", "--at", AT, NOVA_PRO, MADE_UP)
    assert code == 0, err
    lines = out.splitlines()
    assert lines[1].split()[-1] == "DATA"
    nova = next(line for line in lines if line.startswith(NOVA_PRO))
    assert nova.split()[2] == "Active"
    assert nova.endswith("bundled 2026-09-01")
    made_up = next(line for line in lines if line.startswith(MADE_UP))
    assert made_up.split()[2] == "unknown"
    assert "unknown: no lifecycle data" in err


def test_scan_offline_says_active_for_current_models(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    tree = tmp_path / "workshop"
    tree.mkdir()
    (tree / "app.py").write_text(
        f'PRO = "{NOVA_PRO}"\nHAIKU = "{HAIKU_45}"\nOTHER = "{MADE_UP}"\n', "utf-8"
    )
    code, out, err = _run(capsys, "scan", str(tree), "--format", "json", "--at", AT)
    assert code == 0, err
    results = {result["model_id"]: result for result in json.loads(out)}
    states = {model: result["state"] for model, result in results.items()}
    assert states == {NOVA_PRO: "ACTIVE", HAIKU_45: "ACTIVE", MADE_UP: "UNKNOWN"}
    # Where the verdict came from, and how old it is.
    assert (results[NOVA_PRO]["source"], results[NOVA_PRO]["as_of"]) == ("bundled", "2026-09-01")
    assert results[MADE_UP]["as_of"] is None
    code, out, err = _run(capsys, "scan", str(tree), "--at", AT)
    assert code == 0, err
    assert "3 model id(s) in 1 file(s): 2 Active, 1 unknown" in out
    code, out, err = _run(capsys, "scan", "--all", str(tree), "--at", AT)
    [pro_line] = [line for line in out.splitlines() if NOVA_PRO in line]
    assert pro_line.endswith("(bundled data as of 2026-09-01)")


def test_a_replacement_past_eol_is_walked_past(capsys: pytest.CaptureFixture[str]) -> None:
    # Stable Diffusion XL 1.0: AWS recommended Stable Image Core v1:0, Ultra v1:0 and SD3 Large,
    # all past EOL since 2025-09-04; AWS recommended Core v1:1 for the first of them.
    sdxl = "stability.stable-diffusion-xl-v1"
    [row] = _json(capsys, "status", "--offline", "--at", AT, sdxl)
    assert row["recommended"][0] == "stability.stable-image-core-v1:0"
    assert row["replacement"] == "stability.stable-image-core-v1:1"
    assert row["replacement_skipped"] == [
        "stability.stable-image-core-v1:0",
        "stability.stable-image-ultra-v1:0",
        "stability.sd3-large-v1:0",
    ]
    # Cohere Command: AWS named Command R and R+, both past EOL, with nothing after them.
    [command] = _json(capsys, "status", "--offline", "--at", AT, "cohere.command-text-v14")
    assert command["recommended"] == ["cohere.command-r-v1:0", "cohere.command-r-plus-v1:0"]
    assert command["replacement"] is None
    code, out, err = _run(capsys, "status", "--offline", "--at", AT, "cohere.command-text-v14")
    assert code == 0, err
    assert "none live (AWS named cohere.command-r-v1:0, past EOL)" in out
    # Before Command R's own EOL, AWS's first recommendation is live and shown as is.
    [early] = _json(capsys, "status", "--offline", "--at", "2026-01-10", "cohere.command-text-v14")
    assert (early["replacement"], early["replacement_skipped"]) == ("cohere.command-r-v1:0", [])


def test_timeline_shows_the_first_live_replacement(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    # AI21 Jamba-Instruct: EOL 2025-08-01, AWS recommended Jamba 1.5 Mini (EOL 2026-11-26).
    overrides = tmp_path / "o.json"
    overrides.write_text(
        json.dumps({"models": {"ai21.jamba-instruct-v1:0": {"eol_at": "2026-12-20"}}}), "utf-8"
    )
    events = _json(
        capsys,
        "timeline",
        "--offline",
        "--at",
        AT,
        "--overrides",
        str(overrides),
        "ai21.jamba-instruct-v1:0",
    )
    assert [event["transition"] for event in events] == ["EOL"]
    # Both 1.5 models are past EOL on 2026-12-01: no live replacement along AWS's chain.
    assert events[0]["replacement"] is None
    assert events[0]["replacement_skipped"] == [
        "ai21.jamba-1-5-mini-v1:0",
        "ai21.jamba-1-5-large-v1:0",
    ]
