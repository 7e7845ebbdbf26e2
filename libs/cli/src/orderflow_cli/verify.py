"""`orderflow verify`: the system's invariants, checked across every service's tables.

Reads with the admin URL (an operator tool, like a database console); each check
returns its violations. The invariants (docs/reliability.md, RELIABILITY.md):
- every order terminal, and every placed order has a saga;
- money: at most one capture per order, captured - refunded = total (less what its
  returns refunded) for completed orders and 0 for rejected/cancelled ones (from the
  gateway's own ledger);
- stock: per SKU initial = available + reserved + committed, available >= 0;
- saga consistency: completed => stock committed, paid, shipment live; cancelled or
  rejected => no live reservation, no charge left, no live shipment;
- returns: refunds never exceed what was captured; restocked or written off never more
  than a return received, nor more than its order committed;
- only legal saga transitions in the history;
- no loss: no outbox row left unpublished, every published message handled;
- liveness of the consumers (lag 0) and no card data or canary value in the logs;
- on the broker (verify_dlq): every consumed record accounted for by its consumer's
  inbox, every dead letter well-formed and present, no card data or canary on any topic.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import asyncpg

from orderflow_contracts.catalogue import SERVICES as SCHEMAS
from orderflow_messaging.housekeeping import RetentionSettings
from orderflow_messaging.kafka import client_options
from orderflow_messaging.tables import published_sql

# RESOLVED (settled by hand), like COMPENSATION_FAILED, is terminal but left out of the
# money and consistency checks, which list the statuses they judge.
TERMINAL = ("COMPLETED", "REJECTED", "CANCELLED", "COMPENSATION_FAILED", "RESOLVED")


async def schemas_with(conn: asyncpg.Connection, table: str) -> list[str]:
    """The service schemas that have ``table`` (a service may not be deployed)."""
    found = []
    for schema in SCHEMAS:
        if await conn.fetchval("SELECT to_regclass($1)", f"{schema}.{table}") is not None:
            found.append(schema)
    return found


async def _exist(conn: asyncpg.Connection, *tables: str) -> bool:
    return all([await conn.fetchval("SELECT to_regclass($1)", t) is not None for t in tables])


@dataclass
class CheckResult:
    name: str
    violations: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.violations


Check = Callable[[asyncpg.Connection], Awaitable[list[str]]]


async def _orders_terminal(conn: asyncpg.Connection) -> list[str]:
    rows = await conn.fetch(
        "SELECT order_id, status, step FROM orders.sagas WHERE status <> ALL($1::text[]) "
        "ORDER BY created_at LIMIT 1000",
        list(TERMINAL),
    )
    orphans = await conn.fetch(
        "SELECT o.order_id::text AS order_id FROM checkout.orders o "
        "LEFT JOIN orders.sagas s ON s.order_id = o.order_id::text WHERE s.order_id IS NULL"
    )
    return [f"order {r['order_id']} not terminal ({r['status']} at {r['step']})" for r in rows] + [
        f"order {r['order_id']} placed but has no saga" for r in orphans
    ]


# What returns refunded per order: settled (refunded, completed), and possibly moved
# (received: the refund in flight; failed: a person settles it).
_RETURNED = """
SELECT order_id,
       coalesce(sum(refund_minor) FILTER (WHERE status IN ('refunded', 'completed')), 0)
         AS settled,
       coalesce(sum(refund_minor) FILTER (WHERE status IN ('received', 'failed')), 0)
         AS open
FROM orders.returns GROUP BY order_id
"""


async def _returned(conn: asyncpg.Connection) -> dict[str, tuple[int, int]]:
    if not await _exist(conn, "orders.returns"):
        return {}
    return {r["order_id"]: (r["settled"], r["open"]) for r in await conn.fetch(_RETURNED)}


_MONEY = """
WITH ledger AS (
    SELECT order_id,
           count(*) FILTER (WHERE kind = 'capture' AND result = 'approved') AS captures,
           coalesce(sum(amount_minor) FILTER (WHERE kind = 'capture' AND result = 'approved'), 0)
             - coalesce(sum(amount_minor) FILTER (WHERE kind = 'refund' AND result = 'approved'), 0)
             AS net
    FROM payment.gateway_ledger GROUP BY order_id
)
SELECT s.order_id, s.status, s.total_minor,
       coalesce(l.captures, 0) AS captures, coalesce(l.net, 0) AS net
