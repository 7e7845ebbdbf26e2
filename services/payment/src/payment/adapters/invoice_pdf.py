"""An invoice or credit note as a one-page PDF (reportlab), rendered on request from the
stored document: the same document always renders the same content.

Long documents continue on further pages; amounts are in the document's currency with
two decimals (every currency the contracts allow here has two).
"""

from __future__ import annotations

from io import BytesIO

from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm
from reportlab.pdfgen.canvas import Canvas

from payment.domain.invoices import Document, DocumentKind

_LEFT, _RIGHT, _TOP, _BOTTOM = 20 * mm, 190 * mm, 277 * mm, 20 * mm
_LINE = 6 * mm
_SELLER = ("orderflow demo shop", "1 Event Street", "10115 Berlin, DE")


def _money(minor: int, currency: str) -> str:
    sign = "-" if minor < 0 else ""
    return f"{sign}{abs(minor) // 100:,}.{abs(minor) % 100:02d} {currency}"


def _percent(rate_bp: int) -> str:
    return f"{rate_bp / 100:g}%"


class _Page:
    """A cursor down the page; a new page when the next line would not fit."""

    def __init__(self, canvas: Canvas) -> None:
        self.canvas = canvas
        self.y = _TOP

    def line(self, *cells: tuple[float, str], bold: bool = False, right: float = 0) -> None:
        if self.y < _BOTTOM:
            self.canvas.showPage()
            self.y = _TOP
        self.canvas.setFont("Helvetica-Bold" if bold else "Helvetica", 10)
        for x, text in cells:
            self.canvas.drawString(x, self.y, text)
        self.y -= _LINE + right

    def amount(self, text: str, bold: bool = False) -> None:
        """Right-aligned on the line just written."""
        self.canvas.setFont("Helvetica-Bold" if bold else "Helvetica", 10)
        self.canvas.drawRightString(_RIGHT, self.y + _LINE, text)


def render(document: Document) -> bytes:
    buffer = BytesIO()
    title = "Invoice" if document.kind is DocumentKind.INVOICE else "Credit note"
    canvas = Canvas(buffer, pagesize=A4, pageCompression=1, invariant=1)
    canvas.setTitle(f"{title} {document.number}")
    canvas.setAuthor(_SELLER[0])
    page = _Page(canvas)
    canvas.setFont("Helvetica-Bold", 18)
    canvas.drawString(_LEFT, page.y, f"{title} {document.number}")
    page.y -= 2 * _LINE
    for text in _SELLER:
        page.line((_LEFT, text))
    page.y -= _LINE
    page.line((_LEFT, f"Order: {document.order_id}"))
    page.line((_LEFT, f"Customer: {document.customer_id} ({document.country})"))
    page.line((_LEFT, f"Issued: {document.issued_at:%Y-%m-%d %H:%M} UTC"))
    if document.corrects:
        page.line((_LEFT, f"Corrects invoice: {document.corrects}"))
    page.y -= _LINE
    page.line((_LEFT, "Item"), (95 * mm, "Qty"), (110 * mm, "Unit price"), (140 * mm, "Discount"),
              bold=True)  # fmt: skip
    page.amount("Amount", bold=True)
    currency = document.currency
    for line in document.lines:
        page.line(
            (_LEFT, line.sku), (95 * mm, str(line.quantity)),
            (110 * mm, _money(line.unit_price_minor, currency)),
            (140 * mm, _money(line.discount_minor, currency) if line.discount_minor else ""),
        )  # fmt: skip
        page.amount(_money(line.total_minor, currency))
    page.y -= _LINE
    for tax in document.taxes:
        page.line((110 * mm, f"Net at {_percent(tax.rate_bp)}"))
        page.amount(_money(tax.net_minor, currency))
        page.line((110 * mm, f"VAT {_percent(tax.rate_bp)}"))
        page.amount(_money(tax.tax_minor, currency))
    page.line((110 * mm, "Total"), bold=True)
    page.amount(_money(document.total_minor, currency), bold=True)
    canvas.showPage()
    canvas.save()
    return buffer.getvalue()
