"""Every example runs offline against the fake, and the docs show what it prints."""

from __future__ import annotations

import pathlib

import pytest

from ._examples import run_example

ROOT = pathlib.Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples"


def _run(name: str, tmp_path: pathlib.Path) -> str:
    return "\n".join(run_example(name, tmp_path)) + "\n"


def test_getting_started_prints_what_the_docs_show(tmp_path: pathlib.Path) -> None:
    out = _run("getting_started.py", tmp_path)
    lines = out.splitlines()
    assert lines[0].startswith("January: ExtendedAccessWarning")
    assert lines[2].startswith("March: FallbackWarning")
    assert lines[3] == "  invoked: us.anthropic.claude-sonnet-4-20250514-v1:0"
    page = (ROOT / "docs" / "getting-started.md").read_text("utf-8")
    for line in lines[:4]:
        assert line in page


def test_install_hooks_example_falls_back_to_the_aws_recommendation(
    tmp_path: pathlib.Path,
) -> None:
    out = _run("install_hooks.py", tmp_path)
    assert "FallbackWarning" in out
    assert "invoked: amazon.nova-micro-v1:0" in out
    assert "ledger records: 1" in out


def test_typed_example_runs(tmp_path: pathlib.Path) -> None:
    assert "answer: This is a fake reply" in _run("typed_client.py", tmp_path)


#: Examples that need aiobotocore, which pins botocore: the async suite runs them in its own
#: virtualenv (tests_aio/test_aio_runtime.py).
ASYNC_EXAMPLES = frozenset({"async_fallback.py"})


@pytest.mark.parametrize(
    "name",
    sorted(
        p.name
        for p in EXAMPLES.glob("*.py")
        if not p.name.startswith("test_") and p.name not in ASYNC_EXAMPLES
    ),
)
def test_every_example_runs(name: str, tmp_path: pathlib.Path) -> None:
    _run(name, tmp_path)


def test_budget_alarm_template_watches_the_metric_emf_ledger_publishes() -> None:
    """The CloudFormation example alarms on a metric and dimension EmfLedger really writes."""
    import io
    import json
    from datetime import datetime, timezone

    import bedrock_lifecycle as bl
    from bedrock_lifecycle.ledger import EmfLedger

    template = json.loads((EXAMPLES / "budget_alarm.cfn.json").read_text("utf-8"))
    alarm = template["Resources"]["DailyPremiumAlarm"]["Properties"]
    assert alarm["Period"] == 86400
    assert alarm["Statistic"] == "Sum"
    [dimension] = alarm["Dimensions"]
    out = io.StringIO()
    ledger = EmfLedger(stream=out, dimensions=[[dimension["Name"]]])
    ledger.record(
        bl.UsageRecord(
            timestamp=datetime(2026, 1, 15, tzinfo=timezone.utc),
            operation="Converse",
            region="us-east-1",
            requested_model_id="anthropic.claude-3-5-sonnet-20240620-v1:0",
            invoked_model_id="anthropic.claude-3-5-sonnet-20240620-v1:0",
            state="EXTENDED_ACCESS",
            extended_access=True,
            premium_usd=0.0105,
        )
    )
    document = json.loads(out.getvalue())
    [declared] = document["_aws"]["CloudWatchMetrics"]
    assert declared["Namespace"] == template["Parameters"]["Namespace"]["Default"]
    assert declared["Dimensions"] == [[dimension["Name"]]]
    assert alarm["MetricName"] in {metric["Name"] for metric in declared["Metrics"]}
    assert document[dimension["Name"]] == dimension["Value"]
    assert document[alarm["MetricName"]] == 0.0105


#: Every CloudFormation template the examples ship.
TEMPLATES = sorted(
    path
    for path in EXAMPLES.rglob("*.json")
    if '"AWSTemplateFormatVersion"' in path.read_text("utf-8")
)


def test_every_template_is_found() -> None:
    names = {path.relative_to(EXAMPLES).as_posix() for path in TEMPLATES}
    assert names == {
        "budget_alarm.cfn.json",
        "fleet_dashboard.cfn.json",
        "fleet_snapshot/template.json",
    }


@pytest.mark.parametrize("template", TEMPLATES, ids=lambda path: path.name)
def test_cfn_lint_finds_no_error_or_warning_in_a_template(template: pathlib.Path) -> None:
    # cfn-lint checks resource types, properties, intrinsic functions and IAM policies against
    # CloudFormation's own specification, in every region the templates may be deployed to.
    from cfnlint.api import ManualArgs, lint

    config = ManualArgs(regions=["us-east-1", "us-west-2", "eu-west-1", "ap-northeast-1"])
    matches = lint(template.read_text("utf-8"), config=config)
    found = [f"{m.rule.id} {m.rule.severity} line {m.linenumber}: {m.message}" for m in matches]
    assert found == [], "\n".join(found)
