"""`orderflow up --scale` arguments and the partitions column."""

from __future__ import annotations

import pytest

from orderflow_cli.main import parse_scale
from orderflow_cli.stack.assignments import compact


def test_scale_takes_service_equals_count() -> None:
    assert parse_scale(["payment=3", "orders=2"]) == {"payment": 3, "orders": 2}
    assert parse_scale([]) == {}


@pytest.mark.parametrize("bad", ["payment", "payment=", "payment=0", "=2", "payment=two"])
def test_a_malformed_scale_is_refused(bad: str) -> None:
    with pytest.raises(ValueError, match="SERVICE=N"):
        parse_scale([bad])


def test_partitions_are_shown_per_topic() -> None:
    held = ["payment.events:2", "payment.commands:3", "payment.commands:0"]
    assert compact(held) == "payment.commands 0,3; payment.events 2"
    assert compact([]) == ""
