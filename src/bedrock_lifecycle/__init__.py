"""bedrock-lifecycle: keep applications on Amazon Bedrock working while their models age.

Swap ``boto3.client("bedrock-runtime")`` for :func:`client` (or :func:`wrap` an existing one):
Legacy models warn in time, end-of-life models fall back to a successor, and calls in public
extended access are costed in a ledger. :func:`install` does the same for every
``bedrock-runtime`` client the process creates afterwards (or one session creates).
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from ._catalog import DEFAULT_TTL, Catalog, ModelChange, RefreshResult, default_catalog
from ._client import LifecycleClient, client, wrap
from ._constraints import Adaptation, ConstraintBook, ModelConstraints, adapt_request
from ._errors import (
    BudgetExceededError,
    BudgetWarning,
    CatalogError,
    ConfigurationError,
    ExtendedAccessError,
    ExtendedAccessWarning,
    FallbackWarning,
    IdleLegacyWarning,
    IncompatibleSuccessorError,
    LegacyModelError,
    LegacyModelWarning,
    LifecycleDataWarning,
    LifecycleError,
    LifecycleWarning,
    ModelEndOfLifeError,
    ModelUnavailableError,
    NoSuccessorError,
)
from ._governor import Governor, lifecycle_metadata
from ._ids import IdForm, ModelRef, parse_model_id, render_successor
from ._lifecycle import ModelLifecycle, Source, State
from ._plan import CallPlan
from ._policy import Action, BodyTranslator, Policy, body_family
from ._pricing import Price, PriceBook, compute_cost
from ._usage import Usage, UsageRecord
from .ledger import Ledger, MemoryLedger, MultiLedger

if TYPE_CHECKING:
    from . import aio
    from ._aio_client import AsyncLifecycleClient
    from ._budget import Budget, BudgetEvent
    from ._bundled import CatalogueEntry, catalogue_entry
    from ._forecast import Forecast, ForecastRow, forecast
    from ._hooks import install, installed_governor, uninstall
    from ._preflight import PreflightReport, PreflightRow, preflight
    from ._publish import SnapshotReport, publish_snapshot
    from ._report import (
        Comparison,
        Distribution,
        PairComparison,
        SideSummary,
        Thresholds,
        Verdict,
        compare,
        evaluation_datasets,
    )
    from ._shadow import Shadow
    from ._shadow_record import ShadowRecord, ShadowSide, prompt_hash, text_similarity
    from ._succession import Candidate, Succession, walk_successors
    from .ledger import EmfLedger, JsonlLedger, OtelLedger, SqliteLedger, SummaryRow, summarize

#: Public names loaded on first use, and their modules: what a wrapped call never needs (the
#: file and metric ledger sinks, the botocore hooks, forecasts, preflight checks, rehearsal
#: reports, publishing a fleet snapshot), so that a service importing the package pays for none
#: of it; and what only some calls need, loaded by the first that does (budgets, shadows, the
#: bundled snapshot, successor walks).
_LAZY: dict[str, str] = {
    **dict.fromkeys(("Budget", "BudgetEvent"), "._budget"),
    **dict.fromkeys(("CatalogueEntry", "catalogue_entry"), "._bundled"),
    "Shadow": "._shadow",
    **dict.fromkeys(
        ("ShadowRecord", "ShadowSide", "prompt_hash", "text_similarity"), "._shadow_record"
    ),
    **dict.fromkeys(("Candidate", "Succession", "walk_successors"), "._succession"),
    **dict.fromkeys(
        ("EmfLedger", "JsonlLedger", "OtelLedger", "SqliteLedger", "SummaryRow", "summarize"),
        ".ledger",
    ),
    **dict.fromkeys(("Forecast", "ForecastRow", "forecast"), "._forecast"),
    **dict.fromkeys(("PreflightReport", "PreflightRow", "preflight"), "._preflight"),
    # The hook face: a service that wraps its clients never needs it.
    **dict.fromkeys(("install", "installed_governor", "uninstall"), "._hooks"),
    **dict.fromkeys(("SnapshotReport", "publish_snapshot"), "._publish"),
    **dict.fromkeys(
        (
            "Comparison",
            "Distribution",
            "PairComparison",
            "SideSummary",
            "Thresholds",
            "Verdict",
            "compare",
            "evaluation_datasets",
        ),
        "._report",
    ),
}


def __getattr__(name: str) -> Any:
    import importlib

    where = _LAZY.get(name)
    if where is not None:
        value = getattr(importlib.import_module(where, __name__), name)
        globals()[name] = value
        return value
    # The async face loads on first use too (asyncio; aiobotocore only when a client is made).
    if name in ("aio", "AsyncLifecycleClient"):
        aio = importlib.import_module(f"{__name__}.aio")  # not "from . import": it asks here
        globals()["aio"] = aio
        globals()["AsyncLifecycleClient"] = aio.AsyncLifecycleClient
        return globals()[name]
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__version__ = "0.1.0"

logging.getLogger(__name__).addHandler(logging.NullHandler())

__all__ = [
    "DEFAULT_TTL",
    "Action",
    "Adaptation",
    "AsyncLifecycleClient",
    "BodyTranslator",
    "Budget",
    "BudgetEvent",
    "BudgetExceededError",
    "BudgetWarning",
    "CallPlan",
    "Candidate",
    "Catalog",
    "CatalogError",
    "CatalogueEntry",
    "Comparison",
    "ConfigurationError",
    "ConstraintBook",
    "Distribution",
    "EmfLedger",
    "ExtendedAccessError",
    "ExtendedAccessWarning",
    "FallbackWarning",
    "Forecast",
    "ForecastRow",
    "Governor",
    "IdForm",
    "IdleLegacyWarning",
    "IncompatibleSuccessorError",
    "JsonlLedger",
    "Ledger",
    "LegacyModelError",
    "LegacyModelWarning",
    "LifecycleClient",
    "LifecycleDataWarning",
    "LifecycleError",
    "LifecycleWarning",
    "MemoryLedger",
    "ModelChange",
    "ModelConstraints",
    "ModelEndOfLifeError",
    "ModelLifecycle",
    "ModelRef",
    "ModelUnavailableError",
    "MultiLedger",
    "NoSuccessorError",
    "OtelLedger",
    "PairComparison",
    "Policy",
    "PreflightReport",
    "PreflightRow",
    "Price",
    "PriceBook",
    "RefreshResult",
    "Shadow",
    "ShadowRecord",
    "ShadowSide",
    "SideSummary",
    "SnapshotReport",
    "Source",
    "SqliteLedger",
    "State",
    "Succession",
    "SummaryRow",
    "Thresholds",
    "Usage",
    "UsageRecord",
    "Verdict",
    "__version__",
    "adapt_request",
    "aio",
    "body_family",
    "catalogue_entry",
    "client",
    "compare",
    "compute_cost",
    "default_catalog",
    "evaluation_datasets",
    "forecast",
    "install",
    "installed_governor",
    "lifecycle_metadata",
    "parse_model_id",
    "preflight",
    "prompt_hash",
    "publish_snapshot",
    "render_successor",
    "summarize",
    "text_similarity",
    "uninstall",
    "walk_successors",
    "wrap",
]
