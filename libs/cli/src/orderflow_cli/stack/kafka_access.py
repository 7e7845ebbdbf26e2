"""Who may talk to whom on the local broker: SASL/SCRAM principals and their ACLs.

Principals: ``admin`` (the broker's own login and its only super user), ``operator``
(the CLI's tools: replay, redrive, verify, topics; every topic and group, but no say over
users or ACLs), ``upstream`` (a system that submits orders: writes ``orders.inbound``,
reads the replies) and one per service. A service reads only the topics it consumes,
with its own consumer groups; writes only the topics it produces and the dead-letter
topics of what it consumes; may create those topics (each service ensures its topics at
start) and read the offsets of the groups it watches for backpressure. Everything is
derived from the published catalogue (``orderflow_contracts.catalogue``), so a new
topic or consumer group gets its ACLs by being declared there.

Passwords are generated once per broker (``.orderflow/kafka/credentials.json``, mode
0600) unless ``ORDERFLOW_KAFKA_PASSWORD_<PRINCIPAL>`` gives one; they are written into
the broker's metadata log when its storage is formatted (SCRAM needs no running broker
for that), and ACLs are (re)applied by every ``orderflow up``: creating an ACL that
exists is a no-op.
"""

from __future__ import annotations

import asyncio
import json
import os
import secrets
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from enum import IntEnum
from pathlib import Path

from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.protocol.admin import CreateAclsRequest_v1
from aiokafka.protocol.api import Request

from orderflow_contracts import topics
from orderflow_contracts.catalogue import CATALOGUE, GROUPS, SERVICES, WATCHES
from orderflow_messaging.kafka import connection_options
from orderflow_messaging.settings import KafkaSettings, login_env

ADMIN, OPERATOR, UPSTREAM = "admin", "operator", "upstream"
PRINCIPALS = (ADMIN, OPERATOR, UPSTREAM, *SERVICES)
MECHANISM = "SCRAM-SHA-256"
CLUSTER = "kafka-cluster"  # the one name a Cluster resource has


class Resource(IntEnum):  # Kafka protocol codes (org.apache.kafka.common.resource)
    TOPIC = 2
    GROUP = 3
    CLUSTER = 4
    TRANSACTIONAL_ID = 5


class Pattern(IntEnum):
    LITERAL = 3
    PREFIXED = 4


class Operation(IntEnum):  # org.apache.kafka.common.acl.AclOperation
    ALL = 2
    READ = 3
    WRITE = 4
    CREATE = 5
    DESCRIBE = 8
    DESCRIBE_CONFIGS = 10


_ALLOW = 3  # AclPermissionType.ALLOW


@dataclass(frozen=True, order=True)
class Acl:
    principal: str  # a user name; the ACL is for User:<principal>
    resource: Resource
    name: str
    operation: Operation
    pattern: Pattern = Pattern.LITERAL


# ---- credentials ---------------------------------------------------------------------
def credentials_file(home: Path) -> Path:
    return home / "credentials.json"


def load_or_create_credentials(home: Path) -> dict[str, str]:
    """Every principal's password: kept from the file, else from the environment, else
    new (token_hex: nothing the StorageTool's ``name=...,password=...`` syntax or a JAAS
    string would need to escape)."""
    path = credentials_file(home)
    known: dict[str, str] = json.loads(path.read_text()) if path.exists() else {}
    missing = [principal for principal in PRINCIPALS if principal not in known]
    for principal in missing:
        given = os.environ.get(f"ORDERFLOW_KAFKA_PASSWORD_{principal.upper()}")
        known[principal] = given or secrets.token_hex(24)
    if missing:  # read on every readiness poll: written only when it gains a principal
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(known, indent=2))
        path.chmod(0o600)
    return known


def scram_arguments(passwords: dict[str, str]) -> list[str]:
    """``kafka-storage format`` arguments that write each principal's SCRAM credential
    into the metadata log before the first start (KIP-900)."""
    return [
        arg
        for name in PRINCIPALS
        for arg in ("--add-scram", f"{MECHANISM}=[name={name},password={passwords[name]}]")
    ]


