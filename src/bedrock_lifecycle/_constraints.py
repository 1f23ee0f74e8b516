"""What a model refuses in a request, and how a request is adapted before a fallback sends it.

A successor often refuses a request its predecessor took: Claude Sonnet 4.5 refuses
``temperature`` together with ``topP``, newer Opus models refuse the sampling parameters
altogether, and every model has its own ``maxTokens`` ceiling. A fallback that ignores this turns
an end-of-life error into a validation error.

:class:`ModelConstraints` says what one model refuses, in the Converse API's parameter names
(``temperature``, ``topP``, ``topK``, ``maxTokens``) plus ``additionalModelRequestFields`` keys.
:class:`ConstraintBook` finds the constraints of a model id: the entries a policy gives, then the
bundled, sourced table (``data/constraints.json``), each matched by the longest prefix of the
base id, plus whatever Bedrock's own refusals taught this process (:meth:`ConstraintBook.learn`).
:func:`adapt_request` applies them to one request and names every change as a dotted path.

Only requests the library itself redirects are adapted (see :mod:`._governor`): a request the
caller sends to the model they asked for is never changed.
"""

from __future__ import annotations

import json
import json.encoder
import json.scanner
import re
import threading
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from ._errors import ConfigurationError
from ._ids import parse_model_id
from ._operations import OPERATIONS

__all__ = [
    "BODY_KEYS",
    "MAX_ATTEMPTS",
    "PARAMETERS",
    "Adaptation",
    "Adapter",
    "ConstraintBook",
    "ModelConstraints",
    "adapt_request",
    "constraint_from_refusal",
]

MAX_ATTEMPTS = 3
"""Sends of one request to one model: the first, then one per parameter Bedrock names as
refused (each refusal is learned, and the request adapted, before the next)."""

PARAMETERS = ("temperature", "topP", "topK", "maxTokens")
"""The inference parameters constraints name, spelled as the Converse API spells them."""

_PROVIDER_NAMES = {
    "temperature": "temperature",
    "top_p": "topP",
    "top_k": "topK",
    "max_tokens": "maxTokens",
    "topP": "topP",
    "topK": "topK",
    "maxTokens": "maxTokens",
}
#: Where each parameter may sit in a Converse request: ``inferenceConfig`` or, in the provider's
#: own name, ``additionalModelRequestFields`` (``topK`` exists only there).
_CONVERSE_PATHS = {
    "temperature": (
        ("inferenceConfig", "temperature"),
        ("additionalModelRequestFields", "temperature"),
    ),
    "topP": (("inferenceConfig", "topP"), ("additionalModelRequestFields", "top_p")),
    "topK": (("additionalModelRequestFields", "top_k"),),
    "maxTokens": (("inferenceConfig", "maxTokens"), ("additionalModelRequestFields", "max_tokens")),
}
BODY_KEYS = {
    "temperature": "temperature",
    "topP": "top_p",
    "topK": "top_k",
    "maxTokens": "max_tokens",
}
"""The same parameters in a provider-format body (InvokeModel, Anthropic messages)."""
_FILE_KEYS = frozenset({"refuses", "refuses_together", "max_tokens", "refuses_fields", "source"})


