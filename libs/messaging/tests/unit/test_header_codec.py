"""How the outbox stores a record's headers: packed bytes, and the JSON of earlier rows."""

from __future__ import annotations

import pytest

from orderflow_messaging.header_codec import (
    encode_headers,
    pack_headers,
    stored_headers,
    unpack_headers,
)

HEADERS = [
    ("message_id", b"01a2531b-b789-7572-8211-9106d8b813ba"),
    ("type", b"OrderCompleted"),
    ("dlq.original", b"\x00\xff\xfe not UTF-8 \x80"),
    ("empty", b""),
    ("größe", "ünïcode".encode()),
    ("type", b"a second value of a name"),
    ("large", b"x" * 70_000),
]


@pytest.mark.parametrize("headers", [HEADERS, [], [("only", b"")]], ids=["many", "none", "empty"])
def test_packed_headers_come_back_as_they_were(headers: list[tuple[str, bytes]]) -> None:
    assert unpack_headers(pack_headers(headers)) == headers


def test_a_missing_value_is_stored_empty() -> None:
    assert unpack_headers(pack_headers([("k", None)])) == [("k", b"")]  # type: ignore[list-item]


def test_packed_is_smaller_than_the_json_of_base64() -> None:
    import json

    small = HEADERS[:2]
    assert len(pack_headers(small)) < len(json.dumps(encode_headers(small)))


def test_a_row_written_before_header_bytes_is_read_from_its_json() -> None:
    assert stored_headers(None, encode_headers(HEADERS)) == HEADERS
    assert stored_headers(pack_headers(HEADERS), None) == HEADERS
    assert stored_headers(b"", None) == []
