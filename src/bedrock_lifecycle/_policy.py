"""What to do with a call to an ageing model: the :class:`Policy`.

A policy is plain data. It says which action to take in each lifecycle state, which model replaces
which (``successors``), and how InvokeModel request bodies may be carried from one model to another
(``translators``). It knows nothing about boto3, the catalog or the client: the client asks it
questions (:meth:`Policy.action_for`, :meth:`Policy.successor_chain`,
:meth:`Policy.compatible_bodies`) and acts on the answers.

Policies are validated when they are built; a bad value raises
:class:`~bedrock_lifecycle.ConfigurationError` naming the setting (and the file, when it came from
one). They can be loaded from TOML or JSON files, from ``[tool.bedrock-lifecycle]`` in
``pyproject.toml``, and from a source a fleet shares (S3 or a file), which is then followed as it
changes (:meth:`Policy.from_source`, see :mod:`._shared_policy`).
"""

from __future__ import annotations

import enum
import functools
import logging
import os
import re
import types
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, fields
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from ._config_files import load_mapping_file, locate_pyproject_section
from ._constraints import ModelConstraints, check_constraint_entries
from ._errors import ConfigurationError
from ._lifecycle import State

if TYPE_CHECKING:
    from ._shared_policy import SharedPolicy

__all__ = [
    "BODY_FAMILIES",
    "POLICY_ENV",
    "Action",
    "BodyTranslator",
    "Policy",
    "body_family",
]

logger = logging.getLogger(__name__)

BodyTranslator = Callable[[bytes], bytes]
"""Turns an InvokeModel request body written for one model into one another model accepts."""


class Action(str, enum.Enum):
    """What the client does with a call, by the state of the model it names."""

    WARN = "warn"
    """Let the call through and emit a warning (``LegacyModelWarning`` and subclasses)."""
    FALLBACK = "fallback"
    """Send the call to the successor instead, with a ``FallbackWarning``."""
    ERROR = "error"
    """Refuse the call with an exception before it reaches Bedrock."""
    IGNORE = "ignore"
    """Let the call through untouched and say nothing. Also the answer for Active models."""

    def __str__(self) -> str:
        return self.value


POLICY_ENV = "BEDROCK_LIFECYCLE_POLICY"
"""Names the shared policy used when none is given (see :meth:`Policy.from_source`)."""

_ALL_ACTIONS = frozenset(Action)
_EOL_ACTIONS = frozenset({Action.FALLBACK, Action.ERROR})

# Setting name -> the actions it accepts.
_ACTION_FIELDS: dict[str, frozenset[Action]] = {
    "on_legacy": _ALL_ACTIONS,
    "on_extended_access": _ALL_ACTIONS,
    "on_eol": _EOL_ACTIONS,
}
_BOOL_FIELDS = ("reactive_fallback", "warn_once", "use_recommended", "adapt_requests")
_FILE_FORBIDDEN = {
    "translators": "translators are Python functions and cannot come from a file; "
    "pass them to Policy(translators=...) in code",
}


def _empty_mapping() -> Mapping[Any, Any]:
    return types.MappingProxyType({})


