"""`/api/v1/orders` and `/api/v1/channels` through the real app (SQLite and PostgreSQL)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from backend.domain.auth.tokens import create_token
from backend.http.app import create_app
from backend.settings import Settings
from tests.channel_support import make_channel
from tests.factories import item, receive, warehouse


@pytest.fixture
async def client(ledger_db: Settings) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(ledger_db, run_jobs=False)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="https://stockline.test") as c:
        bins = await warehouse()
        await item("MUG")
        await item("LAMP")
        await receive("MUG", 5, bins[0])
        yield c


@pytest.fixture
async def write(client) -> dict[str, str]:
    return {"Authorization": f"Bearer {await create_token('erp', 'write')}"}


@pytest.fixture
async def read(client) -> dict[str, str]:
    return {"Authorization": f"Bearer {await create_token('dashboard', 'read')}"}


def _order(ref: str, **lines: int) -> dict:
    return {"order_ref": ref, "lines": [{"sku": sku, "qty": qty} for sku, qty in lines.items()]}


async def _post(client, headers, body, key: str) -> httpx.Response:
    return await client.post("/api/v1/orders", json=body, headers={**headers, "Idempotency-Key": key})


async def test_placing_an_order_reserves_it_and_a_retry_with_the_same_key_answers_the_same_order(client, write):
    first = await _post(client, write, _order("ERP-1", MUG=2), "k-1")
    assert first.status_code == 201, first.text
    body = first.json()
    assert (body["order_ref"], body["status"], body["channel"]) == ("ERP-1", "released", "api")
    assert [(r["sku"], r["open_qty"]) for r in body["reservations"]] == [("MUG", 2)]
    assert [e["action"] for e in body["timeline"]] == ["order.create", "order.validate", "order.reserve",
                                                       "order.release"]
    assert body["allocations"][0]["reason"].startswith("ship complete from WH1")
    again = await _post(client, write, _order("ERP-1", MUG=2), "k-1")
    assert (again.status_code, again.headers.get("idempotent-replayed"), again.json()["id"]) == (201, "true",
                                                                                                body["id"])
    other = await _post(client, write, _order("ERP-2", MUG=1), "k-1")
    assert other.status_code == 422 and other.json()["error"]["code"] == "idempotency_key_reused"
    listed = (await client.get("/api/v1/orders", headers=write)).json()
    assert [o["order_ref"] for o in listed["items"]] == ["ERP-1"]


async def test_list_filters_and_cursor_paging(client, write, read):
    for n in range(1, 6):
        r = await _post(client, write, _order(f"ERP-{n}", MUG=1 if n < 5 else 3), f"k-{n}")
        assert r.status_code == 201, r.text
    page = (await client.get("/api/v1/orders", params={"limit": 2}, headers=read)).json()
    assert [o["order_ref"] for o in page["items"]] == ["ERP-5", "ERP-4"] and page["next_cursor"]
    rest = (await client.get("/api/v1/orders", params={"limit": 10, "cursor": page["next_cursor"]},
                             headers=read)).json()
    assert [o["order_ref"] for o in rest["items"]] == ["ERP-3", "ERP-2", "ERP-1"] and rest["next_cursor"] is None
    backordered = (await client.get("/api/v1/orders", params={"status": "backordered"}, headers=read)).json()
    assert [(o["order_ref"], o["backordered"]) for o in backordered["items"]] == [("ERP-5", 2)]
    await make_channel("shopify", "Shop")
    assert (await client.get("/api/v1/orders", params={"channel": "shop"}, headers=read)).json()["items"] == []
    held = (await client.get("/api/v1/orders", params={"hold": "true"}, headers=read)).json()
    assert held["items"] == []
    bad = await client.get("/api/v1/orders", params={"status": "lost"}, headers=read)
    assert bad.status_code == 422


async def test_hold_release_and_cancel(client, write):
    order_id = (await _post(client, write, _order("ERP-1", MUG=2), "k-1")).json()["id"]

    async def act(action: str, note: str, key: str) -> httpx.Response:
        return await client.post(f"/api/v1/orders/{order_id}/{action}", json={"note": note},
                                 headers={**write, "Idempotency-Key": key})

    held = await act("hold", "address check", "h-1")
    assert (held.status_code, held.json()["status"]) == (200, "on_hold")
    assert [h["reason"] for h in held.json()["holds"]] == ["manual"]
    held_list = (await client.get("/api/v1/orders", params={"hold": "true"}, headers=write)).json()
    assert [o["order_ref"] for o in held_list["items"]] == ["ERP-1"]
    assert (await act("release", "", "r-0")).status_code == 422  # a note is required
    released = await act("release", "address confirmed", "r-1")
    assert (released.status_code, released.json()["status"]) == (200, "released")
    cancelled = await act("cancel", "customer called", "c-1")
    assert (cancelled.status_code, cancelled.json()["status"]) == (200, "cancelled")
    assert {r["status"] for r in cancelled.json()["reservations"]} == {"released"}
    again = await act("cancel", "customer called", "c-1")
    assert (again.status_code, again.headers.get("idempotent-replayed")) == (200, "true")
    refused = await act("hold", "too late", "h-2")
    assert refused.status_code == 409
    assert refused.json()["error"] | {"message": ""} == {"code": "illegal_transition", "message": "",
                                                          "order_status": "cancelled", "event": "hold"}


async def test_unknown_orders_and_channels_are_404_and_read_tokens_cannot_write(client, write, read):
    assert (await client.get("/api/v1/orders/999", headers=read)).status_code == 404
    r = await client.post("/api/v1/orders/999/cancel", json={}, headers={**write, "Idempotency-Key": "x"})
    assert r.status_code == 404
    r = await client.put("/api/v1/channels/nope/mappings", json={"mappings": [{"channel_sku": "A", "sku": "MUG"}]},
                         headers=write)
    assert r.status_code == 404
    await make_channel("shopify", "Shop")
    r = await client.put("/api/v1/channels/shop/mappings", json={"mappings": [{"channel_sku": "A", "sku": "MUG"}]},
                         headers=read)
    assert r.status_code == 403
    r = await _post(client, read, _order("ERP-1", MUG=1), "k")
    assert r.status_code == 403


async def test_mappings_name_an_existing_item_and_one_channel_reference(client, write):
    await make_channel("shopify", "Shop")
    unknown = await client.put("/api/v1/channels/shop/mappings", headers=write,
                               json={"mappings": [{"channel_sku": "X", "sku": "NOPE"}]})
    both = await client.put("/api/v1/channels/shop/mappings", headers=write,
                            json={"mappings": [{"channel_sku": "X", "variant_id": "7", "sku": "MUG"}]})
    assert (unknown.status_code, both.status_code) == (422, 422)
    ok = await client.put("/api/v1/channels/shop/mappings", headers=write,
                          json={"mappings": [{"variant_id": "7001", "sku": "MUG"},
                                             {"channel_sku": "L", "sku": "LAMP"}]})
    assert ok.json() == {"channel": "shop", "set": 2}
    channels = (await client.get("/api/v1/channels", headers=write)).json()["items"]
    assert [c["slug"] for c in channels] == ["shop"] and "secret" not in channels[0]
