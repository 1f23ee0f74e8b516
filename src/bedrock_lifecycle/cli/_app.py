"""The ``bedrock-lifecycle`` command: argument parsing, dispatch and error reporting."""

from __future__ import annotations

import argparse
import logging
import os
import sys
import warnings
from collections.abc import Callable, Sequence
from typing import TextIO

import bedrock_lifecycle as bl

from ._common import SOURCE_HELP, add_catalog_options, parse_when
from ._output import Output

__all__ = ["build_parser", "main"]

PROG = "bedrock-lifecycle"

EXIT_OK = 0
EXIT_FINDINGS = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130

_POLICY_HELP = (
    "policy file (or s3:// object) with configured successors; default: $BEDROCK_LIFECYCLE_POLICY"
)

_MAIN_EPILOG = """\
examples:
  bedrock-lifecycle demo                       watch a model age, offline, in seconds
  bedrock-lifecycle status anthropic.claude-3-5-sonnet-20240620-v1:0 -r us-east-1 -r eu-central-2
  bedrock-lifecycle timeline --days 90
  bedrock-lifecycle check us.anthropic.claude-3-5-sonnet-20240620-v1:0 -r us-east-1 --invoke
  bedrock-lifecycle scan src/ --fail-on eol --format sarif > lifecycle.sarif
  bedrock-lifecycle costs --ledger usage.jsonl --by model,day
  bedrock-lifecycle rehearse --from OLD --to NEW --prompts prompts.jsonl
  bedrock-lifecycle compare bedrock-rehearsal/shadow.jsonl --html report.html
  bedrock-lifecycle refresh --region us-east-1

exit status: 0 ok, 1 scan findings at or above --fail-on (refresh: every region failed;
check, compare: a successor is not ready), 2 usage or input error, 130 interrupted.
"""

_STATUS_EPILOG = """\
examples:
  bedrock-lifecycle status anthropic.claude-3-5-sonnet-20241022-v2:0
  bedrock-lifecycle status us.anthropic.claude-3-7-sonnet-20250219-v1:0 -r us-east-1 -r eu-west-1
  bedrock-lifecycle status --ledger usage.jsonl --json
  bedrock-lifecycle status --offline --at 2026-06-01 --overrides lifecycle.toml MODEL

With no MODEL: the models this machine has used, from --ledger records when given, else from
the lifecycle cache file the library keeps.
"""

_CHECK_EPILOG = """\
examples:
  bedrock-lifecycle check us.anthropic.claude-3-5-sonnet-20240620-v1:0 -r us-east-1 -r eu-central-2
  bedrock-lifecycle check --ledger usage.jsonl --policy policy.toml
  bedrock-lifecycle check MODEL --invoke --json      one tiny live call per successor, priced

For each model in use, takes the successor a fallback would use (configured, else AWS's
recommendation) and asks the Bedrock control plane (GetFoundationModel, GetInferenceProfile)
whether it is offered in the id form the application uses, takes on-demand calls and streams,
and what requests to it would be adapted. --invoke also calls bedrock-runtime Converse
(maxTokens 8). With no MODEL: the models in --ledger, else those the cache file has seen
called. --endpoint-url sends control-plane and runtime calls there. Needs
bedrock:GetFoundationModel and bedrock:GetInferenceProfile (and bedrock:InvokeModel with
--invoke). Exit status: 0 all ready, 1 a problem, 2 usage error.
"""

_SCAN_EPILOG = """\
examples:
  bedrock-lifecycle scan                           the current directory
  bedrock-lifecycle scan src/ infra/ --region eu-central-2
  bedrock-lifecycle scan --fail-on eol             exit 1 if any id is past end of life
  bedrock-lifecycle scan --format sarif > bedrock-lifecycle.sarif

Offline by default (bundled data, the cache file and --overrides): CI needs no AWS credentials.
--online also asks the Bedrock control plane. Exit status: 0 ok, 1 findings at or above
--fail-on, 2 usage error.
"""

