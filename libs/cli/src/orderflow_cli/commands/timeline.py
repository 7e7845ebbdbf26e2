"""`orderflow timeline ORDER_ID`: every event and command of one order across all
services, in order, from the services' own logs of what they sent (outbox) and handled
(inbox): service, topic, type and version, when it was sent, whether it is published yet,
and when each consumer handled it."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

import asyncpg

from orderflow_cli.verify import schemas_with
from orderflow_messaging.tables import published_sql


async def timeline(admin_url: str, order_id: str) -> list[dict[str, Any]]:
    conn = await asyncpg.connect(admin_url, timeout=10)
    try:
        sent = []
        for schema in await schemas_with(conn, "outbox"):
            rows = await conn.fetch(
                f"SELECT o.message_id, o.topic, o.message_type, o.created_at, o.value, "  # noqa: S608
                f"{published_sql('o', schema)} AS published "
                f"FROM {schema}.outbox o WHERE o.correlation_id = $1",
                order_id,
            )
            sent += [_entry(schema, row) for row in rows]
        handled = await _handled(conn, [e["message_id"] for e in sent])
    finally:
        await conn.close()
    for entry in sent:
        entry["handled_by"] = handled.get(entry["message_id"], [])
    return sorted(sent, key=lambda e: (e["sent_at"], e["message_id"]))


def _entry(service: str, row: Any) -> dict[str, Any]:
    try:
        envelope = json.loads(row["value"])
        version = envelope.get("version")
    except (TypeError, ValueError):
        version = None
    return {
        "message_id": str(row["message_id"]),
        "service": service,
        "topic": row["topic"],
        "type": row["message_type"],
        "version": version,
        "sent_at": _iso(row["created_at"]),
        "published": row["published"],
    }


async def _handled(conn: asyncpg.Connection, ids: list[str]) -> dict[str, list[dict[str, Any]]]:
    found: dict[str, list[dict[str, Any]]] = {}
    for schema in await schemas_with(conn, "inbox"):
        rows = await conn.fetch(
            f"SELECT consumer, message_id, status, handled_at, duplicates "  # noqa: S608
            f"FROM {schema}.inbox WHERE message_id = ANY($1::uuid[])",
            ids,
        )
        for row in rows:
            found.setdefault(str(row["message_id"]), []).append(
                {
                    "consumer": row["consumer"],
                    "status": row["status"],
                    "at": _iso(row["handled_at"]),
                    "duplicates": row["duplicates"],
                }
            )
    return found


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None
