"""On PostgreSQL a ledger command is one statement (`stockline_post`), counted on the wire; what it
refuses leaves nothing behind, so a caller's transaction needs no savepoint around it. The words of
its errors are the in-process path's: the same tests run on SQLite."""

from __future__ import annotations

from datetime import date

import msgspec
import pytest

from backend import db
from backend.domain import errors, purchasing
from backend.domain.auth import audit
from backend.domain.ledger import commands as c
from backend.domain.ledger.audited import execute_as
from tests.factories import item, key, receive, warehouse
from tests.statements import StatementLog

pytestmark = pytest.mark.usefixtures("ledger_db")


@pytest.fixture
def statements(monkeypatch: pytest.MonkeyPatch) -> StatementLog:
    return StatementLog().install(monkeypatch)


async def run(cmd, k: str | None = None):
    return await c.execute(cmd, key=k or key(), actor="test")


def _postgres() -> bool:
    return db.is_postgres()


async def test_a_move_is_one_statement(statements):
    b1, b2, _ = await warehouse()
    await item("MUG")
    await receive("MUG", 10, b1)
    with statements.counting() as sent:
        result = await run(c.Move(sku="MUG", qty=4, from_location=b1, to_location=b2))
    assert len(result.movement_ids) == 1
    if _postgres():
        assert len(sent) == 1, sent  # no BEGIN, no COMMIT: the statement is its own transaction
        assert "stockline_post" in sent[0]


async def test_every_kind_of_command_is_one_statement(statements):
    b1, b2, _ = await warehouse()
    await item("MUG")
    await item("LOT", lot_tracked=True)
    commands = [
        c.Receive(sku="MUG", qty=2, unit="case", to_location=b1),
        c.Receive(sku="LOT", qty=5, lot="L1", expiry=date(2031, 1, 31), to_location=b1),
        c.Move(sku="MUG", qty=3, from_location=b1, to_location=b2),
        c.Adjust(sku="MUG", delta=-2, location=b1, reason="lost"),
        c.Adjust(sku="MUG", delta=1, location=b2, reason="found"),
        c.Quarantine(sku="MUG", qty=2, location=b1),
        c.ReleaseQuarantine(sku="MUG", qty=1, location=b1),
        c.Quarantine(sku="MUG", qty=1, location=b1, state="damaged"),
        c.Scrap(sku="MUG", qty=1, location=b1, state="damaged"),
        c.Ship(sku="MUG", qty=1, from_location=b2),
    ]
    counts = []
    for cmd in commands:
        with statements.counting() as sent:
            await run(cmd)
        counts.append(len(sent))
    with statements.counting() as sent:
        reserved = await run(c.Reserve(lines=[c.ReserveLine(sku="MUG", qty=3, location=b1),
                                              c.ReserveLine(sku="LOT", qty=2, location=b1, lot="L1")]))
    counts.append(len(sent))
    mug = min(reserved.reservation_ids)
    moved = await run(c.Move(sku="MUG", qty=1, from_location=b1, to_location=b2))
    for cmd in (c.Pick(reservation_id=mug, qty=2), c.ReleaseReservation(reservation_id=mug),
                c.Reverse(movement_id=moved.movement_ids[0], reason="wrong bin")):
        with statements.counting() as sent:
            await run(cmd)
        counts.append(len(sent))
    if _postgres():
        # A Reverse first reads the movement it reverses: whether an area's reversal hook concerns it
        # (a receipt against a purchase order, backend.domain.purchasing, moves the order back).
        assert purchasing.concerns_an_order in [h.concerns for h in c._AFTER_REVERSAL]
        assert counts == [1] * (len(counts) - 1) + [2], counts


async def test_a_replay_is_one_statement_and_posts_nothing_twice(statements):
    b1, b2, _ = await warehouse()
    await item("MUG")
    await receive("MUG", 10, b1)
    move = c.Move(sku="MUG", qty=4, from_location=b1, to_location=b2)
    first = await run(move, "same-key")
    with statements.counting() as sent:
        again = await run(move, "same-key")
    assert again.replayed and again.movement_ids == first.movement_ids
    if _postgres():
        assert len(sent) == 1
    with pytest.raises(errors.IdempotencyConflict):
        await run(c.Move(sku="MUG", qty=5, from_location=b1, to_location=b2), "same-key")


