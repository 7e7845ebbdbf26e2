"""Invoices and credit notes: what a capture and a refund issue. Pure: no I/O.

A document shows lines as charged (gross: prices include tax), and its tax lines, per
rate, split into net and tax (``tax_lines``): the tax is taken out of the gross sum of
each rate with the rate of the country the order goes to (``tax_rates.json``, data),
rounded half up to the minor unit, so net + tax is always the gross exactly.

Numbers run per series and year without gaps: ``INV-2026-000001`` for invoices,
``CN-2026-000001`` for credit notes. The store hands out a block of numbers in the same
transaction that inserts the documents, so a rolled-back batch (or a crash) gives its
numbers back and a number once committed is used.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from enum import StrEnum
from functools import cache
from pathlib import Path

_RATES = Path(__file__).with_name("tax_rates.json")
DELIVERY_SKU = "DELIVERY"
ADJUSTMENT_SKU = "ADJUSTMENT"


class DocumentKind(StrEnum):
    INVOICE = "invoice"
    CREDIT_NOTE = "credit_note"

    @property
    def series(self) -> str:
        return "INV" if self is DocumentKind.INVOICE else "CN"


@cache
def tax_rates() -> Mapping[str, int]:
    """Basis points by ISO country code."""
    data = json.loads(_RATES.read_text())
    return {k: int(v) for k, v in data.items() if not k.startswith("_")}


def rate_of(country: str) -> int:
    return tax_rates().get(country, 0)


@dataclass(frozen=True)
class DocumentLine:
    """``total_minor`` = quantity x unit price - discount (gross); a credit note's lines
    are what it gives back."""

    sku: str
    quantity: int
    unit_price_minor: int
    discount_minor: int = 0

    @property
    def total_minor(self) -> int:
        return self.quantity * self.unit_price_minor - self.discount_minor


@dataclass(frozen=True)
class TaxLine:
    rate_bp: int
    gross_minor: int
    net_minor: int
    tax_minor: int


def tax_lines(lines: Sequence[DocumentLine], rate_bp: int) -> tuple[TaxLine, ...]:
    """One tax line per rate (here: the country's, for every line)."""
    gross = sum(line.total_minor for line in lines)
    tax = (gross * rate_bp * 2 + 10_000 + rate_bp) // (2 * (10_000 + rate_bp))
    return (TaxLine(rate_bp, gross, gross - tax, tax),)


@dataclass(frozen=True)
class Document:
    """An invoice or credit note as issued (``number`` set when it is numbered)."""

    kind: DocumentKind
    order_id: str
    customer_id: str
    country: str
    currency: str
    issued_at: datetime
    lines: tuple[DocumentLine, ...]
    taxes: tuple[TaxLine, ...]
    source_key: str  # the capture's or refund's idempotency key: one document each
    number: str | None = None
    corrects: str | None = None  # a credit note: the invoice it corrects

    @property
    def total_minor(self) -> int:
        return sum(line.total_minor for line in self.lines)

    def numbered(self, year: int, seq: int) -> Document:
        return replace(self, number=number(self.kind, year, seq))


def number(kind: DocumentKind, year: int, seq: int) -> str:
    return f"{kind.series}-{year}-{seq:06d}"


@dataclass(frozen=True)
class Charge:
    """What a capture charged and what its invoice is to show (the command's draft)."""

    order_id: str
    customer_id: str
    country: str
    currency: str
    amount_minor: int
    lines: tuple[DocumentLine, ...]
    delivery_minor: int = 0


def invoice_for(charge: Charge, source_key: str, now: datetime) -> Document:
    """The capture's invoice: its lines, the delivery, and an adjustment line for any
    difference from the amount captured (an order placed before discounts were shown
    per line), so the invoice always totals what was charged."""
    lines = list(charge.lines)
    if charge.delivery_minor:
        lines.append(DocumentLine(DELIVERY_SKU, 1, charge.delivery_minor))
    shown = sum(line.total_minor for line in lines)
    if shown > charge.amount_minor:
        lines.append(DocumentLine(ADJUSTMENT_SKU, 1, 0, shown - charge.amount_minor))
    elif shown < charge.amount_minor:
        lines.append(DocumentLine(ADJUSTMENT_SKU, 1, charge.amount_minor - shown))
    rate = rate_of(charge.country)
    return Document(
        DocumentKind.INVOICE, charge.order_id, charge.customer_id, charge.country,
        charge.currency, now, tuple(lines), tax_lines(lines, rate), source_key,
    )  # fmt: skip


def credit_note_for(
    invoice: Document,
    amount_minor: int,
    source_key: str,
    now: datetime,
    returned: Sequence[DocumentLine] = (),
) -> Document:
    """A refund of ``amount_minor``: the lines given back when the refund names them (a
    return's) and they make the amount, else the whole invoice when it is the whole
    amount, else one line for the amount refunded (its tax at the invoice's rate)."""
    if returned and sum(line.total_minor for line in returned) == amount_minor:
        lines = tuple(returned)
    elif amount_minor == invoice.total_minor:
        lines = invoice.lines
    else:
        lines = (DocumentLine("REFUND", 1, amount_minor),)
    rate = invoice.taxes[0].rate_bp if invoice.taxes else rate_of(invoice.country)
    return Document(
        DocumentKind.CREDIT_NOTE, invoice.order_id, invoice.customer_id, invoice.country,
        invoice.currency, now, lines, tax_lines(lines, rate), source_key,
        corrects=invoice.number,
    )  # fmt: skip
