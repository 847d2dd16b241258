"""Offline replay throughput: handheld scans replayed through the sync path, against the same moves
posted directly through the ledger command, on PostgreSQL.

1. Queue: SCANS_MAX move scans (1 unit of a random item between two of its bins) made in advance for
   DEVICES handhelds, numbered 1.. per device: what their outboxes hold after a shift offline.
   Fewer with a short --seconds (SCANS_PER_S_BUDGET scans per second of it, at least 100 per device).
2. Direct: one asyncio worker per device posts that device's moves in order through `execute_as(Move)`,
   what the online move screen runs (the ledger command and its audit row, one transaction).
3. Replay: one worker per device sends that device's envelopes in batches of OUTBOX_BATCH to
   `sync.replay.apply_batch`, what POST /sync/txns runs: per envelope its inbox row, seq bookkeeping,
   the scanner's authorization, then the same Move and audit row, in one transaction.
Both run in one fresh database (bench/_common.py) on two identical sets of items and bins, in
alternating rounds of one outbox batch per device (direct first in even rounds, replay first in odd
ones), so load from anything else on the machine falls on both alike. Then the ledger check must find
no drift and every envelope must be `applied`.

The last line is `ratio: X.XX` = replay scans/s ÷ direct moves/s (goal ≥ 0.8).
Usage: .venv/bin/python bench/replay.py [--seconds 30] [--devices 10] [--pg-url URL]
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import random
import time
import uuid
from collections.abc import Awaitable
from dataclasses import dataclass
from datetime import UTC, datetime

import structlog
from _common import add_common_args, drop_database, machine_busy_s, migrated, recreate_database

from backend.domain.auth.audit import Actor
from backend.domain.auth.users import UserView, create_user
from backend.domain.catalog.service import NewItem, create_item
from backend.domain.ledger import commands
from backend.domain.ledger.audited import execute_as
from backend.domain.ledger.check import check_ledger
from backend.domain.locations.service import NewLocation, create_location
from sync.replay import apply_batch

BENCH_DB = "stockline_bench_replay"
SCANS_MAX = 10_000
SCANS_PER_S_BUDGET = 250
DEVICES = 10
OUTBOX_BATCH = 100  # what web/static/outbox.js sends per request (SCAN_BATCH_MAX)
ROUNDS_MAX = 10
ITEMS, BINS, BINS_PER_ITEM, OPENING_QTY = 100, 60, 4, 5_000
SEED = 20261126
SYSTEM = Actor("system:bench")


@dataclass(frozen=True, slots=True)
class Scan:
    device: int
    seq: int
    sku: str
    from_location: str
    to_location: str


@dataclass(frozen=True, slots=True)
class Phase:
    label: str
    scans: int
    elapsed_s: float
    machine_busy: float  # share of all cores busy during the phase (this bench and anything else)

    @property
    def per_s(self) -> float:
        return self.scans / self.elapsed_s


def queue_scans(total: int, devices: int, prefix: str) -> tuple[list[str], dict[str, list[str]], list[list[Scan]]]:
    """Bins, each item's bins, and per device its scans in seq order (the same shape for every prefix)."""
    rng = random.Random(SEED)
    bins = [f"{prefix}-{n:03d}" for n in range(1, BINS + 1)]
    bins_of = {f"{prefix}-ITEM-{n:03d}": rng.sample(bins, BINS_PER_ITEM) for n in range(1, ITEMS + 1)}
    skus = list(bins_of)
    per_device: list[list[Scan]] = [[] for _ in range(devices)]
    for n in range(total):
        device, sku = n % devices, rng.choice(skus)
        src, dst = rng.sample(bins_of[sku], 2)
        per_device[device].append(Scan(device, len(per_device[device]) + 1, sku, src, dst))
    return bins, bins_of, per_device


async def seed_stock(prefix: str, bins: list[str], bins_of: dict[str, list[str]]) -> None:
    await create_location(NewLocation(code=f"{prefix}WH", kind="warehouse"), SYSTEM)
    await create_location(NewLocation(code=f"{prefix}WH-Z", kind="zone", parent=f"{prefix}WH"), SYSTEM)
    for n, code in enumerate(bins, start=1):
        await create_location(NewLocation(code=code, kind="bin", parent=f"{prefix}WH-Z", walk_seq=n), SYSTEM)
    for sku, where in bins_of.items():
        await create_item(NewItem(sku=sku, name=f"Bench item {sku}"), SYSTEM)
        for bin_code in where:
            await commands.execute(commands.Receive(sku=sku, qty=OPENING_QTY, to_location=bin_code),
                                   key=f"open:{sku}:{bin_code}", actor=SYSTEM.label)


async def seed_users(devices: int) -> list[UserView]:
    return [await create_user(f"R-PICK-{d}", f"Replay picker {d}", "picker", "2468", SYSTEM) for d in range(devices)]


def _move(scan: Scan) -> commands.Move:
    return commands.Move(sku=scan.sku, qty=1, from_location=scan.from_location, to_location=scan.to_location)


def _actor(user: UserView, device_id: str) -> Actor:
    return Actor(f"user:{user.code}", device_id, user.id, user.role)


async def direct(scans: list[Scan], user: UserView) -> None:
    device_id = f"direct-{scans[0].device}"
    for scan in scans:
        await execute_as(_move(scan), key=f"direct:{device_id}:{scan.seq}", actor=_actor(user, device_id))