def login(bootstrap: str, principal: str, password: str) -> KafkaSettings:
    return KafkaSettings(
        bootstrap_servers=bootstrap,
        security_protocol="SASL_PLAINTEXT",
        sasl_mechanism=MECHANISM,
        sasl_username=principal,
        sasl_password=password,  # pydantic wraps it in SecretStr
    )


__all__ = [
    "PRINCIPALS", "Acl", "CreateAcls", "acls", "apply_acls", "login", "login_env",
    "scram_arguments",
]  # fmt: skip


# ---- ACLs ----------------------------------------------------------------------------
def _writes(service: str) -> set[str]:
    produced = {c.topic for c in CATALOGUE if service in c.producers}
    return produced | {topics.dlq(t) for t in _reads(service)}


def _reads(service: str) -> set[str]:
    return {t for g in GROUPS if g.service == service for t in g.topics}


def _service_acls(service: str) -> Iterator[Acl]:
    reads, writes = _reads(service), _writes(service)
    for topic in reads:
        yield Acl(service, Resource.TOPIC, topic, Operation.READ)
        yield Acl(service, Resource.TOPIC, topic, Operation.DESCRIBE_CONFIGS)  # retention
    for topic in writes:
        yield Acl(service, Resource.TOPIC, topic, Operation.WRITE)
    for topic in reads | writes | {topics.dlq(t) for t in writes}:
        yield Acl(service, Resource.TOPIC, topic, Operation.CREATE)  # ensure_topics
    for group in (g.group for g in GROUPS if g.service == service):
        yield Acl(service, Resource.GROUP, group, Operation.READ)
    for group in WATCHES.get(service, ()):
        yield Acl(service, Resource.GROUP, group, Operation.DESCRIBE)  # its lag only


def _operator_acls() -> Iterator[Acl]:
    for resource in (Resource.TOPIC, Resource.GROUP, Resource.TRANSACTIONAL_ID):
        yield Acl(OPERATOR, resource, "*", Operation.ALL)
    for operation in (Operation.CREATE, Operation.DESCRIBE, Operation.DESCRIBE_CONFIGS):
        yield Acl(OPERATOR, Resource.CLUSTER, CLUSTER, operation)


def _upstream_acls() -> Iterator[Acl]:
    yield Acl(UPSTREAM, Resource.TOPIC, topics.ORDERS_INBOUND, Operation.WRITE)
    yield Acl(UPSTREAM, Resource.TOPIC, topics.ORDERS_INBOUND_REPLIES, Operation.READ)
    yield Acl(UPSTREAM, Resource.GROUP, UPSTREAM, Operation.READ, Pattern.PREFIXED)


def acls() -> list[Acl]:
    """Every ACL of the local broker (``admin`` is a super user and needs none)."""
    found = {*_operator_acls(), *_upstream_acls()}
    found.update(acl for service in SERVICES for acl in _service_acls(service))
    return sorted(found)


class CreateAcls(Request[CreateAclsRequest_v1]):  # type: ignore[misc]  # aiokafka: untyped
    """CreateAcls v1 carrying many creations (aiokafka's request builds one per call)."""

    API_KEY = 30

    def __init__(self, wanted: Iterable[Acl]) -> None:
        self._creations = [
            (a.resource, a.name, a.pattern, f"User:{a.principal}", "*", a.operation, _ALLOW)
            for a in wanted
        ]

    def build(self, request_struct_class: type[CreateAclsRequest_v1]) -> CreateAclsRequest_v1:
        return request_struct_class(self._creations)


async def apply_acls(bootstrap: str, admin_password: str, timeout_s: float = 30.0) -> None:
    """Create every ACL (as ``admin``); raise if the broker refused one."""
    admin = AIOKafkaAdminClient(
        **connection_options(login(bootstrap, ADMIN, admin_password)), request_timeout_ms=15_000
    )
    await asyncio.wait_for(admin.start(), timeout_s)
    try:
        response = await asyncio.wait_for(admin._send_request(CreateAcls(acls())), timeout_s)
    finally:
        await admin.close()
    refused = [(code, msg) for code, msg in response.creation_responses if code != 0]
    if refused:
        raise RuntimeError(f"the broker refused {len(refused)} ACLs, e.g. {refused[0]}")
