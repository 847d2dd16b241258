"""The JSON API through the real app (Litestar test client), on SQLite and Postgres."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator

import asyncpg
import httpx
import pytest

from backend.domain.auth.tokens import create_token
from backend.http.app import create_app
from backend.settings import Settings
from tests.conftest import PG_TEST_URL
from tests.factories import item, receive, warehouse


@pytest.fixture
async def client(ledger_db: Settings) -> AsyncIterator[httpx.AsyncClient]:
    """The real app in this event loop; the ledger_db fixture already holds the connection pool."""
    app = create_app(ledger_db, run_jobs=False)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="https://stockline.test") as c:
        c.app = app  # type: ignore[attr-defined]
        yield c


@pytest.fixture
async def write_headers(client) -> dict[str, str]:
    return {"Authorization": f"Bearer {await create_token('tests', 'write')}"}


@pytest.fixture
async def read_headers(client) -> dict[str, str]:
    return {"Authorization": f"Bearer {await create_token('reader', 'read')}"}


@pytest.fixture
async def stocked(client) -> list[str]:
    bins = await warehouse()
    await item("MUG", gtin="4006381333931", case_gtin="14006381333938")
    await receive("MUG", 10, bins[0])
    return bins


def move_body(bins: list[str], qty: object = 1, sku: str = "MUG") -> dict:
    return {"sku": sku, "qty": qty, "from_location": bins[0], "to_location": bins[1]}


async def post_move(client, headers, body, key="k-1"):
    return await client.post("/api/v1/movements/move", json=body, headers={**headers, "Idempotency-Key": key})


async def test_move_then_balances_by_item_and_location(client, write_headers, stocked):
    r = await post_move(client, write_headers, move_body(stocked, 4))
    assert r.status_code == 201, r.text
    assert r.json()["movement_ids"] and r.json()["replayed"] is False
    by_item = (await client.get("/api/v1/stock", params={"sku": "mug"}, headers=write_headers)).json()
    assert {(b["location"], b["available"]) for b in by_item["items"]} == {(stocked[0], 6), (stocked[1], 4)}
    by_loc = (await client.get("/api/v1/stock", params={"location": stocked[1]}, headers=write_headers)).json()
    assert [b["sku"] for b in by_loc["items"]] == ["MUG"]


async def test_same_idempotency_key_posts_once_and_changed_payload_is_422(client, write_headers, stocked):
    first = await post_move(client, write_headers, move_body(stocked, 2))
    again = await post_move(client, write_headers, move_body(stocked, 2))
    assert again.status_code == 201 and again.headers["Idempotent-Replayed"] == "true"
    assert again.json()["movement_ids"] == first.json()["movement_ids"]
    changed = await post_move(client, write_headers, move_body(stocked, 3))
    assert changed.status_code == 422 and changed.json()["error"]["code"] == "idempotency_key_reused"
    moves = (await client.get("/api/v1/movements", params={"reason": "move"}, headers=write_headers)).json()
    assert len(moves["items"]) == 1


async def test_two_integrations_that_send_the_same_key_each_get_their_own_move(client, write_headers, stocked):
    other = {"Authorization": f"Bearer {await create_token('other', 'write')}"}
    first = await post_move(client, write_headers, move_body(stocked, 1), key="order-1")
    second = await post_move(client, other, move_body(stocked, 1), key="order-1")
    assert (first.status_code, second.status_code) == (201, 201), second.text
    assert second.json()["replayed"] is False and second.json()["idempotency_key"] == "order-1"
    assert first.json()["movement_ids"] != second.json()["movement_ids"]


async def _reverse_twice_at_once(client, headers, movement_id: int, backend: str) -> list[httpx.Response]:
    """Both reversals check "not reversed yet" before either inserts. On Postgres another transaction
    holds the stock rows meanwhile, so both pass that check and queue at the balance update; SQLite
    runs write transactions one after the other."""
    body = {"movement_id": movement_id, "reason": "scanned twice"}
    both = asyncio.gather(*(
        client.post("/api/v1/movements/reverse", json=body, headers={**headers, "Idempotency-Key": f"rev-{n}"})
        for n in range(2)
    ))
    if backend != "postgres":
        return await both
    holder = await asyncpg.connect(PG_TEST_URL)
    try:
        async with holder.transaction():
            await holder.execute("SELECT id FROM balances FOR UPDATE")
            answers = asyncio.ensure_future(both)
            await asyncio.sleep(1.0)  # both requests are now waiting for the rows
        return await answers
    finally:
        await holder.close()


async def test_two_reversals_of_one_movement_at_once_give_one_reversal_and_a_409(client, write_headers, stocked,
                                                                                  backend):
    await receive("MUG", 5, stocked[1])  # enough in the destination for both reversals to pass the stock guard
    [moved] = (await post_move(client, write_headers, move_body(stocked, 1), key="mv")).json()["movement_ids"]
    answers = await _reverse_twice_at_once(client, write_headers, moved, backend)
    assert sorted(a.status_code for a in answers) == [201, 409], [a.text for a in answers]
    [refused] = [a for a in answers if a.status_code == 409]
    assert refused.json()["error"]["code"] in ("conflict", "already_reversed")


@pytest.mark.parametrize(
    ("qty", "status", "code"),
    [(0, 422, "invalid_quantity"), (-1, 422, "invalid_quantity"), (1.5, 422, "validation_error"),
     (10**30, 422, "invalid_quantity"), ("two", 422, "validation_error"), (True, 422, "validation_error"),
     (11, 409, "insufficient_stock")],
)
async def test_bad_quantities(client, write_headers, stocked, qty, status, code):
    r = await post_move(client, write_headers, move_body(stocked, qty))
    assert (r.status_code, r.json()["error"]["code"]) == (status, code), r.text


async def test_insufficient_stock_names_what_is_available(client, write_headers, stocked):
    r = await post_move(client, write_headers, move_body(stocked, 11))
    error = r.json()["error"]
    assert (error["requested"], error["available"], error["location"]) == (11, 10, stocked[0])


async def test_unknown_sku_is_422_with_message(client, write_headers, stocked):
    r = await post_move(client, write_headers, move_body(stocked, 1, sku="NOPE"))
    assert r.status_code == 422
    assert r.json()["error"]["code"] == "unknown_item" and "NOPE" in r.json()["error"]["message"]


async def test_malformed_json_is_400(client, write_headers, stocked):
    r = await client.post("/api/v1/movements/move", content=b"{not json",
                          headers={**write_headers, "Idempotency-Key": "x", "Content-Type": "application/json"})
    assert (r.status_code, r.json()["error"]["code"]) == (400, "malformed_json")


async def test_unknown_field_is_422(client, write_headers, stocked):
    r = await post_move(client, write_headers, {**move_body(stocked), "colour": "red"})
    assert r.status_code == 422


async def test_missing_idempotency_key_is_400(client, write_headers, stocked):
    r = await client.post("/api/v1/movements/move", json=move_body(stocked), headers=write_headers)
    assert r.status_code == 400 and "Idempotency-Key" in r.json()["error"]["message"]


async def test_missing_or_bad_token_is_401_and_read_token_cannot_write(client, read_headers, stocked):
    assert (await post_move(client, {}, move_body(stocked))).status_code == 401
    bad = {"Authorization": "Bearer stl_not-a-real-token"}
    assert (await post_move(client, bad, move_body(stocked))).status_code == 401
    r = await post_move(client, read_headers, move_body(stocked))
    assert (r.status_code, r.json()["error"]["code"]) == (403, "forbidden")
    assert (await client.get("/api/v1/items", headers=read_headers)).status_code == 200
    assert (await client.get("/api/v1/items")).status_code == 401


async def test_every_api_route_refuses_anonymous_requests(client):
    app = client.app
    for route in app.routes:
        if not route.path.startswith("/api/v1") or route.path.startswith("/api/v1/schema"):
            continue
        path = route.path.replace("{sku:str}", "MUG").replace("{code:str}", "X").replace("{slug:str}", "X")
        path = re.sub(r"\{\w+:int\}", "1", path)
        for method in route.methods - {"OPTIONS", "HEAD"}:
            r = await client.request(method, path, json={})
            assert r.status_code == 401, (method, path, r.status_code)


async def test_resolve_scans(client, read_headers, stocked):
    r = await client.get("/api/v1/barcodes/resolve", params={"code": "14006381333938"}, headers=read_headers)
    assert r.json()["kind"] == "item" and r.json()["qty"] == 24 and r.json()["unit"] == "case"
    r = await client.get("/api/v1/barcodes/resolve", params={"code": stocked[0]}, headers=read_headers)
    assert r.json()["kind"] == "location" and r.json()["location"]["code"] == stocked[0]
    r = await client.get("/api/v1/barcodes/resolve", params={"code": "nothing"}, headers=read_headers)
    assert r.status_code == 404
    r = await client.get("/api/v1/barcodes/resolve", params={"code": "4006381333932"}, headers=read_headers)
    assert (r.status_code, r.json()["error"]["code"]) == (422, "invalid_barcode")


async def test_items_create_get_and_cursor_pagination(client, write_headers):
    for n in range(5):
        r = await client.post("/api/v1/items", json={"sku": f"SKU-{n}", "name": f"Thing {n}",
                                                     "units": [{"unit": "case", "factor": 24}]},
                              headers=write_headers)
        assert r.status_code == 201, r.text
    seen, cursor = [], ""
    while True:
        page = (await client.get("/api/v1/items", params={"limit": 2, "cursor": cursor},
                                 headers=write_headers)).json()
        seen += [i["sku"] for i in page["items"]]
        if not page["next_cursor"]:
            break
        cursor = page["next_cursor"]
    assert seen == [f"SKU-{n}" for n in range(5)]
    detail = (await client.get("/api/v1/items/sku-3", headers=write_headers)).json()
    assert detail["units"] == {"case": 24} and detail["available"] == 0
    assert (await client.get("/api/v1/items/NOPE", headers=write_headers)).status_code == 404
    dup = await client.post("/api/v1/items", json={"sku": "sku-1", "name": "Dup"}, headers=write_headers)
    assert dup.status_code == 409


async def test_reservation_pick_and_list(client, write_headers, stocked):
    r = await client.post("/api/v1/reservations", headers={**write_headers, "Idempotency-Key": "r1"},
                          json={"lines": [{"sku": "MUG", "qty": 3, "location": stocked[0]}], "order_ref": "SO-9"})
    assert r.status_code == 201, r.text
    [rid] = r.json()["reservation_ids"]
    r = await client.post("/api/v1/reservations/pick", headers={**write_headers, "Idempotency-Key": "p1"},
                          json={"reservation_id": rid, "qty": 3})
    assert r.status_code == 201, r.text
    listed = (await client.get("/api/v1/reservations", params={"order_ref": "SO-9"}, headers=write_headers)).json()
    assert listed["items"][0]["status"] == "consumed"


async def test_movements_cursor_pagination(client, write_headers, stocked):
    for n in range(3):
        await post_move(client, write_headers, move_body(stocked, 1), key=f"m-{n}")
    page1 = (await client.get("/api/v1/movements", params={"limit": 2}, headers=write_headers)).json()
    page2 = (await client.get("/api/v1/movements", params={"limit": 2, "cursor": page1["next_cursor"]},
                              headers=write_headers)).json()
    ids = [m["id"] for m in page1["items"] + page2["items"]]
    assert ids == sorted(ids) and len(ids) == 4 and page2["next_cursor"] is None


async def test_openapi_schema_is_served(client):
    r = await client.get("/api/v1/schema/openapi.json")
    assert r.status_code == 200 and "/api/v1/movements/move" in r.json()["paths"]




async def test_writes_leave_an_audit_row_naming_the_integration(client, write_headers, stocked):
    from backend.domain.auth.audit import recent

    await post_move(client, write_headers, move_body(stocked, 1), key="audited")
    await post_move(client, write_headers, move_body(stocked, 1), key="audited")  # a replay adds nothing
    # The ledger keeps the key in the token's namespace: api:{token_id}:{key}.
    rows = [r for r in await recent(entity="command") if r["entity_id"].endswith(":audited")]
    assert all(r["entity_id"].startswith("api:") for r in rows)
    assert [(r["action"], r["actor"], r["device"]) for r in rows] == [("ledger.move", "token:tests", "api")]
    assert '"movement_ids"' in rows[0]["after"]
