"""`stockline check` keeps a checkpoint and compares the balances with it plus what was posted since.

A drift is something written to the balances behind the ledger's back: the tests write it by hand,
check, then put the row back so the fixture's closing full check is clean.
"""

from __future__ import annotations

from datetime import UTC, datetime

from backend import db
from backend.domain.ledger import _checkpoint
from backend.domain.ledger import commands as c
from backend.domain.ledger.check import run_check
from tests.factories import item, key, receive, warehouse


async def _stocked() -> list[str]:
    bins = await warehouse()
    await item("MUG")
    await item("TEA")
    await receive("MUG", 10, bins[0])
    await receive("TEA", 5, bins[1])
    return bins


async def _move(sku: str, qty: int, src: str, dst: str) -> int:
    result = await c.execute(c.Move(sku=sku, qty=qty, from_location=src, to_location=dst), key=key("mv"),
                             actor="test")
    return result.movement_ids[-1]


async def _newest_movement_id() -> int:
    row = await db.fetch_one("SELECT MAX(id) AS id FROM movements")
    assert row is not None
    return int(row["id"])


async def _shift_on_hand(sku: str, bin_code: str, by: int) -> None:
    await db.fetch(
        "UPDATE balances SET on_hand = on_hand + {} WHERE item_id = (SELECT id FROM items WHERE sku = {})"
        " AND location_id = (SELECT id FROM locations WHERE code = {})",
        by, sku, bin_code,
    )


async def test_each_check_sums_only_the_movements_posted_since_the_last_one(ledger_db):
    b1, b2, _ = await _stocked()
    first = await run_check()
    assert first.drifts == []
    assert (first.advanced_from, first.checkpoint_movement_id) == (0, await _newest_movement_id())
    await _move("MUG", 2, b1, b2)
    newest = await _move("MUG", 1, b2, b1)
    second = await run_check()
    assert second.drifts == []
    assert (second.advanced_from, second.checkpoint_movement_id) == (first.checkpoint_movement_id, newest)


async def test_incremental_check_finds_a_balance_changed_after_the_checkpoint(ledger_db):
    b1, b2, _ = await _stocked()
    assert (await run_check()).drifts == []
    await _move("MUG", 2, b1, b2)
    # TEA's row has not moved since the checkpoint: the check still compares every balance row.
    await _shift_on_hand("TEA", b2, +1)
    await _shift_on_hand("MUG", b2, -1)
    report = await run_check()
    assert [str(d).split(": ", 1)[1] for d in report.drifts] == [
        "on_hand is 1 but the ledger says 2",
        "on_hand is 6 but the ledger says 5",
    ]
    await _shift_on_hand("TEA", b2, -1)
    await _shift_on_hand("MUG", b2, +1)
    assert (await run_check()).drifts == []


async def _skip_a_movement_id() -> int:
    """Take an id from the movements' sequence, as a posting that rolled back does on PostgreSQL."""
    if db.is_postgres():
        row = await db.fetch_one("SELECT nextval(pg_get_serial_sequence('movements', 'id')) AS id")
    else:
        await db.fetch("UPDATE sqlite_sequence SET seq = seq + 1 WHERE name = 'movements'")
        row = await db.fetch_one("SELECT seq AS id FROM sqlite_sequence WHERE name = 'movements'")
    assert row is not None
    return int(row["id"])


async def test_full_check_finds_a_movement_written_below_the_checkpoint(ledger_db):
    b1, b2, _ = await _stocked()
    gap = await _skip_a_movement_id()
    await _move("TEA", 1, b2, b1)
    assert (await run_check()).checkpoint_movement_id > gap
    # Written behind the ledger in the gap below the checkpoint (what a movement that committed out
    # of order would look like had the checkpoint skipped it): the balance never saw it.
    now = datetime.now(UTC)
    await db.fetch("INSERT INTO command_log (key, kind, payload_hash, result, actor, created_at)"
                   " VALUES ('behind-the-ledger', 'Receive', '', '', 'someone', {})", now)
    await db.fetch(
        "INSERT INTO movements (id, idempotency_key, command_key, item_id, lot, qty, from_location_id,"
        " to_location_id, from_state, to_state, reason, actor, created_at)"
        " VALUES ({}, 'behind-the-ledger#0', 'behind-the-ledger', (SELECT id FROM items WHERE sku = 'MUG'), '', 1,"
        " (SELECT id FROM locations WHERE code = 'SUPPLIER'), (SELECT id FROM locations WHERE code = {}),"
        " 'available', 'available', 'receipt', 'someone', {})",
        gap, b1, now,
    )
    assert (await run_check()).drifts == []  # the incremental check trusts the movements it has summed
    full = await run_check(full=True)
    assert [d.problem for d in full.drifts] == ["on_hand is 10 but the ledger says 11"]
    await _shift_on_hand("MUG", b1, +1)


