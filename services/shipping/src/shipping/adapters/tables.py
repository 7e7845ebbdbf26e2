"""Shipping tables (in the shipping schema; the service role's search_path)."""

from __future__ import annotations

from sqlalchemy import (
    CheckConstraint,
    Column,
    DateTime,
    Index,
    MetaData,
    Table,
    Text,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB

metadata = MetaData()

STATUS_KNOWN = (
    "status IN ('requested', 'created', 'dispatched', 'out_for_delivery', 'delivered',"
    " 'delivery_exception', 'returned', 'cancelled', 'failed')"
)
# The statuses a tracking step is still to come from (ShipmentStatus.moving).
MOVING = "status IN ('created', 'dispatched', 'out_for_delivery', 'delivery_exception')"

shipments = Table(
    "shipments",
    metadata,
    # The order id is the natural key: a resent CreateShipment can never add a second row.
    Column("order_id", Text, primary_key=True),
    Column("shipment_id", Text, nullable=True, unique=True),
    Column("status", Text, nullable=False),
    # Null only for a tombstone (cancelled before any CreateShipment arrived).
    Column("address", JSONB, nullable=True),
    Column("lines", JSONB, nullable=False, server_default="[]"),
    Column("carrier", Text, nullable=True),
    Column("tracking_number", Text, nullable=True),
    # Why it failed or was cancelled; a resent CreateShipment repeats it.
    Column("reason", Text, nullable=True),
    Column("requested_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("created_at", DateTime(timezone=True), nullable=True),
    Column("ready_at", DateTime(timezone=True), nullable=True),
    Column("dispatched_at", DateTime(timezone=True), nullable=True),
    Column("delivered_at", DateTime(timezone=True), nullable=True),
    Column("updated_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    # The order's trace, for the timers' events (Shipment.traceparent); null untraced.
    Column("traceparent", Text, nullable=True),
    # The order's delivery method (null: none chosen); ``carrier`` is the one it books
    # with, set when the shipment is requested.
    Column("method_id", Text, nullable=True),
    # The parcel's tracking steps, oldest first ({status, at, eta, detail}), and when the
    # next one is due (null: none is to come).
    Column("tracking", JSONB, nullable=False, server_default="[]"),
    Column("next_step_at", DateTime(timezone=True), nullable=True),
    CheckConstraint(STATUS_KNOWN, name="shipments_status_known"),
    # The timers scan by status; partial indexes keep that cheap as delivered rows pile up.
    Index(
        "shipments_pending_creation",
        "ready_at",
        postgresql_where=text("status = 'requested'"),
    ),
    Index("shipments_due", "next_step_at", postgresql_where=text(MOVING)),
)

# A prepaid label per return (domain/return_labels.py).
return_labels = Table(
    "return_labels",
    metadata,
    Column("return_id", Text, primary_key=True),
    Column("order_id", Text, nullable=False, index=True),
    Column("status", Text, nullable=False),
    Column("carrier", Text, nullable=True),
    Column("tracking_number", Text, nullable=True),
    Column("reason", Text, nullable=True),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("updated_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    CheckConstraint(
        "status IN ('issued', 'refused', 'cancelled')", name="return_label_status_known"
    ),
)
