"""`stockline demo` seeds a realistic store once, on either database."""

from __future__ import annotations

import random

from backend import db, demo
from backend.demo import seed_demo
from backend.domain import purchasing
from backend.domain.auth.tokens import verify_token
from backend.domain.ledger.check import check_ledger
from backend.migrations import migrate


async def _count(sql: str) -> int:
    row = await db.fetch_one(f"SELECT COUNT(*) AS n FROM ({sql}) q")
    return row["n"]


async def test_demo_seeds_a_realistic_store_once(empty_db):
    token = await seed_demo()
    assert (await verify_token(token)).scope == "write"
    assert await _count("SELECT id FROM locations WHERE kind = 'warehouse'") == 2
    assert await _count("SELECT id FROM locations WHERE kind = 'bin'") >= 200
    assert await _count("SELECT id FROM items WHERE NOT is_kit") >= 1000
    assert await _count("SELECT id FROM items WHERE is_kit") > 0
    assert await _count("SELECT DISTINCT item_id FROM barcodes") >= 1000
    assert await _count("SELECT id FROM item_units WHERE unit = 'case' AND factor = 24") >= 1000
    assert await _count("SELECT DISTINCT location_id FROM balances WHERE on_hand > 0") >= 150
    assert await _count("SELECT id FROM reservations WHERE status = 'open'") > 0
    assert await _count("SELECT id FROM pick_lists") >= 3
    assert await _count("SELECT id FROM users") >= 6
    statuses = {r["status"] for r in await db.fetch("SELECT DISTINCT status FROM purchase_orders")}
    assert statuses == {"draft", "sent", "partially_received", "received", "closed", "cancelled"}
    assert await _count("SELECT id FROM supplier_items WHERE preferred") >= 1000
    assert await purchasing.on_order()  # the sent and partially received orders
    assert len({o.supplier_id for o in await purchasing.lead_time_observations()}) == 3
    movements = await _count("SELECT id FROM movements")
    await seed_demo()  # already seeded: only a new token
    assert await _count("SELECT id FROM movements") == movements
    assert await check_ledger() == []


async def test_a_half_seeded_demo_is_finished_not_taken_as_seeded(empty_db):
    """What an interrupted seed of an earlier version left: master data and stock, no orders or users."""
    await migrate()
    await db.run_in_transaction(lambda: demo._seed_master_data(random.Random(demo.SEED)))
    assert not await demo.is_seeded()
    await seed_demo()
    assert await demo.is_seeded()
    assert await _count("SELECT id FROM reservations WHERE order_ref LIKE 'SO-%'") == demo.RESERVATION_COUNT
    assert await _count("SELECT id FROM pick_lists") == demo.DEMO_ORDERS
    assert await _count("SELECT id FROM users") == len(demo.DEMO_USERS)
    assert await _count("SELECT id FROM locations WHERE kind = 'warehouse'") == 2  # not seeded twice
    assert await check_ledger() == []


async def test_the_demo_opens_with_replenishment_suggestions(empty_db):
    from backend.domain import replenishment

    await seed_demo()
    suggestions = await replenishment.list_suggestions()
    kinds = {s.kind for s in suggestions}
    assert kinds == {"purchase", "transfer"}
    assert all(s.qty >= s.moq and s.qty % s.case_pack == 0 for s in suggestions if s.kind == "purchase")
