"""The world a :class:`~bedrock_lifecycle.testing.FakeBedrock` serves: models, profiles, dates."""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timezone
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

from .._clock import as_utc
from .._ids import PROVIDER_NAMES
from .._lifecycle import State

if TYPE_CHECKING:
    from .._bundled import CatalogueEntry
    from .._constraints import ModelConstraints

__all__ = [
    "FakeCustomModel",
    "FakeInferenceProfile",
    "FakeModel",
    "FakeProvisionedModel",
    "FakeUsage",
    "LifecycleDates",
    "Scenario",
]

DEFAULT_ACCOUNT = "123456789012"


def utc_or_none(value: datetime | date | None) -> datetime | None:
    """``value`` as an aware UTC datetime (a date is midnight UTC)."""
    if value is None:
        return None
    if isinstance(value, datetime):
        return as_utc(value)
    return datetime(value.year, value.month, value.day, tzinfo=timezone.utc)


@dataclass(frozen=True, slots=True)
class LifecycleDates:
    """Lifecycle dates of a model in one region (dates are taken as midnight UTC)."""

    legacy_at: datetime | date | None = None
    extended_access_at: datetime | date | None = None
    eol_at: datetime | date | None = None
    start_at: datetime | date | None = None

    def __post_init__(self) -> None:
        for name in ("legacy_at", "extended_access_at", "eol_at", "start_at"):
            object.__setattr__(self, name, utc_or_none(getattr(self, name)))

    def state(self, now: datetime) -> State:
        """Active, Legacy, extended access or EOL at ``now``."""
        for state, when in (
            (State.EOL, self.eol_at),
            (State.EXTENDED_ACCESS, self.extended_access_at),
            (State.LEGACY, self.legacy_at),
        ):
            moment = utc_or_none(when)
            if moment is not None and now >= moment:
                return state
        return State.ACTIVE


@dataclass(frozen=True, slots=True)
class FakeUsage:
    """Token counts a model reports. ``None`` input/output counts are derived from the request
    (about four characters a token); ``None`` cache counts are left out of the response."""

    input_tokens: int | None = None
    output_tokens: int | None = None
    cache_read_tokens: int | None = None
    cache_write_tokens: int | None = None


