"""The broker-side checks of `orderflow verify` (verify_dlq): what one pass over the
topics keeps, dead-letter accounting, and hygiene of record bytes. No broker needed:
records are fed to the scan the way the Kafka pass does."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime

from orderflow_cli.verify import consumer_groups
from orderflow_cli.verify_dlq import (
    Coordinates,
    DeadLetterRef,
    TopicScan,
    _drain,
    blob_problems,
    capped,
    dead_letter_problems,
    delivery_gaps,
    missing_dead_letters,
    record_digest,
    unhandled_records,
)
from orderflow_contracts import topics as t
from orderflow_contracts.catalogue import CATALOGUE, SERVICES
from orderflow_messaging.dead_letter import dead_letter_record
from orderflow_messaging.envelope import SourceCoordinates
from orderflow_messaging.errors import ReasonCode

SOURCE = Coordinates("payment.commands", 2, 41)
VALUE = b'{"message_id": '
KEY = b"order-1"


def _dead_letter(
    scan: TopicScan, at: Coordinates, *, value: bytes = VALUE, drop: str | None = None
) -> None:
    """Feed ``scan`` a dead letter of SOURCE as the library writes it (minus ``drop``)."""
    record = dead_letter_record(
        source=SourceCoordinates(*SOURCE), key=KEY, value=value, headers=[("trace", b"\xff")],
        reason=ReasonCode.MALFORMED_JSON, error="Expecting value", exception="PoisonMessage",
        consumer="payment", attempts=0, failed_at=datetime(2026, 1, 1, tzinfo=UTC),
    )  # fmt: skip
    headers = [(n, v) for n, v in record.headers if n != drop]
    scan.add(at, record.key, record.value, headers)


def _scan_with_source() -> TopicScan:
    scan = TopicScan()
    scan.add(SOURCE, KEY, VALUE, [("trace", b"\xff")])
    return scan


def test_a_dead_letter_as_the_library_writes_it_is_well_formed() -> None:
    scan = _scan_with_source()
    _dead_letter(scan, Coordinates("payment.commands.dlq", 0, 7))
    assert dead_letter_problems(scan) == []
    assert [e.ref for e in scan.dead_letters] == [DeadLetterRef("payment", SOURCE)]
    assert missing_dead_letters([DeadLetterRef("payment", SOURCE)], scan) == []


def test_a_dead_letter_without_reason_consumer_or_source_is_reported() -> None:
    scan = _scan_with_source()
    _dead_letter(scan, Coordinates("payment.commands.dlq", 0, 1), drop="dlq.reason")
    _dead_letter(scan, Coordinates("payment.commands.dlq", 0, 2), drop="dlq.consumer")
    _dead_letter(scan, Coordinates("payment.commands.dlq", 0, 3), drop="dlq.source.offset")
    problems = dead_letter_problems(scan)
    assert problems == [
        "dead letter payment.commands.dlq/0@1: no reason",
        "dead letter payment.commands.dlq/0@2: does not name its consumer",
        "dead letter payment.commands.dlq/0@3: no source topic/partition/offset",
    ]


def test_a_dead_letter_must_carry_the_original_bytes_on_the_right_dlq() -> None:
    scan = _scan_with_source()
    _dead_letter(scan, Coordinates("payment.commands.dlq", 1, 0), value=b"changed")
    _dead_letter(scan, Coordinates("inventory.commands.dlq", 1, 0))
    problems = dead_letter_problems(scan)
    assert "key or value differ from the source record payment.commands/2@41" in problems[0]
    assert "is not a record of the topic it is the DLQ of" in problems[1]


def test_a_source_record_gone_from_the_topic_is_not_compared() -> None:
    scan = TopicScan()  # retention removed the source record
    _dead_letter(scan, Coordinates("payment.commands.dlq", 0, 0), value=b"anything")
    assert dead_letter_problems(scan) == []


def test_an_unknown_reason_code_is_reported() -> None:
    scan = TopicScan()
    headers = [("dlq.reason", b"BAD_LUCK"), ("dlq.consumer", b"payment"),
               ("dlq.source.topic", b"payment.commands"), ("dlq.source.partition", b"0"),
               ("dlq.source.offset", b"x1")]  # fmt: skip
    scan.add(Coordinates("payment.commands.dlq", 0, 0), None, b"v", headers)
    assert dead_letter_problems(scan) == [
        "dead letter payment.commands.dlq/0@0: reason 'BAD_LUCK' is not a reason code",
        "dead letter payment.commands.dlq/0@0: no source topic/partition/offset",
    ]


def test_a_dead_lettered_inbox_row_needs_its_dead_letter() -> None:
    scan = _scan_with_source()
    _dead_letter(scan, Coordinates("payment.commands.dlq", 0, 7))
    other_consumer = DeadLetterRef("audit", SOURCE)
    other_record = DeadLetterRef("payment", SOURCE._replace(offset=42))
    assert missing_dead_letters([other_consumer, other_record], scan) == [
        "audit dead-lettered payment.commands/2@41, but payment.commands.dlq has no dead "
        "letter of it",
        "payment dead-lettered payment.commands/2@42, but payment.commands.dlq has no dead "
        "letter of it",
    ]


def test_every_consumed_record_is_accounted_for_by_the_inbox() -> None:
    delivered = {("payment", "payment.commands"): 10, ("orders", "payment.events"): 5}
    # Rows commit before offsets: more rows than committed records is in flight, not wrong.
    accounted = {("payment", "payment.commands"): 10, ("orders", "payment.events"): 7}
    assert delivery_gaps(delivered, accounted, Counter()) == []
    short = {("payment", "payment.commands"): 8, ("orders", "payment.events"): 5}
    assert delivery_gaps(delivered, short, Counter()) == [
        "payment consumed 10 records of payment.commands; its inbox accounts for 8 "
        "(processed + ignored + dead-lettered + duplicates): 2 unaccounted"
    ]
    # A redriven record is handled under its dead letter's row.
    assert delivery_gaps(delivered, short, Counter({"payment.commands": 2})) == []


def test_the_scan_counts_redriven_records_per_topic() -> None:
    scan = TopicScan()
    scan.add(Coordinates("payment.commands", 0, 5), KEY, VALUE, [("redriven_from", b"x:0:1")])
    scan.add(Coordinates("payment.commands", 0, 6), KEY, VALUE, [])
    assert scan.redriven == Counter({"payment.commands": 1})
    assert scan.records == 2


def test_record_digest_tells_missing_from_empty_and_key_from_value() -> None:
    assert record_digest(None, b"") != record_digest(b"", b"")
    assert record_digest(b"ab", b"c") != record_digest(b"a", b"bc")
    assert record_digest(b"k", b"v") == record_digest(b"k", b"v")


def test_card_numbers_and_canaries_are_found_in_any_part_of_a_record() -> None:
    scan = TopicScan(canaries=["CANARY-77"])
    scan.add(Coordinates("orders.events", 1, 3), b"k", b'{"pan": "4111 1111 1111 1111"}', [])
    scan.add(Coordinates("orders.events.dlq", 0, 9), None, b"\xff\xfe",
             [("note", b"\xc3\x28 CANARY-77")])  # fmt: skip
    scan.add(Coordinates("orders.events", 1, 4), b"4111111111111111", None, [])
    assert scan.hygiene == [
        "orders.events/1@3 value: card-number-like value ending 1111",
        "orders.events.dlq/0@9 header note: canary value 'CANARY-77' present",
        "orders.events/1@4 key: card-number-like value ending 1111",
    ]


def test_clean_records_ids_timestamps_and_large_padding_are_not_flagged() -> None:
    clean = (
        b'{"message_id": "9becb4ca-d69f-4e40-9933-3613097ebf55", '
        b'"occurred_at": "2026-11-24T05:40:55.085613+00:00", "offset": 1234567890123}'
    )
    assert blob_problems(clean, ["CANARY"]) == []
    assert blob_problems(b"x" * 2_000_000, ["CANARY"]) == []
    assert blob_problems(b"\xff" * 10 + b"4111111111111111", []) != []


def test_long_lists_of_violations_are_capped() -> None:
    assert capped(["a", "b"], limit=2) == ["a", "b"]
    assert capped(["a", "b", "c", "d"], limit=2) == ["a", "b", "... and 2 more"]


def test_consumer_groups_cover_every_topic_a_service_consumes() -> None:
    groups = consumer_groups()
    assert groups["checkout-inbound"] == {t.ORDERS_INBOUND}
    assert groups["checkout"] == {t.CATALOG_EVENTS, t.INVENTORY_STOCK}
    assert (groups["catalog"], groups["promotions"]) == (
        {t.INVENTORY_STOCK, t.CHECKOUT_EVENTS},
        {t.PROMOTIONS_COMMANDS},
    )
    consumed = {e.topic for e in CATALOGUE if set(e.consumers) & set(SERVICES)}
    assert set().union(*groups.values()) == consumed


def test_every_record_below_a_committed_offset_has_an_inbox_row() -> None:
    at = [Coordinates("pay", 0, n) for n in range(4)]
    scan = TopicScan()
    scan.add(at[0], b"k", b"{}", [("message_id", b"m0")])
    scan.add(at[1], b"k", b"{}", [("message_id", b"m0")])  # a duplicate copy of m0
    scan.add(at[2], b"k", b"not json", [])  # poison: handled by its coordinates
    scan.add(at[3], b"k", b'{"message_id": "m3"}', [])  # no headers: the body's id
    committed = {("payment", "pay", 0): 4}
    ids = {"payment": {"m0", "m3"}}
    handled_at = {"payment": {at[0], at[2], at[3]}}
    assert unhandled_records(committed, scan.message_ids, ids, handled_at) == []

    lost = unhandled_records(committed, scan.message_ids, {"payment": {"m0"}}, {})
    assert lost == [
        "payment committed past pay/0@2, which its inbox never handled",
        "payment committed past pay/0@3, which its inbox never handled",
    ]
    # Not yet committed: not a loss (the consumer may still be at it).
    assert unhandled_records({("payment", "pay", 0): 2}, scan.message_ids, ids, {}) == []


@dataclass(frozen=True, order=True)
class _Part:
    topic: str
    partition: int


class _StuckConsumer:
    """A consumer whose partition never reaches its end offset (a topic too big to read
    within the budget)."""

    async def getmany(
        self, *parts: object, timeout_ms: int, max_records: int
    ) -> dict[str, list[object]]:
        return {}

    async def position(self, tp: object) -> int:
        return 0


async def test_a_scan_past_its_budget_says_so_and_how_to_read_further() -> None:
    scan = TopicScan()
    await _drain(_StuckConsumer(), {_Part("orders.events", 0): 10}, scan, budget_s=0.05)
    [unfinished] = scan.unfinished
    assert "within 0.05 s" in unfinished
    assert "orders.events/0" in unfinished
    assert "--scan-seconds" in unfinished
