"""A shadow replay of many orders: read the inputs, replay each order, compare, report."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

from orderflow_cli.commands.shadow_replay import (
    NotReplayable,
    Transitions,
    current_transitions,
    diff,
    replay,
    snapshot,
)
from orderflow_cli.commands.shadow_sources import RecordedSaga, fetch_messages, load_sagas
from orderflow_messaging.registry import Message
from orders.config import OrdersSettings
from orders.saga.policy import SagaPolicy


@dataclass(frozen=True)
class OrderResult:
    order_id: str
    live: dict[str, Any]
    shadow: dict[str, Any] | None = None
    fields: list[str] = field(default_factory=list)
    # Why the order could not be replayed (then shadow is None).
    problem: str | None = None

    @property
    def same(self) -> bool:
        return self.problem is None and not self.fields


@dataclass(frozen=True)
class ShadowReport:
    policy: SagaPolicy
    results: list[OrderResult]

    @property
    def different(self) -> list[OrderResult]:
        return [r for r in self.results if r.problem is None and r.fields]

    @property
    def not_replayable(self) -> list[OrderResult]:
        return [r for r in self.results if r.problem is not None]

    @property
    def ok(self) -> bool:
        """Every order replayed to the state it has live."""
        return all(r.same for r in self.results)

    def as_json(self) -> dict[str, Any]:
        return {
            "orders": len(self.results),
            "same": sum(r.same for r in self.results),
            "different": [
                {"order_id": r.order_id, "live": r.live, "shadow": r.shadow, "fields": r.fields}
                for r in self.different
            ],
            "not_replayable": [
                {"order_id": r.order_id, "reason": r.problem} for r in self.not_replayable
            ],
            "policy": {
                "step_timeout_s": self.policy.step_timeout.total_seconds(),
                "step_retries": self.policy.step_retries,
                "compensation_retries": self.policy.compensation_retries,
            },
        }


def default_policy(
    step_timeout_s: float | None = None,
    step_retries: int | None = None,
    compensation_retries: int | None = None,
) -> SagaPolicy:
    """The orders service's default policy (not its environment), with overrides."""
    base = OrdersSettings.model_construct().policy()
    return SagaPolicy(
        step_timeout=(
            base.step_timeout if step_timeout_s is None else timedelta(seconds=step_timeout_s)
        ),
        step_retries=base.step_retries if step_retries is None else step_retries,
        compensation_retries=(
            base.compensation_retries if compensation_retries is None else compensation_retries
        ),
    )


def compare(
    recorded: Sequence[RecordedSaga],
    messages: Mapping[UUID, Message],
    policy: SagaPolicy,
    transitions: Transitions,
) -> ShadowReport:
    results = []
    for saga in recorded:
        live = snapshot(saga.live)
        order_id = saga.live.order_id
        try:
            shadow = snapshot(
                replay(
                    order_id,
                    saga.rows,
                    messages,
                    policy,
                    transitions,
                    live_reason=saga.live.reason,
                )
            )
        except NotReplayable as exc:
            results.append(OrderResult(order_id, live, problem=str(exc)))
            continue
        results.append(OrderResult(order_id, live, shadow, diff(live, shadow)))
    return ShadowReport(policy, results)


async def shadow_saga(
    admin_url: str,
    kafka_bootstrap: str,
    *,
    order_ids: Sequence[str] | None = None,
    since: datetime | None = None,
    policy: SagaPolicy | None = None,
    transitions: Transitions | None = None,
) -> ShadowReport:
    """Replay the selected orders through ``transitions`` (the current code by default)
    under ``policy`` (the default one unless given); nothing is published or written."""
    recorded = await load_sagas(admin_url, order_ids, since)
    wanted = {row.message_id for saga in recorded for row in saga.rows if row.message_id}
    messages = await fetch_messages(kafka_bootstrap, wanted)
    report = compare(
        recorded, messages, policy or default_policy(), transitions or current_transitions()
    )
    found = {saga.live.order_id for saga in recorded}
    unknown = [oid for oid in dict.fromkeys(order_ids or ()) if oid not in found]
    report.results.extend(OrderResult(oid, {}, problem="no saga for this order") for oid in unknown)
    return report
