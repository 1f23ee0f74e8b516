"""``rehearse`` and ``compare``: replay prompts to a model and its successor, then judge the pair.

``rehearse`` reads a prompts file (Converse requests, or an Amazon Bedrock evaluation prompt
dataset), sends each prompt to ``--from`` and, adapted as a fallback would adapt it, to ``--to``
(a few at a time, with botocore's adaptive retry mode taking care of throttling) and writes one
shadow record per prompt to a :class:`~bedrock_lifecycle.JsonlLedger`. ``compare`` reads shadow
records from a ledger file and reports each model pair (:mod:`bedrock_lifecycle._report`): as
text or JSON, as a self-contained HTML page (``report`` extra), or as Bedrock evaluation datasets.

Neither command logs or prints a prompt or a reply; texts reach the ledger only with
``--keep-text``.
"""

from __future__ import annotations

import argparse
import html
import json
import os
import re
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor, as_completed
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timezone
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

import bedrock_lifecycle as bl
from bedrock_lifecycle._report import (
    BYOIR_MAX_PROMPTS,
    Comparison,
    Distribution,
    PairComparison,
    Thresholds,
    compare,
    evaluation_datasets,
    group_pairs,
)
from bedrock_lifecycle._shadow_record import (
    converse_reply,
    failed_side,
    prompt_hash,
    text_similarity,
)

from ._common import DEFAULT_REGION, load_policy
from ._output import Output

if TYPE_CHECKING:
    from botocore.model import Shape
    from botocore.session import Session as BotocoreSession

__all__ = ["run_compare", "run_rehearse"]

DEFAULT_OUT = "bedrock-rehearsal"
LEDGER_NAME = "shadow.jsonl"
#: Sends after the first to a successor that refused a parameter (a fallback's limit, less one).
_MORE_SENDS = 2
#: Attempts per call (the first and the retries) in botocore's adaptive retry mode.
MAX_ATTEMPTS = 8
#: Turns Bedrock takes in one ``conversationTurns`` line (retrieve-and-generate datasets).
MAX_TURNS = 5
REPORT_EXTRA = "pip install 'bedrock-lifecycle[report]'"

_NO_TEXTS = (
    "the ledger keeps no texts, so there is nothing to export: Bedrock's evaluation jobs need "
    "each prompt and each reply. Replay with 'bedrock-lifecycle rehearse ... --keep-text', or "
    "shadow with keep_text=True, then export again."
)


# -- the prompts file ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Prompt:
    """One line of the prompts file: the Converse request it stands for, and what an evaluation
    dataset line carries beside the prompt."""

    line: int
    request: Mapping[str, Any]
    reference: str | None = None
    category: str | None = None

    def kept(self) -> str:
        """The prompt as ``ShadowRecord.prompt`` keeps it: messages and system as JSON (with
        the dataset's reference response and category, for the evaluation export)."""
        document: dict[str, Any] = {"messages": self.request.get("messages")}
        if self.request.get("system") is not None:
            document["system"] = self.request["system"]
        if self.reference is not None:
            document["referenceResponse"] = self.reference
        if self.category is not None:
            document["category"] = self.category
        return json.dumps(document, ensure_ascii=False, separators=(",", ":"))


class _BadLine(ValueError):
    """A prompts-file line that cannot be used; the message says why (never quoting it)."""


# botocore's report quotes a wrongly typed value, which may be prompt text: leave it out.
_QUOTED_VALUE = re.compile(r", value: .*?, type: (<class '[^']*'>), valid types:", re.DOTALL)


@lru_cache(maxsize=1)
def _botocore_session() -> BotocoreSession:
    """One botocore session for the command: it loads the bedrock-runtime model (a large
    file) once, for checking the prompts and for the client alike."""
    from botocore.session import get_session

    return get_session()


@lru_cache(maxsize=1)
def _converse_input() -> Shape:
    """botocore's model of a Converse request."""
    model = _botocore_session().get_service_model("bedrock-runtime")
    operation = model.operation_model("Converse")
    shape = operation.input_shape
    assert shape is not None  # Converse takes input
    return shape