FROM orders.sagas s LEFT JOIN ledger l ON l.order_id = s.order_id
WHERE s.status = ANY($1::text[])
"""


async def _money(conn: asyncpg.Connection) -> list[str]:
    """A completed order's net charge is its total less what its returns refunded."""
    problems = []
    returned = await _returned(conn)
    for r in await conn.fetch(_MONEY, ["COMPLETED", "REJECTED", "CANCELLED"]):
        if r["captures"] > 1:
            problems.append(f"order {r['order_id']} captured {r['captures']} times")
        settled, in_flight = returned.get(r["order_id"], (0, 0))
        expected = r["total_minor"] - settled if r["status"] == "COMPLETED" else 0
        if not expected - in_flight <= r["net"] <= expected:
            problems.append(
                f"order {r['order_id']} ({r['status']}): net charge {r['net']}, expected {expected}"
            )
    return problems


async def _stock(conn: asyncpg.Connection) -> list[str]:
    rows = await conn.fetch(
        "SELECT sku, initial, available, reserved, committed FROM inventory.stock_items "
        "WHERE initial <> available + reserved + committed OR available < 0 OR reserved < 0"
    )
    return [
        f"SKU {r['sku']}: initial {r['initial']} != available {r['available']} + reserved "
        f"{r['reserved']} + committed {r['committed']}"
        for r in rows
    ]


# The catalog's availability is a projection of inventory's levels: never ahead of
# inventory, and showing inventory's quantity once the last change had time to arrive.
_AVAILABILITY = """
SELECT i.sku, i.available, i.revision, c.available AS shown, c.revision AS shown_revision
FROM inventory.stock_items i
LEFT JOIN catalog.stock_levels c ON c.sku = i.sku
WHERE i.revision > 0 AND i.sku ~ $1 AND (
    c.revision > i.revision
    OR (i.updated_at < now() - interval '10 seconds' AND c.available IS DISTINCT FROM i.available)
)
LIMIT 20
"""


async def _availability(conn: asyncpg.Connection) -> list[str]:
    from orderflow_contracts.common import SKU_PATTERN

    if not await _exist(conn, "inventory.stock_items", "catalog.stock_levels"):
        return []
    return [
        f"SKU {r['sku']}: catalog shows {r['shown']} (revision {r['shown_revision']}), "
        f"inventory has {r['available']} (revision {r['revision']})"
        for r in await conn.fetch(_AVAILABILITY, SKU_PATTERN)
    ]


# Every order's total is the sum of its lines less its discounts plus its delivery, the
# saga works with that total, and every line priced by a list names a list of the
# catalog that could price that customer.
_ORDER_TOTALS = """
WITH o AS (
    SELECT o.order_id, o.total_minor,
           (SELECT coalesce(sum((l->>'quantity')::bigint * (l->>'unit_price_minor')::bigint), 0)
            FROM jsonb_array_elements(o.lines) l) AS lines_total,
           (SELECT coalesce(sum((share->>1)::bigint), 0)
            FROM jsonb_array_elements(o.lines) l,
                 jsonb_array_elements(coalesce(l->'discounts', '[]'::jsonb)) share)
               AS line_discounts,
           (SELECT coalesce(sum((d->>'amount_minor')::bigint), 0)
            FROM jsonb_array_elements(o.discounts) d) AS discounts,
           coalesce((o.delivery->>'price_minor')::bigint, 0) AS delivery
    FROM checkout.orders o
)
SELECT o.order_id, o.total_minor, o.lines_total, o.line_discounts, o.discounts, o.delivery,
       s.total_minor AS saga_total
FROM o LEFT JOIN orders.sagas s ON s.order_id = o.order_id::text
WHERE o.total_minor <> o.lines_total - o.discounts + o.delivery
   OR o.line_discounts <> o.discounts
   OR s.total_minor <> o.total_minor
LIMIT 20
"""
_PRICE_SOURCES = """
SELECT o.order_id, l->>'sku' AS sku, l->>'price_source' AS source
FROM checkout.orders o, jsonb_array_elements(o.lines) l
WHERE coalesce(l->>'price_source', 'base') <> 'base'
  AND NOT EXISTS (
      SELECT 1 FROM catalog.price_lists p
      WHERE p.kind || ':' || p.list_id = l->>'price_source'
        AND (p.kind <> 'contract' OR p.customer_id = o.customer_id))
LIMIT 20
"""


