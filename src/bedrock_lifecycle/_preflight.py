"""Preflight: check, before a model retires, that the successor a fallback would use works.

For each model in use and each region, :func:`preflight` takes the successor the runtime would
take (the same walk, :func:`~bedrock_lifecycle.walk_successors`, over the same catalog and policy)
and asks the control plane about it, in the id form the application uses:

1. ``GetFoundationModel`` (once per successor base id and region): is it offered here, does it
   take on-demand calls (``inferenceTypesSupported`` has ``ON_DEMAND``), does it stream
   (``responseStreamingSupported``)? A model sold only through inference profiles fails when
   called by base id or foundation-model ARN.
2. ``GetInferenceProfile`` (once per profile and region) when the caller's form makes the
   successor an inference profile (``us.<id>``): does that profile exist here, and does it route
   to the successor?
3. What a fallback would change in requests to it (:meth:`ModelConstraints.describe`, from the
   same constraint book the governor uses).
4. With ``invoke=True`` only: one Converse call per successor and region (one short message,
   ``maxTokens`` 8, adapted like a fallback request), its error code or its tokens and cost
   (bundled :class:`PriceBook`; ``None`` when unpriced, never ``0``).

Lifecycle (state, end-of-life dates, "retires before the model it replaces") is judged by the
walk on the catalog, exactly as a call would be. Control-plane errors become problems on the row,
never exceptions. Only the control plane is called (the catalog's own refresh included); the
runtime only with ``invoke=True``.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any, Literal

from botocore.exceptions import BotoCoreError, ClientError

from ._catalog import Catalog, default_catalog
from ._constraints import ModelConstraints, adapt_request
from ._errors import ConfigurationError
from ._governor import Governor
from ._ids import IdForm, parse_model_id, render_successor
from ._lifecycle import State
from ._policy import Policy
from ._pricing import PriceBook, compute_cost, price_book
from ._succession import Candidate, walk_successors
from ._usage import usage_from_converse

__all__ = ["PreflightReport", "PreflightRow", "preflight"]

logger = logging.getLogger(__name__)

Role = Literal["chosen", "refused", "none"]

#: Control-plane answers meaning "no such model or profile here".
_NOT_HERE = frozenset({"ResourceNotFoundException", "ValidationException"})
#: Id forms a call sends on demand to the foundation model itself.
_ON_DEMAND_FORMS = frozenset({IdForm.BASE, IdForm.FOUNDATION_MODEL_ARN})
#: Id forms that name an inference profile (GetInferenceProfile takes the id or the ARN).
_PROFILE_FORMS = frozenset(
    {IdForm.PROFILE, IdForm.INFERENCE_PROFILE_ARN, IdForm.APPLICATION_PROFILE_ARN}
)
_PROBE_TEXT = "Reply with one word."
_PROBE_MAX_TOKENS = 8


def _day(value: datetime | None) -> str | None:
    return value.date().isoformat() if value is not None else None


# -- what a preflight reports ----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PreflightRow:
    """One model in use, one successor (or none), one region, and the verdict.

    ``role`` is ``"chosen"`` for the successor a fallback would use, ``"refused"`` for one the
    walk skips (``refused`` says why), ``"none"`` when the walk found no candidate at all.
    ``successor`` is written in the form the application uses (a ``us.`` profile for a ``us.``
    caller). ``offered``, ``on_demand`` and ``streaming`` are ``None`` when not checked (or the
    control plane did not answer). ``adaptations`` is what a fallback request would have changed
    (``None``: nothing known). ``invoke_ok`` is ``None`` when no test call was made; its tokens
    and ``cost_usd`` are ``None`` when unknown (unpriced is never ``0``). The row is ready when
    ``problems`` is empty; ``notes`` are for information only.
    """

    model_id: str
    region: str
    state: State
    role: Role
    base_model_id: str | None = None
    eol_at: datetime | None = None
    successor: str | None = None
    successor_base_model_id: str | None = None
    successor_state: State | None = None
    successor_eol_at: datetime | None = None
    refused: str | None = None
    offered: bool | None = None
    on_demand: bool | None = None
    streaming: bool | None = None
    adaptations: str | None = None
    invoke_ok: bool | None = None
    invoke_error: str | None = None
    input_tokens: int | None = None
    output_tokens: int | None = None
    cost_usd: float | None = None
    problems: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        """Whether nothing stands in the way (no problems)."""
        return not self.problems

    def to_dict(self) -> dict[str, Any]:
        """A JSON-safe mapping (dates as ``YYYY-MM-DD``, states as their values)."""
        invoke: dict[str, Any] | None = None
        if self.invoke_ok is not None:
            invoke = {
                "ok": self.invoke_ok,
                "error": self.invoke_error,
                "input_tokens": self.input_tokens,
                "output_tokens": self.output_tokens,
                "cost_usd": self.cost_usd,
            }
        return {
            "model_id": self.model_id,
            "base_model_id": self.base_model_id,
            "region": self.region,
            "state": self.state.value,
            "eol_at": _day(self.eol_at),
            "role": self.role,
            "successor": self.successor,
            "successor_base_model_id": self.successor_base_model_id,
            "successor_state": self.successor_state.value if self.successor_state else None,
            "successor_eol_at": _day(self.successor_eol_at),
            "refused": self.refused,
            "offered": self.offered,
            "on_demand": self.on_demand,
            "streaming": self.streaming,
            "adaptations": self.adaptations,
            "invoke": invoke,
            "ok": self.ok,
            "problems": list(self.problems),
            "notes": list(self.notes),
        }


@dataclass(frozen=True, slots=True)
class PreflightReport:
    """What :func:`preflight` found: one :class:`PreflightRow` per model, successor and region.

    ``ok`` is true when no row has a problem. ``at`` is when lifecycle was judged (the catalog's
    clock); ``invoked`` whether test calls were made.
    """

    rows: tuple[PreflightRow, ...] = ()
    at: datetime | None = None
    invoked: bool = False

    @property
    def ok(self) -> bool:
        """Whether every row is ready."""
        return all(row.ok for row in self.rows)

    @property
    def problems(self) -> tuple[PreflightRow, ...]:
        """The rows that are not ready."""
        return tuple(row for row in self.rows if not row.ok)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-safe mapping: ``ok``, ``at``, ``invoked`` and ``rows``."""
        return {
            "ok": self.ok,
            "at": self.at.isoformat() if self.at is not None else None,
            "invoked": self.invoked,
            "rows": [row.to_dict() for row in self.rows],
        }

    def to_text(self) -> str:
        """A plain-text account for people (what the ``check`` command prints)."""
        return _render(self)

    def __str__(self) -> str:
        return self.to_text()


