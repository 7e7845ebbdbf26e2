"""Duplicates and crashes: effects stay exactly-once."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys

from sqlalchemy import text

from orderflow_messaging.crash import CRASH_EXIT_CODE
from orderflow_messaging.header_codec import unpack_headers
from orderflow_messaging.outbox import Outbox, OutgoingRecord

from .conftest import Harness, eventually, read_all, running_consumer, running_relay


async def test_duplicate_delivery_is_counted_and_skipped(
    harness: Harness, kafka_bootstrap: str
) -> None:
    message_id = await harness.put("order-dup", 1)
    async with harness.engine.begin() as conn:
        row = (await conn.execute(text("SELECT topic, key, value, header_bytes FROM outbox"))).one()
        # The same envelope queued three more times: what a retrying producer would do.
        for _ in range(3):
            await Outbox(conn, producer="test").put_record(
                OutgoingRecord(row.topic, row.key, row.value, unpack_headers(row.header_bytes))
            )

    async with (
        running_relay(harness),
        running_consumer(harness, harness.consumer(), group_id="dup"),
    ):

        async def three_duplicates() -> bool:
            return await harness.scalar("SELECT duplicates FROM inbox") == 3

        await eventually(three_duplicates)

    assert await harness.effects() == [("order-dup", 1)]
    if not harness.optimistic:  # (an optimistic batch's handler may run again)
        assert harness.handled == [message_id]
    assert len(await read_all(kafka_bootstrap, harness.topic, expect=4)) == 4


def _relay_process(harness: Harness, crash_points: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "ORDERFLOW_CRASH_POINTS": crash_points}
    return subprocess.run(
        [
            sys.executable, "-m", "orderflow_messaging", "relay", "--once",
            "--database-url", harness.db.url, "--schema", harness.db.schema,
            "--bootstrap", harness.kafka.bootstrap_servers,
        ],
        env=env, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip


async def test_crash_between_publish_and_mark_duplicates_are_absorbed(
    harness: Harness, kafka_bootstrap: str
) -> None:
    for i in range(5):
        await harness.put(f"order-{i}", i)

    crashed = await asyncio.to_thread(_relay_process, harness, "relay.after_publish")
    assert crashed.returncode == CRASH_EXIT_CODE, crashed.stderr
    # Published, but the crash came before the mark: every row is still pending.
    assert await harness.scalar("SELECT count(*) FROM outbox_pending") == 5
    # The relay died after the broker acknowledged its first slot's rows.
    before_crash = len(await read_all(kafka_bootstrap, harness.topic, expect=5, timeout=5))
    assert before_crash >= 1

    clean = await asyncio.to_thread(_relay_process, harness, "")
    assert clean.returncode == 0, clean.stderr
    assert await harness.scalar("SELECT count(*) FROM outbox_pending") == 0
    total = 5 + before_crash
    assert len(await read_all(kafka_bootstrap, harness.topic, expect=total)) == total

    async with running_consumer(harness, harness.consumer(), group_id="crash"):

        async def duplicates_absorbed() -> bool:
            return await harness.scalar("SELECT sum(duplicates) FROM inbox") == before_crash

        await eventually(duplicates_absorbed)

    assert sorted(n for _, n in await harness.effects()) == [0, 1, 2, 3, 4]