async def _order_totals(conn: asyncpg.Connection) -> list[str]:
    if not await _exist(conn, "checkout.orders", "orders.sagas", "catalog.price_lists"):
        return []
    problems = [
        f"order {r['order_id']}: total {r['total_minor']}, lines {r['lines_total']}, "
        f"discounts {r['discounts']} (lines' shares {r['line_discounts']}), "
        f"delivery {r['delivery']}, saga {r['saga_total']}"
        for r in await conn.fetch(_ORDER_TOTALS)
    ]
    problems += [
        f"order {r['order_id']}: {r['sku']} priced by {r['source']}, which could not price it"
        for r in await conn.fetch(_PRICE_SOURCES)
    ]
    return problems


# Promotions' counts against their redemptions and limits, and each settled order's
# redemptions against its outcome (checkout's limited discounts are what it redeemed).
_PROMOTION_COUNTS = """
SELECT p.promotion_id, p.redeemed, (p.definition->>'global_limit')::bigint AS global_limit,
       (SELECT count(*) FROM catalog.redemptions r
        WHERE r.promotion_id = p.promotion_id AND r.status = 'reserved') AS reserved
FROM catalog.promotions p
WHERE p.redeemed <> (SELECT count(*) FROM catalog.redemptions r
                     WHERE r.promotion_id = p.promotion_id AND r.status = 'reserved')
   OR p.redeemed > coalesce((p.definition->>'global_limit')::bigint, p.redeemed)
LIMIT 20
"""
_PER_CUSTOMER = """
SELECT r.promotion_id, r.customer_id, count(*) AS uses,
       (p.definition->>'per_customer_limit')::bigint AS per_customer_limit
FROM catalog.redemptions r JOIN catalog.promotions p USING (promotion_id)
WHERE r.status = 'reserved' AND p.definition->>'per_customer_limit' IS NOT NULL
GROUP BY r.promotion_id, r.customer_id, p.definition
HAVING count(*) > (p.definition->>'per_customer_limit')::bigint
LIMIT 20
"""
_SETTLED_REDEMPTIONS = """
SELECT s.order_id, s.status, d->>'promotion_id' AS promotion_id, r.status AS redemption
FROM orders.sagas s
JOIN checkout.orders o ON o.order_id::text = s.order_id
CROSS JOIN jsonb_array_elements(o.discounts) d
LEFT JOIN catalog.redemptions r
       ON r.order_id = s.order_id AND r.promotion_id = d->>'promotion_id'
WHERE (d->>'limited')::bool
  AND ((s.status = 'COMPLETED' AND r.status IS DISTINCT FROM 'reserved')
       OR (s.status IN ('REJECTED', 'CANCELLED') AND r.status = 'reserved'))
LIMIT 20
"""


async def _promotions(conn: asyncpg.Connection) -> list[str]:
    if not await _exist(conn, "catalog.promotions", "checkout.orders", "orders.sagas"):
        return []
    problems = [
        f"promotion {r['promotion_id']}: redeemed {r['redeemed']}, reserved redemptions "
        f"{r['reserved']}, limit {r['global_limit']}"
        for r in await conn.fetch(_PROMOTION_COUNTS)
    ]
    problems += [
        f"promotion {r['promotion_id']}: customer {r['customer_id']} holds {r['uses']} uses "
        f"(limit {r['per_customer_limit']})"
        for r in await conn.fetch(_PER_CUSTOMER)
    ]
    problems += [
        f"{r['status'].lower()} order {r['order_id']}: redemption of {r['promotion_id']} "
        f"is {r['redemption'] or 'missing'}"
        for r in await conn.fetch(_SETTLED_REDEMPTIONS)
    ]
    return problems


# A bundle's order holds every component in full or nothing: a reservation that held
# stock names each component with at least the bundle's share, never the bundle's SKU.
_BUNDLES = """
SELECT o.order_id, l->>'sku' AS bundle, c->>0 AS component, r.status,
       (c->>1)::bigint * (l->>'quantity')::bigint AS wanted,
       (r.lines->>(c->>0))::bigint AS held, r.lines ? (l->>'sku') AS bundle_held
FROM checkout.orders o
CROSS JOIN jsonb_array_elements(o.lines) l
CROSS JOIN jsonb_array_elements(l->'components') c
JOIN inventory.reservations r ON r.order_id = o.order_id::text
WHERE l ? 'components' AND r.status IN ('reserved', 'committed', 'released')
  AND (coalesce((r.lines->>(c->>0))::bigint, 0) < (c->>1)::bigint * (l->>'quantity')::bigint
       OR r.lines ? (l->>'sku'))
LIMIT 20
"""


