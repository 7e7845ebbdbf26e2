"""json_text: the hot path's JSON parameters read back exactly as json.dumps' would,
whatever orjson can or cannot write."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone
from typing import Any
from uuid import UUID

import pytest
from hypothesis import given
from hypothesis import strategies as st

from orderflow_messaging.envelope import json_default
from orderflow_messaging.jsontext import json_text

_scalars = (
    st.none()
    | st.booleans()
    | st.integers()  # also beyond 64 bits: written exactly, by json.dumps
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text()
)
_json = st.recursive(
    _scalars,
    lambda inner: st.lists(inner, max_size=5) | st.dictionaries(st.text(), inner, max_size=5),
    max_leaves=30,
)


@given(_json)
def test_reads_back_as_what_json_dumps_writes(value: Any) -> None:
    assert json.loads(json_text(value)) == json.loads(json.dumps(value))


def test_an_integer_beyond_64_bits_is_exact_not_rounded() -> None:
    big = 2**70 + 1
    assert json.loads(json_text({"n": big, "m": [-(2**65)]})) == {"n": big, "m": [-(2**65)]}


def test_uuids_and_datetimes_are_written_as_json_default_writes_them() -> None:
    moments = [
        datetime(2026, 12, 7, 1, 2, 3, 456789, tzinfo=UTC),
        datetime(2026, 12, 7, 1, 2, 3, tzinfo=timezone(timedelta(hours=5, minutes=30))),
    ]
    value = {"id": UUID(int=7), "at": moments}
    assert json.loads(json_text(value)) == json.loads(json.dumps(value, default=json_default))


def test_compact_and_tuples_as_arrays() -> None:
    assert json_text({"a": (1, 2), "b": "x"}) == '{"a":[1,2],"b":"x"}'
    assert json_text({1: "non-str key"}) == '{"1":"non-str key"}'


def test_what_neither_can_write_is_a_type_error() -> None:
    with pytest.raises(TypeError, match="not JSON serialisable"):
        json_text({"x": object()})
