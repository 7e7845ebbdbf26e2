"""Benchmark: commit-to-publish latency of the outbox relay at idle.

Commits one outbox row at a time (spaced, so the relay is idle between rows) and reads
the topic with a plain consumer; the latency of a row is the time from its transaction
commit to its arrival at the consumer, an upper bound of commit-to-publish. Needs the
running stack (`orderflow up --infra-only`); writes bench/results/outbox_latency.json.

    .venv/bin/python bench/outbox_latency.py --rows 200
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import time
import uuid
from pathlib import Path

from aiokafka import AIOKafkaConsumer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from orderflow_cli.stack import read_env
from orderflow_messaging.db import create_engine
from orderflow_messaging.envelope import Envelope
from orderflow_messaging.kafka import connection_options, start_producer, stop_producer
from orderflow_messaging.outbox import Outbox
from orderflow_messaging.registry import Message
from orderflow_messaging.relay import OutboxRelay
from orderflow_messaging.settings import KafkaSettings
from orderflow_messaging.tables import create_messaging_tables


class Tick(Message):
    TYPE = "Tick"
    n: int


async def main(rows: int, gap_s: float) -> dict[str, object]:
    env = read_env()
    kafka = KafkaSettings(bootstrap_servers=env["KAFKA_BOOTSTRAP_SERVERS"])
    schema, topic = f"bench_{uuid.uuid4().hex[:8]}", f"bench.outbox.{uuid.uuid4().hex[:8]}"
    admin = AIOKafkaAdminClient(**connection_options(kafka))
    await admin.start()
    await admin.create_topics([NewTopic(topic, num_partitions=4, replication_factor=1)])
    setup = create_engine(env["DATABASE_URL"], pool_size=1)
    async with setup.begin() as conn:
        await conn.exec_driver_sql(f"CREATE SCHEMA {schema}")
    engine = create_engine(env["DATABASE_URL"], search_path=schema, pool_size=4)
    async with engine.begin() as conn:
        await conn.run_sync(create_messaging_tables)
    producer = await start_producer(kafka)
    relay = OutboxRelay(engine, producer, kafka, schema=schema)
    stop = asyncio.Event()
    relay_task = asyncio.create_task(relay.run(stop))
    consumer = AIOKafkaConsumer(
        topic,
        **connection_options(kafka),
        auto_offset_reset="earliest",
        group_id=None,
    )
    await consumer.start()
    committed: dict[uuid.UUID, float] = {}
    latencies: list[float] = []
    try:
        await asyncio.sleep(1.0)  # let the relay's LISTEN connection settle
        for n in range(rows):
            async with engine.begin() as conn:
                envelope = await Outbox(conn, producer="bench").put(
                    topic, Tick(n=n), correlation_id=f"k{n % 16}"
                )
            committed[envelope.message_id] = time.perf_counter()
            deadline = time.monotonic() + 5
            while len(latencies) <= n and time.monotonic() < deadline:
                for batch in (await consumer.getmany(timeout_ms=50)).values():
                    for record in batch:
                        sent = Envelope.model_validate_json(record.value or b"")
                        latencies.append((time.perf_counter() - committed[sent.message_id]) * 1000)
            await asyncio.sleep(gap_s)
    finally:
        stop.set()
        await relay_task
        await consumer.stop()
        await stop_producer(producer, kafka)
        await engine.dispose()
        async with setup.begin() as conn:
            await conn.exec_driver_sql(f"DROP SCHEMA {schema} CASCADE")
        await setup.dispose()
        await admin.delete_topics([topic])
        await admin.close()
    latencies.sort()
    return {
        "rows": rows,
        "received": len(latencies),
        "median_ms": round(statistics.median(latencies), 2),
        "p95_ms": round(latencies[int(len(latencies) * 0.95) - 1], 2),
        "max_ms": round(latencies[-1], 2),
        "target_median_ms": 100,
    }


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=200)
    parser.add_argument("--gap", type=float, default=0.02, help="seconds between rows")
    args = parser.parse_args()
    result = asyncio.run(main(args.rows, args.gap))
    out = Path(__file__).parent / "results" / "outbox_latency.json"
    out.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result))
