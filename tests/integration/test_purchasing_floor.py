"""Receiving against a purchase order on the handheld (real app, SQLite and PostgreSQL): the scanned PO
number selects the order, an item not on it is refused at its scan, and the receipt — posted by the
envelope the outbox sends to /sync/txns, the same path a replay from an offline handheld takes —
moves the order's status from the ledger."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from backend.domain import purchasing as p
from backend.http.app import create_app
from backend.settings import Settings
from tests.factories import item, key, warehouse
from tests.integration.test_floor_http import envelope_of, send
from tests.purchasing_support import MANAGER, sent, supplier
from tests.sync_support import csrf_client, device_of, on_hand, sign_in, table_count


@pytest.fixture
async def client(ledger_db: Settings) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(ledger_db, run_jobs=False)
    async with csrf_client(app) as c:
        c.headers["hx-request"] = "true"
        yield c


async def _order() -> tuple[p.PurchaseOrderView, list[str]]:
    bins = await warehouse()
    await item("MUG")
    await item("CUP")
    await item("TEA")
    return await sent(await supplier(), "WH1", {"MUG": 10, "CUP": 2}), bins


async def test_scanning_a_po_number_shows_its_supplier_and_the_lines_still_expected(client: httpx.AsyncClient) -> None:
    po, _ = await _order()
    await sign_in(client, "receiver")
    r = await client.post("/floor/receive", data={"key": key(), "code": po.number.lower()})
    assert r.status_code == 200, r.text
    assert f"{po.number} from ACME Ltd: 12 unit(s) expected." in r.text
    assert 'id="po-panel"' in r.text and 'data-sku="MUG"' in r.text and 'data-sku="CUP"' in r.text
    assert f'name="doc_ref" value="{po.number}"' in r.text


async def test_an_item_not_on_the_po_is_refused_at_its_scan(client: httpx.AsyncClient) -> None:
    po, _ = await _order()
    await sign_in(client, "receiver")
    r = await client.post("/floor/receive", data={"key": key(), "doc_ref": po.number, "code": "TEA"})
    assert r.status_code == 409
    assert f"TEA is not on {po.number}" in r.text


async def test_a_po_that_cannot_be_received_is_refused_when_scanned(client: httpx.AsyncClient) -> None:
    po, _ = await _order()
    await p.cancel_order(po.id, actor=MANAGER, key=key())
    await sign_in(client, "receiver")
    r = await client.post("/floor/receive", data={"key": key(), "code": po.number})
    assert r.status_code == 409 and f"{po.number} is cancelled" in r.text
    r = await client.post("/floor/receive", data={"key": key(), "code": "PO-424242"})
    assert r.status_code == 409 and "No purchase order PO-424242" in r.text


async def test_the_receipt_envelope_carries_the_po_number_and_moves_the_order(client: httpx.AsyncClient) -> None:
    po, bins = await _order()
    who, hh = await sign_in(client, "receiver"), device_of(client)
    r = await client.post("/floor/receive", data={"key": key(), "doc_ref": po.number, "sku": "MUG", "qty": "4",
                                                  "code": bins[0]})
    assert r.status_code == 200, r.text
    kind, payload, _ = envelope_of(r.text)
    assert (kind, payload["doc_ref"]) == ("receive", po.number)
    assert await table_count("movements") == 0  # the step posted nothing; its envelope does
    assert (await send(client, who, hh, r.text))["status"] == "applied"
    got = await p.get_order(po.id)
    assert got.status == "partially_received"
    assert [(line.sku, line.qty_received) for line in got.lines] == [("MUG", 4), ("CUP", 0)]
    assert await on_hand("MUG", bins[0]) == 4
    # The screen keeps the order selected and now expects 6 MUG.
    assert f'name="doc_ref" value="{po.number}"' in r.text


async def test_an_offline_receipt_the_po_does_not_expect_is_kept_for_a_manager(client: httpx.AsyncClient) -> None:
    po, bins = await _order()
    who, hh = await sign_in(client, "receiver"), device_of(client)
    scans = [hh.scan(who, "receive", sku="TEA", qty=3, to_location=bins[0], doc_ref=po.number),
             hh.scan(who, "receive", sku="CUP", qty=2, to_location=bins[0], doc_ref=po.number),
             hh.scan(who, "receive", sku="MUG", qty=10, to_location=bins[1], doc_ref=po.number.lower())]
    r = await client.post("/sync/txns", json={"device_id": hh.device_id, "envelopes": scans, "pending": 3})
    assert r.status_code == 200, r.text
    statuses = [res["status"] for res in r.json()["results"]]
    assert statuses == ["needs_review", "applied", "applied"]
    assert await on_hand("TEA", bins[0]) == 0
    assert (await p.get_order(po.id)).status == "received"


async def test_more_than_the_po_still_expects_is_received_with_a_warning(client: httpx.AsyncClient) -> None:
    po, _ = await _order()
    await sign_in(client, "receiver")
    r = await client.post("/floor/receive", data={"key": key(), "doc_ref": po.number, "sku": "CUP", "qty": "2",
                                                  "code": "CUP"})
    assert r.status_code == 200, r.text
    assert 'data-feedback="warn"' in r.text
    assert f"CUP × 3: only 2 still expected on {po.number}" in r.text
