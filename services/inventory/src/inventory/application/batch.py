"""Inventory's consumer use case, a batch at a time.

The batch's reservations and SKU rows are loaded and locked once (reservations by order
id, then stock by SKU: one fixed order, so batches never deadlock), every command is
decided in memory in message order by ``StockBook`` (pure, no I/O), and each changed row
is written once, with its next revision; each SKU whose available quantity changed is
announced once (``StockLevelChanged`` on inventory.stock). A return's goods come back
through the order's committed reservation (``RestockReturn``: restocked or written off,
once per return). Every command is answered,
also when it is a resend: the saga retries commands after a timeout and needs the
reply, never a second effect.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

import structlog

from inventory.application.levels import level_of
from inventory.application.ports import StockStore
from inventory.domain.model import (
    RESTOCK,
    Reservation,
    ReservationStatus,
    ReturnReceipt,
    StockItem,
    decide_reservation,
    merge_lines,
    returnable,
)
from orderflow_contracts import topics
from orderflow_contracts.common import StockLine
from orderflow_contracts.inventory import (
    CommitStock,
    ReleaseStock,
    ReserveStock,
    RestockReturn,
    ReturnedLine,
    ReturnRestocked,
    StockCommitted,
    StockReleased,
    StockReservationFailed,
    StockReserved,
)
from orderflow_messaging.consumer import Batch, Incoming
from orderflow_messaging.crash import crashpoint
from orderflow_messaging.errors import PermanentFailure
from orderflow_messaging.registry import Message

log = structlog.get_logger(__name__)

Command = ReserveStock | ReleaseStock | CommitStock | RestockReturn
_HELD = (ReservationStatus.RESERVED, ReservationStatus.COMMITTED)


@dataclass
class StockBook:
    """The rows a batch touches, and what the batch changed in them."""

    reservations: dict[str, Reservation]
    stock: dict[str, StockItem]
    # The return receipts of the batch's orders that have a RestockReturn, by return id.
    receipts: dict[str, ReturnReceipt] = field(default_factory=dict)
    new_receipts: list[ReturnReceipt] = field(default_factory=list)
    created: set[str] = field(default_factory=set)
    changed: set[str] = field(default_factory=set)
    moved: set[str] = field(default_factory=set)
    _loaded: dict[str, StockItem] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self._loaded = dict(self.stock)

    def apply(self, cmd: Command, now: datetime, ttl: timedelta) -> Message:
        """Decide one command; returns its reply."""
        match cmd:
            case ReserveStock():
                return self._reserve(cmd, now + ttl)
            case ReleaseStock():
                return self._release(cmd)
            case CommitStock():
                return self._commit(cmd)
            case RestockReturn():
                return self._restock_return(cmd)

    def _reserve(self, cmd: ReserveStock, expires_at: datetime) -> Message:
        existing = self.reservations.get(cmd.order_id)
        if existing is not None:
            return _answer_again(existing)
        lines = merge_lines([(line.sku, line.quantity) for line in cmd.lines])
        items = {sku: self.stock[sku] for sku in lines if sku in self.stock}
        decision = decide_reservation(cmd.order_id, lines, items, expires_at)
        self._put(decision.reservation, new=True)
        self._move(decision.items.values())
        if decision.unavailable:
            return StockReservationFailed(
                order_id=cmd.order_id, reason="insufficient stock", unavailable=decision.unavailable
            )
        return _reserved(decision.reservation)

    def _release(self, cmd: ReleaseStock) -> Message:
        reservation = self.reservations.get(cmd.order_id)
        if reservation is None:
            # Released before it was ever made: remember, so a late ReserveStock is refused.
            tombstone = Reservation(cmd.order_id, ReservationStatus.RELEASED, {}, None, cmd.reason)
            self._put(tombstone, new=True)
        elif reservation.status in _HELD:
            was_committed = reservation.status is ReservationStatus.COMMITTED
            self._move(
                self.stock[sku].restock_committed(qty) if was_committed
                else self.stock[sku].release(qty)
                for sku, qty in reservation.lines.items()
            )  # fmt: skip
            self._put(_with(reservation, ReservationStatus.RELEASED, cmd.reason))
        return StockReleased(order_id=cmd.order_id)

    def _commit(self, cmd: CommitStock) -> Message:
        reservation = self.reservations.get(cmd.order_id)
        if reservation is None or reservation.status not in _HELD:
            state = reservation.status.value if reservation else "missing"
            raise PermanentFailure(f"cannot commit stock of {cmd.order_id}: reservation is {state}")
        if reservation.status is ReservationStatus.RESERVED:
            self._move(self.stock[s].commit(q) for s, q in reservation.lines.items())
            self._put(_with(reservation, ReservationStatus.COMMITTED, None))
        return StockCommitted(order_id=cmd.order_id)

    def _restock_return(self, cmd: RestockReturn) -> Message:
        """Once per return: sellable units back on the shelf, damaged ones written off,
        never more of a SKU than the order committed less its earlier returns."""
        done = self.receipts.get(cmd.return_id)
        if done is None:
            done = self._receive(cmd)
        lines = [
            ReturnedLine.model_validate({"sku": s, "quantity": q, "disposition": d})
            for s, q, d in done.lines
        ]
        return ReturnRestocked(return_id=done.return_id, order_id=done.order_id, lines=lines)

    def _receive(self, cmd: RestockReturn) -> ReturnReceipt:
        reservation = self.reservations.get(cmd.order_id)
        if reservation is None or reservation.status is not ReservationStatus.COMMITTED:
            state = reservation.status.value if reservation else "missing"
            raise PermanentFailure(
                f"cannot restock return {cmd.return_id}: the order's stock is {state}"
            )
        earlier = (r for r in self.receipts.values() if r.order_id == cmd.order_id)
        left = returnable(reservation, earlier)
        for line in cmd.lines:
            left[line.sku] = left.get(line.sku, 0) - line.quantity
            if left[line.sku] < 0:
                raise PermanentFailure(
                    f"return {cmd.return_id} brings back more {line.sku} than the order "
                    "committed and has not returned yet"
                )
        self._move(
            self.stock[ln.sku].restock_committed(ln.quantity) if ln.disposition == RESTOCK
            else self.stock[ln.sku].write_off(ln.quantity)
            for ln in cmd.lines
        )  # fmt: skip
        receipt = ReturnReceipt(
            cmd.return_id, cmd.order_id,
            tuple((ln.sku, ln.quantity, ln.disposition) for ln in cmd.lines),
        )  # fmt: skip
        self.receipts[cmd.return_id] = receipt
        self.new_receipts.append(receipt)
        return receipt

    def settle(self) -> list[StockItem]:
        """Once, after the fold: give each moved SKU its next revision (its row is
        locked, so the loaded revision + 1 is the one written); returns, in SKU order,
        those whose available quantity changed: the levels to announce."""
        changed = []
        for sku in sorted(self.moved):
            loaded = self._loaded[sku]
            item = self.stock[sku] = self.stock[sku].revised()
            if item.available != loaded.available:
                changed.append(item)
        return changed

    def _put(self, reservation: Reservation, *, new: bool = False) -> None:
        self.reservations[reservation.order_id] = reservation
        (self.created if new else self.changed).add(reservation.order_id)

    def _move(self, items: Iterable[StockItem]) -> None:
        for item in items:
            self.stock[item.sku] = item
            self.moved.add(item.sku)


def _with(reservation: Reservation, status: ReservationStatus, reason: str | None) -> Reservation:
    return replace(reservation, status=status, reason=reason)


def _reserved(reservation: Reservation) -> StockReserved:
    lines = [StockLine(sku=s, quantity=q) for s, q in sorted(reservation.lines.items())]
    return StockReserved(order_id=reservation.order_id, lines=lines)


def _answer_again(reservation: Reservation) -> Message:
    if reservation.status in _HELD:
        return _reserved(reservation)
    unavailable = (
        sorted(reservation.lines) if reservation.status is ReservationStatus.REJECTED else []
    )
    return StockReservationFailed(
        order_id=reservation.order_id,
        reason=reservation.reason or f"reservation is {reservation.status.value}",
        unavailable=unavailable,
    )


def skus_named(commands: Sequence[Command]) -> set[str]:
    return {line.sku for cmd in commands if isinstance(cmd, ReserveStock) for line in cmd.lines}


async def handle_commands(
    store: StockStore, batch: Batch, items: Sequence[Incoming[Command]], ttl: timedelta
) -> None:
    """Load and lock once, fold in message order, write each changed row once."""
    commands = [item.message for item in items]
    returning = sorted({cmd.order_id for cmd in commands if isinstance(cmd, RestockReturn)})
    book = await store.load_for_update(
        sorted({cmd.order_id for cmd in commands}), skus_named(commands), returning
    )
    now = batch.clock()
    for item in items:
        reply = book.apply(item.message, now, ttl)
        batch.outbox.put(
            topics.INVENTORY_EVENTS, reply,
            correlation_id=item.message.order_id, causation=item.envelope,
        )  # fmt: skip
    for level in book.settle():
        batch.outbox.put(topics.INVENTORY_STOCK, level_of(level), correlation_id=level.sku)
    await store.save(book)
    if book.new_receipts:
        # Fault tests: a return's goods restocked in the transaction, not yet committed.
        crashpoint("inventory.after_restock")
    log.debug("inventory_batch", commands=len(items), skus=len(book.moved))
