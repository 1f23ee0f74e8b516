"""One object many processes read: a shared lifecycle snapshot or policy in S3 or a file.

A fleet publishes one copy (``bedrock-lifecycle refresh --all-regions --to s3://...``) and every
process reads it instead of calling the control plane itself. :class:`SharedSource` is the
transport only: a conditional read (``If-None-Match`` with the last ETag for S3; size and
modification time for a file) with a size limit, and an owner-only atomic write for publishing.
What the bytes mean (a snapshot, a policy) and how they are validated belongs to the caller.

S3 is reached through boto3's own configuration (the session given, profiles, environment,
``AWS_ENDPOINT_URL_S3``); the library adds no settings of its own. The S3 client is made on the
first read, never at construction.
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from ._cache_file import write_private
from ._errors import ConfigurationError

__all__ = [
    "DEFAULT_MAX_BYTES",
    "SharedSource",
    "SourceStats",
    "SourceTooLarge",
    "SourceUnavailable",
]

logger = logging.getLogger(__name__)

DEFAULT_MAX_BYTES = 8 * 1024 * 1024
"""The largest object read (8 MiB): a snapshot of every region is well under 1 MiB."""


class SourceUnavailable(Exception):
    """The shared object could not be read (outage, denied, missing, too large)."""

    def __init__(self, location: str, reason: str) -> None:
        super().__init__(f"cannot read {location}: {reason}")
        self.location = location
        self.reason = reason


class SourceTooLarge(SourceUnavailable):
    """The object is over the size limit. Like a corrupt object, it stays rejected: its version
    tag is remembered, so the next read is conditional and answers "unchanged" (``None``) until
    the object changes."""

    def __init__(self, location: str, reason: str, tag: object) -> None:
        super().__init__(location, reason)
        self.tag = tag


@dataclass(frozen=True, slots=True)
class SourceStats:
    """What a source has done so far (for tests, benchmarks and ``status``)."""

    reads: int
    """Reads attempted, conditional or not."""
    not_modified: int
    """Reads answered "unchanged" (S3's 304, or the file's size and mtime unchanged)."""
    failures: int
    """Reads that raised :class:`SourceUnavailable`."""


def _parse_location(location: str | os.PathLike[str]) -> tuple[str, str] | Path:
    """``s3://bucket/key`` -> (bucket, key); a path or ``file://`` URL -> Path."""
    text = os.fspath(location)
    if text.startswith("s3://"):
        bucket, _, key = text[5:].partition("/")
        if not bucket or not key:
            raise ConfigurationError(f"an S3 location is s3://bucket/key, got {text!r}")
        return bucket, key
    if text.startswith("file://"):
        text = text[7:]
    elif "://" in text:
        scheme = text.split("://", 1)[0]
        raise ConfigurationError(f"unsupported location scheme {scheme!r} (use s3:// or a path)")
    if not text:
        raise ConfigurationError("the shared source location is empty")
    return Path(text)


