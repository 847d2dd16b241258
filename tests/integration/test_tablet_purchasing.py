"""Purchasing on the manager's tablet (real app, SQLite and PostgreSQL): suppliers and their items,
purchase orders by status, one order's lines, send, cancel only after a confirmation, close; a lead
may not use any of it."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from backend import db
from backend.domain import purchasing as p
from backend.http.app import create_app
from backend.settings import Settings
from tests.factories import item, warehouse
from tests.purchasing_support import receive_against
from tests.sync_support import csrf_client, sign_in


@pytest.fixture
async def manager(ledger_db: Settings) -> AsyncIterator[httpx.AsyncClient]:
    async with csrf_client(create_app(ledger_db, run_jobs=False)) as c:
        await sign_in(c, "manager")
        yield c


async def _supplier(client: httpx.AsyncClient) -> int:
    r = await client.post("/tablet/suppliers", data={"key": "s-1", "code": "acme", "name": "Acme Ltd",
                                                     "currency": "eur", "lead_time_days": "5", "moq": "12",
                                                     "case_pack": "6"})
    assert r.status_code == 303, r.text
    made = await p.find_supplier("ACME")
    assert made is not None
    return made.id


async def _draft(client: httpx.AsyncClient, key: str, lines: str) -> p.PurchaseOrderView:
    """A warehouse, the items named in `lines`, the supplier, and its draft of `lines` made on the tablet."""
    await warehouse()
    for row in lines.splitlines():
        await item(row.split()[0])
    await _supplier(client)
    r = await client.post("/tablet/purchase-orders", data={"key": key, "supplier": "ACME", "warehouse": "WH1",
                                                           "lines": lines})
    assert r.status_code == 303, r.text
    [po] = await p.list_orders()
    return po


async def test_a_manager_creates_a_supplier_edits_it_and_lists_its_items(manager: httpx.AsyncClient) -> None:
    await item("MUG")
    sup = await _supplier(manager)
    r = await manager.get(f"/tablet/suppliers/{sup}?ok=Supplier+ACME+saved.")
    assert r.status_code == 200 and "Supplier ACME saved." in r.text and "Acme Ltd" in r.text
    r = await manager.post(f"/tablet/suppliers/{sup}/items", data={"key": "i-1", "sku": "MUG", "supplier_sku": "AC-77",
                                                                   "unit_cost": "2.50", "case_pack": "24",
                                                                   "preferred": "yes"})
    assert r.status_code == 303, r.text
    page = (await manager.get(f"/tablet/suppliers/{sup}")).text
    assert 'data-sku="MUG"' in page and "AC-77" in page and "2.50 EUR" in page
    [link] = await p.supplier_items(supplier_id=sup)
    assert (link.unit_cost_minor, link.moq, link.case_pack, link.preferred) == (250, 12, 24, True)
    r = await manager.post(f"/tablet/suppliers/{sup}", data={"key": "u-1", "name": "Acme GmbH", "currency": "EUR",
                                                             "lead_time_days": "9", "moq": "1", "case_pack": "1"})
    assert r.status_code == 303
    changed = await p.get_supplier(sup)
    assert (changed.name, changed.lead_time_days, changed.active) == ("Acme GmbH", 9, False)  # box not ticked
    listing = (await manager.get("/tablet/suppliers")).text
    assert 'data-supplier="ACME"' in listing


async def test_a_bad_supplier_form_is_refused_with_words_a_manager_reads(manager: httpx.AsyncClient) -> None:
    r = await manager.post("/tablet/suppliers", data={"key": "s-2", "code": "X", "name": "X", "currency": "EURO"},
                           headers={"HX-Request": "true"})
    assert r.status_code == 422 and "currency" in r.text
    assert (await db.fetch("SELECT COUNT(*) AS n FROM suppliers"))[0]["n"] == 0


async def test_a_purchase_order_from_draft_to_closed_on_the_tablet(manager: httpx.AsyncClient) -> None:
    bins = await warehouse()
    await item("MUG")
    await item("CUP")
    await _supplier(manager)
    r = await manager.post("/tablet/purchase-orders", data={"key": "d-1", "supplier": "ACME", "warehouse": "WH1",
                                                            "lines": "MUG 10\nCUP 4\n"})
    assert r.status_code == 303, r.text
    [po] = await p.list_orders()
    assert r.headers["location"].startswith(f"/tablet/purchase-orders/{po.id}")
    page = (await manager.get(f"/tablet/purchase-orders/{po.id}")).text
    assert 'data-po-status="draft"' in page and "Send to ACME" in page
    r = await manager.post(f"/tablet/purchase-orders/{po.id}/send", data={"key": "x-1", "expected_on": "2030-01-15"})
    assert r.status_code == 303 and "expected+2030-01-15" in r.headers["location"]
    await receive_against(po.number, "MUG", 4, bins[0])
    page = (await manager.get(f"/tablet/purchase-orders/{po.id}")).text
    assert 'data-po-status="partially_received"' in page
    assert "Cancel order" not in page  # something arrived: close it, do not cancel it
    listing = (await manager.get("/tablet/purchase-orders?status=partially_received")).text
    assert f'data-po="{po.number}"' in listing
    assert f'data-po="{po.number}"' not in (await manager.get("/tablet/purchase-orders?status=sent")).text
    r = await manager.post(f"/tablet/purchase-orders/{po.id}/close", data={"key": "c-1"})
    assert r.status_code == 303
    assert (await p.get_order(po.id)).status == "closed"


async def test_cancelling_asks_first_and_only_the_confirmation_cancels(manager: httpx.AsyncClient) -> None:
    po = await _draft(manager, "d-2", "MUG 3")
    r = await manager.post(f"/tablet/purchase-orders/{po.id}/cancel", data={"key": "k-1"})
    assert r.status_code == 200 and f"Yes, cancel {po.number}" in r.text
    assert (await p.get_order(po.id)).status == "draft"
    r = await manager.post(f"/tablet/purchase-orders/{po.id}/cancel", data={"key": "k-2", "confirmed": "yes",
                                                                           "reason": "ordered twice"})
    assert r.status_code == 303
    cancelled = await p.get_order(po.id)
    assert cancelled.status == "cancelled" and "ordered twice" in cancelled.note
    r = await manager.post(f"/tablet/purchase-orders/{po.id}/send", data={"key": "x-2"}, headers={"HX-Request": "true"})
    assert r.status_code == 409 and "is cancelled: it cannot be sent" in r.text


async def test_a_drafts_lines_change_on_the_tablet_and_removing_asks_first(manager: httpx.AsyncClient) -> None:
    po = await _draft(manager, "d-3", "MUG 10\nCUP 4")
    await item("TEA")
    page = (await manager.get(f"/tablet/purchase-orders/{po.id}")).text
    assert 'id="add-line"' in page and 'name="qty" value="10"' in page

    def line(sku: str, qty: str, k: str, **more: str) -> dict[str, str]:
        return {"key": k, "sku": sku, "qty": qty, **more}

    url = f"/tablet/purchase-orders/{po.id}/lines"
    assert (await manager.post(url, data=line("mug", "12", "l-1"))).status_code == 303
    assert (await manager.post(url, data=line("TEA", "6", "l-2"))).status_code == 303
    assert (await manager.post(url, data=line("TEA", "6", "l-2"))).status_code == 303  # sent again: nothing new
    asked = await manager.post(url, data=line("CUP", "0", "l-3"))
    assert asked.status_code == 200 and "Yes, remove CUP" in asked.text
    assert {li.sku: li.qty_ordered for li in (await p.get_order(po.id)).lines} == {"MUG": 12, "CUP": 4, "TEA": 6}
    assert (await manager.post(url, data=line("CUP", "0", "l-4", confirmed="yes"))).status_code == 303
    assert {li.sku: li.qty_ordered for li in (await p.get_order(po.id)).lines} == {"MUG": 12, "TEA": 6}
    bad = await manager.post(url, data=line("MUG", "x", "l-5"), headers={"HX-Request": "true"})
    assert bad.status_code in (400, 422) and "whole number" in bad.text
    audits = await db.fetch("SELECT action FROM audit_log WHERE action = 'purchase_order.line'")
    assert len(audits) == 3  # MUG changed, TEA added once, CUP removed
    await manager.post(f"/tablet/purchase-orders/{po.id}/send", data={"key": "x-3"})
    sent = await manager.post(url, data=line("MUG", "20", "l-6"), headers={"HX-Request": "true"})
    assert sent.status_code == 409 and "is sent: only a draft" in sent.text
    assert 'id="add-line"' not in (await manager.get(f"/tablet/purchase-orders/{po.id}")).text


async def test_the_last_line_of_a_draft_is_not_removed(manager: httpx.AsyncClient) -> None:
    po = await _draft(manager, "d-4", "MUG 3")
    r = await manager.post(f"/tablet/purchase-orders/{po.id}/lines",
                           data={"key": "l-7", "sku": "MUG", "qty": "0", "confirmed": "yes"},
                           headers={"HX-Request": "true"})
    assert r.status_code == 409 and "cancel the order instead" in r.text
    assert [li.qty_ordered for li in (await p.get_order(po.id)).lines] == [3]


async def test_a_lead_may_not_use_purchasing(ledger_db: Settings) -> None:
    async with csrf_client(create_app(ledger_db, run_jobs=False)) as lead:
        await sign_in(lead, "lead")
        assert (await lead.get("/tablet/purchase-orders")).status_code == 403
        r = await lead.post("/tablet/suppliers", data={"key": "s-3", "code": "B", "name": "B", "currency": "EUR"})
        assert r.status_code == 403
