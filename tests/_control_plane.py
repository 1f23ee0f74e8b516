"""Test helpers shared by the catalog fault tests and the reliability suite.

A control plane that a test can break on demand (through the fake's fault injection, a read
timeout, or a credential chain with nothing to find), the dated snapshot row those tests use,
and waiting for the catalog's background threads.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.config import Config

from bedrock_lifecycle._bundled import SnapshotRow, load_snapshot
from bedrock_lifecycle.testing import FakeBedrock, FaultKind

LIST = "ListFoundationModels"

Injection = tuple[FaultKind, Mapping[str, Any]]
"""A fault kind and the keyword arguments for ``FakeBedrock.inject``."""


def dated_row() -> SnapshotRow:
    """The first bundled row with regions, a Legacy date and an EOL date."""
    for row in load_snapshot().rows:
        if row.regions and row.legacy_at and row.eol_at:
            return row
    raise AssertionError("the bundled snapshot has no dated row")


def settle(prefix: str = "bedrock-lifecycle-", timeout: float = 15.0) -> None:
    """Wait until no catalog background thread (named ``prefix...``) is running."""
    deadline = time.monotonic() + timeout
    for thread in threading.enumerate():
        if thread.name.startswith(prefix):
            thread.join(max(0.0, deadline - time.monotonic()))
            assert not thread.is_alive(), f"{thread.name} did not finish"


def without_credentials(monkeypatch: pytest.MonkeyPatch, folder: Path) -> None:
    """Leave boto3's default credential chain with nothing to find."""
    for name in (
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_SESSION_TOKEN",
        "AWS_SECURITY_TOKEN",
        "AWS_PROFILE",
        "AWS_DEFAULT_PROFILE",
        "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
        "AWS_CONTAINER_CREDENTIALS_FULL_URI",
        "AWS_CONTAINER_AUTHORIZATION_TOKEN",
        "AWS_WEB_IDENTITY_TOKEN_FILE",
        "AWS_ROLE_ARN",
        "AWS_CREDENTIAL_EXPIRATION",
    ):
        monkeypatch.delenv(name, raising=False)
    empty = folder / "empty-aws-config"
    empty.write_text("", "utf-8")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(empty))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(empty))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")


class BreakableControlPlane:
    """Hands a catalog real boto3 ``bedrock`` clients (its ``client_factory``) and breaks them.

    ``fault`` names the failure: a key of ``injected`` (a fault the fake injects into
    ListFoundationModels), ``"timeout"`` (a server-mode client whose read timeout is shorter
    than the injected delay) or ``"no-credentials"`` (after ``break_()``, a client from a
    session whose credential chain finds nothing). Any other name never breaks.
    """

    def __init__(
        self,
        fake: FakeBedrock,
        fault: str,
        injected: Mapping[str, Injection],
        *,
        read_timeout: float = 0.15,
    ) -> None:
        self.fake = fake
        self.fault = fault
        self.injected = injected
        self.read_timeout = read_timeout
        self.broken = False

    def client(self, region: str) -> Any:
        if self.fault == "timeout":
            config = Config(read_timeout=self.read_timeout, connect_timeout=1)
            return self.fake.client("bedrock", region, mode="server", config=config)
        if self.fault == "no-credentials":
            return _CredentialSwitch(self, region)
        return self.fake.client("bedrock", region)

    def break_(self) -> None:
        self.broken = True
        found = self.injected.get(self.fault)
        if found is not None:
            kind, options = found
            self.fake.inject(LIST, kind, **options)

    def mend(self) -> None:
        self.broken = False
        self.fake.clear_faults()


class _CredentialSwitch:
    """Forwards to a real boto3 bedrock client: one with dummy credentials while healthy, one
    from a session that can find no credentials at all while broken."""

    def __init__(self, plane: BreakableControlPlane, region: str) -> None:
        self._plane = plane
        self._healthy = plane.fake.client("bedrock", region)
        self._broken: Any = None
        self.meta = self._healthy.meta

    def __getattr__(self, name: str) -> Any:
        if not self._plane.broken:
            return getattr(self._healthy, name)
        if self._broken is None:
            session = boto3.Session(region_name=self.meta.region_name)
            config = Config(retries={"total_max_attempts": 1})
            self._broken = self._plane.fake.attach(session.client("bedrock", config=config))
        return getattr(self._broken, name)
