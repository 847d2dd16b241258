"""Concurrency on PostgreSQL: many handhelds fighting over the last units never oversell."""

from __future__ import annotations

import asyncio

import pytest

from backend import db
from backend.domain import errors
from backend.domain.ledger import batches
from backend.domain.ledger import commands as c
from tests.factories import item, key, receive, warehouse

TASKS = 50
LAST_UNITS = 10


@pytest.fixture
def backend() -> str:
    return "postgres"  # row locks and concurrent transactions: the production database


async def _outcomes(coros) -> tuple[int, int, list[BaseException]]:
    results = await asyncio.gather(*coros, return_exceptions=True)
    ok = sum(1 for r in results if not isinstance(r, BaseException))
    short = sum(1 for r in results if isinstance(r, errors.InsufficientStock))
    other = [r for r in results if isinstance(r, BaseException) and not isinstance(r, errors.InsufficientStock)]
    return ok, short, other


async def test_fifty_reserve_the_last_ten(ledger_db):
    b1, *_ = await warehouse()
    await item("MUG")
    await receive("MUG", LAST_UNITS, b1)
    line = [c.ReserveLine(sku="MUG", qty=1, location=b1)]
    ok, short, other = await _outcomes(
        c.execute(c.Reserve(lines=line), key=key("res"), actor=f"handheld-{n}") for n in range(TASKS)
    )
    assert (ok, short, other) == (LAST_UNITS, TASKS - LAST_UNITS, [])
    row = await db.fetch_one("SELECT on_hand, reserved FROM balances")
    assert (row["on_hand"], row["reserved"]) == (LAST_UNITS, LAST_UNITS)


async def test_fifty_pick_the_last_ten(ledger_db):
    b1, b2, _ = await warehouse()
    await item("MUG")
    await receive("MUG", LAST_UNITS, b1)
    ok, short, other = await _outcomes(
        c.execute(c.Move(sku="MUG", qty=1, from_location=b1, to_location=b2), key=key("mv"), actor=f"h{n}")
        for n in range(TASKS)
    )
    assert (ok, short, other) == (LAST_UNITS, TASKS - LAST_UNITS, [])


async def test_two_items_in_opposite_order_do_not_deadlock(ledger_db):
    b1, *_ = await warehouse()
    await item("MUG")
    await item("TEA")
    await receive("MUG", LAST_UNITS, b1)
    await receive("TEA", LAST_UNITS, b1)
    mug, tea = c.ReserveLine(sku="MUG", qty=1, location=b1), c.ReserveLine(sku="TEA", qty=1, location=b1)
    orders = [[mug, tea] if n % 2 else [tea, mug] for n in range(TASKS)]
    ok, short, other = await _outcomes(
        c.execute(c.Reserve(lines=lines), key=key("pair"), actor="h") for lines in orders
    )
    assert (ok, short, other) == (LAST_UNITS, TASKS - LAST_UNITS, [])
    rows = await db.fetch("SELECT reserved FROM balances ORDER BY item_id")
    assert [r["reserved"] for r in rows] == [LAST_UNITS, LAST_UNITS]


async def test_moves_in_both_directions_do_not_deadlock(ledger_db):
    b1, b2, _ = await warehouse()
    await item("MUG")
    await receive("MUG", 100, b1)
    await receive("MUG", 100, b2)
    ok, short, other = await _outcomes(
        c.execute(c.Move(sku="MUG", qty=1, from_location=a, to_location=b), key=key("x"), actor="h")
        for n in range(TASKS) for a, b in [((b1, b2) if n % 2 else (b2, b1))]
    )
    assert (ok, short, other) == (TASKS, 0, [])


async def test_same_key_sent_concurrently_posts_once(ledger_db):
    b1, b2, _ = await warehouse()
    await item("MUG")
    await receive("MUG", LAST_UNITS, b1)
    move = c.Move(sku="MUG", qty=1, from_location=b1, to_location=b2)
    results = await asyncio.gather(*(c.execute(move, key="one-scan", actor="h") for _ in range(20)))
    assert len({tuple(r.movement_ids) for r in results}) == 1
    assert sum(not r.replayed for r in results) == 1
    row = await db.fetch_one("SELECT on_hand FROM balances"
                             " WHERE location_id = (SELECT id FROM locations WHERE code = {})", b2)
    assert row["on_hand"] == 1


async def test_postgres_refuses_truncating_movements(ledger_db):
    with pytest.raises(Exception, match="append-only"):
        await db.fetch("TRUNCATE movements CASCADE")


async def test_two_reservation_batches_racing_for_the_last_units_never_oversell(ledger_db):
    b1, *_ = await warehouse()
    await item("MUG")
    await receive("MUG", LAST_UNITS, b1)

    def orders(prefix: str) -> list[tuple[str, batches.OrderLines]]:
        return [(key(prefix), batches.OrderLines(lines=[c.ReserveLine(sku="MUG", qty=1, location=b1)]))
                for _ in range(TASKS // 2)]

    done = await asyncio.gather(*(batches.reserve_orders(orders(p), actor=p) for p in ("a", "b", "c", "d")))
    reserved = [rid for batch in done for o in batch for rid in o.reservation_ids if rid is not None]
    assert len(reserved) == LAST_UNITS
    row = await db.fetch_one("SELECT on_hand, reserved FROM balances")
    assert (row["on_hand"], row["reserved"]) == (LAST_UNITS, LAST_UNITS)


async def test_a_move_in_one_statement_and_a_batch_take_the_same_rows_in_lock_order(ledger_db):
    b1, b2, _ = await warehouse()
    await item("MUG")
    await item("TEA")
    for sku in ("MUG", "TEA"):
        await receive(sku, 100, b1)
        await receive(sku, 100, b2)
    moves = [c.execute(c.Move(sku=s, qty=1, from_location=a, to_location=b), key=key("mv"), actor="h")
             for n in range(TASKS) for s, (a, b) in [(("MUG", "TEA")[n % 2], ((b1, b2) if n % 3 else (b2, b1)))]]
    lines = [c.ReserveLine(sku="TEA", qty=1, location=b2), c.ReserveLine(sku="MUG", qty=1, location=b1)]
    batch = batches.reserve_orders([(key("res"), batches.OrderLines(lines=lines)) for _ in range(20)], actor="b")
    results = await asyncio.gather(*moves, batch, return_exceptions=True)
    assert not [r for r in results if isinstance(r, BaseException)]
