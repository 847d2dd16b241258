"""A count's lines settle by the same rules on both databases; on PostgreSQL in one statement
(`stockline_settle_count`), whatever the number of lines, and what the ledger would refuse is refused in
the ledger's words on both."""

from __future__ import annotations

import pytest

from backend import db
from backend.domain import counts, errors
from backend.domain.catalog.service import get_item
from backend.domain.idempotency import decode_answer, derived_key
from backend.domain.ledger import commands as c
from tests.factories import item, key, receive, warehouse
from tests.integration.test_counts import COUNTER, on_hand
from tests.statements import StatementLog

pytestmark = pytest.mark.usefixtures("ledger_db")
ITEMS = 60


@pytest.fixture
def statements(monkeypatch: pytest.MonkeyPatch) -> StatementLog:
    return StatementLog().install(monkeypatch)


async def counted_bin(stock: dict[str, int], counted: dict[str, int]) -> tuple[str, int]:
    """A bin holding `stock`, a started count of it and `counted` recorded; returns (bin, task id)."""
    b1, *_ = await warehouse()
    for sku, qty in stock.items():
        await item(sku)
        await receive(sku, qty, b1)
    task = await counts.create_count_task(b1, key("new"), COUNTER)
    await counts.start_count(task.task_id, key("start"), COUNTER)
    for sku, qty in counted.items():
        await counts.record_count(task.task_id, sku, qty, key("scan"), COUNTER)
    return b1, task.task_id


async def line_states(task_id: int) -> dict[str, tuple[str, int, str, bool]]:
    rows = await db.fetch(
        "SELECT i.sku, l.status, l.variance, l.review_reason, l.ledger_key FROM count_lines l"
        " JOIN items i ON i.id = l.item_id WHERE l.task_id = {}", task_id)
    return {r["sku"]: (r["status"], r["variance"], r["review_reason"], r["ledger_key"] is not None) for r in rows}


async def test_every_outcome_of_a_line_in_one_submit(statements):
    stock = {f"S{n:03}": 20 for n in range(ITEMS)}
    # n % 4: 0 matched, 1 one found, 2 one missing, 3 fifteen missing (beyond the 10-unit threshold)
    counted = {sku: 20 + (0, 1, -1, -15)[n % 4] for n, sku in enumerate(stock)}
    b1, task_id = await counted_bin(stock, counted)
    await c.execute(c.Move(sku="S002", qty=20, from_location=b1, to_location="WH1-B2"), key=key(), actor="picker")
    submit_key = key("submit")
    with statements.counting() as sent:
        outcome = await counts.submit_count(task_id, submit_key, COUNTER)
    states = await line_states(task_id)
    assert states["S000"] == ("matched", 0, "", False)
    assert states["S001"] == ("posted", 1, "", True)
    assert states["S002"] == ("needs_review", -1, f"Stock left {b1} while it was counted: taking 1 off the 0 on hand"
                                                  " now would go below zero. Recount the bin.", False)
    assert states["S003"] == ("pending_approval", -15, "", False)
    assert states["S006"] == ("posted", -1, "", True)
    posted = sorted(sku for sku, s in states.items() if s[0] == "posted")
    assert outcome.status == "pending_approval" and len(outcome.movement_ids) == len(posted) == ITEMS // 2 - 1
    assert await on_hand("S001", b1) == 21 and await on_hand("S006", b1) == 19 and await on_hand("S003", b1) == 20
    ledger_key = derived_key(submit_key, "corrections")
    rows = await db.fetch("SELECT id, idempotency_key, reason, doc_ref FROM movements WHERE command_key = {}"
                          " ORDER BY id", ledger_key)
    assert [r["id"] for r in rows] == outcome.movement_ids
    assert [r["idempotency_key"] for r in rows] == [f"{ledger_key}#{n}" for n in range(len(rows))]
    assert {(r["reason"], r["doc_ref"]) for r in rows} == {("count_correction", f"COUNT-{task_id}")}
    stored = await db.fetch_one("SELECT kind, result FROM command_log WHERE key = {}", ledger_key)
    assert stored is not None and stored["kind"] == "AdjustMany"
    assert decode_answer(stored["result"]).movement_ids == outcome.movement_ids
    if db.is_postgres():
        assert len(sent) <= 12, sent  # BEGIN, claim, task, unscanned (2), settle, status, audit, answer, COMMIT


async def test_an_inactive_item_waits_for_review_in_the_same_words():
    b1, task_id = await counted_bin({"MUG": 10, "TEA": 10}, {"MUG": 9, "TEA": 9})
    await db.fetch("UPDATE items SET active = FALSE WHERE sku = 'TEA'")
    outcome = await counts.submit_count(task_id, key("submit"), COUNTER)
    assert outcome.status == "pending_approval" and len(outcome.movement_ids) == 1
    assert (await line_states(task_id))["TEA"] == (
        "needs_review", -1, "TEA is inactive, so its stock cannot be corrected. Reactivate it first.", False)
    assert await on_hand("MUG", b1) == 9 and await on_hand("TEA", b1) == 10


async def test_a_line_the_ledger_refuses_is_refused_in_its_words_and_nothing_posts():
    b1, task_id = await counted_bin({"MUG": 10, "TEA": 10}, {"MUG": 9})
    # A line whose lot the item does not take (the item's tracking changed since it was counted).
    tea = await get_item("TEA")
    await db.fetch("INSERT INTO count_lines (task_id, item_id, lot, counted_qty, expected_qty, entered, status)"
                   " VALUES ({}, {}, 'L1', 3, 0, TRUE, 'counted')", task_id, tea.id)
    with pytest.raises(errors.InvalidInput, match="TEA is not lot tracked; leave the lot empty"):
        await counts.submit_count(task_id, key("submit"), COUNTER)
    assert await on_hand("MUG", b1) == 10
    assert not await db.fetch("SELECT id FROM movements WHERE reason = 'count_correction'")


async def test_a_line_that_would_take_reserved_stock_waits_for_review_in_the_same_words():
    """The review reasons are worded in two places (the in-process path's `why_not_postable_on`, and
    m0017's function on PostgreSQL): each of them is checked here and above on both databases."""
    b1, task_id = await counted_bin({"MUG": 10, "TEA": 10}, {"MUG": 4, "TEA": 9})
    await c.execute(c.Reserve(lines=[c.ReserveLine(sku="MUG", qty=8, location=b1)], order_ref="SO-1"),
                    key=key(), actor="allocator")
    outcome = await counts.submit_count(task_id, key("submit"), COUNTER)
    assert outcome.status == "pending_approval" and len(outcome.movement_ids) == 1
    assert (await line_states(task_id))["MUG"] == (
        "needs_review", -6, f"Taking 6 off would leave 4 in {b1}, but 8 are reserved for orders or on hold."
                            " Check the open picks, then recount.", False)
    assert await on_hand("MUG", b1) == 10 and await on_hand("TEA", b1) == 9