async def _bundles(conn: asyncpg.Connection) -> list[str]:
    if not await _exist(conn, "checkout.orders", "inventory.reservations"):
        return []
    return [
        f"order {r['order_id']}: bundle {r['bundle']} "
        + (
            "reserved as itself"
            if r["bundle_held"]
            else f"held {r['held'] or 0} of {r['wanted']} {r['component']} ({r['status']})"
        )
        for r in await conn.fetch(_BUNDLES)
    ]


# An order's delivery names a method the catalog has, of that kind and carrier, at no
# more than its dearest rate (0 when free); its shipment went with that method and
# carrier, a pickup order's to its pickup point.
_DELIVERY = """
SELECT o.order_id, o.delivery->>'method_id' AS method, m.method_id IS NOT NULL AS known,
       o.delivery->>'kind' AS kind, m.definition->>'kind' AS method_kind,
       o.delivery->>'carrier' AS carrier, m.definition->>'carrier' AS method_carrier,
       (o.delivery->>'price_minor')::bigint AS price,
       (SELECT max((b->>'price_minor')::bigint)
        FROM jsonb_array_elements(m.definition->'zones') z,
             jsonb_array_elements(z->'bands') b) AS dearest,
       sh.method_id AS shipped_method, sh.carrier AS shipped_carrier,
       sh.address->>'postcode' AS shipped_postcode,
       o.delivery->'pickup_point'->>'postcode' AS point_postcode
FROM checkout.orders o
LEFT JOIN catalog.delivery_methods m ON m.method_id = o.delivery->>'method_id'
LEFT JOIN shipping.shipments sh ON sh.order_id = o.order_id::text AND sh.address IS NOT NULL
WHERE o.delivery IS NOT NULL
"""


async def _delivery(conn: asyncpg.Connection) -> list[str]:
    tables = ("checkout.orders", "catalog.delivery_methods", "shipping.shipments")
    if not await _exist(conn, *tables):
        return []
    problems = []
    for r in await conn.fetch(_DELIVERY):
        order = f"order {r['order_id']}: delivery {r['method']}"
        if not r["known"]:
            problems.append(f"{order} is not a method of the catalog")
            continue
        if (r["kind"], r["carrier"]) != (r["method_kind"], r["method_carrier"]):
            problems.append(f"{order} is {r['kind']} by {r['carrier']}, the method is not")
        if r["price"] > (r["dearest"] or 0):
            problems.append(f"{order} charged {r['price']}, above its dearest rate")
        shipped = r["shipped_method"] is not None or r["shipped_carrier"] is not None
        if shipped and (r["shipped_method"], r["shipped_carrier"]) != (r["method"], r["carrier"]):
            problems.append(f"{order} shipped as {r['shipped_method']} by {r['shipped_carrier']}")
        point = r["point_postcode"]
        if shipped and point is not None and r["shipped_postcode"] != point:
            problems.append(f"{order} is a pickup order not shipped to its pickup point")
    return problems[:20]


_NUMBERING = """
SELECT series, year, count(*) AS n, max(seq) AS last, count(DISTINCT seq) AS distinct_seqs,
       (SELECT c.last FROM payment.document_counters c
        WHERE c.series = d.series AND c.year = d.year) AS counter
FROM payment.documents d GROUP BY series, year
"""
_INVOICED = """
SELECT i.order_id, i.number, i.total_minor, p.captured_minor, p.refunded_minor,
       coalesce((SELECT sum(c.total_minor) FROM payment.documents c
                 WHERE c.kind = 'credit_note' AND c.corrects = i.number), 0) AS credited
FROM payment.documents i JOIN payment.payments p ON p.order_id = i.order_id
WHERE i.kind = 'invoice'
"""


async def _documents(conn: asyncpg.Connection) -> list[str]:
    """Invoice and credit note numbers run 1..n per series and year with no gap or
    duplicate (and the counter agrees); an invoice totals what was captured, its credit
    notes what was refunded, never more than it."""
    if not await _exist(conn, "payment.documents", "payment.document_counters"):
        return []
    problems = []
    for r in await conn.fetch(_NUMBERING):
        series = f"{r['series']}-{r['year']}"
        if not r["n"] == r["distinct_seqs"] == r["last"] == r["counter"]:
            problems.append(
                f"{series}: {r['n']} documents, {r['distinct_seqs']} numbers, last "
                f"{r['last']}, counter {r['counter']} (a gap or a duplicate)"
            )
    for r in await conn.fetch(_INVOICED):
        invoice = f"invoice {r['number']} of {r['order_id']}"
        if r["total_minor"] != r["captured_minor"]:
            problems.append(f"{invoice}: {r['total_minor']}, captured {r['captured_minor']}")
        if r["credited"] > r["total_minor"] or r["credited"] > r["refunded_minor"]:
            problems.append(f"{invoice}: credited {r['credited']}, refunded {r['refunded_minor']}")
    return problems[:20]