def _converse_request(document: Mapping[str, Any]) -> Mapping[str, Any]:
    from botocore.validate import ParamValidator

    request = {key: value for key, value in document.items() if key != "modelId"}
    report = ParamValidator().validate({"modelId": "model", **request}, _converse_input())
    if report.has_errors():
        problems = [
            _QUOTED_VALUE.sub(r", type: \1, valid types:", problem)
            for problem in report.generate_report().splitlines()
            if problem.strip()
        ]
        raise _BadLine("not a valid Converse request: " + "; ".join(problems[:3]))
    messages = request.get("messages")
    if not messages:
        raise _BadLine("messages must hold at least one message")
    return request


def _text(value: Any, where: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise _BadLine(f"{where} must be a non-empty string")
    return value


def _optional_text(document: Mapping[str, Any], key: str) -> str | None:
    value = document.get(key)
    if value is None:
        return None
    if not isinstance(value, str):
        raise _BadLine(f"{key} must be a string")
    return value or None


def _user(text: str) -> dict[str, Any]:
    return {"role": "user", "content": [{"text": text}]}


def _turn_text(value: Any, where: str) -> str:
    """The text of ``{"content": [{"text": ...}, ...]}`` (a turn's prompt or a reference)."""
    content = value.get("content") if isinstance(value, Mapping) else None
    if not isinstance(content, list) or not content:
        raise _BadLine(f'{where} must be {{"content": [{{"text": ...}}]}}')
    texts = [block.get("text") if isinstance(block, Mapping) else None for block in content]
    if not all(isinstance(text, str) for text in texts):
        raise _BadLine(f"{where}.content must hold text blocks only")
    return _text("".join(str(text) for text in texts), f"{where}.content text")


def _conversation(turns: Any) -> tuple[list[dict[str, Any]], str | None]:
    """Messages for a ``conversationTurns`` line, and the last turn's reference response.

    Earlier turns need their reference response: it stands in for the reply the conversation
    went on from.
    """
    if not isinstance(turns, list) or not 1 <= len(turns) <= MAX_TURNS:
        raise _BadLine(f"conversationTurns must be a list of 1 to {MAX_TURNS} turns")
    messages: list[dict[str, Any]] = []
    reference: str | None = None
    for index, turn in enumerate(turns):
        where = f"conversationTurns[{index}]"
        if not isinstance(turn, Mapping):
            raise _BadLine(f"{where} must be an object")
        messages.append(_user(_turn_text(turn.get("prompt"), f"{where}.prompt")))
        answers = turn.get("referenceResponses")
        answer = None
        if answers is not None:
            if not isinstance(answers, list) or not answers:
                raise _BadLine(f"{where}.referenceResponses must be a non-empty list")
            answer = _turn_text(answers[0], f"{where}.referenceResponses[0]")
        if index < len(turns) - 1:
            if answer is None:
                raise _BadLine(
                    f"{where} has no referenceResponses: a turn before the last needs the "
                    "reply the conversation went on from"
                )
            messages.append({"role": "assistant", "content": [{"text": answer}]})
        else:
            reference = answer
    return messages, reference


def _prompt(document: Any, line: int) -> Prompt:
    if not isinstance(document, Mapping):
        raise _BadLine(f"expected a JSON object, got {type(document).__name__}")
    if "messages" in document:
        return Prompt(line, _converse_request(document))
    if "conversationTurns" in document:
        messages, reference = _conversation(document["conversationTurns"])
        category = _optional_text(document, "category")
        return Prompt(line, {"messages": messages}, reference, category)
    if "prompt" in document:
        text = _text(document["prompt"], "prompt")
        reference = _optional_text(document, "referenceResponse")
        category = _optional_text(document, "category")
        return Prompt(line, {"messages": [_user(text)]}, reference, category)
    raise _BadLine(
        'expected a Converse request ({"messages": ...}), an evaluation dataset prompt '
        '({"prompt": ...}) or a conversation ({"conversationTurns": ...})'
    )


def read_prompts(path: str) -> list[Prompt]:
    """Every prompt in a JSON Lines prompts file; blank lines are skipped.

    Raises :class:`~bedrock_lifecycle.ConfigurationError` naming the file, the line and why.
    """
    file = Path(path).expanduser()
    if not file.is_file():
        raise bl.ConfigurationError("no such prompts file", source=str(path))
    prompts: list[Prompt] = []
    with file.open("rb") as stream:
        for number, raw in enumerate(stream, start=1):
            if not raw.strip():
                continue
            try:
                document = json.loads(raw)
            except UnicodeDecodeError:
                raise bl.ConfigurationError(
                    f"line {number}: not UTF-8 text", source=str(path)
                ) from None
            except ValueError as exc:
                reason = getattr(exc, "msg", "invalid JSON")
                raise bl.ConfigurationError(
                    f"line {number}: not JSON ({reason})", source=str(path)
                ) from None
            try:
                prompts.append(_prompt(document, number))
            except _BadLine as exc:
                raise bl.ConfigurationError(f"line {number}: {exc}", source=str(path)) from None
    if not prompts:
        raise bl.ConfigurationError("no prompts in the file", source=str(path))
    return prompts


# -- calling both models ------------------------------------------------------------------------

_ATTEMPT = threading.local()


def _note_send(**_: Any) -> None:
    """Remember when the latest attempt of this thread's call was sent."""
    _ATTEMPT.sent = time.perf_counter()


def _elapsed_ms(begun: float) -> float:
    """Milliseconds since this thread's latest attempt was sent (since ``begun`` if none was)."""
    sent: float | None = getattr(_ATTEMPT, "sent", None)
    start = begun if sent is None else sent
    return round((time.perf_counter() - start) * 1000.0, 3)


class _Replay:
    """Sends each prompt to both models and builds its shadow record."""

    def __init__(self, args: argparse.Namespace, region: str) -> None:
        import boto3
        from botocore.config import Config

        self.primary_id: str = args.from_model
        self.shadow_id: str = args.to_model
        self.region = region
        self.keep_text: bool = args.keep_text
        config = Config(
            retries={"mode": "adaptive", "max_attempts": MAX_ATTEMPTS},
            max_pool_connections=max(10, 2 * args.concurrency),
        )
        session = boto3.session.Session(botocore_session=_botocore_session())
        self.client = session.client(
            "bedrock-runtime", region_name=region, endpoint_url=args.endpoint_url, config=config
        )
        # Latency is the last attempt's: waits the replay's own throttling caused are not the
        # model's. Registered last on the event the adaptive rate limiter listens to (a more
        # specific event name would run before it), so it runs once the limiter let it go.
        self.client.meta.events.register_last(
            "before-send", _note_send, unique_id="bl-rehearse-latency"
        )
        prices = bl.PriceBook.bundled()
        if args.prices:
            prices = prices.with_overrides(bl.PriceBook.from_file(args.prices))
        self.prices = prices
        book = bl.ConstraintBook.default()
        policy = load_policy(args.policy)
        if policy is not None:
            book = book.with_entries(policy.constraints)
        self.constraints = book.for_model(self.shadow_id)

    def close(self) -> None:
        self.client.close()

    def _call(self, model_id: str, request: Mapping[str, Any]) -> tuple[bl.ShadowSide, str | None]:
        from botocore.exceptions import BotoCoreError, ClientError

        _ATTEMPT.sent = None
        begun = time.perf_counter()
        try:
            response = self.client.converse(modelId=model_id, **request)
        except (ClientError, BotoCoreError) as exc:
            return failed_side(model_id, exc, _elapsed_ms(begun)), None
        latency = _elapsed_ms(begun)
        text, stop = converse_reply(response)
        usage: Mapping[str, Any] = response.get("usage", {})
        tokens_in, tokens_out = usage.get("inputTokens"), usage.get("outputTokens")
        cost, _, _ = bl.compute_cost(
            self.prices.price_for(model_id, self.region),
            extended_access=False,
            input_tokens=tokens_in,
            output_tokens=tokens_out,
            cache_read=usage.get("cacheReadInputTokens"),
            cache_write=usage.get("cacheWriteInputTokens"),
        )
        side = bl.ShadowSide(
            model_id=model_id,
            latency_ms=latency,
            input_tokens=tokens_in,
            output_tokens=tokens_out,
            cost_usd=cost,
            stop_reason=stop,
            output_chars=None if text is None else len(text),
            text=text if self.keep_text else None,
        )
        return side, text

    def pair(self, prompt: Prompt) -> tuple[bl.ShadowRecord, tuple[bl.Adaptation, ...]]:
        """Both calls for one prompt: the primary as written, the successor adapted."""
        when = datetime.now(timezone.utc)
        primary, primary_text = self._call(self.primary_id, prompt.request)
        adapted, changes = bl.adapt_request("Converse", prompt.request, self.constraints)
        shadow, shadow_text = self._call(self.shadow_id, adapted)
        # As a fallback does: a parameter the successor refuses is learned (for this prompt and
        # every later one) and the request sent again adapted, one more send per refusal.
        for _ in range(_MORE_SENDS):
            if shadow.error_code != "ValidationException":
                break
            learned = bl.ModelConstraints.from_refusal(shadow.error_message)
            known = self.constraints
            if learned is None or known.covers(learned):
                break
            self.constraints = known.merged(learned)  # one assignment: threads see either
            adapted, changes = bl.adapt_request("Converse", prompt.request, self.constraints)
            shadow, shadow_text = self._call(self.shadow_id, adapted)
        record = bl.ShadowRecord(
            timestamp=when,
            region=self.region,
            operation="Converse",
            shadow_operation="Converse",
            primary=primary,
            shadow=shadow,
            similarity=text_similarity(primary_text, shadow_text),
            prompt_hash=prompt_hash(prompt.request),
            prompt=prompt.kept() if self.keep_text else None,
        )
        return record, changes


@contextmanager
def _progress(out: Output, total: int, label: str) -> Iterator[Callable[[], None]]:
    """A progress bar on stderr when it is a terminal and rich is installed; else nothing."""
    isatty = getattr(out.stderr, "isatty", None)
    if not (isatty and isatty()):
        yield lambda: None
        return
    try:
        from rich.console import Console
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeElapsedColumn,
        )
    except ImportError:
        yield lambda: None
        return
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn())
    console = Console(file=out.stderr)
    with Progress(*columns, TimeElapsedColumn(), console=console, transient=True) as progress:
        task = progress.add_task(label, total=total)
        yield lambda: progress.advance(task)


