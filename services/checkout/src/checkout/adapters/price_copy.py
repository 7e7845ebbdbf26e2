"""Checkout's copy of the price data: PostgreSQL through asyncpg (one upsert per kind per
batch; one statement to load what a batch of orders needs), and an in-memory fake that
passes the same contract tests."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any, Protocol, TypeVar

from checkout.application.price_copy import PriceChanges
from checkout.domain.pricing import PriceBook, reads_stock
from orderflow_contracts.catalog import (
    CustomerPriceGroupsChanged,
    DeliveryMethodChanged,
    PriceListChanged,
    PriceRuleChanged,
    PromotionChanged,
)
from orderflow_messaging.db import Connection
from orderflow_pricing import (
    DeliveryMethod,
    ListKind,
    PriceList,
    PriceRule,
    Promotion,
    Tier,
)

# Each upsert keeps a stored row with a higher revision (a newer state).
_SAVE_LISTS = """
    INSERT INTO price_lists AS t (list_id, kind, currency, customer_id, grp, valid_from,
                                  valid_until, prices, active, revision)
    SELECT u.list_id, u.kind, u.currency, u.customer_id, u.grp, u.valid_from, u.valid_until,
           u.prices::jsonb, u.active, u.revision
    FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[],
                $6::timestamptz[], $7::timestamptz[], $8::text[], $9::bool[], $10::bigint[])
         AS u(list_id, kind, currency, customer_id, grp, valid_from, valid_until, prices,
              active, revision)
    ON CONFLICT (list_id) DO UPDATE SET
        kind = excluded.kind, currency = excluded.currency,
        customer_id = excluded.customer_id, grp = excluded.grp,
        valid_from = excluded.valid_from, valid_until = excluded.valid_until,
        prices = excluded.prices, active = excluded.active, revision = excluded.revision
    WHERE t.revision < excluded.revision
"""
_SAVE_RULES = """
    INSERT INTO price_rules AS t (rule_id, basis_points, priority, skus, valid_from,
                                  valid_until, stock_at_most, stock_at_least, floor_minor,
                                  cap_minor, active, revision)
    SELECT u.rule_id, u.bp, u.priority,
           CASE WHEN u.skus IS NOT NULL
                THEN ARRAY(SELECT jsonb_array_elements_text(u.skus::jsonb)) END,
           u.valid_from, u.valid_until, u.at_most, u.at_least, u.floor, u.cap, u.active,
           u.revision
    FROM unnest($1::text[], $2::int[], $3::int[], $4::text[], $5::timestamptz[],
                $6::timestamptz[], $7::bigint[], $8::bigint[], $9::bigint[], $10::bigint[],
                $11::bool[], $12::bigint[])
         AS u(rule_id, bp, priority, skus, valid_from, valid_until, at_most, at_least,
              floor, cap, active, revision)
    ON CONFLICT (rule_id) DO UPDATE SET
        basis_points = excluded.basis_points, priority = excluded.priority,
        skus = excluded.skus, valid_from = excluded.valid_from,
        valid_until = excluded.valid_until, stock_at_most = excluded.stock_at_most,
        stock_at_least = excluded.stock_at_least, floor_minor = excluded.floor_minor,
        cap_minor = excluded.cap_minor, active = excluded.active, revision = excluded.revision
    WHERE t.revision < excluded.revision
"""
_SAVE_GROUPS = """
    INSERT INTO customer_price_groups AS t (customer_id, groups, revision)
    SELECT u.customer_id, ARRAY(SELECT jsonb_array_elements_text(u.groups::jsonb)), u.revision
    FROM unnest($1::text[], $2::text[], $3::bigint[]) AS u(customer_id, groups, revision)
    ON CONFLICT (customer_id) DO UPDATE SET groups = excluded.groups, revision = excluded.revision
    WHERE t.revision < excluded.revision
"""
_SAVE_LEVELS = """
    INSERT INTO stock_levels AS t (sku, available, revision)
    SELECT * FROM unnest($1::text[], $2::bigint[], $3::bigint[])
    ON CONFLICT (sku) DO UPDATE SET available = excluded.available, revision = excluded.revision
    WHERE t.revision < excluded.revision
"""


def _save_definitions(table: str, key: str) -> str:
    """The upsert of a kind stored as its JSON definition (promotions, delivery methods)."""
    return f"""
    INSERT INTO {table} AS t ({key}, definition, active, revision)
    SELECT u.id, u.definition::jsonb, u.active, u.revision
    FROM unnest($1::text[], $2::text[], $3::bool[], $4::bigint[])
         AS u(id, definition, active, revision)
    ON CONFLICT ({key}) DO UPDATE SET
        definition = excluded.definition, active = excluded.active, revision = excluded.revision
    WHERE t.revision < excluded.revision