_RETURNS = """
SELECT r.return_id, r.order_id, r.status, r.refund_minor, r.data,
       rc.lines AS restocked, res.lines AS committed
FROM orders.returns r
LEFT JOIN inventory.return_receipts rc ON rc.return_id = r.return_id
LEFT JOIN inventory.reservations res ON res.order_id = r.order_id
"""
_REFUNDS = """
SELECT p.order_id, p.captured_minor, p.refunded_minor,
       coalesce(sum(l.amount_minor) FILTER (WHERE l.kind = 'refund' AND l.result = 'approved'), 0)
         AS ledger_refunds
FROM payment.payments p LEFT JOIN payment.gateway_ledger l ON l.order_id = p.order_id
GROUP BY p.order_id, p.captured_minor, p.refunded_minor
"""


def _json(value: Any) -> Any:
    """A jsonb column as data (this connection has no JSON codec: it reads text)."""
    return json.loads(value) if isinstance(value, str) else value


def _returned_stock(data: dict[str, Any]) -> dict[str, int]:
    """A return's received units as stock (a bundle's as its components)."""
    components = {line["sku"]: line["components"] for line in data["lines"]}
    stock: dict[str, int] = {}
    for got in data["received"]:
        for sku, per_unit in components.get(got["sku"]) or [[got["sku"], 1]]:
            stock[sku] = stock.get(sku, 0) + per_unit * got["quantity"]
    return stock


async def _returns(conn: asyncpg.Connection) -> list[str]:
    """Refunds never exceed what was captured (the gateway's ledger, and what returns
    refunded); what a return restocked or wrote off never exceeds what it received, and a
    completed return's goods were taken back whole; an order never takes back more of a
    SKU than it committed."""
    if not await _exist(conn, "orders.returns", "inventory.return_receipts"):
        return []
    problems = []
    returned = await _returned(conn)
    for r in await conn.fetch(_REFUNDS):
        order = f"order {r['order_id']}"
        settled, _ = returned.get(r["order_id"], (0, 0))
        if r["ledger_refunds"] > r["captured_minor"] or r["refunded_minor"] > r["captured_minor"]:
            problems.append(f"{order}: refunded {r['ledger_refunds']} of {r['captured_minor']}")
        if settled > r["refunded_minor"]:
            problems.append(f"{order}: returns refunded {settled}, payment {r['refunded_minor']}")
    taken_back: dict[str, dict[str, int]] = {}
    committed: dict[str, dict[str, int]] = {}
    for r in await conn.fetch(_RETURNS):
        received = _returned_stock(_json(r["data"]))
        restocked: dict[str, int] = {}
        for sku, quantity, _ in _json(r["restocked"]) or []:
            restocked[sku] = restocked.get(sku, 0) + quantity
        back = taken_back.setdefault(r["order_id"], {})
        for sku, quantity in restocked.items():
            back[sku] = back.get(sku, 0) + quantity
            if quantity > received.get(sku, 0):
                problems.append(f"return {r['return_id']}: {quantity} {sku} restocked, "
                                f"{received.get(sku, 0)} received")  # fmt: skip
        if r["status"] == "completed" and restocked != received:
            problems.append(f"completed return {r['return_id']}: restocked {restocked}, "
                            f"received {received}")  # fmt: skip
        committed[r["order_id"]] = dict(_json(r["committed"]) or {})
    for order_id, back in taken_back.items():
        for sku, quantity in back.items():
            if quantity > committed[order_id].get(sku, 0):
                problems.append(f"order {order_id}: {quantity} {sku} taken back, "
                                f"{committed[order_id].get(sku, 0)} committed")  # fmt: skip
    return problems[:20]


_CONSISTENCY = """
SELECT s.order_id, s.status, r.status AS reservation, p.status AS payment, sh.status AS shipment
FROM orders.sagas s
LEFT JOIN inventory.reservations r ON r.order_id = s.order_id
LEFT JOIN payment.payments p ON p.order_id = s.order_id
LEFT JOIN shipping.shipments sh ON sh.order_id = s.order_id
WHERE s.status = ANY($1::text[])
"""