# -- wording ---------------------------------------------------------------------------------

_VERDICT_WIDTH = 8
_INDENT = " " * (2 + _VERDICT_WIDTH + 1)


def _state_words(state: State | None, eol_at: datetime | None) -> str:
    if state is None:
        return "unknown"
    words = state.label
    if eol_at is not None and state is not State.EOL:
        words += f", EOL {_day(eol_at)}"
    elif eol_at is not None:
        words += f" {_day(eol_at)}"
    return words


def _verdict(row: PreflightRow) -> str:
    if row.role == "refused":
        return "REFUSED"
    if not row.ok:
        return "PROBLEM"
    return "ready" if row.role == "chosen" else "ok"


def _yes_no(value: bool | None) -> str:
    return "unknown" if value is None else ("yes" if value else "no")


def _call_words(row: PreflightRow) -> str | None:
    if not row.invoke_ok:
        return None  # not made, or failed (said among the problems)
    tokens = f"{row.input_tokens if row.input_tokens is not None else '?'} in / "
    tokens += f"{row.output_tokens if row.output_tokens is not None else '?'} out tokens"
    cost = f"${row.cost_usd:.6f}" if row.cost_usd is not None else "unknown (no price)"
    return f"test call: ok, {tokens}, cost {cost}"


def _row_lines(row: PreflightRow) -> list[str]:
    verdict = _verdict(row).ljust(_VERDICT_WIDTH)
    if row.successor is None:
        lines = [f"  {verdict} no successor"]
    else:
        lines = [
            f"  {verdict} {row.successor} "
            f"({_state_words(row.successor_state, row.successor_eol_at)})"
        ]
    lines += [f"{_INDENT}problem: {problem}" for problem in row.problems]
    if row.role == "chosen":
        lines.append(
            f"{_INDENT}offered: {_yes_no(row.offered)}; on demand: {_yes_no(row.on_demand)}; "
            f"streams: {_yes_no(row.streaming)}"
        )
        lines.append(f"{_INDENT}adaptations: {row.adaptations or 'none known'}")
    call = _call_words(row)
    if call is not None:
        lines.append(f"{_INDENT}{call}")
    lines += [f"{_INDENT}{note}" for note in row.notes]
    return lines