@dataclass(frozen=True, slots=True)
class ModelConstraints:
    """What one model refuses in a request.

    ``refuses``
        Parameters it refuses outright (names from :data:`PARAMETERS`).
    ``refuses_together``
        Pairs it refuses when both are set: the first is kept, the second dropped
        (``("temperature", "topP")`` keeps ``temperature``).
    ``max_tokens``
        The largest ``maxTokens`` it takes (``None``: not known, never clamped).
    ``refuses_fields``
        Keys of ``additionalModelRequestFields`` (or of a provider-format body) it refuses.
    ``source``
        Where the facts come from (a public source, ``"learned"``, or the user's own words).
    """

    refuses: frozenset[str] = frozenset()
    refuses_together: tuple[tuple[str, str], ...] = ()
    max_tokens: int | None = None
    refuses_fields: frozenset[str] = frozenset()
    source: str | None = field(default=None, compare=False)

    def __post_init__(self) -> None:
        refuses: Any = self.refuses
        if isinstance(refuses, str) or not isinstance(refuses, Iterable):
            raise ConfigurationError(f"expected a list of parameter names, got {refuses!r}")
        object.__setattr__(self, "refuses", frozenset(_parameter(name) for name in refuses))
        pairs: Any = self.refuses_together
        if isinstance(pairs, str) or not isinstance(pairs, Iterable):
            raise ConfigurationError(f"expected a list of parameter pairs, got {pairs!r}")
        checked = []
        for pair in pairs:
            if isinstance(pair, str) or not isinstance(pair, Iterable) or len(list(pair)) != 2:
                raise ConfigurationError(f"expected a pair of parameter names, got {pair!r}")
            first, second = pair
            checked.append((_parameter(first), _parameter(second)))
        object.__setattr__(self, "refuses_together", tuple(checked))
        ceiling: Any = self.max_tokens
        if ceiling is not None and (
            isinstance(ceiling, bool) or not isinstance(ceiling, int) or ceiling < 1
        ):
            raise ConfigurationError(f"max_tokens must be a positive whole number, not {ceiling!r}")
        fields_: Any = self.refuses_fields
        if isinstance(fields_, str) or not isinstance(fields_, Iterable):
            raise ConfigurationError(f"expected a list of field names, got {fields_!r}")
        names = frozenset(fields_)
        if not all(isinstance(name, str) and name for name in names):
            raise ConfigurationError(f"field names must be non-empty strings, got {fields_!r}")
        object.__setattr__(self, "refuses_fields", names)

    @classmethod
    def from_mapping(cls, data: Any) -> ModelConstraints:
        """Build from a mapping as written in a policy or constraints file."""
        if isinstance(data, ModelConstraints):
            return data
        if not isinstance(data, Mapping):
            raise ConfigurationError(
                f"constraints must be a table, not {type(data).__name__} {data!r}"
            )
        unknown = sorted(set(data) - _FILE_KEYS)
        if unknown:
            raise ConfigurationError(
                f"unknown constraint {unknown[0]!r} (known: {', '.join(sorted(_FILE_KEYS))})"
            )
        source = data.get("source")
        if source is not None and not isinstance(source, str):
            raise ConfigurationError(f"source must be a string, not {source!r}")
        return cls(
            refuses=data.get("refuses", ()),
            refuses_together=data.get("refuses_together", ()),
            max_tokens=data.get("max_tokens"),
            refuses_fields=data.get("refuses_fields", ()),
            source=source,
        )

    @classmethod
    def from_refusal(cls, message: str | None) -> ModelConstraints | None:
        """The constraint a Bedrock ``ValidationException`` message names (a parameter refused
        alone or with another, or a ``maxTokens`` ceiling), or ``None`` when it names none."""
        return constraint_from_refusal(message)

    @property
    def empty(self) -> bool:
        """Whether this refuses nothing."""
        return not (self.refuses or self.refuses_together or self.refuses_fields) and (
            self.max_tokens is None
        )

    def merged(self, other: ModelConstraints) -> ModelConstraints:
        """Both sets of refusals (the lower ``max_tokens`` when both give one)."""
        if other.empty:
            return self
        if self.empty:
            return other
        ceilings = [c for c in (self.max_tokens, other.max_tokens) if c is not None]
        pairs = self.refuses_together + tuple(
            p for p in other.refuses_together if p not in self.refuses_together
        )
        sources = [s for s in (self.source, other.source) if s]
        return ModelConstraints(
            refuses=self.refuses | other.refuses,
            refuses_together=pairs,
            max_tokens=min(ceilings) if ceilings else None,
            refuses_fields=self.refuses_fields | other.refuses_fields,
            source="; ".join(dict.fromkeys(sources)) or None,
        )

    def covers(self, other: ModelConstraints) -> bool:
        """Whether every refusal in ``other`` is already in this one."""
        return self.merged(other) == self

    def describe(self) -> str:
        """A short human summary, e.g. ``temperature with topP; maxTokens <= 64000``."""
        parts = [f"{name} refused" for name in sorted(self.refuses)]
        parts += [f"{first} with {second}" for first, second in self.refuses_together]
        parts += [
            f"additionalModelRequestFields.{name} refused" for name in sorted(self.refuses_fields)
        ]
        if self.max_tokens is not None:
            parts.append(f"maxTokens <= {self.max_tokens}")
        return "; ".join(parts) or "no known constraints"


