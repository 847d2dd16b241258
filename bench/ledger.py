"""Ledger write throughput of Stockline against pgbench on the same PostgreSQL, and SQLite against a
plain guarded UPDATE loop, in alternating rounds.

What it measures (all on this machine, against the server behind --pg-url):

1. PostgreSQL, --rounds rounds, each side --seconds / --rounds long, the side that goes first swapped
   every round (so load from anything else on the machine falls on both alike):
   - pgbench's built-in tpcb-like script (`-c C -j 2`) at scale max(C, --scale): one `branches` row per
     scale unit, so its C clients do not all queue on one row;
   - Stockline: C asyncio workers in this process loop `commands.execute(Move(...))`, 1 unit of a random
     item between two random bins holding it. A posting is one Move command with its own key and its own
     result (posted, or refused for stock); on PostgreSQL it is one `stockline_post` call, and calls made
     together share one statement, two such statements in flight (group commit, ledger/_groupcommit.py),
     so Stockline's statements per posting are below 1: the wire count, not a claim of one per posting.
   Each round prints throughput, statements per operation (pgbench: 7 per transaction; Stockline:
   counted on the wire) and CPU per operation: here (Stockline's process / the pgbench client) and in
   PostgreSQL (the backends serving it).
2. Reservations: 10,000 one-line orders (1 unit each) reserved set-based, `batches.reserve_orders` in
   batches of RESERVE_BATCH orders, one after another; and, for comparison, RESERVE_SINGLE_SAMPLE of them
   one command each (`execute(Reserve)`, C workers), scaled to 10,000.
3. SQLite (a temporary file): the same Move loop (C tasks) against a plain guarded UPDATE loop (C tasks,
   each `UPDATE ... SET n = n - 1 WHERE id = ? AND n - 1 >= 0` in its own write transaction through
   Stockline's own transaction helper), in alternating rounds too.
Then the ledger check on both databases must find no drift.

Printed: `sqlite ratio: X.XX` (median Move rate ÷ median UPDATE-loop rate) and, last,
`ratio: X.XX` = median over rounds of (Stockline postings/s ÷ pgbench TPS of the same round).
Usage: .venv/bin/python bench/ledger.py [--seconds 20] [--clients 8] [--rounds 4] [--scale S] [--pg-url URL]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import tempfile
import time
from dataclasses import dataclass
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
    pgbench_init,
    pgbench_round,
    recreate_database,
    round_seconds,
)

from backend import db
from backend.domain.catalog.service import get_item_by_id
from backend.domain.errors import InsufficientStock
from backend.domain.idempotency import claim, payload_hash
from backend.domain.ledger import batches, commands
from backend.domain.ledger.check import check_ledger
from backend.domain.ledger.posting import Leg, Plan, post
from backend.domain.locations.service import NewLocation, create_in_transaction, get_location_by_id, virtual

BENCH_DB = "stockline_bench"
PGBENCH_DB = "stockline_bench_pgbench"
ZONES, BINS_PER_ZONE = 5, 60  # 300 bins
ITEMS, BINS_PER_ITEM, OPENING_QTY = 200, 4, 5_000
RESERVE_LINES = 10_000
RESERVE_BATCH = 1_000
RESERVE_SINGLE_SAMPLE = 1_000
LOOP_ROWS = 1_000
SEED = 20261125


@dataclass(frozen=True, slots=True)
class Stock:
    """Where each SKU was received: moves and reservations pick from these bins."""

    bins_of: dict[str, list[str]]


async def _seed_master_data(rng: random.Random) -> dict[int, list[int]]:
    """One warehouse of ZONES x BINS_PER_ZONE bins and ITEMS items; returns item id -> its bins."""
    await create_in_transaction(NewLocation(code="BWH", kind="warehouse", name="Bench warehouse"))
    bin_ids: list[int] = []
    for z in range(1, ZONES + 1):
        await create_in_transaction(NewLocation(code=f"BWH-{z}", kind="zone", parent="BWH"))
        for b in range(1, BINS_PER_ZONE + 1):
            loc = await create_in_transaction(NewLocation(code=f"BWH-{z}-{b:02d}", kind="bin",
                                                          parent=f"BWH-{z}", walk_seq=b))
            bin_ids.append(loc.id)
    now, placed = datetime.now(UTC), dict[int, list[int]]()
    for n in range(1, ITEMS + 1):
        sku = f"BENCH-{n:04d}"
        row = await db.fetch_one("INSERT INTO items (sku, sku_key, name, created_at) VALUES ({}, {}, {}, {})"
                                 " RETURNING id", sku, sku.casefold(), f"Bench item {n}", now)
        assert row is not None
        placed[row["id"]] = rng.sample(bin_ids, BINS_PER_ITEM)
    return placed


async def seed() -> Stock:
    """In one transaction: bins, items, and one receipt per (item, bin)."""
    rng = random.Random(SEED)

    async def work() -> Stock:
        placed = await _seed_master_data(rng)
        supplier, legs, bins_of = await virtual("supplier"), list[Leg](), dict[str, list[str]]()
        views = {b: await get_location_by_id(b) for b in {b for bin_ids in placed.values() for b in bin_ids}}
        for item_id, bin_ids in placed.items():
            item = await get_item_by_id(item_id)
            bins_of[item.sku] = [views[b].code for b in bin_ids]
            legs += [Leg(item, "", OPENING_QTY, supplier, views[b], reason="receipt") for b in bin_ids]
        key = "bench:opening-stock"
        await claim(key, "Receive", payload_hash("Receive", {"seed": SEED}), "bench")
        await post(key, "Receive", Plan(legs, doc_ref="BENCH"), "bench")
        return Stock(bins_of)

    return await db.run_in_transaction(work)


# --- the loops ------------------------------------------------------------------------------------------


async def run_moves(stock: Stock, clients: int, seconds: float, prefix: str) -> int:
    """C workers posting Moves for `seconds`; returns the postings made (a refusal is not one)."""
    deadline, done = time.perf_counter() + seconds, [0]

    async def worker(w: int) -> None:
        rng, skus, n = random.Random(f"{prefix}-{w}"), list(stock.bins_of), 0
        while time.perf_counter() < deadline:
            sku = rng.choice(skus)
            src, dst = rng.sample(stock.bins_of[sku], 2)
            n += 1
            try:
                await commands.execute(commands.Move(sku=sku, qty=1, from_location=src, to_location=dst),
                                       key=f"{prefix}-{w}-{n}", actor="bench")
                done[0] += 1
            except InsufficientStock:
                pass

    await asyncio.gather(*(worker(w) for w in range(clients)))
    return done[0]


async def run_update_loop(clients: int, seconds: float, prefix: str) -> int:
    """The baseline: C tasks, each a guarded UPDATE of a random row in its own write transaction."""
    deadline, done = time.perf_counter() + seconds, [0]

    async def worker(w: int) -> None:
        rng = random.Random(f"{prefix}-{w}")
        while time.perf_counter() < deadline:
            row_id = rng.randrange(1, LOOP_ROWS + 1)

            async def one(row_id: int = row_id) -> list:
                return await db.fetch("UPDATE bench_rows SET n = n - 1 WHERE id = {} AND n - 1 >= 0 RETURNING id",
                                      row_id)

            if await db.run_in_transaction(one):
                done[0] += 1

    await asyncio.gather(*(worker(w) for w in range(clients)))
    return done[0]


def one_line_orders(stock: Stock, count: int, prefix: str) -> list[tuple[str, batches.OrderLines]]:
    rng, skus = random.Random(f"{SEED}-{prefix}"), list(stock.bins_of)
    orders = []
    for n in range(count):
        sku = rng.choice(skus)
        line = commands.ReserveLine(sku=sku, qty=1, location=rng.choice(stock.bins_of[sku]))
        orders.append((f"{prefix}-{n}", batches.OrderLines(lines=[line], order_ref=f"SO-{prefix}-{n}")))
    return orders


async def reserve_in_batches(orders: list[tuple[str, batches.OrderLines]]) -> int:
    reserved = 0
    for start in range(0, len(orders), RESERVE_BATCH):
        done = await batches.reserve_orders(orders[start:start + RESERVE_BATCH], actor="bench")
        reserved += sum(1 for o in done for rid in o.reservation_ids if rid is not None)
    return reserved


async def reserve_one_by_one(orders: list[tuple[str, batches.OrderLines]], clients: int) -> int:
    queue = iter(orders)

    async def worker() -> None:
        for key, order in queue:
            await commands.execute(commands.Reserve(lines=order.lines, order_ref=order.order_ref), key=key,
                                   actor="bench")

    await asyncio.gather(*(worker() for _ in range(clients)))
    return len(orders)


# --- phases ---------------------------------------------------------------------------------------------


def show(m: Measured, unit: str) -> None:
    print(f"  {m.line(unit)}", flush=True)


async def postgres_rounds(args: argparse.Namespace, scale: int) -> tuple[list[Measured], list[Measured], int]:
    c, rounds = args.clients, args.rounds
    per_s = round_seconds(args.seconds, rounds)
    pgbench_url = await recreate_database(args.pg_url, PGBENCH_DB)
    pgbench_init(pgbench_url, scale)
    url = await recreate_database(args.pg_url, BENCH_DB)
    meter = Meter(args.pg_url, BENCH_DB)
    benches, moves = [], []
    async with migrated(url, pool_min=c, pool_max=c):
        stock = await seed()
        for r in range(rounds):
            print(f"round {r + 1}:", flush=True)

            async def pgbench_side() -> None:
                benches.append(await pgbench_round(pgbench_url, args.pg_url, PGBENCH_DB, c, max(1, round(per_s))))
                show(benches[-1], "transaction")

            async def stockline_side(r: int = r) -> None:
                moves.append(await meter.measure("stockline moves",
                                                 lambda: run_moves(stock, c, per_s, f"pg-r{r}")))
                show(moves[-1], "posting")

            for side in ((pgbench_side, stockline_side) if r % 2 == 0 else (stockline_side, pgbench_side)):
                await side()
        await reservations(args, stock, meter)
        drift = len(await check_ledger())
    print(f"postgres ledger drift: {drift}", flush=True)
    return benches, moves, drift


async def reservations(args: argparse.Namespace, stock: Stock, meter: Meter) -> None:
    orders = one_line_orders(stock, RESERVE_LINES, "set")
    m = await meter.measure(f"reserve {RESERVE_LINES} one-line orders set-based ({RESERVE_BATCH} per batch)",
                            lambda: reserve_in_batches(orders))
    print(f"{m.label}: {m.elapsed_s:.2f} s (goal < 5 s), {m.statements} statements,"
          f" CPU {m.cpu_s:.2f} s here + {m.pg_cpu_s:.2f} s PostgreSQL; {m.ops} lines reserved", flush=True)
    sample = one_line_orders(stock, RESERVE_SINGLE_SAMPLE, "one")
    single = await meter.measure("one Reserve command per order", lambda: reserve_one_by_one(sample, args.clients))
    print(f"{single.label} ({RESERVE_SINGLE_SAMPLE} orders, {args.clients} workers): {single.elapsed_s:.2f} s,"
          f" {single.statements / single.ops:.1f} statements/order, CPU {1000 * single.cpu_s / single.ops:.2f} ms/order"
          f" here + {1000 * single.pg_cpu_s / single.ops:.2f} ms/order PostgreSQL;"
          f" {RESERVE_LINES} that way: ~{single.elapsed_s * RESERVE_LINES / RESERVE_SINGLE_SAMPLE:.1f} s", flush=True)


async def sqlite_rounds(args: argparse.Namespace) -> tuple[list[Measured], list[Measured], int]:
    c, rounds = args.clients, args.rounds
    per_s = round_seconds(args.seconds, rounds)
    loops, moves = [], []
    with tempfile.TemporaryDirectory(prefix="stockline-bench-") as tmp:
        async with migrated(f"sqlite:///{tmp}/bench.db"):
            stock = await seed()
            await db.execute_ddl("CREATE TABLE bench_rows (id INTEGER PRIMARY KEY, n INTEGER NOT NULL)")

            async def fill() -> None:
                await db.fetch("WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM s WHERE i < {})"
                               " INSERT INTO bench_rows (id, n) SELECT i, 1000000000 FROM s", LOOP_ROWS)

            await db.run_in_transaction(fill)
            for r in range(rounds):
                print(f"sqlite round {r + 1}:", flush=True)

                async def measure(label: str, work: object) -> Measured:
                    t0, cpu0 = time.perf_counter(), os.times()
                    ops = await work  # type: ignore[misc]
                    cpu1 = os.times()
                    cpu = (cpu1.user + cpu1.system) - (cpu0.user + cpu0.system)
                    return Measured(label, ops, time.perf_counter() - t0, 0, cpu, 0.0, os.getloadavg()[0])

                async def loop_side(r: int = r) -> None:
                    loops.append(await measure("guarded UPDATE loop", run_update_loop(c, per_s, f"lp-r{r}")))
                    show(loops[-1], "update")

                async def move_side(r: int = r) -> None:
                    moves.append(await measure("stockline moves", run_moves(stock, c, per_s, f"lite-r{r}")))
                    show(moves[-1], "posting")

                for side in ((loop_side, move_side) if r % 2 == 0 else (move_side, loop_side)):
                    await side()
            drift = len(await check_ledger())
    print(f"sqlite ledger drift: {drift}", flush=True)
    return loops, moves, drift


async def main(args: argparse.Namespace) -> None:
    scale = max(args.clients, args.scale)
    print(f"load average at start: {os.getloadavg()[0]:.2f} ({os.cpu_count()} cores); {args.rounds} rounds of"
          f" {round_seconds(args.seconds, args.rounds):.1f} s per side; {args.clients} clients; pgbench scale {scale}",
          flush=True)
    Statements.install()
    try:
        benches, moves, drift = await postgres_rounds(args, scale)
    finally:
        await drop_database(args.pg_url, BENCH_DB)
        await drop_database(args.pg_url, PGBENCH_DB)
    loops, lite, lite_drift = await sqlite_rounds(args)
    print(f"  median {median_of(benches, 'pgbench tpcb-like').line('transaction')}")
    print(f"  median {median_of(moves, 'stockline postgres moves').line('posting')}")
    print(f"  median {median_of(loops, 'sqlite guarded UPDATE loop').line('update')}")
    print(f"  median {median_of(lite, 'stockline sqlite moves').line('posting')}")
    ratios = [m.per_s / b.per_s for m, b in zip(moves, benches, strict=True)]
    print(f"stockline postgres / pgbench per round: {', '.join(f'{x:.2f}' for x in ratios)}")
    print(f"sqlite ratio: {median([m.per_s for m in lite]) / median([m.per_s for m in loops]):.2f}")
    print(f"load average at end: {os.getloadavg()[0]:.2f}; ledger drift postgres {drift}, sqlite {lite_drift}")
    print(f"ratio: {median(ratios):.2f}")


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_common_args(parser, seconds=20)
    parser.add_argument("--clients", type=int, default=8, help="concurrent clients / workers, pgbench's too")
    parser.add_argument("--rounds", type=int, default=4, help="alternating rounds per side")
    parser.add_argument("--scale", type=int, default=8, help="pgbench scale (at least --clients)")
    return parser.parse_args()


if __name__ == "__main__":
    asyncio.run(main(parse_args()))