async def _consistency(conn: asyncpg.Connection) -> list[str]:
    problems = []
    returned = await _returned(conn)
    for r in await conn.fetch(_CONSISTENCY, ["COMPLETED", "REJECTED", "CANCELLED"]):
        oid, status = r["order_id"], r["status"]
        if status == "COMPLETED":
            if r["reservation"] != "committed":
                problems.append(f"completed order {oid}: reservation is {r['reservation']}")
            # A return's refund leaves the payment refunded (in part).
            paid = ("captured", "refunded") if sum(returned.get(oid, (0, 0))) else ("captured",)
            if r["payment"] not in paid:
                problems.append(f"completed order {oid}: payment is {r['payment']}")
            if r["shipment"] not in BOOKED_SHIPMENT:
                problems.append(f"completed order {oid}: shipment is {r['shipment']}")
        else:
            if r["reservation"] in ("reserved", "committed"):
                problems.append(f"{status.lower()} order {oid}: stock still {r['reservation']}")
            if r["payment"] in ("authorized", "captured", "authorization_pending"):
                problems.append(f"{status.lower()} order {oid}: payment still {r['payment']}")
            if r["shipment"] == "requested" or r["shipment"] in BOOKED_SHIPMENT:
                problems.append(f"{status.lower()} order {oid}: shipment still {r['shipment']}")
    return problems


# A shipment the carrier booked, at any step since (shipping's ShipmentStatus.booked).
BOOKED_SHIPMENT = frozenset({
    "created", "dispatched", "out_for_delivery", "delivered", "delivery_exception", "returned",
})  # fmt: skip
# The tracking step each status is reached by (the newest one of a tracked shipment).
_LAST_STEP = {
    "created": "booked", "dispatched": "in_transit", "out_for_delivery": "out_for_delivery",
    "delivered": "delivered", "delivery_exception": "delivery_exception",
    "returned": "returned_to_sender", "cancelled": "cancelled",
}  # fmt: skip
_TRACKING = """
SELECT order_id, status, tracking->-1->>'status' AS last_step,
       next_step_at IS NOT NULL AS due, delivered_at IS NOT NULL AS delivered,
       (SELECT bool_and((a->>'at')::timestamptz <= (b->>'at')::timestamptz)
        FROM jsonb_array_elements(tracking) WITH ORDINALITY x(a, i)
        JOIN jsonb_array_elements(tracking) WITH ORDINALITY y(b, j) ON j = i + 1) AS ordered
FROM shipping.shipments WHERE jsonb_array_length(tracking) > 0
"""


async def _tracking(conn: asyncpg.Connection) -> list[str]:
    """Every booked shipment's tracking ends with the step of its status, in time order; a
    shipment still moving has its next step due, a finished one none; delivered means a
    delivery time. (Shipments booked before tracking existed have no steps: skipped.)"""
    if not await _exist(conn, "shipping.shipments"):
        return []
    problems = []
    for r in await conn.fetch(_TRACKING):
        shipment = f"shipment of {r['order_id']} ({r['status']})"
        if r["last_step"] != _LAST_STEP.get(r["status"]):
            problems.append(f"{shipment}: last tracking step is {r['last_step']}")
        if r["ordered"] is False:
            problems.append(f"{shipment}: tracking steps out of time order")
        moving = r["status"] not in ("delivered", "returned", "cancelled")
        if r["due"] != moving:
            problems.append(f"{shipment}: next step {'missing' if moving else 'still due'}")
        if (r["status"] == "delivered") != r["delivered"]:
            problems.append(f"{shipment}: delivered_at does not match")
    return problems[:20]


def _legal_pairs() -> set[tuple[str | None, str]]:
    from orders.saga.transitions import LEGAL_TRANSITIONS

    return {(a.value if a else None, b.value) for a, b in LEGAL_TRANSITIONS}


async def _transitions(conn: asyncpg.Connection) -> list[str]:
    legal = _legal_pairs()
    rows = await conn.fetch("SELECT DISTINCT from_status, to_status FROM orders.saga_history")
    bad = [
        (r["from_status"], r["to_status"])
        for r in rows
        if (r["from_status"], r["to_status"]) not in legal
    ]
    problems = []
    for from_status, to_status in bad:
        example = await conn.fetchval(
            "SELECT order_id FROM orders.saga_history WHERE from_status IS NOT DISTINCT FROM $1 "
            "AND to_status = $2 LIMIT 1",
            from_status,
            to_status,
        )
        problems.append(f"illegal transition {from_status} -> {to_status} (e.g. order {example})")
    return problems