_TIMELINE_EPILOG = """\
examples:
  bedrock-lifecycle timeline                       the next 180 days for the models in use
  bedrock-lifecycle timeline --all -r eu-central-2 every known model's transitions there
  bedrock-lifecycle timeline --days 365 -r us-east-1 -r ap-northeast-1 MODEL

With no MODEL: the models in --ledger when given, else those the cache file has seen called;
when none is known, every model known in the region(s), as with --all.
"""

_COSTS_EPILOG = """\
examples:
  bedrock-lifecycle costs --ledger usage.jsonl
  bedrock-lifecycle costs --ledger usage.db --since 2026-01-01 --until 2026-01-31 --by model,day
  bedrock-lifecycle costs --ledger usage.jsonl --forecast --window 14 --move-by 2026-02-01

Calls with no known price are counted apart as "unpriced", never as $0. A plain --until date
includes that whole day (UTC). --forecast takes the rate of the last --window days of calls and
forecasts, per model and region, the spend until end of life (or --until) at the standard price,
the extended-access premium, and the saving of moving to the successor on --move-by; a figure
without a price is "unknown". Offline unless --online: bundled data, the cache file, --overrides.
"""

_REHEARSE_EPILOG = """\
examples:
  bedrock-lifecycle rehearse --from anthropic.claude-3-5-sonnet-20240620-v1:0 \\
      --to us.anthropic.claude-sonnet-4-5-20250929-v1:0 --prompts prompts.jsonl
  bedrock-lifecycle rehearse --from OLD --to NEW --prompts eval.jsonl --keep-text --out rehearsal/

The prompts file has one JSON object a line: a Converse request ({"messages", "system",
"inferenceConfig", ...}), or a Bedrock evaluation prompt dataset line ({"prompt",
"referenceResponse", "category"} or {"conversationTurns": [...]}). Each prompt goes to OLD as
written and to NEW adapted as a fallback would adapt it (--policy constraints over the bundled
table). Throttling is retried (botocore's adaptive mode). One shadow record a prompt goes to
DIR/shadow.jsonl (owner-only); prompts and replies only with --keep-text. Needs
bedrock:InvokeModel on both models. Exit status: 0 done, 2 bad prompts file or option.
"""

_COMPARE_EPILOG = """\
examples:
  bedrock-lifecycle compare bedrock-rehearsal/shadow.jsonl
  bedrock-lifecycle compare shadow.db --min-similarity 0.5 --calls-per-day 20000 --json
  bedrock-lifecycle compare shadow.jsonl --html report.html --byoir eval-datasets/

Per model pair: success and errors, latency p50/p95, tokens and cost per call, the monthly cost
difference, stop-reason agreement, similarity and score. Ready when the successor answered at
least --min-success of the calls and refused none (ValidationException). --html needs the
report extra (pip install 'bedrock-lifecycle[report]'); --byoir needs texts kept. Exit status:
0 every successor ready, 1 one is not, 2 usage or input error.
"""

_REFRESH_EPILOG = """\
examples:
  bedrock-lifecycle refresh                        the default region and every cached region
  bedrock-lifecycle refresh -r us-east-1 -r eu-central-2
  bedrock-lifecycle refresh --endpoint-url http://127.0.0.1:4566
  bedrock-lifecycle refresh --all-regions --to s3://my-bucket/bedrock-lifecycle/snapshot.json

Needs AWS credentials allowed bedrock:ListFoundationModels (and bedrock:GetFoundationModel).
--to publishes one shared snapshot of the regions for a fleet (Catalog(source=...) or
BEDROCK_LIFECYCLE_SOURCE): s3:PutObject on it, and s3:GetObject to report changes since the
last one. Exit status 1 when every region failed (then nothing is published) or the snapshot
could not be written.
"""

_DEMO_EPILOG = """\
Runs entirely in this process against the bundled fake Bedrock: no AWS account, no network,
nothing written to disk.
"""