@dataclass(frozen=True, slots=True)
class FakeModel:
    """A foundation model the fake serves.

    ``legacy_at`` / ``extended_access_at`` / ``eol_at`` apply in every region of ``regions``;
    ``per_region`` replaces them for the regions it names (and offers the model there too).
    ``last_used`` marks the model as last called at that time in every region (for the idle
    Legacy rule); ``None`` means no call is known yet. ``operation_not_allowed`` lists the states
    (or ``True`` for always) in which runtime calls answer ``ValidationException: Operation not
    allowed``. ``profile_only`` models answer on-demand calls (by base id or foundation-model
    ARN) with the "use an inference profile" ValidationException; ``on_demand_regions`` limits
    on-demand calls to those regions (``None``: every region), as for a model sold on demand in
    some regions and only through inference profiles in the others. ``profile_geos`` limits
    which ``<geo>.<id>`` system profiles exist (``None``: every geography); a system profile is
    callable only from a region of its own geography (``global`` from any commercial region).
    ``publish_dates=False`` hides the dates from the control plane (only ``status`` is
    returned).

    ``refuses`` names inference parameters the model refuses, in the provider's spelling
    (``"temperature"``, ``"top_p"``, ``"top_k"``; any other name is a key of
    ``additionalModelRequestFields`` or of the InvokeModel body); ``refuses_together`` lists pairs
    it refuses together (``(("temperature", "top_p"),)``); ``max_tokens`` is the largest max
    tokens it accepts (``None``: no ceiling). Converse's ``inferenceConfig`` ``temperature``,
    ``topP`` and ``maxTokens`` count as ``temperature``, ``top_p`` and ``max_tokens``. A refused
    request answers a ValidationException (400), after the lifecycle checks.
    """

    model_id: str
    regions: tuple[str, ...] = ("us-east-1",)
    legacy_at: datetime | date | None = None
    extended_access_at: datetime | date | None = None
    eol_at: datetime | date | None = None
    start_at: datetime | date | None = None
    per_region: Mapping[str, LifecycleDates] = field(default_factory=dict)
    provider: str | None = None
    name: str | None = None
    input_modalities: tuple[str, ...] = ("TEXT",)
    output_modalities: tuple[str, ...] = ("TEXT",)
    inference_types: tuple[str, ...] = ("ON_DEMAND",)
    customizations: tuple[str, ...] = ()
    streaming: bool = True
    usage: FakeUsage = field(default_factory=FakeUsage)
    latency_ms: int = 250
    first_byte_latency_ms: int = 80
    reply: str | None = None
    operation_not_allowed: bool | Collection[State | str] = False
    profile_only: bool = False
    profile_geos: tuple[str, ...] | None = None
    publish_dates: bool = True
    last_used: datetime | date | None = None
    refuses: Collection[str] = ()
    refuses_together: Collection[tuple[str, str]] = ()
    max_tokens: int | None = None
    on_demand_regions: Collection[str] | None = None

    def __post_init__(self) -> None:
        given: Any = self.regions
        regions = (given,) if isinstance(given, str) else tuple(given)
        extra = tuple(region for region in self.per_region if region not in regions)
        object.__setattr__(self, "regions", regions + extra)
        object.__setattr__(self, "per_region", MappingProxyType(dict(self.per_region)))
        for name in ("legacy_at", "extended_access_at", "eol_at", "start_at", "last_used"):
            object.__setattr__(self, name, utc_or_none(getattr(self, name)))
        if self.provider is None:
            prefix = self.model_id.split(".", 1)[0]
            object.__setattr__(self, "provider", PROVIDER_NAMES.get(prefix, prefix.title()))
        if self.name is None:
            object.__setattr__(self, "name", self.model_id)
        flag = self.operation_not_allowed
        if flag is True:
            states: frozenset[State] = frozenset(State)
        elif flag is False:
            states = frozenset()
        else:
            states = frozenset(State(str(item).upper()) for item in flag)
        object.__setattr__(self, "operation_not_allowed", states)
        if self.profile_geos is not None:
            object.__setattr__(self, "profile_geos", tuple(self.profile_geos))
        refused: Any = self.refuses
        object.__setattr__(
            self, "refuses", (refused,) if isinstance(refused, str) else tuple(refused)
        )
        pairs = tuple((first, second) for first, second in self.refuses_together)
        object.__setattr__(self, "refuses_together", pairs)
        if self.on_demand_regions is not None:
            object.__setattr__(self, "on_demand_regions", tuple(self.on_demand_regions))

    @property
    def not_allowed_states(self) -> frozenset[State]:
        """The states in which runtime calls answer "Operation not allowed"."""
        flag = self.operation_not_allowed
        return flag if isinstance(flag, frozenset) else frozenset()

    def dates(self, region: str) -> LifecycleDates:
        """The lifecycle dates in ``region``."""
        if region in self.per_region:
            return self.per_region[region]
        return LifecycleDates(
            legacy_at=utc_or_none(self.legacy_at),
            extended_access_at=utc_or_none(self.extended_access_at),
            eol_at=utc_or_none(self.eol_at),
            start_at=utc_or_none(self.start_at),
        )

    def offered_in(self, region: str) -> bool:
        """Whether the model is (or was) offered in ``region`` at all."""
        return region in self.regions

    def on_demand_in(self, region: str) -> bool:
        """Whether ``region`` takes on-demand calls of the model (by base id or
        foundation-model ARN), rather than only calls through an inference profile."""
        regions = self.on_demand_regions
        return not self.profile_only and (regions is None or region in regions)

    def inference_types_in(self, region: str) -> tuple[str, ...]:
        """``inferenceTypesSupported`` as the control plane of ``region`` lists it."""
        if self.on_demand_in(region) or "ON_DEMAND" not in self.inference_types:
            return self.inference_types
        others = tuple(kind for kind in self.inference_types if kind != "ON_DEMAND")
        return others if "INFERENCE_PROFILE" in others else ("INFERENCE_PROFILE", *others)

    def state(self, region: str, now: datetime) -> State:
        """The state in ``region`` at ``now`` (EOL for regions the model is not offered in)."""
        return self.dates(region).state(now) if self.offered_in(region) else State.EOL