async def test_execute_as_writes_the_audit_row_in_the_same_statement(statements):
    b1, b2, _ = await warehouse()
    await item("MUG")
    await receive("MUG", 10, b1)
    actor = audit.Actor("user:ana", "hh-7", 3, "picker")
    with statements.counting() as sent:
        result = await execute_as(c.Move(sku="MUG", qty=4, from_location=b1, to_location=b2), key="k-audit",
                                  actor=actor, note={"txn_id": "t-1"})
    if _postgres():
        assert len(sent) == 1
    rows = await audit.recent(entity="command", entity_id="k-audit")
    assert len(rows) == 1
    row = rows[0]
    assert (row["actor"], row["device"], row["action"]) == ("user:ana", "hh-7", "ledger.move")
    expected = audit._text({**msgspec.to_builtins(c.Move(sku="MUG", qty=4, from_location=b1, to_location=b2)),
                            "movement_ids": result.movement_ids, "txn_id": "t-1"})
    assert row["after"] == expected  # the same text on both databases
    await execute_as(c.Move(sku="MUG", qty=4, from_location=b1, to_location=b2), key="k-audit", actor=actor,
                     note={"txn_id": "t-1"})
    assert len(await audit.recent(entity="command", entity_id="k-audit")) == 1  # a replay is not audited again


async def test_missing_stock_names_what_is_there_and_where_else(statements):
    b1, b2, b3 = await warehouse()
    await item("MUG")
    await receive("MUG", 3, b2)
    await receive("MUG", 7, b3)
    # b1 sorts before b2: the destination's balance is changed before the source is refused. The units this
    # move would have brought to b1 are not "available elsewhere".
    with statements.counting() as sent, pytest.raises(errors.InsufficientStock) as info:
        await run(c.Move(sku="MUG", qty=5, from_location=b2, to_location=b1))
    assert info.value.message == f"Not enough MUG in {b2}: 5 needed, 3 available. Available elsewhere: {b3}: 7."
    assert (info.value.requested, info.value.available) == (5, 3)
    if _postgres():
        assert len(sent) == 1
    rows = await db.fetch("SELECT on_hand FROM balances ORDER BY location_id")
    assert [r["on_hand"] for r in rows] == [3, 7]
    assert not await db.fetch("SELECT key FROM command_log WHERE kind = 'Move'")


async def test_missing_quarantined_units_are_counted_as_quarantined():
    b1, *_ = await warehouse()
    await item("MUG")
    await receive("MUG", 5, b1)
    await run(c.Quarantine(sku="MUG", qty=2, location=b1))
    with pytest.raises(errors.InsufficientStock) as info:
        await run(c.ReleaseQuarantine(sku="MUG", qty=3, location=b1))
    assert info.value.message == f"Not enough MUG in {b1}: 3 needed, 2 available."


async def test_a_refused_command_inside_a_transaction_leaves_nothing_and_the_transaction_goes_on(statements):
    b1, b2, _ = await warehouse()
    await item("MUG")
    await receive("MUG", 3, b1)

    async def work() -> None:
        with pytest.raises(errors.InsufficientStock):
            await run(c.Move(sku="MUG", qty=5, from_location=b1, to_location=b2), "k-short")
        await run(c.Move(sku="MUG", qty=2, from_location=b1, to_location=b2), "k-short")  # the key is free again

    with statements.counting() as sent:
        await db.run_in_transaction(work)
    if _postgres():
        assert not [s for s in sent if "SAVEPOINT" in s.upper()], sent
        assert len(sent) == 4  # BEGIN, the refused move, the move, COMMIT
    rows = await db.fetch("SELECT on_hand FROM balances ORDER BY location_id")
    assert [r["on_hand"] for r in rows] == [1, 2]


async def test_what_only_the_in_process_path_words_gets_its_words():
    b1, *_ = await warehouse()
    await item("MUG")
    await item("LOT", lot_tracked=True)
    with pytest.raises(errors.UnknownItem):
        await run(c.Move(sku="NOPE", qty=1, from_location=b1, to_location="WH1-B2"))
    with pytest.raises(errors.UnknownLocation):
        await run(c.Receive(sku="MUG", qty=1, to_location="NOWHERE"))
    with pytest.raises(errors.InvalidInput, match="tracked by lot"):
        await run(c.Receive(sku="LOT", qty=1, to_location=b1))
    with pytest.raises(errors.InvalidInput, match="same location"):
        await run(c.Move(sku="MUG", qty=1, from_location=b1, to_location=b1.lower()))
    with pytest.raises(errors.InvalidInput, match="has no unit"):
        await run(c.Receive(sku="MUG", qty=1, unit="pallet", to_location=b1))
    with pytest.raises(errors.InvalidInput, match="not a place that holds stock"):
        await run(c.Receive(sku="MUG", qty=1, to_location="WH1"))
    assert not await db.fetch("SELECT key FROM command_log")
