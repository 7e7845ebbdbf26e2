"""The simulated carrier "SimPost".

It stands in for a real carrier's API, so its answers are deterministic by postcode:
tests and demos pick an outcome by the address they send.
    "00..."  rejected (the carrier refuses the address)
    "99..."  slow (accepted only after a delay)
    other    accepted at once
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from uuid import UUID

REJECTED_ADDRESS = "carrier rejected the address"


class CarrierVerdict(StrEnum):
    ACCEPTED = "accepted"
    REJECTED = "rejected"
    SLOW = "slow"


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
        return CarrierVerdict.ACCEPTED

    def book(self, shipment_id: UUID) -> Booking:
        # Derived from the id rather than random, so a booking can be predicted in tests
        # and is unique wherever the id is.
        tracking = f"SP{shipment_id.hex[-12:].upper()}"
        return Booking(str(shipment_id), self.name, tracking)
