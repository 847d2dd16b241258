"""What a replayed scan costs on the wire: on PostgreSQL a batch's consecutive move envelopes are one
statement (their postings, audit rows, inbox rows and seqs together, up to MOVES_TOGETHER_MAX a
statement), the batch's item codes and bins are read once for all of it, the inbox row is written once,
with its final result, and no savepoint is taken unless found stock is needed. A move that cannot be
applied together gets its own answer, and the moves around it are still applied. The same scans run on
SQLite for the answers."""

from __future__ import annotations

import asyncio
import json

import pytest

from backend import db
from backend.domain.auth import audit
from backend.domain.auth.audit import Actor
from backend.domain.fulfillment import service as f
from backend.domain.ledger.check import check_ledger
from sync.inbox import MOVES_TOGETHER_MAX
from tests.factories import item, key, receive, warehouse
from tests.statements import Sent, StatementLog
from tests.sync_support import Handheld, on_hand, table_count, user

pytestmark = pytest.mark.usefixtures("ledger_db")

B1, B2, B3 = "WH1-B1", "WH1-B2", "WH1-B3"
MUG_GTIN = "4006381333931"


@pytest.fixture
def statements(monkeypatch: pytest.MonkeyPatch) -> StatementLog:
    return StatementLog().install(monkeypatch)


def together(sent: list[str]) -> list[int]:
    """The statements that applied moves together: how many moves each."""
    return [len(json.loads(s.args[1])) for s in sent if isinstance(s, Sent) and "stockline_replay_legs" in s]


async def highest_seq(hh: Handheld) -> int:
    row = await db.fetch_one("SELECT highest_seq FROM sync_devices WHERE device_id = {}", hh.device_id)
    assert row is not None
    return int(row["highest_seq"])


async def test_a_batch_of_moves_is_one_statement(statements):
    await warehouse()
    await item("MUG")
    await receive("MUG", 20, B1)
    picker, hh = await user("picker"), Handheld()
    scans = [hh.scan(picker, "move", sku="MUG", qty=1, from_location=B1, to_location=B2) for _ in range(10)]
    with statements.counting() as sent:
        results = await hh.send(*scans, relay=picker)
    assert [r.status for r in results] == ["applied"] * 10
    assert (await on_hand("MUG", B1), await on_hand("MUG", B2)) == (10, 10)
    rows = await db.fetch("SELECT id, txn_id, status, result FROM sync_inbox ORDER BY seq")
    movements = await db.fetch("SELECT id, command_key FROM movements WHERE reason = 'move' ORDER BY id")
    by_key = {m["command_key"]: m["id"] for m in movements}
    assert [json.loads(r["result"]) for r in rows] == [{"movement_ids": [by_key[f"sync:{r['txn_id']}"]]} for r in rows]
    assert [r.server_seq for r in results] == [r["id"] for r in rows]
    assert len(await audit.recent(entity="command")) >= 10
    assert await highest_seq(hh) == 10
    if db.is_postgres():
        assert together(sent) == [10]
        # Per batch: the stored-txn lookup, the device's check-in, the scanning user and whether they signed in.
        assert len(sent) - 1 <= 6, sent
        assert not [s for s in sent if "SAVEPOINT" in s.upper() or "BEGIN" in s.upper()]