def _parameter(name: Any) -> str:
    if not isinstance(name, str) or _PROVIDER_NAMES.get(name) is None:
        raise ConfigurationError(
            f"unknown inference parameter {name!r} (known: {', '.join(PARAMETERS)})"
        )
    return _PROVIDER_NAMES[name]


NO_CONSTRAINTS = ModelConstraints()


# -- finding a model's constraints -----------------------------------------------------------


@lru_cache(maxsize=1)
def _bundled_entries() -> tuple[tuple[str, ModelConstraints], ...]:
    from importlib import resources

    origin = "bedrock_lifecycle/data/constraints.json"
    text = resources.files("bedrock_lifecycle").joinpath("data/constraints.json").read_text("utf-8")
    return parse_constraints_file(json.loads(text), origin=origin)


def parse_constraints_file(data: Any, *, origin: str) -> tuple[tuple[str, ModelConstraints], ...]:
    """The ``(prefix, constraints)`` entries of a constraints document (format 1)."""
    if not isinstance(data, Mapping) or data.get("format") != 1:
        raise ConfigurationError("not a constraints document of format 1", source=origin)
    sources = data.get("sources") or {}
    entries = []
    for index, raw in enumerate(data.get("entries") or ()):
        where = f"entries[{index}]"
        if not isinstance(raw, Mapping) or not isinstance(raw.get("match"), str):
            raise ConfigurationError("each entry needs a 'match' string", key=where, source=origin)
        fields_ = {k: v for k, v in raw.items() if k != "match"}
        key = fields_.get("source")
        if isinstance(key, str) and key in sources:
            fields_["source"] = f"{key}: {sources[key]}"
        try:
            entries.append((raw["match"], ModelConstraints.from_mapping(fields_)))
        except ConfigurationError as exc:
            raise ConfigurationError(str(exc), key=where, source=origin) from None
    return tuple(entries)


def check_constraint_entries(value: Any) -> Mapping[str, ModelConstraints]:
    """Validate a ``{model id or prefix: constraints}`` mapping (as a :class:`Policy` takes)."""
    if not isinstance(value, Mapping):
        raise ConfigurationError(
            f"expected a mapping of model id to constraints, got {type(value).__name__}",
            key="constraints",
        )
    checked: dict[str, ModelConstraints] = {}
    for key, raw in value.items():
        if not isinstance(key, str) or not key.strip():
            raise ConfigurationError(
                f"constraint keys must be model ids or id prefixes, got {key!r}", key="constraints"
            )
        try:
            checked[key] = ModelConstraints.from_mapping(raw)
        except ConfigurationError as exc:
            raise ConfigurationError(str(exc), key=f"constraints.{key}") from None
    return checked


def _longest_match(
    entries: Iterable[tuple[str, ModelConstraints]], ids: tuple[str, ...]
) -> tuple[int, ModelConstraints] | None:
    best: tuple[int, ModelConstraints] | None = None
    for prefix, constraints in entries:
        if any(model_id.startswith(prefix) for model_id in ids) and (
            best is None or len(prefix) > best[0]
        ):
            best = (len(prefix), constraints)
    return best


class _Learned:
    """The learned table books made from one another share, with its lock and version."""

    __slots__ = ("lock", "table", "version")

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.table: dict[str, ModelConstraints] = {}
        self.version = 0


