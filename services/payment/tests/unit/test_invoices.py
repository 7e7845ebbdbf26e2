"""Invoices and credit notes, pure: the tax taken out of gross amounts, the lines an
invoice shows for what was charged, numbering per series and year, and the PDF."""

from __future__ import annotations

from datetime import UTC, datetime

import pypdfium2 as pdfium
import pytest
from hypothesis import given
from hypothesis import strategies as st

from payment.adapters.invoice_pdf import render
from payment.domain.invoices import (
    Charge,
    DocumentKind,
    DocumentLine,
    TaxLine,
    credit_note_for,
    invoice_for,
    number,
    rate_of,
    tax_lines,
)

NOW = datetime(2026, 12, 7, 10, 30, tzinfo=UTC)
TEE, MUG = DocumentLine("TEE-BLK-M", 2, 1990, 500), DocumentLine("MUG-ENAMEL", 1, 1250)


def charge(amount: int, country: str = "DE", delivery: int = 790) -> Charge:
    return Charge("o-1", "c-1", country, "EUR", amount, (TEE, MUG), delivery)


def test_the_rate_table_is_data_and_an_unknown_country_pays_none() -> None:
    assert (rate_of("DE"), rate_of("PT"), rate_of("CH")) == (1900, 2300, 810)
    assert rate_of("ZZ") == 0


def test_tax_is_taken_out_of_the_gross_and_rounded_half_up() -> None:
    assert tax_lines([DocumentLine("A", 1, 11900)], 1900) == (TaxLine(1900, 11900, 10000, 1900),)
    # 1.19 -> tax 0.19; 1.00 at 19%: 15.966.. -> 16 cents.
    assert tax_lines([DocumentLine("A", 1, 100)], 1900)[0].tax_minor == 16
    assert tax_lines([DocumentLine("A", 1, 500)], 0) == (TaxLine(0, 500, 500, 0),)


@given(
    st.lists(
        st.tuples(st.integers(1, 50), st.integers(0, 1_000_000), st.integers(0, 100)),
        min_size=1, max_size=10,
    ),
    st.sampled_from([0, 810, 1700, 1900, 2000, 2300, 2550]),
)  # fmt: skip
def test_net_and_tax_always_make_the_gross(raw: list[tuple[int, int, int]], rate: int) -> None:
    lines = [DocumentLine(f"S{n}", q, p, min(d, q * p)) for n, (q, p, d) in enumerate(raw)]
    [tax] = tax_lines(lines, rate)
    assert tax.gross_minor == sum(line.total_minor for line in lines)
    assert tax.net_minor + tax.tax_minor == tax.gross_minor
    assert 0 <= tax.tax_minor <= tax.gross_minor
    exact = tax.gross_minor * rate / (10_000 + rate)
    assert abs(tax.tax_minor - exact) <= 0.5


def test_an_invoice_shows_the_lines_the_delivery_and_totals_what_was_charged() -> None:
    charged = 2 * 1990 - 500 + 1250 + 790
    invoice = invoice_for(charge(charged), "o-1:capture", NOW)
    assert invoice.kind is DocumentKind.INVOICE
    assert [line.sku for line in invoice.lines] == ["TEE-BLK-M", "MUG-ENAMEL", "DELIVERY"]
    assert invoice.total_minor == charged
    assert invoice.taxes[0].rate_bp == 1900
    assert invoice.number is None
    assert invoice.numbered(2026, 7).number == "INV-2026-000007"


@pytest.mark.parametrize(("charged", "adjustment"), [(4000, (0, 1520)), (6000, (480, 0))])
def test_a_charge_that_differs_from_its_lines_gets_an_adjustment_line(
    charged: int, adjustment: tuple[int, int]
) -> None:
    invoice = invoice_for(charge(charged), "o-1:capture", NOW)
    last = invoice.lines[-1]
    assert (last.sku, last.unit_price_minor, last.discount_minor) == ("ADJUSTMENT", *adjustment)
    assert invoice.total_minor == charged


def test_a_credit_note_gives_back_the_invoice_or_the_amount_refunded() -> None:
    invoice = invoice_for(charge(5520), "o-1:capture", NOW).numbered(2026, 1)
    whole = credit_note_for(invoice, 5520, "o-1:refund", NOW)
    assert (whole.kind, whole.lines, whole.corrects) == (
        DocumentKind.CREDIT_NOTE, invoice.lines, "INV-2026-000001"
    )  # fmt: skip
    part = credit_note_for(invoice, 1250, "o-1:refund:2", NOW)
    assert [(line.sku, line.total_minor) for line in part.lines] == [("REFUND", 1250)]
    assert part.taxes[0].rate_bp == invoice.taxes[0].rate_bp
    assert number(DocumentKind.CREDIT_NOTE, 2027, 12) == "CN-2027-000012"


def test_the_pdf_opens_and_renders_a_page_with_the_number_and_total() -> None:
    invoice = invoice_for(charge(5520), "o-1:capture", NOW).numbered(2026, 42)
    pdf = render(invoice)
    assert pdf.startswith(b"%PDF-")
    assert render(invoice) == pdf  # the same document renders the same bytes
    document = pdfium.PdfDocument(pdf)
    try:
        assert len(document) == 1
        page = document[0]
        text = page.get_textpage().get_text_range()
        assert "Invoice INV-2026-000042" in text
        assert "55.20 EUR" in text
        assert "VAT 19%" in text
        image = page.render(scale=1).to_pil()
        width, height = image.size
        assert (round(width, -1), round(height, -1)) == (600, 840)  # A4 at 72 dpi
        # Ink on the page: not every pixel is white.
        assert image.convert("L").getextrema()[0] < 100
    finally:
        document.close()
