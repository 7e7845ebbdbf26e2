"""The shipping domain: the carrier's answer by postcode, and when a shipment moves on."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from uuid import UUID

import pytest

from shipping.domain.carrier import Booking, CarrierVerdict, SimulatedCarrier
from shipping.domain.model import (
    Address,
    Line,
    Shipment,
    ShipmentStatus,
    Timings,
    TrackingEvent,
    TrackingStatus,
    open_shipment,
    tombstone,
)

T0 = datetime(2026, 3, 1, 12, tzinfo=UTC)
TIMINGS = Timings(
    slow_delay=timedelta(seconds=10),
    dispatch_after=timedelta(seconds=3),
    deliver_after=timedelta(seconds=3),
)
CARRIER = SimulatedCarrier()
ID = UUID(int=0xABCDEF)


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def address(postcode: str) -> Address:
    return Address("Ada Lovelace", "1 Analytical Way", "London", postcode, "GB")


def opened(postcode: str = "10115", now: datetime = T0) -> Shipment:
    return open_shipment("o1", address(postcode), [Line("A", 2)], CARRIER, ID, now, TIMINGS)


@pytest.mark.parametrize(
    ("postcode", "verdict"),
    [
        ("00100", CarrierVerdict.REJECTED),
        ("00", CarrierVerdict.REJECTED),
        ("99501", CarrierVerdict.SLOW),
        ("99", CarrierVerdict.SLOW),
        ("98765", CarrierVerdict.UNDELIVERABLE),
        ("98", CarrierVerdict.UNDELIVERABLE),
        ("10115", CarrierVerdict.ACCEPTED),
        ("0", CarrierVerdict.ACCEPTED),
        ("09100", CarrierVerdict.ACCEPTED),
        ("90210", CarrierVerdict.ACCEPTED),
        ("SW1A 1AA", CarrierVerdict.ACCEPTED),
        ("1009", CarrierVerdict.ACCEPTED),
    ],
)
def test_carrier_decides_by_postcode_prefix(postcode: str, verdict: CarrierVerdict) -> None:
    assert CARRIER.assess(postcode) is verdict


def test_booking_is_simpost_with_a_tracking_number_per_shipment() -> None:
    booking = CARRIER.book(ID)
    assert booking == Booking(str(ID), "SimPost", "SP000000ABCDEF")
    assert CARRIER.book(UUID(int=2)).tracking_number != booking.tracking_number


def test_accepted_address_is_created_at_once() -> None:
    shipment = opened("10115")
    assert shipment.status is ShipmentStatus.CREATED
    assert shipment.booking == CARRIER.book(ID)
    assert (shipment.requested_at, shipment.created_at, shipment.ready_at) == (T0, T0, None)
    assert shipment.lines == (Line("A", 2),)


def test_rejected_address_fails_with_the_carriers_reason() -> None:
    shipment = opened("00100")
    assert shipment.status is ShipmentStatus.FAILED
    assert shipment.reason == "carrier rejected the address"
    assert shipment.booking is None
    assert shipment.created_at is None


def test_slow_carrier_leaves_it_requested_until_ready() -> None:
    shipment = opened("99501")
    assert shipment.status is ShipmentStatus.REQUESTED
    assert shipment.booking is None
    assert shipment.ready_at == at(10)
    assert (shipment.tracking, shipment.next_step_at) == ((), None)
    assert not shipment.is_ready(at(9.999))
    assert shipment.is_ready(at(10))
    created = shipment.confirm(CARRIER.book(ID), at(10.4), TIMINGS)
    assert created.status is ShipmentStatus.CREATED
    assert created.created_at == at(10.4)
    assert created.booking is not None
    # Booked late: its tracking starts then, dispatch due dispatch_after from then.
    assert created.tracking == (TrackingEvent(TrackingStatus.BOOKED, at(10.4), at(16.4)),)
    assert created.next_step_at == at(13.4)


def test_only_a_requested_shipment_can_be_confirmed() -> None:
    cancelled = opened("99501").cancel("customer", at(1)).shipment
    assert not cancelled.is_ready(at(11))
    with pytest.raises(ValueError, match="cancelled"):
        cancelled.confirm(CARRIER.book(ID), at(11), TIMINGS)


def step(shipment: Shipment | None, now: datetime) -> Shipment:
    """The next step at ``now``, which must be due."""
    assert shipment is not None
    moved = shipment.next_step(now, TIMINGS, CARRIER)
    assert moved is not None
    return moved


def test_booking_is_the_first_tracking_step_with_the_eta() -> None:
    shipment = opened()
    assert shipment.tracking == (TrackingEvent(TrackingStatus.BOOKED, T0, at(6)),)
    assert (shipment.eta, shipment.next_step_at) == (at(6), at(3))


def test_created_is_in_transit_after_dispatch_delay_from_creation() -> None:
    shipment = opened(now=T0)
    assert not shipment.is_due(at(2.999))
    assert shipment.next_step(at(2.999), TIMINGS, CARRIER) is None
    dispatched = step(shipment, at(3.2))
    assert dispatched.status is ShipmentStatus.DISPATCHED
    assert (dispatched.dispatched_at, dispatched.updated_at) == (at(3.2), at(3.2))
    assert dispatched.tracking[-1] == TrackingEvent(TrackingStatus.IN_TRANSIT, at(3.2), at(6.2))
    assert dispatched.next_step_at == at(4.7)


def test_tracked_to_delivered_through_every_step() -> None:
    dispatched = step(opened(), at(3.2))
    # Measured from the dispatch, not from the creation: out for delivery halfway.
    assert dispatched.next_step(at(4.699), TIMINGS, CARRIER) is None
    out = step(dispatched, at(4.7))
    assert out.status is ShipmentStatus.OUT_FOR_DELIVERY
    assert out.next_step(at(6.199), TIMINGS, CARRIER) is None
    delivered = step(out, at(6.2))
    assert delivered.status is ShipmentStatus.DELIVERED
    assert delivered.delivered_at == at(6.2)
    assert delivered.next_step(at(1000), TIMINGS, CARRIER) is None
    assert not delivered.is_due(at(1000))
    assert delivered.tracking == (
        TrackingEvent(TrackingStatus.BOOKED, T0, at(6)),
        TrackingEvent(TrackingStatus.IN_TRANSIT, at(3.2), at(6.2)),
        TrackingEvent(TrackingStatus.OUT_FOR_DELIVERY, at(4.7), at(6.2)),
        TrackingEvent(TrackingStatus.DELIVERED, at(6.2), None),
    )
    assert (delivered.eta, delivered.next_step_at) == (None, None)


def test_an_undeliverable_parcel_goes_back_to_the_sender() -> None:
    shipment = opened("98765")
    assert shipment.status is ShipmentStatus.CREATED  # the carrier takes it at first
    out = step(step(shipment, at(3)), at(4.5))
    exception = step(out, at(6))
    assert exception.status is ShipmentStatus.DELIVERY_EXCEPTION
    assert exception.reason == "recipient not found at the address"
    assert exception.delivered_at is None
    assert exception.next_step(at(7.499), TIMINGS, CARRIER) is None
    returned = step(exception, at(7.5))
    assert returned.status is ShipmentStatus.RETURNED
    assert returned.next_step(at(1000), TIMINGS, CARRIER) is None
    assert [(e.status, e.eta, e.detail) for e in returned.tracking[-2:]] == [
        (TrackingStatus.DELIVERY_EXCEPTION, None, "recipient not found at the address"),
        (TrackingStatus.RETURNED_TO_SENDER, None, None),
    ]


def test_one_step_at_a_time_even_when_several_are_overdue() -> None:
    assert step(opened(), at(1000)).status is ShipmentStatus.DISPATCHED


@pytest.mark.parametrize("postcode", ["99501", "00100"])
def test_requested_and_failed_never_advance_by_time(postcode: str) -> None:
    assert opened(postcode).next_step(at(1000), TIMINGS, CARRIER) is None


def test_cancel_before_dispatch_cancels() -> None:
    for shipment in (opened("10115"), opened("99501")):
        decision = shipment.cancel("customer", at(1))
        assert decision.changed
        assert decision.refusal is None
        assert decision.shipment.status is ShipmentStatus.CANCELLED
        assert decision.shipment.reason == "customer"
        assert decision.shipment.next_step(at(1000), TIMINGS, CARRIER) is None


def test_cancel_after_dispatch_is_refused() -> None:
    dispatched = step(opened("98765"), at(3))
    out = step(dispatched, at(4.5))
    exception = step(out, at(6))
    returned = step(exception, at(7.5))
    delivered = step(step(step(opened(), at(3)), at(4.5)), at(6))
    for shipment in (dispatched, out, exception, returned, delivered):
        decision = shipment.cancel("customer", at(7))
        assert decision.refusal == "already dispatched"
        assert not decision.changed
        assert decision.shipment == shipment


def test_cancel_of_cancelled_or_failed_holds_without_change() -> None:
    for shipment in (opened("00100"), tombstone("o1", "first", T0)):
        decision = shipment.cancel("again", at(1))
        assert (decision.changed, decision.refusal) == (False, None)
        assert decision.shipment == shipment


def test_tombstone_is_cancelled_with_nothing_to_ship() -> None:
    stone = tombstone("o9", "payment declined", T0)
    assert stone.status is ShipmentStatus.CANCELLED
    assert (stone.address, stone.lines, stone.booking) == (None, (), None)
    assert stone.reason == "payment declined"


def test_cancel_of_a_booked_shipment_ends_its_tracking() -> None:
    cancelled = opened().cancel("customer", at(1)).shipment
    assert cancelled.tracking[-1] == TrackingEvent(
        TrackingStatus.CANCELLED, at(1), None, "customer"
    )
    assert (cancelled.next_step_at, cancelled.eta) == (None, None)
    assert not cancelled.is_due(at(1000))
    # Not booked yet (a slow carrier): nothing to track, nothing added.
    assert opened("99501").cancel("customer", at(1)).shipment.tracking == ()
