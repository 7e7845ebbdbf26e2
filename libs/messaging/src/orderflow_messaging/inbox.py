"""The inbox: which messages a consumer has handled, written in the effect's transaction.

Set-based: a consumer claims a whole batch with one statement. The rows that come back
are new (apply their effect); the rest were seen before. Of those, one that was
dead-lettered and comes back (a redrive) is handled again, once; any other is a
duplicate, counted on its row and never applied.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from uuid import UUID

from orderflow_messaging.db import Connection
from orderflow_messaging.envelope import SourceCoordinates
from orderflow_messaging.write_plan import WritePlan


class InboxStatus(StrEnum):
    PROCESSED = "processed"
    DEAD_LETTERED = "dead_lettered"
    IGNORED = "ignored"


@dataclass(frozen=True, slots=True)
class Claim:
    """One message to claim for this consumer."""

    message_id: UUID
    source: SourceCoordinates
    message_type: str | None
    status: InboxStatus = InboxStatus.PROCESSED
    # For the parking check of ``claim_batch``: the record's key, and whether it is a
    # redrive (a redriven record is applied even when its key is parked).
    key: bytes | None = None
    redriven: bool = False


_UNNEST = (
    "unnest($2::uuid[], $3::text[], $4::int[], $5::bigint[], $6::text[], $7::text[]) "
    'AS u(message_id, topic, partition, "offset", message_type, status)'
)
_INSERT_CLAIMS = f"""
    INSERT INTO inbox (consumer, message_id, topic, partition, "offset", message_type, status)
    SELECT $1, u.message_id, u.topic, u.partition, u."offset", u.message_type, u.status
    FROM {_UNNEST}
    ON CONFLICT (consumer, message_id) DO NOTHING
"""  # noqa: S608 - constant text
_CLAIM = _INSERT_CLAIMS + " RETURNING message_id"
_NOT_PARKED = (
    "NOT EXISTS (SELECT 1 FROM parked_keys WHERE consumer = $1 AND key = ANY($2::bytea[]))"
)
# The batch claim: the keys of the batch that are parked (parking.py), and a claim of
# every message except those of a parked key that are not redrives, in one statement.
_CLAIM_UNLESS_PARKED = """
    WITH parked AS (
        SELECT key FROM parked_keys WHERE consumer = $1 AND key = ANY($10::bytea[])
    ), claimed AS (
        INSERT INTO inbox (consumer, message_id, topic, partition, "offset", message_type, status)
        SELECT $1, u.message_id, u.topic, u.partition, u."offset", u.message_type, u.status
        FROM unnest(
            $2::uuid[], $3::text[], $4::int[], $5::bigint[], $6::text[], $7::text[],
            $8::bytea[], $9::bool[]
        ) AS u(message_id, topic, partition, "offset", message_type, status, key, redriven)
        WHERE u.redriven OR u.key IS NULL OR u.key NOT IN (SELECT key FROM parked)
        ON CONFLICT (consumer, message_id) DO NOTHING
        RETURNING message_id
    )
    SELECT message_id, NULL::bytea AS parked FROM claimed
    UNION ALL SELECT NULL, key FROM parked
"""
_RECLAIM = f"""
    UPDATE inbox i SET status = u.status, topic = u.topic, partition = u.partition,
                       "offset" = u."offset", handled_at = now()
    FROM {_UNNEST}
    WHERE i.consumer = $1 AND i.message_id = u.message_id AND i.status = 'dead_lettered'
      AND u.status <> 'dead_lettered'
    RETURNING i.message_id
"""  # noqa: S608 - constant text
_COUNT_DUPLICATES = """
    UPDATE inbox i SET duplicates = i.duplicates + u.n
    FROM unnest($2::uuid[], $3::int[]) AS u(message_id, n)
    WHERE i.consumer = $1 AND i.message_id = u.message_id
"""
_ATTEMPT = """
    INSERT INTO delivery_attempts (consumer, topic, partition, "offset", attempts, last_error)
    VALUES ($1, $2, $3, $4, 1, $5)
    ON CONFLICT (consumer, topic, partition, "offset") DO UPDATE SET
        attempts = delivery_attempts.attempts + 1,
        last_error = EXCLUDED.last_error, updated_at = now()
    RETURNING attempts
