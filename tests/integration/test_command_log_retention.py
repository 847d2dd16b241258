"""command_log retention: answers of old idempotency keys are compacted, keys and movements stay
explainable, and a retry of a compacted key is refused rather than run again."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime, timedelta

import pytest

from backend import db
from backend.domain.errors import IdempotencyKeyExpired, InvalidInput
from backend.domain.idempotency import claim, payload_hash
from backend.domain.ledger import commands as c
from backend.domain.ledger.posting import CommandResult, Plan, post
from backend.domain.ledger.retention import compact_command_log
from tests.factories import item, warehouse

NOW = datetime.now(UTC)


async def _move_on(day: datetime, key: str, bins: list[str]) -> CommandResult:
    result = await c.execute(c.Move(sku="MUG", qty=1, from_location=bins[0], to_location=bins[1]), key=key,
                             actor="picker-7")
    # As if posted that day (command_log rows are not the append-only ledger).
    await db.fetch("UPDATE command_log SET created_at = {} WHERE key = {}", day, key)
    return result


async def _stocked() -> list[str]:
    bins = await warehouse()
    await item("MUG")
    await c.execute(c.Receive(sku="MUG", qty=10, to_location=bins[0]), key="rcv", actor="receiver")
    await db.fetch("UPDATE command_log SET created_at = {} WHERE key = 'rcv'", NOW - timedelta(days=60))
    return bins


async def test_keys_past_the_window_lose_their_answer_and_keep_their_movements_explained(ledger_db):
    bins = await _stocked()
    old = await _move_on(NOW - timedelta(days=31), "old-move", bins)
    await _move_on(NOW - timedelta(days=29), "recent-move", bins)
    report = await compact_command_log(keep_days=30, now=NOW)
    assert report.keys == 2 and report.caught_up  # the receipt and the old move
    rows = {r["key"]: r for r in await db.fetch("SELECT key, payload_hash, result, compacted_at FROM command_log")}
    assert [k for k, r in sorted(rows.items()) if r["compacted_at"] is not None] == ["old-move", "rcv"]
    assert (rows["old-move"]["payload_hash"], rows["old-move"]["result"]) == ("", "")
    assert rows["recent-move"]["payload_hash"] and rows["recent-move"]["result"]
    explained = await db.fetch_one(
        "SELECT m.qty, m.reason, m.actor, k.kind, k.actor AS command_actor FROM movements m"
        " JOIN command_log k ON k.key = m.command_key WHERE m.id = {}", old.movement_ids[0])
    assert explained == {"qty": 1, "reason": "move", "actor": "picker-7", "kind": "Move", "command_actor": "picker-7"}


async def test_a_retry_of_a_compacted_key_is_refused_and_posts_nothing(ledger_db):
    bins = await _stocked()
    await _move_on(NOW - timedelta(days=40), "old-move", bins)
    await compact_command_log(keep_days=30, now=NOW)
    before = await db.fetch_one("SELECT COUNT(*) AS n FROM movements")
    with pytest.raises(IdempotencyKeyExpired):
        await c.execute(c.Move(sku="MUG", qty=1, from_location=bins[0], to_location=bins[1]), key="old-move",
                        actor="picker-7")
    assert await db.fetch_one("SELECT COUNT(*) AS n FROM movements") == before


async def test_compaction_resumes_where_it_stopped_and_never_twice(ledger_db):
    bins = await _stocked()
    await _move_on(NOW - timedelta(days=45), "a", bins)
    first = await compact_command_log(keep_days=30, now=NOW)
    await _move_on(NOW - timedelta(days=20), "b", bins)
    again = await compact_command_log(keep_days=30, now=NOW)
    later = await compact_command_log(keep_days=15, now=NOW)
    assert (first.keys, again.keys, later.keys) == (2, 0, 1)
    assert later.compacted_before == NOW - timedelta(days=15)


async def test_the_window_cannot_be_shorter_than_clients_retry(ledger_db):
    with pytest.raises(InvalidInput):
        await compact_command_log(keep_days=14, now=NOW)


async def test_a_second_post_under_one_key_rolls_back(ledger_db):
    bins = await _stocked()
    from backend.domain.catalog.service import get_item
    from backend.domain.ledger.posting import Leg
    from backend.domain.locations.service import get_location

    mug, src, dst = await get_item("MUG"), await get_location(bins[0]), await get_location(bins[1])
    plan = Plan([Leg(mug, "", 1, src, dst, reason="move")])

    async def twice() -> None:
        assert await claim("twice", "Move", payload_hash("Move", {"n": 1}), "test") is None
        await post("twice", "Move", plan, "test")
        await post("twice", "Move", plan, "test")

    # PostgreSQL: post()'s one-result-per-key guard; SQLite still has m0001's unique movement key.
    refusal = AssertionError if db.is_postgres() else sqlite3.IntegrityError
    with pytest.raises(refusal):
        await db.run_in_transaction(twice)
    assert await db.fetch("SELECT id FROM movements WHERE command_key = 'twice'") == []


async def test_compact_commands_from_the_command_line(ledger_db):
    from tests.integration.test_cli import stockline

    await _stocked()  # its receipt is 60 days old
    done = stockline(ledger_db, "compact-commands")
    assert done.returncode == 0 and "compacted 1 key(s)" in done.stdout
    assert stockline(ledger_db, "compact-commands", "--keep-days", "7").returncode == 2
