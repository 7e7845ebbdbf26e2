"""What checkout prices an order by: the catalog copy's base prices and its copy of the
catalog's price lists, rules and customers' price groups (and inventory's stock levels,
which stock-bound rules read), resolved by ``orderflow_pricing.resolve``, the function
the catalog's ``GET /prices`` quotes with. Same data, same answer: a customer is charged
what the catalog showed."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime

from checkout.domain.model import CatalogItem
from orderflow_pricing import (
    BasePrice,
    Customer,
    DeliveryMethod,
    PriceList,
    PriceRule,
    Promotion,
    Resolution,
    resolve,
)


@dataclass(frozen=True)
class PriceBook:
    """The price data a batch of orders needs (its customers' lists and groups, every
    active rule, the stock of its SKUs when a rule reads stock). Empty: every SKU at
    its base price."""

    lists: tuple[PriceList, ...] = ()
    rules: tuple[PriceRule, ...] = ()
    groups: Mapping[str, frozenset[str]] = field(default_factory=dict)
    levels: Mapping[str, int] = field(default_factory=dict)
    promotions: tuple[Promotion, ...] = ()  # the active ones (cart rules and coupons)
    delivery: Mapping[str, DeliveryMethod] = field(default_factory=dict)  # offered, by id

    def price(
        self,
        item: CatalogItem,
        quantity: int,
        currency: str,
        customer_id: str,
        at: datetime,
    ) -> Resolution:
        """``quantity`` x ``item`` for the customer at ``at``; ``NoPrice`` when nothing
        prices it in ``currency``."""
        customer = Customer(customer_id, self.groups.get(customer_id, frozenset()))
        return resolve(
            item.sku, quantity, currency, customer, at,
            lists=self.lists, rules=self.rules,
            base=BasePrice(item.price_minor, item.currency), stock=self.levels.get(item.sku),
        )  # fmt: skip


def reads_stock(rules: tuple[PriceRule, ...]) -> bool:
    """Whether any rule depends on the stock level (else the levels need no loading)."""
    return any(r.stock_at_most is not None or r.stock_at_least is not None for r in rules)


NO_PRICE_DATA = PriceBook()  # every SKU at its catalog base price