"""  # noqa: S608 - table and key are constants of this module


_SAVE_DELIVERY = _save_definitions("delivery_methods", "method_id")
_SAVE_PROMOTIONS = _save_definitions("promotions", "promotion_id")
# What a batch of orders is priced by, in one round trip: its customers' groups, the
# active lists that may price them (default, their groups', their contracts), every
# active rule. (Validity windows are the resolution's to check: it knows the moment.)
_LOAD = """
    WITH g AS (
        SELECT customer_id, groups FROM customer_price_groups
        WHERE customer_id = ANY($1::text[])
    )
    SELECT
        (SELECT coalesce(jsonb_agg(jsonb_build_array(customer_id, groups)), '[]') FROM g)
            AS groups,
        (SELECT coalesce(jsonb_agg(to_jsonb(l)), '[]') FROM price_lists l
         WHERE l.active AND (l.kind = 'default'
             OR (l.kind = 'contract' AND l.customer_id = ANY($1::text[]))
             OR (l.kind = 'group' AND l.grp IN (SELECT unnest(groups) FROM g)))) AS lists,
        (SELECT coalesce(jsonb_agg(to_jsonb(r)), '[]') FROM price_rules r WHERE r.active)
            AS rules,
        (SELECT coalesce(jsonb_agg(p.definition), '[]') FROM promotions p WHERE p.active)
            AS promotions,
        (SELECT coalesce(jsonb_agg(d.definition), '[]') FROM delivery_methods d WHERE d.active)
            AS delivery