def _region(args: argparse.Namespace) -> str:
    given: str | None = args.region
    env = os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION")
    return given or env or DEFAULT_REGION


def _outcome(sides: Sequence[bl.ShadowSide]) -> str:
    ok = sum(1 for side in sides if side.ok)
    codes = Counter(side.error_code or "error" for side in sides if not side.ok)
    failed = ", ".join(f"{code} {count}" for code, count in codes.most_common())
    return f"{ok} ok" + (f", {len(sides) - ok} failed ({failed})" if failed else "")


def run_rehearse(args: argparse.Namespace, out: Output) -> int:
    prompts = read_prompts(args.prompts)
    region = _region(args)
    folder = Path(args.out).expanduser()
    ledger_path = folder / LEDGER_NAME
    replay = _Replay(args, region)
    # Fail now, not after every call was paid for, when the records would have nowhere to go.
    try:
        folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    except OSError:
        replay.close()
        raise
    if not os.access(folder, os.W_OK | os.X_OK):
        replay.close()
        raise bl.ConfigurationError("cannot write shadow records here", source=str(folder))
    records: list[bl.ShadowRecord] = []
    adapted: Counter[str] = Counter()
    adapted_requests = 0
    ledger = bl.JsonlLedger[bl.ShadowRecord](ledger_path)
    executor = ThreadPoolExecutor(max_workers=args.concurrency, thread_name_prefix="rehearse")
    try:
        label = f"{len(prompts)} prompts"
        with _progress(out, len(prompts), label) as advance:
            futures: list[Future[tuple[bl.ShadowRecord, tuple[bl.Adaptation, ...]]]] = [
                executor.submit(replay.pair, prompt) for prompt in prompts
            ]
            for future in as_completed(futures):
                record, changes = future.result()
                ledger.record(record)
                records.append(record)
                adapted.update(str(change) for change in changes)
                adapted_requests += bool(changes)
                advance()
    except BaseException:
        executor.shutdown(wait=False, cancel_futures=True)
        raise
    else:
        executor.shutdown()
    finally:
        ledger.close()
        replay.close()
    if ledger.errors:
        raise bl.ConfigurationError(
            f"{ledger.errors} shadow record(s) could not be written", source=str(ledger_path)
        )
    out.line(f"Rehearsed {len(records)} prompts in {region}: {args.from_model} -> {args.to_model}")
    out.line(f"  primary:   {_outcome([rec.primary for rec in records])}")
    out.line(f"  successor: {_outcome([rec.shadow for rec in records])}")
    if adapted:
        out.line(f"  adapted:   {adapted_requests} of {len(records)} requests to the successor")
        for change, count in adapted.most_common():
            out.line(f"             {change}: {count}")
    else:
        out.line("  adapted:   nothing (the successor takes the requests as written)")
    kept = "texts kept" if args.keep_text else "figures only; --keep-text keeps the texts"
    out.line(f"Shadow records: {ledger_path} ({kept})")
    out.line(f"Next: bedrock-lifecycle compare {ledger_path}")
    return 0


