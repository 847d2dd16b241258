"""Offline replay throughput: handheld move scans replayed through the sync path, against the same moves
posted directly through the ledger command, on PostgreSQL, in alternating rounds.

- Direct: one asyncio worker per device posts that device's moves in order through `execute_as(Move)`,
  what the online move screen runs (the ledger command and its audit row).
- Replay: one worker per device sends that device's envelopes in outbox batches of OUTBOX_BATCH to
  `sync.replay.apply_batch`, what POST /sync/txns runs: per envelope its inbox row, seq bookkeeping,
  the scanner's authorization, then the same Move and audit row.
Each move takes 1 unit of a random item between two of its bins (made as the worker goes, numbered
1.. per device). Both run in one fresh database (bench/_common.py) on two identical sets of items and
bins, --rounds rounds of --seconds / --rounds per side, the side that goes first swapped every round, so
load from anything else on the machine falls on both alike. A replay worker starts a batch only before
its deadline and finishes it, so a replay phase may run a little past it (its rate uses the time it
took). Every round prints scans/s, statements per scan (counted on the wire) and CPU per scan (this
process, and PostgreSQL). Then the ledger check must find no drift and every envelope must be `applied`.

The last line is `ratio: X.XX` = median over rounds of (replay scans/s ÷ direct moves/s).
Usage: .venv/bin/python bench/replay.py [--seconds 20] [--devices 10] [--rounds 4] [--pg-url URL]
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import random
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime

import structlog
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
    round_seconds,
)

from backend.domain.auth.audit import Actor
from backend.domain.auth.users import UserView, create_user
from backend.domain.catalog.service import NewItem, create_item
from backend.domain.ledger import commands
from backend.domain.ledger.audited import execute_as
from backend.domain.ledger.check import check_ledger
from backend.domain.locations.service import NewLocation, create_location
from sync.replay import apply_batch

BENCH_DB = "stockline_bench_replay"
DEVICES = 10
OUTBOX_BATCH = 100  # what web/static/outbox.js sends per request (SCAN_BATCH_MAX)
ITEMS, BINS, BINS_PER_ITEM, OPENING_QTY = 100, 60, 4, 5_000
SEED = 20261126
SYSTEM = Actor("system:bench")


@dataclass(slots=True)
class Floor:
    """One side's items and bins, and each device's scan counter."""

    prefix: str
    bins_of: dict[str, list[str]]
    seqs: list[int] = field(default_factory=list)
    rngs: list[random.Random] = field(default_factory=list)

    def next_move(self, device: int) -> tuple[int, commands.Move]:
        rng = self.rngs[device]
        sku = rng.choice(list(self.bins_of))
        src, dst = rng.sample(self.bins_of[sku], 2)
        self.seqs[device] += 1
        return self.seqs[device], commands.Move(sku=sku, qty=1, from_location=src, to_location=dst)


def plan_floor(prefix: str, devices: int) -> Floor:
    rng = random.Random(SEED)
    bins = [f"{prefix}-{n:03d}" for n in range(1, BINS + 1)]
    bins_of = {f"{prefix}-ITEM-{n:03d}": rng.sample(bins, BINS_PER_ITEM) for n in range(1, ITEMS + 1)}
    return Floor(prefix, bins_of, [0] * devices, [random.Random(f"{SEED}-{d}") for d in range(devices)])


async def seed_stock(floor: Floor) -> None:
    p = floor.prefix
    await create_location(NewLocation(code=f"{p}WH", kind="warehouse"), SYSTEM)
    await create_location(NewLocation(code=f"{p}WH-Z", kind="zone", parent=f"{p}WH"), SYSTEM)
    for n, code in enumerate(sorted({b for where in floor.bins_of.values() for b in where}), start=1):
        await create_location(NewLocation(code=code, kind="bin", parent=f"{p}WH-Z", walk_seq=n), SYSTEM)
    for sku, where in floor.bins_of.items():
        await create_item(NewItem(sku=sku, name=f"Bench item {sku}"), SYSTEM)
        for bin_code in where:
            await commands.execute(commands.Receive(sku=sku, qty=OPENING_QTY, to_location=bin_code),
                                   key=f"open:{sku}:{bin_code}", actor=SYSTEM.label)


def _actor(user: UserView, device_id: str) -> Actor:
    return Actor(f"user:{user.code}", device_id, user.id, user.role)


async def direct_side(floor: Floor, users: list[UserView], seconds: float) -> int:
    deadline, done = time.perf_counter() + seconds, [0]

    async def device(d: int) -> None:
        device_id = f"direct-{d}"
        while time.perf_counter() < deadline:
            seq, move = floor.next_move(d)
            await execute_as(move, key=f"direct:{device_id}:{seq}", actor=_actor(users[d], device_id))
            done[0] += 1

    await asyncio.gather(*(device(d) for d in range(len(users))))
    return done[0]


async def replay_side(floor: Floor, users: list[UserView], seconds: float, statuses: list[str]) -> int:
    deadline, done = time.perf_counter() + seconds, [0]

    async def device(d: int) -> None:
        device_id, user = f"hh-replay-{d}", users[d]
        while time.perf_counter() < deadline:
            scanned_at = datetime.now(UTC).isoformat()
            batch = []
            for _ in range(OUTBOX_BATCH):
                seq, move = floor.next_move(d)
                batch.append({"txn_id": str(uuid.uuid4()), "device_id": device_id, "seq": seq, "user_id": user.id,
                              # the raw step the handheld sends (backend/domain/scans): bin, item scanned once, bin
                              "kind": "move", "payload": {"from_bin": move.from_location, "items": [move.sku],
                                                          "to_bin": move.to_location},
                              "scanned_at": scanned_at})
            results = await apply_batch(device_id, batch, user, session_device=device_id, pending_reported=len(batch))
            statuses.extend(r.status for r in results)
            done[0] += len(results)

    await asyncio.gather(*(device(d) for d in range(len(users))))
    return done[0]


async def main(args: argparse.Namespace) -> None:
    # One `sync.batch` info line per batch would be most of the output (and a cost the direct side lacks).
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))
    per_s = round_seconds(args.seconds, args.rounds)
    print(f"load average at start: {os.getloadavg()[0]:.2f} ({os.cpu_count()} cores); {args.devices} devices;"
          f" {args.rounds} rounds of {per_s:.1f} s per side; outbox batches of {OUTBOX_BATCH}", flush=True)
    direct_floor, replay_floor = plan_floor("D", args.devices), plan_floor("R", args.devices)
    url = await recreate_database(args.pg_url, BENCH_DB)
    direct: list[Measured] = []
    replay: list[Measured] = []
    statuses: list[str] = []
    try:
        async with migrated(url, pool_min=args.devices, pool_max=args.devices):
            await seed_stock(direct_floor)
            await seed_stock(replay_floor)
            users = [await create_user(f"R-PICK-{d}", f"Replay picker {d}", "picker", "2468", SYSTEM)
                     for d in range(args.devices)]
            Statements.install()
            meter = Meter(args.pg_url, BENCH_DB)
            for r in range(args.rounds):
                print(f"round {r + 1}:", flush=True)

                async def run_direct() -> None:
                    direct.append(await meter.measure("direct (execute_as(Move))",
                                                      lambda: direct_side(direct_floor, users, per_s)))
                    print(f"  {direct[-1].line('scan')}", flush=True)

                async def run_replay() -> None:
                    replay.append(await meter.measure("replay (apply_batch)",
                                                      lambda: replay_side(replay_floor, users, per_s, statuses)))
                    print(f"  {replay[-1].line('scan')}", flush=True)

                for step in ((run_direct, run_replay) if r % 2 == 0 else (run_replay, run_direct)):
                    await step()
            drift = await check_ledger()
    finally:
        await drop_database(args.pg_url, BENCH_DB)
    print(f"  median {median_of(direct, 'direct (execute_as(Move))').line('scan')}")
    print(f"  median {median_of(replay, 'replay (apply_batch)').line('scan')}")
    not_applied = {s: statuses.count(s) for s in set(statuses) if s != "applied"}
    print(f"ledger drift: {len(drift)}; envelopes not applied: {not_applied or 0}")
    assert not drift and not not_applied
    ratios = [p.per_s / d.per_s for p, d in zip(replay, direct, strict=True)]
    print(f"replay / direct per round: {', '.join(f'{x:.2f}' for x in ratios)}; load average at end"
          f" {os.getloadavg()[0]:.2f}")
    print(f"ratio: {median(ratios):.2f}")


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    add_common_args(parser, seconds=20)
    parser.add_argument("--devices", type=int, default=DEVICES)
    parser.add_argument("--rounds", type=int, default=4, help="alternating rounds per side")
    return parser.parse_args()


if __name__ == "__main__":
    asyncio.run(main(parse_args()))
