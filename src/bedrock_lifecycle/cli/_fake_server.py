"""``fake-server``: the fake Bedrock on a loopback port, and the scenario files it can serve.

A scenario file (``.json`` or ``.toml``) declares the world::

    now = "2026-01-15"              # the fake's clock stands still here (default: wall clock)
    default_region = "us-east-1"
    extends = "default"             # optional: start from "default" or "snapshot", then add

    [[models]]
    model_id = "anthropic.claude-3-5-sonnet-20240620-v1:0"
    regions = ["us-east-1"]
    legacy_at = "2025-08-25"
    extended_access_at = "2025-12-01"
    eol_at = "2026-03-01"
    input_tokens = 1200             # what each call reports (default: derived from the text)
    output_tokens = 300

    [models.per_region.eu-central-2]
    eol_at = "2026-06-01"

    [[profiles]]                    # application inference profiles
    profile_id = "app-sonnet"
    model_id = "anthropic.claude-3-5-sonnet-20240620-v1:0"
"""

from __future__ import annotations

import argparse
import ipaddress
import json
import signal
import sys
import threading
from collections.abc import Mapping
from datetime import date, datetime, timezone
from pathlib import Path
from types import FrameType
from typing import Any

import bedrock_lifecycle as bl
from bedrock_lifecycle.testing import (
    FakeBedrock,
    FakeInferenceProfile,
    FakeModel,
    FakeUsage,
    LifecycleDates,
    Scenario,
)

from ._output import Output

__all__ = ["load_scenario", "run_fake_server"]

_TOP_KEYS = frozenset(
    {"now", "default_region", "account_id", "list_dates", "extends", "models", "profiles"}
)
_DATE_KEYS = ("legacy_at", "extended_access_at", "eol_at", "start_at")
_MODEL_KEYS = frozenset(
    {
        "model_id",
        "name",
        "provider",
        "regions",
        *_DATE_KEYS,
        "per_region",
        "profile_only",
        "streaming",
        "reply",
        "publish_dates",
        "input_tokens",
        "output_tokens",
        "latency_ms",
        "refuses",
        "refuses_together",
        "max_tokens",
    }
)
_PROFILE_KEYS = frozenset({"profile_id", "model_id", "region", "name", "description"})
_DUMMY_KEY_ID = "AKIAFAKEBEDROCKLOCAL"
_DUMMY_SECRET = "fake-bedrock-local-not-a-secret"  # noqa: S105 (a dummy on purpose)


def _read(path: Path) -> Any:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise bl.ConfigurationError(
            f"cannot read scenario file: {exc.strerror or exc}", source=str(path)
        ) from None
    except UnicodeDecodeError:
        raise bl.ConfigurationError("scenario file is not UTF-8 text", source=str(path)) from None
    suffix = path.suffix.lower()
    if suffix == ".json":
        try:
            return json.loads(text)
        except ValueError as exc:
            raise bl.ConfigurationError(f"invalid JSON: {exc}", source=str(path)) from None
    if suffix == ".toml":
        if sys.version_info >= (3, 11):
            import tomllib
        else:  # pragma: no cover - Python 3.10
            try:
                import tomli as tomllib
            except ImportError:
                raise bl.ConfigurationError(
                    "reading TOML on Python 3.10 needs the tomli package "
                    "(pip install 'bedrock-lifecycle[cli]')",
                    source=str(path),
                ) from None
        try:
            return tomllib.loads(text)
        except ValueError as exc:
            raise bl.ConfigurationError(f"invalid TOML: {exc}", source=str(path)) from None
    raise bl.ConfigurationError(
        "unsupported scenario file type; use .json or .toml", source=str(path)
    )


def _when(value: Any, key: str, source: str) -> date | datetime | None:
    if value is None or (isinstance(value, (date, datetime))):
        return value
    if isinstance(value, str):
        try:
            if len(value) == 10:
                return date.fromisoformat(value)
            moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            pass
        else:
            return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)
    raise bl.ConfigurationError(f"{value!r} is not a date (use YYYY-MM-DD)", key=key, source=source)