# -- the report as text -------------------------------------------------------------------------


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value:,.0f} ms"


def _times(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}x"


def _money(value: float | None) -> str:
    return "unknown" if value is None else f"${value:,.6f}"


def _number(value: float | None) -> str:
    return "-" if value is None else f"{value:,.1f}"


def _share(part: int, whole: int) -> str:
    return f"{part}/{whole} ({part / whole:.1%})" if whole else "-"


def _span(pair: PairComparison) -> str:
    seconds = pair.span.total_seconds()
    if seconds < 120:
        return f"{seconds:.0f}s"
    if seconds < 2 * 3600:
        return f"{seconds / 60:.0f} min"
    if seconds < 2 * 86400:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 86400:.1f} days"


def _spread(found: Distribution, count_word: str) -> str:
    if found.count == 0:
        return "none recorded"
    figures = (("p10", found.p10), ("p50", found.p50), ("p90", found.p90), ("mean", found.mean))
    shown = "  ".join(f"{name} {value:.2f}" for name, value in figures if value is not None)
    return f"{shown} ({found.count} {count_word})"


def _monthly(pair: PairComparison) -> str:
    if pair.calls_per_day is None:
        return (
            f"unknown (the records span {_span(pair)}, under an hour: pass --calls-per-day N "
            "for your production rate)"
        )
    if pair.monthly_cost_difference is None:
        return "unknown (no price for one of the models, or no successful call)"
    where = "observed" if pair.calls_per_day_observed else "given"
    sign = "+" if pair.monthly_cost_difference >= 0 else "-"
    return (
        f"{sign}${abs(pair.monthly_cost_difference):,.2f} a month at "
        f"{pair.calls_per_day:,.0f} calls a day ({where})"
    )


