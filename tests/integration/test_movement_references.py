"""Every movement names an item and two locations that exist. Items and locations are never deleted nor
renumbered (both databases). SQLite keeps the foreign keys of `movements`; PostgreSQL checks no foreign key
of an item or location per inserted movement, and `stockline check` reports a movement that names one that
does not exist."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from backend import db
from backend.domain.catalog.service import get_item
from backend.domain.ledger.check import check_ledger
from backend.domain.locations.service import get_location
from backend.migrations import migrate
from tests.factories import item, receive, warehouse

MISSING_ID = 987_654


async def test_an_item_or_location_with_movements_is_never_deleted_nor_renumbered(ledger_db):
    b1, *_ = await warehouse()
    await item("MUG")
    await receive("MUG", 3, b1)
    mug, bin_ = await get_item("MUG"), await get_location(b1)
    for statement, arg in (("DELETE FROM items WHERE id = {}", mug.id),
                           ("UPDATE items SET id = id + 1000 WHERE id = {}", mug.id),
                           ("DELETE FROM locations WHERE id = {}", bin_.id),
                           ("UPDATE locations SET id = id + 1000 WHERE id = {}", bin_.id)):

        async def change(statement: str = statement, arg: int = arg) -> None:
            await db.fetch(statement, arg)

        with pytest.raises(Exception, match="never deleted or renumbered: movements name them"):
            await db.run_in_transaction(change)
    await db.fetch("UPDATE items SET active = FALSE WHERE id = {}", mug.id)  # what to do instead


async def test_a_movement_naming_an_item_or_location_that_does_not_exist_is_refused_or_reported(empty_db):
    await migrate()
    b1, *_ = await warehouse()
    await item("MUG")
    await receive("MUG", 3, b1)
    mug, bin_, supplier = await get_item("MUG"), await get_location(b1), await get_location("SUPPLIER")
    assert await check_ledger() == []
    claim = await db.fetch_one("SELECT key FROM command_log ORDER BY created_at LIMIT 1")
    assert claim is not None
    # Each names another missing id, so that no two cancel out.
    for n, (item_id, src, dst) in enumerate(((MISSING_ID, supplier.id, bin_.id), (mug.id, MISSING_ID + 1, bin_.id),
                                              (mug.id, supplier.id, MISSING_ID + 2))):
        # Written behind the ledger (no balance changed), as only a bug could.
        async def orphan(n: int = n, item_id: int = item_id, src: int = src, dst: int = dst) -> None:
            await db.fetch(
                "INSERT INTO movements (idempotency_key, command_key, item_id, lot, qty, from_location_id,"
                " to_location_id, from_state, to_state, reason, actor, doc_ref, created_at)"
                " VALUES ({}, {}, {}, '', 1, {}, {}, 'available', 'available', 'receipt', 'test', '', {})",
                f"{claim['key']}#orphan-{n}", claim["key"], item_id, src, dst, datetime.now(UTC))

        if not db.is_postgres():
            with pytest.raises(Exception, match="FOREIGN KEY constraint failed"):
                await db.run_in_transaction(orphan)
            continue
        await db.run_in_transaction(orphan)
        named = {(d.item_id, d.location_id) for d in await check_ledger()}
        assert (item_id, src if src > MISSING_ID else dst) in named, named


async def test_a_movement_naming_a_command_that_is_not_logged_is_refused_or_reported(empty_db):
    """PostgreSQL checks no foreign key from movements to command_log (m0018): deleting a refused
    command's claim scanned every movement, as movements have no index on command_key. `stockline
    check --full` reports such a movement instead; SQLite keeps the foreign key."""
    await migrate()
    b1, *_ = await warehouse()
    await item("MUG")
    await receive("MUG", 3, b1)
    mug, bin_, supplier = await get_item("MUG"), await get_location(b1), await get_location("SUPPLIER")

    async def orphan() -> None:
        await db.fetch(
            "INSERT INTO movements (idempotency_key, command_key, item_id, lot, qty, from_location_id,"
            " to_location_id, from_state, to_state, reason, actor, doc_ref, created_at)"
            " VALUES ('never-logged#0', 'never-logged', {}, '', 1, {}, {}, 'available', 'available', 'receipt',"
            " 'test', '', {})", mug.id, supplier.id, bin_.id, datetime.now(UTC))
        await db.fetch("UPDATE balances SET on_hand = on_hand + 1 WHERE item_id = {} AND location_id = {}",
                       mug.id, bin_.id)  # the stock agrees: only the missing command is wrong

    if not db.is_postgres():
        with pytest.raises(Exception, match="FOREIGN KEY constraint failed"):
            await db.run_in_transaction(orphan)
        return
    fks = await db.fetch("SELECT conname FROM pg_constraint WHERE conrelid = 'movements'::regclass"
                         " AND confrelid = 'command_log'::regclass")
    assert fks == []
    fks = await db.fetch("SELECT conname FROM pg_constraint WHERE conrelid = 'reservations'::regclass"
                         " AND confrelid = 'command_log'::regclass")
    assert fks == []
    await db.run_in_transaction(orphan)
    drifts = await check_ledger()
    assert [d.problem for d in drifts] == [
        "movement #2 names command 'never-logged', which is not in the command log"], drifts
