"""bedrock-lifecycle: keep applications on Amazon Bedrock working while their models age."""

from __future__ import annotations

import logging

from ._errors import (
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
from ._lifecycle import ModelLifecycle, Source, State

__version__ = "0.1.0"

logging.getLogger(__name__).addHandler(logging.NullHandler())

__all__ = [
    "CatalogError",
    "ConfigurationError",
    "ExtendedAccessError",
    "ExtendedAccessWarning",
    "FallbackWarning",
    "IdleLegacyWarning",
    "IncompatibleSuccessorError",
    "LegacyModelError",
    "LegacyModelWarning",
    "LifecycleDataWarning",
    "LifecycleError",
    "LifecycleWarning",
    "ModelEndOfLifeError",
    "ModelLifecycle",
    "ModelUnavailableError",
    "NoSuccessorError",
    "Source",
    "State",
    "__version__",
]
