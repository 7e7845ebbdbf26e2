"""The operators' saga console over HTTP (`orderflow saga ...` drives it).

Listing is read-only and open like the rest of the orders API. The actions (retry,
compensate, resolve) need ``Authorization: Bearer <ORDERS_ADMIN_TOKEN>`` and default to
a dry run: the use case runs for real in a transaction that is then rolled back, so the
answer shows exactly what applying would do (new status, step, commands) and nothing is
saved or sent. Refusals are 409 with the reason.
"""

from __future__ import annotations

import hmac
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import Annotated, Any

import structlog
from fastapi import APIRouter, Depends, HTTPException, Query
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel, Field
from sqlalchemy.ext.asyncio import AsyncEngine

from orderflow_messaging.clock import Clock
from orderflow_messaging.outbox import Outbox
from orderflow_service.http import NO_NUL, Text
from orders.adapters.repository import SagaRepository
from orders.application import saga_service
from orders.application.saga_service import Intervention
from orders.application.unit_of_work import OrdersUnitOfWork
from orders.saga.interventions import ActionRefused
from orders.saga.policy import SagaPolicy
from orders.saga.state import TERMINAL, SagaStatus

log = structlog.get_logger(__name__)

_bearer = HTTPBearer(auto_error=False, description="the orders service's ORDERS_ADMIN_TOKEN")

# The longest idleness a listing can ask for (100 years): beyond it a timedelta overflows.
MAX_IDLE_S = 100 * 365 * 86_400

DryRun = Annotated[
    bool, Query(description="true (default): show what would happen and change nothing")
]


class StuckSaga(BaseModel):
    order_id: str
    status: str
    step: str | None
    attempt: int
    deadline: datetime | None
    reason: str | None
    updated_at: datetime
    idle_s: float


class CommandView(BaseModel):
    topic: str
    type: str


class InterventionView(BaseModel):
    order_id: str
    action: str
    dry_run: bool
    from_status: str
    status: str
    step: str | None
    attempt: int
    deadline: datetime | None
    reason: str | None
    pending_compensations: list[str]
    commands: list[CommandView]
    events: list[str]
    note: str


class CompensateRequest(BaseModel):
    reason: str = Field(min_length=1, max_length=500, pattern=NO_NUL)


class ResolveRequest(BaseModel):
    note: str = Field(min_length=1, max_length=1000, pattern=NO_NUL)


_ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"description": "no or wrong bearer token"},
    404: {"description": "unknown order"},
    409: {"description": "refused in the saga's current state (detail says why)"},
    503: {"description": "admin actions are off (ORDERS_ADMIN_TOKEN is not set)"},
}


def _view(action: str, dry_run: bool, done: Intervention) -> InterventionView:
    saga, outcome = done.outcome.saga, done.outcome
    return InterventionView(
        order_id=saga.order_id,
        action=action,
        dry_run=dry_run,
        from_status=done.before.status.value,
        status=saga.status.value,
        step=saga.step.value if saga.step else None,
        attempt=saga.attempt,
        deadline=saga.deadline,
        reason=saga.reason,
        pending_compensations=[step.value for step in saga.compensations],
        commands=[
            CommandView(topic=topic, type=command.TYPE) for topic, command in outcome.commands
        ],
        events=[event.TYPE for event in outcome.events],
        note=outcome.note,
    )


def build_admin_router(
    engine: AsyncEngine, clock: Clock, policy: SagaPolicy, producer: str, admin_token: str
) -> APIRouter:
    def require_admin(
        credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
    ) -> None:
        if not admin_token:
            raise HTTPException(503, "admin actions are disabled: ORDERS_ADMIN_TOKEN is not set")
        # Constant-time: the token is the only thing between a caller and the sagas.
        given = credentials.credentials.encode() if credentials else b""
        if not hmac.compare_digest(given, admin_token.encode()):
            raise HTTPException(
                401, "a valid admin bearer token is required", {"WWW-Authenticate": "Bearer"}
            )

    router = APIRouter(prefix="/admin/sagas", tags=["admin"])
    actions = APIRouter(dependencies=[Depends(require_admin)], responses=_ERRORS)

    async def run(
        order_id: str,
        action: str,
        dry_run: bool,
        use_case: Callable[[OrdersUnitOfWork], Awaitable[Intervention]],
    ) -> InterventionView:
        try:
            async with engine.connect() as conn, conn.begin() as tx:
                uow = OrdersUnitOfWork(
                    conn, Outbox(conn, producer=producer, clock=clock), clock, policy
                )
                done = await use_case(uow)
                if dry_run:
                    await tx.rollback()
        except LookupError:
            raise HTTPException(404, f"unknown order {order_id!r}") from None
        except ActionRefused as refused:
            raise HTTPException(409, str(refused)) from None
        view = _view(action, dry_run, done)
        log.info(
            "saga_admin_action",
            order_id=order_id,
            action=action,
            dry_run=dry_run,
            from_status=view.from_status,
            status=view.status,
            note=view.note,
        )
        return view

    @router.get("")
    async def list_stuck(
        status: Annotated[
            SagaStatus | None, Query(description="only this status (default: every non-terminal)")
        ] = None,
        older_than_s: Annotated[
            float, Query(ge=0, le=MAX_IDLE_S, description="idle at least this long")
        ] = 0,
        limit: Annotated[int, Query(ge=1, le=500)] = 50,
    ) -> list[StuckSaga]:
        """Sagas not updated for ``older_than_s`` seconds, longest idle first."""
        statuses = [status] if status else [s for s in SagaStatus if s not in TERMINAL]
        async with engine.connect() as conn:
            rows = await SagaRepository(conn).stuck(
                statuses, timedelta(seconds=older_than_s), limit
            )
        return [
            StuckSaga(
                order_id=r.order_id,
                status=r.status,
                step=r.step,
                attempt=r.attempt,
                deadline=r.deadline,
                reason=r.reason,
                updated_at=r.updated_at,
                idle_s=float(r.idle_s),
            )
            for r in rows
        ]

    @actions.post("/{order_id}/retry")
    async def retry(order_id: Text, dry_run: DryRun = True) -> InterventionView:
        """Resend the in-flight step's command now (RUNNING or COMPENSATING sagas)."""
        return await run(
            order_id, "retry", dry_run, lambda uow: saga_service.retry_step(uow, order_id)
        )

    @actions.post("/{order_id}/compensate")
    async def compensate(
        order_id: Text, body: CompensateRequest, dry_run: DryRun = True
    ) -> InterventionView:
        """Compensate a RUNNING saga, a COMPLETED one before dispatch, or restart a
        COMPENSATION_FAILED one from the step that failed."""
        return await run(
            order_id,
            "compensate",
            dry_run,
            lambda uow: saga_service.force_compensate(uow, order_id, body.reason),
        )

    @actions.post("/{order_id}/resolve")
    async def resolve(
        order_id: Text, body: ResolveRequest, dry_run: DryRun = True
    ) -> InterventionView:
        """Close a COMPENSATION_FAILED saga that a human settled: RESOLVED, nothing sent."""
        return await run(
            order_id,
            "resolve",
            dry_run,
            lambda uow: saga_service.resolve(uow, order_id, body.note),
        )

    router.include_router(actions)
    return router
