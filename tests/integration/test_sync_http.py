"""POST /sync/txns and the managers' /tablet/devices through the real app (session cookie + CSRF)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from backend.http.app import create_app
from tests.factories import item, receive, warehouse
from tests.sync_support import Handheld, csrf_client, device_of, sign_in

B1, B2 = "WH1-B1", "WH1-B2"


@pytest.fixture
async def client(ledger_db) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(ledger_db, run_jobs=False)
    names = {name for route in app.routes for h in getattr(route, "route_handlers", []) if (name := h.name)}
    assert {"sync_txns", "tablet_devices"} <= names, "add *sync_routes.ROUTES to backend/http/app.py"
    async with csrf_client(app) as c:
        yield c


async def stocked(qty: int) -> None:
    await warehouse()
    await item("MUG")
    if qty:
        await receive("MUG", qty, B1)


def batch(hh: Handheld, *envelopes: dict, pending: int = 0) -> dict:
    return {"device_id": hh.device_id, "pending": pending, "envelopes": list(envelopes)}


async def test_signed_out_the_outbox_gets_a_json_401_not_the_sign_in_page(client):
    r = await client.post("/sync/txns", json={"device_id": "hh-1", "envelopes": []})
    assert r.status_code == 401 and r.json()["error"]["code"] == "unauthorized"


async def test_a_batch_gets_a_final_result_per_envelope_and_a_retry_gets_duplicates(client):
    await stocked(5)
    picker, hh = await sign_in(client, "picker"), device_of(client)
    scans = [hh.scan(picker, "move", sku="MUG", qty=1, from_location=B1, to_location=B2) for _ in range(2)]
    bad = hh.scan(picker, "move", sku="MUG", qty=0, from_location=B1, to_location=B2)
    r = await client.post("/sync/txns", json=batch(hh, *scans, bad, pending=3))
    assert r.status_code == 200, r.text
    first = r.json()["results"]
    assert [(x["txn_id"], x["status"]) for x in first] == [(scans[0]["txn_id"], "applied"),
                                                           (scans[1]["txn_id"], "applied"),
                                                           (bad["txn_id"], "rejected")]
    assert "quantity" in first[2]["reason"] and all(isinstance(x["server_seq"], int) for x in first)
    again = (await client.post("/sync/txns", json=batch(hh, *scans, bad))).json()["results"]
    assert [(x["status"], x["server_seq"]) for x in again] == [("duplicate", x["server_seq"]) for x in first]


async def test_the_same_txn_id_with_a_changed_payload_is_a_422(client):
    await stocked(5)
    picker, hh = await sign_in(client, "picker"), device_of(client)
    scan = hh.scan(picker, "move", sku="MUG", qty=1, from_location=B1, to_location=B2)
    assert (await client.post("/sync/txns", json=batch(hh, scan))).status_code == 200
    changed = {**scan, "payload": {**scan["payload"], "qty": 2}}
    r = await client.post("/sync/txns", json=batch(hh, changed))
    assert r.status_code == 422 and r.json()["error"]["code"] == "txn_id_reused"


async def test_a_batch_over_the_limit_or_without_the_csrf_header_is_refused(client):
    picker, hh = await sign_in(client, "picker"), device_of(client)
    too_many = [hh.scan(picker, "move", sku="MUG", qty=1, from_location=B1, to_location=B2) for _ in range(201)]
    assert (await client.post("/sync/txns", json=batch(hh, *too_many))).status_code == 422
    r = await client.post("/sync/txns", json=batch(hh), headers={"x-csrftoken": "forged"})
    assert r.status_code == 403


async def test_a_manager_sees_devices_and_resolves_an_offline_conflict(client):
    await stocked(0)
    picker, hh = await sign_in(client, "picker"), device_of(client)
    scan = hh.scan(picker, "move", sku="MUG", qty=1, from_location=B1, to_location=B2)
    [result] = (await client.post("/sync/txns", json=batch(hh, scan))).json()["results"]
    assert result["status"] == "needs_review"
    assert (await client.get("/tablet/devices")).status_code == 403
    await sign_in(client, "lead")
    page = await client.get("/tablet/devices")
    assert page.status_code == 200 and hh.device_id in page.text and scan["txn_id"] in page.text
    assert (await client.post("/tablet/devices/exceptions/1/resolve", data={"key": "k1"})).status_code == 403
    await sign_in(client, "manager")
    r = await client.post("/tablet/devices/exceptions/1/resolve", data={"key": "k1", "note": "counted"})
    assert r.status_code == 200 and "resolved" in r.text and "No offline conflicts to check." in r.text
