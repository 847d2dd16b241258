"""`/api/v1/suppliers` and `/api/v1/purchase-orders` through the real app (SQLite and PostgreSQL)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from backend.domain.auth.tokens import create_token
from backend.http.app import create_app
from backend.settings import Settings
from tests.factories import item, warehouse
from tests.purchasing_support import receive_against


@pytest.fixture
async def client(ledger_db: Settings) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(ledger_db, run_jobs=False)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app),  # type: ignore[arg-type]  # Litestar types its ASGI scope more narrowly
                                 base_url="https://stockline.test") as c:
        await warehouse()
        await item("MUG")
        await item("CUP")
        c.headers["Authorization"] = f"Bearer {await create_token('erp', 'write')}"
        yield c


async def _post(client: httpx.AsyncClient, path: str, body: dict[str, Any], key: str) -> httpx.Response:
    return await client.post(f"/api/v1{path}", json=body, headers={"Idempotency-Key": key})


async def test_an_integrator_drafts_sends_and_reads_a_purchase_order(client: httpx.AsyncClient) -> None:
    r = await _post(client, "/suppliers", {"code": "ACME", "name": "Acme", "currency": "EUR", "lead_time_days": 4},
                    "s-1")
    assert r.status_code == 201, r.text
    assert (await _post(client, "/suppliers", {"code": "ACME", "name": "Acme", "currency": "EUR",
                                               "lead_time_days": 4}, "s-1")).headers["idempotent-replayed"] == "true"
    body = {"supplier": "ACME", "warehouse": "WH1", "lines": [{"sku": "MUG", "qty": 10, "unit_cost_minor": 120},
                                                              {"sku": "CUP", "qty": 5}]}
    first = await _post(client, "/purchase-orders", body, "po-1")
    assert first.status_code == 201, first.text
    po = first.json()
    assert (po["status"], po["qty_ordered"], po["total_minor"]) == ("draft", 15, 1200)
    again = await _post(client, "/purchase-orders", body, "po-1")
    assert (again.status_code, again.headers["idempotent-replayed"], again.json()["id"]) == (201, "true", po["id"])
    sent = await _post(client, f"/purchase-orders/{po['id']}/send", {"expected_on": "2030-02-01"}, "send-1")
    assert sent.status_code == 200 and sent.json()["expected_at"].startswith("2030-02-01")
    await receive_against(po["number"], "MUG", 10, "WH1-B1")
    one = (await client.get(f"/api/v1/purchase-orders/{po['id']}")).json()
    assert one["status"] == "partially_received"
    assert [(line["sku"], line["qty_received"], line["qty_open"]) for line in one["lines"]] == [("MUG", 10, 0),
                                                                                                  ("CUP", 0, 5)]
    listed = (await client.get("/api/v1/purchase-orders", params={"status": "partially_received"})).json()
    assert [o["number"] for o in listed["items"]] == [po["number"]] and listed["next_cursor"] is None


async def test_refusals_say_why(client: httpx.AsyncClient) -> None:
    await _post(client, "/suppliers", {"code": "ACME", "name": "Acme", "currency": "EUR"}, "s-2")
    r = await _post(client, "/purchase-orders", {"supplier": "NOPE", "warehouse": "WH1",
                                                 "lines": [{"sku": "MUG", "qty": 1}]}, "po-2")
    assert r.status_code == 422 and "No supplier NOPE" in r.json()["error"]["message"]
    assert (await client.get("/api/v1/purchase-orders/999")).status_code == 404
    po = (await _post(client, "/purchase-orders", {"supplier": "ACME", "warehouse": "WH1",
                                                   "lines": [{"sku": "MUG", "qty": 1}]}, "po-3")).json()
    r = await _post(client, f"/purchase-orders/{po['id']}/close", {}, "close-1")
    assert r.status_code == 409 and r.json()["error"]["code"] == "illegal_transition"
    r = await _post(client, f"/purchase-orders/{po['id']}/cancel", {"reason": "dup"}, "cancel-1")
    assert r.status_code == 200 and r.json()["status"] == "cancelled"