class SharedSource:
    """A conditional reader (and writer) of one object in S3 or on disk. Thread-safe.

    :meth:`read` returns the object's bytes when they changed since the last successful read,
    ``None`` when they did not. A caller that rejects the bytes (a corrupt object) keeps them
    rejected: the version tag is remembered, so the same bad object is not fetched, nor complained
    about, again until it changes.
    """

    def __init__(
        self,
        location: str | os.PathLike[str],
        *,
        session: Any = None,
        client: Any = None,
        max_bytes: int = DEFAULT_MAX_BYTES,
    ) -> None:
        if max_bytes <= 0:
            raise ConfigurationError(f"max_bytes must be positive, got {max_bytes!r}")
        self.location = os.fspath(location)
        """The location as given (for messages)."""
        self._where = _parse_location(location)
        self._session = session
        self._client = client
        self._max_bytes = max_bytes
        self._lock = threading.Lock()
        self._tag: object = None
        self._reads = self._not_modified = self._failures = 0

    @property
    def is_s3(self) -> bool:
        """Whether the object lives in S3."""
        return not isinstance(self._where, Path)

    def stats(self) -> SourceStats:
        """Counts of reads, "unchanged" answers and failures so far."""
        with self._lock:
            return SourceStats(self._reads, self._not_modified, self._failures)

    def read(self) -> bytes | None:
        """The object's bytes if changed since the last read, else ``None``.

        Raises :class:`SourceUnavailable` when the object cannot be read; the last version tag
        is kept, so the next read after an outage is still conditional.
        """
        with self._lock:
            self._reads += 1
            tag = self._tag
        try:
            if isinstance(self._where, Path):
                new_tag, body = self._read_file(self._where, tag)
            else:
                new_tag, body = self._read_s3(*self._where, tag)
        except SourceTooLarge as exc:
            with self._lock:
                self._failures += 1
                if exc.tag is not None:
                    self._tag = exc.tag
            raise
        except SourceUnavailable:
            with self._lock:
                self._failures += 1
            raise
        with self._lock:
            if body is None:
                self._not_modified += 1
            else:
                self._tag = new_tag
        return body

    def write(self, body: bytes) -> None:
        """Publish ``body``: ``PutObject`` to S3, or an owner-only atomic write to the file.

        Errors (``ClientError``, ``OSError``) propagate: a publisher should fail loudly.
        """
        if isinstance(self._where, Path):
            write_private(self._where, body)
            return
        bucket, key = self._where
        self._s3().put_object(Bucket=bucket, Key=key, Body=body, ContentType="application/json")

    # -- transports ---------------------------------------------------------------------------

    def _read_file(self, path: Path, tag: object) -> tuple[object, bytes | None]:
        try:
            stat = path.stat()
            new_tag = (stat.st_size, stat.st_mtime_ns, stat.st_ino)
            if new_tag == tag:
                return tag, None
            if stat.st_size > self._max_bytes:
                raise SourceTooLarge(self.location, self._too_large(stat.st_size), new_tag)
            with path.open("rb") as handle:
                body = handle.read(self._max_bytes + 1)
        except OSError as exc:
            raise SourceUnavailable(self.location, exc.strerror or type(exc).__name__) from exc
        if len(body) > self._max_bytes:
            raise SourceTooLarge(self.location, self._too_large(len(body)), new_tag)
        return new_tag, body

    def _read_s3(self, bucket: str, key: str, tag: object) -> tuple[object, bytes | None]:
        params: dict[str, Any] = {"Bucket": bucket, "Key": key}
        if isinstance(tag, str):
            params["IfNoneMatch"] = tag
        try:
            response = self._s3().get_object(**params)
        except ClientError as exc:
            status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
            code = str(exc.response.get("Error", {}).get("Code", ""))
            if status == 304 or code in ("304", "NotModified"):
                return tag, None
            raise SourceUnavailable(self.location, code or f"HTTP {status}") from exc
        except BotoCoreError as exc:
            raise SourceUnavailable(self.location, type(exc).__name__) from exc
        stream = response["Body"]
        try:
            length = response.get("ContentLength")
            if isinstance(length, int) and length > self._max_bytes:
                raise SourceTooLarge(self.location, self._too_large(length), response.get("ETag"))
            try:
                body = stream.read(self._max_bytes + 1)
            except (BotoCoreError, OSError) as exc:
                raise SourceUnavailable(self.location, type(exc).__name__) from exc
        finally:
            with contextlib.suppress(Exception):
                stream.close()
        if len(body) > self._max_bytes:
            raise SourceTooLarge(self.location, self._too_large(len(body)), response.get("ETag"))
        return response.get("ETag"), body

    def _too_large(self, size: int) -> str:
        return f"{size} bytes is over the limit of {self._max_bytes}"

    def _s3(self) -> Any:
        client = self._client
        if client is None:
            with self._lock:
                if self._client is None:
                    session = self._session
                    if session is None:
                        import boto3

                        session = boto3.session.Session()
                    self._client = session.client("s3")
                client = self._client
        return client

    def __repr__(self) -> str:
        return f"SharedSource({self.location!r})"