class ConstraintBook:
    """Finds a model's constraints: given entries over the bundled table, plus learned ones.

    Entries are keyed by a model id or a prefix of one (``"anthropic.claude-sonnet-4-5-"``) and
    matched against the base id (and the id as given); the longest matching prefix wins, and a
    given entry beats a bundled one of the same length. Constraints learned from Bedrock's
    refusals are added on top. The learned table is shared by every book made from the same
    :meth:`default` book (it lives as long as the process). Thread-safe.
    """

    def __init__(
        self,
        entries: Mapping[str, ModelConstraints | Mapping[str, Any]] | None = None,
        *,
        bundled: bool = True,
        _learned: _Learned | None = None,
    ) -> None:
        self._entries = tuple(check_constraint_entries(entries or {}).items())
        self._bundled = bundled  # the bundled table is read at the first lookup
        self._learned = _Learned() if _learned is None else _learned

    @property
    def version(self) -> int:
        """Changes whenever something is learned or forgotten (cached lookups compare it)."""
        return self._learned.version

    @classmethod
    def default(cls) -> ConstraintBook:
        """The process-wide book: bundled data, and what this process learned."""
        return _DEFAULT_BOOK

    def with_entries(self, entries: Mapping[str, ModelConstraints]) -> ConstraintBook:
        """A book with ``entries`` over this one's, sharing its learned table."""
        if not entries:
            return self
        return ConstraintBook(
            {**dict(self._entries), **entries},
            bundled=self._bundled,
            _learned=self._learned,
        )

    def for_model(self, model_id: str) -> ModelConstraints:
        """The constraints of ``model_id`` (any id form that names its base model)."""
        base = parse_model_id(model_id).base_id
        ids = (model_id,) if base is None or base == model_id else (base, model_id)
        given = _longest_match(self._entries, ids)
        bundled = _longest_match(_bundled_entries(), ids) if self._bundled else None
        found = NO_CONSTRAINTS
        if given is not None and (bundled is None or given[0] >= bundled[0]):
            found = given[1]
        elif bundled is not None:
            found = bundled[1]
        learned = self._learned.table.get(base or model_id)
        return found if learned is None else found.merged(learned)

    def learn(self, model_id: str, constraints: ModelConstraints) -> bool:
        """Remember a refusal Bedrock answered for ``model_id``; ``True`` when it is new."""
        base = parse_model_id(model_id).base_id or model_id
        learned = self._learned
        with learned.lock:
            known = learned.table.get(base, NO_CONSTRAINTS)
            merged = known.merged(constraints)
            if merged == known:
                return False
            learned.table[base] = merged
            learned.version += 1
            return True

    def learned(self) -> dict[str, ModelConstraints]:
        """What this process learned, by base model id."""
        with self._learned.lock:
            return dict(self._learned.table)

    def forget_learned(self) -> None:
        """Drop every learned constraint (for tests, or after a model changed)."""
        learned = self._learned
        with learned.lock:
            learned.table.clear()
            learned.version += 1

    def __repr__(self) -> str:
        return f"ConstraintBook(entries={len(self._entries)}, learned={len(self._learned.table)})"


_DEFAULT_BOOK = ConstraintBook()


# -- reading Bedrock's refusals ---------------------------------------------------------------

_REFUSED_PAIR = r"`(\w+)` and `(\w+)` cannot both be specified"  # compiled on first use
_REFUSED_ONE = r"`(\w+)` is (?:deprecated|not supported) for this model"
_CEILING = (
    r"exceeds? the model limit of (\d+)",
    r"max_tokens: \d+ > (\d+)",
)


def constraint_from_refusal(message: str | None) -> ModelConstraints | None:
    """The constraint a Bedrock ``ValidationException`` message names, or ``None``.

    Recognised: "`temperature` and `top_p` cannot both be specified for this model",
    "`temperature` is deprecated for this model" and "The maximum tokens you requested exceeds
    the model limit of N". Bedrock names one parameter per refusal.
    """
    text = message or ""
    found = re.search(_REFUSED_PAIR, text)
    if found:
        first, second = (_PROVIDER_NAMES.get(name) for name in found.groups())
        if first and second:
            return ModelConstraints(refuses_together=((first, second),), source="learned")
        return None
    found = re.search(_REFUSED_ONE, text)
    if found:
        name = found.group(1)
        known = _PROVIDER_NAMES.get(name)
        if known is not None:
            return ModelConstraints(refuses=frozenset({known}), source="learned")
        return ModelConstraints(refuses_fields=frozenset({name}), source="learned")
    for pattern in _CEILING:
        found = re.search(pattern, text)
        if found:
            return ModelConstraints(max_tokens=int(found.group(1)), source="learned")
    return None


# -- adapting a request ----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Adaptation:
    """One change made to a request: ``path`` (dotted), what was done, and why."""

    path: str
    action: str
    """``"dropped"`` or ``"clamped"``."""
    reason: str

    def __str__(self) -> str:
        return f"{self.path} {self.action} ({self.reason})"


