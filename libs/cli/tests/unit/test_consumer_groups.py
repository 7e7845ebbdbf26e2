"""The catalogue's consumer groups (what the deployment's autoscalers and the broker's
ACLs are derived from) are exactly the subscriptions each service builds."""

from __future__ import annotations

from orderflow_contracts.catalogue import CATALOGUE, GROUPS, SERVICES

from .conftest import build_definition


def subscriptions_of(service: str) -> set[tuple[str, str, tuple[str, ...]]]:
    definition = build_definition(service)
    return {(service, s.group_id, tuple(s.topics)) for s in definition.subscriptions}


def test_groups_are_what_the_services_subscribe() -> None:
    built = set().union(*(subscriptions_of(service) for service in SERVICES))
    assert built == {(g.service, g.group, g.topics) for g in GROUPS}


def test_every_group_reads_only_topics_the_catalogue_says_it_consumes() -> None:
    consumers = {contract.topic: contract.consumers for contract in CATALOGUE}
    for group in GROUPS:
        for topic in group.topics:
            assert group.service in consumers[topic], (group, topic)