async def pending_outbox_rows(conn: asyncpg.Connection) -> dict[str, int]:
    """Each service schema's outbox rows not yet published."""
    return {
        schema: int(await conn.fetchval(f"SELECT count(*) FROM {schema}.outbox_pending"))  # noqa: S608
        for schema in await schemas_with(conn, "outbox")
    }


async def _outboxes(conn: asyncpg.Connection) -> list[str]:
    return [
        f"{schema}: {pending} outbox rows not yet published"
        for schema, pending in (await pending_outbox_rows(conn)).items()
        if pending
    ]


def _service_pairs() -> list[tuple[str, str, str]]:
    """(topic, producing schema, consuming schema) for every service-to-service topic."""
    from orderflow_contracts.catalogue import CATALOGUE, SERVICES

    return [
        (entry.topic, producer, consumer)
        for entry in CATALOGUE
        for producer in entry.producers
        for consumer in entry.consumers
        if producer in SERVICES and consumer in SERVICES
    ]


async def _handled(conn: asyncpg.Connection) -> list[str]:
    """No loss: every message published to a topic is in each consuming service's inbox
    (processed, ignored or dead-lettered), once it had a few seconds to arrive, and
    while housekeeping may not have pruned its inbox row (``RETENTION_MESSAGES_S``)."""
    problems = []
    window = timedelta(seconds=RetentionSettings().messages_s)
    for topic, producer, consumer in _service_pairs():
        if not await _exist(conn, f"{producer}.outbox", f"{consumer}.inbox"):
            continue
        rows = await conn.fetch(
            f"SELECT o.message_id, o.message_type FROM {producer}.outbox o "  # noqa: S608
            f"WHERE o.topic = $1 AND o.created_at < now() - interval '5 seconds' "
            f"AND o.created_at > now() - $2::interval "
            f"AND {published_sql('o', producer)} "
            f"AND NOT EXISTS (SELECT 1 FROM {consumer}.inbox i WHERE i.message_id = o.message_id) "
            f"LIMIT 20",
            topic,
            window,
        )
        problems += [
            f"{r['message_type']} {r['message_id']} on {topic} not handled by {consumer}"
            for r in rows
        ]
    return problems


# A card number: 13 to 19 digits (optionally grouped), Luhn-valid. Logs must never hold one.
# Word boundaries keep ids (UUIDs, hex) from looking like one.
_PAN = re.compile(r"(?<![\w-])(?:\d ?){12,18}\d(?![\w-])")


def _luhn(digits: str) -> bool:
    total = 0
    for index, char in enumerate(reversed(digits)):
        value = int(char) * (2 if index % 2 else 1)
        total += value - 9 if value > 9 else value
    return total % 10 == 0


def hygiene_problems(text: str, canaries: Sequence[str]) -> list[str]:
    found = [f"canary value {c!r} present" for c in canaries if c and c in text]
    for match in _PAN.finditer(text):
        digits = re.sub(r"\D", "", match.group())
        if 13 <= len(digits) <= 19 and _luhn(digits):
            found.append(f"card-number-like value ending {digits[-4:]}")
    return found


def canaries() -> list[str]:
    """Values that must appear nowhere (ORDERFLOW_CANARIES, comma-separated)."""
    return [c for c in os.environ.get("ORDERFLOW_CANARIES", "").split(",") if c]


async def _log_hygiene(conn: asyncpg.Connection) -> list[str]:
    """No card data and no canary values in the services' logs."""
    del conn
    from orderflow_cli.paths import logs_dir

    problems = []
    for path in sorted(logs_dir().glob("*.log")):
        if path.name.startswith(("kafka", "postgres")):
            continue
        for problem in hygiene_problems(path.read_text(errors="replace"), canaries())[:5]:
            problems.append(f"{path.name}: {problem}")
    return problems


def consumer_groups() -> dict[str, set[str]]:
    """Each service consumer group and the topics it reads (the catalogue's ``GROUPS``).
    A group is named like its consumer (the ``consumer`` column of the inbox): checkout
    reads the upstream door (orders.inbound) with a consumer and group of its own, the
    catalog the promotions' commands."""
    from orderflow_contracts.catalogue import GROUPS

    groups: dict[str, set[str]] = {}
    for group in GROUPS:
        groups.setdefault(group.group, set()).update(group.topics)
    return groups