def _refusals(constraints: ModelConstraints, present: Callable[[str], bool]) -> dict[str, str]:
    """Parameter -> why it must go, for the parameters ``present`` says the request sets."""
    drop: dict[str, str] = {}
    for name in PARAMETERS:
        if name in constraints.refuses and present(name):
            drop[name] = "refused by the model"
    for first, second in constraints.refuses_together:
        if first not in drop and second not in drop and present(first) and present(second):
            drop[second] = f"refused together with {first}"
    return drop


def _ceiling_reason(value: Any, ceiling: int | None) -> str | None:
    if ceiling is None or isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return f"{value} -> {ceiling}, the model's limit" if value > ceiling else None


_SECTIONS = ("inferenceConfig", "additionalModelRequestFields")
_MAX_TOKENS_MARKER = b'"max_tokens"'
_MAX_TOKENS_VALUE = re.compile(rb'"max_tokens"\s*:\s*(\d+)(?![\d.eE])')
_decode_json = json.JSONDecoder().decode
_encode_json = json.JSONEncoder(ensure_ascii=False).encode
#: The decoder's own scanner: a body with nothing around its value (what SDKs send) is read in
#: one C call, without ``decode``'s two whitespace matches; anything else goes to ``decode``.
_scan_json: Callable[[str, int], tuple[Any, int]] = json.scanner.make_scanner(
    json.JSONDecoder()  # type: ignore[arg-type]  # typeshed wants a scanner, not a decoder
)


def _one_shot_encoder() -> Callable[[Any, int], Any] | None:
    """The C encoder ``JSONEncoder(ensure_ascii=False).encode`` uses, made once.

    ``encode`` makes a new one (and two Python frames) for every document; an adapted
    InvokeModel body is written on every fallback call. ``None`` where the interpreter has no C
    encoder, or where this one would not write exactly what ``encode`` writes (checked on a
    sample of every JSON type). No check for cycles: the documents are decoded JSON.
    """
    make: Any = getattr(json.encoder, "c_make_encoder", None)
    if make is None:
        return None
    sample = {"s": '\u00e9"\\\n\u2028', "n": [0, -1, 10**30, 2.5, -0.0, 1e300], "o": {"t": True}}
    # What encode writes for it (written out: encode itself goes through c_make_encoder).
    written = '{"s": "\u00e9\\"\\\\\\n\u2028", "n": [0, -1, 1' + "0" * 30 + ", 2.5, -0.0, 1e+300], "
    written += '"o": {"t": true}}'
    try:
        encoder: Callable[[Any, int], Any] = make(
            None, None, json.encoder.encode_basestring, None, ": ", ", ", False, False, True
        )
        if "".join(encoder(sample, 0)) != written:
            return None
    except Exception:  # another signature (another interpreter): encode as usual
        return None
    return encoder


_encode_json_once = _one_shot_encoder()


_Drop = tuple[str, str, Adaptation]  # (section, key, change); section "" for a body
#: What a request of one shape needs: the drops, the places to clamp (when over the ceiling),
#: and the drops' changes as one tuple (returned as is when nothing is clamped).
_Shape = tuple[tuple[_Drop, ...], tuple[tuple[str, str], ...], tuple[Adaptation, ...]]
#: Request shapes remembered per :class:`Adapter` (the same few recur call after call).
_SHAPES_KEPT = 64


@lru_cache(maxsize=1024)
def _change(path: str, action: str, reason: str) -> Adaptation:
    """One :class:`Adaptation`, shared: the same few changes recur on every adapted call."""
    return Adaptation(path, action, reason)


def _converse_shape(constraints: ModelConstraints, sections: Mapping[str, Iterable[str]]) -> _Shape:
    """What to change in a Converse request that sets these keys in these sections."""
    found: dict[str, list[tuple[str, str]]] = {}
    for name, places in _CONVERSE_PATHS.items():
        for where, key in places:
            if key in sections.get(where, ()):
                found.setdefault(name, []).append((where, key))
    drops: list[_Drop] = []
    for name, reason in _refusals(constraints, found.__contains__).items():
        for where, key in found[name]:
            drops.append((where, key, _change(f"{where}.{key}", "dropped", reason)))
    where = "additionalModelRequestFields"
    for key in sorted(constraints.refuses_fields.intersection(sections.get(where, ()))):
        drops.append((where, key, _change(f"{where}.{key}", "dropped", "refused by the model")))
    clamps = tuple(found.get("maxTokens", ())) if constraints.max_tokens is not None else ()
    return tuple(drops), clamps, tuple(change for _, _, change in drops)


