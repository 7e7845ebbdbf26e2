"""The inbox: which messages a consumer has handled, written in the effect's transaction."""

from __future__ import annotations

from enum import StrEnum
from uuid import UUID

from sqlalchemy import delete, text
from sqlalchemy.ext.asyncio import AsyncConnection

from orderflow_messaging.envelope import SourceCoordinates
from orderflow_messaging.tables import delivery_attempts


class InboxStatus(StrEnum):
    PROCESSED = "processed"
    DEAD_LETTERED = "dead_lettered"
    IGNORED = "ignored"


_INSERT = text(
    """
    INSERT INTO inbox (consumer, message_id, topic, partition, "offset", message_type, status)
    VALUES (:consumer, :message_id, :topic, :partition, :offset, :message_type, :status)
    ON CONFLICT (consumer, message_id) DO NOTHING
    RETURNING 1
    """
)
# A dead-lettered message that comes back (a redrive) is handled again, once.
_RECLAIM = text(
    """
    UPDATE inbox SET status = :status, topic = :topic, partition = :partition,
                     "offset" = :offset, handled_at = now()
    WHERE consumer = :consumer AND message_id = :message_id AND status = 'dead_lettered'
    RETURNING 1
    """
)
_COUNT_DUPLICATE = text(
    "UPDATE inbox SET duplicates = duplicates + 1 "
    "WHERE consumer = :consumer AND message_id = :message_id"
)


class Inbox:
    def __init__(self, consumer: str) -> None:
        self.consumer = consumer

    async def claim(
        self,
        conn: AsyncConnection,
        message_id: UUID,
        source: SourceCoordinates,
        *,
        message_type: str | None,
        status: InboxStatus = InboxStatus.PROCESSED,
    ) -> bool:
        """True when this message is new to this consumer (apply its effect), else False."""
        params = {
            "consumer": self.consumer,
            "message_id": message_id,
            "topic": source.topic,
            "partition": source.partition,
            "offset": source.offset,
            "message_type": message_type,
            "status": status.value,
        }
        if (await conn.execute(_INSERT, params)).first() is not None:
            return True
        reclaimable = status is not InboxStatus.DEAD_LETTERED
        if reclaimable and (await conn.execute(_RECLAIM, params)).first() is not None:
            return True
        await conn.execute(_COUNT_DUPLICATE, params)
        return False

    async def attempts(self, conn: AsyncConnection, source: SourceCoordinates) -> int:
        value = await conn.scalar(
            text(
                "SELECT attempts FROM delivery_attempts WHERE consumer = :c AND topic = :t "
                'AND partition = :p AND "offset" = :o'
            ),
            {"c": self.consumer, "t": source.topic, "p": source.partition, "o": source.offset},
        )
        return int(value or 0)

    async def record_attempt(
        self, conn: AsyncConnection, source: SourceCoordinates, error: str
    ) -> int:
        """Count a failed attempt durably, so the retry budget survives a restart."""
        value = await conn.scalar(
            text(
                """
                INSERT INTO delivery_attempts (consumer, topic, partition, "offset",
                                               attempts, last_error)
                VALUES (:c, :t, :p, :o, 1, :e)
                ON CONFLICT (consumer, topic, partition, "offset") DO UPDATE SET
                    attempts = delivery_attempts.attempts + 1,
                    last_error = EXCLUDED.last_error, updated_at = now()
                RETURNING attempts
                """
            ),
            {
                "c": self.consumer,
                "t": source.topic,
                "p": source.partition,
                "o": source.offset,
                "e": error[:2000],
            },
        )
        return int(value or 0)

    async def clear_attempts(self, conn: AsyncConnection, source: SourceCoordinates) -> None:
        await conn.execute(
            delete(delivery_attempts).where(
                delivery_attempts.c.consumer == self.consumer,
                delivery_attempts.c.topic == source.topic,
                delivery_attempts.c.partition == source.partition,
                delivery_attempts.c.offset == source.offset,
            )
        )
