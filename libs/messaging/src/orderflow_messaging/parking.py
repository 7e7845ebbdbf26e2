"""Per-key sequencing of dead letters.

When a handler gives up on a message (PERMANENT_FAILURE, RETRIES_EXHAUSTED), its key (the
order) is parked: later messages of that key go to the DLQ too, with reason PARKED, in
their original order, instead of being applied out of order. Redriving the DLQ replays
the first one and then the parked ones; the first redriven message that succeeds
unparks the key. Undecodable poison does not park a key: it carries no meaning to
preserve, and parking would block an order behind garbage.
"""

from __future__ import annotations

from uuid import UUID

from orderflow_messaging.db import Connection

# Which keys of a batch are parked is asked by the batch's inbox claim (inbox.py).
_PARK = (
    "INSERT INTO parked_keys (consumer, key, message_id) VALUES ($1, $2, $3) "
    "ON CONFLICT (consumer, key) DO NOTHING"
)
_UNPARK = "DELETE FROM parked_keys WHERE consumer = $1 AND key = $2"


class Parking:
    def __init__(self, consumer: str) -> None:
        self.consumer = consumer

    async def park(self, conn: Connection, key: bytes, message_id: UUID) -> None:
        await conn.execute(_PARK, self.consumer, key, message_id)

    async def unpark(self, conn: Connection, key: bytes) -> bool:
        status = await conn.execute(_UNPARK, self.consumer, key)
        return bool(status != "DELETE 0")
