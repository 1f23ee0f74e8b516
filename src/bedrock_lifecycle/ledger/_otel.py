"""A ledger that adds to OpenTelemetry counters (the ``otel`` extra).

Instruments, on the meter ``meter_name`` (default ``bedrock_lifecycle``):

- ``bedrock_lifecycle.calls`` ({call}): one per record.
- ``bedrock_lifecycle.tokens`` ({token}): with ``token.type`` = input, output, cache_read,
  cache_write (only counts Bedrock reported).
- ``bedrock_lifecycle.cost`` and ``bedrock_lifecycle.standard_cost`` and
  ``bedrock_lifecycle.premium`` (USD): only known amounts are added.
- ``bedrock_lifecycle.unpriced_calls`` ({call}): records whose cost is unknown.

Every data point carries ``model`` (the id invoked), ``region``, ``state`` and ``extended_access``.
"""

from __future__ import annotations

from typing import Any

from .._errors import ConfigurationError
from .._usage import UsageRecord
from ._base import SinkHealth

__all__ = ["OtelLedger"]


class OtelLedger:
    """Counts calls, tokens and dollars on OpenTelemetry counters.

    ``meter_provider`` defaults to the global one (``opentelemetry.metrics.get_meter_provider()``).
    Raises :class:`ConfigurationError` when ``opentelemetry-api`` is not installed.
    """

    def __init__(self, meter_provider: Any = None, meter_name: str = "bedrock_lifecycle") -> None:
        try:
            from opentelemetry import metrics
        except ImportError as exc:
            raise ConfigurationError(
                "OtelLedger needs OpenTelemetry: pip install 'bedrock-lifecycle[otel]'"
            ) from exc
        provider = meter_provider if meter_provider is not None else metrics.get_meter_provider()
        meter = provider.get_meter(meter_name)
        self._calls = meter.create_counter(
            "bedrock_lifecycle.calls", unit="{call}", description="Bedrock calls recorded"
        )
        self._tokens = meter.create_counter(
            "bedrock_lifecycle.tokens", unit="{token}", description="Tokens Bedrock reported"
        )
        self._cost = meter.create_counter(
            "bedrock_lifecycle.cost", unit="USD", description="Known cost of the calls"
        )
        self._standard_cost = meter.create_counter(
            "bedrock_lifecycle.standard_cost",
            unit="USD",
            description="What the calls would cost at standard (non-extended) prices",
        )
        self._premium = meter.create_counter(
            "bedrock_lifecycle.premium",
            unit="USD",
            description="Extra paid for public extended access",
        )
        self._unpriced = meter.create_counter(
            "bedrock_lifecycle.unpriced_calls",
            unit="{call}",
            description="Calls whose cost is unknown (no price, or no extended-access price)",
        )
        self._health = SinkHealth("OtelLedger")

    @property
    def errors(self) -> int:
        """Records that could not be counted."""
        return self._health.errors

    def record(self, rec: UsageRecord) -> None:
        try:
            attributes: dict[str, str | bool] = {
                "model": rec.invoked_model_id,
                "region": rec.region or "unknown",
                "state": rec.state,
                "extended_access": rec.extended_access,
            }
            self._calls.add(1, attributes)
            for kind, count in (
                ("input", rec.input_tokens),
                ("output", rec.output_tokens),
                ("cache_read", rec.cache_read_input_tokens),
                ("cache_write", rec.cache_write_input_tokens),
            ):
                if count:
                    self._tokens.add(count, {**attributes, "token.type": kind})
            if rec.cost_usd is None:
                self._unpriced.add(1, attributes)
            for counter, amount in (
                (self._cost, rec.cost_usd),
                (self._standard_cost, rec.standard_cost_usd),
                (self._premium, rec.premium_usd),
            ):
                if amount is not None and amount >= 0:
                    counter.add(amount, attributes)
        except Exception as exc:
            self._health.failed(exc)

    def flush(self) -> None:
        """Nothing buffered here; the meter provider exports on its own schedule."""

    def close(self) -> None:
        """Nothing to release (the meter provider belongs to the caller)."""
