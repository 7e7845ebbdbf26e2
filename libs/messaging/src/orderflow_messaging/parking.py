"""Per-key sequencing of dead letters.

When a handler gives up on a message (PERMANENT_FAILURE, RETRIES_EXHAUSTED), its key (the
order) is parked: later messages of that key go to the DLQ too, with reason PARKED, in
their original order, instead of being applied out of order. Redriving the DLQ replays
the first one and then the parked ones; the first redriven message that succeeds
unparks the key. Undecodable poison does not park a key: it carries no meaning to
preserve, and parking would block an order behind garbage.
"""

from __future__ import annotations

from collections.abc import Iterable
from uuid import UUID

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncConnection

from orderflow_messaging.sql import insert_or_ignore
from orderflow_messaging.tables import parked_keys


class Parking:
    def __init__(self, consumer: str) -> None:
        self.consumer = consumer

    async def parked(self, conn: AsyncConnection, keys: Iterable[bytes | None]) -> set[bytes]:
        wanted = sorted({k for k in keys if k is not None})
        if not wanted:
            return set()
        rows = await conn.execute(
            select(parked_keys.c.key).where(
                parked_keys.c.consumer == self.consumer, parked_keys.c.key.in_(wanted)
            )
        )
        return {bytes(row.key) for row in rows}

    async def park(self, conn: AsyncConnection, key: bytes, message_id: UUID) -> None:
        row = dict(consumer=self.consumer, key=key, message_id=message_id)
        await conn.execute(insert_or_ignore(parked_keys, row, ["consumer", "key"]), row)

    async def unpark(self, conn: AsyncConnection, key: bytes) -> bool:
        result = await conn.execute(
            delete(parked_keys).where(
                parked_keys.c.consumer == self.consumer, parked_keys.c.key == key
            )
        )
        return bool(result.rowcount)
