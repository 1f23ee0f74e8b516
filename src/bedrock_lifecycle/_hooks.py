"""Install-once governance through botocore's event system.

Two handlers do the work on each governed ``bedrock-runtime`` client:

- ``provide-client-params.bedrock-runtime.<Operation>`` runs before validation and
  serialization: it looks the model up, warns, rewrites ``modelId`` to a successor or raises.
- ``after-call.bedrock-runtime.<Operation>`` sees the parsed response: it adds
  ``ResponseMetadata["BedrockLifecycle"]``, records usage (wrapping streams), and notes
  lifecycle errors in the catalog so that the *next* call goes to the successor.

They reach clients in one of two ways, both at the moment a client is created (a client copies
its session's emitter then; existing clients are never changed):

- ``install(session)`` registers them on that session's emitter, so every client the session
  creates afterwards copies them.
- ``install()`` (no session) governs the whole process: it wraps
  ``botocore.session.Session.create_client`` (every boto3 and botocore session's client factory,
  sessions made before the call included) with a plain function that, for ``bedrock-runtime``
  clients only, registers the handlers on the new client's ``meta.events``. Other clients pay
  one attribute check when created and nothing per call (unlike wrapping
  ``BaseClient._make_api_call``, as OpenTelemetry's botocore instrumentation does, which costs
  every call of every service). ``uninstall()`` puts botocore's function back.

Both forms register under the same ``unique_id``\\ s, and botocore ignores a second
registration under an id an emitter already holds: a client of a session with its own install
keeps that session's handlers, and never gets two sets.

An ``after-call`` handler cannot send the request again, so the immediate retry on a successor
after a lifecycle error (reactive fallback) needs :func:`bedrock_lifecycle.wrap`.
"""

from __future__ import annotations

import functools
import os
import threading
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, NamedTuple

import botocore.session

from ._catalog import Catalog, default_catalog
from ._decision import Decision
from ._governor import Governor, make_governor
from ._plan import CallPlan
from ._policy import Policy
from ._pricing import PriceBook
from .ledger import Ledger

if TYPE_CHECKING:
    from ._budget import Budget
    from ._shadow import Shadow

__all__ = ["install", "installed_governor", "uninstall"]

_SERVICE = "bedrock-runtime"
_PARAMS_EVENT = "provide-client-params.bedrock-runtime"
_AFTER_EVENT = "after-call.bedrock-runtime"
_PARAMS_ID = "bedrock-lifecycle-provide-client-params"
_AFTER_ID = "bedrock-lifecycle-after-call"
_PLAN_KEY = "bedrock_lifecycle_plan"
_FACTORY = "create_client"  # the botocore.session.Session method the process-wide form wraps

MakeClient = Callable[[str | None], Any]
"""Makes a ``bedrock-runtime`` client for a region (``None``: the default region)."""

_lock = threading.Lock()
# Per-session installs, by id of the session object given (kept alive here).
_installed: dict[int, tuple[Any, Governor]] = {}


class _Reused(NamedTuple):
    """A call covered by a reused decision, between the two handlers."""

    decision: Decision
    now: float
    sent: Mapping[str, Any]
    params: Mapping[str, Any]
    adapted: tuple[str, ...]


