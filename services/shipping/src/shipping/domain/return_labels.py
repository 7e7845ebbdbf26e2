"""Return labels: a prepaid label per return, for the parcel the customer sends back.

    (none) --create--> issued | refused (the carrier does not collect there)
    issued | refused | (none) --cancel--> cancelled (none: a tombstone, so a late create
                                                     is refused)

The simulated carrier collects wherever it delivers: a postcode it rejects ("00...")
or cannot deliver to ("98...") gets no label. Tracking numbers are derived from the
return id ("RL" + its last 12 hex digits), so a label can be predicted in tests.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from enum import StrEnum

from shipping.domain.carrier import CarrierVerdict, SimulatedCarrier

NO_COLLECTION = "the carrier does not collect at this address"


class LabelStatus(StrEnum):
    ISSUED = "issued"
    REFUSED = "refused"
    CANCELLED = "cancelled"


@dataclass(frozen=True)
class ReturnLabel:
    return_id: str
    order_id: str
    status: LabelStatus
    carrier: str | None = None
    tracking_number: str | None = None
    reason: str | None = None

    def cancelled(self, reason: str) -> ReturnLabel:
        if self.status is LabelStatus.CANCELLED:
            return self
        return replace(self, status=LabelStatus.CANCELLED, reason=reason)


def issue_label(
    return_id: str, order_id: str, postcode: str, carrier: SimulatedCarrier
) -> ReturnLabel:
    verdict = carrier.assess(postcode)
    if verdict in (CarrierVerdict.REJECTED, CarrierVerdict.UNDELIVERABLE):
        return ReturnLabel(return_id, order_id, LabelStatus.REFUSED, reason=NO_COLLECTION)
    tracking = f"RL{return_id[-12:].upper()}"
    return ReturnLabel(return_id, order_id, LabelStatus.ISSUED, carrier.name, tracking)


def label_tombstone(return_id: str, order_id: str, reason: str) -> ReturnLabel:
    return ReturnLabel(return_id, order_id, LabelStatus.CANCELLED, reason=reason)