def _render(report: PreflightReport) -> str:
    at = f" as of {_day(report.at)}" if report.at is not None else ""
    if not report.rows:
        return f"Preflight{at}: no models in use to check.\n"
    groups: dict[tuple[str, str], list[PreflightRow]] = {}
    for row in report.rows:
        groups.setdefault((row.model_id, row.region), []).append(row)
    models = {model for model, _ in groups}
    regions = {region for _, region in groups}
    lines = [
        f"Preflight{at}: {len(models)} model{'s' * (len(models) != 1)} in use, "
        f"{len(regions)} region{'s' * (len(regions) != 1)}"
    ]
    for (model, region), rows in groups.items():
        first = rows[0]
        lines.append("")
        lines.append(f"{model} in {region}: {_state_words(first.state, first.eol_at)}")
        for row in rows:
            lines += _row_lines(row)
    lines.append("")
    bad = report.problems
    if not bad:
        lines.append(f"Ready: {len(report.rows)} of {len(report.rows)} checks passed.")
    else:
        count = sum(len(row.problems) for row in bad)
        lines.append(
            f"Not ready: {count} problem{'s' * (count != 1)} in {len(bad)} of "
            f"{len(report.rows)} checks."
        )
    return "\n".join(lines) + "\n"


# -- the control plane and the runtime, asked at most once per question -----------------------


@dataclass(frozen=True, slots=True)
class _Answer:
    """A control-plane answer: ``found`` is ``None`` when the call itself failed."""

    found: bool | None
    body: Mapping[str, Any] = field(default_factory=dict)
    error: str | None = None


@dataclass(slots=True)
class _Findings:
    """What the checks of one chosen successor found (filled in step by step)."""

    offered: bool | None = None
    on_demand: bool | None = None
    streaming: bool | None = None
    inference_types: tuple[str, ...] = ()
    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class _Call:
    """The outcome of one test call."""

    ok: bool
    error: str | None = None
    input_tokens: int | None = None
    output_tokens: int | None = None
    cost_usd: float | None = None


def _describe_error(exc: Exception) -> tuple[str, str]:
    """``(code, message)`` of a botocore error."""
    if isinstance(exc, ClientError):
        error = exc.response.get("Error", {})
        return str(error.get("Code") or "ClientError"), str(error.get("Message") or "")
    return exc.__class__.__name__, str(exc)


def _said(code: str, message: str) -> str:
    return f"{code}: {message}" if message else code


class _Bedrock:
    """Clients per service and region, and every answer, cached for one preflight run."""

    def __init__(self, session: Any) -> None:
        self._session = session
        self._clients: dict[tuple[str, str], Any] = {}
        self._answers: dict[tuple[str, str, str], _Answer] = {}

    def client(self, service: str, region: str) -> Any:
        key = (service, region)
        if key not in self._clients:
            if self._session is None:
                import boto3

                self._session = boto3.Session()
            self._clients[key] = self._session.client(service, region_name=region)
        return self._clients[key]

    def ask(self, operation: str, region: str, identifier: str) -> _Answer:
        key = (operation, region, identifier)
        if key not in self._answers:
            self._answers[key] = self._ask(operation, region, identifier)
        return self._answers[key]

    def _ask(self, operation: str, region: str, identifier: str) -> _Answer:
        logger.debug(
            "bedrock_lifecycle.preflight_control_plane",
            extra={
                "bedrock_lifecycle.operation": operation,
                "bedrock_lifecycle.region": region,
                "bedrock_lifecycle.model_id": identifier,
            },
        )
        try:
            client = self.client("bedrock", region)
            if operation == "GetFoundationModel":
                response = client.get_foundation_model(modelIdentifier=identifier)
                body = response.get("modelDetails") or {}
            else:
                body = client.get_inference_profile(inferenceProfileIdentifier=identifier)
        except (ClientError, BotoCoreError) as exc:
            code, message = _describe_error(exc)
            found = False if code in _NOT_HERE else None
            return _Answer(found, error=_said(code, message))
        return _Answer(True, body)