def _body_shape(constraints: ModelConstraints, keys: Iterable[str], prefix: str) -> _Shape:
    """What to change in a provider-format body with these top-level keys."""
    present = set(keys)
    drops: list[_Drop] = []
    for name, reason in _refusals(constraints, lambda n: BODY_KEYS[n] in present).items():
        key = BODY_KEYS[name]
        drops.append(("", key, _change(f"{prefix}{key}", "dropped", reason)))
    dropped = {key for _, key, _ in drops}
    for key in sorted(constraints.refuses_fields & present - dropped):
        drops.append(("", key, _change(f"{prefix}{key}", "dropped", "refused by the model")))
    clamps = (("", "max_tokens"),) if constraints.max_tokens is not None else ()
    return tuple(drops), clamps, tuple(change for _, _, change in drops)


class Adapter:
    """:func:`adapt_request` for one model's constraints, remembering per request shape (the
    keys a request sets) what must change, so that a fallback's calls adapt in a few steps.

    Thread-safe: the remembered shapes are plain dict reads and writes of immutable values.
    """

    __slots__ = ("_empty", "_markers", "_shapes", "constraints")

    def __init__(self, constraints: ModelConstraints) -> None:
        self.constraints = constraints
        self._empty = constraints.empty
        self._markers = _body_markers(constraints)
        self._shapes: dict[tuple[Any, ...], _Shape] = {}

    def _remember(self, key: tuple[Any, ...], shape: _Shape) -> _Shape:
        if len(self._shapes) >= _SHAPES_KEPT:
            self._shapes.clear()
        self._shapes[key] = shape
        return shape

    def adapt(
        self, operation: str, params: Mapping[str, Any], *, owned: bool = False
    ) -> tuple[Mapping[str, Any], tuple[Adaptation, ...]]:
        """See :func:`adapt_request`. ``owned``: ``params`` is a dict of the caller's own making
        that may be changed in place (saves a copy on the fallback path)."""
        facts = OPERATIONS.get(operation)
        if facts is None or self._empty:
            return params, ()
        if facts.request == "converse":
            return self._converse(params, owned)
        if facts.request == "body":
            return self._body(params)
        if facts.request == "model_input":
            model_input = params.get("modelInput")
            if not isinstance(model_input, Mapping):
                return params, ()
            new_input, changes = self._apply_body(model_input, "modelInput.")
            if not changes:
                return params, ()
            return {**params, "modelInput": new_input}, changes
        return params, ()  # CountTokens: counting is not affected by sampling parameters

    def _converse(
        self, params: Mapping[str, Any], owned: bool
    ) -> tuple[Mapping[str, Any], tuple[Adaptation, ...]]:
        # Runs on every adapted fallback call: one dict lookup finds what this shape needs.
        config = params.get("inferenceConfig")
        extra = params.get("additionalModelRequestFields")
        if config is not None and type(config) is not dict and not isinstance(config, Mapping):
            config = None
        if extra is not None and type(extra) is not dict and not isinstance(extra, Mapping):
            extra = None
        if not config and not extra:
            return params, ()
        key = (tuple(config) if config else (), tuple(extra) if extra else ())
        shape = self._shapes.get(key)
        if shape is None:
            given = {"inferenceConfig": key[0], "additionalModelRequestFields": key[1]}
            shape = self._remember(key, _converse_shape(self.constraints, given))
        drops, clamps, changes = shape
        if not drops and not clamps:
            return params, ()
        sections = {"inferenceConfig": config, "additionalModelRequestFields": extra}
        edited: dict[str, dict[str, Any]] = {}
        for where, name, _ in drops:
            section = edited.get(where)
            if section is None:
                section = edited[where] = dict(sections[where])  # type: ignore[arg-type]
            del section[name]
        ceiling = self.constraints.max_tokens
        for where, name in clamps:
            reason = _ceiling_reason(sections[where][name], ceiling)  # type: ignore[index]
            if reason is not None:
                section = edited.get(where)
                if section is None:
                    section = edited[where] = dict(sections[where])  # type: ignore[arg-type]
                section[name] = ceiling
                changes = (*changes, _change(f"{where}.{name}", "clamped", reason))
        if not changes:
            return params, ()
        adapted: dict[str, Any] = params if owned else dict(params)  # type: ignore[assignment]
        for where, value in edited.items():
            if value:
                adapted[where] = value
            else:
                adapted.pop(where, None)  # an emptied section is left out, as if never given
        return adapted, changes

    def _body(self, params: Mapping[str, Any]) -> tuple[Mapping[str, Any], tuple[Adaptation, ...]]:
        raw = _read_body(params.get("body"))
        if raw is None:
            return params, ()  # not a body we can read
        present = [marker for marker in self._markers if marker in raw]
        if not present:
            return params, ()  # none of the keys in question
        if present == [_MAX_TOKENS_MARKER] and self._within_ceiling(raw):
            return params, ()  # the usual case: max_tokens set, and not above the ceiling
        try:
            text = raw.decode("utf-8")
            try:
                body, end = _scan_json(text, 0)
            except StopIteration:  # whitespace first, or not JSON: decode says which
                end = -1
            if end != len(text):
                body = _decode_json(text)
        except ValueError:  # UnicodeDecodeError included
            return params, ()
        if type(body) is not dict:
            return params, ()
        new_body, changes = self._apply_body(body, "body.")
        if not changes:
            return params, ()
        once = _encode_json_once
        text = "".join(once(new_body, 0)) if once is not None else _encode_json(new_body)
        return {**params, "body": text.encode("utf-8")}, changes

    def _within_ceiling(self, raw: bytes) -> bool:
        """Whether ``raw`` names max_tokens once, with a whole number within the ceiling
        (wherever it sits: only a top-level one is ever clamped)."""
        ceiling = self.constraints.max_tokens
        found = _MAX_TOKENS_VALUE.findall(raw)
        return ceiling is not None and len(found) == 1 and int(found[0]) <= ceiling

    def _apply_body(
        self, body: Mapping[str, Any], prefix: str
    ) -> tuple[dict[str, Any], tuple[Adaptation, ...]]:
        key = (prefix, tuple(body))
        shape = self._shapes.get(key)
        if shape is None:
            shape = self._remember(key, _body_shape(self.constraints, body, prefix))
        drops, clamps, changes = shape
        adapted = dict(body)
        for _, name, _ in drops:
            del adapted[name]  # the shape was read off these very keys
        if clamps:
            reason = _ceiling_reason(body.get("max_tokens"), self.constraints.max_tokens)
            if reason is not None:
                adapted["max_tokens"] = self.constraints.max_tokens
                changes = (*changes, _change(f"{prefix}max_tokens", "clamped", reason))
        return adapted, changes