class _Handlers:
    """The two handlers, bound to one governor (and the shadow traffic, if any)."""

    def __init__(self, governor: Governor, shadow: Shadow | None, make_client: MakeClient) -> None:
        self.governor = governor
        self.shadow = shadow
        self._make_client = make_client
        self._clients: dict[str | None, Any] = {}
        self._clients_lock = threading.Lock()

    def ungoverned_client(self, region: str | None) -> Any:
        """A client without these handlers: what shadows are sent with (a shadow is not
        governed, recorded in the usage ledger or mirrored again)."""
        with self._clients_lock:
            found = self._clients.get(region)
            if found is None:
                found = self._make_client(region)
                _unregister(found.meta.events)
                self._clients[region] = found
            return found

    def before(
        self, params: dict[str, Any], model: Any, context: dict[str, Any], **_: Any
    ) -> dict[str, Any] | None:
        operation = model.name
        region = context.get("client_region")
        model_id = params.get("modelId")
        reused = None
        if type(model_id) is str:
            reused = self.governor.reuse(operation, model_id, region)
        if reused is not None:
            decision, now = reused
            sent, adapted = decision.prepare(params)
            context[_PLAN_KEY] = _Reused(decision, now, sent, params, adapted)
            if sent is params:
                return None  # unchanged: botocore keeps its own dict
            # A rewrite makes a new dict for each call: botocore may have it as it is.
            return sent  # type: ignore[return-value]
        plan = self.governor.plan(operation, params, region)
        if plan is None:
            return None
        context[_PLAN_KEY] = plan
        if plan.params is params:
            return None
        return dict(plan.params)  # the plan keeps its own (a kept decision is made from it)

    def after(
        self, http_response: Any, parsed: dict[str, Any], context: dict[str, Any], **_: Any
    ) -> None:
        found: CallPlan | _Reused | None = context.get(_PLAN_KEY)
        if found is None:
            return
        status = getattr(http_response, "status_code", 200)
        if isinstance(found, _Reused):
            if status < 300:
                found.decision.finish(parsed, found.now, None, found.adapted)
                if self.shadow is not None:
                    self._offer(found.decision.kind, found.params, parsed, context)
                return
            plan = found.decision.plan_for(found.sent, found.params, found.now, found.adapted)
        else:
            plan = found
            if status < 300:
                self.governor.finish(plan, parsed)
                if self.shadow is not None:
                    self._offer(
                        plan.operation, plan.requested_params or plan.params, parsed, context
                    )
                return
        error = parsed.get("Error", {}) if isinstance(parsed, Mapping) else {}
        code, message = error.get("Code"), error.get("Message")
        # A lifecycle error sends the next call to the successor; a refused parameter is
        # learned, and the next call adapts before sending (a handler cannot resend).
        self.governor.observe_error(plan, code, message)

    def _offer(
        self,
        operation: str,
        params: Mapping[str, Any],
        parsed: dict[str, Any],
        context: Mapping[str, Any],
    ) -> None:
        shadow = self.shadow
        assert shadow is not None
        region = context.get("client_region")
        shadow.offer(self.governor, self.ungoverned_client, operation, region, params, parsed)


def _register(events: Any, handlers: _Handlers) -> None:
    """Register ``handlers`` on ``events``; a no-op where an emitter already holds the ids."""
    events.register(_PARAMS_EVENT, handlers.before, unique_id=_PARAMS_ID)
    events.register(_AFTER_EVENT, handlers.after, unique_id=_AFTER_ID)


def _unregister(events: Any) -> None:
    events.unregister(_PARAMS_EVENT, unique_id=_PARAMS_ID)
    events.unregister(_AFTER_EVENT, unique_id=_AFTER_ID)


# -- the process-wide form ------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _ProcessWide:
    """What ``install()`` without a session governs new clients with."""

    governor: Governor
    shadow: Shadow | None
    handlers: _Handlers  # shared by every client when there is no shadow


@dataclass(frozen=True, slots=True)
class _Patch:
    """Our wrapper of ``botocore.session.Session.create_client`` and what it replaced."""

    wrapper: Callable[..., Any]
    replaced: Any  # the class's own attribute before the patch; None if it inherited one


# Read without the lock by the wrapper (one reference read); written under ``_lock``.
_everywhere: _ProcessWide | None = None
_patch: _Patch | None = None


def _govern_new_client(
    client: Any, create: Callable[..., Any], session: Any, args: Any, kwargs: Any
) -> None:
    found = _everywhere
    if found is None or client.meta.service_model.service_name != _SERVICE:
        return
    handlers = found.handlers
    if found.shadow is not None:
        # Shadows of this client's calls go out through a twin made with the same session and
        # arguments (credentials, endpoint, config), not through some other session.
        def twin(_: str | None) -> Any:
            return create(session, *args, **kwargs)

        handlers = _Handlers(found.governor, found.shadow, twin)
    _register(client.meta.events, handlers)


def _patch_create_client() -> None:
    """Wrap ``Session.create_client`` once (under ``_lock``)."""
    global _patch
    if _patch is not None:
        return  # already in the chain (perhaps under another wrapper: see below)
    cls = botocore.session.Session
    replaced = vars(cls).get(_FACTORY)
    create: Callable[..., Any] = cls.create_client

    @functools.wraps(create)
    def create_client(self: Any, *args: Any, **kwargs: Any) -> Any:
        client = create(self, *args, **kwargs)
        _govern_new_client(client, create, self, args, kwargs)
        return client

    setattr(cls, _FACTORY, create_client)
    _patch = _Patch(create_client, replaced)


