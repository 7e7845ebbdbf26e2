"""A simulated card gateway in test mode, behaving like an external processor.

It keeps its own ledger (``gateway_ledger``) and writes it in its own transaction on its
own connection (from its own pool, asyncpg): once it has acted, the effect stays,
whatever happens to the caller's transaction. Calls may run concurrently. Every call is
idempotent by key: a repeated key returns the stored result and never moves money
again, which is what makes a double charge visible in the ledger.

Test tokens (authorization)::

    tok_ok                  approved
    tok_decline             declined: card_declined
    tok_insufficient_funds  declined: insufficient_funds
    tok_timeout             approved (money held) but the answer never arrives: every call
                            raises GatewayTimeout
    tok_flaky               GatewayUnavailable for the first ``flaky_failures`` calls of a key
    tok_slow                processing; approved once ``slow_delay`` has passed
    any other tok_*         declined: unknown_token

Capture, void and refund act on the authorization, whatever its token.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import timedelta
from enum import StrEnum
from uuid import UUID, uuid4

import structlog
from sqlalchemy.ext.asyncio import AsyncEngine

from orderflow_messaging.clock import Clock, utc_now
from orderflow_messaging.db import hot_pool
from orderflow_messaging.grouping import GroupCommit
from payment.adapters.ledger import Ledger, LedgerEntry, read_entries
from payment.application.ports import GatewayConflict, GatewayTimeout, GatewayUnavailable
from payment.domain.model import Call, GatewayResult

log = structlog.get_logger(__name__)

APPROVED = "approved"
PROCESSING = "processing"
CANCELLED = "cancelled"
# Only "approved" moves money; these leave the caller where it wanted to be although
# nothing moved (a ledger row's amount is what was asked for, its result what happened).
ALREADY_CAPTURED = "already_captured"
ALREADY_VOIDED = "already_voided"
NOTHING_TO_VOID = "nothing_to_void"


class Behaviour(StrEnum):
    APPROVE = "approve"
    DECLINE = "decline"
    TIMEOUT = "timeout"
    FLAKY = "flaky"
    SLOW = "slow"


# token -> (behaviour, decline reason)
TEST_TOKENS: dict[str, tuple[Behaviour, str | None]] = {
    "tok_ok": (Behaviour.APPROVE, None),
    "tok_decline": (Behaviour.DECLINE, "card_declined"),
    "tok_insufficient_funds": (Behaviour.DECLINE, "insufficient_funds"),
    "tok_timeout": (Behaviour.TIMEOUT, None),
    "tok_flaky": (Behaviour.FLAKY, None),
    "tok_slow": (Behaviour.SLOW, None),
}
_UNKNOWN = (Behaviour.DECLINE, "unknown_token")
_HOLDS_MONEY = {Behaviour.APPROVE, Behaviour.TIMEOUT, Behaviour.FLAKY}
_SETTLED = {
    Call.AUTHORIZE: {APPROVED},
    Call.CAPTURE: {APPROVED, ALREADY_CAPTURED},
    Call.VOID: {APPROVED, ALREADY_VOIDED, NOTHING_TO_VOID},
    Call.REFUND: {APPROVED},
}


def token_name(token: str) -> str:
    """What may be logged of a token: the name of a test token, nothing of a real one."""
    return token if token in TEST_TOKENS else "tok_other"


@dataclass(frozen=True)
class _Capture:
    key: str
    order_id: str
    authorization_id: str
    amount_minor: int
    currency: str


def _capture_result(auth: LedgerEntry | None, captured_before: int, amount_minor: int) -> str:
    """What a new capture of ``auth`` records."""
    if auth is None or auth.result != APPROVED:
        return "authorization_not_found"
    if captured_before:
        return ALREADY_CAPTURED  # captured before under another key: move nothing
    if amount_minor > auth.amount_minor:
        return "amount_exceeds_authorization"
    return APPROVED


def _conflict(entry: LedgerEntry) -> GatewayConflict:
    return GatewayConflict(f"key already used for {entry.kind.value} of another request")


def _answer(entry: LedgerEntry) -> GatewayResult:
    if entry.result == PROCESSING:
        return GatewayResult.pending()
    if entry.result in _SETTLED[entry.kind]:
        return GatewayResult.approved(entry.authorization_id)
    return GatewayResult.declined(entry.result)


class SimulatedGateway:
    def __init__(
        self,
        engine: AsyncEngine,
        *,
        clock: Clock = utc_now,
        new_id: Callable[[], UUID] = uuid4,
        slow_delay: timedelta = timedelta(seconds=10),
        flaky_failures: int = 2,
    ) -> None:
        # Reads for HTTP through the engine; the calls through its asyncpg pool.
        self._engine = engine
        self._pool = hot_pool(engine)
        self._clock = clock
        self._new_id = new_id
        self._slow_delay = slow_delay
        self._flaky_failures = flaky_failures
        # Per process, like a flaky load balancer: a restart forgets (fine for a simulation).
        self._flaky_calls: dict[str, int] = {}
        # Concurrent calls share a transaction (group commit): the ledger is written as
        # if the calls came one at a time, at a fraction of the round trips and commits.
        self._authorizations: GroupCommit[LedgerEntry, LedgerEntry | None] = GroupCommit(
            "gateway-authorize", self._record_authorizations
        )
        self._captures: GroupCommit[_Capture, LedgerEntry] = GroupCommit(
            "gateway-capture", self._capture_group, run_one=self._capture_one
        )

    async def authorize(
        self, key: str, order_id: str, amount_minor: int, currency: str, token: str
    ) -> GatewayResult:
        behaviour, decline = TEST_TOKENS.get(token, _UNKNOWN)
        if behaviour is Behaviour.FLAKY and self._flaky_calls.get(key, 0) < self._flaky_failures:
            self._flaky_calls[key] = self._flaky_calls.get(key, 0) + 1
            raise GatewayUnavailable(f"gateway unavailable (attempt {self._flaky_calls[key]})")
        # A new key (the common case) is one INSERT outside a transaction block, shared
        # by the calls made meanwhile (group commit). A known key is answered from the
        # ledger.
        held = self._held(behaviour)
        result = decline or (PROCESSING if behaviour is Behaviour.SLOW else APPROVED)
        row = self._row(key, order_id, Call.AUTHORIZE, amount_minor, currency, result, held)
        entry = await self._authorizations.submit(row)
        pool = await self._pool.pool()
        if entry is not None:
            log.debug(
                "gateway_authorization_recorded",
                order_id=order_id,
                token=token_name(token),
                result=entry.result,
            )
        else:
            async with pool.acquire() as conn, conn.transaction():
                ledger = Ledger(conn)
                entry = await self._stored(ledger, key, Call.AUTHORIZE, order_id)
                assert entry is not None, "the key's row is committed (the insert conflicted)"
                if (
                    entry.result == PROCESSING
                    and self._clock() >= entry.created_at + self._slow_delay
                ):
                    entry = await ledger.settle(key, PROCESSING, APPROVED)
        if behaviour is Behaviour.TIMEOUT:
            raise GatewayTimeout("the gateway did not answer")
        return _answer(entry)

    def _held(self, behaviour: Behaviour) -> str | None:
        """A new authorization id, when the issuer holds (or will hold) the money."""
        if behaviour in _HOLDS_MONEY or behaviour is Behaviour.SLOW:
            return f"auth_{self._new_id().hex}"
        return None

    async def capture(
        self, key: str, order_id: str, authorization_id: str, amount_minor: int, currency: str
    ) -> GatewayResult:
        call = _Capture(key, order_id, authorization_id, amount_minor, currency)
        return _answer(await self._captures.submit(call))

    async def _record_authorizations(self, rows: Sequence[LedgerEntry]) -> list[LedgerEntry | None]:
        """One INSERT for a group of new authorizations; None for a key that was taken
        (then the caller answers from the stored entry)."""
        pool = await self._pool.pool()
        async with pool.acquire() as conn:
            added = await Ledger(conn).add_new_many(rows)
        first: set[str] = set()
        answers: list[LedgerEntry | None] = []
        for row in rows:
            answers.append(added.get(row.key) if row.key not in first else None)
            first.add(row.key)
        return answers

    async def _capture_group(self, calls: Sequence[_Capture]) -> list[LedgerEntry | BaseException]:
        """A group of captures in one transaction, decided in arrival order exactly as
        one at a time would be (a second capture of an authorization is
        ALREADY_CAPTURED; a key twice gets the first's entry)."""
        pool = await self._pool.pool()
        async with pool.acquire() as conn, conn.transaction():
            ledger = Ledger(conn)
            stored = await ledger.by_keys(sorted({c.key for c in calls}))
            auth_ids = sorted({c.authorization_id for c in calls})
            auths = await ledger.authorizations(auth_ids)
            captured = await ledger.counts(auth_ids, Call.CAPTURE, APPROVED)
            answers: list[LedgerEntry | BaseException] = []
            new: list[LedgerEntry] = []
            for c in calls:
                entry = stored.get(c.key)
                if entry is None:
                    done = captured.get(c.authorization_id, 0)
                    result = _capture_result(auths.get(c.authorization_id), done, c.amount_minor)
                    captured[c.authorization_id] = done + (result == APPROVED)
                    entry = self._row(
                        c.key, c.order_id, Call.CAPTURE, c.amount_minor, c.currency, result,
                        c.authorization_id,
                    )  # fmt: skip
                    stored[c.key] = entry
                    new.append(entry)
                elif (entry.kind, entry.order_id) != (Call.CAPTURE, c.order_id):
                    answers.append(_conflict(entry))
                    continue
                answers.append(entry)
            if len(await ledger.add_new_many(new)) != len(new):
                # Another process recorded one of these keys meanwhile: one at a time.
                raise GatewayConflict("a key of the group was recorded concurrently")
        for entry in new:
            log.debug("gateway_capture_recorded", order_id=entry.order_id, result=entry.result)
        return answers

    async def _capture_one(self, call: _Capture) -> LedgerEntry:
        pool = await self._pool.pool()
        async with pool.acquire() as conn, conn.transaction():
            ledger = Ledger(conn)
            entry = await self._stored(ledger, call.key, Call.CAPTURE, call.order_id)
            if entry is None:
                auth = await ledger.authorization(authorization_id=call.authorization_id)
                done = await ledger.count(call.authorization_id, Call.CAPTURE, APPROVED)
                result = _capture_result(auth, done, call.amount_minor)
                row = self._row(
                    call.key, call.order_id, Call.CAPTURE, call.amount_minor,
                    call.currency, result, call.authorization_id,
                )  # fmt: skip
                entry = await ledger.add(row)
                log.debug("gateway_capture_recorded", order_id=call.order_id, result=entry.result)
        return entry

    async def void(self, key: str, order_id: str) -> GatewayResult:
        """Release the order's latest authorization (a processing one is cancelled)."""
        pool = await self._pool.pool()
        async with pool.acquire() as conn, conn.transaction():
            ledger = Ledger(conn)
            entry = await self._stored(ledger, key, Call.VOID, order_id)
            if entry is None:
                auth = await ledger.authorization(order_id=order_id)
                entry = await ledger.add(await self._void_of(ledger, key, order_id, auth))
                log.debug("gateway_void_recorded", order_id=order_id, result=entry.result)
        return _answer(entry)

    async def _void_of(
        self, ledger: Ledger, key: str, order_id: str, auth: LedgerEntry | None
    ) -> LedgerEntry:
        if auth is None or auth.result not in (APPROVED, PROCESSING):
            return self._row(key, order_id, Call.VOID, 0, None, NOTHING_TO_VOID, None)
        auth_id = auth.authorization_id
        assert auth_id is not None
        if await ledger.count(auth_id, Call.CAPTURE, APPROVED):
            result = ALREADY_CAPTURED  # a declined void: captured money must be refunded
        elif await ledger.count(auth_id, Call.VOID, APPROVED):
            result = ALREADY_VOIDED
        else:
            if auth.result == PROCESSING:
                await ledger.settle(auth.key, PROCESSING, CANCELLED)
            result = APPROVED
        return self._row(
            key, order_id, Call.VOID, auth.amount_minor, auth.currency, result, auth_id
        )

    async def refund(
        self, key: str, order_id: str, authorization_id: str, amount_minor: int, currency: str
    ) -> GatewayResult:
        pool = await self._pool.pool()
        async with pool.acquire() as conn, conn.transaction():
            ledger = Ledger(conn)
            entry = await self._stored(ledger, key, Call.REFUND, order_id)
            if entry is None:
                auth = await ledger.authorization(authorization_id=authorization_id)
                captured = await ledger.total(authorization_id, Call.CAPTURE, [APPROVED])
                refunded = await ledger.total(authorization_id, Call.REFUND, [APPROVED])
                result = APPROVED
                if auth is None or captured == 0:
                    result = "not_captured"
                elif amount_minor > captured - refunded:
                    result = "amount_exceeds_captured"
                entry = await ledger.add(
                    self._row(
                        key, order_id, Call.REFUND, amount_minor, currency, result, authorization_id
                    )
                )
                log.debug("gateway_refund_recorded", order_id=order_id, result=entry.result)
        return _answer(entry)

    async def ledger(self, order_id: str | None = None, limit: int = 200) -> list[LedgerEntry]:
        async with self._engine.connect() as conn:
            return await read_entries(conn, order_id, limit)

    async def _stored(
        self, ledger: Ledger, key: str, kind: Call, order_id: str
    ) -> LedgerEntry | None:
        entry = await ledger.by_key(key)
        if entry is not None and (entry.kind, entry.order_id) != (kind, order_id):
            raise _conflict(entry)
        return entry

    def _row(
        self,
        key: str,
        order_id: str,
        kind: Call,
        amount_minor: int,
        currency: str | None,
        result: str,
        authorization_id: str | None,
    ) -> LedgerEntry:
        return LedgerEntry(
            key, order_id, kind, amount_minor, currency, result, authorization_id, self._clock()
        )
