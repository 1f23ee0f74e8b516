"""Scan results as a SARIF 2.1.0 log, for GitHub code scanning and other SARIF viewers.

One rule per lifecycle state worth reporting:

====== ===================== ======= =====================================================
rule   name                  level   reported for
====== ===================== ======= =====================================================
BL001  model-legacy          warning a model AWS has marked Legacy
BL002  model-extended-access warning a model in public extended access (higher prices)
BL003  model-eol             error   a model past its end-of-life date: calls fail
BL004  model-unknown         note    an id the lifecycle catalog knows nothing about
====== ===================== ======= =====================================================

Active models produce no result. Locations are relative to ``%SRCROOT%`` (the directory the scan
ran from) unless the scan was given absolute paths, and columns count Unicode code points
(``run.columnKind`` says so). Each result carries a ``partialFingerprints`` entry built from the
file, the id and its occurrence number in that file, so an alert survives lines moving.
"""

from __future__ import annotations

import hashlib
import os
import posixpath
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from pathlib import PurePath
from typing import Any
from urllib.parse import quote

from ._scan import ScanResult

__all__ = ["SARIF_SCHEMA_URI", "SARIF_VERSION", "to_sarif"]

SARIF_VERSION = "2.1.0"
SARIF_SCHEMA_URI = (
    "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"
)
_TOOL_NAME = "bedrock-lifecycle"
_INFORMATION_URI = "https://github.com/bedrock-lifecycle/bedrock-lifecycle"
_FINGERPRINT_KEY = "bedrockModelId/v1"


@dataclass(frozen=True, slots=True)
class _Rule:
    id: str
    name: str
    state: str
    level: str
    short: str
    full: str


_RULES: tuple[_Rule, ...] = (
    _Rule(
        "BL001",
        "model-legacy",
        "LEGACY",
        "warning",
        "Bedrock model is Legacy",
        "AWS has marked this model Legacy. It keeps working until its end-of-life date, but "
        "accounts that stop calling it lose access, and it will be retired. Move to the "
        "recommended successor.",
    ),
    _Rule(
        "BL002",
        "model-extended-access",
        "EXTENDED_ACCESS",
        "warning",
        "Bedrock model is in extended access",
        "This Legacy model is in public extended access: it still answers, at higher prices set "
        "by its provider, until its end-of-life date. Move to the recommended successor.",
    ),
    _Rule(
        "BL003",
        "model-eol",
        "EOL",
        "error",
        "Bedrock model is past end of life",
        "This model has reached its end-of-life date in the region checked: calls to it fail. "
        "Replace it with the recommended successor.",
    ),
    _Rule(
        "BL004",
        "model-unknown",
        "UNKNOWN",
        "note",
        "Bedrock model lifecycle unknown",
        "The lifecycle catalog has nothing on this model id, or the id (an application "
        "inference profile, provisioned throughput, custom or imported model) does not name its "
        "base model. Check it by hand or refresh the catalog.",
    ),
)
_RULE_BY_STATE = {rule.state: (index, rule) for index, rule in enumerate(_RULES)}
_STATE_WORDS = {
    "LEGACY": "is Legacy",
    "EXTENDED_ACCESS": "is in extended access",
    "EOL": "is past end of life",
    "UNKNOWN": "has an unknown lifecycle",
}