# -- checking --------------------------------------------------------------------------------


def _needs_successor(state: State, eol_at: datetime | None) -> bool:
    """Legacy, extended access, past end of life, or with an end-of-life date announced."""
    return state in (State.LEGACY, State.EXTENDED_ACCESS, State.EOL) or eol_at is not None


def _render_id(model_id: str, successor: str) -> str:
    """``successor`` in the form the caller wrote ``model_id`` (as a fallback rewrites it)."""
    try:
        return render_successor(parse_model_id(model_id), successor)
    except ValueError:
        return successor


class _Preflight:
    def __init__(
        self,
        policy: Policy,
        catalog: Catalog,
        session: Any,
        invoke: bool,
        prices: PriceBook,
    ) -> None:
        self.policy = policy
        self.catalog = catalog
        self.invoke = invoke
        self.at = catalog.now()
        self.book = Governor(catalog=catalog, policy=policy, ledger=None, prices=None).constraints()
        self.prices = prices
        self.bedrock = _Bedrock(session)
        self.calls: dict[tuple[str, str], _Call] = {}

    def rows_for(self, model_id: str, region: str) -> list[PreflightRow]:
        catalog = self.catalog
        base = catalog.base_model(model_id, region)
        entry = catalog.lookup(model_id, region)
        withdrawn = catalog.withdrawn(base, region) if base else None
        state = State.EOL if withdrawn else entry.state(self.at)
        walk = walk_successors(
            model_id,
            base,
            region,
            self.at,
            catalog=catalog,
            policy=self.policy,
            requested_entry=entry,
        )
        head = PreflightRow(
            model_id=model_id,
            region=region,
            state=state,
            role="none",
            base_model_id=base,
            eol_at=entry.eol_at,
        )
        rows = [self._refused(head, candidate) for candidate in walk.refused]
        chosen = walk.chosen
        if chosen is not None:
            rows.append(self._chosen(head, chosen))
        elif not rows:
            rows.append(self._no_successor(head, withdrawn))
        return rows

    # -- the three kinds of row -----------------------------------------------------------

    def _no_successor(self, head: PreflightRow, withdrawn: str | None) -> PreflightRow:
        if not _needs_successor(head.state, head.eol_at):
            if head.state is State.UNKNOWN:
                note = "no lifecycle data for it here, and no successor configured or recommended"
            else:
                note = "Active: no successor configured or recommended, none needed yet"
            return _with(head, notes=(note,))
        key = head.base_model_id or head.model_id
        why = (
            "Bedrock withdrew it here"
            if withdrawn
            else f"it is {_state_words(head.state, head.eol_at)}"
        )
        problem = (
            f"{why} and no successor is configured or recommended: add one, "
            f"Policy(successors={{{key!r}: '<model id>'}})"
        )
        return _with(head, problems=(problem,))

    def _refused(self, head: PreflightRow, candidate: Candidate) -> PreflightRow:
        return _with(
            head,
            role="refused",
            successor=_render_id(head.model_id, candidate.model_id),
            successor_base_model_id=candidate.base_id,
            successor_state=candidate.state,
            successor_eol_at=candidate.entry.eol_at,
            refused=candidate.refused,
            problems=(f"a fallback would skip it: {candidate.refused}",),
        )

    def _chosen(self, head: PreflightRow, candidate: Candidate) -> PreflightRow:
        found = _Findings()
        successor = _render_id(head.model_id, candidate.model_id)
        base = candidate.base_id
        if candidate.state in (State.LEGACY, State.EXTENDED_ACCESS):
            costs_more = ": it costs more" if candidate.state is State.EXTENDED_ACCESS else ""
            found.notes.append(f"the successor itself is {candidate.state.label} here{costs_more}")
        self._check_model(found, successor, base, head.region)
        self._check_form(found, successor, base, head.region)
        constraints = self.book.for_model(base or successor)
        adaptations = None if constraints.empty else constraints.describe()
        if adaptations and not self.policy.adapt_requests:
            found.notes.append(
                f"adapt_requests is off: requests go as written, and it refuses {adaptations}"
            )
        row = _with(
            head,
            role="chosen",
            successor=successor,
            successor_base_model_id=base,
            successor_state=candidate.state,
            successor_eol_at=candidate.entry.eol_at,
            offered=found.offered,
            on_demand=found.on_demand,
            streaming=found.streaming,
            adaptations=adaptations,
        )
        if self.invoke:
            call = self._call(successor, base, head.region, candidate.state, constraints)
            row = _with(
                row,
                invoke_ok=call.ok,
                invoke_error=call.error,
                input_tokens=call.input_tokens,
                output_tokens=call.output_tokens,
                cost_usd=call.cost_usd,
            )
            if not call.ok:
                found.problems.append(f"the test call failed: {call.error}")
        return _with(row, problems=tuple(found.problems), notes=tuple(found.notes))

    def _check_model(self, found: _Findings, successor: str, base: str | None, region: str) -> None:
        """The foundation model: offered in ``region``, on demand, streaming."""
        if base is None:
            found.problems.append(f"cannot tell which foundation model {successor} is")
            return
        answer = self.bedrock.ask("GetFoundationModel", region, base)
        if answer.found is None:
            found.problems.append(f"GetFoundationModel {base} in {region} failed: {answer.error}")
            return
        if not answer.found:
            found.offered = False
            found.problems.append(f"{base} is not offered in {region} ({answer.error})")
            return
        found.offered = True
        found.inference_types = tuple(
            str(kind) for kind in answer.body.get("inferenceTypesSupported") or ()
        )
        found.on_demand = "ON_DEMAND" in found.inference_types
        flag = answer.body.get("responseStreamingSupported")
        found.streaming = flag if isinstance(flag, bool) else None
        if found.streaming is False:
            found.notes.append(
                "does not stream: ConverseStream and InvokeModelWithResponseStream calls to it fail"
            )

    def _check_form(self, found: _Findings, successor: str, base: str | None, region: str) -> None:
        """The id the application would send: a profile that exists here, or on-demand calls."""
        ref = parse_model_id(successor)
        if ref.form in _PROFILE_FORMS:
            profile = ref.profile_id or successor
            answer = self.bedrock.ask("GetInferenceProfile", region, profile)
            if answer.found is None:
                found.problems.append(
                    f"GetInferenceProfile {profile} in {region} failed: {answer.error}"
                )
            elif not answer.found:
                found.offered = False
                found.problems.append(f"inference profile {profile} is not offered in {region}")
            elif base is not None and not _routes_to(answer.body, base):
                found.problems.append(f"inference profile {profile} does not route to {base}")
        elif ref.form not in _ON_DEMAND_FORMS:
            found.notes.append(
                f"called as a {ref.form.value}: only the foundation model was checked"
            )
        elif found.on_demand is False:
            sold = (
                "is sold only through inference profiles"
                if "INFERENCE_PROFILE" in found.inference_types
                else "takes no on-demand calls"
            )
            called = "base id" if ref.form is IdForm.BASE else "foundation-model ARN"
            found.problems.append(
                f"{base} {sold}: a call by {called} fails; call it through an inference "
                f"profile (<geo>.{base})"
            )

    # -- the test call --------------------------------------------------------------------

    def _call(
        self,
        successor: str,
        base: str | None,
        region: str,
        state: State,
        constraints: ModelConstraints,
    ) -> _Call:
        """One tiny Converse call to ``successor`` in ``region`` (made once per run)."""
        key = (successor, region)
        if key not in self.calls:
            self.calls[key] = self._converse(successor, base, region, state, constraints)
        return self.calls[key]

    def _converse(
        self,
        successor: str,
        base: str | None,
        region: str,
        state: State,
        constraints: ModelConstraints,
    ) -> _Call:
        params: Mapping[str, Any] = {
            "modelId": successor,
            "messages": [{"role": "user", "content": [{"text": _PROBE_TEXT}]}],
            "inferenceConfig": {"maxTokens": _PROBE_MAX_TOKENS},
        }
        params, _changes = adapt_request("Converse", params, constraints)
        logger.debug(
            "bedrock_lifecycle.preflight_invoke",
            extra={"bedrock_lifecycle.model_id": successor, "bedrock_lifecycle.region": region},
        )
        try:
            response = self.bedrock.client("bedrock-runtime", region).converse(**params)
        except (ClientError, BotoCoreError) as exc:
            return _Call(False, _said(*_describe_error(exc)))
        usage = usage_from_converse(response)
        price = self.prices.price_for(base or successor, region)
        cost, _standard, _premium = compute_cost(
            price,
            extended_access=state is State.EXTENDED_ACCESS,
            input_tokens=usage.input_tokens,
            output_tokens=usage.output_tokens,
            cache_read=usage.cache_read_input_tokens,
            cache_write=usage.cache_write_input_tokens,
        )
        return _Call(True, None, usage.input_tokens, usage.output_tokens, cost)