@dataclass(frozen=True, slots=True)
class FakeInferenceProfile:
    """An application inference profile (``type="APPLICATION"``) routing to ``model_id``.

    System profiles (``us.<id>``, ``eu.<id>``, ...) need no declaration: they exist for every
    declared model. The ARN is
    ``arn:aws:bedrock:<region>:<account>:application-inference-profile/<profile_id>``.
    """

    profile_id: str
    model_id: str
    region: str = "us-east-1"
    name: str | None = None
    description: str | None = None

    def arn(self, account: str) -> str:
        """The profile's ARN."""
        return (
            f"arn:aws:bedrock:{self.region}:{account}:application-inference-profile/"
            f"{self.profile_id}"
        )


@dataclass(frozen=True, slots=True)
class FakeCustomModel:
    """A custom (fine-tuned) model on ``base_model_id``; ``model_suffix`` is its 12-char id."""

    name: str
    base_model_id: str
    model_suffix: str = "abcdef123456"
    region: str = "us-east-1"

    def arn(self, account: str) -> str:
        """The custom model's ARN."""
        return (
            f"arn:aws:bedrock:{self.region}:{account}:custom-model/"
            f"{self.base_model_id}/{self.model_suffix}"
        )


@dataclass(frozen=True, slots=True)
class FakeProvisionedModel:
    """Provisioned throughput on ``model_id`` (a foundation model) or on ``custom_model`` (a name
    of a :class:`FakeCustomModel`); ``provisioned_id`` is the 12-character ARN suffix."""

    provisioned_id: str
    model_id: str
    region: str = "us-east-1"
    name: str | None = None
    custom_model: str | None = None
    model_units: int = 1

    def arn(self, account: str) -> str:
        """The provisioned model's ARN."""
        return f"arn:aws:bedrock:{self.region}:{account}:provisioned-model/{self.provisioned_id}"


