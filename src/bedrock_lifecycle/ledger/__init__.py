"""Where usage records go: the ledger sinks and the summaries over them.

Sinks: :class:`MemoryLedger` (default), :class:`JsonlLedger`, :class:`SqliteLedger`,
:class:`EmfLedger` (CloudWatch Embedded Metric Format), :class:`OtelLedger` (OpenTelemetry
counters, ``otel`` extra) and :class:`MultiLedger` to send to several. Each ``record()`` returns
without raising; failures are logged once per sink and counted in ``sink.errors``.
"""

from __future__ import annotations

from ._base import Ledger, MultiLedger, ReadableLedger, select_records
from ._emf import DIMENSION_NAMES, EmfLedger
from ._jsonl import JsonlLedger, read_jsonl
from ._memory import MemoryLedger
from ._otel import OtelLedger
from ._sqlite import SqliteLedger
from ._summary import GROUP_KEYS, SummaryRow, summarize

__all__ = [
    "DIMENSION_NAMES",
    "GROUP_KEYS",
    "EmfLedger",
    "JsonlLedger",
    "Ledger",
    "MemoryLedger",
    "MultiLedger",
    "OtelLedger",
    "ReadableLedger",
    "SqliteLedger",
    "SummaryRow",
    "read_jsonl",
    "select_records",
    "summarize",
]
