"""Where usage records go: the ledger sinks and the summaries over them.

Sinks: :class:`MemoryLedger` (default), :class:`JsonlLedger`, :class:`SqliteLedger`,
:class:`EmfLedger` (CloudWatch Embedded Metric Format), :class:`OtelLedger` (OpenTelemetry
counters, ``otel`` extra) and :class:`MultiLedger` to send to several. Each ``record()`` returns
without raising; failures are logged once per sink and counted in ``sink.errors``.

``MemoryLedger``, ``JsonlLedger``, ``SqliteLedger`` and ``MultiLedger`` also keep shadow records
(``MemoryLedger[ShadowRecord]()``), apart from the usage ledger; :func:`read_shadow_records` reads
them from a file and :func:`summarize` reports their spend in rows of their own.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from ._base import (
    Ledger,
    MultiLedger,
    PendingLedger,
    PendingSink,
    ReadableLedger,
    select_records,
)
from ._memory import MemoryLedger

if TYPE_CHECKING:
    from ._emf import DIMENSION_NAMES, EmfLedger
    from ._jsonl import JsonlLedger, read_jsonl
    from ._otel import OtelLedger
    from ._read import read_shadow_records
    from ._sqlite import SqliteLedger
    from ._summary import GROUP_KEYS, SummaryRow, summarize

# The file and metric sinks load on first use: most processes use one sink or none, and
# sqlite3 and the writer machinery are measurable at import time. So do the summaries, which
# only reports and the command line read.
_LAZY = {
    "GROUP_KEYS": "._summary",
    "SummaryRow": "._summary",
    "summarize": "._summary",
    "DIMENSION_NAMES": "._emf",
    "EmfLedger": "._emf",
    "JsonlLedger": "._jsonl",
    "read_jsonl": "._jsonl",
    "OtelLedger": "._otel",
    "SqliteLedger": "._sqlite",
    "read_shadow_records": "._read",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(module, __name__), name)
    globals()[name] = value
    return value


__all__ = [
    "DIMENSION_NAMES",
    "GROUP_KEYS",
    "EmfLedger",
    "JsonlLedger",
    "Ledger",
    "MemoryLedger",
    "MultiLedger",
    "OtelLedger",
    "PendingLedger",
    "PendingSink",
    "ReadableLedger",
    "SqliteLedger",
    "SummaryRow",
    "read_jsonl",
    "read_shadow_records",
    "select_records",
    "summarize",
]
