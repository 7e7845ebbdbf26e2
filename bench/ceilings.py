"""The machine's own ceilings for orderflow's traffic shape, measured on the real stack:
- Kafka: produce (idempotent, acks=all) and consume of ~700-byte records keyed by order id;
- PostgreSQL: transactions shaped like a consumer's (inbox insert + state update + outbox insert).
"""

from __future__ import annotations

import asyncio
import os
import time
import uuid

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from orderflow_messaging.db import create_engine
from orderflow_messaging.kafka import client_options

PAYLOAD = b'{"payload": "' + b"x" * 680 + b'"}'


async def kafka_ceiling(bootstrap: str, messages: int = 50_000) -> dict[str, float]:
    topic = f"bench.ceiling.{uuid.uuid4().hex[:8]}"
    admin = AIOKafkaAdminClient(**client_options(bootstrap))
    await admin.start()
    await admin.create_topics([NewTopic(topic, num_partitions=4, replication_factor=1)])
    producer = AIOKafkaProducer(
        **client_options(bootstrap), acks="all", enable_idempotence=True, linger_ms=5,
        max_batch_size=262_144,
    )  # fmt: skip
    await producer.start()
    keys = [str(uuid.uuid4()).encode() for _ in range(1000)]
    started = time.perf_counter()
    futures = [await producer.send(topic, PAYLOAD, key=keys[i % 1000]) for i in range(messages)]
    await asyncio.gather(*futures)
    produce_s = time.perf_counter() - started
    await producer.stop()
    consumer = AIOKafkaConsumer(
        topic, **client_options(bootstrap), auto_offset_reset="earliest", group_id=None,
        max_partition_fetch_bytes=4 * 1024 * 1024,
    )  # fmt: skip
    await consumer.start()
    received, started = 0, time.perf_counter()
    while received < messages:
        for batch in (await consumer.getmany(timeout_ms=500, max_records=5000)).values():
            received += len(batch)
    consume_s = time.perf_counter() - started
    await consumer.stop()
    await admin.delete_topics([topic])
    await admin.close()
    return {
        "produce_msgs_per_s": round(messages / produce_s),
        "consume_msgs_per_s": round(messages / consume_s),
        "msgs_per_s": round(messages / (produce_s + consume_s) * 2) // 2,
    }


async def postgres_ceiling(
    admin_url: str, seconds: float = 10.0, workers: int = 8
) -> dict[str, float]:
    schema = f"bench_{uuid.uuid4().hex[:8]}"
    setup = create_engine(admin_url, pool_size=1)
    async with setup.begin() as conn:
        await conn.exec_driver_sql(f"CREATE SCHEMA {schema}")
        for ddl in (
            "CREATE TABLE {s}.inbox (consumer text, message_id uuid, "
            "PRIMARY KEY (consumer, message_id))",
            "CREATE TABLE {s}.state (id int PRIMARY KEY, n bigint NOT NULL)",
            "CREATE TABLE {s}.outbox (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, "
            "message_id uuid, value bytea, published_at timestamptz)",
        ):
            await conn.exec_driver_sql(ddl.format(s=schema))
        await conn.exec_driver_sql(
            f"INSERT INTO {schema}.state SELECT g, 0 FROM generate_series(1, 10000) g"  # noqa: S608
        )
    engine = create_engine(admin_url, search_path=schema, pool_size=workers)
    done = 0
    deadline = time.perf_counter() + seconds

    async def worker(index: int) -> None:
        nonlocal done
        n = index
        while time.perf_counter() < deadline:
            async with engine.begin() as conn:
                await conn.exec_driver_sql(
                    "INSERT INTO inbox VALUES ('bench', $1)", (uuid.uuid4(),)
                )
                await conn.exec_driver_sql(
                    "UPDATE state SET n = n + 1 WHERE id = $1", (n % 10000 + 1,)
                )
                await conn.exec_driver_sql(
                    "INSERT INTO outbox (message_id, value) VALUES ($1, $2)",
                    (uuid.uuid4(), PAYLOAD),
                )
            done += 1
            n += workers

    started = time.perf_counter()
    await asyncio.gather(*(worker(i) for i in range(workers)))
    elapsed = time.perf_counter() - started
    await engine.dispose()
    async with setup.begin() as conn:
        await conn.exec_driver_sql(f"DROP SCHEMA {schema} CASCADE")
    await setup.dispose()
    return {"txn_per_s": round(done / elapsed), "workers": workers, "cores": os.cpu_count() or 0}