def _errors(errors: Sequence[tuple[str, int]]) -> str:
    return ", ".join(f"{code} {count}" for code, count in errors) or "-"


def _pair_rows(pair: PairComparison) -> list[list[str]]:
    primary, shadow = pair.primary, pair.shadow
    return [
        [
            "success",
            _share(primary.succeeded, primary.calls),
            _share(shadow.succeeded, shadow.calls),
            "",
        ],
        ["errors", _errors(primary.errors), _errors(shadow.errors), ""],
        [
            "latency p50",
            _ms(primary.latency_ms.p50),
            _ms(shadow.latency_ms.p50),
            _times(pair.latency_ratio_p50),
        ],
        [
            "latency p95",
            _ms(primary.latency_ms.p95),
            _ms(shadow.latency_ms.p95),
            _times(pair.latency_ratio_p95),
        ],
        [
            "input tokens/call",
            _number(primary.input_tokens_per_call),
            _number(shadow.input_tokens_per_call),
            "",
        ],
        [
            "output tokens/call",
            _number(primary.output_tokens_per_call),
            _number(shadow.output_tokens_per_call),
            "",
        ],
        [
            "cost/call",
            _money(primary.cost_per_call),
            _money(shadow.cost_per_call),
            _times(
                shadow.cost_per_call / primary.cost_per_call
                if primary.cost_per_call and shadow.cost_per_call is not None
                else None
            ),
        ],
    ]


