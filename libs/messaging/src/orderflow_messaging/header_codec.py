"""How the outbox stores a record's headers.

``outbox.header_bytes`` holds them packed (``pack_headers``); rows written before that
column have ``headers``, JSON of ``[name, base64(value)]`` pairs, which the relay still
reads (``stored_headers``) and a downgrade writes again (``encode_headers``).
"""

from __future__ import annotations

import base64
import struct
from collections.abc import Sequence

from orderflow_messaging.envelope import Headers

# Each header in ``outbox.header_bytes``: its name's and its value's lengths in bytes
# (4 each, big-endian), then the name (UTF-8) and the value.
_HEADER = struct.Struct(">II")


def pack_headers(headers: Sequence[tuple[str, bytes]]) -> bytes:
    """A record's headers as the outbox stores them (``header_bytes``). Header values
    may be any bytes; JSON of base64 (the ``headers`` column of rows written before)
    cost ~3x the Python to write and read, and PostgreSQL a JSONB parse per row."""
    parts: list[bytes] = []
    for name, value in headers:
        raw_name, raw_value = name.encode(), value or b""
        parts += (_HEADER.pack(len(raw_name), len(raw_value)), raw_name, raw_value)
    return b"".join(parts)


def unpack_headers(packed: bytes) -> Headers:
    headers: Headers = []
    at, end, step = 0, len(packed), _HEADER.size
    while at < end:
        name_length, value_length = _HEADER.unpack_from(packed, at)
        at += step
        name = packed[at : at + name_length].decode()
        at += name_length
        headers.append((name, packed[at : at + value_length]))
        at += value_length
    return headers


def stored_headers(packed: bytes | None, legacy: Sequence[Sequence[str]] | None) -> Headers:
    """An outbox row's headers: ``header_bytes``, or for a row written before it was
    introduced, ``headers`` (JSON of ``[name, base64(value)]`` pairs)."""
    if packed is not None:
        return unpack_headers(packed)
    return decode_headers(legacy or ())


def encode_headers(headers: Sequence[tuple[str, bytes]]) -> list[list[str]]:
    """The JSON form of earlier rows (``outbox.headers``): for a downgrade."""
    return [[name, base64.b64encode(value or b"").decode()] for name, value in headers]


def decode_headers(stored: Sequence[Sequence[str]]) -> Headers:
    return [(name, base64.b64decode(value)) for name, value in stored]
