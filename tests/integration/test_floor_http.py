"""Floor screens through the real app (session cookie + CSRF header, as htmx sends them), on
SQLite and Postgres: what a posted form does, and what it must not do without being asked."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from backend import db
from backend.domain.auth.audit import Actor
from backend.domain.fulfillment import service as f
from backend.http.app import create_app
from tests.factories import item, key, receive, warehouse
from tests.sync_support import csrf_client, on_hand, sign_in, table_count

B1, B2, B3 = "WH1-B1", "WH1-B2", "WH1-B3"
TEA_GTIN = "4006381333931"
LEAD = Actor("lead-1", "tablet-1", role="lead")


@pytest.fixture
async def client(ledger_db) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(ledger_db, run_jobs=False)
    async with csrf_client(app) as c:
        c.headers["hx-request"] = "true"
        yield c


def tea_scan(lot: str) -> str:
    """A GS1 label: GTIN of TEA, then its lot."""
    return f"]C1010{TEA_GTIN}10{lot}"


# --- a receipt is one action under one key ----------------------------------------------------------

async def test_a_replayed_receipt_posts_once_and_another_receipt_under_its_key_is_refused(client):
    await warehouse()
    await item("MUG")
    await sign_in(client, "receiver")
    receipt = {"key": "rcpt-1", "sku": "MUG", "qty": "5", "damaged": "0", "code": B1}
    assert (await client.post("/floor/receive", data=receipt)).status_code == 200
    assert (await client.post("/floor/receive", data=receipt)).status_code == 200  # the answer was lost
    assert await on_hand("MUG", B1) == 5
    r = await client.post("/floor/receive", data={**receipt, "qty": "7", "damaged": "2"})
    assert r.status_code == 422 and "already used" in r.text
    assert (await on_hand("MUG", B1), await on_hand("MUG", B1, "damaged")) == (5, 0)


async def test_two_workers_who_send_the_same_key_each_post_their_own_receipt(client):
    await warehouse()
    await item("MUG")
    receipt = {"key": "same-key", "sku": "MUG", "qty": "5", "code": B1}
    for _ in range(2):
        await sign_in(client, "receiver")
        assert (await client.post("/floor/receive", data=receipt)).status_code == 200
    assert await on_hand("MUG", B1) == 10


# --- only an explicit button acts beyond the scan ---------------------------------------------------

async def _pick_list_for(qty: int) -> f.PickListView:
    await warehouse()
    await item("MUG")
    await receive("MUG", qty, B1)
    spec = f.NewManualOrder(order_ref="SO-1", lines=[f.OrderLineSpec("MUG", qty)])
    await f.create_manual_order(spec, key=key("order"), actor=LEAD)
    return await f.create_pick_list("SO-1", key=key("pl"), actor=LEAD)


async def test_a_short_reason_left_checked_does_not_short_the_line_a_scan_picks(client):
    pick_list = await _pick_list_for(3)
    [line] = pick_list.lines
    await sign_in(client, "picker")
    form = {"key": key(), "line_id": str(line.id), "bin_ok": "true", "short_reason": "empty_bin"}
    r = await client.post(f"/floor/pick/{pick_list.id}", data={**form, "code": "MUG"})
    assert r.status_code == 200 and "Picked 1 of 3 MUG" in r.text
    assert await table_count("pick_list_lines", "short_qty > 0") == 0
    r = await client.post(f"/floor/pick/{pick_list.id}", data={**form, "key": key(), "action": "short"})
    assert r.status_code == 200 and "Short pick of MUG recorded" in r.text
    assert await table_count("pick_list_lines", "short_qty > 0") == 1


async def test_a_putaway_override_reason_posts_only_when_its_button_is_pressed(client):
    await warehouse()
    await item("MUG")
    await receive("MUG", 2, B1)
    await sign_in(client, "receiver")
    form = {"key": key(), "from_bin": B1, "sku": "MUG", "qty": "2", "suggested": B2, "override_bin": B3,
            "reason": "consolidating"}
    assert (await client.post("/floor/putaway", data=form)).status_code == 200
    assert await on_hand("MUG", B3) == 0
    r = await client.post("/floor/putaway", data={**form, "action": "override"})
    assert r.status_code == 200 and f"Put away 2 MUG in {B3}" in r.text
    assert await on_hand("MUG", B3) == 2


async def test_an_adjustment_posts_only_when_its_button_is_pressed(client):
    await warehouse()
    await item("MUG")
    await sign_in(client, "lead")
    form = {"key": key(), "bin": B1, "sku": "MUG", "delta": "3", "reason": "found"}
    assert (await client.post("/floor/adjust", data=form)).status_code == 200  # an Enter on the empty scan field
    assert await on_hand("MUG", B1) == 0
    r = await client.post("/floor/adjust", data={**form, "action": "post"})
    assert r.status_code == 200 and "Adjusted MUG" in r.text
    assert await on_hand("MUG", B1) == 3


# --- scans add up per item and lot; only bins are bins ----------------------------------------------

async def test_a_move_refuses_a_second_lot_of_the_item_it_is_counting(client):
    await warehouse()
    await item("TEA", gtin=TEA_GTIN, lot_tracked=True)
    await receive("TEA", 5, B1, lot="L1")
    await receive("TEA", 5, B1, lot="L2")
    await sign_in(client, "receiver")
    state = {"key": key(), "from_bin": B1, "sku": "TEA", "qty": "1", "lot": "L1"}
    r = await client.post("/floor/move", data={**state, "code": tea_scan("L1")})
    assert r.status_code == 200 and "TEA × 2" in r.text
    r = await client.post("/floor/move", data={**state, "qty": "2", "code": tea_scan("L2")})
    assert r.status_code == 422 and "Finish or clear TEA lot L1 before scanning lot L2" in r.text


async def test_a_receipt_scan_of_another_lot_does_not_add_to_the_first(client):
    await warehouse()
    await item("TEA", gtin=TEA_GTIN, lot_tracked=True)
    await sign_in(client, "receiver")
    state = {"key": key(), "sku": "TEA", "qty": "3", "lot": "L1"}
    r = await client.post("/floor/receive", data={**state, "code": tea_scan("L2")})
    assert r.status_code == 422 and "Finish or clear TEA lot L1" in r.text


async def test_a_staging_location_is_not_a_bin_on_the_floor(client):
    await warehouse()
    await sign_in(client, "receiver")
    r = await client.post("/floor/move", data={"key": key(), "code": "WH1-STAGE"})
    assert r.status_code == 422 and "not a bin" in r.text


async def test_putaway_from_a_place_outside_any_warehouse_is_refused_not_a_server_error(client):
    await warehouse()
    await item("MUG")
    await sign_in(client, "receiver")
    r = await client.post("/floor/putaway", data={"key": key(), "from_bin": "IN-TRANSIT", "code": "MUG"})
    assert r.status_code == 422 and "in no warehouse" in r.text


async def test_the_same_floor_key_stays_with_its_user(client):
    await warehouse()
    await item("MUG")
    who = await sign_in(client, "receiver")
    await client.post("/floor/receive", data={"key": "k-9", "sku": "MUG", "qty": "1", "code": B1})
    [row] = await db.fetch("SELECT key FROM command_log WHERE kind = 'Receipt'")
    assert row["key"] == f"floor:{who.id}:k-9"
    assert await table_count("movements", "reason = 'receipt'") == 1