async def test_a_batch_of_raw_moves_costs_little_more_than_a_statement_a_scan(statements):
    await warehouse()
    await item("MUG", gtin=MUG_GTIN)
    await item("TEA")
    await receive("MUG", 200, B1)
    await receive("TEA", 200, B2)
    picker, hh = await user("picker"), Handheld()
    n = 2 * MOVES_TOGETHER_MAX + 10
    scans = [hh.scan(picker, "move", from_bin=B1, items=[MUG_GTIN], to_bin=B3) if i % 2 else
             hh.scan(picker, "move", from_bin=B2, items=["tea", 2], to_bin=B3) for i in range(n)]
    with statements.counting() as sent:
        results = await hh.send(*scans, relay=picker)
    assert [r.status for r in results] == ["applied"] * n
    assert (await on_hand("MUG", B3), await on_hand("TEA", B3)) == (n // 2, n)
    assert await highest_seq(hh) == n
    if db.is_postgres():
        assert together(sent) == [MOVES_TOGETHER_MAX] * 2 + [10]
        # The batch's item codes and bins: one statement each, whatever the number of scans.
        assert len([s for s in sent if "FROM barcodes" in s]) == 1
        assert len([s for s in sent if "FROM locations" in s]) == 1
        assert len(sent) / n <= 1.1, sent  # the direct move is one statement: "direct + 2" with room to spare


async def test_moves_of_one_statement_see_each_other(statements):
    await warehouse()
    await item("MUG")
    await receive("MUG", 2, B1)
    picker, hh = await user("picker"), Handheld()
    first = hh.scan(picker, "move", from_bin=B1, items=["MUG", 2], to_bin=B2)
    then = hh.scan(picker, "move", from_bin=B2, items=["MUG", 2], to_bin=B3)  # what the first one brought
    with statements.counting() as sent:
        results = await hh.send(first, then, relay=picker)
    assert [r.status for r in results] == ["applied", "applied"]
    assert (await on_hand("MUG", B1), await on_hand("MUG", B2), await on_hand("MUG", B3)) == (0, 0, 2)
    assert await highest_seq(hh) == 2
    if db.is_postgres():
        assert len(together(sent)) == 1


async def test_batches_of_two_devices_crossing_the_same_rows_wait_in_lock_order(statements):
    await warehouse()
    for sku in ("MUG", "TEA"):
        await item(sku)
        await receive(sku, 1000, B1)
    picker, a, b = await user("picker"), Handheld(), Handheld()
    pairs = MOVES_TOGETHER_MAX // 2  # a batch's moves: one statement

    def moves(hh: Handheld, first: str, then: str) -> list[dict[str, object]]:
        return [hh.scan(picker, "move", from_bin=B1, items=[sku, 1], to_bin=B2)
                for _ in range(pairs) for sku in (first, then)]

    rounds = 30  # without the lock, some of these deadlock (and are sent again) on most runs
    with statements.counting() as sent:
        for _ in range(rounds):  # a takes MUG's rows before TEA's, b the other way round, at the same time
            done = await asyncio.gather(a.send(*moves(a, "MUG", "TEA"), relay=picker),
                                        b.send(*moves(b, "TEA", "MUG"), relay=picker))
            assert [r.status for results in done for r in results] == ["applied"] * 4 * pairs
    moved = rounds * 2 * pairs
    assert (await on_hand("MUG", B2), await on_hand("TEA", B2)) == (moved, moved)
    if db.is_postgres():
        # Each statement locked all its rows first, sorted: none deadlocked and was sent again.
        assert len(together(sent)) == 2 * rounds


async def test_a_move_short_of_stock_amid_others_gets_its_own_answer_and_the_others_apply(statements):
    await warehouse()
    await item("MUG")
    await receive("MUG", 5, B1)
    picker, hh = await user("picker"), Handheld()
    scans = [
        hh.scan(picker, "move", from_bin=B1, items=["MUG", 2], to_bin=B2),
        hh.scan(picker, "move", from_bin=B2, items=["MUG", 2], to_bin=B3),
        hh.scan(picker, "move", from_bin=B1, items=["MUG", 9], to_bin=B2),  # B1 has 3: found stock
        hh.scan(picker, "move", from_bin=B2, items=["MUG", 1], to_bin=B1),
        hh.scan(picker, "move", from_bin=B3, items=["MUG", 1], to_bin=B1),
        hh.scan(picker, "move", from_bin="WH1-NOPE", items=["MUG", 1], to_bin=B1),  # refused: no such bin
        hh.scan(picker, "move", from_bin=B3, items=["MUG", 1], to_bin=B2),
    ]
    with statements.counting() as sent:
        results = await hh.send(*scans, relay=picker)
    statuses = ["applied", "applied", "needs_review", "applied", "applied", "rejected", "applied"]
    assert [r.status for r in results] == statuses
    assert "WH1-NOPE" in results[5].reason
    assert (await on_hand("MUG", B1), await on_hand("MUG", B2), await on_hand("MUG", B3)) == (2, 9, 0)
    assert await table_count("sync_exceptions") == 1
    assert await highest_seq(hh) == len(scans)
    rows = await db.fetch("SELECT status FROM sync_inbox ORDER BY seq")
    assert [r["status"] for r in rows] == statuses
    assert not await check_ledger()
    again = await hh.send(*scans, relay=picker)
    assert [r.status for r in again] == ["duplicate"] * len(scans)
    assert [r.original_status for r in again] == statuses
    assert [r.server_seq for r in again] == [r.server_seq for r in results]
    if db.is_postgres():
        # Moves 1-3 together (undone at the third), 1-2 again, the third alone, 4-5 and 7 together; the
        # unknown bin is refused by the interpreter and never tried together.
        assert together(sent) == [5, 2, 2, 1]


async def test_a_batch_mixing_moves_receives_adjusts_and_picks_applies_each_in_order(statements):
    await warehouse()
    await item("MUG", gtin=MUG_GTIN)
    lead = Actor("lead", "tab", None, "lead")
    await receive("MUG", 10, B1)
    await f.create_manual_order(f.NewManualOrder(order_ref="SO-1", lines=[f.OrderLineSpec("MUG", 4)]),
                                key=key(), actor=lead)
    [line] = (await f.create_pick_list("SO-1", key=key(), actor=lead)).lines
    worker, hh = await user("lead"), Handheld()
    scans = [
        hh.scan(worker, "move", from_bin=B1, items=[MUG_GTIN], to_bin=B2),
        hh.scan(worker, "receive", items=[MUG_GTIN, 5], to_bin=B1),
        hh.scan(worker, "move", from_bin=B1, items=[MUG_GTIN, 3], to_bin=B2),
        hh.scan(worker, "move", from_bin=B2, items=[MUG_GTIN], to_bin=B3),
        hh.scan(worker, "adjust", bin=B3, item_code=MUG_GTIN, delta=-1, reason="damaged"),
        hh.scan(worker, "move", from_bin=B2, items=[MUG_GTIN, 2], to_bin=B1),
        hh.scan(worker, "pick", pick_list_id=line.pick_list_id, line_id=line.id, bin=line.bin, item_code=MUG_GTIN,
                qty=line.qty),
        hh.scan(worker, "move", from_bin=B2, items=[MUG_GTIN], to_bin=B3),
    ]
    with statements.counting() as sent:
        results = await hh.send(*scans, relay=worker)
    assert [r.status for r in results] == ["applied"] * len(scans), [r.reason for r in results]
    assert [await on_hand("MUG", b) for b in (B1, B2, B3)] == [9, 0, 1]
    assert await highest_seq(hh) == len(scans)
    assert not await check_ledger()
    if db.is_postgres():
        assert together(sent) == [1, 2, 1, 1]


async def test_a_move_that_needs_found_stock_takes_the_transaction_and_writes_its_row_once(statements):
    await warehouse()
    await item("MUG")
    await receive("MUG", 1, B1)
    picker, hh = await user("picker"), Handheld()
    scan = hh.scan(picker, "move", sku="MUG", qty=3, from_location=B1, to_location=B2)
    with statements.counting() as sent:
        [result] = await hh.send(scan, relay=picker)
    assert result.status == "needs_review"
    assert (await on_hand("MUG", B1), await on_hand("MUG", B2)) == (0, 3)
    assert await table_count("sync_exceptions") == 1
    row = await db.fetch_one("SELECT status, result FROM sync_inbox")
    assert row["status"] == "needs_review" and json.loads(row["result"])["shortfall"] == 2
    if db.is_postgres():
        inbox_writes = [s for s in sent if "INTO sync_inbox" in s]
        assert len(together(sent)) == 1  # the one-statement try, undone
        assert len(inbox_writes) == 1  # the envelope's transaction
        assert not [s for s in sent if s.upper().startswith("UPDATE SYNC_INBOX")]


async def test_a_refused_scan_is_recorded_alone_and_its_seq_still_counts(statements):
    await warehouse()
    await item("MUG")
    picker, hh = await user("picker"), Handheld()
    bad = hh.scan(picker, "move", sku="NOPE", qty=1, from_location=B1, to_location=B2)
    with statements.counting() as sent:
        [result] = await hh.send(bad, relay=picker)
    assert result.status == "rejected" and "NOPE" in result.reason
    assert await table_count("sync_inbox", "status = 'rejected'") == 1
    highest = await db.fetch_one("SELECT highest_seq FROM sync_devices WHERE device_id = {}", hh.device_id)
    assert highest["highest_seq"] == 1
    if db.is_postgres():
        # The one-statement try wrote nothing; the envelope's transaction ran the command, which refused
        # it, and rolled back whole; a second transaction wrote the row.
        assert len(together(sent)) == 1
        assert [s.split(" (")[0] for s in sent if "INTO sync_inbox" in s] == ["WITH ins AS"]
        assert "ROLLBACK;" in sent
        assert not [s for s in sent if s.upper().startswith("UPDATE SYNC_INBOX")]