def to_sarif(results: Iterable[ScanResult], *, tool_version: str) -> dict[str, Any]:
    """A SARIF 2.1.0 log (a JSON-ready ``dict``) of ``results``, in the order given.

    Results whose state is ``"ACTIVE"`` are left out; an unrecognised state is reported under
    BL004. ``tool_version`` is the bedrock-lifecycle version that produced the log.
    """
    occurrences: dict[tuple[str, str], int] = {}
    sarif_results = []
    for result in results:
        state = str(getattr(result.state, "value", result.state)).upper()
        if state == "ACTIVE":
            continue
        index, rule = _RULE_BY_STATE.get(state, _RULE_BY_STATE["UNKNOWN"])
        finding = result.finding
        uri, base_id = _artifact_location(finding.path)
        key = (uri, finding.text)
        occurrence = occurrences.get(key, 0) + 1
        occurrences[key] = occurrence
        physical: dict[str, Any] = {
            "artifactLocation": {"uri": uri, **({"uriBaseId": base_id} if base_id else {})},
            "region": {
                "startLine": finding.line,
                "startColumn": finding.column,
                "endColumn": finding.end_column,
            },
        }
        sarif_results.append(
            {
                "ruleId": rule.id,
                "ruleIndex": index,
                "level": rule.level,
                "message": {"text": _message(result, rule)},
                "locations": [{"physicalLocation": physical}],
                "partialFingerprints": {
                    _FINGERPRINT_KEY: _fingerprint(uri, finding.text, occurrence)
                },
                "properties": _properties(result, state),
            }
        )
    return {
        "$schema": SARIF_SCHEMA_URI,
        "version": SARIF_VERSION,
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": _TOOL_NAME,
                        "informationUri": _INFORMATION_URI,
                        "version": tool_version,
                        "rules": [_rule_descriptor(rule) for rule in _RULES],
                    }
                },
                "columnKind": "unicodeCodePoints",
                "results": sarif_results,
            }
        ],
    }


def _rule_descriptor(rule: _Rule) -> dict[str, Any]:
    return {
        "id": rule.id,
        "name": rule.name,
        "shortDescription": {"text": rule.short},
        "fullDescription": {"text": rule.full},
        "defaultConfiguration": {"level": rule.level},
        "helpUri": _INFORMATION_URI,
        "properties": {"tags": ["bedrock", "model-lifecycle"]},
    }


def _artifact_location(path: str) -> tuple[str, str | None]:
    """``(uri, uriBaseId)``: relative paths hang off ``%SRCROOT%``, absolute ones are file URIs."""
    if os.path.isabs(path):
        return PurePath(path).as_uri(), None
    posix = PurePath(path).as_posix()
    posix = posixpath.normpath(posix)
    return quote(posix, safe="/"), "%SRCROOT%"


def _fingerprint(uri: str, text: str, occurrence: int) -> str:
    digest = hashlib.sha256(f"{uri}\0{text}\0{occurrence}".encode()).hexdigest()
    return f"{digest[:32]}:{occurrence}"


def _date(value: datetime | None) -> str | None:
    return None if value is None else value.date().isoformat()


def _message(result: ScanResult, rule: _Rule) -> str:
    ref = result.finding.ref
    subject = f"'{result.finding.text}'"
    if ref.base_id and ref.base_id != result.finding.text:
        subject += f" (model {ref.base_id})"
    where = f" in {result.region}" if result.region else ""
    text = f"{subject} {_STATE_WORDS.get(rule.state, 'has an unknown lifecycle')}{where}"
    dates = []
    if result.extended_access_at is not None and rule.state == "LEGACY":
        dates.append(f"extended access from {_date(result.extended_access_at)}")
    if result.eol_at is not None:
        since = "since" if rule.state == "EOL" else "on"
        dates.append(f"end of life {since} {_date(result.eol_at)}")
    if dates:
        text += f" ({'; '.join(dates)})"
    text += "."
    if result.replacement:
        text += f" Replace it with '{result.replacement}'."
    elif rule.state != "UNKNOWN":
        text += " No successor is recorded."
    return text


def _properties(result: ScanResult, state: str) -> dict[str, Any]:
    ref = result.finding.ref
    values: dict[str, Any] = {
        "modelId": result.finding.text,
        "idForm": str(ref.form),
        "baseModelId": ref.base_id,
        "state": state,
        "region": result.region,
        "legacyDate": _date(result.legacy_at),
        "extendedAccessDate": _date(result.extended_access_at),
        "endOfLifeDate": _date(result.eol_at),
        "replacement": result.replacement,
    }
    return {key: value for key, value in values.items() if value is not None}
