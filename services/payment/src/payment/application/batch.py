"""Payment's consumer use case, a batch at a time. Every command is answered, also when
it is a resend, and money never moves twice:

1. every order of the batch is locked (one statement, sorted order), and the payments,
   keys and open authorizations the batch needs are loaded once;
2. round by round (``book.rounds``), every command is decided in memory; a command whose
   key is done is answered again from the stored reply, with no gateway call;
3. before any gateway call of a round, the round's new keys are committed ``pending``
   in one statement of their own transaction: whatever happens to the batch afterwards,
   there is a durable trace that the gateway may have acted under them. The gateway is
   idempotent by key, so a retry repeats a call safely and gets its first result back;
4. the round's calls run concurrently (at most ``concurrency`` at once) and their
   results are applied in batch order;
5. the payments, the keys turned ``done`` (with their replies) and the replies (outbox)
   are written once for the batch (replies in batch order) and commit together, with
   the invoices and credit notes of the captures and refunds done (``invoicing``).

A call that fails fails the batch, once every call of its round has returned: the
consumer then runs each record alone, and the repeated calls answer from the gateway's
ledger. An authorization the gateway has not answered (timeout, slow issuer) leaves its
key pending and sends no reply; the timer (``handlers.complete_pending_authorizations``)
asks again later.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

import structlog

from orderflow_contracts import topics
from orderflow_messaging.consumer import Batch, Incoming
from orderflow_messaging.crash import crashpoint
from orderflow_messaging.registry import Message
from payment.application.book import Command, GatewayCall, rounds
from payment.application.calls import call_gateway
from payment.application.invoicing import issue_documents
from payment.application.ports import CardGateway, DocumentStore, PaymentStore
from payment.application.replies import LOG_EVENTS
from payment.domain.model import GatewayResult

log = structlog.get_logger(__name__)


async def handle_commands(
    store: PaymentStore,
    gateway: CardGateway,
    batch: Batch,
    items: Sequence[Incoming[Command]],
    *,
    concurrency: int,
    documents: DocumentStore | None = None,
) -> None:
    """``documents``: where the batch's invoices and credit notes go (None: issue none,
    for tests of the payments alone)."""
    commands = [item.message for item in items]
    book = await store.load_for_update(
        sorted({cmd.order_id for cmd in commands}),
        sorted({cmd.idempotency_key for cmd in commands}),
    )
    replies: list[Message | None] = [None] * len(items)
    limit = asyncio.Semaphore(concurrency)
    calls_made = 0
    for positions in rounds([cmd.order_id for cmd in commands]):
        calls: list[tuple[int, GatewayCall]] = []
        for n in positions:
            outcome = book.decide(commands[n])
            if isinstance(outcome, GatewayCall):
                calls.append((n, outcome))
            else:
                replies[n] = outcome
        if calls:
            results = await _make_calls(store, gateway, [call for _, call in calls], limit)
            for (n, call), result in zip(calls, results, strict=True):
                replies[n] = book.conclude(call, result)
            calls_made += len(calls)
    for item, reply in zip(items, replies, strict=True):
        order_id = item.message.order_id
        if reply is None:
            log.debug("payment_authorization_pending", order_id=order_id)
            continue
        batch.outbox.put(
            topics.PAYMENT_EVENTS, reply, correlation_id=order_id, causation=item.envelope
        )
        log.debug(LOG_EVENTS[reply.TYPE], order_id=order_id)
    if documents is not None:
        await issue_documents(documents, book, commands, replies, batch.clock())
    await store.save(book, batch.clock())
    log.debug(
        "payment_batch",
        commands=len(items),
        gateway_calls=calls_made,
        replies=sum(reply is not None for reply in replies),
    )


async def _make_calls(
    store: PaymentStore,
    gateway: CardGateway,
    calls: Sequence[GatewayCall],
    limit: asyncio.Semaphore,
) -> list[GatewayResult]:
    """Commit the round's new keys pending, then make its calls; raises the first
    failure (in batch order) once every call has returned, so none is left running."""
    await store.commit_pending([call.pending for call in calls if call.pending is not None])
    # Fault tests: the keys are committed pending; the gateway was / was not called yet.
    crashpoint("payment.before_gateway")

    async def make(call: GatewayCall) -> GatewayResult:
        async with limit:
            return await call_gateway(gateway, call.payment, call.call, call.amount_minor, call.key)

    outcomes = await asyncio.gather(*(make(call) for call in calls), return_exceptions=True)
    crashpoint("payment.after_gateway")
    results: list[GatewayResult] = []
    for outcome in outcomes:
        if isinstance(outcome, BaseException):
            raise outcome
        results.append(outcome)
    return results
