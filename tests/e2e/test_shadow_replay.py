"""`orderflow shadow saga`: the recorded inputs of real orders, replayed through the saga
code with every command suppressed, reproduce the live states; a changed transition
shows up as a difference in exactly the orders it affects."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from dataclasses import replace
from datetime import datetime, timedelta
from pathlib import Path

import httpx
import pytest

from orderflow_cli.commands.shadow_replay import current_transitions
from orderflow_cli.commands.shadow_report import shadow_saga
from orderflow_contracts.payment import PaymentDeclined
from orderflow_messaging.registry import Message
from orders.saga import transitions
from orders.saga.policy import SagaPolicy
from orders.saga.state import Saga, SagaStatus, Step
from orders.saga.transitions import Outcome

from .conftest import TEST_ENV, System, new_product, order_body, place, until

ORDERFLOW = str(Path(sys.executable).with_name("orderflow"))
# The shadow must run under the policy the services ran with: the fixture's.
E2E_POLICY = SagaPolicy(
    step_timeout=timedelta(seconds=float(TEST_ENV["ORDERS_STEP_TIMEOUT_S"])),
    step_retries=int(TEST_ENV["ORDERS_STEP_RETRIES"]),
    compensation_retries=int(TEST_ENV["ORDERS_COMPENSATION_RETRIES"]),
)
POLICY_OPTIONS = [
    "--step-timeout-s", TEST_ENV["ORDERS_STEP_TIMEOUT_S"],
    "--step-retries", TEST_ENV["ORDERS_STEP_RETRIES"],
    "--compensation-retries", TEST_ENV["ORDERS_COMPENSATION_RETRIES"],
]  # fmt: skip


@pytest.fixture(scope="module")
async def orders(system: System) -> dict[str, str]:
    """One finished order per path: name -> order id."""
    async with httpx.AsyncClient(timeout=20.0) as http:
        sku = await new_product(http, system, stock=10)
        scarce = await new_product(http, system, stock=1)
        placed = {
            "happy": await place(http, system, order_body((sku, 1))),
            "declined": await place(http, system, order_body((sku, 1), token="tok_decline")),
            "carrier_rejected": await place(http, system, order_body((sku, 1), postcode="00404")),
            "out_of_stock": await place(http, system, order_body((scarce, 2))),
        }
        finals = await asyncio.gather(*(until(http, system, o) for o in placed.values()))
        assert [f["status"] for f in finals] == ["COMPLETED", "CANCELLED", "CANCELLED", "REJECTED"]
        # Also the tracking replies, so that they are replayed too.
        await until(http, system, placed["happy"], lambda o: o["fulfilment"]["delivered"], 30)
    return placed


def reject_declined_payment(
    saga: Saga, reply: Message, now: datetime, policy: SagaPolicy
) -> Outcome:
    """A deliberate change: a declined payment rejects the order, nothing is compensated."""
    if isinstance(reply, PaymentDeclined) and saga.step is Step.AUTHORIZE_PAYMENT:
        reason = f"payment declined: {reply.reason}"
        done = saga.evolve(
            status=SagaStatus.REJECTED, step=None, deadline=None, attempt=0, reason=reason
        )
        return Outcome(done, note=reply.TYPE)
    return transitions.on_reply(saga, reply, now, policy)


async def test_unchanged_code_replays_every_order_to_its_live_state(
    system: System, orders: dict[str, str]
) -> None:
    report = await shadow_saga(
        system.settings["DATABASE_URL"],
        system.settings["KAFKA_BOOTSTRAP_SERVERS"],
        order_ids=list(orders.values()),
        policy=E2E_POLICY,
    )
    assert sorted(r.order_id for r in report.results) == sorted(orders.values())
    assert [(r.order_id, r.fields, r.problem) for r in report.results if not r.same] == []
    assert report.ok
    by_order = {r.order_id: r for r in report.results}
    assert by_order[orders["happy"]].live["facts"]["shipment_delivered"] is True
    assert by_order[orders["out_of_stock"]].shadow == by_order[orders["out_of_stock"]].live

    order_options = [opt for order_id in orders.values() for opt in ("--order", order_id)]
    result = await asyncio.to_thread(
        subprocess.run, [ORDERFLOW, "shadow", "saga", *order_options, *POLICY_OPTIONS, "--json"],
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    out = json.loads(result.stdout)
    assert (out["orders"], out["same"], out["different"]) == (4, 4, [])


async def test_changed_transition_reports_exactly_the_affected_order(
    system: System, orders: dict[str, str]
) -> None:
    changed = replace(current_transitions(), on_reply=reject_declined_payment)
    report = await shadow_saga(
        system.settings["DATABASE_URL"],
        system.settings["KAFKA_BOOTSTRAP_SERVERS"],
        order_ids=list(orders.values()),
        policy=E2E_POLICY,
        transitions=changed,
    )
    assert not report.ok
    assert report.not_replayable == []
    (different,) = report.as_json()["different"]
    assert different["order_id"] == orders["declined"]
    assert different["fields"] == ["status"]
    assert different["live"]["status"] == "CANCELLED"
    assert different["shadow"]["status"] == "REJECTED"
    assert different["shadow"]["reason"] == different["live"]["reason"]
    assert different["live"]["reason"].startswith("payment declined")


async def test_command_line_exits_1_for_an_order_it_cannot_replay(system: System) -> None:
    result = await asyncio.to_thread(
        subprocess.run, [ORDERFLOW, "shadow", "saga", "--order", "no-such-order", *POLICY_OPTIONS],
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert result.returncode == 1, result.stdout + result.stderr
    assert "no saga for this order" in result.stdout
