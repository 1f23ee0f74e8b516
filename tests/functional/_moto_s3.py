"""S3 for the fleet tests: moto's server on loopback, and boto3 pointed at it the way a process
is configured (environment only)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import boto3
import botocore.loaders
import botocore.session
import pytest

BUCKET = "fleet-bucket"

_LOADER = botocore.loaders.create_loader()


def new_session() -> boto3.Session:
    """A boto3 Session configured from the environment, as a process would make it, sharing one
    botocore loader with the others (each service model is parsed once: tests stay fast)."""
    core = botocore.session.Session()
    core.register_component("data_loader", _LOADER)
    return boto3.Session(botocore_session=core)


def point_boto3_at(monkeypatch: pytest.MonkeyPatch, s3_url: str) -> None:
    """boto3's normal configuration, from the environment only: dummy credentials, S3 at moto,
    no retries (an outage is seen at once)."""
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_ENDPOINT_URL_S3", s3_url)
    monkeypatch.setenv("AWS_CONFIG_FILE", "/dev/null")
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", "/dev/null")
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "1")


@contextmanager
def moto_server() -> Iterator[str]:
    """moto's S3 server on loopback (its URL), stopped when the block ends: connections to it
    are refused from then on, as in an outage."""
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    try:
        yield f"http://{host}:{port}"
    finally:
        server.stop()
