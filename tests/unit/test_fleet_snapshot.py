"""The fleet snapshot's format: what a publisher writes is what every reader accepts, and nothing
else is."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from typing import Any

import pytest

from bedrock_lifecycle import ModelLifecycle, Source
from bedrock_lifecycle._cache_file import RegionData
from bedrock_lifecycle._fleet_snapshot import decode_snapshot, encode_snapshot

AT = datetime(2026, 1, 15, tzinfo=timezone.utc)
ALPHA = "amazon.example-alpha-v1:0"


def body(**changes: Any) -> bytes:
    entry = ModelLifecycle(
        ALPHA, "us-east-1", eol_at=datetime(2026, 6, 1), status="LEGACY", source=Source.API
    )
    data = RegionData(fetched_at=AT, models={ALPHA: entry}, endpoint="https://vpce.example")
    document = json.loads(encode_snapshot({"us-east-1": data}, AT, failed={"eu-west-3": "X"}))
    document.update(changes)
    return json.dumps(document).encode()


def test_a_round_trip_keeps_the_data_and_drops_the_endpoint() -> None:
    snapshot = decode_snapshot(body())
    assert snapshot.as_of == AT
    assert snapshot.failed == {"eu-west-3": "X"}
    region = snapshot.regions["us-east-1"]
    assert (region.fetched_at, region.endpoint) == (AT, None)
    entry = region.models[ALPHA]
    assert (entry.source, entry.status, entry.as_of) == (Source.SHARED, "LEGACY", AT)
    assert entry.eol_at == datetime(2026, 6, 1, tzinfo=timezone.utc)


@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        ({"kind": "something-else"}, "not a bedrock-lifecycle snapshot (kind 'something-else')"),
        ({"format": 2}, "unsupported snapshot format 2"),
        ({"prompts": ["hello"]}, "unknown key 'prompts'"),
        ({"as_of": "yesterday"}, "as_of is not an ISO timestamp"),
        ({"as_of": "2026-01-14T00:00:00+00:00"}, "fetched after the snapshot's as_of"),
        ({"regions_covered": []}, "regions_covered does not list the regions it holds"),
        ({"regions_failed": {"eu-west-3": 1}}, "regions_failed is not an object"),
        ({"regions": {"../etc": {"fetched_at": AT.isoformat()}}}, "is not a region name"),
        ({"regions": []}, "regions is not an object"),
    ],
)
def test_anything_else_is_refused_with_the_reason(changes: dict[str, Any], reason: str) -> None:
    with pytest.raises(ValueError) as raised:
        decode_snapshot(body(**changes))
    assert reason in str(raised.value)


def test_a_model_id_with_spaces_is_refused() -> None:
    document = json.loads(body())
    models = document["regions"]["us-east-1"]["models"]
    models["not an id"] = models.pop(ALPHA)
    with pytest.raises(ValueError, match="is not a model id"):
        decode_snapshot(json.dumps(document).encode())


@pytest.mark.parametrize("raw", [b"\xff\xfe", b"[1, 2", b"[]", b"null"])
def test_bytes_that_are_not_a_json_object_are_refused(raw: bytes) -> None:
    with pytest.raises(ValueError, match=r"not UTF-8|not JSON|not a bedrock-lifecycle snapshot"):
        decode_snapshot(raw)
