"""Promotions on the real PostgreSQL: kept and announced through the HTTP routes (a
category scope announced as its SKUs; inconsistent input a 422 naming the field), and
redeemed by the saga's commands through the service's consumer (limits in all and per
customer; all or none; releases give uses back; resends answered alike)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from itertools import count
from typing import Any
from uuid import uuid4

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from catalog.bootstrap import MIGRATIONS, seed_sample_catalog
from catalog.entrypoints.http import build_router
from catalog.entrypoints.messages import build_promotions_consumer
from orderflow_contracts import topics
from orderflow_contracts.promotions import RedeemPromotions, ReleasePromotions
from orderflow_messaging.clock import FixedClock
from orderflow_messaging.envelope import Envelope
from orderflow_messaging.registry import Message
from orderflow_messaging.settings import ConsumerSettings
from orderflow_service.http import create_app
from orderflow_testing.batches import DeliveredRecord, delivered
from orderflow_testing.plugin import MigratedSchema

pytestmark = pytest.mark.integration

NOW = datetime(2026, 3, 1, 12, tzinfo=UTC)
_offsets = count()


@pytest.fixture
async def engine(migrated_schema: MigratedSchema) -> AsyncEngine:
    db = await migrated_schema(MIGRATIONS)
    await seed_sample_catalog(db.engine, FixedClock(NOW))
    return db.engine


@pytest.fixture
async def client(engine: AsyncEngine) -> Any:
    app = create_app("catalog", routers=[build_router(engine, FixedClock(NOW))])
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://catalog") as client:
        yield client


async def _put(client: httpx.AsyncClient, pid: str, body: dict[str, Any]) -> dict[str, Any]:
    response = await client.put(f"/promotions/{pid}", json=body)
    assert response.status_code == 200, response.text
    answer: dict[str, Any] = response.json()
    return answer


def _record(message: Message) -> DeliveredRecord:
    order_id = getattr(message, "order_id")  # noqa: B009 (every command has one)
    envelope = Envelope(
        message_id=uuid4(), type=message.TYPE, version=message.VERSION, occurred_at=NOW,
        producer="orders", correlation_id=order_id, payload=message.model_dump(mode="json"),
    )  # fmt: skip
    return delivered(topics.PROMOTIONS_COMMANDS, next(_offsets), envelope)


async def _replies(engine: AsyncEngine) -> list[tuple[str, str, dict[str, Any]]]:
    async with engine.connect() as conn:
        rows = await conn.execute(
            text("SELECT key, message_type, value FROM outbox WHERE topic = :t ORDER BY id"),
            {"t": topics.PROMOTIONS_EVENTS},
        )
        return [(r.key.decode(), r.message_type, json.loads(r.value)["payload"]) for r in rows]


async def test_a_promotion_is_kept_announced_and_its_category_scope_resolved(
    client: httpx.AsyncClient, engine: AsyncEngine
) -> None:
    body = {
        "code": "home-10", "kind": "percent", "value": 1000, "categories": ["home"],
        "skus": ["TEE-BLK-M"], "global_limit": 100, "per_customer_limit": 1,
    }  # fmt: skip
    saved = await _put(client, "home-ten", body)
    assert saved["code"] == "HOME-10"  # kept upper-case
    assert {"MUG-ENAMEL", "BOTTLE-750", "TEE-BLK-M"} <= set(saved["skus"])
    assert all(not sku.startswith("HOODIE") for sku in saved["skus"])
    assert (saved["revision"], saved["redeemed"]) == (1, 0)
    again = await _put(client, "home-ten", body)  # the same again: nothing new
    assert again["revision"] == 1
    withdrawn = await _put(client, "home-ten", body | {"active": False})
    assert (withdrawn["revision"], withdrawn["active"]) == (2, False)
    assert (await client.get("/promotions/home-ten")).json() == withdrawn
    assert [p["promotion_id"] for p in (await client.get("/promotions")).json()] == ["home-ten"]
    async with engine.connect() as conn:
        rows = await conn.execute(
            text(
                "SELECT key, value FROM outbox WHERE message_type = 'PromotionChanged' ORDER BY id"
            )
        )
        announced = [(r.key.decode(), json.loads(r.value)["payload"]) for r in rows]
    assert [(key, p["revision"], p["active"]) for key, p in announced] == [
        ("home-ten", 1, True),
        ("home-ten", 2, False),
    ]
    assert announced[0][1]["skus"] == saved["skus"]


@pytest.mark.parametrize(
    ("body", "field", "reason"),
    [
        ({"kind": "percent", "value": 10_001}, "value", "1 to 10000 basis points"),
        ({"kind": "fixed", "value": 500}, "currency", "names its currency"),
        ({"kind": "percent", "value": 5, "currency": "EUR"}, "currency", "any currency"),
        ({"kind": "percent", "value": 5, "skus": ["NOPE-1"]}, "skus", "unknown SKUs: NOPE-1"),
        ({"kind": "percent", "value": 5, "categories": ["nope"]}, "categories", "unknown"),
        ({"kind": "percent", "value": 5, "code": "no spaces"}, "code", "letters, digits"),
        (
            {"kind": "percent", "value": 5, "valid_from": "2026-03-02T00:00:00Z",
             "valid_until": "2026-03-01T00:00:00Z"},
            "valid_until", "is not after valid_from",
        ),
    ],
)  # fmt: skip
async def test_inconsistent_promotions_are_422_naming_the_field(
    client: httpx.AsyncClient, body: dict[str, Any], field: str, reason: str
) -> None:
    response = await client.put("/promotions/bad", json=body)
    assert response.status_code == 422, response.text
    detail = response.json()["detail"][0]
    assert detail["loc"] == ["body", field]
    assert reason in detail["msg"]


async def test_a_coupon_code_belongs_to_one_promotion(client: httpx.AsyncClient) -> None:
    await _put(client, "first", {"code": "SAME", "kind": "percent", "value": 5})
    response = await client.put(
        "/promotions/second", json={"code": "same", "kind": "percent", "value": 5}
    )
    assert response.status_code == 422
    assert response.json()["detail"][0]["msg"].endswith("SAME is the code of first")


async def test_redemptions_respect_the_limits_all_or_none_and_releases_give_back(
    client: httpx.AsyncClient, engine: AsyncEngine
) -> None:
    await _put(client, "ten", {"code": "TEN", "kind": "percent", "value": 1000, "global_limit": 3})
    await _put(client, "once", {"kind": "percent", "value": 500, "per_customer_limit": 1})
    consumer = build_promotions_consumer(
        engine, ConsumerSettings(backoff_initial_s=0.01), FixedClock(NOW)
    )

    def redeem(order: str, customer: str, *pids: str) -> DeliveredRecord:
        return _record(
            RedeemPromotions(order_id=order, customer_id=customer, promotion_ids=list(pids))
        )

    first = redeem("o1", "ann", "ten", "once")
    await consumer.process(
        [
            first,
            redeem("o2", "ann", "ten", "once"),  # ann used "once": refused, "ten" not taken
            redeem("o3", "bob", "ten"),
            redeem("o4", "cat", "ten"),
            redeem("o5", "dan", "ten", "once"),  # "ten" has no use left: nothing taken
        ]
    )
    await consumer.process(
        [
            _record(ReleasePromotions(order_id="o3", promotion_ids=["ten"], reason="declined")),
            redeem("o5", "dan", "ten", "once"),  # a resend: now there is a use again
            redeem("o1", "ann", "ten", "once"),  # a resend of a reserved one: same answer
            _record(ReleasePromotions(order_id="o9", promotion_ids=["ten"], reason="timeout")),
            redeem("o9", "eve", "ten"),  # after its release: never reserved
        ]
    )
    answers = [(key, kind, payload.get("reason")) for key, kind, payload in await _replies(engine)]
    assert answers == [
        ("o1", "PromotionsRedeemed", None),
        ("o2", "PromotionRedemptionRefused", "once has no use left for this customer"),
        ("o3", "PromotionsRedeemed", None),
        ("o4", "PromotionsRedeemed", None),
        ("o5", "PromotionRedemptionRefused", "ten has no use left"),
        ("o3", "PromotionsReleased", None),
        ("o5", "PromotionsRedeemed", None),
        ("o1", "PromotionsRedeemed", None),
        ("o9", "PromotionsReleased", None),
        ("o9", "PromotionRedemptionRefused", "the order gave its redemptions back"),
    ]
    counts = {p["promotion_id"]: p["redeemed"] for p in (await client.get("/promotions")).json()}
    assert counts == {"ten": 3, "once": 2}
    async with engine.connect() as conn:
        rows = await conn.execute(
            text(
                "SELECT promotion_id, count(*) AS n FROM redemptions"
                " WHERE status = 'reserved' GROUP BY promotion_id"
            )
        )
        assert {r.promotion_id: r.n for r in rows} == counts