"""
_CLEAR_ATTEMPTS = (
    "DELETE FROM delivery_attempts WHERE consumer = $1 AND topic = $2 AND partition = $3 "
    'AND "offset" = $4'
)


def _columns(claims: Sequence[Claim]) -> tuple[list[object], ...]:
    return (
        [c.message_id for c in claims],
        [c.source.topic for c in claims],
        [c.source.partition for c in claims],
        [c.source.offset for c in claims],
        [c.message_type for c in claims],
        [c.status.value for c in claims],
    )


class Inbox:
    def __init__(self, consumer: str) -> None:
        self.consumer = consumer

    async def claim_many(self, conn: Connection, claims: Sequence[Claim]) -> set[UUID]:
        """The message ids that are new to this consumer (apply their effects); no
        parking check (dead letters).

        A message id twice in ``claims`` is claimed at most once (its first claim); the
        rest count as duplicates."""
        claimed, _ = await self._claim(conn, claims)
        return claimed

    async def claim_batch(
        self, conn: Connection, claims: Sequence[Claim], keys: Iterable[bytes | None]
    ) -> tuple[set[UUID], set[bytes]]:
        """A consumer batch's claim: (the new message ids, which of ``keys`` (the
        batch's) are parked). A claim whose key is parked, unless it is a redrive, is not
        made: the caller dead-letters it (reason PARKED). One statement when nothing in
        the batch was seen before."""
        wanted = sorted({k for k in keys if k is not None})
        return await self._claim(conn, claims, parking=wanted)

    def claim_in(
        self, plan: WritePlan, claims: Sequence[Claim], keys: Iterable[bytes | None]
    ) -> None:
        """An optimistic batch's claim, as parts of its write plan: every claim is new
        (distinct message ids, none seen before) and no key of the batch is parked, or
        the plan is rolled back (and the batch runs the way ``claim_batch`` serves)."""
        plan.add(_INSERT_CLAIMS, self.consumer, *_columns(claims), expect=len(claims))
        plan.require(_NOT_PARKED, self.consumer, sorted({k for k in keys if k is not None}))

    async def _claim(
        self, conn: Connection, claims: Sequence[Claim], *, parking: list[bytes] | None = None
    ) -> tuple[set[UUID], set[bytes]]:
        if not claims and not parking:
            return set(), set()
        first: dict[UUID, Claim] = {}
        repeats: Counter[UUID] = Counter()
        for claim in claims:
            if claim.message_id in first:
                repeats[claim.message_id] += 1
            else:
                first[claim.message_id] = claim
        unique = list(first.values())
        parked: set[bytes] = set()
        if parking is not None:
            rows = await conn.fetch(
                _CLAIM_UNLESS_PARKED,
                self.consumer,
                *_columns(unique),
                [c.key for c in unique],
                [c.redriven for c in unique],
                parking,
            )
            claimed = {row[0] for row in rows if row[0] is not None}
            parked = {bytes(row[1]) for row in rows if row[1] is not None}
            # Claims of a parked key were not made: the caller dead-letters each one
            # (its own claim), so they are neither reclaimed nor counted here.
            unique = [c for c in unique if c.redriven or c.key is None or c.key not in parked]
            kept = {c.message_id for c in unique}
            repeats = Counter({i: n for i, n in repeats.items() if i in kept})
        else:
            claimed = {row[0] for row in await conn.fetch(_CLAIM, self.consumer, *_columns(unique))}
        seen = [c for c in unique if c.message_id not in claimed]
        if seen:
            rows = await conn.fetch(_RECLAIM, self.consumer, *_columns(seen))
            claimed.update(row[0] for row in rows)
            repeats.update(c.message_id for c in seen if c.message_id not in claimed)
        if repeats:
            ids = list(repeats)
            await conn.execute(_COUNT_DUPLICATES, self.consumer, ids, [repeats[i] for i in ids])
        return claimed, parked

    async def record_attempt(self, conn: Connection, source: SourceCoordinates, error: str) -> int:
        """Count a failed attempt durably, so the retry budget survives a restart."""
        value = await conn.fetchval(
            _ATTEMPT, self.consumer, source.topic, source.partition, source.offset, error[:2000]
        )
        return int(value or 0)

    async def clear_attempts(self, conn: Connection, source: SourceCoordinates) -> None:
        await conn.execute(
            _CLEAR_ATTEMPTS, self.consumer, source.topic, source.partition, source.offset
        )
