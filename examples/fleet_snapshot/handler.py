"""Publish the fleet's shared lifecycle snapshot: an AWS Lambda function on a schedule.

Every run fetches each Bedrock region's lifecycle data from the control plane once and writes
one object, ``$SNAPSHOT_LOCATION`` (``s3://bucket/key.json``). The fleet reads it with
``BEDROCK_LIFECYCLE_SOURCE=s3://bucket/key.json`` (or ``Catalog(source=...)``) instead of
calling ``ListFoundationModels`` in every process. ``$SNAPSHOT_REGIONS`` (comma-separated)
limits the regions; by default every Bedrock region botocore knows is fetched, and regions the
account cannot use are reported and left out.

Deploy it with ``template.json`` in this folder (see docs/fleet.md). The package it runs needs
``bedrock-lifecycle`` installed beside this file (``pip install bedrock-lifecycle -t build/``).
"""

from __future__ import annotations

import os
from typing import Any

import bedrock_lifecycle as bl


def handler(event: Any, context: Any) -> dict[str, Any]:
    """The Lambda entry point: publish, and fail the invocation if nothing was published."""
    location = os.environ["SNAPSHOT_LOCATION"]
    listed = os.environ.get("SNAPSHOT_REGIONS", "")
    regions = [name.strip() for name in listed.split(",") if name.strip()] or None
    report = bl.publish_snapshot(location, regions=regions)
    summary = {
        "location": report.location,
        "as_of": report.as_of.isoformat(),
        "written": report.written,
        "bytes": report.size,
        "regions_covered": len(report.covered),
        "regions_failed": report.failed,
        "changes": {r.region: len(r.changes) for r in report.regions if r.changes},
    }
    print(summary)  # one line in CloudWatch Logs per run
    if not report.written:
        # An error, so the function's Errors metric (and the alarm on it) sees it.
        raise RuntimeError(f"no region could be fetched; {location} left as it was")
    return summary
