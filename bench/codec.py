"""Micro-benchmark: CPU cost of the messaging codec per message, no broker or database.

decode = what a consumer does per record before its handler (envelope parse + payload
validation + upcast); encode = what Outbox.put does per message before its INSERT
(envelope, JSON bytes, Kafka headers, outbox row). CPU time (time.process_time), so other
load on the machine matters less than for wall-clock figures.

    .venv/bin/python -m bench.codec
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime

from orderflow_contracts import registry as contracts_registry
from orderflow_contracts.payment import AuthorizePayment, PaymentAuthorized
from orderflow_messaging.envelope import Envelope
from orderflow_messaging.header_codec import unpack_headers
from orderflow_messaging.jsontext import json_text
from orderflow_messaging.outbox import Outbox, OutgoingRecord, _row
from orders.adapters.repository import saga_data
from orders.saga.state import Facts, OrderData, OrderLine, Saga, SagaStatus, Step


def _per_call_us(fn: Callable[[], object], n: int) -> float:
    fn()
    best = float("inf")
    for _ in range(3):
        start = time.process_time()
        for _ in range(n):
            fn()
        best = min(best, (time.process_time() - start) / n * 1e6)
    return round(best, 1)


def main(n: int = 20_000) -> dict[str, float]:
    reg = contracts_registry()
    order_id = str(uuid.uuid4())
    command = AuthorizePayment(
        order_id=order_id, amount_minor=4200, currency="EUR",
        payment_token="tok_ok", idempotency_key=f"{order_id}:authorize:1",  # noqa: S106
    )  # fmt: skip
    envelope = Envelope(
        message_id=uuid.uuid4(), type=command.TYPE, version=command.VERSION,
        occurred_at=datetime.now(UTC), producer="orders", correlation_id=order_id,
        causation_id=uuid.uuid4(), payload=command.model_dump(mode="json"),
    )  # fmt: skip
    value = envelope.to_bytes()
    reply = PaymentAuthorized(
        order_id=order_id, authorization_id="auth_x", amount_minor=4200, currency="EUR"
    )
    outbox = Outbox(None, producer="payment", causation=envelope)  # type: ignore[arg-type]

    def decode() -> object:
        env = reg.parse_envelope(value, max_bytes=1_048_576)
        return reg.decode_payload(env)

    def encode() -> object:
        env = outbox.envelope(reply, correlation_id=order_id)
        record = OutgoingRecord(
            topic="payment.events", key=order_id.encode(), value=env.to_bytes(),
            headers=env.kafka_headers(), message_type=env.type,
            correlation_id=env.correlation_id,
        )  # fmt: skip
        return _row(env.message_id, record)

    row = encode()
    assert isinstance(row, dict)
    stored = row["header_bytes"]
    state = saga_data(_saga(order_id))

    return {
        "decode_us": _per_call_us(decode, n),
        "encode_us": _per_call_us(encode, n),
        "relay_headers_us": _per_call_us(lambda: unpack_headers(stored), n),
        "value_bytes": len(value),
        # A saga's state as its jsonb parameter: written on every hop of an order.
        "saga_json_stdlib_us": _per_call_us(lambda: json.dumps(state), n),
        "saga_json_us": _per_call_us(lambda: json_text(state), n),
        "saga_json_read_us": _per_call_us(lambda: json.loads(json_text(state)), n),
    }


def _saga(order_id: str) -> Saga:
    """A saga as the coordinator holds it after payment authorization."""
    address = {"name": "Ada Lovelace", "line1": "1 Main St", "city": "Berlin",
               "postcode": "10115", "country": "DE"}  # fmt: skip
    order = OrderData(
        customer_id="c-123", lines=(OrderLine("TEE-BLK-M", 1, 2500),), currency="EUR",
        total_minor=2500, address=address, payment_token="tok_ok",  # noqa: S106
    )  # fmt: skip
    facts = Facts(stock_reserved=True, payment_authorized=True)
    return Saga(
        order_id, order, SagaStatus.RUNNING, Step.CREATE_SHIPMENT, 1, datetime.now(UTC),
        facts=facts,
    )  # fmt: skip


if __name__ == "__main__":
    print(json.dumps(main()))
