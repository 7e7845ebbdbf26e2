"""The alert rules against real metrics: a poison command is dead-lettered by the real
payment service; its /metrics, as scraped, is fed to `promtool test rules` with the
rules of deploy/prometheus/alerts.yml, and OrderflowDeadLetters fires with the labels
the service exposes (and not before the dead letter)."""

from __future__ import annotations

import asyncio
import time
import uuid
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from orderflow_contracts import topics
from orderflow_testing.promtool import rule_test, series_name

from .conftest import System
from .kafka_io import produce

pytestmark = pytest.mark.integration

SERIES = "orderflow_dead_letters_total"
LABELS = {"consumer": "payment", "topic": topics.PAYMENT_COMMANDS, "reason": "MALFORMED_JSON"}


async def dead_letters(http: httpx.AsyncClient, system: System) -> float:
    text = (await http.get(system.url("payment") + "/metrics")).text
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == SERIES and sample.labels == LABELS:
                return float(sample.value)
    return 0.0


def series(value_before: float, value_after: float) -> dict[str, str]:
    labels = {**LABELS, "job": "orderflow-payment", "instance": "127.0.0.1:8005"}
    name = series_name(SERIES, labels)
    # Scraped every minute: the value before the poison for 5 minutes, then after.
    return {"series": name, "values": f"{value_before:g}x4 {value_after:g}x20"}


async def test_a_real_dead_letter_fires_the_dead_letter_alert(
    http: httpx.AsyncClient, system: System, tmp_path: Path
) -> None:
    before = await dead_letters(http, system)
    key = f"poison-{uuid.uuid4().hex[:8]}"
    await produce(system.settings["KAFKA_BOOTSTRAP_SERVERS"], topics.PAYMENT_COMMANDS,
                  [(key, b"{not json")])  # fmt: skip
    deadline = time.monotonic() + 60
    while (after := await dead_letters(http, system)) <= before:
        assert time.monotonic() < deadline, "payment never dead-lettered the poison"
        await asyncio.sleep(0.5)

    expected = {
        "exp_labels": {"severity": "ticket", **LABELS},
        "exp_annotations": {
            "summary": f"payment dead-lettered records of {topics.PAYMENT_COMMANDS} "
            "(MALFORMED_JSON) in the last 15 minutes",
            "runbook": "docs/runbook.md#dead-letters",
        },
    }
    await rule_test(
        tmp_path,
        [series(before, after)],
        [
            {"eval_time": "3m", "alertname": "OrderflowDeadLetters", "exp_alerts": []},
            {"eval_time": "8m", "alertname": "OrderflowDeadLetters", "exp_alerts": [expected]},
        ],
    )
