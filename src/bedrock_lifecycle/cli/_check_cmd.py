"""``check``: preflight the successors the models in use would fall back to (:func:`preflight`)."""

from __future__ import annotations

import argparse
from typing import Any

import bedrock_lifecycle as bl

from ._common import build_catalog, load_policy, models_in_use, regions_from
from ._output import Output

__all__ = ["run_check"]

_NOTHING_KNOWN = (
    "no models in use to check ({origin} has none). Name models (bedrock-lifecycle check "
    "MODEL ...), pass --ledger PATH, or run your application with bedrock-lifecycle first."
)


class _EndpointSession:
    """A boto3 session whose clients all go to ``--endpoint-url`` (a local fake or a proxy)."""

    def __init__(self, endpoint_url: str) -> None:
        import boto3

        self._session = boto3.Session()
        self._endpoint_url = endpoint_url

    def client(self, service_name: str, region_name: str | None = None, **kwargs: Any) -> Any:
        kwargs.setdefault("endpoint_url", self._endpoint_url)
        return self._session.client(service_name, region_name=region_name, **kwargs)  # type: ignore[call-overload]


def _targets(args: argparse.Namespace, catalog: bl.Catalog) -> list[tuple[list[str], list[str]]]:
    """``(regions, model ids)`` to check: the models named in every region, else those in use
    (from ``--ledger`` or the cache file), each in the region it was used in."""
    regions = regions_from(args)
    if args.models:
        return [(regions, list(dict.fromkeys(args.models)))]
    found, origin = models_in_use(catalog, args.ledger, args.region)
    if not found:
        raise bl.ConfigurationError(_NOTHING_KNOWN.format(origin=origin))
    grouped: dict[str, list[str]] = {}
    for item in found:
        in_region = grouped.setdefault(item.region or regions[0], [])
        if item.model_id not in in_region:
            in_region.append(item.model_id)
    return [([region], models) for region, models in grouped.items()]


def run_check(args: argparse.Namespace, out: Output) -> int:
    policy = load_policy(args.policy)
    catalog = build_catalog(args)
    try:
        targets = _targets(args, catalog)
        session = _EndpointSession(args.endpoint_url) if args.endpoint_url else None
        reports = [
            bl.preflight(
                policy,
                regions=regions,
                models=models,
                catalog=catalog,
                session=session,
                invoke=args.invoke,
                prices=args.prices,
            )
            for regions, models in targets
        ]
    finally:
        catalog.close()
    report = bl.PreflightReport(
        rows=tuple(row for each in reports for row in each.rows),
        at=reports[0].at,
        invoked=args.invoke,
    )
    if args.json:
        out.json(report.to_dict())
    else:
        for line in report.to_text().splitlines():
            style = None
            if line.startswith(("  PROBLEM", "  REFUSED", "Not ready")):
                style = "bold red"
            elif line.startswith("Ready"):
                style = "green"
            out.line(line, style)
    return 0 if report.ok else 1
