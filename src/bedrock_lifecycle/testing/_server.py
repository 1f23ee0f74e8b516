"""The loopback HTTP face of the fake: a ThreadingHTTPServer on 127.0.0.1, closed cleanly."""

from __future__ import annotations

import contextlib
import json
import logging
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from ._engine import Engine, FakeRequest

__all__ = ["LoopbackServer"]

logger = logging.getLogger(__name__)

_MAX_BODY = 32 * 1024 * 1024


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "FakeBedrock"
    sys_version = ""

    def version_string(self) -> str:
        return self.server_version

    timeout = 30.0
    disable_nagle_algorithm = True
    server: _Server

    def setup(self) -> None:
        super().setup()
        self.server.track(self.connection)

    def finish(self) -> None:
        try:
            super().finish()
        finally:
            self.server.untrack(self.connection)

    def log_message(self, format: str, *args: Any) -> None:
        logger.debug("fake bedrock: " + format, *args)

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        """Protocol-level errors (bad request line, unknown method) as JSON, never HTML."""
        self.close_connection = True
        kind = "ValidationException" if code < 500 else "InternalServerException"
        if code in (404, 405, 501):
            kind, code = "UnknownOperationException", 404
        body = json.dumps({"message": message or "Bad request"}).encode("utf-8")
        headers = [("Content-Type", "application/json"), ("x-amzn-ErrorType", kind)]
        if self.request_version == "HTTP/0.9":
            self.request_version = "HTTP/1.0"
        self._answer(code, headers, body)

    def _read_body(self) -> bytes | None:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            body = bytearray()
            while True:
                line = self.rfile.readline(1024)
                size = int(line.split(b";", 1)[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline(1024) not in (b"\r\n", b"\n", b""):
                        pass
                    return bytes(body)
                body += self.rfile.read(size)
                self.rfile.readline(1024)
                if len(body) > _MAX_BODY:
                    return None
        length = int(self.headers.get("Content-Length") or 0)
        if length < 0 or length > _MAX_BODY:
            return None
        return self.rfile.read(length) if length else b""

    def _serve(self) -> None:
        try:
            body = self._read_body()
        except (ValueError, OSError):
            body = None
        if body is None:
            self.close_connection = True
            self._answer(400, [("Content-Type", "application/json")], b'{"message":"Bad request"}')
            return
        request = FakeRequest(
            method=self.command,
            path=self.path,
            headers={name.lower(): value for name, value in self.headers.items()},
            body=body,
            mode="server",
        )
        response = self.server.engine.handle(request)
        if response.drop:
            self.close_connection = True
            with contextlib.suppress(OSError):
                self.connection.shutdown(socket.SHUT_RDWR)
            return
        self._answer(response.status, list(response.headers), response.body)

    def _answer(self, status: int, headers: list[tuple[str, str]], body: bytes) -> None:
        self.send_response(status)
        for name, value in headers:
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = do_OPTIONS = _serve


class _Server(ThreadingHTTPServer):
    daemon_threads = False
    block_on_close = True
    allow_reuse_address = False

    def __init__(self, engine: Engine, host: str, port: int) -> None:
        self.engine = engine
        self._connections: set[socket.socket] = set()
        self._connections_lock = threading.Lock()
        super().__init__((host, port), _Handler)

    def track(self, connection: socket.socket) -> None:
        with self._connections_lock:
            self._connections.add(connection)

    def untrack(self, connection: socket.socket) -> None:
        with self._connections_lock:
            self._connections.discard(connection)

    def drop_all(self) -> None:
        with self._connections_lock:
            connections = list(self._connections)
        for connection in connections:
            with contextlib.suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)

    def handle_error(self, request: Any, client_address: Any) -> None:
        logger.debug("fake bedrock: connection from %s failed", client_address, exc_info=True)


class LoopbackServer:
    """Serves ``engine`` over HTTP on ``host`` (a free port unless ``port`` is given)."""

    def __init__(self, engine: Engine, host: str = "127.0.0.1", port: int = 0) -> None:
        self._server = _Server(engine, host, port)
        address = self._server.server_address
        self.host, self.port = str(address[0]), int(address[1])
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name=f"fake-bedrock-{self.port}",
            daemon=True,
        )
        self._thread.start()

    @property
    def endpoint_url(self) -> str:
        """``http://127.0.0.1:<port>``."""
        return f"http://{self.host}:{self.port}"

    def close(self) -> None:
        """Stop accepting, drop open keep-alive connections, join every thread, free the port."""
        self._server.shutdown()
        self._thread.join()
        self._server.drop_all()
        self._server.server_close()
