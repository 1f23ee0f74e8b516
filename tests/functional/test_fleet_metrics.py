"""The fleet dashboard reads only what EmfLedger really publishes.

``examples/fleet_dashboard.cfn.json`` is a CloudFormation template whose dashboard graphs the
metrics every process's ``EmfLedger`` writes. Governed calls against the fake (Active, Legacy,
extended access, a fallback) are recorded by an ``EmfLedger`` set up as the template says; every
metric name, dimension set and dimension value the dashboard asks CloudWatch for must be in those
EMF lines, so a renamed metric or a dropped dimension fails here rather than leaving a graph
empty in production. The dashboard is read as CloudFormation deploys it: the template is created
as a stack in moto's CloudFormation and the body read back from its CloudWatch.
"""

from __future__ import annotations

import io
import json
import re
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
from moto import mock_aws

import bedrock_lifecycle as bl
from bedrock_lifecycle.ledger import EmfLedger

from ._world import EXTENDED_AT, MESSAGES, MID, NEW, NOVA, OLD, TITAN, World

TEMPLATE = Path(__file__).resolve().parents[2] / "examples" / "fleet_dashboard.cfn.json"
REGION = "us-east-1"
_SEARCH = re.compile(
    r"SEARCH\('\{(?P<schema>[^}]*)\}(?P<terms>[^']*)',\s*'(?P<stat>[^']+)',\s*(?P<period>\d+)\)"
)
_TERM = re.compile(r'(?P<name>\w+)="(?P<value>[^"]*)"')


@dataclass(frozen=True)
class Read:
    """One metric a dashboard widget asks CloudWatch for."""

    namespace: str
    metric: str
    dimensions: frozenset[str]
    filters: tuple[tuple[str, str], ...]  # dimension values the widget narrows to


def _template() -> dict[str, Any]:
    return json.loads(TEMPLATE.read_text("utf-8"))  # type: ignore[no-any-return]


def _dashboard(namespace: str | None = None) -> dict[str, Any]:
    """The dashboard as the template deploys it: a stack created in moto's CloudFormation
    (which resolves the template's parameters and functions), read back from its CloudWatch."""
    parameters = [{"ParameterKey": "DashboardName", "ParameterValue": "fleet"}]
    if namespace is not None:
        parameters.append({"ParameterKey": "Namespace", "ParameterValue": namespace})
    with mock_aws():
        stacks = boto3.client("cloudformation", region_name=REGION)
        stacks.create_stack(
            StackName="bedrock-lifecycle-fleet",
            TemplateBody=TEMPLATE.read_text("utf-8"),
            Parameters=parameters,  # type: ignore[arg-type]
        )
        [stack] = stacks.describe_stacks(StackName="bedrock-lifecycle-fleet")["Stacks"]
        assert stack["StackStatus"] == "CREATE_COMPLETE"
        cloudwatch = boto3.client("cloudwatch", region_name=REGION)
        names = [d["DashboardName"] for d in cloudwatch.list_dashboards()["DashboardEntries"]]
        assert names == ["fleet"]
        body = cloudwatch.get_dashboard(DashboardName="fleet")["DashboardBody"]
    return json.loads(body)  # type: ignore[no-any-return]


def _reads(dashboard: dict[str, Any]) -> list[Read]:
    found: list[Read] = []
    for widget in dashboard["widgets"]:
        if widget["type"] != "metric":
            continue
        for entry in widget["properties"]["metrics"]:
            head = entry[0]
            if isinstance(head, dict):  # a metric math expression over SEARCH()es
                searches = list(_SEARCH.finditer(head["expression"]))
                assert searches, head["expression"]
                for search in searches:
                    namespace, *dimensions = (s.strip() for s in search["schema"].split(","))
                    terms = {t["name"]: t["value"] for t in _TERM.finditer(search["terms"])}
                    metric = terms.pop("MetricName")
                    assert set(terms) <= set(dimensions), search.group(0)
                    found.append(
                        Read(namespace, metric, frozenset(dimensions), tuple(sorted(terms.items())))
                    )
            else:  # [namespace, metric, name, value, ..., {options}]
                plain = [item for item in entry if not isinstance(item, dict)]
                namespace, metric, *pairs = plain
                assert len(pairs) % 2 == 0, entry
                filters = tuple(sorted(zip(pairs[::2], pairs[1::2], strict=True)))
                found.append(Read(namespace, metric, frozenset(n for n, _ in filters), filters))
    return found


def _emf_lines(world: World) -> list[dict[str, Any]]:
    """EMF documents for real governed calls, recorded as the template's metadata says."""
    dimensions = _template()["Metadata"]["BedrockLifecycle"]["EmfLedgerDimensions"]
    out = io.StringIO()
    world.at(EXTENDED_AT)  # OLD in extended access, MID Legacy, TITAN past end of life
    client = world.client(
        ledger=EmfLedger(out, dimensions=dimensions), policy=bl.Policy(successors={TITAN: NOVA})
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", bl.LifecycleWarning)
        for model in (NEW, MID, OLD, TITAN):
            client.converse(modelId=model, messages=MESSAGES)
    return [json.loads(line) for line in out.getvalue().splitlines()]


def test_the_dashboard_reads_only_metrics_emf_ledger_publishes(local_world: World) -> None:
    documents = _emf_lines(local_world)
    assert len(documents) == 4
    published: set[tuple[str, str, frozenset[str]]] = set()
    values: dict[str, set[str]] = {}
    for doc in documents:
        for directive in doc["_aws"]["CloudWatchMetrics"]:
            for dimension_set in directive["Dimensions"]:
                for metric in directive["Metrics"]:
                    published.add(
                        (directive["Namespace"], metric["Name"], frozenset(dimension_set))
                    )
                for name in dimension_set:
                    values.setdefault(name, set()).add(doc[name])
    # The calls covered what the dashboard shows: each state a call took, a fallback, a premium.
    assert values["state"] == {"ACTIVE", "LEGACY", "EXTENDED_ACCESS"}
    assert [doc["Fallbacks"] for doc in documents] == [0, 0, 0, 1]
    assert documents[2]["PremiumUSD"] > 0

    reads = _reads(_dashboard())
    assert len(reads) >= 10
    for read in reads:
        assert (read.namespace, read.metric, read.dimensions) in published, read
        for name, value in read.filters:
            # A state no call here was in (EOL, UNKNOWN) is still one EmfLedger can write.
            possible = {s.value for s in bl.State} if name == "state" else values[name]
            assert value in possible, read
    # Every widget the dashboard draws reads something, and every metric a fleet watches is read.
    assert {read.metric for read in reads} >= {
        "Calls",
        "CostUSD",
        "PremiumUSD",
        "Fallbacks",
        "UnpricedCalls",
        "InputTokens",
        "OutputTokens",
        "LatencyMs",
    }


def test_the_dashboard_follows_the_namespace_parameter() -> None:
    reads = _reads(_dashboard(namespace="MyApp/Bedrock"))
    assert {read.namespace for read in reads} == {"MyApp/Bedrock"}
    template = _template()
    assert template["Parameters"]["Namespace"]["Default"] == "BedrockLifecycle"


def test_the_widgets_fit_the_dashboard_grid() -> None:
    widgets = _dashboard()["widgets"]
    for widget in widgets:
        assert all(isinstance(widget[key], int) for key in ("x", "y", "width", "height"))
        assert widget["x"] + widget["width"] <= 24
    assert len({(w["x"], w["y"]) for w in widgets}) == len(widgets)  # none on top of another
