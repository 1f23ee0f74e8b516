"""``FakeBedrock``: the object tests hold. One engine, two faces (loopback HTTP, in-process)."""

from __future__ import annotations

import io
import threading
from collections.abc import Iterator
from datetime import datetime, timedelta
from types import TracebackType
from typing import TYPE_CHECKING, Any, Literal
from urllib.parse import urlsplit

import boto3
import botocore.loaders
import botocore.session
from botocore.awsrequest import AWSPreparedRequest, AWSResponse
from botocore.compat import HTTPHeaders
from botocore.config import Config
from botocore.exceptions import ConnectionClosedError

from .._clock import Clock
from ._engine import Engine, FakeRequest
from ._faults import Fault, FaultKind, RecordedRequest
from ._scenario import Scenario
from ._server import LoopbackServer

if TYPE_CHECKING:
    from botocore.client import BaseClient

__all__ = ["FakeBedrock"]

Mode = Literal["server", "inprocess"]

DUMMY_ACCESS_KEY = "AKIAFAKEBEDROCKTEST0"
DUMMY_SECRET_KEY = "fake-bedrock-secret-key-not-a-credential"  # noqa: S105 (a dummy on purpose)


class _RawBody(io.BytesIO):
    """What botocore reads an in-process response from (``stream()`` like urllib3's)."""

    def stream(self, amt: int = 65536, decode_content: bool | None = None) -> Iterator[bytes]:
        while True:
            chunk = self.read(amt)
            if not chunk:
                return
            yield chunk


_LOADER_LOCK = threading.Lock()
_LOADER: list[Any] = []


def _shared_loader() -> Any:
    """One botocore data loader for every session the fake builds (its cache makes new clients
    cheap: service models are parsed once per process)."""
    with _LOADER_LOCK:
        if not _LOADER:
            _LOADER.append(botocore.loaders.create_loader())
        return _LOADER[0]


def _isolated_botocore_session() -> botocore.session.Session:
    """A botocore session that reads no profile, config file or credentials file."""
    session = botocore.session.Session(
        session_vars={
            "profile": (None, None, None, None),
            "config_file": (None, None, "/nonexistent/fake-bedrock/config", None),
            "credentials_file": (None, None, "/nonexistent/fake-bedrock/credentials", None),
        }
    )
    session.register_component("data_loader", _shared_loader())
    return session


