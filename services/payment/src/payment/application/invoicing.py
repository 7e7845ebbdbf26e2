"""Invoices and credit notes, issued in the batch that moved the money: a capture done in
this batch issues its order's invoice, a refund done in it a credit note against that
invoice. Done in the batch's transaction, so a document exists exactly when its money
movement is committed, and a resent command (answered from its stored key) issues
nothing again.

Per batch with captures or refunds: one statement reads the orders' invoices, one hands
out the numbers, one inserts the documents (twice the last two when a batch both
invoices and credits); none otherwise.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import structlog

from orderflow_contracts.payment import CapturePayment, RefundPayment
from orderflow_messaging.crash import crashpoint
from orderflow_messaging.registry import Message
from payment.application.book import Command, PaymentBook
from payment.application.ports import DocumentStore
from payment.domain.invoices import Charge, Document, DocumentLine, credit_note_for, invoice_for

log = structlog.get_logger(__name__)


def charge_of(cmd: CapturePayment) -> Charge | None:
    """What the capture's invoice shows (None: a capture sent before invoices)."""
    draft = cmd.invoice
    if draft is None:
        return None
    lines = tuple(
        DocumentLine(line.sku, line.quantity, line.unit_price_minor, line.discount_minor)
        for line in draft.lines
    )
    return Charge(
        cmd.order_id, draft.customer_id, draft.country, cmd.currency, cmd.amount_minor, lines,
        draft.delivery_minor,
    )  # fmt: skip


def returned_of(cmd: RefundPayment) -> tuple[DocumentLine, ...]:
    """The lines a return's refund gives back (none: an order's own refund)."""
    return tuple(
        DocumentLine(line.sku, line.quantity, line.unit_price_minor, line.discount_minor)
        for line in cmd.lines or ()
    )


async def issue_documents(
    store: DocumentStore,
    book: PaymentBook,
    commands: Sequence[Command],
    replies: Sequence[Message | None],
    now: datetime,
) -> list[Document]:
    """Issue the documents of the money this batch moved; returns them, numbered."""
    # By key: a command resent within the batch was answered from its first reply.
    by_key = {
        cmd.idempotency_key: cmd for cmd, reply in zip(commands, replies, strict=True)
        if reply is not None and cmd.idempotency_key in book.done
        and reply.TYPE in ("PaymentCaptured", "PaymentRefunded")
    }  # fmt: skip
    moved = list(by_key.values())
    if not moved:
        return []
    invoices = await store.invoices_of(sorted({cmd.order_id for cmd in moved}))
    new = []
    for cmd in moved:
        if isinstance(cmd, CapturePayment) and cmd.order_id not in invoices:
            charge = charge_of(cmd)
            if charge is not None:
                new.append(invoice_for(charge, cmd.idempotency_key, now))
    issued = await store.issue(new) if new else []
    invoices.update({doc.order_id: doc for doc in issued})
    notes = [
        credit_note_for(
            invoices[cmd.order_id], cmd.amount_minor, cmd.idempotency_key, now, returned_of(cmd)
        )
        for cmd in moved
        if isinstance(cmd, RefundPayment) and cmd.order_id in invoices
    ]
    credited = await store.issue(notes) if notes else []
    # Fault tests: numbers taken and documents inserted, the batch not yet committed.
    crashpoint("payment.after_invoice")
    log.debug("documents_issued", invoices=len(issued), credit_notes=len(credited))
    return issued + credited
