"""`orderflow up --scale payment=N` on the real stack: N replicas of one consumer
group, each shown with its partitions; one beyond the partition count stands by; and
back to one."""

from __future__ import annotations

import time

import pytest

from orderflow_cli import stack
from orderflow_cli.stack import services

from .conftest import System

pytestmark = pytest.mark.integration

PARTITIONS = 4  # ORDERFLOW_KAFKA_PARTITIONS / <SERVICE>_TOPIC_PARTITIONS in the test stack


def payment_rows() -> dict[str, str]:
    return {
        row.name: row.partitions
        for row in stack.status(partitions=True)
        if row.name.startswith("payment")
    }


def settled(expected_names: set[str], timeout: float = 60.0) -> dict[str, str]:
    deadline = time.monotonic() + timeout
    while True:
        rows = payment_rows()
        held = [p for p in rows.values() if p.startswith("payment.commands")]
        counted = sum(len(p.split(" ", 1)[1].split(",")) for p in held)
        if set(rows) == expected_names and counted == PARTITIONS:
            return rows
        if time.monotonic() > deadline:
            raise AssertionError(f"payment replicas never settled: {rows}")
        time.sleep(0.5)


def test_scaling_payment_out_past_its_partitions_and_back(system: System) -> None:
    try:
        services.start_all(system.settings, scale={"payment": PARTITIONS + 1})
        names = {"payment", *(f"payment#{n}" for n in range(2, PARTITIONS + 2))}
        rows = settled(names)
        standing_by = [name for name, held in rows.items() if held == "none (stands by)"]
        assert len(standing_by) == 1, rows
        assert services.url("payment", 3) == "http://127.0.0.1:8205"
    finally:
        services.start_all(system.settings, scale={"payment": 1})
    assert settled({"payment"}) == {"payment": "payment.commands 0,1,2,3"}
