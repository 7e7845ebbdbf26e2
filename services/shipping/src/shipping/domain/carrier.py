"""The simulated carriers ("SimPost" unless an order's delivery method names another).

It stands in for a real carrier's API, so its answers are deterministic by postcode:
tests and demos pick an outcome by the address they send (a pickup order's is its
pickup point's, so the customer's own postcode does not matter to it).
    "00..."  rejected (the carrier refuses the address)
    "99..."  slow (accepted only after a delay)
    "98..."  undeliverable (accepted and sent, but nobody takes it: a delivery exception,
             then returned to the sender)
    other    accepted at once
Each carrier books under its own name, with tracking numbers of its own prefix (the
capitals of its name: SimPost SP..., SimExpress SE...).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from enum import StrEnum
from uuid import UUID

REJECTED_ADDRESS = "carrier rejected the address"
NOBODY_THERE = "recipient not found at the address"


class CarrierVerdict(StrEnum):
    ACCEPTED = "accepted"
    REJECTED = "rejected"
    SLOW = "slow"
    UNDELIVERABLE = "undeliverable"


@dataclass(frozen=True)
class Booking:
    """What the carrier hands back once it accepted a parcel."""

    shipment_id: str
    carrier: str
    tracking_number: str


@dataclass(frozen=True)
class SimulatedCarrier:
    name: str = "SimPost"
    rejection_reason: str = REJECTED_ADDRESS

    def assess(self, postcode: str) -> CarrierVerdict:
        code = postcode.strip()
        if code.startswith("00"):
            return CarrierVerdict.REJECTED
        if code.startswith("99"):
            return CarrierVerdict.SLOW
        if code.startswith("98"):
            return CarrierVerdict.UNDELIVERABLE
        return CarrierVerdict.ACCEPTED

    def delivers(self, postcode: str) -> bool:
        """Whether a parcel out for delivery to ``postcode`` is taken (else: an exception)."""
        return self.assess(postcode) is not CarrierVerdict.UNDELIVERABLE

    def named(self, name: str | None) -> SimulatedCarrier:
        """The carrier an order's delivery method books with (None: this one)."""
        return self if name is None or name == self.name else replace(self, name=name)

    def book(self, shipment_id: UUID) -> Booking:
        # Derived from the id rather than random, so a booking can be predicted in tests
        # and is unique wherever the id is.
        prefix = "".join(c for c in self.name if c.isupper())[:3] or "SP"
        tracking = f"{prefix}{shipment_id.hex[-12:].upper()}"
        return Booking(str(shipment_id), self.name, tracking)