def _agreement(pair: PairComparison) -> str:
    if pair.stop_reason_agreement is None:
        return "nothing to compare (no pair where both answered with a stop reason)"
    agreed = round(pair.stop_reason_agreement * pair.stop_reasons_compared)
    return f"{agreed} of {pair.stop_reasons_compared} ({pair.stop_reason_agreement:.1%})"


def _print_text(report: Comparison, out: Output) -> None:
    for index, pair in enumerate(report.pairs):
        if index:
            out.line()
        out.line(
            f"{pair.primary_model_id} -> {pair.shadow_model_id}: {pair.calls} calls over "
            f"{_span(pair)}",
            "bold",
        )
        out.table(["", "PRIMARY", "SUCCESSOR", "RATIO"], _pair_rows(pair), right=(1, 2, 3))
        out.line(f"stop reasons agree: {_agreement(pair)}")
        out.line(f"similarity: {_spread(pair.similarity, 'pairs')}")
        out.line(f"score: {_spread(pair.score, 'pairs')}")
        out.line(f"monthly cost difference: {_monthly(pair)}")
        if pair.verdict.ready:
            out.line("verdict: ready", "green")
        else:
            out.line("verdict: NOT READY", "bold red")
            for reason in pair.verdict.reasons:
                out.line(f"  - {reason}")


# -- files the report writes --------------------------------------------------------------------


def _write_private(path: Path, data: str) -> None:
    """Write ``data`` to ``path`` whole (a temporary file renamed over it), owner-only (0600)."""
    folder = path.parent
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    handle, temporary = tempfile.mkstemp(dir=folder, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "w", encoding="utf-8", newline="\n") as stream:
            stream.write(data)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def _write_byoir(records: Sequence[bl.ShadowRecord], folder: Path, out: Output) -> None:
    export = evaluation_datasets(records)
    if not export.datasets:
        if export.without_text:
            raise bl.ConfigurationError(_NO_TEXTS, source=str(folder))
        raise bl.ConfigurationError(
            "no record where both models answered with text: nothing to export",
            source=str(folder),
        )
    for identifier, lines in export.datasets.items():
        chunks = [
            lines[start : start + BYOIR_MAX_PROMPTS]
            for start in range(0, len(lines), BYOIR_MAX_PROMPTS)
        ]
        for number, chunk in enumerate(chunks, start=1):
            name = f"{identifier}.jsonl" if len(chunks) == 1 else f"{identifier}.part{number}.jsonl"
            body = "".join(json.dumps(line, ensure_ascii=False) + "\n" for line in chunk)
            _write_private(folder / name, body)
            out.note(
                f"evaluation dataset written to {folder / name} ({len(chunk)} prompts, "
                f"modelIdentifier {identifier} for {export.model_ids[identifier]})"
            )
    if export.without_text:
        out.note(f"{export.without_text} record(s) without kept texts were left out")
    if export.without_answer:
        out.note(
            f"{export.without_answer} record(s) where a model failed or gave no text were left "
            "out (both models are judged on the same prompts)"
        )


# -- the HTML page ------------------------------------------------------------------------------