class FakeBedrock:
    """A fake Amazon Bedrock (control plane and runtime) that real boto3 clients talk to.

    ``scenario`` declares the models (default: :meth:`Scenario.default`). ``now`` fixes the
    fake's clock (a datetime or a zero-argument callable; default: the scenario's ``now``, else
    the wall clock). ``idle_days`` is the idle-Legacy window (``None`` turns the rule off).
    The loopback server starts the first time :attr:`endpoint_url` is read (or on :meth:`start`)
    and stops on :meth:`close` / leaving the ``with`` block.
    """

    def __init__(
        self,
        scenario: Scenario | None = None,
        *,
        now: datetime | Clock | None = None,
        idle_days: int | None = 15,
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        self._engine = Engine(
            scenario if scenario is not None else Scenario.default(), now=now, idle_days=idle_days
        )
        self._host = host
        self._port = port
        self._server: LoopbackServer | None = None
        self._server_lock = threading.Lock()
        self._closed = False

    def __repr__(self) -> str:
        where = self._server.endpoint_url if self._server is not None else "not listening"
        return (
            f"FakeBedrock({where}, now={self.now.isoformat()}, models={len(self.scenario.models)})"
        )

    # -- lifecycle of the fake itself -------------------------------------------------------

    def __enter__(self) -> FakeBedrock:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def start(self) -> FakeBedrock:
        """Start the loopback server (idempotent)."""
        with self._server_lock:
            if self._closed:
                raise RuntimeError("this FakeBedrock is closed")
            if self._server is None:
                self._server = LoopbackServer(self._engine, self._host, self._port)
        return self

    @property
    def endpoint_url(self) -> str:
        """``http://127.0.0.1:<port>`` of the loopback server (started on first use)."""
        self.start()
        assert self._server is not None
        return self._server.endpoint_url

    @property
    def port(self) -> int | None:
        """The server's port, or ``None`` while it is not listening."""
        return self._server.port if self._server is not None else None

    def close(self) -> None:
        """Stop the server (if started): no thread or port outlives this call."""
        with self._server_lock:
            self._closed = True
            server, self._server = self._server, None
        if server is not None:
            server.close()

    # -- scenario and clock -----------------------------------------------------------------

    @property
    def scenario(self) -> Scenario:
        """The world being served; assign a new :class:`Scenario` to change it."""
        return self._engine.scenario

    @scenario.setter
    def scenario(self, value: Scenario) -> None:
        self._engine.scenario = value

    @property
    def now(self) -> datetime:
        """The fake's current time (aware UTC)."""
        return self._engine.now()

    @now.setter
    def now(self, value: datetime) -> None:
        self._engine.set_time(value)

    def set_time(self, when: datetime) -> None:
        """Freeze the fake's clock at ``when``."""
        self._engine.set_time(when)

    def advance(self, delta: timedelta) -> datetime:
        """Move the fake's clock forward by ``delta``; returns the new time."""
        return self._engine.advance(delta)

    def clock(self) -> datetime:
        """The fake's time, as a :data:`bedrock_lifecycle._clock.Clock` to inject elsewhere."""
        return self._engine.now()

    @property
    def idle_days(self) -> int | None:
        """The idle-Legacy window in days (``None``: rule off)."""
        return self._engine.idle_days

    def mark_used(
        self, model_id: str, at: datetime | None = None, *, region: str | None = None
    ) -> None:
        """Record a call to ``model_id`` at ``at`` (default: now) in ``region`` (default: all)."""
        self._engine.mark_used(model_id, at if at is not None else self.now, region)

    def mark_idle(self, model_id: str, since: datetime, *, region: str | None = None) -> None:
        """Make ``model_id`` last used at ``since`` (so it is idle once the window has passed)."""
        self._engine.mark_used(model_id, since, region)

    def forget_use(self, model_id: str, *, region: str | None = None) -> None:
        """Forget every recorded call to ``model_id`` (it is then never judged idle)."""
        self._engine.forget_use(model_id, region)

    def last_used(self, model_id: str, region: str) -> datetime | None:
        """When ``model_id`` last answered a runtime call in ``region``, if known."""
        return self._engine.last_used(model_id, region)

    # -- faults -----------------------------------------------------------------------------

    def inject(
        self,
        operation: str | None,
        kind: FaultKind | str,
        *,
        times: int | None = None,
        model_id: str | None = None,
        delay: float = 0.0,
        after_events: int = 0,
        exception_type: str = "modelStreamErrorException",
        message: str | None = None,
    ) -> Fault:
        """Make ``operation`` (``None``: every operation) fail with ``kind``.

        ``times=None`` keeps the fault until :meth:`clear_faults`; ``model_id`` limits it to
        requests naming that id (as sent, or the base id it resolves to). ``delay`` is for
        ``latency``; ``after_events`` and ``exception_type`` for ``stream_error``.
        """
        if times is not None and times < 1:
            raise ValueError("times must be a positive number (or None for always)")
        fault = Fault(
            kind=FaultKind(kind),
            operation=operation,
            times=times,
            model_id=model_id,
            delay=delay,
            after_events=after_events,
            exception_type=exception_type,
            message=message,
        )
        self._engine.add_fault(fault)
        return fault

    def clear_faults(self) -> None:
        """Remove every injected fault."""
        self._engine.clear_faults()

    @property
    def faults(self) -> tuple[Fault, ...]:
        """Faults still armed (``times`` shows what is left)."""
        return self._engine.faults()

    # -- request log ------------------------------------------------------------------------

    @property
    def requests(self) -> tuple[RecordedRequest, ...]:
        """Every request answered so far, oldest first."""
        return self._engine.requests()

    def count(
        self,
        operation: str | None = None,
        *,
        model_id: str | None = None,
        region: str | None = None,
        status_code: int | None = None,
    ) -> int:
        """How many requests matched (``model_id`` matches as sent or resolved)."""
        return sum(
            1
            for record in self._engine.requests()
            if (operation is None or record.operation == operation)
            and (model_id is None or model_id in (record.model_id, record.resolved_model))
            and (region is None or record.region == region)
            and (status_code is None or record.status_code == status_code)
        )

    def clear_requests(self) -> None:
        """Empty the request log."""
        self._engine.clear_requests()

    # -- clients ----------------------------------------------------------------------------

    def handle_before_send(self, request: AWSPreparedRequest, **_: Any) -> AWSResponse:
        """botocore ``before-send`` handler: answer ``request`` in-process."""
        body: Any = request.body
        if hasattr(body, "read"):
            body = body.read()
        if body is None:
            raw = b""
        elif isinstance(body, str):
            raw = body.encode("utf-8")
        else:
            raw = bytes(body)
        parts = urlsplit(request.url)
        path = parts.path + (f"?{parts.query}" if parts.query else "")
        sent_headers: dict[str, Any] = dict(request.headers.items())
        lowered = {
            str(name).lower(): value.decode("utf-8") if isinstance(value, bytes) else str(value)
            for name, value in sent_headers.items()
        }
        fake_request = FakeRequest(
            method=request.method or "GET", path=path, headers=lowered, body=raw, mode="inprocess"
        )
        response = self._engine.handle(fake_request)
        if response.drop:
            raise ConnectionClosedError(endpoint_url=request.url)
        headers = HTTPHeaders()
        for name, value in response.headers:
            headers[name] = value
        return AWSResponse(request.url, response.status, headers, _RawBody(response.body))

    @property
    def _handler(self) -> Any:
        return self.handle_before_send

    def attach(self, client: BaseClient) -> BaseClient:
        """Route ``client`` (any boto3 bedrock / bedrock-runtime client) to this fake in-process."""
        client.meta.events.register(
            "before-send", self._handler, unique_id=f"fake-bedrock-{id(self)}"
        )
        return client

    def detach(self, client: BaseClient) -> None:
        """Undo :meth:`attach`."""
        client.meta.events.unregister(
            "before-send", self._handler, unique_id=f"fake-bedrock-{id(self)}"
        )

    @staticmethod
    def _config(retries: int, config: Config | None) -> Config:
        options: dict[str, Any] = {
            "signature_version": "v4",
            "retries": {"total_max_attempts": retries + 1, "mode": "standard"},
            "ignore_configured_endpoint_urls": True,
            "connect_timeout": 5,
            "read_timeout": 30,
        }
        base = Config(**options)
        return base.merge(config) if config is not None else base

    def session(self, region_name: str = "us-east-1", *, retries: int = 0) -> boto3.Session:
        """A boto3 Session with dummy credentials whose clients all talk to this fake in-process.

        The session reads no profile, config file or credential file.
        """
        core = _isolated_botocore_session()
        core.set_default_client_config(self._config(retries, None))
        core.register("before-send", self._handler, unique_id=f"fake-bedrock-{id(self)}")
        return boto3.Session(
            aws_access_key_id=DUMMY_ACCESS_KEY,
            aws_secret_access_key=DUMMY_SECRET_KEY,
            region_name=region_name,
            botocore_session=core,
        )

    def client(
        self,
        service_name: Literal["bedrock", "bedrock-runtime"] | str = "bedrock-runtime",
        region_name: str = "us-east-1",
        *,
        mode: Mode = "inprocess",
        retries: int = 0,
        config: Config | None = None,
    ) -> Any:
        """A real boto3 client with dummy credentials talking to this fake.

        ``mode="server"`` sends real HTTP to :attr:`endpoint_url`; ``"inprocess"`` answers from a
        ``before-send`` handler without a socket. ``retries`` is botocore's retry count (standard
        mode; 0 = one attempt). ``config`` is merged over the fake's defaults.
        """
        if mode not in ("server", "inprocess"):
            raise ValueError("mode must be 'server' or 'inprocess'")
        service: Any = service_name
        session = boto3.Session(
            aws_access_key_id=DUMMY_ACCESS_KEY,
            aws_secret_access_key=DUMMY_SECRET_KEY,
            region_name=region_name,
            botocore_session=_isolated_botocore_session(),
        )
        if mode == "server":
            return session.client(
                service,
                endpoint_url=self.endpoint_url,
                config=self._config(retries, config),
            )
        client = session.client(service, config=self._config(retries, config))
        return self.attach(client)
