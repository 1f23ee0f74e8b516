"""An encoder for ``application/vnd.amazon.eventstream`` messages.

botocore ships a decoder (``botocore.eventstream``) but no encoder. A message is::

    prelude   total length (uint32) | headers length (uint32) | CRC32 of those 8 bytes
    headers   repeated: name length (uint8) | name | value type (uint8) | value
    payload   raw bytes
    trailer   CRC32 of everything before it (uint32)

All integers are big-endian. Only string headers (type 7: uint16 length + UTF-8 bytes) are
needed to speak Bedrock's streams.
"""

from __future__ import annotations

import json
import struct
import zlib
from collections.abc import Mapping
from typing import Any

__all__ = ["encode_event", "encode_exception", "encode_message"]

_PRELUDE = struct.Struct(">II")
_CRC = struct.Struct(">I")
_STRING_HEADER = 7
_MAX_HEADER_NAME = 255
_MAX_HEADER_VALUE = 32767


def _encode_headers(headers: Mapping[str, str]) -> bytes:
    out = bytearray()
    for name, value in headers.items():
        raw_name = name.encode("utf-8")
        raw_value = value.encode("utf-8")
        if not 0 < len(raw_name) <= _MAX_HEADER_NAME:
            raise ValueError(f"event-stream header name {name!r} must be 1-255 bytes")
        if len(raw_value) > _MAX_HEADER_VALUE:
            raise ValueError(f"event-stream header {name!r} value is too long")
        out += bytes((len(raw_name),)) + raw_name
        out += bytes((_STRING_HEADER,)) + struct.pack(">H", len(raw_value)) + raw_value
    return bytes(out)


def encode_message(headers: Mapping[str, str], payload: bytes) -> bytes:
    """One complete event-stream message with string ``headers`` and ``payload``."""
    raw_headers = _encode_headers(headers)
    total = _PRELUDE.size + _CRC.size + len(raw_headers) + len(payload) + _CRC.size
    prelude = _PRELUDE.pack(total, len(raw_headers))
    head = prelude + _CRC.pack(zlib.crc32(prelude) & 0xFFFFFFFF) + raw_headers + payload
    return head + _CRC.pack(zlib.crc32(head) & 0xFFFFFFFF)


def _json(body: Any) -> bytes:
    return json.dumps(body, separators=(",", ":")).encode("utf-8")


def encode_event(event_type: str, body: Any) -> bytes:
    """An ``event`` message whose payload is ``body`` as JSON."""
    headers = {
        ":event-type": event_type,
        ":content-type": "application/json",
        ":message-type": "event",
    }
    return encode_message(headers, _json(body))


def encode_exception(exception_type: str, message: str) -> bytes:
    """An ``exception`` message, which botocore raises as ``EventStreamError``.

    ``exception_type`` is the member name in the stream's union (``throttlingException``,
    ``modelStreamErrorException``, ...).
    """
    headers = {
        ":exception-type": exception_type,
        ":content-type": "application/json",
        ":message-type": "exception",
    }
    return encode_message(headers, _json({"message": message}))