_PAGE_STYLE = """
body { font-family: system-ui, -apple-system, "Segoe UI", sans-serif; margin: 2rem auto;
       max-width: 1100px; color: #1f2328; padding: 0 1rem; }
h1 { font-size: 1.5rem; } h2 { font-size: 1.15rem; margin-top: 2.5rem; word-break: break-all; }
table { border-collapse: collapse; margin: 0.5rem 0 1rem; }
th, td { padding: 0.3rem 0.8rem; border-bottom: 1px solid #d0d7de; text-align: right; }
th:first-child, td:first-child { text-align: left; }
.verdict { font-weight: 600; padding: 0.2rem 0.6rem; border-radius: 4px; display: inline-block; }
.ready { background: #dafbe1; color: #116329; } .not-ready { background: #ffebe9; color: #a40e26; }
table.facts td { text-align: left; }
.charts { display: grid; grid-template-columns: repeat(2, minmax(0, 1fr)); gap: 1rem; }
.note { color: #59636e; font-size: 0.9rem; }
"""
# Nothing is fetched when the page is viewed: scripts, styles and images are all inline.
_PAGE_POLICY = (
    "default-src 'none'; script-src 'unsafe-inline'; "
    "style-src 'unsafe-inline'; img-src data:; font-src data:"
)
_COLOURS = ("#4c72b0", "#dd8452")


def _plotly() -> Any:
    try:
        import plotly.graph_objects as go  # type: ignore[import-untyped]
    except ImportError:
        raise bl.ConfigurationError(f"--html needs the plotly package: {REPORT_EXTRA}") from None
    return go


def _figure_html(figure: Any, div_id: str) -> str:
    figure.update_xaxes(automargin=True)  # room for long model ids, tilted or not
    html_text: str = figure.to_html(
        full_html=False,
        include_plotlyjs=False,
        div_id=div_id,
        config={"displaylogo": False, "displayModeBar": False, "responsive": True},
    )
    return html_text


def _charts(go: Any, index: int, pair: PairComparison, group: Sequence[bl.ShadowRecord]) -> str:
    layout = {
        "height": 360,
        "margin": {"l": 60, "r": 20, "t": 50, "b": 40},
        "showlegend": False,
        "template": "plotly_white",
    }
    # The section's heading names the models: the axes say which side is which, and hovering
    # a mark shows the model id.
    names = ("primary", "successor")
    ids = (pair.primary_model_id, pair.shadow_model_id)
    sides = ([rec.primary for rec in group], [rec.shadow for rec in group])
    latency = go.Figure(
        [
            go.Box(
                y=[side.latency_ms for side in each if side.ok and side.latency_ms is not None],
                name=name,
                boxpoints="all",
                jitter=0.4,
                pointpos=0,
                marker={"color": colour, "size": 5},
                line={"color": colour},
                hovertext=model,
            )
            for name, model, each, colour in zip(names, ids, sides, _COLOURS, strict=True)
        ]
    )
    latency.update_layout(title="Latency of successful calls (ms)", **layout)
    costs = (pair.primary.cost_per_call, pair.shadow.cost_per_call)
    cost = go.Figure(
        go.Bar(
            x=list(names),
            y=[value or 0.0 for value in costs],
            text=[_money(value) for value in costs],
            hovertext=list(ids),
            textposition="outside",
            marker={"color": list(_COLOURS)},
        )
    )
    cost.update_layout(title="Mean cost per successful call (USD)", **layout)
    cost.update_yaxes(tickformat="$.6f", rangemode="tozero")
    parts = [
        _figure_html(latency, f"latency-{index}"),
        _figure_html(cost, f"cost-{index}"),
    ]
    similarities = [rec.similarity for rec in group if rec.similarity is not None]
    if similarities:
        spread = go.Figure(
            go.Histogram(
                x=similarities,
                xbins={"start": 0.0, "end": 1.0001, "size": 0.05},
                marker={"color": _COLOURS[1]},
            )
        )
        spread.update_layout(title="Similarity of the two replies (0 to 1)", **layout)
        spread.update_xaxes(range=[0, 1])
        parts.append(_figure_html(spread, f"similarity-{index}"))
    return "".join(f'<div class="chart">{part}</div>' for part in parts)


