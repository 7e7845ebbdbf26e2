"""The local broker's ACLs (derived from the catalogue) give each service what it uses
and nothing more; the tools' and upstream's logins are bounded too."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from checkout.entrypoints.admission import COORDINATOR_GROUP
from orderflow_cli.stack.kafka_access import (
    OPERATOR,
    PRINCIPALS,
    UPSTREAM,
    Acl,
    Operation,
    Pattern,
    Resource,
    acls,
    scram_arguments,
)
from orderflow_contracts import topics
from orderflow_contracts.catalogue import GROUPS, SERVICES, WATCHES
from orderflow_messaging.settings import own_login
from orders.adapters.backlog import QUEUES

from .conftest import build_definition


def granted(principal: str, resource: Resource, operation: Operation) -> set[str]:
    return {
        a.name
        for a in acls()
        if a.principal == principal and a.resource == resource and a.operation == operation
    }


def test_a_service_reads_exactly_the_topics_of_its_groups_with_its_groups() -> None:
    for service in SERVICES:
        mine = [g for g in GROUPS if g.service == service]
        assert granted(service, Resource.TOPIC, Operation.READ) == {
            t for g in mine for t in g.topics
        }
        assert granted(service, Resource.GROUP, Operation.READ) == {g.group for g in mine}


def test_a_service_may_write_what_it_produces_and_nothing_of_another_owner() -> None:
    for service in SERVICES:
        writes = granted(service, Resource.TOPIC, Operation.WRITE)
        produced = set(build_definition(service).produces)
        assert produced <= writes, service  # the relay can publish all it is built to
        dead_letters = {t for t in writes if t.endswith(".dlq")}
        assert writes - dead_letters == produced, service
        reads = granted(service, Resource.TOPIC, Operation.READ)
        assert dead_letters == {topics.dlq(t) for t in reads}, service


def test_payment_cannot_write_the_coordinators_topics_nor_join_its_group() -> None:
    assert topics.ORDERS_EVENTS not in granted("payment", Resource.TOPIC, Operation.WRITE)
    assert topics.PAYMENT_COMMANDS not in granted("payment", Resource.TOPIC, Operation.WRITE)
    assert granted("payment", Resource.GROUP, Operation.READ) == {"payment"}


def service_acls() -> Iterator[Acl]:
    return (a for a in acls() if a.principal in SERVICES)


def test_no_service_holds_a_wildcard_a_prefix_or_all_operations() -> None:
    for acl in service_acls():
        assert acl.name != "*", acl
        assert acl.pattern == Pattern.LITERAL, acl
        assert acl.operation != Operation.ALL, acl
        assert acl.resource in (Resource.TOPIC, Resource.GROUP), acl


def test_watched_groups_are_the_ones_the_backpressure_readers_read() -> None:
    sampled = {q.group for queues in QUEUES.values() for q in queues}
    assert sampled - {"orders"} == set(WATCHES["orders"])
    assert WATCHES["checkout"] == (COORDINATOR_GROUP,)
    assert granted("orders", Resource.GROUP, Operation.DESCRIBE) == set(WATCHES["orders"])


def test_the_operator_cannot_change_who_may_do_what() -> None:
    # Creating ACLs or users takes Alter on the cluster: only the admin (super user) has it.
    cluster_ops = {a.operation for a in acls() if a.resource == Resource.CLUSTER}
    assert Operation.ALL not in cluster_ops
    assert {a.principal for a in acls() if a.resource == Resource.CLUSTER} == {OPERATOR}
    assert "admin" not in {a.principal for a in acls()}  # a super user needs none


def test_upstream_submits_and_reads_replies_only() -> None:
    mine = {(a.resource, a.name, a.operation) for a in acls() if a.principal == UPSTREAM}
    assert mine == {
        (Resource.TOPIC, topics.ORDERS_INBOUND, Operation.WRITE),
        (Resource.TOPIC, topics.ORDERS_INBOUND_REPLIES, Operation.READ),
        (Resource.GROUP, UPSTREAM, Operation.READ),
    }


def test_every_principal_gets_a_scram_credential_at_format() -> None:
    args = scram_arguments({p: f"pw-{p}" for p in PRINCIPALS})
    assert args[::2] == ["--add-scram"] * len(PRINCIPALS)
    assert args[1::2] == [f"SCRAM-SHA-256=[name={p},password=pw-{p}]" for p in PRINCIPALS]


@pytest.mark.parametrize("service", ["payment", "orders"])
def test_a_service_process_logs_in_as_itself_and_sees_no_other_password(service: str) -> None:
    env = {
        "KAFKA_SASL_USERNAME": "operator",
        "KAFKA_SASL_PASSWORD": "operator-pw",
        "PAYMENT_KAFKA_PASSWORD": "payment-pw",
        "ORDERS_KAFKA_PASSWORD": "orders-pw",
        "OTHER": "kept",
    }
    own = own_login(env, service)
    assert own["KAFKA_SASL_USERNAME"] == service
    assert own["KAFKA_SASL_PASSWORD"] == f"{service}-pw"
    assert not [k for k in own if k.endswith("_KAFKA_PASSWORD")]
    assert own["OTHER"] == "kept"
