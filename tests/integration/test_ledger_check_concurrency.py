"""The check on PostgreSQL while postings run: no false drift, and no movement skipped by a checkpoint
even when movement ids commit out of order."""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import asyncpg
import pytest

from backend import db
from backend.domain.errors import InsufficientStock
from backend.domain.ledger import commands as c
from backend.domain.ledger.check import CheckReport, run_check
from tests.conftest import PG_ADMIN_URL
from tests.factories import item, key, receive, warehouse

CLIENTS = 6
CHECKERS = 2
POSTING_S = 6.0
SKUS = ("MUG", "TEA", "JAR")


@pytest.fixture
def backend() -> str:
    return "postgres"  # concurrent transactions and out-of-order commits: the production database


async def _stocked() -> list[str]:
    bins = await warehouse(bins=4)
    for sku in SKUS:
        await item(sku)
        for bin_code in bins:
            await receive(sku, 50, bin_code)
    return bins


async def _client(n: int, bins: list[str], deadline: float) -> int:
    """Moves 1–3 units of a random item between random bins until the deadline; returns moves made."""
    rng, made = random.Random(n), 0
    while time.monotonic() < deadline:
        src, dst = rng.sample(bins, 2)
        move = c.Move(sku=rng.choice(SKUS), qty=rng.randint(1, 3), from_location=src, to_location=dst)
        try:
            await c.execute(move, key=key(f"client{n}"), actor=f"client-{n}")
            made += 1
        except InsufficientStock:
            continue
    return made


async def _checker(deadline: float, full_every: int) -> list[CheckReport]:
    reports, n = [], 0
    while time.monotonic() < deadline:
        n += 1
        reports.append(await run_check(full=n % full_every == 0))
    return reports


async def test_checks_while_clients_post_report_no_drift(ledger_db):
    bins = await _stocked()
    deadline = time.monotonic() + POSTING_S
    results = await asyncio.gather(*(_client(n, bins, deadline) for n in range(CLIENTS)),
                                   *(_checker(deadline, full_every=3 + n) for n in range(CHECKERS)))
    moves, reports = sum(results[:CLIENTS]), [r for batch in results[CLIENTS:] for r in batch]
    assert moves > 50, "the clients should have posted while the checks ran"
    assert len(reports) >= 4
    assert [str(d) for r in reports for d in r.drifts] == []
    assert any(r.advanced_from < r.checkpoint_movement_id for r in reports if not r.full)
    final = await run_check()  # quiet now: the checkpoint reaches the newest movement
    row = await db.fetch_one("SELECT MAX(id) AS id FROM movements")
    assert final.drifts == [] and final.settled and row is not None
    assert final.checkpoint_movement_id == row["id"]


async def _posting_held_open(sku: str, src: str, dst: str, numbered: asyncio.Future, release: asyncio.Event) -> None:
    """A posting that takes its movement id, then waits before committing."""

    async def work() -> None:
        result = await c.execute(c.Move(sku=sku, qty=1, from_location=src, to_location=dst), key=key("slow"),
                                 actor="slow-client")
        numbered.set_result(result.movement_ids[0])
        await release.wait()

    await db.run_in_transaction(work)


@asynccontextmanager
async def _slow_and_fast_postings(bins: list[str]) -> AsyncIterator[tuple[int, int]]:
    """MUG's move takes its id and stays open; TEA's move, numbered after it, commits first.
    Yields both ids; MUG's commits when the block ends (also when an assertion in it fails)."""
    numbered: asyncio.Future = asyncio.get_running_loop().create_future()
    release = asyncio.Event()
    slow = asyncio.create_task(_posting_held_open("MUG", bins[0], bins[1], numbered, release))
    try:
        slow_id = await numbered
        fast = await c.execute(c.Move(sku="TEA", qty=1, from_location=bins[0], to_location=bins[1]),
                               key=key("fast"), actor="fast-client")
        assert fast.movement_ids[0] > slow_id
        yield slow_id, fast.movement_ids[0]
    finally:
        release.set()
        await slow


async def test_a_movement_numbered_before_the_checkpoint_and_committed_after_it_is_not_skipped(ledger_db):
    bins = await _stocked()
    async with _slow_and_fast_postings(bins) as (slow_id, fast_id):
        while_open = await run_check(settle_wait_s=0.3)
        assert while_open.drifts == [] and not while_open.settled
        assert while_open.checkpoint_movement_id < slow_id
    after = await run_check()
    assert after.drifts == [] and after.settled
    assert after.checkpoint_movement_id == fast_id


async def test_a_check_waits_for_a_posting_in_flight_then_covers_it(ledger_db):
    bins = await _stocked()
    async with _slow_and_fast_postings(bins) as (slow_id, fast_id):
        check = asyncio.create_task(run_check(settle_wait_s=10))
        await asyncio.sleep(0.3)
        assert not check.done()  # waiting for the posting that holds the lower id
    report = await check
    assert report.drifts == [] and report.settled
    assert report.checkpoint_movement_id == fast_id > slow_id


async def test_a_transaction_in_another_database_does_not_hold_the_checkpoint(ledger_db):
    b1, b2, *_ = await _stocked()
    elsewhere = await asyncpg.connect(PG_ADMIN_URL)  # another database of the same server
    try:
        async with elsewhere.transaction():
            await elsewhere.fetchval("SELECT pg_current_xact_id()")  # holds a transaction id, like a write
            newest = await c.execute(c.Move(sku="MUG", qty=1, from_location=b1, to_location=b2), key=key("mv"),
                                     actor="client")
            report = await run_check(settle_wait_s=0.5)
    finally:
        await elsewhere.close()
    assert report.settled and report.checkpoint_movement_id == newest.movement_ids[0]