@lru_cache(maxsize=256)
def _body_markers(constraints: ModelConstraints) -> tuple[bytes, ...]:
    """The quoted keys whose presence in a raw body may call for a change."""
    names = set(constraints.refuses)
    for pair in constraints.refuses_together:
        names.update(pair)
    if constraints.max_tokens is not None:
        names.add("maxTokens")
    keys = {BODY_KEYS[name] for name in names} | set(constraints.refuses_fields)
    return tuple(f'"{key}"'.encode() for key in sorted(keys))


def _read_body(body: Any) -> bytes | None:
    if isinstance(body, (bytes, bytearray)):
        return bytes(body)
    if isinstance(body, str):
        return body.encode("utf-8")
    return None


def adapt_request(
    operation: str, params: Mapping[str, Any], constraints: ModelConstraints
) -> tuple[Mapping[str, Any], tuple[Adaptation, ...]]:
    """``params`` changed to what a model with ``constraints`` accepts, and every change made.

    Converse and ConverseStream: ``inferenceConfig`` and ``additionalModelRequestFields``.
    InvokeModel and InvokeModelWithResponseStream: a JSON object ``body`` (bytes or str) in the
    provider's own names (``temperature``, ``top_p``, ``top_k``, ``max_tokens``); a body that is
    not a JSON object (or a file object) is left alone. StartAsyncInvoke: ``modelInput``.
    Returns ``params`` itself, unchanged, when nothing needs to change. (A fallback keeps an
    :class:`Adapter` for its successor, which remembers the work per request shape.)
    """
    return Adapter(constraints).adapt(operation, params)