@dataclass(frozen=True, slots=True, kw_only=True, repr=False)
class Policy:
    """How calls to Legacy, extended-access and end-of-life models are handled.

    Construction is keyword-only and validated: a bad value raises
    :class:`~bedrock_lifecycle.ConfigurationError` naming the setting. Actions may be given as
    strings or :class:`Action` members and are stored as :class:`Action` members.

    ``successors``
        Model id -> successor id. Keys may be base model ids
        (``anthropic.claude-3-5-sonnet-20240620-v1:0``) or the full id the application passes (an
        inference profile id or an ARN); the full id is looked up first. Chains (A -> B -> C) are
        followed; cycles are rejected.
    ``on_legacy`` / ``on_extended_access``
        ``warn`` (default), ``fallback``, ``error`` or ``ignore``.
    ``on_eol``
        ``fallback`` (default) or ``error``: a call past end of life cannot succeed, so warning or
        ignoring is not offered.
    ``reactive_fallback``
        When Bedrock answers with a lifecycle error the catalog did not foresee, retry once with
        the successor (if the state's action allows a fallback).
    ``warn_once``
        Warn once per model and process rather than on every call.
    ``idle_warning_days``
        Warn when a Legacy model has not been called for this many days (Bedrock withdraws
        access after 15 idle days). ``0`` turns the warning off.
    ``translators``
        InvokeModel body translators keyed ``(from, to)``, where each side is a model id or a body
        family name (see :func:`body_family`). Code only: files cannot define them.
    ``use_recommended``
        With no configured successor, fall back to the first replacement AWS recommends.
    ``adapt_requests``
        When a call goes to a model other than the one asked for (a fallback), change the request
        to what that model accepts: drop parameters it refuses (of a refused pair, ``topP`` goes
        and ``temperature`` stays) and clamp ``maxTokens`` to its ceiling. Every change is named
        in the ``FallbackWarning``, the log and ``ResponseMetadata["BedrockLifecycle"]
        ["adapted"]``. After a ``ValidationException`` that names a parameter, the successor is
        tried again without it (three attempts at most) and the constraint is remembered for the
        process. ``False`` sends the request as written. A request sent to the model the caller
        asked for is never changed.
    ``constraints``
        Model id (or id prefix) -> what that model refuses (a :class:`ModelConstraints` or a
        table with ``refuses``, ``refuses_together``, ``max_tokens``, ``refuses_fields``), over
        the bundled table (see :class:`ConstraintBook`).

    Policies compare by value and are hashable when their translators are (plain functions are).
    The mappings are read-only copies: changing the dict passed in does not change the policy.
    A policy read with :meth:`from_source` also carries its reloader (not compared, not copied
    by ``dataclasses.replace``: a changed copy is a policy of its own).
    """

    successors: Mapping[str, str] = field(default_factory=_empty_mapping)
    on_legacy: str = Action.WARN
    on_extended_access: str = Action.WARN
    on_eol: str = Action.FALLBACK
    reactive_fallback: bool = True
    warn_once: bool = True
    idle_warning_days: int = 10
    translators: Mapping[tuple[str, str], BodyTranslator] = field(default_factory=_empty_mapping)
    use_recommended: bool = True
    adapt_requests: bool = True
    constraints: Mapping[str, ModelConstraints] = field(default_factory=_empty_mapping)
    _shared: SharedPolicy | None = field(default=None, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        for name in _ACTION_FIELDS:
            object.__setattr__(self, name, _check_action(name, getattr(self, name)))
        for name in _BOOL_FIELDS:
            _check_bool(name, getattr(self, name))
        _check_idle_days(self.idle_warning_days)
        object.__setattr__(self, "successors", _check_successors(self.successors))
        object.__setattr__(self, "translators", _check_translators(self.translators))
        object.__setattr__(
            self, "constraints", types.MappingProxyType(check_constraint_entries(self.constraints))
        )

    # -- dataclass niceties -------------------------------------------------------------------

    def __repr__(self) -> str:
        parts = [
            f"successors={dict(self.successors)!r}",
            *(f"{name}={str(getattr(self, name))!r}" for name in _ACTION_FIELDS),
            f"reactive_fallback={self.reactive_fallback!r}",
            f"warn_once={self.warn_once!r}",
            f"idle_warning_days={self.idle_warning_days!r}",
            "translators={"
            + ", ".join(f"{key!r}: {_callable_name(fn)}" for key, fn in self.translators.items())
            + "}",
            f"use_recommended={self.use_recommended!r}",
            f"adapt_requests={self.adapt_requests!r}",
            f"constraints={dict(self.constraints)!r}",
        ]
        return f"Policy({', '.join(parts)})"

    def __hash__(self) -> int:
        return hash(
            (
                frozenset(self.successors.items()),
                self.on_legacy,
                self.on_extended_access,
                self.on_eol,
                self.reactive_fallback,
                self.warn_once,
                self.idle_warning_days,
                frozenset(self.translators.items()),
                self.use_recommended,
                self.adapt_requests,
                frozenset(self.constraints.items()),
            )
        )

    # -- loading ------------------------------------------------------------------------------

    @classmethod
    def from_mapping(
        cls,
        data: Mapping[str, Any],
        *,
        source: str | os.PathLike[str] | None = None,
        ignore: Collection[str] = (),
    ) -> Policy:
        """Build a policy from a mapping of setting names, as read from a file.

        Unknown keys raise :class:`ConfigurationError` naming the key (and ``source``, the file,
        when given); keys listed in ``ignore`` are skipped (settings of other components sharing
        the same table). ``translators`` cannot be given this way.
        """
        where = None if source is None else str(source)
        raw: Any = data  # checked here: it may come straight from a parsed file
        if not isinstance(raw, Mapping):
            raise ConfigurationError(
                f"policy settings must be a table, not {type(raw).__name__}", source=where
            )
        known = {f.name for f in fields(cls) if f.init} - _FILE_FORBIDDEN.keys()
        values: dict[str, Any] = {}
        for key, value in raw.items():
            if not isinstance(key, str):
                raise ConfigurationError(
                    f"policy setting names must be strings, not {key!r}", source=where
                )
            if key in ignore:
                continue
            if key in _FILE_FORBIDDEN:
                raise ConfigurationError(_FILE_FORBIDDEN[key], key=key, source=where)
            if key not in known:
                raise ConfigurationError(_unknown_key_message(key, known), key=key, source=where)
            values[key] = value
        try:
            return cls(**values)
        except ConfigurationError as exc:
            if where is None:
                raise
            raise ConfigurationError(_bare_message(exc), key=exc.key, source=where) from None

    @classmethod
    def from_file(cls, path: str | os.PathLike[str]) -> Policy:
        """Load a policy from a ``.toml`` or ``.json`` file whose top-level keys are settings."""
        data = load_mapping_file(path, what="policy file")
        return cls.from_mapping(data, source=path)

    @classmethod
    def from_source(
        cls,
        location: str | os.PathLike[str],
        ttl: timedelta | float | None = None,
        *,
        session: Any = None,
        client: Any = None,
    ) -> Policy:
        """Load a policy a fleet shares, and follow it as it changes.

        ``location`` is ``s3://bucket/key``, a path or a ``file://`` URL; the object holds the
        same settings as a :meth:`from_file` file, in TOML or JSON (by the name's suffix, else a
        document starting with ``{`` is JSON). It is read now: a failure raises
        :class:`ConfigurationError` naming the location and the reason. Clients and hooks given
        the returned policy read the source again at most once per ``ttl`` (a timedelta or
        seconds; ``None``: ``BEDROCK_LIFECYCLE_TTL`` when set, else the catalog's TTL), when
        they plan a call, and switch to a new version within one ``ttl``. An invalid new
        version, or a source that cannot be read, keeps the last valid policy (one
        ``LifecycleDataWarning``; one log line per outage). S3 is reached with ``client`` (an S3
        client) or ``session`` (default: a new boto3 session).
        """
        from ._shared_policy import SharedPolicy

        return SharedPolicy(location, ttl=ttl, session=session, client=client).load()

    @classmethod
    def from_pyproject(
        cls, path: str | os.PathLike[str] | None = None, *, ignore: Collection[str] = ()
    ) -> Policy:
        """Load the policy from ``[tool.bedrock-lifecycle]`` in ``pyproject.toml``.

        ``path`` is the file (or its directory); by default the nearest ``pyproject.toml`` above
        the current directory. Returns the default policy when there is no such section.
        ``ignore`` names keys in that table that belong to other components.
        """
        section, file = locate_pyproject_section(path)
        if section is None:
            return cls()
        return cls.from_mapping(section, source=f"{file} [tool.bedrock-lifecycle]", ignore=ignore)

    # -- decisions ----------------------------------------------------------------------------

    def action_for(self, state: State) -> Action:
        """The action for a model in ``state``.

        Legacy -> ``on_legacy``, extended access -> ``on_extended_access``, end of life ->
        ``on_eol``. Active and unknown models get :attr:`Action.IGNORE`: nothing to do, the call
        goes through as written (an unknown model is never blocked on a guess).
        """
        if state is State.LEGACY:
            return Action(self.on_legacy)
        if state is State.EXTENDED_ACCESS:
            return Action(self.on_extended_access)
        if state is State.EOL:
            return Action(self.on_eol)
        return Action.IGNORE

    def successor_for(self, model_id: str, base_id: str | None) -> str | None:
        """The configured successor of ``model_id``: its full id first, then ``base_id``."""
        found = self.successors.get(model_id)
        if found is None and base_id is not None:
            found = self.successors.get(base_id)
        return found

    def successor_candidates(
        self,
        model_id: str,
        base_id: str | None,
        *,
        recommended: Callable[[str], Sequence[str]] | None = None,
        max_hops: int = 8,
        base_id_of: Callable[[str], str | None] | None = None,
    ) -> list[str]:
        """Every successor in order (A's, then its successor's, ...), usable or not.

        Same walk as :meth:`successor_chain` without the usability test: useful to explain why
        no successor could be used.
        """
        return list(self._walk(model_id, base_id, recommended, max_hops, base_id_of))

    def successor_chain(
        self,
        model_id: str,
        base_id: str | None,
        *,
        is_usable: Callable[[str], bool],
        recommended: Callable[[str], Sequence[str]] | None = None,
        max_hops: int = 8,
        base_id_of: Callable[[str], str | None] | None = None,
    ) -> list[str]:
        """Follow successors from ``model_id`` until one is usable.

        Returns the candidates tried, in order, ending with the first for which
        ``is_usable(candidate)`` is true; returns ``[]`` when none is usable (the caller raises
        :class:`~bedrock_lifecycle.NoSuccessorError`; :meth:`successor_candidates` lists what
        was looked at).

        Each hop takes the configured successor (full id, then base id); when there is none and
        ``use_recommended`` is set, the first id from ``recommended(base id)`` not already
        visited. ``base_id_of`` maps a candidate to its base model id so that base-id keys and
        recommendations apply to it too (without it, candidates are looked up as given). The walk
        stops after ``max_hops`` candidates, at a dead end, or on reaching a model already
        visited (a cycle through recommendations, or two ids of the same base model).
        """
        tried: list[str] = []
        for candidate in self._walk(model_id, base_id, recommended, max_hops, base_id_of):
            tried.append(candidate)
            if is_usable(candidate):
                return tried
        logger.debug(
            "no usable successor",
            extra={"bedrock_lifecycle.model_id": model_id, "bedrock_lifecycle.tried": tried},
        )
        return []

    def _walk(
        self,
        model_id: str,
        base_id: str | None,
        recommended: Callable[[str], Sequence[str]] | None,
        max_hops: int,
        base_id_of: Callable[[str], str | None] | None,
    ) -> Iterator[str]:
        if max_hops < 1:
            raise ValueError(f"max_hops must be at least 1, not {max_hops!r}")
        seen = {model_id} if base_id is None else {model_id, base_id}
        current, current_base = model_id, base_id
        for _ in range(max_hops):
            candidate = self.successor_for(current, current_base)
            if candidate is None and self.use_recommended and recommended is not None:
                candidate = next(
                    (rid for rid in recommended(current_base or current) if rid not in seen), None
                )
            if candidate is None or candidate in seen:
                return
            candidate_base = base_id_of(candidate) if base_id_of is not None else None
            if candidate_base is not None and candidate_base in seen:
                return
            seen.add(candidate)
            if candidate_base is not None:
                seen.add(candidate_base)
            yield candidate
            current, current_base = candidate, candidate_base

    # -- InvokeModel bodies -------------------------------------------------------------------

    def translator_for(self, from_id: str, to_id: str) -> BodyTranslator | None:
        """The registered body translator from ``from_id``'s body to ``to_id``'s, if any.

        Looked up by ``(from id, to id)``, then ``(from id, to family)``, ``(from family, to
        id)`` and ``(from family, to family)``.
        """
        if not self.translators:
            return None
        from_family, to_family = body_family(from_id), body_family(to_id)
        for key in (
            (from_id, to_id),
            (from_id, to_family),
            (from_family, to_id),
            (from_family, to_family),
        ):
            found = self.translators.get(key)
            if found is not None:
                return found
        return None

    def compatible_bodies(self, from_base: str, to_base: str) -> bool:
        """Whether an InvokeModel body written for ``from_base`` can be sent to ``to_base``.

        True when both belong to the same known body family or a translator is registered for
        the pair. Models of the ``unknown`` family are never assumed compatible.
        """
        family = body_family(from_base)
        if family != _UNKNOWN and family == body_family(to_base):
            return True
        return self.translator_for(from_base, to_base) is not None


# -- validation ---------------------------------------------------------------------------------


def _check_action(name: str, value: Any) -> Action:
    allowed = _ACTION_FIELDS[name]
    choices = ", ".join(sorted(a.value for a in allowed))
    if not isinstance(value, str):
        raise ConfigurationError(
            f"expected one of {choices}, got {type(value).__name__} {value!r}", key=name
        )
    action = next((a for a in allowed if a.value == value.strip().lower()), None)
    if action is None:
        hint = ""
        if name == "on_eol" and value.strip().lower() in {a.value for a in Action}:
            hint = " (a call past end of life cannot succeed, so only these two make sense)"
        raise ConfigurationError(f"expected one of {choices}, got {value!r}{hint}", key=name)
    return action


def _check_bool(name: str, value: Any) -> None:
    if not isinstance(value, bool):
        raise ConfigurationError(
            f"expected true or false, got {type(value).__name__} {value!r}", key=name
        )


def _check_idle_days(value: Any) -> None:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ConfigurationError(
            f"expected a whole number of days, got {type(value).__name__} {value!r}",
            key="idle_warning_days",
        )
    if value < 0:
        raise ConfigurationError(
            f"must be 0 (off) or a positive number of days, got {value}", key="idle_warning_days"
        )


def _check_model_id(value: Any, *, what: str, key: str) -> str:
    if not isinstance(value, str):
        raise ConfigurationError(
            f"{what} must be a model id string, got {type(value).__name__} {value!r}", key=key
        )
    if not value or value != value.strip() or any(ch.isspace() for ch in value):
        raise ConfigurationError(f"{what} {value!r} is not a model id", key=key)
    return value


def _check_successors(value: Any) -> Mapping[str, str]:
    if not isinstance(value, Mapping):
        raise ConfigurationError(
            f"expected a mapping of model id to successor id, got {type(value).__name__}",
            key="successors",
        )
    copied: dict[str, str] = {}
    for key, successor in value.items():
        if not isinstance(key, str):
            raise ConfigurationError(
                f"successor keys must be model id strings, got {type(key).__name__} {key!r}",
                key="successors",
            )
        _check_model_id(key, what="successors key", key=key)
        _check_model_id(successor, what="successor", key=key)
        if successor == key:
            raise ConfigurationError("a model cannot be its own successor", key=key)
        copied[key] = successor
    cycle = _find_cycle(copied)
    if cycle:
        raise ConfigurationError(
            "successors form a cycle: " + " -> ".join([*cycle, cycle[0]]), key=cycle[0]
        )
    return types.MappingProxyType(copied)


def _find_cycle(successors: Mapping[str, str]) -> list[str]:
    """The first cycle in ``successors`` (as the ids on it, in order), or ``[]``."""
    done: set[str] = set()
    for start in successors:
        path: list[str] = []
        on_path: dict[str, int] = {}
        node: str | None = start
        while node is not None and node not in done:
            if node in on_path:
                return path[on_path[node] :]
            on_path[node] = len(path)
            path.append(node)
            node = successors.get(node)
        done.update(path)
    return []


def _check_translators(value: Any) -> Mapping[tuple[str, str], BodyTranslator]:
    if not isinstance(value, Mapping):
        raise ConfigurationError(
            f"expected a mapping of (from, to) pairs to functions, got {type(value).__name__}",
            key="translators",
        )
    copied: dict[tuple[str, str], BodyTranslator] = {}
    for key, translator in value.items():
        if (
            not isinstance(key, tuple)
            or len(key) != 2
            or not all(isinstance(side, str) and side for side in key)
        ):
            raise ConfigurationError(
                f"keys must be (from, to) pairs of model ids or body families, got {key!r}",
                key="translators",
            )
        for side in key:
            # Model ids always contain a dot; anything else must be a family name.
            if "." not in side and side not in BODY_FAMILIES:
                close = _close_matches(side, BODY_FAMILIES)
                hint = f" (did you mean {close[0]!r}?)" if close else ""
                raise ConfigurationError(
                    f"{side!r} in {key!r} is neither a model id nor a body family{hint}",
                    key="translators",
                )
        if not callable(translator):
            raise ConfigurationError(
                f"the translator for {key!r} must be callable, got {type(translator).__name__}",
                key="translators",
            )
        copied[key] = translator
    return types.MappingProxyType(copied)


def attach_shared(policy: Policy, shared: SharedPolicy) -> Policy:
    """``policy``, marked as read from ``shared`` (whose versions the governor follows)."""
    object.__setattr__(policy, "_shared", shared)
    return policy


def shared_policy_of(policy: Policy) -> SharedPolicy | None:
    """The reloader ``policy`` was read with (:meth:`Policy.from_source`), or ``None``."""
    return policy._shared


def _refuse_unknown_keywords(cls: type[Policy]) -> None:
    """Make ``Policy(unknown=...)`` a :class:`ConfigurationError` naming the key, as a file's
    unknown key is, instead of Python's ``TypeError`` (type checkers still flag it statically)."""
    generated = cls.__init__
    known = frozenset(item.name for item in fields(cls) if item.init)

    @functools.wraps(generated)
    def __init__(self: Policy, *args: Any, **kwargs: Any) -> None:
        for key in kwargs:
            if key not in known:
                raise ConfigurationError(_unknown_key_message(key, known), key=key)
        generated(self, *args, **kwargs)

    cls.__init__ = __init__  # type: ignore[method-assign]


def _unknown_key_message(key: str, known: Collection[str]) -> str:
    close = _close_matches(key, sorted(known))
    hint = f"; did you mean {close[0]!r}?" if close else ""
    return f"unknown policy setting{hint} (known: {', '.join(sorted(known))})"


def _bare_message(exc: ConfigurationError) -> str:
    text = str(exc)
    prefix = f"{exc.key!r}: " if exc.key else ""
    return text.removeprefix(prefix)


def _callable_name(fn: Any) -> str:
    name = getattr(fn, "__qualname__", None) or getattr(fn, "__name__", None)
    return f"<{name}>" if isinstance(name, str) else repr(fn)


# -- InvokeModel body families ------------------------------------------------------------------

_refuse_unknown_keywords(Policy)

_UNKNOWN = "unknown"

# (provider, pattern on the rest of the base id, family). First match wins.
_FAMILY_RULES: tuple[tuple[str, str, str], ...] = (
    ("anthropic", r"claude-(instant-)?v\d", "anthropic-text-completions"),
    ("anthropic", r"claude-", "anthropic-messages"),
    ("amazon", r"titan-(text|tg1)-", "amazon-titan-text"),
    ("amazon", r"titan-embed-image-", "amazon-titan-embed-image"),
    ("amazon", r"titan-embed-", "amazon-titan-embed"),
    ("amazon", r"(titan-image-generator|nova-canvas)-", "amazon-image-generation"),
    ("amazon", r"nova-(2-)?(micro|lite|pro|premier)-", "amazon-nova"),
    ("meta", r"llama", "meta-llama"),
    ("mistral", r"(mistral-large-2407|pixtral-)", "mistral-chat"),
    ("mistral", r"(mistral-7b|mixtral-|mistral-large-2402|mistral-small-2402)", "mistral"),
    ("cohere", r"command-r", "cohere-command-r"),
    ("cohere", r"command-(light-)?text-", "cohere-command"),
    ("cohere", r"embed-", "cohere-embed"),
    ("ai21", r"jamba-", "ai21-jamba"),
    ("ai21", r"j2-", "ai21-jurassic"),
    ("stability", r"stable-diffusion-xl", "stability-sdxl"),
    ("stability", r"(sd3-|stable-image-(core|ultra)-)", "stability-image"),
)
_PROVIDERS = frozenset(provider for provider, _, _ in _FAMILY_RULES)

BODY_FAMILIES: frozenset[str] = frozenset({family for _, _, family in _FAMILY_RULES} | {_UNKNOWN})
"""Every body family name :func:`body_family` can return."""


def body_family(base_id: str) -> str:
    """The InvokeModel request-body family of a base model id.

    Two models of one family accept the same JSON body, e.g. ``anthropic-messages`` (Claude 3 and
    later), ``anthropic-text-completions`` (Claude 2 and Instant), ``amazon-nova``,
    ``meta-llama``, ``mistral`` (text completion) and ``mistral-chat``. Models this table does not
    know get ``"unknown"``. A system inference profile id (``us.<base id>``) is accepted too.
    """
    provider, _, rest = base_id.partition(".")
    if provider not in _PROVIDERS and rest:
        # "us.anthropic.claude-..." -> look past the geography prefix.
        inner_provider, _, inner_rest = rest.partition(".")
        if inner_provider in _PROVIDERS:
            provider, rest = inner_provider, inner_rest
    for rule_provider, pattern, family in _FAMILY_RULES:  # re compiles each on first use
        if rule_provider == provider and re.match(pattern, rest):
            return family
    return _UNKNOWN


def _close_matches(word: str, possibilities: Iterable[str]) -> list[str]:
    """The nearest known name to a misspelt one (difflib loads only when a policy is wrong)."""
    import difflib

    return difflib.get_close_matches(word, list(possibilities), n=1)