def _routes_to(profile: Mapping[str, Any], base: str) -> bool:
    """Whether an inference profile's ``models`` include ``base`` (or list none at all)."""
    arns = [m.get("modelArn") for m in profile.get("models") or () if isinstance(m, Mapping)]
    named = [arn for arn in arns if isinstance(arn, str)]
    return not named or any(arn.rsplit("/", 1)[-1] == base for arn in named)


def _with(row: PreflightRow, **changes: Any) -> PreflightRow:
    return replace(row, **changes)


# -- the entry point -------------------------------------------------------------------------


def _as_names(value: Any, what: str) -> tuple[str, ...]:
    items = (value,) if isinstance(value, str) else tuple(value)
    for item in items:
        if not isinstance(item, str) or not item.strip():
            raise ConfigurationError(f"{what} must be non-empty strings, not {item!r}")
    return tuple(dict.fromkeys(items))


def preflight(
    policy: Policy | None = None,
    *,
    regions: Iterable[str],
    models: Iterable[str] | None = None,
    catalog: Catalog | None = None,
    session: Any = None,
    invoke: bool = False,
    prices: PriceBook | Mapping[Any, Any] | str | os.PathLike[str] | None = None,
) -> PreflightReport:
    """Check, per region, that the successor each model in use would fall back to is ready.

    ``models`` are model ids as the application calls them (any form); by default those the
    catalog has seen called (:meth:`Catalog.used_models`), each in the regions it was used in
    among ``regions``. ``policy`` defaults to ``Policy()``; ``catalog`` to the process-wide one
    (or, when ``session`` is given, a catalog on that session). ``session`` (a boto3 session,
    default ``boto3.Session()``) makes the ``bedrock`` control-plane clients, and with
    ``invoke=True`` the ``bedrock-runtime`` clients for one tiny Converse call per successor and
    region, priced from ``prices`` (as :func:`wrap` takes it: a :class:`PriceBook`, or a mapping
    or a price-book file over the bundled prices; default the bundled book). Control-plane and
    runtime errors are reported on the rows, never raised.
    """
    wanted = _as_names(regions, "regions")
    if not wanted:
        raise ConfigurationError("preflight needs at least one region")
    named = None if models is None else _as_names(models, "models")
    chosen_policy = policy if policy is not None else Policy()
    own_catalog = catalog is None and session is not None
    if catalog is None:
        catalog = (
            default_catalog()
            if session is None
            else Catalog(session=session, region_name=wanted[0])
        )
    try:
        if named is None:
            targets = sorted(
                {
                    (model, region)
                    for model, used_in, _last in catalog.used_models()
                    for region in ((used_in,) if used_in else wanted)
                    if region in wanted
                },
                key=lambda target: (target[0], wanted.index(target[1])),
            )
        else:
            targets = [(model, region) for model in named for region in wanted]
        run = _Preflight(chosen_policy, catalog, session, bool(invoke), price_book(prices))
        rows = [row for model, region in targets for row in run.rows_for(model, region)]
        return PreflightReport(rows=tuple(rows), at=run.at, invoked=bool(invoke))
    finally:
        if own_catalog:
            catalog.close()