@dataclass(frozen=True, slots=True)
class Scenario:
    """Everything the fake serves. Immutable; build variants with :meth:`with_models`.

    ``now`` is the time a :class:`FakeBedrock` starts at when it is given none. ``list_dates=False``
    makes ListFoundationModels return only ``modelLifecycle.status`` (GetFoundationModel still
    has the dates). ``timestamp_format`` is ``"epoch"`` (seconds, as numbers) or ``"iso"``.
    ``default_region`` is used for requests that carry no SigV4 credential scope.
    """

    models: tuple[FakeModel, ...] = ()
    profiles: tuple[FakeInferenceProfile, ...] = ()
    provisioned: tuple[FakeProvisionedModel, ...] = ()
    custom_models: tuple[FakeCustomModel, ...] = ()
    account_id: str = DEFAULT_ACCOUNT
    now: datetime | date | None = None
    list_dates: bool = True
    timestamp_format: str = "epoch"
    default_region: str = "us-east-1"

    def __post_init__(self) -> None:
        for name in ("models", "profiles", "provisioned", "custom_models"):
            object.__setattr__(self, name, tuple(getattr(self, name)))
        object.__setattr__(self, "now", utc_or_none(self.now))
        if self.timestamp_format not in ("epoch", "iso"):
            raise ValueError("timestamp_format must be 'epoch' or 'iso'")
        seen: set[str] = set()
        for model in self.models:
            if model.model_id in seen:
                raise ValueError(f"model {model.model_id!r} is declared twice")
            seen.add(model.model_id)

    def model(self, model_id: str) -> FakeModel | None:
        """The declared model with this base id, if any."""
        for model in self.models:
            if model.model_id == model_id:
                return model
        return None

    def with_models(self, *models: FakeModel) -> Scenario:
        """A copy with ``models`` added (replacing declared models with the same id)."""
        ids = {model.model_id for model in models}
        kept = tuple(model for model in self.models if model.model_id not in ids)
        return replace(self, models=kept + tuple(models))

    @classmethod
    def default(cls) -> Scenario:
        """A small illustrative world (the dates are examples, not AWS's published ones).

        At its ``now`` (2026-01-15): Claude 3.5 Sonnet v1 is in extended access in us-east-1
        (EOL 2026-03-01), Legacy in eu-central-2 (EOL 2026-06-01) and ap-northeast-1
        (EOL 2026-07-30); Claude Sonnet 4, Claude Sonnet 4.5 and Nova Pro are Active; Titan Text
        Express is past EOL in us-east-1 and Legacy in us-west-2; Llama 3.1 70B is Legacy. Claude
        Sonnet 4 and 4.5 answer only through inference profiles; Claude Sonnet 4.5 refuses
        ``temperature`` with ``top_p`` and more than 64000 max tokens, as Bedrock does. One
        application inference profile (``app-sonnet``) and one provisioned model
        (``prov00000001``) exist.
        """
        sonnet35 = "anthropic.claude-3-5-sonnet-20240620-v1:0"
        sonnet4 = "anthropic.claude-sonnet-4-20250514-v1:0"
        nova = "amazon.nova-pro-v1:0"
        return cls(
            models=(
                FakeModel(
                    sonnet35,
                    name="Claude 3.5 Sonnet",
                    regions=("us-east-1",),
                    legacy_at=date(2025, 8, 25),
                    extended_access_at=date(2025, 12, 1),
                    eol_at=date(2026, 3, 1),
                    start_at=date(2024, 6, 20),
                    per_region={
                        "eu-central-2": LifecycleDates(
                            legacy_at=date(2025, 8, 25),
                            extended_access_at=date(2026, 3, 1),
                            eol_at=date(2026, 6, 1),
                        ),
                        "ap-northeast-1": LifecycleDates(
                            legacy_at=date(2025, 8, 25),
                            extended_access_at=date(2026, 4, 30),
                            eol_at=date(2026, 7, 30),
                        ),
                    },
                    input_modalities=("TEXT", "IMAGE"),
                    inference_types=("ON_DEMAND", "PROVISIONED"),
                ),
                FakeModel(
                    sonnet4,
                    name="Claude Sonnet 4",
                    regions=("us-east-1", "us-west-2", "eu-central-2", "ap-northeast-1"),
                    start_at=date(2025, 5, 22),
                    input_modalities=("TEXT", "IMAGE"),
                    inference_types=("INFERENCE_PROFILE",),
                    profile_only=True,
                ),
                FakeModel(
                    "anthropic.claude-sonnet-4-5-20250929-v1:0",
                    name="Claude Sonnet 4.5",
                    regions=("us-east-1", "us-west-2", "eu-central-2", "ap-northeast-1"),
                    start_at=date(2025, 9, 29),
                    input_modalities=("TEXT", "IMAGE"),
                    inference_types=("INFERENCE_PROFILE",),
                    profile_only=True,
                    refuses_together=(("temperature", "top_p"),),
                    max_tokens=64000,
                ),
                FakeModel(
                    nova,
                    name="Nova Pro",
                    regions=("us-east-1", "us-west-2"),
                    start_at=date(2024, 12, 3),
                    input_modalities=("TEXT", "IMAGE"),
                    customizations=("FINE_TUNING", "DISTILLATION"),
                ),
                FakeModel(
                    "amazon.titan-text-express-v1",
                    name="Titan Text G1 - Express",
                    regions=("us-east-1", "us-west-2"),
                    legacy_at=date(2025, 4, 1),
                    eol_at=date(2025, 10, 1),
                    per_region={"us-west-2": LifecycleDates(legacy_at=date(2025, 4, 1))},
                    customizations=("FINE_TUNING", "CONTINUED_PRE_TRAINING"),
                ),
                FakeModel(
                    "meta.llama3-1-70b-instruct-v1:0",
                    name="Llama 3.1 70B Instruct",
                    regions=("us-east-1", "us-west-2"),
                    legacy_at=date(2025, 12, 1),
                    eol_at=date(2026, 6, 1),
                ),
            ),
            profiles=(FakeInferenceProfile("app-sonnet", sonnet4, name="sonnet-app"),),
            custom_models=(FakeCustomModel("my-nova", nova),),
            provisioned=(FakeProvisionedModel("prov00000001", sonnet35, name="sonnet-pt"),),
            now=date(2026, 1, 15),
        )

    @classmethod
    def from_snapshot(
        cls,
        as_of: datetime | date | None = None,
        regions: Iterable[str] | None = None,
    ) -> Scenario:
        """The world described by the bundled data: every row of the lifecycle snapshot, and
        every model of the bundled catalogue of offered models.

        Every snapshot row becomes a model in its regions with the row's dates; every catalogue
        model with no row becomes an Active model in the catalogue's regions; recommended
        successors found in neither are added as Active models in the rows' regions, so
        fallback has somewhere to go. Each model refuses what the bundled data says Bedrock
        refuses: the constraint table's parameters, pairs and output ceiling, and, from the
        catalogue, on-demand calls where the model is sold only through inference profiles and
        system profiles of geographies it has none in. ``as_of`` (default: the snapshot's own
        date) becomes the scenario's ``now``; ``regions`` keeps only those regions.
        """
        from .._bundled import load_catalogue, load_snapshot
        from .._constraints import ConstraintBook

        snapshot = load_snapshot()
        catalogue = {entry.model_id: entry for entry in load_catalogue()}
        book = ConstraintBook()  # the bundled table only: nothing learned by this process

        def facts(model_id: str) -> dict[str, Any]:
            return _bundled_facts(catalogue.get(model_id), book.for_model(model_id))

        wanted = None if regions is None else frozenset(regions)
        dates: dict[str, dict[str, LifecycleDates]] = {}
        info: dict[str, tuple[str, str]] = {}
        successors: dict[str, set[str]] = {}
        for row in snapshot.rows:
            row_regions = row.regions or ("us-east-1",)
            kept = [region for region in row_regions if wanted is None or region in wanted]
            if not kept:
                continue
            per = dates.setdefault(row.model_id, {})
            info.setdefault(row.model_id, (row.name, row.provider))
            for region in kept:
                per[region] = LifecycleDates(
                    legacy_at=row.legacy_at,
                    extended_access_at=row.extended_access_at,
                    eol_at=row.eol_at,
                )
                for successor in row.recommended:
                    successors.setdefault(successor, set()).add(region)
        models = [
            FakeModel(
                model_id,
                regions=(),
                per_region=per,
                name=info[model_id][0] or None,
                provider=info[model_id][1] or None,
                **facts(model_id),
            )
            for model_id, per in dates.items()
        ]
        for entry in catalogue.values():
            kept = [region for region in entry.regions if wanted is None or region in wanted]
            if entry.model_id in dates or not kept:
                continue
            models.append(
                FakeModel(
                    entry.model_id,
                    regions=tuple(kept),
                    name=entry.name or None,
                    provider=entry.provider or None,
                    **facts(entry.model_id),
                )
            )
        known = {model.model_id for model in models}
        for successor, successor_regions in sorted(successors.items()):
            if successor not in known:
                models.append(
                    FakeModel(
                        successor,
                        regions=tuple(sorted(successor_regions)),
                        **facts(successor),
                    )
                )
        return cls(models=tuple(models), now=as_of if as_of is not None else snapshot.as_of)


