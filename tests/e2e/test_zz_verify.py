"""Runs after the other end-to-end tests (file order): once everything settled, every
invariant holds across all services' data and every topic (dead-letter topics included)."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import time
from pathlib import Path

from .conftest import System

ORDERFLOW = str(Path(sys.executable).with_name("orderflow"))


async def test_invariants_hold_after_the_suite(system: System) -> None:
    deadline = time.monotonic() + 60
    while True:
        result = await asyncio.to_thread(
            subprocess.run,
            [ORDERFLOW, "verify", "--json"],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        report = json.loads(result.stdout)
        if report["ok"] or time.monotonic() > deadline:
            break
        await asyncio.sleep(1)  # outboxes and late replies settle
    failing = {k: v["violations"][:5] for k, v in report["checks"].items() if not v["ok"]}
    assert report["ok"], failing
    # The broker-side invariants ran too: the dead letters the suite made (test_dlq_tools,
    # test_upstream_door) are well-formed and accounted for, and no topic holds card data.
    assert {"dlq_accounting", "topic_hygiene", "consumer_lag"} <= set(report["checks"])
    assert result.returncode == 0
    assert report["stats"]["orders"].get("COMPLETED", 0) >= 1
