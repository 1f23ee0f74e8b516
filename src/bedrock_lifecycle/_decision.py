"""Reused decisions: what the governor decided for one (operation, model id, region), kept so
that the calls after the first pay microseconds, whatever the decision was.

A :class:`Decision` covers a pass-through (Active or unknown model), a warned call (Legacy or
extended access, after its one warning) and a fallback (the call rewritten for a successor by a
:class:`Rewrite`, adapted to what the successor accepts). Both faces (the wrapper and the
botocore hooks) find one through :meth:`Governor.reuse`, the one validity check, and use the
same three steps: :meth:`Decision.prepare` the parameters, send, :meth:`Decision.finish`.

The invariants of a reused decision (see docs/internals.md):

- it is valid while the catalog's clock is below ``until_ts``: the earliest of the next dated
  transition of every model the decision looked at, the end of the region's freshness, and, for
  a Legacy model, the day the idle guard could next have something to say;
- and while the catalog's ``generation`` and the governor's configuration are the ones it was
  made with (new data, a Bedrock lifecycle error, a replaced policy, ledger or prices);
- a fallback re-reads its successor's constraints when the constraint book's ``version``
  changes (something was learned), and announces each new kind of adaptation once;
- only decisions whose warnings are said once (``warn_once``) are kept: a policy that warns on
  every call plans every call.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, MutableMapping
from datetime import datetime, timezone
from typing import Any

from ._catalog import Catalog
from ._constraints import Adaptation, Adapter, ConstraintBook
from ._lifecycle import ModelLifecycle
from ._operations import OPERATIONS
from ._plan import CallPlan
from ._streams import Head, LiveStream, Restart
from ._usage import RecordTemplate, converse_figures, invoke_header_figures
from .ledger import PendingSink

__all__ = ["Decision", "Rewrite", "body_bytes", "finish_response"]

logger = logging.getLogger("bedrock_lifecycle")

_NO_HEAD: Head = (None, None, None)

Announce = Callable[[CallPlan, ModelLifecycle, tuple[Adaptation, ...]], None]
_NO_ADAPTATIONS: tuple[Adaptation, ...] = ()


def body_bytes(body: Any) -> bytes:
    """A request body (bytes, str or a file-like object) as bytes."""
    if isinstance(body, bytes):
        return body
    if isinstance(body, bytearray):
        return bytes(body)
    if isinstance(body, str):
        return body.encode("utf-8")
    read: Callable[[], Any] | None = getattr(body, "read", None)
    if read is not None:
        data = read()
        return data.encode("utf-8") if isinstance(data, str) else bytes(data)
    raise TypeError(f"cannot translate a request body of type {type(body).__name__}")


class Rewrite:
    """How a call's parameters become the successor's: its model id (in the caller's form),
    the body translator (if the policy has one for the pair) and the adaptation to what the
    successor accepts. The caller's mapping is never changed: a new dict is returned.
    """

    __slots__ = ("adapter", "book", "model_id", "operation", "target", "translator", "version")

    def __init__(
        self,
        operation: str,
        model_id: str,
        target: str,
        translator: Callable[[bytes], bytes] | None,
        book: ConstraintBook | None,
    ) -> None:
        self.operation = operation
        self.model_id = model_id
        self.target = target
        """The successor's base id (or its id as written): what its constraints are found by."""
        self.translator = translator
        self.book = book
        """``None`` when the policy does not adapt requests."""
        self.version = -1
        self.adapter: Adapter | None = None

    def apply(self, params: Mapping[str, Any]) -> tuple[Mapping[str, Any], tuple[Adaptation, ...]]:
        """The parameters to send, and every adaptation made to them."""
        rewritten = dict(params)
        rewritten["modelId"] = self.model_id
        translator = self.translator
        if translator is not None:
            if self.operation == "CountTokens":
                outer = rewritten["input"]
                inner = dict(outer["invokeModel"])
                inner["body"] = translator(body_bytes(inner.get("body")))
                rewritten["input"] = {**outer, "invokeModel": inner}
            elif "body" in rewritten:
                rewritten["body"] = translator(body_bytes(rewritten["body"]))
        book = self.book
        if book is None:
            return rewritten, _NO_ADAPTATIONS
        adapter = self.adapter
        if adapter is None or self.version != book.version:
            # Read before the lookup: a lesson learned meanwhile is picked up next call.
            self.version = book.version
            self.adapter = adapter = Adapter(book.for_model(self.target))
        return adapter.adapt(self.operation, rewritten, owned=True)


class Decision:
    """A decision kept for reuse, with everything the calls it covers need precomputed: the
    call plan, the response metadata block, the last-use key and the usage record template.

    Times on this path stay floats (POSIX seconds, :attr:`Catalog.timestamp`): usage records get
    their datetime when a ledger builds them, and the catalog's last-use time is written at most
    once a second per decision.
    """

    __slots__ = (
        "announce",
        "catalog",
        "config",
        "entry",
        "generation",
        "kind",
        "metadata",
        "plan",
        "rewrite",
        "seen",
        "sink",
        "stream_key",
        "template",
        "touched",
        "until_ts",
        "used_key",
        "warned",
    )

    def __init__(
        self,
        plan: CallPlan,
        until: datetime,
        generation: int,
        config: int,
        *,
        catalog: Catalog,
        entry: ModelLifecycle,
        sink: PendingSink | None,
        template: RecordTemplate | None,
        announce: Announce,
        rewrite: Rewrite | None = None,
    ) -> None:
        self.catalog = catalog
        self.announce = announce
        """Says that a call went to the successor adapted in a new way (a FallbackWarning)."""
        self.entry = entry
        """The requested model's lifecycle (a fallback's warning quotes its dates)."""
        self.plan = plan._replace(params={}, requested_params=None, at=None)
        self.until_ts = until.timestamp() if until.year < 9999 else float("inf")
        self.generation = generation
        self.config = config
        self.rewrite = rewrite
        self.warned: set[tuple[str, ...]] = {plan.adapted}
        self.seen: tuple[tuple[Adaptation, ...] | None, tuple[str, ...]] = (None, ())
        """The kinds of adaptation already announced (the first call's, by the planner)."""
        metadata = plan.metadata()
        del metadata["adapted"]
        self.metadata = metadata
        self.kind = plan.operation
        facts = OPERATIONS[plan.operation]
        self.stream_key = facts.stream_key
        self.used_key = plan.invoked_base
        self.touched = -1.0  # seconds of the last write of the last-use time (none yet)
        # Only calls billed per token are recorded; a template without a sink is never used.
        recorded = facts.recorded and sink is not None
        self.sink = sink if recorded else None
        self.template = template if recorded else None

    def valid(self, now: float, generation: int, config: int) -> bool:
        """Whether this decision still holds at ``now`` for that catalog and configuration."""
        return now < self.until_ts and generation == self.generation and config == self.config

    def prepare(self, params: Mapping[str, Any]) -> tuple[Mapping[str, Any], tuple[str, ...]]:
        """The parameters to send for a call given ``params``, and the paths adapted."""
        rewrite = self.rewrite
        if rewrite is None:
            return params, ()
        sent, changes = rewrite.apply(params)
        seen_changes, adapted = self.seen
        if changes is not seen_changes:  # the adapter hands back one tuple per request shape
            adapted = tuple([change.path for change in changes]) if changes else ()
            if adapted not in self.warned:
                # A call adapted in a new way is named again (the governor's warn-once applies).
                self.warned.add(adapted)
                self.announce(self.plan._replace(adapted=adapted), self.entry, changes)
            self.seen = (changes, adapted)  # one assignment: threads see a matching pair
        return sent, adapted

    def plan_for(
        self,
        sent: Mapping[str, Any],
        params: Mapping[str, Any],
        ts: float,
        adapted: tuple[str, ...] = (),
    ) -> CallPlan:
        """The full plan of one call this decision covers, made at ``ts`` (an error path)."""
        at = datetime.fromtimestamp(ts, timezone.utc)
        return self.plan._replace(params=sent, requested_params=params, at=at, adapted=adapted)

    def _touch(self, base: str, ts: float) -> None:
        """Note the call for the idle guard (at most once a second: see :meth:`finish`)."""
        self.catalog.note_success(base, self.plan.region, datetime.fromtimestamp(ts, timezone.utc))
        self.touched = ts

    def finish(
        self,
        response: MutableMapping[str, Any],
        now: float,
        restart: Restart | None = None,
        adapted: tuple[str, ...] = (),
    ) -> None:
        """What :meth:`Governor.finish` does, for a call this decision covers, made at ``now``.

        One function on purpose (it runs on every such call): last use, the response metadata
        block, then the usage record, or for a stream, the stream wrapped in place.
        """
        used = self.used_key
        if used is not None:
            since = now - self.touched
            if since >= 1.0 or since < 0.0:  # a second later (or the clock went back)
                self._touch(used, now)
        block = self.metadata.copy()
        block["adapted"] = list(adapted)
        finish_response(
            response, block, self.kind, self.stream_key, self.sink, self.template, now, restart
        )


def finish_response(
    response: MutableMapping[str, Any],
    block: dict[str, Any],
    kind: str,
    stream_key: str | None,
    sink: PendingSink | None,
    template: RecordTemplate | None,
    when: datetime | float,
    restart: Restart | None,
) -> None:
    """Finish one governed call's response, whoever planned it: the metadata ``block`` as
    ``ResponseMetadata["BedrockLifecycle"]``, then the usage record (a pending record handed to
    ``sink``), or for a stream, the stream wrapped in place to record when it ends.

    One function on purpose: it runs on every call, and both the planner and reused decisions
    finish through it. ``sink`` is ``None`` when nothing is recorded.
    """
    metadata: Any = response.get("ResponseMetadata")
    plain = type(metadata) is dict
    if plain or isinstance(metadata, MutableMapping):
        metadata["BedrockLifecycle"] = block
    readable = plain or isinstance(metadata, Mapping)
    if stream_key is not None:
        inner = response.get(stream_key)
        if inner is not None:
            head: Head = _NO_HEAD
            if sink is not None:
                head = (template, when, metadata.get("RequestId") if readable else None)
            response[stream_key] = LiveStream(inner, kind, sink, head, restart)
        return
    if sink is None:
        return
    try:
        if kind == "Converse":
            figures = converse_figures(response)
        else:  # InvokeModel
            figures = invoke_header_figures(metadata.get("HTTPHeaders") if readable else None)
        request_id = metadata.get("RequestId") if readable else None
        sink(template.pending(when, figures, request_id))  # type: ignore[union-attr]
    except Exception:  # recording must never break the caller's call
        logger.exception("bedrock_lifecycle.record_failed")