def _table_html(pair: PairComparison) -> str:
    headers = "".join(f"<th>{html.escape(h)}</th>" for h in ("", "primary", "successor", "ratio"))
    body = "".join(
        "<tr>" + "".join(f"<td>{html.escape(cell)}</td>" for cell in row) + "</tr>"
        for row in _pair_rows(pair)
    )
    facts = (
        ("stop reasons agree", _agreement(pair)),
        ("similarity", _spread(pair.similarity, "pairs")),
        ("score", _spread(pair.score, "pairs")),
        ("monthly cost difference", _monthly(pair)),
    )
    listed = "".join(
        f"<tr><td>{html.escape(name)}</td><td>{html.escape(value)}</td></tr>"
        for name, value in facts
    )
    return (
        f"<table><thead><tr>{headers}</tr></thead><tbody>{body}</tbody></table>"
        f'<table class="facts"><tbody>{listed}</tbody></table>'
    )


def _verdict_html(pair: PairComparison) -> str:
    if pair.verdict.ready:
        return '<p><span class="verdict ready">ready</span></p>'
    reasons = "".join(f"<li>{html.escape(reason)}</li>" for reason in pair.verdict.reasons)
    return f'<p><span class="verdict not-ready">not ready</span></p><ul>{reasons}</ul>'


def html_page(report: Comparison, records: Sequence[bl.ShadowRecord], source: str) -> str:
    """The report as one self-contained HTML page (plotly.js inline; nothing fetched)."""
    go = _plotly()
    from plotly.offline import get_plotlyjs  # type: ignore[import-untyped]

    groups = group_pairs(records)
    sections = []
    for index, pair in enumerate(report.pairs):
        group = groups[(pair.primary_model_id, pair.shadow_model_id)]
        title = f"{pair.primary_model_id} \u2192 {pair.shadow_model_id}"
        sections.append(
            f'<section id="pair-{index}"><h2>{html.escape(title)}</h2>'
            f'<p class="note">{pair.calls} calls over {html.escape(_span(pair))}, '
            f"{html.escape(pair.first_at.isoformat())} to "
            f"{html.escape(pair.last_at.isoformat())}</p>"
            f"{_verdict_html(pair)}{_table_html(pair)}"
            f'<div class="charts">{_charts(go, index, pair, group)}</div></section>'
        )
    overall = "ready" if report.ready else "not ready"
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f'<meta http-equiv="Content-Security-Policy" content="{_PAGE_POLICY}">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        "<title>bedrock-lifecycle migration rehearsal</title>"
        f"<style>{_PAGE_STYLE}</style>"
        f'<script type="text/javascript">{get_plotlyjs()}</script></head><body>'
        "<h1>Migration rehearsal</h1>"
        f'<p class="note">{len(records)} shadow records from {html.escape(source)}; '
        f"{len(report.pairs)} model pair(s); overall: {overall}. Latency and cost count "
        "successful calls only. Similarity is word overlap (Sorensen-Dice over word unigrams "
        "and bigrams), not meaning.</p>"
        f"{''.join(sections)}</body></html>\n"
    )


# -- compare ------------------------------------------------------------------------------------


def _thresholds(args: argparse.Namespace) -> Thresholds:
    return Thresholds(
        min_success=args.min_success,
        max_refused=args.max_refused,
        min_similarity=args.min_similarity,
        min_score=args.min_score,
        max_latency_ratio=args.max_latency_ratio,
    )


def run_compare(args: argparse.Namespace, out: Output) -> int:
    from bedrock_lifecycle.ledger import read_shadow_records

    if args.html:
        _plotly()  # fail before any work when the extra is missing
    thresholds = _thresholds(args)
    ledger = Path(args.ledger).expanduser()
    if not ledger.is_file():
        raise bl.ConfigurationError("no such ledger file", source=str(args.ledger))
    records = read_shadow_records(ledger)
    if not records:
        raise bl.ConfigurationError(
            "no shadow records in this ledger (record some with 'bedrock-lifecycle rehearse' "
            "or shadow traffic)",
            source=str(args.ledger),
        )
    report = compare(records, thresholds=thresholds, calls_per_day=args.calls_per_day)
    if args.json:
        out.json(report.to_dict())
    else:
        _print_text(report, out)
    if args.html:
        page = Path(args.html).expanduser()
        _write_private(page, html_page(report, records, str(args.ledger)))
        out.note(f"HTML report written to {page}")
    if args.byoir:
        _write_byoir(records, Path(args.byoir).expanduser(), out)
    return 0 if report.ready else 1