"""
_LEVELS = "SELECT sku, available FROM stock_levels WHERE sku = ANY($1::text[])"


def _json(value: Any) -> Any:
    return json.loads(value) if isinstance(value, str | bytes) else value


def _moment(value: str | None) -> datetime | None:
    return None if value is None else datetime.fromisoformat(value)


def list_of(row: Mapping[str, Any]) -> PriceList:
    """A stored list (a row as JSON) as the resolution takes it."""
    prices = {sku: tuple(Tier(int(q), int(p)) for q, p in tiers)
              for sku, tiers in row["prices"].items()}  # fmt: skip
    return PriceList(
        list_id=row["list_id"], kind=ListKind(row["kind"]), currency=row["currency"],
        prices=prices, customer_id=row["customer_id"], group=row["grp"],
        valid_from=_moment(row["valid_from"]), valid_until=_moment(row["valid_until"]),
    )  # fmt: skip


def rule_of(row: Mapping[str, Any]) -> PriceRule:
    skus = row["skus"]
    return PriceRule(
        rule_id=row["rule_id"], percent=Decimal(row["basis_points"]) / 100,
        priority=row["priority"], skus=frozenset(skus) if skus is not None else None,
        valid_from=_moment(row["valid_from"]), valid_until=_moment(row["valid_until"]),
        stock_at_most=row["stock_at_most"], stock_at_least=row["stock_at_least"],
        floor_minor=row["floor_minor"], cap_minor=row["cap_minor"],
    )  # fmt: skip


def _list_prices(event: PriceListChanged) -> str:
    return json.dumps(
        {p.sku: [[t.min_quantity, t.unit_price_minor] for t in p.tiers] for p in event.prices}
    )


class PgPriceCopy:
    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    async def save(self, changes: PriceChanges) -> None:
        if lists := changes.lists:
            await self._conn.execute(
                _SAVE_LISTS,
                [e.list_id for e in lists], [e.kind for e in lists],
                [e.currency for e in lists], [e.customer_id for e in lists],
                [e.group for e in lists], [e.valid_from for e in lists],
                [e.valid_until for e in lists], [_list_prices(e) for e in lists],
                [e.active for e in lists], [e.revision for e in lists],
            )  # fmt: skip
        if rules := changes.rules:
            await self._conn.execute(
                _SAVE_RULES,
                [e.rule_id for e in rules], [e.basis_points for e in rules],
                [e.priority for e in rules],
                [json.dumps(e.skus) if e.skus is not None else None for e in rules],
                [e.valid_from for e in rules], [e.valid_until for e in rules],
                [e.stock_at_most for e in rules], [e.stock_at_least for e in rules],
                [e.floor_minor for e in rules], [e.cap_minor for e in rules],
                [e.active for e in rules], [e.revision for e in rules],
            )  # fmt: skip
        if groups := changes.groups:
            await self._conn.execute(
                _SAVE_GROUPS,
                [e.customer_id for e in groups],
                [json.dumps(e.groups) for e in groups],
                [e.revision for e in groups],
            )
        if levels := changes.levels:
            await self._conn.execute(
                _SAVE_LEVELS,
                [e.sku for e in levels], [e.available for e in levels],
                [e.revision for e in levels],
            )  # fmt: skip
        if promotions := changes.promotions:
            await self._conn.execute(
                _SAVE_PROMOTIONS,
                [e.promotion_id for e in promotions],
                [e.model_dump_json() for e in promotions],
                [e.active for e in promotions], [e.revision for e in promotions],
            )  # fmt: skip
        if methods := changes.delivery:
            await self._conn.execute(
                _SAVE_DELIVERY,
                [e.method_id for e in methods], [e.model_dump_json() for e in methods],
                [e.active for e in methods], [e.revision for e in methods],
            )  # fmt: skip

    async def load(self, customer_ids: Sequence[str], skus: Sequence[str]) -> PriceBook:
        """What orders of these customers for these SKUs are priced by."""
        row = await self._conn.fetchrow(_LOAD, list(customer_ids))
        assert row is not None  # an aggregate always answers one row
        rules = tuple(rule_of(r) for r in _json(row["rules"]))
        levels: dict[str, int] = {}
        if reads_stock(rules) and skus:
            levels = {r["sku"]: r["available"] for r in await self._conn.fetch(_LEVELS, list(skus))}
        return PriceBook(
            lists=tuple(list_of(r) for r in _json(row["lists"])),
            rules=rules,
            groups={c: frozenset(g) for c, g in _json(row["groups"])},
            levels=levels,
            promotions=tuple(Promotion.from_json(p) for p in _json(row["promotions"])),
            delivery=_methods(DeliveryMethod.from_json(d) for d in _json(row["delivery"])),
        )


@dataclass
class MemoryPriceCopy:
    """The fake: the same contract, held in dicts (rows as the events carried them)."""

    lists: dict[str, PriceListChanged] = field(default_factory=dict)
    rules: dict[str, PriceRuleChanged] = field(default_factory=dict)
    groups: dict[str, CustomerPriceGroupsChanged] = field(default_factory=dict)
    levels: dict[str, tuple[int, int]] = field(default_factory=dict)  # sku -> (rev, qty)
    promotions: dict[str, PromotionChanged] = field(default_factory=dict)
    delivery: dict[str, DeliveryMethodChanged] = field(default_factory=dict)

    async def save(self, changes: PriceChanges) -> None:
        _keep_newer(self.lists, changes.lists, lambda e: e.list_id)
        _keep_newer(self.rules, changes.rules, lambda e: e.rule_id)
        _keep_newer(self.groups, changes.groups, lambda e: e.customer_id)
        _keep_newer(self.promotions, changes.promotions, lambda e: e.promotion_id)
        _keep_newer(self.delivery, changes.delivery, lambda e: e.method_id)
        for lv in changes.levels:
            if lv.sku not in self.levels or self.levels[lv.sku][0] < lv.revision:
                self.levels[lv.sku] = (lv.revision, lv.available)

    async def load(self, customer_ids: Sequence[str], skus: Sequence[str]) -> PriceBook:
        groups = {c: frozenset(self.groups[c].groups) for c in customer_ids if c in self.groups}
        in_groups = {g for gs in groups.values() for g in gs}
        lists = tuple(
            list_of(_row_of(e)) for e in self.lists.values()
            if e.active and (e.kind == "default"
                             or (e.kind == "contract" and e.customer_id in customer_ids)
                             or (e.kind == "group" and e.group in in_groups))
        )  # fmt: skip
        rules = tuple(rule_of(r.model_dump(mode="json")) for r in self.rules.values() if r.active)
        levels = {s: self.levels[s][1] for s in skus if s in self.levels}
        if not reads_stock(rules):
            levels = {}
        promotions = tuple(
            Promotion.from_json(p.model_dump(mode="json"))
            for p in self.promotions.values()
            if p.active
        )
        delivery = _methods(
            DeliveryMethod.from_json(d.model_dump(mode="json"))
            for d in self.delivery.values()
            if d.active
        )
        return PriceBook(
            lists=lists, rules=rules, groups=groups, levels=levels, promotions=promotions,
            delivery=delivery,
        )  # fmt: skip


class _Revised(Protocol):
    @property
    def revision(self) -> int: ...


R = TypeVar("R", bound=_Revised)


def _keep_newer(held: dict[str, R], events: Iterable[R], key: Callable[[R], str]) -> None:
    """The fake's upsert: an event replaces what is held only with a higher revision."""
    for event in events:
        known = held.get(key(event))
        if known is None or known.revision < event.revision:
            held[key(event)] = event


def _methods(methods: Iterable[DeliveryMethod]) -> dict[str, DeliveryMethod]:
    return {m.method_id: m for m in methods}


def _row_of(event: PriceListChanged) -> dict[str, Any]:
    data = event.model_dump(mode="json")
    return data | {"grp": event.group, "prices": json.loads(_list_prices(event))}
