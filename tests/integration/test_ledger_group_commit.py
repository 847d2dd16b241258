"""Group commit on PostgreSQL: ledger commands posted at the same time by one process go as one
statement, and each caller still gets exactly its own answer (backend/domain/ledger/_groupcommit.py)."""

from __future__ import annotations

import asyncio
import dataclasses
import random
from collections import Counter

import asyncpg
import pytest

from backend import db
from backend.domain import errors
from backend.domain.ledger import _groupcommit
from backend.domain.ledger import commands as c
from tests.factories import item, key, receive, warehouse
from tests.statements import StatementLog

WORKERS = 8
POSTINGS_PER_WORKER = 40


@pytest.fixture
def backend() -> str:
    return "postgres"  # group commit is PostgreSQL's; SQLite posts in process


@pytest.fixture
def statements(monkeypatch: pytest.MonkeyPatch) -> StatementLog:
    return StatementLog().install(monkeypatch)


@pytest.fixture
def one_flush(monkeypatch: pytest.MonkeyPatch) -> None:
    """One flush in flight: postings made together share one statement (what these tests look into)."""
    monkeypatch.setattr(_groupcommit, "FLUSHES_IN_FLIGHT_MAX", 1)


def move(sku: str, qty: int, src: str, dst: str) -> c.Move:
    return c.Move(sku=sku, qty=qty, from_location=src, to_location=dst)


async def on_hand() -> dict[tuple[str, str], int]:
    rows = await db.fetch("SELECT i.sku, l.code, b.on_hand FROM balances b JOIN items i ON i.id = b.item_id"
                          " JOIN locations l ON l.id = b.location_id")
    return {(r["sku"], r["code"]): r["on_hand"] for r in rows if r["on_hand"]}


async def test_postings_at_the_same_time_are_one_statement_taking_from_one_balance(ledger_db, statements, one_flush):
    b1, b2, _ = await warehouse()
    await item("MUG")
    await receive("MUG", 10, b1)
    with statements.counting() as sent:
        results = await asyncio.gather(*(c.execute(move("MUG", 4, b1, b2), key=key(), actor=f"h{n}")
                                         for n in range(3)), return_exceptions=True)
    assert len(sent) == 1, sent
    assert "UNION ALL" in sent[0]
    posted = [r for r in results if isinstance(r, c.CommandResult)]
    short = [r for r in results if isinstance(r, errors.InsufficientStock)]
    assert (len(posted), len(short)) == (2, 1), results
    assert (short[0].requested, short[0].available) == (4, 2)
    assert [(a.location, a.available) for a in short[0].elsewhere] == [(b2, 8)]
    assert await on_hand() == {("MUG", b1): 2, ("MUG", b2): 8}
    assert len({m for r in posted for m in r.movement_ids}) == 2


async def test_one_insufficient_command_in_a_flush_leaves_the_others_posted(ledger_db, statements, one_flush):
    b1, b2, b3 = await warehouse()
    await item("MUG")
    await item("TEA")
    await receive("MUG", 5, b1)
    await receive("TEA", 5, b2)
    commands = [move("MUG", 2, b1, b3), move("TEA", 9, b2, b3), move("TEA", 5, b2, b1), move("MUG", 3, b1, b2)]
    with statements.counting() as sent:
        results = await asyncio.gather(*(c.execute(cmd, key=key(), actor="h") for cmd in commands),
                                       return_exceptions=True)
    assert len(sent) == 1, sent
    assert isinstance(results[1], errors.InsufficientStock)
    assert (results[1].sku, results[1].location, results[1].requested, results[1].available) == ("TEA", b2, 9, 5)
    assert all(isinstance(r, c.CommandResult) and len(r.movement_ids) == 1 for i, r in enumerate(results) if i != 1)
    assert await on_hand() == {("MUG", b2): 3, ("MUG", b3): 2, ("TEA", b1): 5}


async def test_the_same_key_twice_in_one_flush_posts_once(ledger_db, statements, one_flush):
    b1, b2, _ = await warehouse()
    await item("MUG")
    await receive("MUG", 10, b1)
    same = key("twice")
    with statements.counting() as sent:
        first, second = await asyncio.gather(*(c.execute(move("MUG", 3, b1, b2), key=same, actor="h")
                                               for _ in range(2)))
    assert len(sent) == 1, sent
    assert first.movement_ids == second.movement_ids
    assert len(first.movement_ids) == 1
    assert sorted([first.replayed, second.replayed]) == [False, True]
    assert await on_hand() == {("MUG", b1): 7, ("MUG", b2): 3}


async def test_a_member_that_breaks_the_flush_statement_fails_alone(ledger_db, statements, one_flush):
    b1, b2, _ = await warehouse()
    await item("MUG")
    await receive("MUG", 10, b1)
    broken = c.prepare_posting(move("MUG", 1, b1, b2), key=key("broken"), actor="h")
    assert broken is not None
    broken = dataclasses.replace(broken, args=[*broken.args[:6], "no such mode", *broken.args[7:]])
    with statements.counting() as sent:
        results = await asyncio.gather(
            c.execute(move("MUG", 2, b1, b2), key=key(), actor="h"),
            _groupcommit.fetchrow(broken),
            c.execute(move("MUG", 3, b1, b2), key=key(), actor="h"),
            return_exceptions=True)
    assert "UNION ALL" in sent[0]
    assert len(sent) == 4, sent  # the flush, rolled back; then each of the three alone
    assert isinstance(results[1], asyncpg.PostgresError)
    assert "unknown mode" in str(results[1])
    assert [len(r.movement_ids) for r in (results[0], results[2])] == [1, 1]
    assert await on_hand() == {("MUG", b1): 5, ("MUG", b2): 5}
    assert await db.fetch_one("SELECT key FROM command_log WHERE key = {}", broken.key) is None


