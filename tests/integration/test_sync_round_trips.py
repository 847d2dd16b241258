"""What a replayed scan costs on the wire: on PostgreSQL a move envelope is one statement (its posting,
audit row, inbox row and seq together); the inbox row is written once, with its final result, and no
savepoint is taken unless found stock is needed. The same scans run on SQLite for the answers."""

from __future__ import annotations

import json

import pytest

from backend import db
from backend.domain.auth import audit
from tests.factories import item, receive, warehouse
from tests.statements import StatementLog
from tests.sync_support import Handheld, on_hand, table_count, user

pytestmark = pytest.mark.usefixtures("ledger_db")

B1, B2 = "WH1-B1", "WH1-B2"


@pytest.fixture
def statements(monkeypatch: pytest.MonkeyPatch) -> StatementLog:
    return StatementLog().install(monkeypatch)


async def test_a_batch_of_moves_is_one_statement_per_scan(statements):
    await warehouse()
    await item("MUG")
    await receive("MUG", 20, B1)
    picker, hh = await user("picker"), Handheld()
    scans = [hh.scan(picker, "move", sku="MUG", qty=1, from_location=B1, to_location=B2) for _ in range(10)]
    with statements.counting() as sent:
        results = await hh.send(*scans, relay=picker)
    assert [r.status for r in results] == ["applied"] * 10
    assert (await on_hand("MUG", B1), await on_hand("MUG", B2)) == (10, 10)
    rows = await db.fetch("SELECT txn_id, status, result FROM sync_inbox ORDER BY seq")
    movements = await db.fetch("SELECT id, command_key FROM movements WHERE reason = 'move' ORDER BY id")
    by_key = {m["command_key"]: m["id"] for m in movements}
    assert [json.loads(r["result"]) for r in rows] == [{"movement_ids": [by_key[f"sync:{r['txn_id']}"]]} for r in rows]
    assert len(await audit.recent(entity="command")) >= 10
    highest = await db.fetch_one("SELECT highest_seq FROM sync_devices WHERE device_id = {}", hh.device_id)
    assert highest["highest_seq"] == 10
    if db.is_postgres():
        per_scan = [s for s in sent if "stockline_post" in s]
        assert len(per_scan) == 10 and all("sync_inbox" in s and "sync_devices" in s for s in per_scan)
        # Per batch: the stored-txn lookup, the device's check-in (BEGIN, upsert, COMMIT), the scanning user.
        assert len(sent) - len(per_scan) <= 6, sent
        assert not [s for s in sent if "SAVEPOINT" in s.upper()]


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
        assert len(inbox_writes) == 2  # the one-statement try (undone) and the envelope's transaction
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
        assert [s.split(" (")[0] for s in sent if "INTO sync_inbox" in s] == ["WITH p AS MATERIALIZED",
                                                                              "WITH ins AS"]
        assert "ROLLBACK;" in sent
        assert not [s for s in sent if s.upper().startswith("UPDATE SYNC_INBOX")]