def _check_keys(data: Any, allowed: frozenset[str], where: str, source: str) -> Mapping[str, Any]:
    if not isinstance(data, Mapping):
        raise bl.ConfigurationError("must be a table", key=where, source=source)
    unknown = sorted(str(key) for key in data if key not in allowed)
    if unknown:
        raise bl.ConfigurationError(
            f"unknown key {unknown[0]!r} (expected one of {', '.join(sorted(allowed))})",
            key=where,
            source=source,
        )
    return data


def _strings(value: Any, key: str, source: str) -> tuple[str, ...]:
    if isinstance(value, str):
        return (value,)
    if isinstance(value, (list, tuple)) and all(isinstance(item, str) for item in value):
        return tuple(value)
    raise bl.ConfigurationError("must be a list of strings", key=key, source=source)


def _pairs(value: Any, key: str, source: str) -> tuple[tuple[str, str], ...]:
    if isinstance(value, (list, tuple)) and all(
        isinstance(pair, (list, tuple))
        and len(pair) == 2
        and all(isinstance(item, str) for item in pair)
        for pair in value
    ):
        return tuple((first, second) for first, second in value)
    raise bl.ConfigurationError("must be a list of [name, name] pairs", key=key, source=source)


def _model(data: Any, index: int, source: str) -> FakeModel:
    where = f"models[{index}]"
    values = _check_keys(data, _MODEL_KEYS, where, source)
    model_id = values.get("model_id")
    if not isinstance(model_id, str) or not model_id:
        raise bl.ConfigurationError("needs a model_id", key=where, source=source)
    kwargs: dict[str, Any] = {}
    for key in _DATE_KEYS:
        kwargs[key] = _when(values.get(key), f"{where}.{key}", source)
    if "regions" in values:
        kwargs["regions"] = _strings(values["regions"], f"{where}.regions", source)
    per_region = values.get("per_region", {})
    if not isinstance(per_region, Mapping):
        raise bl.ConfigurationError("must be a table", key=f"{where}.per_region", source=source)
    regional: dict[str, LifecycleDates] = {}
    for region, dates in per_region.items():
        key = f"{where}.per_region.{region}"
        table = _check_keys(dates, frozenset(_DATE_KEYS), key, source)
        regional[str(region)] = LifecycleDates(
            **{name: _when(table.get(name), f"{key}.{name}", source) for name in _DATE_KEYS}
        )
    kwargs["per_region"] = regional
    for key in ("name", "provider", "reply"):
        if key in values:
            if not isinstance(values[key], str):
                raise bl.ConfigurationError("must be a string", key=f"{where}.{key}", source=source)
            kwargs[key] = values[key]
    for key in ("profile_only", "streaming", "publish_dates"):
        if key in values:
            if not isinstance(values[key], bool):
                raise bl.ConfigurationError(
                    "must be true or false", key=f"{where}.{key}", source=source
                )
            kwargs[key] = values[key]
    if "refuses" in values:
        kwargs["refuses"] = _strings(values["refuses"], f"{where}.refuses", source)
    if "refuses_together" in values:
        kwargs["refuses_together"] = _pairs(
            values["refuses_together"], f"{where}.refuses_together", source
        )
    counts: dict[str, int | None] = {}
    for key in ("input_tokens", "output_tokens", "latency_ms", "max_tokens"):
        value = values.get(key)
        if value is not None and (isinstance(value, bool) or not isinstance(value, int)):
            raise bl.ConfigurationError(
                "must be a whole number", key=f"{where}.{key}", source=source
            )
        counts[key] = value
    if counts["max_tokens"] is not None:
        kwargs["max_tokens"] = counts["max_tokens"]
    if counts["latency_ms"] is not None:
        kwargs["latency_ms"] = counts["latency_ms"]
    kwargs["usage"] = FakeUsage(
        input_tokens=counts["input_tokens"], output_tokens=counts["output_tokens"]
    )
    try:
        return FakeModel(model_id, **kwargs)
    except (TypeError, ValueError) as exc:
        raise bl.ConfigurationError(str(exc), key=where, source=source) from None


