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

from orderflow_messaging.db import Connection

_PARKED = "SELECT key FROM parked_keys WHERE consumer = $1 AND key = ANY($2::bytea[])"
_PARK = (
    "INSERT INTO parked_keys (consumer, key, message_id) VALUES ($1, $2, $3) "
    "ON CONFLICT (consumer, key) DO NOTHING"
)
_UNPARK = "DELETE FROM parked_keys WHERE consumer = $1 AND key = $2"


class Parking:
    def __init__(self, consumer: str) -> None:
        self.consumer = consumer

    async def parked(self, conn: Connection, keys: Iterable[bytes | None]) -> set[bytes]:
        """Which of ``keys`` are parked: one statement for a whole batch."""
        wanted = sorted({k for k in keys if k is not None})
        if not wanted:
            return set()
        return {bytes(row[0]) for row in await conn.fetch(_PARKED, self.consumer, wanted)}

    async def park(self, conn: Connection, key: bytes, message_id: UUID) -> None:
        await conn.execute(_PARK, self.consumer, key, message_id)

    async def unpark(self, conn: Connection, key: bytes) -> bool:
        status = await conn.execute(_UNPARK, self.consumer, key)
        return bool(status != "DELETE 0")
