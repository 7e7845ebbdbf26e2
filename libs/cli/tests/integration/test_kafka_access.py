"""Who may talk to whom, on the real broker `orderflow up` started: no login, no
connection; a wrong password, no connection; a service reads its commands with its own
group and is refused another service's topic and group; upstream may submit orders but
not forge what checkout publishes; the operator may not change the ACLs."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.errors import (
    GroupAuthorizationFailedError,
    KafkaConnectionError,
    TopicAuthorizationFailedError,
)

from orderflow_cli import stack
from orderflow_cli.stack import kafka_access
from orderflow_contracts import topics
from orderflow_messaging.kafka import connection_options
from orderflow_messaging.settings import KafkaSettings
from orderflow_service.topics import ensure_topics

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def settings() -> dict[str, str]:
    found = stack.read_env()
    if "PAYMENT_KAFKA_PASSWORD" not in found:
        pytest.fail("the stack has no Kafka logins: run `make test` (it starts the stack)")
    return found


def login_of(
    settings: dict[str, str], principal: str, password: str | None = None
) -> KafkaSettings:
    secret = password or settings[f"{principal.upper()}_KAFKA_PASSWORD"]
    return kafka_access.login(settings["KAFKA_BOOTSTRAP_SERVERS"], principal, secret)


async def started_producer(login: KafkaSettings) -> AIOKafkaProducer:
    producer = AIOKafkaProducer(
        **connection_options(login), acks="all", enable_idempotence=True, request_timeout_ms=10_000
    )
    await asyncio.wait_for(producer.start(), 30)
    return producer


@pytest.fixture
async def payment(settings: dict[str, str]) -> AsyncIterator[AIOKafkaProducer]:
    producer = await started_producer(login_of(settings, "payment"))
    try:
        yield producer
    finally:
        await producer.stop()


async def test_a_client_without_a_login_is_refused(settings: dict[str, str]) -> None:
    anonymous = AIOKafkaAdminClient(
        bootstrap_servers=settings["KAFKA_BOOTSTRAP_SERVERS"], request_timeout_ms=5_000
    )
    try:
        with pytest.raises(KafkaConnectionError):
            await asyncio.wait_for(anonymous.start(), 30)
    finally:
        await anonymous.close()


async def test_a_wrong_password_is_refused(settings: dict[str, str]) -> None:
    producer = AIOKafkaProducer(
        **connection_options(login_of(settings, "payment", password="not-the-password"))
    )
    try:
        with pytest.raises(KafkaConnectionError):
            await asyncio.wait_for(producer.start(), 30)
    finally:
        await producer.stop()


async def test_a_service_cannot_write_another_services_topic(payment: AIOKafkaProducer) -> None:
    # That it may write its own is shown by every end-to-end test: each service runs
    # under its own login there and publishes its outbox with it.
    for foreign in (topics.ORDERS_EVENTS, topics.PAYMENT_COMMANDS, topics.INVENTORY_EVENTS):
        with pytest.raises(TopicAuthorizationFailedError):
            await asyncio.wait_for(payment.send_and_wait(foreign, b"forged"), 30)


async def consume_once(login: KafkaSettings, topic: str, group: str) -> None:
    consumer = AIOKafkaConsumer(
        topic, **connection_options(login), group_id=group, enable_auto_commit=False,
        auto_offset_reset="latest",
    )  # fmt: skip
    try:
        await asyncio.wait_for(consumer.start(), 30)
        await asyncio.wait_for(consumer.getmany(timeout_ms=500), 30)
    finally:
        await consumer.stop()


async def test_a_service_cannot_join_another_services_group_nor_read_its_topic(
    settings: dict[str, str],
) -> None:
    payment = login_of(settings, "payment")
    await consume_once(payment, topics.PAYMENT_COMMANDS, "payment")  # its own: allowed
    with pytest.raises(GroupAuthorizationFailedError):
        await consume_once(payment, topics.PAYMENT_COMMANDS, "orders")
    with pytest.raises(TopicAuthorizationFailedError):
        await consume_once(payment, topics.ORDERS_EVENTS, "payment")


async def test_upstream_submits_orders_but_cannot_forge_checkouts_events(
    settings: dict[str, str],
) -> None:
    # checkout creates its topics at start; here the operator (the tests' login) does.
    operator = KafkaSettings(bootstrap_servers=settings["KAFKA_BOOTSTRAP_SERVERS"])
    door = (topics.ORDERS_INBOUND, topics.ORDERS_INBOUND_REPLIES)
    await ensure_topics(operator, door, partitions=4)
    upstream = await started_producer(login_of(settings, "upstream"))
    try:
        # Not a valid submission on purpose: checkout dead-letters it with a reason.
        done = await asyncio.wait_for(
            upstream.send_and_wait(topics.ORDERS_INBOUND, b"not json", key=b"acl-test"), 30
        )
        assert done.offset >= 0
        with pytest.raises(TopicAuthorizationFailedError):
            await asyncio.wait_for(upstream.send_and_wait(topics.CHECKOUT_EVENTS, b"x"), 30)
    finally:
        await upstream.stop()
    await consume_once(login_of(settings, "upstream"), topics.ORDERS_INBOUND_REPLIES,
                       f"upstream-{uuid.uuid4().hex[:6]}")  # fmt: skip


async def test_the_operator_cannot_grant_itself_more(settings: dict[str, str]) -> None:
    operator = KafkaSettings(bootstrap_servers=settings["KAFKA_BOOTSTRAP_SERVERS"])
    assert operator.sasl_username == "operator"  # the tests' login, from stack.env
    admin = AIOKafkaAdminClient(**connection_options(operator), request_timeout_ms=10_000)
    await asyncio.wait_for(admin.start(), 30)
    try:
        grant = kafka_access.Acl(
            "payment", kafka_access.Resource.TOPIC, "*", kafka_access.Operation.ALL
        )
        response = await admin._send_request(kafka_access.CreateAcls([grant]))
    finally:
        await admin.close()
    [(code, _message)] = response.creation_responses
    assert code == 31  # CLUSTER_AUTHORIZATION_FAILED: only the admin may change ACLs
