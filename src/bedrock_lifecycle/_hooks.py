"""Install-once governance through botocore's event system.

``install()`` registers two handlers on a boto3 session's event emitter; every
``bedrock-runtime`` client the session creates afterwards copies them, including clients built
inside third-party libraries:

- ``provide-client-params.bedrock-runtime.<Operation>`` runs before validation and
  serialization: it looks the model up, warns, rewrites ``modelId`` to a successor or raises.
- ``after-call.bedrock-runtime.<Operation>`` sees the parsed response: it adds
  ``ResponseMetadata["BedrockLifecycle"]``, records usage (wrapping streams), and notes
  lifecycle errors in the catalog so that the *next* call goes to the successor.

An ``after-call`` handler cannot send the request again, so the immediate retry on a successor
after a lifecycle error (reactive fallback) needs :func:`bedrock_lifecycle.wrap`.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterable, Mapping
from typing import Any, NamedTuple

from ._budget import Budget
from ._catalog import Catalog, default_catalog
from ._decision import Decision
from ._governor import Governor, make_governor
from ._plan import CallPlan
from ._policy import Policy
from ._pricing import PriceBook
from ._shadow import Shadow
from .ledger import Ledger

__all__ = ["install", "installed_governor", "uninstall"]

_PARAMS_EVENT = "provide-client-params.bedrock-runtime"
_AFTER_EVENT = "after-call.bedrock-runtime"
_PARAMS_ID = "bedrock-lifecycle-provide-client-params"
_AFTER_ID = "bedrock-lifecycle-after-call"
_PLAN_KEY = "bedrock_lifecycle_plan"

_lock = threading.Lock()
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

    def __init__(self, governor: Governor, shadow: Shadow | None, session: Any) -> None:
        self.governor = governor
        self.shadow = shadow
        self._session = session
        self._clients: dict[str | None, Any] = {}
        self._clients_lock = threading.Lock()

    def ungoverned_client(self, region: str | None) -> Any:
        """A client of the session without these handlers: what shadows are sent with (a
        shadow is not governed, recorded in the usage ledger or mirrored again)."""
        with self._clients_lock:
            found = self._clients.get(region)
            if found is None:
                make = getattr(self._session, "client", None) or self._session.create_client
                found = make("bedrock-runtime", region_name=region)
                events = found.meta.events
                events.unregister(_PARAMS_EVENT, unique_id=_PARAMS_ID)
                events.unregister(_AFTER_EVENT, unique_id=_AFTER_ID)
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
        else:
            plan = self.governor.plan(operation, params, region)
            if plan is None:
                return None
            context[_PLAN_KEY] = plan
            sent = plan.params
        if sent is params:
            return None  # unchanged: botocore keeps its own dict
        return dict(sent)

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


def _session_or_default(session: Any) -> Any:
    if session is not None:
        return session
    import boto3

    if boto3.DEFAULT_SESSION is None:
        boto3.setup_default_session()
    return boto3.DEFAULT_SESSION


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
    """Govern every ``bedrock-runtime`` client ``session`` creates from now on.

    ``session`` is a ``boto3.session.Session`` or a botocore session (default: boto3's default
    session, the one ``boto3.client()`` uses). Installing again replaces the earlier settings.
    Clients created before the call are not affected (wrap them with
    :func:`bedrock_lifecycle.wrap`). Returns the governor, whose ``catalog`` and ``ledger`` can be
    inspected. ``shadow`` mirrors a sample of calls to their successor (see :class:`Shadow`),
    with clients of the same session that these handlers leave alone. ``budgets`` are charged
    with the calls they cover (see :class:`Budget`).
    """
    if shadow is not None and not isinstance(shadow, Shadow):
        raise TypeError(f"shadow must be a Shadow, not {type(shadow).__name__}")
    target = _session_or_default(session)
    governor = make_governor(
        catalog=catalog if catalog is not None else default_catalog(),
        policy=policy,
        ledger=ledger,
        prices=prices,
        budgets=budgets,
    )
    handlers = _Handlers(governor, shadow, target)
    events = target.events
    with _lock:
        events.unregister(_PARAMS_EVENT, unique_id=_PARAMS_ID)
        events.unregister(_AFTER_EVENT, unique_id=_AFTER_ID)
        events.register(_PARAMS_EVENT, handlers.before, unique_id=_PARAMS_ID)
        events.register(_AFTER_EVENT, handlers.after, unique_id=_AFTER_ID)
        _installed[id(target)] = (target, governor)
    return governor


def uninstall(session: Any = None) -> None:
    """Stop governing clients ``session`` creates from now on (harmless if not installed).

    Clients already created keep the handlers they copied at creation.
    """
    target = _session_or_default(session)
    events = target.events
    with _lock:
        events.unregister(_PARAMS_EVENT, unique_id=_PARAMS_ID)
        events.unregister(_AFTER_EVENT, unique_id=_AFTER_ID)
        _installed.pop(id(target), None)


def installed_governor(session: Any = None) -> Governor | None:
    """The governor :func:`install` put on ``session``, if any."""
    target = _session_or_default(session)
    with _lock:
        found = _installed.get(id(target))
    return found[1] if found else None
