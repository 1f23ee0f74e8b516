"""A ledger that prints CloudWatch Embedded Metric Format (EMF) lines.

Each record becomes one JSON object on one line::

    {"_aws": {"Timestamp": <ms since epoch>,
              "CloudWatchMetrics": [{"Namespace": "BedrockLifecycle",
                                     "Dimensions": [["model", "region", "state"]],
                                     "Metrics": [{"Name": "Calls", "Unit": "Count"}, ...]}]},
     "model": "...", "region": "...", "state": "...", "Calls": 1, "InputTokens": 1000, ...}

CloudWatch Logs turns such lines into metrics; in AWS Lambda writing them to stdout is enough.
Dimension values are strings (a missing region becomes ``"unknown"``); a metric is declared only
when its value is known, so an unknown cost is never published as 0 (``UnpricedCalls`` counts
those calls instead). ``Fallbacks`` is 1 for a call that went to a successor, else 0. Lines are
written synchronously, under a lock. docs/costs.md#fleet-cost-visibility lists every metric, and
examples/fleet_dashboard.cfn.json reads them (a test keeps the two in step).
"""

from __future__ import annotations

import json
import os
import sys
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TextIO

from .._errors import ConfigurationError
from .._usage import UsageRecord
from ._base import SinkHealth, make_parent_dirs

__all__ = ["DIMENSION_NAMES", "EmfLedger"]

_DIMENSIONS: dict[str, Callable[[UsageRecord], str | None]] = {
    "model": lambda rec: rec.invoked_model_id,
    "requested_model": lambda rec: rec.requested_model_id,
    "region": lambda rec: rec.region,
    "state": lambda rec: rec.state,
    "operation": lambda rec: rec.operation,
    "extended_access": lambda rec: "true" if rec.extended_access else "false",
}
DIMENSION_NAMES = frozenset(_DIMENSIONS)
"""Names usable in ``EmfLedger(dimensions=...)``."""

_MAX_DIMENSIONS_PER_SET = 30  # CloudWatch's limit on dimensions per metric


class EmfLedger:
    """Writes each record as a CloudWatch EMF line to ``stream`` (default: stdout) or ``path``.

    ``dimensions`` is a sequence of dimension sets, each a sequence of names from
    :data:`DIMENSION_NAMES`; every metric is published under each set. ``path`` appends to a file
    (created 0600) with one ``write()`` per line, safe across threads and processes.
    """

    def __init__(
        self,
        stream: TextIO | None = None,
        *,
        path: str | os.PathLike[str] | None = None,
        namespace: str = "BedrockLifecycle",
        dimensions: Sequence[Sequence[str]] = (("model", "region", "state"),),
    ) -> None:
        if stream is not None and path is not None:
            raise ConfigurationError("EmfLedger takes a stream or a path, not both")
        if not isinstance(namespace, str) or not namespace.strip() or len(namespace) > 255:
            raise ConfigurationError(f"namespace must be 1 to 255 characters, not {namespace!r}")
        sets: list[list[str]] = []
        for dimension_set in dimensions:
            if isinstance(dimension_set, str):
                raise ConfigurationError(
                    f"dimensions is a sequence of dimension sets, e.g. (({dimension_set!r},),)"
                )
            names = list(dimension_set)
            unknown = sorted(set(names) - DIMENSION_NAMES)
            if unknown:
                raise ConfigurationError(
                    f"unknown EMF dimension(s) {', '.join(unknown)}; choose from "
                    f"{', '.join(sorted(DIMENSION_NAMES))}"
                )
            if len(names) > _MAX_DIMENSIONS_PER_SET:
                raise ConfigurationError("an EMF dimension set holds at most 30 dimensions")
            sets.append(names)
        self.namespace = namespace
        self.dimensions = tuple(tuple(names) for names in sets)
        self._sets = sets
        self._stream = stream
        self.path = None if path is None else Path(path).expanduser()
        self._fd: int | None = None
        self._lock = threading.Lock()
        self._closed = False
        self._health = SinkHealth(f"EmfLedger({self.path or 'stdout'})")

    @property
    def errors(self) -> int:
        """Records that could not be written."""
        return self._health.errors

    def render(self, rec: UsageRecord) -> dict[str, Any]:
        """The EMF document for ``rec``."""
        metrics: list[dict[str, str]] = []
        doc: dict[str, Any] = {}
        for name, value in (
            ("Calls", 1),
            ("UnpricedCalls", 1 if rec.cost_usd is None else 0),
            ("Fallbacks", 1 if rec.fallback_from else 0),
            ("InputTokens", rec.input_tokens),
            ("OutputTokens", rec.output_tokens),
            ("CacheReadInputTokens", rec.cache_read_input_tokens),
            ("CacheWriteInputTokens", rec.cache_write_input_tokens),
        ):
            if value is not None:
                metrics.append({"Name": name, "Unit": "Count"})
                doc[name] = value
        if rec.latency_ms is not None:
            metrics.append({"Name": "LatencyMs", "Unit": "Milliseconds"})
            doc["LatencyMs"] = rec.latency_ms
        for name, money in (
            ("CostUSD", rec.cost_usd),
            ("StandardCostUSD", rec.standard_cost_usd),
            ("PremiumUSD", rec.premium_usd),
        ):
            if money is not None:
                metrics.append({"Name": name, "Unit": "None"})
                doc[name] = money
        for name, read in _DIMENSIONS.items():
            doc[name] = read(rec) or "unknown"
        if rec.request_id:
            doc["request_id"] = rec.request_id
        if rec.fallback_from:
            doc["fallback_from"] = rec.fallback_from
        doc["_aws"] = {
            "Timestamp": int(rec.timestamp.timestamp() * 1000),
            "CloudWatchMetrics": [
                {"Namespace": self.namespace, "Dimensions": self._sets, "Metrics": metrics}
            ],
        }
        return doc

    def record(self, rec: UsageRecord) -> None:
        try:
            if self._closed:
                self._health.failed(None, what="record (the ledger is closed)")
                return
            line = json.dumps(self.render(rec), separators=(",", ":")) + "\n"
            if self.path is not None:
                data = line.encode("utf-8")
                fd = self._fd if self._fd is not None else self._open()
                view = memoryview(data)
                while view:
                    view = view[os.write(fd, view) :]
            else:
                stream = self._stream if self._stream is not None else sys.stdout
                with self._lock:
                    stream.write(line)
                    stream.flush()
        except Exception as exc:
            self._health.failed(exc)

    def _open(self) -> int:
        with self._lock:
            if self._fd is None:
                assert self.path is not None
                flags = os.O_WRONLY | os.O_APPEND | os.O_CREAT | getattr(os, "O_CLOEXEC", 0)
                make_parent_dirs(self.path)
                self._fd = os.open(self.path, flags, 0o600)
            return self._fd

    def flush(self) -> None:
        """Flush the stream (file lines are written as they come)."""
        try:
            if self.path is None:
                (self._stream if self._stream is not None else sys.stdout).flush()
        except Exception as exc:
            self._health.failed(exc, 0, what="flush")

    def close(self) -> None:
        """Close the file (a stream is left open: it belongs to the caller)."""
        with self._lock:
            self._closed = True
            if self._fd is not None:
                fd, self._fd = self._fd, None
                os.close(fd)

    def __repr__(self) -> str:
        where = str(self.path) if self.path is not None else "stdout"
        return f"EmfLedger({where!r}, namespace={self.namespace!r})"