def envelopes_of(scans: list[Scan], user: UserView) -> tuple[str, list[dict]]:
    device_id = f"hh-replay-{scans[0].device}"
    scanned_at = datetime.now(UTC).isoformat()
    return device_id, [
        {"txn_id": str(uuid.uuid4()), "device_id": device_id, "seq": s.seq, "user_id": user.id, "kind": "move",
         "payload": {"sku": s.sku, "qty": 1, "from_location": s.from_location, "to_location": s.to_location},
         "scanned_at": scanned_at}
        for s in scans
    ]


async def replay(device_id: str, batch: list[dict], user: UserView, left: int) -> list[str]:
    """One outbox batch, as POST /sync/txns applies it (from a session on that device)."""
    return [r.status for r in await apply_batch(device_id, batch, user, session_device=device_id,
                                                pending_reported=left)]


@dataclass(slots=True)
class Clock:
    label: str
    scans: int = 0
    elapsed_s: float = 0.0
    busy_s: float = 0.0
    all_s: float = 0.0

    async def measure(self, scans: int, work: Awaitable[object]) -> object:
        busy0, all0 = machine_busy_s()
        start = time.perf_counter()
        out = await work
        self.elapsed_s += time.perf_counter() - start
        busy1, all1 = machine_busy_s()
        self.scans, self.busy_s, self.all_s = self.scans + scans, self.busy_s + busy1 - busy0, self.all_s + all1 - all0
        return out

    def phase(self) -> Phase:
        return Phase(self.label, self.scans, self.elapsed_s, self.busy_s / max(self.all_s, 1e-9))


async def run_rounds(direct_scans: list[list[Scan]], replay_scans: list[list[Scan]], users: list[UserView],
                     rounds: int) -> tuple[Phase, Phase]:
    direct_clock, replay_clock = Clock("direct"), Clock("replay")
    queued = [envelopes_of(scans, users[d]) for d, scans in enumerate(replay_scans)]
    per_device = len(direct_scans[0])
    size = -(-per_device // rounds)
    statuses: list[str] = []
    for r in range(rounds):
        part = slice(r * size, (r + 1) * size)
        direct_part = [scans[part] for scans in direct_scans]
        replay_part = [(device_id, envs[part]) for device_id, envs in queued]
        n = sum(len(p) for p in direct_part)

        async def run_direct() -> None:
            await direct_clock.measure(n, asyncio.gather(
                *(direct(p, users[d]) for d, p in enumerate(direct_part) if p)))

        async def run_replay() -> None:
            done = await replay_clock.measure(n, asyncio.gather(
                *(replay(device_id, batch, users[d], per_device - r * size)
                  for d, (device_id, batch) in enumerate(replay_part) if batch)))
            statuses.extend(s for device_statuses in done for s in device_statuses)  # type: ignore[union-attr]

        for step in ((run_direct, run_replay) if r % 2 == 0 else (run_replay, run_direct)):
            await step()
    total = sum(len(s) for s in replay_scans)
    assert statuses == ["applied"] * total, {s: statuses.count(s) for s in set(statuses)}
    return direct_clock.phase(), replay_clock.phase()


def report(phase: Phase, what: str) -> None:
    print(f"{phase.label} ({what}): {phase.per_s:.1f} scans/s ({phase.scans} in {phase.elapsed_s:.1f} s; "
          f"machine busy {100 * phase.machine_busy:.0f}% of all cores)")


async def main(args: argparse.Namespace) -> None:
    # One `sync.batch` info line per batch would be most of the output (and a cost the direct side lacks).
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))
    total = SCANS_MAX if args.seconds * SCANS_PER_S_BUDGET >= SCANS_MAX else max(
        args.devices * 100, args.seconds * SCANS_PER_S_BUDGET)
    d_bins, d_bins_of, direct_scans = queue_scans(total, args.devices, "D")
    r_bins, r_bins_of, replay_scans = queue_scans(total, args.devices, "R")
    rounds = max(1, min(ROUNDS_MAX, total // args.devices // OUTBOX_BATCH))
    print(f"queued {total} move scans for {args.devices} devices ({total // args.devices} each); "
          f"{rounds} alternating rounds of one batch (up to {OUTBOX_BATCH} scans) per device")
    url = await recreate_database(args.pg_url, BENCH_DB)
    try:
        async with migrated(url, pool_min=args.devices, pool_max=args.devices):
            await seed_stock("D", d_bins, d_bins_of)
            await seed_stock("R", r_bins, r_bins_of)
            users = await seed_users(args.devices)
            direct_phase, replay_phase = await run_rounds(direct_scans, replay_scans, users, rounds)
            drift = await check_ledger()
    finally:
        await drop_database(args.pg_url, BENCH_DB)
    report(direct_phase, f"execute_as(Move), {args.devices} workers")
    report(replay_phase, f"apply_batch, {args.devices} devices")
    assert not drift, drift[:5]
    print("ledger drift: 0; every envelope applied")
    print(f"ratio: {replay_phase.per_s / direct_phase.per_s:.2f}")


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    add_common_args(parser, seconds=30)
    parser.add_argument("--devices", type=int, default=DEVICES)
    return parser.parse_args()


if __name__ == "__main__":
    asyncio.run(main(parse_args()))
