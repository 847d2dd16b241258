"""A big cycle count posted at once against the same corrections posted one command each, on PostgreSQL,
in alternating rounds.

- Single postings: LINES `commands.execute(Adjust(±1, reason count_correction))` by --clients workers,
  one item each in a bin of its own: what posting the corrections one by one costs.
- Count post: a count of a bin holding LINES items, every line counted 1 off (the counted lines are
  written straight into `count_lines`, as LINES `record_count` scans would leave them: the scans are not
  what is measured), then one `counts.submit_count`: its lines settle set-based (balances read and locked
  in one statement, the corrections posted together, each still an `Adjust` under its own key).
Rounds (each side once a round, the side that goes first swapped) go on until --seconds have passed, and
at least --rounds of them; each round corrects the same two bins again (every line ±1, under keys of its
own). Every round prints wall time, statements per line (counted on the wire) and CPU per line here and
in PostgreSQL. Then the ledger check must find no drift.

The last line is `ratio: X.XX` = median over rounds of (time of the single postings ÷ time of the count
post); the goal is ≥ 5.
Usage: .venv/bin/python bench/count_post.py [--seconds 20] [--lines 5000] [--clients 8] [--rounds 3] [--pg-url URL]
(--seconds is the duration of the rounds, seeding not counted: a round takes as long as its two sides do.)
"""

from __future__ import annotations

import argparse
import asyncio
import os
import time
from datetime import UTC, datetime

from _common import (
    Measured,
    Meter,
    Statements,
    add_common_args,
    drop_database,
    median,
    median_of,
    migrated,
    recreate_database,
)

from backend import db
from backend.domain import counts
from backend.domain.auth.audit import Actor
from backend.domain.ledger import batches, commands
from backend.domain.ledger.check import check_ledger
from backend.domain.locations.service import NewLocation, create_in_transaction

BENCH_DB = "stockline_bench_count"
LINES = 5_000
OPENING_QTY = 50
SEED_CHUNK = 5_000
COUNTER = Actor("user:bench-counter", "bench", None, "counter")


COUNT_BIN, SINGLES_BIN = "CNT-1", "ONE-1"


async def seed(lines: int) -> list[str]:
    """LINES items, each stocked in both bench bins (set-based, as found stock); returns the SKUs."""

    async def places() -> None:
        await create_in_transaction(NewLocation(code="CWH", kind="warehouse"))
        await create_in_transaction(NewLocation(code="CWH-Z", kind="zone", parent="CWH"))
        for n, code in enumerate((COUNT_BIN, SINGLES_BIN), start=1):
            await create_in_transaction(NewLocation(code=code, kind="bin", parent="CWH-Z", walk_seq=n))
        await db.fetch("WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM s WHERE i < {})"
                       " INSERT INTO items (sku, sku_key, name, created_at)"
                       " SELECT 'CNT-ITEM-' || CAST(i AS TEXT), 'cnt-item-' || CAST(i AS TEXT), 'Counted item', {}"
                       " FROM s", lines, datetime.now(UTC))

    await db.run_in_transaction(places)
    skus = [f"CNT-ITEM-{n}" for n in range(1, lines + 1)]
    stock = [(f"seed:{sku}:{b}", commands.Adjust(sku=sku, delta=OPENING_QTY, location=b, reason="found"))
             for b in (COUNT_BIN, SINGLES_BIN) for sku in skus]
    for start in range(0, len(stock), SEED_CHUNK):
        chunk = stock[start:start + SEED_CHUNK]

        async def post(chunk: list = chunk) -> None:
            await batches.post_adjustments(chunk, actor="bench")

        await db.run_in_transaction(post)
    return skus


async def single_postings(skus: list[str], bin_code: str, clients: int, r: int) -> int:
    queue = iter(enumerate(skus))

    async def worker() -> None:
        for n, sku in queue:
            await commands.execute(commands.Adjust(sku=sku, delta=1 if n % 2 else -1, location=bin_code,
                                                   reason="count_correction"), key=f"one:{r}:{n}", actor="bench")

    await asyncio.gather(*(worker() for _ in range(clients)))
    return len(skus)


async def counted_task(bin_code: str, r: int) -> int:
    """A started count of the bin with every item counted, 1 off either way (not timed)."""
    task = await counts.create_count_task(bin_code, f"count:{r}:create", COUNTER)
    await counts.start_count(task.task_id, f"count:{r}:start", COUNTER)

    async def scans() -> None:
        await db.fetch(
            "INSERT INTO count_lines (task_id, item_id, lot, counted_qty, expected_qty, entered, counted_at, status)"
            " SELECT CAST({} AS BIGINT), item_id, lot, on_hand + CASE WHEN item_id % 2 = 0 THEN 1 ELSE -1 END,"
            " on_hand, TRUE, {}, 'counted' FROM balances WHERE location_id = (SELECT id FROM locations"
            " WHERE code_key = {})", task.task_id, datetime.now(UTC), bin_code.casefold())

    await db.run_in_transaction(scans)
    return task.task_id


async def main(args: argparse.Namespace) -> None:
    print(f"load average at start: {os.getloadavg()[0]:.2f} ({os.cpu_count()} cores); {args.lines} lines;"
          f" {args.clients} workers for the single postings; rounds for {args.seconds} s, at least {args.rounds}",
          flush=True)
    url = await recreate_database(args.pg_url, BENCH_DB)
    singles: list[Measured] = []
    posts: list[Measured] = []
    try:
        async with migrated(url, pool_min=args.clients, pool_max=args.clients):
            skus = await seed(args.lines)
            Statements.install()
            meter = Meter(args.pg_url, BENCH_DB)
            deadline, r = time.monotonic() + args.seconds, 0
            while r < args.rounds or time.monotonic() < deadline:
                print(f"round {r + 1}:", flush=True)
                task_id = await counted_task(COUNT_BIN, r)

                async def run_singles(r: int = r) -> None:
                    singles.append(await meter.measure(
                        f"{args.lines} single Adjust postings", lambda: single_postings(skus, SINGLES_BIN,
                                                                                        args.clients, r)))
                    print(f"  {singles[-1].line('line')}", flush=True)

                async def run_count(r: int = r, task_id: int = task_id) -> None:
                    async def submit() -> int:
                        outcome = await counts.submit_count(task_id, f"count:{r}:submit", COUNTER)
                        assert outcome.status == "completed", outcome.status
                        return len(outcome.movement_ids)

                    posts.append(await meter.measure(f"one {args.lines}-line count post", submit))
                    print(f"  {posts[-1].line('line')}", flush=True)

                for step in ((run_singles, run_count) if r % 2 == 0 else (run_count, run_singles)):
                    await step()
                r += 1
            drift = await check_ledger()
    finally:
        await drop_database(args.pg_url, BENCH_DB)
    print(f"  median {median_of(singles, f'{args.lines} single Adjust postings').line('line')}")
    print(f"  median {median_of(posts, f'one {args.lines}-line count post').line('line')}")
    ratios = [s.elapsed_s / p.elapsed_s for s, p in zip(singles, posts, strict=True)]
    print(f"single postings time / count post time per round: {', '.join(f'{x:.1f}' for x in ratios)};"
          f" ledger drift: {len(drift)}; load average at end {os.getloadavg()[0]:.2f}")
    assert not drift
    print(f"ratio: {median(ratios):.2f}")


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    add_common_args(parser, seconds=20)
    parser.add_argument("--lines", type=int, default=LINES)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--rounds", type=int, default=3)
    return parser.parse_args()


if __name__ == "__main__":
    asyncio.run(main(parse_args()))
