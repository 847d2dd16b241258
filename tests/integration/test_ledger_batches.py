"""Set-based ledger batches: many orders reserved, many corrections posted, in a few statements."""

from __future__ import annotations

import pytest

from backend import db
from backend.domain import errors
from backend.domain.ledger import batches
from backend.domain.ledger import commands as c
from tests.factories import item, receive, warehouse
from tests.statements import StatementLog

pytestmark = pytest.mark.usefixtures("ledger_db")


@pytest.fixture
def statements(monkeypatch: pytest.MonkeyPatch) -> StatementLog:
    return StatementLog().install(monkeypatch)


def order(*lines: tuple[str, int, str], ref: str = "") -> batches.OrderLines:
    return batches.OrderLines(lines=[c.ReserveLine(sku=s, qty=q, location=b) for s, q, b in lines], order_ref=ref)


async def reserved_in(sku_bin: tuple[str, str]) -> int:
    row = await db.fetch_one(
        "SELECT b.reserved FROM balances b JOIN items i ON i.id = b.item_id JOIN locations l ON l.id = b.location_id"
        " WHERE i.sku = {} AND l.code = {}", *sku_bin)
    return row["reserved"] if row else 0


async def test_orders_reserve_in_turn_and_a_line_without_stock_waits():
    b1, b2, _ = await warehouse()
    await item("MUG")
    await item("TEA")
    await receive("MUG", 5, b1)
    await receive("TEA", 1, b2)
    done = await batches.reserve_orders([
        ("o-1", order(("MUG", 2, b1), ("TEA", 1, b2), ref="SO-1")),
        ("o-2", order(("MUG", 2, b1), ("TEA", 1, b2), ref="SO-2")),  # the only TEA went to SO-1
        ("o-3", order(("MUG", 2, b1), ref="SO-3")),  # 1 MUG left: not enough for 2
        ("o-4", order(("MUG", 1, b1), ref="SO-4")),  # ... but enough for 1
    ], actor="test")
    assert [[rid is not None for rid in o.reservation_ids] for o in done] == [[True, True], [True, False], [False],
                                                                              [True]]
    assert await reserved_in(("MUG", b1)) == 5 and await reserved_in(("TEA", b2)) == 1
    rows = await db.fetch("SELECT order_ref, qty, open_qty, status, command_key FROM reservations ORDER BY id")
    assert [(r["order_ref"], r["qty"], r["command_key"]) for r in rows] == [
        ("SO-1", 2, "o-1"), ("SO-1", 1, "o-1"), ("SO-2", 2, "o-2"), ("SO-4", 1, "o-4")]
    assert done[1].reserved(order(("MUG", 2, b1), ("TEA", 1, b2)).lines) == 2


async def test_a_repeated_batch_answers_the_same_and_reserves_nothing_twice():
    b1, *_ = await warehouse()
    await item("MUG")
    await receive("MUG", 3, b1)
    batch = [(f"o-{n}", order(("MUG", 1, b1))) for n in range(5)]
    first = await batches.reserve_orders(batch, actor="test")
    again = await batches.reserve_orders(batch, actor="test")
    assert [o.reservation_ids for o in again] == [o.reservation_ids for o in first]
    assert all(o.replayed for o in again) and not any(o.replayed for o in first)
    assert await reserved_in(("MUG", b1)) == 3
    with pytest.raises(errors.IdempotencyConflict):
        await batches.reserve_orders([("o-1", order(("MUG", 2, b1)))], actor="test")


async def test_input_the_ledger_refuses_refuses_the_batch():
    b1, *_ = await warehouse()
    await item("MUG")
    await receive("MUG", 3, b1)
    with pytest.raises(errors.UnknownItem):
        await batches.reserve_orders([("o-1", order(("MUG", 1, b1))), ("o-2", order(("NOPE", 1, b1)))], actor="test")
    with pytest.raises(errors.InvalidInput, match="not a place that holds stock"):
        await batches.reserve_orders([("o-3", order(("MUG", 1, "WH1")))], actor="test")
    assert await reserved_in(("MUG", b1)) == 0
    assert not await db.fetch("SELECT key FROM command_log WHERE kind = 'ReserveOrder'")


async def test_a_batch_is_a_few_statements_however_many_orders(statements):
    b1, b2, b3 = await warehouse()
    for sku in ("MUG", "TEA", "CUP"):
        await item(sku)
        for b in (b1, b2, b3):
            await receive(sku, 250, b)
    batch = [(f"o-{n}", order((("MUG", "TEA", "CUP")[n % 3], 1, (b1, b2, b3)[n % 3]))) for n in range(600)]
    with statements.counting() as sent:
        done = await batches.reserve_orders(batch, actor="test")
    assert all(rid is not None for o in done for rid in o.reservation_ids)
    if db.is_postgres():
        # BEGIN, claim, items (+ units), locations, lock, update, insert, results, COMMIT
        assert len(sent) <= 10, sent


async def test_corrections_post_together_each_under_its_key(statements):
    b1, b2, _ = await warehouse()
    await item("MUG")
    await item("TEA")
    await receive("MUG", 10, b1)
    adjustments = [("cnt-1", c.Adjust(sku="MUG", delta=-3, location=b1, reason="count_correction", doc_ref="COUNT-1")),
                   ("cnt-2", c.Adjust(sku="TEA", delta=4, location=b1, reason="count_correction", doc_ref="COUNT-1")),
                   ("cnt-3", c.Adjust(sku="MUG", delta=2, location=b2, reason="count_correction", doc_ref="COUNT-1"))]

    async def post() -> dict[str, list[int]]:
        return await batches.post_adjustments(adjustments, actor="counter")

    with statements.counting() as sent:
        ids = await db.run_in_transaction(post)
    assert sorted(ids) == ["cnt-1", "cnt-2", "cnt-3"] and all(len(m) == 1 for m in ids.values())
    rows = await db.fetch("SELECT command_key, qty, reason, doc_ref, actor FROM movements"
                          " WHERE command_key LIKE 'cnt-%'"
                          " ORDER BY id")
    assert [(r["command_key"], r["qty"]) for r in rows] == [("cnt-1", 3), ("cnt-2", 4), ("cnt-3", 2)]
    assert {(r["reason"], r["doc_ref"], r["actor"]) for r in rows} == {("count_correction", "COUNT-1", "counter")}
    if db.is_postgres():
        assert len(sent) <= 12, sent  # BEGIN, lookups (4), claim, lock, upsert, update, movements, results, COMMIT
    again = await db.run_in_transaction(post)
    assert again == ids  # answered from command_log, posted once
    single = await c.execute(adjustments[0][1], key="cnt-1", actor="counter")  # the key is the single command's
    assert single.replayed and single.movement_ids == ids["cnt-1"]


async def test_a_correction_the_stock_no_longer_allows_rolls_the_batch_back():
    b1, *_ = await warehouse()
    await item("MUG")
    await receive("MUG", 2, b1)

    async def post() -> None:
        await batches.post_adjustments([("x-1", c.Adjust(sku="MUG", delta=1, location=b1, reason="found")),
                                        ("x-2", c.Adjust(sku="MUG", delta=-5, location=b1, reason="lost"))],
                                       actor="counter")

    with pytest.raises(errors.InsufficientStock):
        await db.run_in_transaction(post)
    assert not await db.fetch("SELECT key FROM command_log WHERE key LIKE 'x-%'")