def _bundled_facts(entry: CatalogueEntry | None, constraints: ModelConstraints) -> dict[str, Any]:
    """What a model's bundled catalogue ``entry`` and ``constraints`` say Bedrock refuses, as
    :class:`FakeModel` fields (facts they do not confirm are left at the defaults)."""
    from .._constraints import BODY_KEYS

    facts: dict[str, Any] = {}
    if entry is not None:
        if entry.inference == "profile_only":
            facts["profile_only"] = True
            facts["inference_types"] = ("INFERENCE_PROFILE",)
        elif entry.inference == "on_demand" and entry.on_demand_regions:
            facts["on_demand_regions"] = entry.on_demand_regions
        if entry.profiles:
            facts["profile_geos"] = entry.profiles
        if entry.streams is not None:
            facts["streaming"] = entry.streams
    if not constraints.empty:
        # The fake names parameters in the provider's spelling; the table in Converse's.
        facts["refuses"] = tuple(sorted(BODY_KEYS[name] for name in constraints.refuses))
        facts["refuses"] += tuple(sorted(constraints.refuses_fields))
        facts["refuses_together"] = tuple(
            (BODY_KEYS[first], BODY_KEYS[second]) for first, second in constraints.refuses_together
        )
        facts["max_tokens"] = constraints.max_tokens
    return facts
