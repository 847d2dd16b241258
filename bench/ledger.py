"""Ledger write throughput of Stockline, measured against pgbench on the same PostgreSQL.

What it measures (all on this machine, against the server behind --pg-url):

1. Baseline: pgbench's built-in tpcb-like script (`-c C -j 2 -T N`, scale 1), in its own
   database: the TPS this server does for a small write transaction.
2. Postgres postings/s: C asyncio workers in one process loop `commands.execute(Move(...))`,
   each moving 1 unit of a random item between two random bins that hold it, for N seconds.
   A posting is one successful Move (one transaction: key claim, lookups, a guarded update of the
   source balance, an upsert of the destination balance, one movement row). InsufficientStock counts as a failed attempt and is reported separately.
3. SQLite postings/s: the same loop on a temporary SQLite file (one process, C tasks).
4. Reservations: wall time to reserve 10,000 one-line orders on Postgres with C workers
   (scaled down proportionally when N < 10), then `check_ledger()` drift (must be 0).
   Phases 2 and 4 share the Postgres database and run before phase 3.

The last line is `ratio: X.XX` = Stockline Postgres postings/s / pgbench TPS (higher is better).
Usage: .venv/bin/python bench/ledger.py [--seconds 30] [--clients 8] [--pg-url URL]
"""

from __future__ import annotations

import argparse
import asyncio
import random
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime

from _common import add_common_args, drop_database, migrated, pgbench_baseline, recreate_database

from backend import db
from backend.domain.catalog.service import get_item_by_id
from backend.domain.errors import InsufficientStock
from backend.domain.ledger import commands
from backend.domain.ledger.check import check_ledger
from backend.domain.ledger.posting import Leg, Plan, claim_key, payload_hash, post
from backend.domain.locations.service import (
    NewLocation,
    create_in_transaction,
    get_location_by_id,
    virtual,
)

BENCH_DB = "stockline_bench"
PGBENCH_DB = "stockline_bench_pgbench"
ZONES, BINS_PER_ZONE = 5, 60  # 300 bins
ITEMS, BINS_PER_ITEM, OPENING_QTY = 200, 4, 5_000
RESERVE_LINES = 10_000
SEED = 20261125


@dataclass(frozen=True, slots=True)
class Stock:
    """Where each SKU was received: moves and reservations pick from these bins."""

    bins_of: dict[str, list[str]]


@dataclass(slots=True)
class Tally:
    ok: int = 0
    insufficient: int = 0
    elapsed_s: float = 0.0

    @property
    def per_s(self) -> float:
        return self.ok / self.elapsed_s if self.elapsed_s else 0.0


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
        await claim_key(key, "Receive", payload_hash("Receive", {"seed": SEED}), "bench")
        await post(key, "Receive", Plan(legs, doc_ref="BENCH"), "bench")
        return Stock(bins_of)

    return await db.run_in_transaction(work)


async def _move_worker(stock: Stock, worker: int, deadline: float, tally: Tally, prefix: str) -> None:
    rng, skus, n = random.Random(SEED + worker), list(stock.bins_of), 0
    while time.perf_counter() < deadline:
        sku = rng.choice(skus)
        src, dst = rng.sample(stock.bins_of[sku], 2)
        n += 1
        try:
            await commands.execute(commands.Move(sku=sku, qty=1, from_location=src, to_location=dst),
                                   key=f"{prefix}-{worker}-{n}", actor="bench")
            tally.ok += 1
        except InsufficientStock:
            tally.insufficient += 1


async def run_moves(stock: Stock, clients: int, seconds: int, prefix: str) -> Tally:
    tally = Tally()
    start = time.perf_counter()
    await asyncio.gather(*(_move_worker(stock, w, start + seconds, tally, prefix) for w in range(clients)))
    tally.elapsed_s = time.perf_counter() - start
    return tally


async def run_reservations(stock: Stock, clients: int, lines: int) -> float:
    """Reserve `lines` one-line orders of 1 unit with `clients` workers; returns elapsed seconds."""
    rng, skus = random.Random(SEED), list(stock.bins_of)
    todo = [(sku, rng.choice(stock.bins_of[sku])) for sku in (rng.choice(skus) for _ in range(lines))]
    queue = iter(enumerate(todo))

    async def worker() -> None:
        for n, (sku, bin_code) in queue:
            line = commands.ReserveLine(sku=sku, qty=1, location=bin_code)
            await commands.execute(commands.Reserve(lines=[line], order_ref=f"SO-{n}"), key=f"bench-res-{n}",
                                   actor="bench")

    start = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(clients)))
    return time.perf_counter() - start


def report(label: str, tally: Tally) -> None:
    print(f"{label}: {tally.per_s:.1f} postings/s ({tally.ok} moves ok, {tally.insufficient} insufficient stock,"
          f" {tally.elapsed_s:.1f} s)")


async def postgres_phases(url: str, clients: int, seconds: int, lines: int) -> tuple[Tally, float, int]:
    async with migrated(url, pool_min=clients, pool_max=clients):
        stock = await seed()
        tally = await run_moves(stock, clients, seconds, "bench-pg")
        reserve_s = await run_reservations(stock, clients, lines)
        return tally, reserve_s, len(await check_ledger())


async def sqlite_phase(clients: int, seconds: int) -> tuple[Tally, int]:
    with tempfile.TemporaryDirectory(prefix="stockline-bench-") as tmp:
        async with migrated(f"sqlite:///{tmp}/bench.db"):
            stock = await seed()
            tally = await run_moves(stock, clients, seconds, "bench-sqlite")
            return tally, len(await check_ledger())


async def main(args: argparse.Namespace) -> None:
    c, n = args.clients, args.seconds
    lines = RESERVE_LINES if n >= 10 else max(100, RESERVE_LINES * n // 10)
    try:
        tps = await pgbench_baseline(args.pg_url, PGBENCH_DB, c, n)
        print(f"pgbench tpcb-like (-c {c} -j 2 -T {n}, scale 1): {tps:.1f} tps")
        pg_url = await recreate_database(args.pg_url, BENCH_DB)
        pg, reserve_s, drift = await postgres_phases(pg_url, c, n, lines)
        report(f"stockline postgres moves ({c} workers, {n} s)", pg)
        print(f"stockline postgres / pgbench: {pg.per_s / tps:.2f}")
        print(f"reserve {lines} one-line orders on postgres ({c} workers): {reserve_s:.2f} s"
              f" ({lines / reserve_s:.0f} lines/s)")
        print(f"postgres ledger drift: {drift}")
        lite, lite_drift = await sqlite_phase(c, n)
        report(f"stockline sqlite moves ({c} tasks, {n} s)", lite)
        print(f"sqlite ledger drift: {lite_drift}")
    finally:
        await drop_database(args.pg_url, BENCH_DB)
    print(f"ratio: {pg.per_s / tps:.2f}")


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_common_args(parser)
    parser.add_argument("--clients", type=int, default=8, help="concurrent clients / workers")
    return parser.parse_args()


if __name__ == "__main__":
    asyncio.run(main(parse_args()))