async def _consumer_lag(conn: asyncpg.Connection) -> list[str]:
    """Liveness: every service's consumer group has read everything on its topics."""
    del conn
    from aiokafka import AIOKafkaConsumer
    from aiokafka.admin import AIOKafkaAdminClient

    from orderflow_cli.stack import read_env

    bootstrap = read_env().get("KAFKA_BOOTSTRAP_SERVERS")
    if not bootstrap:
        return ["no KAFKA_BOOTSTRAP_SERVERS in stack.env"]
    admin = AIOKafkaAdminClient(**client_options(bootstrap))
    kafka = AIOKafkaConsumer(**client_options(bootstrap))
    await admin.start()
    await kafka.start()
    problems = []
    try:
        for group, topics in sorted(consumer_groups().items()):
            offsets = await admin.list_consumer_group_offsets(group)
            parts = [tp for tp in offsets if tp.topic in topics]
            ends = await kafka.end_offsets(parts) if parts else {}
            lag = sum(max(0, ends[tp] - offsets[tp].offset) for tp in parts)
            if lag:
                problems.append(f"consumer group {group} is {lag} records behind")
    finally:
        await kafka.stop()
        await admin.close()
    return problems


CHECKS: dict[str, Check] = {
    "orders_terminal": _orders_terminal,
    "money": _money,
    "stock_conserved": _stock,
    "catalog_availability": _availability,
    "order_totals": _order_totals,
    "promotion_limits": _promotions,
    "bundle_atomicity": _bundles,
    "delivery_methods": _delivery,
    "shipment_tracking": _tracking,
    "invoices": _documents,
    "returns": _returns,
    "saga_consistency": _consistency,
    "legal_transitions": _transitions,
    "outbox_published": _outboxes,
    "published_handled": _handled,
    "consumer_lag": _consumer_lag,
    "log_hygiene": _log_hygiene,
}


async def stats(conn: asyncpg.Connection) -> dict[str, Any]:
    by_status = await conn.fetch("SELECT status, count(*) AS n FROM orders.sagas GROUP BY status")
    dead = 0
    duplicates = 0
    for schema in await schemas_with(conn, "inbox"):
        dead += await conn.fetchval(
            f"SELECT count(*) FROM {schema}.inbox WHERE status = 'dead_lettered'"  # noqa: S608
        )
        duplicates += await conn.fetchval(
            f"SELECT coalesce(sum(duplicates), 0) FROM {schema}.inbox"  # noqa: S608
        )
    return {
        "orders": {r["status"]: r["n"] for r in by_status},
        "dead_lettered": dead,
        "duplicates_absorbed": int(duplicates),
        "deliveries": await _accounting(conn),
    }


async def _accounting(conn: asyncpg.Connection) -> list[dict[str, Any]]:
    """Per topic and consumer: produced = processed + ignored + dead-lettered, plus the
    duplicate deliveries the inbox absorbed."""
    rows = []
    for topic, producer, consumer in _service_pairs():
        if not await _exist(conn, f"{producer}.outbox", f"{consumer}.inbox"):
            continue
        row = await conn.fetchrow(
            f"SELECT count(*) AS produced, "  # noqa: S608
            f"count(i.message_id) FILTER (WHERE i.status = 'processed') AS processed, "
            f"count(i.message_id) FILTER (WHERE i.status = 'ignored') AS ignored, "
            f"count(i.message_id) FILTER (WHERE i.status = 'dead_lettered') AS dead_lettered, "
            f"coalesce(sum(i.duplicates), 0) AS duplicates "
            f"FROM {producer}.outbox o LEFT JOIN {consumer}.inbox i ON i.message_id = o.message_id "
            f"WHERE o.topic = $1",
            topic,
        )
        counts = {k: int(v) for k, v in row.items()} if row else {}
        rows.append({"topic": topic, "consumer": consumer, **counts})
    return rows


async def verify(
    admin_url: str, scan_budget_s: float | None = None
) -> tuple[list[CheckResult], dict[str, Any]]:
    """Every check; ``scan_budget_s`` bounds the read of the topics (default 30 s)."""
    # Imported here: verify_dlq builds on this module.
    from orderflow_cli.stack import read_env
    from orderflow_cli.verify_dlq import SCAN_BUDGET_S, KafkaView, kafka_checks

    budget = SCAN_BUDGET_S if scan_budget_s is None else scan_budget_s
    kafka = KafkaView(read_env().get("KAFKA_BOOTSTRAP_SERVERS"), canaries(), budget)
    checks = {**CHECKS, **kafka_checks(kafka)}
    conn = await asyncpg.connect(admin_url, timeout=10)
    try:
        results = [CheckResult(name, await check(conn)) for name, check in checks.items()]
        return results, await stats(conn)
    finally:
        await conn.close()
