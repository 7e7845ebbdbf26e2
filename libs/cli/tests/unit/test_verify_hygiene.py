"""The log hygiene check of `orderflow verify` finds card numbers and canaries, and
leaves ids alone."""

from __future__ import annotations

from orderflow_cli.verify import hygiene_problems


def test_finds_a_card_number_plain_or_grouped() -> None:
    assert hygiene_problems('{"card": "4111111111111111"}', [])
    assert hygiene_problems("pan=4111 1111 1111 1111 end", [])


def test_ignores_ids_timestamps_and_non_luhn_digits() -> None:
    text = (
        '{"order_id": "9becb4ca-d69f-4e40-9933-3613097ebf55", "offset": 1234567890123, '
        '"timestamp": "2026-11-24T05:40:55.085613Z", "n": 4111111111111112}'
    )
    assert hygiene_problems(text, []) == []


def test_finds_configured_canaries() -> None:
    problems = hygiene_problems("address: CANARY-STREET-77", ["CANARY-STREET-77", "unused"])
    assert problems == ["canary value 'CANARY-STREET-77' present"]
