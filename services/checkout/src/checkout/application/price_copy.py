"""Keeping checkout's copy of the price data: the catalog's price lists, rules,
customers' price groups, promotions and delivery methods (catalog.events) and
inventory's stock levels (inventory.stock), a batch at a time.

Each event carries its subject's whole state and a revision that only grows, so a batch
keeps, per subject, the event with the highest revision and writes it once; the store
replaces a row only with a higher revision. A redelivery, a replay or an event that
overtook another never brings an older state back (no lock, no load needed).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Protocol, TypeVar

import structlog

from orderflow_contracts.catalog import (
    CustomerPriceGroupsChanged,
    DeliveryMethodChanged,
    PriceListChanged,
    PriceRuleChanged,
    PromotionChanged,
)
from orderflow_contracts.inventory import StockLevelChanged
from orderflow_messaging.consumer import Incoming

log = structlog.get_logger(__name__)

PriceEvent = (
    PriceListChanged
    | PriceRuleChanged
    | CustomerPriceGroupsChanged
    | PromotionChanged
    | DeliveryMethodChanged
    | StockLevelChanged
)
PRICE_EVENTS = (
    PriceListChanged,
    PriceRuleChanged,
    CustomerPriceGroupsChanged,
    PromotionChanged,
    DeliveryMethodChanged,
    StockLevelChanged,
)
E = TypeVar("E", bound=PriceEvent)


@dataclass
class PriceChanges:
    """Per subject, the newest state a batch brought (what ``PriceCopyStore.save`` gets)."""

    lists: list[PriceListChanged] = field(default_factory=list)
    rules: list[PriceRuleChanged] = field(default_factory=list)
    groups: list[CustomerPriceGroupsChanged] = field(default_factory=list)
    levels: list[StockLevelChanged] = field(default_factory=list)
    promotions: list[PromotionChanged] = field(default_factory=list)
    delivery: list[DeliveryMethodChanged] = field(default_factory=list)

    def __len__(self) -> int:
        kinds = (self.lists, self.rules, self.groups, self.levels, self.promotions, self.delivery)
        return sum(len(kind) for kind in kinds)


class PriceCopyStore(Protocol):
    async def save(self, changes: PriceChanges) -> None:
        """Keep each state whose revision is above the stored one's (one per subject)."""


def _subject(event: PriceEvent) -> str:
    match event:
        case PriceListChanged():
            return event.list_id
        case PriceRuleChanged():
            return event.rule_id
        case CustomerPriceGroupsChanged():
            return event.customer_id
        case StockLevelChanged():
            return event.sku
        case PromotionChanged():
            return event.promotion_id
        case DeliveryMethodChanged():
            return event.method_id


def _newest(events: Iterable[PriceEvent], kind: type[E]) -> list[E]:
    newest: dict[str, E] = {}
    for event in events:
        if isinstance(event, kind):
            known = newest.get(_subject(event))
            if known is None or event.revision > known.revision:
                newest[_subject(event)] = event
    return [newest[key] for key in sorted(newest)]


def newest_changes(events: Sequence[PriceEvent]) -> PriceChanges:
    return PriceChanges(
        lists=_newest(events, PriceListChanged),
        rules=_newest(events, PriceRuleChanged),
        groups=_newest(events, CustomerPriceGroupsChanged),
        levels=_newest(events, StockLevelChanged),
        promotions=_newest(events, PromotionChanged),
        delivery=_newest(events, DeliveryMethodChanged),
    )


async def handle_price_events(store: PriceCopyStore, items: Sequence[Incoming[PriceEvent]]) -> None:
    """Fold the batch (newest per subject), write each kind once."""
    changes = newest_changes([item.message for item in items])
    await store.save(changes)
    log.debug("price_copy_batch", events=len(items), subjects=len(changes))
