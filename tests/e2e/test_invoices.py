"""End to end: a capture issues the order's invoice (its lines, tax and total as
charged, a PDF that opens), a refund a credit note against it."""

from __future__ import annotations

from typing import Any

import httpx
import pypdfium2 as pdfium

from .conftest import System, get_json, new_product, order_body, place, until


async def _documents(http: httpx.AsyncClient, system: System, order_id: str) -> list[Any]:
    status, body = await get_json(http, system.url("payment") + f"/orders/{order_id}/invoices")
    assert status == 200, body
    assert isinstance(body, list)
    return body


async def test_a_completed_order_is_invoiced_and_a_refund_credited(
    http: httpx.AsyncClient, system: System
) -> None:
    sku = await new_product(http, system, stock=5, price_minor=1190)
    body = order_body((sku, 2))
    body["shipping_address"]["country"] = "AT"  # 20% VAT
    order_id = await place(http, system, body)
    done = await until(http, system, order_id, lambda o: o["status"] == "COMPLETED")
    [invoice] = await _documents(http, system, order_id)
    assert invoice["kind"] == "invoice"
    assert invoice["number"].startswith("INV-")
    assert invoice["total_minor"] == done["total_minor"] == 2380
    assert [(line["sku"], line["quantity"]) for line in invoice["lines"]] == [(sku, 2)]
    assert invoice["taxes"] == [
        {"rate_percent": 20.0, "gross_minor": 2380, "net_minor": 1983, "tax_minor": 397}
    ]
    customer = body["customer_id"]
    status, listed = await get_json(http, system.url("payment") + f"/customers/{customer}/invoices")
    assert (status, [d["number"] for d in listed]) == (200, [invoice["number"]])
    pdf = await http.get(system.url("payment") + invoice["pdf"])
    assert pdf.headers["content-type"] == "application/pdf"
    page = pdfium.PdfDocument(pdf.content)[0]
    assert invoice["number"] in page.get_textpage().get_text_range()
    assert page.render(scale=1).to_pil().convert("L").getextrema()[0] < 100  # ink on it
    # Cancelled before dispatch: refunded, and the refund credited against the invoice.
    response = await http.post(system.url("orders") + f"/orders/{order_id}/cancel", json={})
    assert response.status_code == 202, response.text
    await until(http, system, order_id, lambda o: o["status"] == "CANCELLED")
    invoice_again, note = await _documents(http, system, order_id)
    assert invoice_again == invoice
    assert (note["kind"], note["corrects"], note["total_minor"]) == (
        "credit_note", invoice["number"], 2380
    )  # fmt: skip
    assert note["number"].startswith("CN-")