async def test_flushes_side_by_side_take_their_rows_in_the_ledgers_lock_order(ledger_db, statements):
    """Two flushes in flight whose commands take the same rows in opposite orders: each locks all its
    rows first, sorted, so neither waits on the other while holding what the other needs (a deadlock
    would roll a flush back and send its members again alone: more statements)."""
    b1, b2, _ = await warehouse()
    for sku in ("MUG", "TEA"):
        await item(sku)
        await receive(sku, 10, b1)
        await receive(sku, 10, b2)
    assert _groupcommit.FLUSHES_IN_FLIGHT_MAX == 2
    commands = [move("MUG", 1, b1, b2), move("TEA", 1, b1, b2), move("TEA", 2, b2, b1), move("MUG", 2, b2, b1)]
    for _ in range(5):
        with statements.counting() as sent:
            results = await asyncio.gather(*(c.execute(cmd, key=key(), actor="h") for cmd in commands))
        assert len(sent) == 2, sent  # two flushes of two, side by side, none rolled back
        assert all(q.startswith("SELECT -1 AS k") and "stockline_lock_balances" in q for q in sent)
        assert all(len(r.movement_ids) == 1 for r in results)
    assert await on_hand() == {("MUG", b1): 15, ("MUG", b2): 5, ("TEA", b1): 15, ("TEA", b2): 5}


async def test_a_posting_inside_a_callers_transaction_joins_it(ledger_db):
    b1, b2, _ = await warehouse()
    await item("MUG")
    await receive("MUG", 10, b1)
    inside = key("inside")

    async def move_then_fail() -> None:
        await c.execute(move("MUG", 4, b1, b2), key=inside, actor="h")
        await c.execute(move("MUG", 1, b1, b2), key=key(), actor="h")
        raise errors.InvalidInput("the caller changes its mind")

    posted_outside = c.execute(move("MUG", 2, b1, b2), key=key(), actor="h")
    results = await asyncio.gather(db.run_in_transaction(move_then_fail), posted_outside, return_exceptions=True)
    assert isinstance(results[0], errors.InvalidInput)
    assert isinstance(results[1], c.CommandResult)
    assert await on_hand() == {("MUG", b1): 8, ("MUG", b2): 2}  # only the one outside the transaction
    assert await db.fetch_one("SELECT key FROM command_log WHERE key = {}", inside) is None


async def test_cancelled_callers_do_not_stop_the_others(ledger_db, statements, one_flush):
    b1, b2, _ = await warehouse()
    await item("MUG")
    await receive("MUG", 10, b1)
    keys = [key("c") for _ in range(4)]

    def start(k: str) -> asyncio.Future[c.CommandResult]:
        return asyncio.ensure_future(c.execute(move("MUG", 1, b1, b2), key=k, actor="h"))

    with statements.counting() as sent:
        tasks = [start(keys[0])]
        while not sent:  # noqa: ASYNC110 - until the first posting's statement is on its way (in flight)
            await asyncio.sleep(0)
        tasks += [start(k) for k in keys[1:]]
        await asyncio.sleep(0)  # the others queue behind it
        tasks[0].cancel()
        tasks[2].cancel()
        results = await asyncio.gather(*tasks, return_exceptions=True)
    assert len(sent) == 2, sent  # the first alone, then the two still waiting together
    assert isinstance(results[0], asyncio.CancelledError)
    assert isinstance(results[2], asyncio.CancelledError)
    assert all(isinstance(results[n], c.CommandResult) for n in (1, 3))
    logged = {r["key"] for r in await db.fetch("SELECT key FROM command_log WHERE key LIKE 'c-%'")}
    assert logged == {keys[0], keys[1], keys[3]}  # the first was sent, so it committed; the third never was
    assert await on_hand() == {("MUG", b1): 7, ("MUG", b2): 3}


async def test_many_concurrent_postings_on_shared_and_separate_balances(ledger_db, statements):
    bins = await warehouse(bins=4)
    skus = [await item(s) for s in ("MUG", "TEA", "PEN")]
    for sku in skus:
        for b in bins[:2]:
            await receive(sku, 30, b)
    expected: Counter[tuple[str, str]] = Counter({(s, b): 30 for s in skus for b in bins[:2]})
    refused = [0]

    async def worker(w: int) -> None:
        rng = random.Random(w)
        for _ in range(POSTINGS_PER_WORKER):
            sku, (src, dst), qty = rng.choice(skus), rng.sample(bins, 2), rng.randint(1, 6)
            try:
                await c.execute(move(sku, qty, src, dst), key=key("many"), actor=f"h{w}")
            except errors.InsufficientStock:
                refused[0] += 1
                continue
            expected[(sku, src)] -= qty
            expected[(sku, dst)] += qty

    with statements.counting() as sent:
        await asyncio.gather(*(worker(w) for w in range(WORKERS)))
    postings = WORKERS * POSTINGS_PER_WORKER
    assert len(sent) < postings / 2, len(sent)  # most flushes carried several postings
    assert 0 < refused[0] < postings
    assert await on_hand() == {k: v for k, v in expected.items() if v}
    movements = await db.fetch_one("SELECT count(*) AS n FROM movements WHERE reason = 'move'")
    assert movements is not None
    assert movements["n"] == postings - refused[0]