def _unpatch_create_client() -> None:
    """Put botocore's function back (under ``_lock``). If another library has wrapped ours
    since, taking ours out would drop theirs: ours stays in the chain, inert."""
    global _patch
    patch = _patch
    cls = botocore.session.Session
    if patch is None or vars(cls).get(_FACTORY) is not patch.wrapper:
        return
    if patch.replaced is None:
        delattr(cls, _FACTORY)
    else:
        setattr(cls, _FACTORY, patch.replaced)
    _patch = None


def _no_session_client(_: str | None) -> Any:
    raise AssertionError("a process-wide install with a shadow makes a twin per client")


# -- public functions -----------------------------------------------------------------------


def _default_session() -> Any:
    import boto3

    if boto3.DEFAULT_SESSION is None:
        boto3.setup_default_session()
    return boto3.DEFAULT_SESSION


def _events_of(session: Any) -> Any:
    """A boto3 session's ``events``, or a botocore session's emitter."""
    events = getattr(session, "events", None)
    return events if events is not None else session.get_component("event_emitter")


def install(
    session: Any = None,
    *,
    policy: Policy | None = None,
    catalog: Catalog | None = None,
    ledger: Ledger | None = None,
    prices: PriceBook | Mapping[Any, Any] | str | os.PathLike[str] | None = None,
    shadow: Shadow | None = None,
    budgets: Iterable[Budget] | None = None,
) -> Governor:
    """Govern every ``bedrock-runtime`` client created from now on.

    Without ``session``: every such client the process creates, whichever boto3 or botocore
    session creates it (boto3's default session, a ``boto3.Session(...)`` made before or after
    this call, or one a library such as LangChain or Strands makes for itself). With
    ``session`` (a ``boto3.session.Session`` or a botocore session): only the clients that
    session creates; a session's own install takes precedence over the process-wide one for
    its clients. Installing again in the same form replaces the earlier settings.

    Clients created before the call are not affected (wrap them with
    :func:`bedrock_lifecycle.wrap`). Returns the governor, whose ``catalog`` and ``ledger`` can be
    inspected. ``shadow`` mirrors a sample of calls to their successor (see :class:`Shadow`),
    with ungoverned clients of the same session. ``budgets`` are charged with the calls they
    cover (see :class:`Budget`).
    """
    global _everywhere
    if shadow is not None:
        from ._shadow import require_shadow

        require_shadow(shadow)
    governor = make_governor(
        catalog=catalog if catalog is not None else default_catalog(),
        policy=policy,
        ledger=ledger,
        prices=prices,
        budgets=budgets,
    )
    if session is None:
        with _lock:
            _everywhere = _ProcessWide(
                governor, shadow, _Handlers(governor, shadow, _no_session_client)
            )
            _patch_create_client()
        return governor
    make = getattr(session, "client", None) or session.create_client

    def client_of_session(region: str | None) -> Any:
        return make(_SERVICE, region_name=region)

    handlers = _Handlers(governor, shadow, client_of_session)
    events = _events_of(session)
    with _lock:
        _unregister(events)
        _register(events, handlers)
        _installed[id(session)] = (session, governor)
    return governor


def uninstall(session: Any = None) -> None:
    """Undo :func:`install` in the same form (harmless if not installed).

    Without ``session``: the process-wide install; botocore's ``Session.create_client`` is
    restored and clients created afterwards are not governed (except by a session's own
    install). With ``session``: that session's install. Clients already created keep the
    handlers they were given at creation.
    """
    global _everywhere
    if session is None:
        with _lock:
            _everywhere = None
            _unpatch_create_client()
        return
    events = _events_of(session)
    with _lock:
        _unregister(events)
        _installed.pop(id(session), None)


def installed_governor(session: Any = None) -> Governor | None:
    """The governor that governs the ``bedrock-runtime`` clients ``session`` creates from now
    on (default: boto3's default session): its own :func:`install`, else the process-wide one;
    ``None`` if neither."""
    target = session if session is not None else _default_session()
    with _lock:
        found = _installed.get(id(target))
        everywhere = _everywhere
    if found is not None:
        return found[1]
    return everywhere.governor if everywhere is not None else None