async def test_a_checkpoint_changed_behind_the_check_is_reported(ledger_db):
    b1, b2, _ = await _stocked()
    assert (await run_check()).drifts == []
    await db.fetch("UPDATE ledger_checkpoint SET digest = (digest + 1) % {}", _checkpoint.P)
    await _move("MUG", 1, b1, b2)
    report = await run_check()
    # Every balance agrees with the movements row by row: only the checkpoint is wrong.
    assert [str(d) for d in report.drifts] == [(
        "the check's checkpoint disagrees with the movements although every balance agrees with them:"
        " it was changed outside the check; run `stockline check --full`"
    )]
    assert (await run_check(full=True)).drifts == []
    assert (await run_check()).drifts == []


async def test_a_drift_is_named_from_the_rows_of_the_last_full_check_and_the_movements_since(ledger_db):
    b1, b2, b3 = await _stocked()
    assert (await run_check(full=True)).drifts == []  # rows as of now: MUG 10 in b1, TEA 5 in b2
    await _move("MUG", 4, b1, b3)
    await _move("TEA", 2, b2, b3)
    await _shift_on_hand("MUG", b3, +1)
    report = await run_check()
    assert [str(d).split(": ", 1)[1] for d in report.drifts] == ["on_hand is 5 but the ledger says 4"]
    assert report.drifts[0].location_id == (await db.fetch_one("SELECT id FROM locations WHERE code = {}", b3))["id"]
    await _shift_on_hand("MUG", b3, -1)


async def test_rows_changed_behind_the_check_are_not_used_to_name_a_drift(ledger_db):
    b1, b2, _ = await _stocked()
    assert (await run_check(full=True)).drifts == []  # the rows, as of now
    await db.fetch("UPDATE ledger_checkpoint_balances SET on_hand = on_hand + 3")
    await _move("MUG", 1, b1, b2)
    await _shift_on_hand("TEA", b2, -2)
    report = await run_check()
    assert [d.problem for d in report.drifts] == ["on_hand is 3 but the ledger says 5"]  # from the movements
    await _shift_on_hand("TEA", b2, +2)


async def test_a_drift_between_two_lots_of_one_bin_is_found(ledger_db):
    b1, *_ = await warehouse()
    await item("EGG", lot_tracked=True)
    await receive("EGG", 6, b1, lot="L-0001")
    await receive("EGG", 6, b1, lot="L-0002")
    assert (await run_check()).drifts == []
    await db.fetch("UPDATE balances SET on_hand = on_hand + CASE lot WHEN 'L-0001' THEN 1 ELSE -1 END")
    report = await run_check()
    assert [str(d).split(": ", 1)[1] for d in report.drifts] == [
        "on_hand is 7 but the ledger says 6",
        "on_hand is 5 but the ledger says 6",
    ]
    await db.fetch("UPDATE balances SET on_hand = 6")


async def test_the_digest_summed_movement_by_movement_equals_the_rows_summed_by_key(ledger_db):
    b1, b2, _ = await _stocked()
    await c.execute(c.Quarantine(sku="MUG", qty=2, location=b1), key=key("q"), actor="test")
    for _ in range(3):
        await _move("MUG", 1, b1, b2)
    newest = await _newest_movement_id()
    await _checkpoint.advance(newest, batch_ids=2)  # 6 movements, 3 batches
    by_movement = await _checkpoint.read_checkpoint()
    rebuilt = await _checkpoint.rebuild(newest)
    assert by_movement is not None and by_movement.as_of_movement_id == rebuilt.as_of_movement_id == newest
    assert by_movement.digest == rebuilt.digest == rebuilt.rows_digest
    rows = await db.fetch("SELECT on_hand, quarantined FROM ledger_checkpoint_balances ORDER BY item_id, location_id")
    assert [(r["on_hand"], r["quarantined"]) for r in rows] == [(7, 2), (3, 0), (5, 0)]
    assert (await run_check()).drifts == []


async def test_the_checkpoint_survives_a_restart(ledger_db):
    from tests.integration.test_cli import stockline

    b1, b2, _ = await _stocked()
    first = stockline(ledger_db, "check")
    assert first.returncode == 0 and "checkpoint moved from movement #0 to #2;" in first.stdout
    newest = await _move("MUG", 1, b1, b2)
    second = stockline(ledger_db, "check")  # a new process: the checkpoint came from the database
    assert second.returncode == 0 and f"checkpoint moved from movement #2 to #{newest};" in second.stdout
    await _shift_on_hand("MUG", b1, +1)
    drift = stockline(ledger_db, "check")
    assert drift.returncode == 1 and "on_hand is 10 but the ledger says 9" in drift.stdout
    await _shift_on_hand("MUG", b1, -1)
    full = stockline(ledger_db, "check", "--full")
    assert full.returncode == 0 and f"full check: checkpoint moved from movement #0 to #{newest};" in full.stdout