_FAKE_EPILOG = """\
examples:
  bedrock-lifecycle fake-server --port 8765
  bedrock-lifecycle fake-server --scenario scenario.toml --now 2026-02-01

Scenario files (.json or .toml) declare models with regions and lifecycle dates; see the
command-line documentation. Stop with Ctrl-C.
"""


def _port(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a port number") from None
    if not 0 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"{value} is not a port number (0-65535)")
    return value


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"{value} must be at least 1")
    return value


def _days(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number of days") from None
    if value < 0:
        raise argparse.ArgumentTypeError("must not be negative")
    return value


def _count(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 0:
        raise argparse.ArgumentTypeError("must not be negative")
    return value


def _share(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError(f"{value} must be between 0 and 1 (0.99 is 99%)")
    return value


def _above_zero(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not value > 0:  # NaN too
        raise argparse.ArgumentTypeError(f"{value} must be above 0")
    return value


def _number(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if value != value or value in (float("inf"), float("-inf")):
        raise argparse.ArgumentTypeError(f"{text!r} is not a finite number")
    return value


def _by(text: str) -> str:
    from bedrock_lifecycle.ledger import GROUP_KEYS

    keys = [key.strip() for key in text.split(",") if key.strip()]
    unknown = [key for key in keys if key not in GROUP_KEYS]
    if unknown:
        raise argparse.ArgumentTypeError(
            f"cannot group by {', '.join(unknown)}; choose from {', '.join(GROUP_KEYS)}"
        )
    return ",".join(keys)


def build_parser() -> argparse.ArgumentParser:
    """The argument parser for every command."""
    from ._costs import parse_until

    formatter = argparse.RawDescriptionHelpFormatter
    parser = argparse.ArgumentParser(
        prog=PROG,
        description="Keep applications on Amazon Bedrock working while their models age: "
        "lifecycle status, source scans, transition timelines, extended-access costs.",
        epilog=_MAIN_EPILOG,
        formatter_class=formatter,
    )
    parser.add_argument("--version", action="version", version=f"{PROG} {bl.__version__}")
    parser.add_argument(
        "-v", "--verbose", action="store_true", help="log what the library does (stderr)"
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    def add(name: str, help_text: str, epilog: str) -> argparse.ArgumentParser:
        return commands.add_parser(
            name, help=help_text, description=help_text, epilog=epilog, formatter_class=formatter
        )

    status = add("status", "lifecycle state, dates and replacement of models", _STATUS_EPILOG)
    status.add_argument("models", nargs="*", metavar="MODEL", help="model ids (any form)")
    status.add_argument("--ledger", metavar="PATH", help="find models in use in this ledger")
    status.add_argument("--policy", metavar="FILE", help=_POLICY_HELP)
    status.add_argument("--json", action="store_true", help="print JSON")
    add_catalog_options(status)

    check = add("check", "preflight the successors models in use would fall back to", _CHECK_EPILOG)
    check.add_argument("models", nargs="*", metavar="MODEL", help="model ids (any form)")
    check.add_argument("--ledger", metavar="PATH", help="find models in use in this ledger")
    check.add_argument("--policy", metavar="FILE", help=_POLICY_HELP)
    check.add_argument(
        "--invoke", action="store_true", help="one tiny live Converse call per successor and region"
    )
    check.add_argument(
        "--prices",
        metavar="FILE",
        help="price-book file (JSON or TOML) over the bundled prices, for --invoke's cost",
    )
    check.add_argument("--json", action="store_true", help="print JSON")
    add_catalog_options(check, offline=False)

    scan = add("scan", "find model ids in source files and judge each one", _SCAN_EPILOG)
    scan.add_argument("paths", nargs="*", metavar="PATH", help="files or directories (default: .)")
    scan.add_argument(
        "--format", choices=("text", "json", "sarif"), default="text", help="output format"
    )
    scan.add_argument(
        "--fail-on",
        choices=("legacy", "extended-access", "eol"),
        help="exit 1 when any finding is in this state or a later one",
    )
    scan.add_argument(
        "--online", action="store_true", help="also ask the Bedrock control plane (needs AWS)"
    )
    scan.add_argument("--policy", metavar="FILE", help=_POLICY_HELP)
    scan.add_argument("--all", action="store_true", help="list Active models too (text format)")
    scan.add_argument(
        "--no-gitignore", action="store_true", help="read files .gitignore would leave out"
    )
    scan.add_argument("--jobs", type=_positive, metavar="N", help="worker processes")
    add_catalog_options(scan)

    timeline = add("timeline", "upcoming Legacy, extended-access and EOL dates", _TIMELINE_EPILOG)
    timeline.add_argument("models", nargs="*", metavar="MODEL", help="model ids (any form)")
    timeline.add_argument(
        "--days", type=_days, default=180, metavar="N", help="look ahead N days (default 180)"
    )
    timeline.add_argument("--ledger", metavar="PATH", help="find models in use in this ledger")
    timeline.add_argument(
        "--all",
        action="store_true",
        help="every model known in the region(s), not only those in use (no MODEL, no --ledger)",
    )
    timeline.add_argument("--policy", metavar="FILE", help=_POLICY_HELP)
    timeline.add_argument("--json", action="store_true", help="print JSON")
    add_catalog_options(timeline)

    costs = add("costs", "spend and extended-access premium from a ledger", _COSTS_EPILOG)
    costs.add_argument(
        "--ledger", metavar="PATH", required=True, help="a .jsonl or .db/.sqlite ledger file"
    )
    costs.add_argument("--since", type=parse_when, metavar="DATE", help="from DATE (inclusive)")
    costs.add_argument(
        "--until",
        type=parse_until,
        metavar="DATE",
        help="up to DATE (inclusive); with --forecast, forecast up to DATE if before end of life",
    )
    costs.add_argument(
        "--by", type=_by, default="model", metavar="KEYS", help="group by model,region,day,state"
    )
    costs.add_argument("--json", action="store_true", help="print JSON")
    ahead = costs.add_argument_group("forecast")
    ahead.add_argument(
        "--forecast",
        action="store_true",
        help="forecast spend until end of life, the extended-access premium and the saving of "
        "moving to the successor, per model and region",
    )
    ahead.add_argument(
        "--window",
        type=_positive,
        metavar="DAYS",
        help="the rate of the last DAYS days of calls (default 7)",
    )
    ahead.add_argument(
        "--move-by",
        type=parse_when,
        metavar="DATE",
        help="move to the successor on DATE (default today)",
    )
    ahead.add_argument(
        "--prices", metavar="FILE", help="price-book file (JSON or TOML) over the bundled prices"
    )
    ahead.add_argument("--policy", metavar="FILE", help=_POLICY_HELP)
    ahead.add_argument(
        "--at", type=parse_when, metavar="DATE", help="forecast as of DATE instead of now"
    )
    ahead.add_argument(
        "--overrides", metavar="FILE", help="lifecycle overrides (.toml or .json) that win"
    )
    ahead.add_argument(
        "--cache-path",
        metavar="FILE",
        help="the lifecycle cache file (default: $BEDROCK_LIFECYCLE_CACHE_DIR/lifecycle.json, "
        "else the user cache directory)",
    )
    ahead.add_argument(
        "--online", action="store_true", help="also ask the Bedrock control plane (needs AWS)"
    )
    ahead.add_argument(
        "--endpoint-url", metavar="URL", help="Bedrock control-plane endpoint, with --online"
    )
    ahead.add_argument("--source", metavar="LOCATION", help=f"{SOURCE_HELP}, with --online")

    rehearse = add(
        "rehearse",
        "replay prompts to a model and its successor; record each pair",
        _REHEARSE_EPILOG,
    )
    rehearse.add_argument(
        "--from", dest="from_model", required=True, metavar="OLD", help="the model in use"
    )
    rehearse.add_argument(
        "--to", dest="to_model", required=True, metavar="NEW", help="the successor to try"
    )
    rehearse.add_argument(
        "--prompts", required=True, metavar="FILE", help="prompts, one JSON object a line"
    )
    rehearse.add_argument(
        "--region",
        "-r",
        metavar="REGION",
        help="AWS region (default: $AWS_REGION, $AWS_DEFAULT_REGION, else us-east-1)",
    )
    rehearse.add_argument(
        "--concurrency",
        type=_positive,
        default=4,
        metavar="N",
        help="prompts in flight at once (default 4)",
    )
    rehearse.add_argument(
        "--endpoint-url", metavar="URL", help="bedrock-runtime endpoint (a local fake or a proxy)"
    )
    rehearse.add_argument(
        "--out",
        default="bedrock-rehearsal",
        metavar="DIR",
        help="folder for shadow.jsonl (default ./bedrock-rehearsal; appended to)",
    )
    rehearse.add_argument(
        "--keep-text",
        action="store_true",
        help="keep prompts and replies in the records (needed by compare --byoir)",
    )
    rehearse.add_argument(
        "--policy",
        metavar="FILE",
        help="policy file (or s3:// object) whose constraints adapt requests to NEW; "
        "default: $BEDROCK_LIFECYCLE_POLICY",
    )
    rehearse.add_argument(
        "--prices", metavar="FILE", help="price-book file (JSON or TOML) over the bundled prices"
    )

    compare = add("compare", "report on shadow records: is the successor ready?", _COMPARE_EPILOG)
    compare.add_argument("ledger", metavar="LEDGER", help="a .jsonl or .db/.sqlite ledger file")
    compare.add_argument("--json", action="store_true", help="print JSON")
    compare.add_argument("--html", metavar="FILE", help="write a self-contained HTML report")
    compare.add_argument(
        "--byoir", metavar="DIR", help="write Bedrock evaluation datasets (needs kept texts)"
    )
    judged = compare.add_argument_group("verdict")
    judged.add_argument(
        "--min-success",
        type=_share,
        default=0.99,
        metavar="F",
        help="least share of calls the successor must answer (default 0.99)",
    )
    judged.add_argument(
        "--max-refused",
        type=_count,
        default=0,
        metavar="N",
        help="most requests it may refuse with ValidationException (default 0)",
    )
    judged.add_argument(
        "--min-similarity", type=_share, metavar="F", help="least median similarity (0 to 1)"
    )
    judged.add_argument("--min-score", type=_number, metavar="F", help="least median score")
    judged.add_argument(
        "--max-latency-ratio",
        type=_above_zero,
        metavar="F",
        help="most the successor's p95 latency may be over the primary's (e.g. 1.5)",
    )
    judged.add_argument(
        "--calls-per-day",
        type=_above_zero,
        metavar="N",
        help="project monthly cost at this rate (default: the ledger's own rate)",
    )

    refresh = add("refresh", "fetch lifecycle data from AWS into the cache", _REFRESH_EPILOG)
    refresh.add_argument("--json", action="store_true", help="print JSON")
    add_catalog_options(refresh, at=False, offline=False)
    fleet = refresh.add_argument_group("fleet snapshot")
    fleet.add_argument(
        "--all-regions",
        action="store_true",
        help="every Bedrock region botocore knows (aws partition) instead of --region",
    )
    fleet.add_argument(
        "--to",
        metavar="LOCATION",
        help="publish one snapshot of the regions to s3://bucket/key or a path, for a fleet "
        "to read (instead of writing the cache file)",
    )

    demo = add("demo", "a model ages from Active to EOL against a fake Bedrock", _DEMO_EPILOG)
    demo.add_argument("--fast", action="store_true", help="no pauses between stages")
    demo.add_argument("--json", action="store_true", help="print JSON")

    fake = add("fake-server", "run the fake Bedrock on a local port", _FAKE_EPILOG)
    fake.add_argument("--port", type=_port, default=0, help="port (default: any free one)")
    fake.add_argument("--host", default="127.0.0.1", help="address (default 127.0.0.1)")
    fake.add_argument("--scenario", metavar="FILE", help="scenario file (.json or .toml)")
    fake.add_argument("--now", type=parse_when, metavar="DATE", help="the fake's clock")
    return parser


def _handler(name: str) -> Callable[[argparse.Namespace, Output], int]:
    if name == "status":
        from ._lifecycle_cmds import run_status

        return run_status
    if name == "timeline":
        from ._lifecycle_cmds import run_timeline

        return run_timeline
    if name == "refresh":
        from ._lifecycle_cmds import run_refresh

        return run_refresh
    if name == "check":
        from ._check_cmd import run_check

        return run_check
    if name == "scan":
        from ._scan_cmd import run_scan

        return run_scan
    if name == "costs":
        from ._costs import run_costs

        return run_costs
    if name == "rehearse":
        from ._rehearsal_cmds import run_rehearse

        return run_rehearse
    if name == "compare":
        from ._rehearsal_cmds import run_compare

        return run_compare
    if name == "demo":
        from ._demo import run_demo

        return run_demo
    from ._fake_server import run_fake_server

    return run_fake_server


class _LogFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        level = record.levelname.lower()
        region, error = (
            getattr(record, "bedrock_lifecycle.region", None),
            getattr(record, "bedrock_lifecycle.error", None),
        )
        if region and error and str(record.msg).startswith("bedrock_lifecycle.refresh_failed"):
            return (
                f"{PROG}: {level}: could not fetch lifecycle data for {region} ({error}); "
                "using the cache file and bundled data"
            )
        return f"{PROG}: {level}: {record.getMessage()}"


def _setup_logging(verbose: bool, stream: TextIO) -> logging.Handler:
    """Library log records at WARNING (DEBUG with -v) on stderr, minus warning duplicates."""
    handler = logging.StreamHandler(stream)
    handler.setFormatter(_LogFormatter())
    # The governor logs each lifecycle warning it also raises with warnings.warn: show it once.
    handler.addFilter(lambda record: not hasattr(record, "bedrock_lifecycle.warning"))
    handler.setLevel(logging.DEBUG if verbose else logging.WARNING)
    logger = logging.getLogger("bedrock_lifecycle")
    logger.addHandler(handler)
    if verbose:
        logger.setLevel(logging.DEBUG)
    return handler


def _show_warning(
    message: Warning | str,
    category: type[Warning],
    filename: str,
    lineno: int,
    file: TextIO | None = None,
    line: str | None = None,
) -> None:
    stream = file or sys.stderr
    stream.write(f"{PROG}: warning: {message}\n")


def _fail(message: str, stream: TextIO) -> int:
    stream.write(f"{PROG}: error: {message}\n")
    return EXIT_USAGE


def _describe_os_error(exc: OSError) -> str:
    if exc.filename is not None and exc.strerror:
        return f"{exc.filename}: {exc.strerror}"
    return str(exc) or exc.__class__.__name__


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status."""
    out = Output()
    parser = build_parser()
    args = parser.parse_args(argv)
    handler = _setup_logging(args.verbose, out.stderr)
    previous_show = warnings.showwarning
    warnings.showwarning = _show_warning
    run = _handler(args.command)
    try:
        return run(args, out)
    except BrokenPipeError:
        # The reader went away (``| head``): stop quietly, without a second error at exit.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return EXIT_OK
    except KeyboardInterrupt:
        out.stderr.write("\n")
        return EXIT_INTERRUPTED
    except (bl.ConfigurationError, bl.LifecycleError, ValueError) as exc:
        return _fail(str(exc), out.stderr)
    except OSError as exc:
        return _fail(_describe_os_error(exc), out.stderr)
    finally:
        warnings.showwarning = previous_show
        logging.getLogger("bedrock_lifecycle").removeHandler(handler)