def _profile(data: Any, index: int, source: str) -> FakeInferenceProfile:
    where = f"profiles[{index}]"
    values = _check_keys(data, _PROFILE_KEYS, where, source)
    if not all(isinstance(values.get(key), str) for key in ("profile_id", "model_id")):
        raise bl.ConfigurationError("needs profile_id and model_id", key=where, source=source)
    return FakeInferenceProfile(**{key: str(value) for key, value in values.items()})


def load_scenario(path: str | Path) -> Scenario:
    """Read a scenario file (``.json`` or ``.toml``); errors name the file and the key."""
    file = Path(path)
    source = str(path)
    data = _check_keys(_read(file), _TOP_KEYS, "scenario", source)
    extends = data.get("extends", "none")
    if extends == "default":
        base = Scenario.default()
    elif extends == "snapshot":
        base = Scenario.from_snapshot()
    elif extends == "none":
        base = Scenario()
    else:
        raise bl.ConfigurationError(
            "must be 'default', 'snapshot' or 'none'", key="extends", source=source
        )
    models = data.get("models", [])
    profiles = data.get("profiles", [])
    if not isinstance(models, list) or not isinstance(profiles, list):
        raise bl.ConfigurationError("models and profiles must be lists", source=source)
    scenario = base.with_models(*(_model(item, i, source) for i, item in enumerate(models)))
    changes: dict[str, Any] = {}
    if profiles:
        changes["profiles"] = base.profiles + tuple(
            _profile(item, i, source) for i, item in enumerate(profiles)
        )
    if "now" in data:
        changes["now"] = _when(data["now"], "now", source)
    for key, kind in (("default_region", str), ("account_id", str), ("list_dates", bool)):
        if key in data:
            if not isinstance(data[key], kind):
                raise bl.ConfigurationError(f"must be a {kind.__name__}", key=key, source=source)
            changes[key] = data[key]
    if not changes:
        return scenario
    from dataclasses import replace

    try:
        return replace(scenario, **changes)
    except (TypeError, ValueError) as exc:
        raise bl.ConfigurationError(str(exc), source=source) from None


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def run_fake_server(args: argparse.Namespace, out: Output) -> int:
    scenario = load_scenario(args.scenario) if args.scenario else Scenario.default()
    if not _is_loopback(args.host):
        out.note(f"warning: listening on {args.host}, not loopback; the fake has no authentication")
    stop = threading.Event()

    def on_signal(signum: int, _frame: FrameType | None) -> None:
        stop.set()

    previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        with FakeBedrock(scenario, host=args.host, port=args.port, now=args.now) as fake:
            url = fake.endpoint_url
            region = scenario.default_region
            out.line(
                f"Fake Amazon Bedrock listening on {url} ({len(scenario.models)} models, "
                f"clock at {fake.now.isoformat()})",
                "bold",
            )
            out.line("Point boto3 at it (dummy credentials are fine):")
            out.line(f"  export AWS_ENDPOINT_URL_BEDROCK_RUNTIME={url}")
            out.line(f"  export AWS_ENDPOINT_URL_BEDROCK={url}")
            out.line(
                f"  export AWS_ACCESS_KEY_ID={_DUMMY_KEY_ID} "
                f"AWS_SECRET_ACCESS_KEY={_DUMMY_SECRET} AWS_DEFAULT_REGION={region}"
            )
            out.line(f"  bedrock-lifecycle refresh --endpoint-url {url} --region {region}")
            out.line("Press Ctrl-C to stop.")
            out.stdout.flush()
            while not stop.wait(0.5):
                pass
            served = len(fake.requests)
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    out.line(f"Stopped after {served} request(s).")
    return 0
