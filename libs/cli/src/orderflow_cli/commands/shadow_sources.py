"""Where a shadow replay reads its inputs, read-only: the saga rows and their history
(with the admin URL, one repeatable-read snapshot) and the messages that history names
(from the Kafka topics, with a consumer that belongs to no group and commits nothing)."""

from __future__ import annotations

import json
import time
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from uuid import UUID

import asyncpg
from aiokafka import AIOKafkaConsumer

from orderflow_cli.commands.shadow_replay import HistoryRow
from orderflow_contracts import registry, topics
from orderflow_messaging.envelope import HEADER_MESSAGE_ID, header_value
from orderflow_messaging.errors import PoisonMessage
from orderflow_messaging.kafka import client_options
from orderflow_messaging.registry import Message, MessageRegistry
from orders.adapters.repository import saga_of
from orders.saga.state import Saga

# What the saga coordinator consumes: OrderPlaced and the participants' replies.
INPUT_TOPICS = (
    topics.CHECKOUT_EVENTS,
    topics.INVENTORY_EVENTS,
    topics.PAYMENT_EVENTS,
    topics.SHIPPING_EVENTS,
)


@dataclass(frozen=True)
class RecordedSaga:
    live: Saga
    rows: list[HistoryRow] = field(default_factory=list)


async def load_sagas(
    admin_url: str, order_ids: Sequence[str] | None = None, since: datetime | None = None
) -> list[RecordedSaga]:
    """The live sagas (all, these orders, or those created since) with their history in
    id order, as of one snapshot: a reply handled meanwhile is in both or in neither."""
    where: list[str] = ["TRUE"]
    args: list[Any] = []
    if order_ids:
        args.append(list(order_ids))
        where.append(f"order_id = ANY(${len(args)}::text[])")
    if since is not None:
        args.append(since)
        where.append(f"created_at >= ${len(args)}")
    condition = " AND ".join(where)
    conn = await asyncpg.connect(admin_url, timeout=10)
    try:
        async with conn.transaction(isolation="repeatable_read", readonly=True):
            sagas = await conn.fetch(
                f"SELECT * FROM orders.sagas WHERE {condition} ORDER BY created_at, order_id",  # noqa: S608
                *args,
            )
            history = await conn.fetch(
                "SELECT order_id, kind, at, message_type, message_id, note "
                "FROM orders.saga_history WHERE order_id = ANY($1::text[]) ORDER BY id",
                [row["order_id"] for row in sagas],
            )
    finally:
        await conn.close()
    recorded = {row["order_id"]: RecordedSaga(_live(row)) for row in sagas}
    for row in history:
        recorded[row["order_id"]].rows.append(
            HistoryRow(
                kind=row["kind"],
                at=row["at"],
                message_type=row["message_type"],
                message_id=UUID(str(row["message_id"])) if row["message_id"] else None,
                note=row["note"],
            )
        )
    return list(recorded.values())


def _live(row: Any) -> Saga:
    """Through the orders repository's own row mapping, so both read a row alike."""
    values = dict(row)
    data = values["data"]
    values["data"] = json.loads(data) if isinstance(data, str) else data
    return saga_of(values)


async def fetch_messages(
    bootstrap: str,
    wanted: Collection[UUID],
    topic_names: Sequence[str] = INPUT_TOPICS,
    *,
    timeout_s: float = 300.0,
) -> dict[UUID, Message]:
    """The wanted messages, decoded with the contracts registry (older versions arrive
    upcast), from the beginning of each topic up to its end offsets read at start."""
    wanted_ids = {str(message_id) for message_id in wanted}
    found: dict[UUID, Message] = {}
    if not wanted_ids:
        return found
    decoder = registry()
    # Subscribed with no group: every partition is assigned, nothing is ever committed.
    consumer = AIOKafkaConsumer(
        *topic_names,
        **client_options(bootstrap),
        group_id=None,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
    )
    await consumer.start()
    try:
        deadline = time.monotonic() + timeout_s
        # start() waits for the topics' metadata and assigns all their partitions.
        partitions = sorted(consumer.assignment())
        if not partitions:
            return found
        ends: dict[Any, int] = await consumer.end_offsets(partitions)
        await consumer.seek_to_beginning(*partitions)
        pending = {tp for tp in partitions if ends[tp] > 0}
        while pending and len(found) < len(wanted_ids):
            if time.monotonic() > deadline:
                raise TimeoutError(f"reading {', '.join(topic_names)} took over {timeout_s} s")
            batches = await consumer.getmany(*pending, timeout_ms=500)
            for tp, records in batches.items():
                for record in records:
                    if record.offset < ends[tp]:
                        _collect(decoder, record, wanted_ids, found)
            for tp in list(pending):
                if await consumer.position(tp) >= ends[tp]:
                    pending.discard(tp)
    finally:
        await consumer.stop()
    return found


def _collect(
    decoder: MessageRegistry, record: Any, wanted: set[str], found: dict[UUID, Message]
) -> None:
    header = header_value(record.headers or (), HEADER_MESSAGE_ID)
    if header is not None and header.decode(errors="replace") not in wanted:
        return
    try:
        decoded = decoder.decode(record.value)
    except PoisonMessage:
        return  # the coordinator dead-lettered it: no history row names it
    message_id = decoded.envelope.message_id
    if str(message_id) in wanted:
        found[message_id] = decoded.message
