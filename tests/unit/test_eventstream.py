"""The event-stream encoder, checked against botocore's own decoder."""

from __future__ import annotations

import struct
import zlib

import pytest
from botocore.eventstream import (
    ChecksumMismatch,
    EventStreamBuffer,
    EventStreamMessage,
)

from bedrock_lifecycle.testing import encode_event, encode_exception, encode_message


def _decode(data: bytes) -> list[EventStreamMessage]:
    buffer = EventStreamBuffer()
    buffer.add_data(data)
    return list(buffer)


def test_message_round_trips_through_botocore() -> None:
    raw = encode_message({":message-type": "event", "x-custom": "välue"}, b"payload")
    (message,) = _decode(raw)
    assert message.headers == {":message-type": "event", "x-custom": "välue"}
    assert message.payload == b"payload"
    assert message.prelude.total_length == len(raw)


def test_prelude_and_message_crcs_are_those_of_the_spec() -> None:
    raw = encode_message({"a": "b"}, b"{}")
    total, headers_length, prelude_crc = struct.unpack(">III", raw[:12])
    assert total == len(raw)
    assert headers_length == 1 + 1 + 1 + 2 + 1  # name length, name, type, value length, value
    assert prelude_crc == zlib.crc32(raw[:8])
    assert struct.unpack(">I", raw[-4:])[0] == zlib.crc32(raw[:-4])


def test_corrupted_payload_is_rejected_by_botocore() -> None:
    raw = bytearray(encode_message({"a": "b"}, b"hello"))
    raw[-6] ^= 0xFF
    with pytest.raises(ChecksumMismatch):
        _decode(bytes(raw))


def test_empty_headers_and_payload() -> None:
    (message,) = _decode(encode_message({}, b""))
    assert message.headers == {}
    assert message.payload == b""


def test_event_and_exception_frames_carry_bedrock_headers() -> None:
    data = encode_event("chunk", {"bytes": "e30="}) + encode_exception(
        "throttlingException", "slow down"
    )
    event, exception = _decode(data)
    assert event.headers == {
        ":event-type": "chunk",
        ":content-type": "application/json",
        ":message-type": "event",
    }
    assert event.payload == b'{"bytes":"e30="}'
    assert exception.headers[":message-type"] == "exception"
    assert exception.headers[":exception-type"] == "throttlingException"
    assert exception.payload == b'{"message":"slow down"}'


def test_several_messages_split_across_reads_decode_in_order() -> None:
    data = b"".join(encode_event("contentBlockDelta", {"n": n}) for n in range(5))
    buffer = EventStreamBuffer()
    seen = []
    for start in range(0, len(data), 7):
        buffer.add_data(data[start : start + 7])
        seen.extend(message.payload for message in buffer)
    assert seen == [f'{{"n":{n}}}'.encode() for n in range(5)]


@pytest.mark.parametrize(
    ("name", "value"),
    [("", "x"), ("n" * 256, "x"), ("name", "v" * 32768)],
)
def test_out_of_range_headers_are_refused(name: str, value: str) -> None:
    with pytest.raises(ValueError):
        encode_message({name: value}, b"")
