"""End to end: a capture issues the order's invoice (its lines, tax and total as
charged, a PDF that opens), a refund a credit note against it."""

from __future__ import annotations

import asyncio
import io
import uuid
from typing import Any

import asyncpg
import httpx
import pypdfium2 as pdfium

from orderflow_cli import verify

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


async def test_200_concurrent_captures_are_numbered_without_gaps_and_their_pdfs_render(
    http: httpx.AsyncClient, system: System
) -> None:
    """200 orders at once through the whole saga: each capture's invoice gets its own
    number, the series has no gap and no duplicate, and an invoice renders to a PNG."""
    sku = await new_product(http, system, stock=250, price_minor=990)
    gate = asyncio.Semaphore(32)

    async def one() -> str:
        key = str(uuid.uuid4())
        body = order_body((sku, 1))
        async with gate:
            for _ in range(60):  # admission control may ask to come back: same key
                response = await http.post(system.url("checkout") + "/orders", json=body,
                                           headers={"Idempotency-Key": key})  # fmt: skip
                if response.status_code == 202:
                    return str(response.json()["order_id"])
                assert response.status_code == 503, response.text
                await asyncio.sleep(float(response.headers.get("Retry-After", "1")))
        raise AssertionError("never admitted")

    order_ids = await asyncio.gather(*(one() for _ in range(200)))
    for order_id in order_ids:
        assert (await until(http, system, order_id, timeout=180))["status"] == "COMPLETED"
    numbers = []
    for order_id in order_ids:
        [invoice] = await _documents(http, system, order_id)
        numbers.append(invoice["number"])
    assert len(set(numbers)) == 200
    conn = await asyncpg.connect(system.settings["DATABASE_URL"])
    try:
        # The whole series, these 200 among every other test's: 1..n, no gap or duplicate.
        assert await verify._documents(conn) == []
    finally:
        await conn.close()
    pdf = await http.get(system.url("payment") + f"/invoices/{numbers[0]}.pdf")
    png = io.BytesIO()
    pdfium.PdfDocument(pdf.content)[0].render(scale=1).to_pil().save(png, format="PNG")
    assert png.getvalue().startswith(b"\x89PNG\r\n\x1a\n")
    assert len(png.getvalue()) > 1000
