"""The ledger as it grows: check time, posting and list-query latency, table and index sizes, at
100k movements and at N (default 1M), on PostgreSQL.

1. Build: one warehouse of ZONES x BINS_PER_ZONE bins (QUIET_BINS of them hold one receipt and see
   nothing else) and ITEMS items, each kept in two bins. Movements are written set-based
   (INSERT ... SELECT over generate_series, one command_log row each, created_at 260 ms apart:
   10M movements a month), balances are summed from them in the same transaction: an opening
   receipt per (item, bin), then per 20 movements one receipt (doc_ref PO-), one shipment to the
   customer (doc_ref SO-) and 18 moves between an item's two bins.
2. Checks, at 100k in one database, then at N in a copy of it grown further: build to S − day,
   `check --full` (sets the checkpoint), build the day (--day movements, at most S / 3), time the
   incremental check that verifies it three times (the checkpoint put back each time) and
   `check --full` twice; each with Python's peak traced memory and PostgreSQL's temp files.
   VACUUM ANALYZE, then table and index sizes.
3. Side by side, both databases kept: each operation runs in ROUNDS alternating turns on the two
   (load from anything else on the machine falls on both alike), --seconds per operation and
   database in all, one request after another: a posting (`commands.execute(Move)`), each movement
   list the API serves (`queries.movements`: first page, by item, by a busy bin, by a quiet bin, by
   doc_ref, one hour of created_at; pages of 100 + 1, by item and doc_ref 5: full at every size) and the
   approvals queue with its "moved during the count" check.
   Beside p50/p95: SQL statements, Python CPU and PostgreSQL CPU per operation, rows per answer.
   "before" lines run the old SQL of the location list (`from = x OR to = x`) on the same data.

The last line is `ratio: X.XX` = p50 at 100k ÷ p50 at N of the slowest list query at N (flat = 1.00;
goal ≥ 0.67). The line before it names the list whose ratio is worst: the goal is every list within
1.5× of its 100k figure.
Usage: .venv/bin/python bench/scale.py [--seconds 4] [--movements 1000000] [--day 333333] [--pg-url URL]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import random
import statistics
import time
import tracemalloc
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
from _common import (
    add_common_args,
    backend_pids,
    clone_database,
    drop_database,
    migrated,
    pct,
    pids_cpu_s,
    recreate_database,
    self_cpu_s,
)

from backend import db
from backend.domain import counts
from backend.domain.auth.audit import Actor
from backend.domain.errors import InsufficientStock
from backend.domain.ledger import commands, queries
from backend.domain.ledger.check import CheckReport, run_check
from backend.domain.locations.service import NewLocation, create_in_transaction
from backend.settings import Settings

SMALL_DB, LARGE_DB = "stockline_bench_scale_100k", "stockline_bench_scale_n"
SMALL = 100_000
ROUNDS = 4
ZONES, BINS_PER_ZONE, QUIET_BINS = 20, 100, 10
ITEMS = 20_000
BUILD_BATCH = 250_000
TICK_MS = 260  # 10M movements in a month
OPENING_QTY = 1_000_000
PAGE = 101  # the API's default page of 100 + its look-ahead row
# An item has 5 movements at 100k and ~50 at 1M; an order (SO-) 5: a page of 5 is full at every size,
# so the figures compare the same work (a longer answer costs more, whatever the ledger's size).
SHORT_PAGE = 5
_SYNTHETIC_RESULT = '{"movement_ids": [], "reservation_ids": []}'
SEED = 20261130
COUNTER = Actor("bench-counter", "bench", user_id=1, role="counter")
MANAGER = Actor("bench-manager", "bench", user_id=2, role="manager")

# --- counting statements ------------------------------------------------------------------------

_statements = 0


def _count_statements() -> None:
    """Every asyncpg round trip that runs SQL goes through one of these Connection methods."""
    for name in ("fetch", "fetchrow", "fetchval", "execute", "executemany"):
        original = getattr(asyncpg.Connection, name)

        def counted(self, *args, __original=original, **kwargs):  # type: ignore[no-untyped-def]
            global _statements
            _statements += 1
            return __original(self, *args, **kwargs)

        setattr(asyncpg.Connection, name, counted)


# --- building the ledger ------------------------------------------------------------------------


@dataclass(slots=True)
class Ledger:
    first_bin_id: int
    first_item_id: int
    t0: datetime
    built: int = 0  # synthetic movements so far (numbered 1..built)
    posted_keys: int = 0


def _bin_sql(item: str, slot: str, first_bin: int) -> str:
    """The id of slot 0 or 1 of an item's two bins (never a quiet bin)."""
    spread = ZONES * BINS_PER_ZONE - QUIET_BINS
    return f"({first_bin} + ((({item}) * 7 + ({slot}) * 991) % {spread}))"


async def _master_data() -> Ledger:
    async def work() -> Ledger:
        wh = await create_in_transaction(NewLocation(code="SC", kind="warehouse", name="Scale warehouse"))
        await db.fetch(
            "INSERT INTO locations (code, code_key, barcode, name, kind, parent_id, warehouse_id, walk_seq)"
            " SELECT 'SC-Z' || z, 'sc-z' || z, 'LOC-SC-Z' || z, '', 'zone', {}, {}, z"
            " FROM generate_series(1, {}) AS z", wh.id, wh.id, ZONES)
        await db.fetch(
            "INSERT INTO locations (code, code_key, barcode, name, kind, parent_id, warehouse_id, walk_seq)"
            " SELECT 'SC-Z' || z || '-B' || b, 'sc-z' || z || '-b' || b, 'LOC-SC-Z' || z || '-B' || b, '', 'bin',"
            " (SELECT id FROM locations WHERE code = 'SC-Z' || z), {}, b"
            " FROM generate_series(1, {}) AS z, generate_series(1, {}) AS b ORDER BY z, b",
            wh.id, ZONES, BINS_PER_ZONE)
        await db.fetch(
            "INSERT INTO items (sku, sku_key, name, created_at)"
            " SELECT 'SCALE-' || n, 'scale-' || n, 'Scale item ' || n, now() FROM generate_series(1, {}) AS n",
            ITEMS)
        first_bin = await db.fetch_one("SELECT MIN(id) AS id FROM locations WHERE kind = 'bin'")
        first_item = await db.fetch_one("SELECT MIN(id) AS id FROM items")
        assert first_bin is not None and first_item is not None
        return Ledger(first_bin["id"], first_item["id"], datetime.now(UTC))

    return await db.run_in_transaction(work)


def _movement_select(ledger: Ledger) -> str:
    """Movement n as columns, for n in the series `g`: see the module docstring for the mix."""
    opening, items = 2 * ITEMS + QUIET_BINS, ITEMS
    busy = ZONES * BINS_PER_ZONE - QUIET_BINS
    item_of_n = f"(CASE WHEN n <= {2 * items} THEN (n - 1) / 2 WHEN n <= {opening} THEN n - {2 * items} - 1" \
                f" ELSE (n * 7919) % {items} END)"
    kind = f"(CASE WHEN n <= {opening} THEN 'receipt' WHEN n % 20 = 0 THEN 'receipt'" \
           " WHEN n % 20 = 1 THEN 'ship' ELSE 'move' END)"
    to_bin_opening = f"(CASE WHEN n <= {2 * items} THEN {_bin_sql('(n - 1) / 2', '(n - 1) % 2', ledger.first_bin_id)}" \
                     f" ELSE {ledger.first_bin_id + busy} + (n - {2 * items} - 1) END)"
    slot = "((n / 20) % 2)"
    return f"""
SELECT n, {ledger.first_item_id} + {item_of_n} AS item_id, {kind} AS kind,
  CASE WHEN n <= {opening} THEN {OPENING_QTY} WHEN n % 20 = 0 THEN 5 ELSE 1 END AS qty,
  CASE WHEN n <= {opening} OR n % 20 = 0 THEN (SELECT id FROM locations WHERE code = 'SUPPLIER')
       ELSE {_bin_sql(item_of_n, slot, ledger.first_bin_id)} END AS from_id,
  CASE WHEN n <= {opening} THEN {to_bin_opening}
       WHEN n % 20 = 0 THEN {_bin_sql(item_of_n, '0', ledger.first_bin_id)}
       WHEN n % 20 = 1 THEN (SELECT id FROM locations WHERE code = 'CUSTOMER')
       ELSE {_bin_sql(item_of_n, f'1 - {slot}', ledger.first_bin_id)} END AS to_id,
  CASE WHEN n <= {opening} OR n % 20 = 0 THEN 'PO-' || (n / 20) WHEN n % 20 = 1 THEN 'SO-' || (n / 100)
       ELSE '' END AS doc_ref,
  CAST({{}} AS TIMESTAMPTZ) + n * interval '{TICK_MS} milliseconds' AS created_at
FROM generate_series(CAST({{}} AS BIGINT), CAST({{}} AS BIGINT)) AS n"""


async def _build_batch(ledger: Ledger, first: int, last: int) -> None:
    """Movements first..last with their command_log rows and balance changes, in one transaction."""
    select = _movement_select(ledger)

    async def work() -> None:
        await db.fetch(
            "INSERT INTO command_log (key, kind, payload_hash, result, actor, created_at)"
            " SELECT 'scale:' || n, kind, md5(n::text) || md5((n + 1)::text), {}, 'bench', created_at"
            " FROM (" + select + ") s",
            _SYNTHETIC_RESULT, ledger.t0, first, last)
        await db.fetch(
            "INSERT INTO movements (idempotency_key, command_key, item_id, lot, qty, from_location_id,"
            " to_location_id, from_state, to_state, reason, actor, doc_ref, created_at)"
            " SELECT 'scale:' || n || '#0', 'scale:' || n, item_id, '', qty, from_id, to_id, 'available',"
            " 'available', kind, 'bench', doc_ref, created_at FROM (" + select + ") s ORDER BY n",
            ledger.t0, first, last)
        # Update the rows there are, insert the rest: an upsert checks the balance's CHECK constraints
        # on the row it would insert, and a net outflow is negative on its own.
        await db.fetch(
            "WITH d AS (SELECT item_id, loc, SUM(delta) AS delta FROM ("
            "  SELECT item_id, to_id AS loc, qty AS delta FROM (" + select + ") s"
            "  UNION ALL SELECT item_id, from_id, -qty FROM (" + select + ") s"
            " ) sides JOIN locations l ON l.id = sides.loc WHERE l.kind IN ('bin', 'staging') GROUP BY item_id, loc),"
            " changed AS (UPDATE balances b SET on_hand = b.on_hand + d.delta FROM d"
            "  WHERE b.item_id = d.item_id AND b.location_id = d.loc AND b.lot = '' RETURNING b.item_id, b.location_id)"
            " INSERT INTO balances (item_id, location_id, lot, on_hand) SELECT item_id, loc, '', delta FROM d"
            " WHERE NOT EXISTS (SELECT 1 FROM changed c WHERE c.item_id = d.item_id AND c.location_id = d.loc)",
            ledger.t0, first, last, ledger.t0, first, last)

    await db.run_in_transaction(work)


async def build_to(ledger: Ledger, target: int) -> float:
    start = time.perf_counter()
    while ledger.built < target:
        last = min(target, ledger.built + BUILD_BATCH)
        await _build_batch(ledger, ledger.built + 1, last)
        ledger.built = last
    return time.perf_counter() - start


# --- measuring ----------------------------------------------------------------------------------


@dataclass(slots=True)
class Timing:
    label: str
    ms: list[float] = field(default_factory=list)
    statements: int = 0
    python_cpu_s: float = 0.0
    pg_cpu_s: float = 0.0
    rows: int = 0

    def merge(self, other: Timing) -> None:
        self.ms += other.ms
        self.statements += other.statements
        self.python_cpu_s += other.python_cpu_s
        self.pg_cpu_s += other.pg_cpu_s
        self.rows += other.rows

    @property
    def p50(self) -> float:
        return statistics.median(self.ms) if self.ms else float("nan")

    def line(self) -> str:
        n, ms = len(self.ms), sorted(self.ms)
        return (f"  {self.label:<38} p50 {self.p50:8.2f} ms  p95 {pct(ms, 95):8.2f} ms  "
                f"{self.statements / n:5.1f} stmts  Python {1000 * self.python_cpu_s / n:6.2f} ms  "
                f"PostgreSQL {1000 * self.pg_cpu_s / n:6.2f} ms CPU/op  ({n} ops, {self.rows / n:.0f} rows/op)")


async def _pg_cpu(admin_url: str, database: str) -> float:
    return sum(pids_cpu_s(await backend_pids(admin_url, database)).values())


async def timed(label: str, seconds: float, admin_url: str, op: Callable[[random.Random], Awaitable[Any]],
                database: str) -> Timing:
    rng, t = random.Random(SEED), Timing(label)
    await op(rng)  # warm: plans and prepared statements, as in a running server
    pg0, py0, st0 = await _pg_cpu(admin_url, database), self_cpu_s(), _statements
    deadline = time.perf_counter() + seconds
    while time.perf_counter() < deadline:
        start = time.perf_counter()
        answer = await op(rng)
        t.ms.append(1000 * (time.perf_counter() - start))
        t.rows += len(answer) if isinstance(answer, list) else 0
    t.python_cpu_s, t.statements = self_cpu_s() - py0, _statements - st0
    t.pg_cpu_s = await _pg_cpu(admin_url, database) - pg0
    return t


async def _temp_bytes() -> int:
    await db.fetch("SELECT pg_stat_force_next_flush()")
    await asyncio.sleep(1.2)  # the backend reports its stats when idle
    row = await db.fetch_one("SELECT temp_bytes FROM pg_stat_database WHERE datname = current_database()")
    assert row is not None
    return int(row["temp_bytes"])


async def timed_check(label: str, full: bool) -> str:
    temp0 = await _temp_bytes()
    tracemalloc.start()
    report: CheckReport = await run_check(full=full)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    temp = await _temp_bytes() - temp0
    assert report.drifts == [], [str(d) for d in report.drifts[:5]]
    return (f"  {label:<38} {report.seconds:6.2f} s, Python peak {peak / 2**20:5.1f} MiB, PostgreSQL temp files"
            f" {temp / 2**20:6.1f} MiB, {len(report.drifts)} drift(s); {report.summary()}")


async def sizes() -> list[str]:
    rows = await db.fetch(
        "SELECT c.relname AS name, pg_relation_size(c.oid) AS heap, pg_indexes_size(c.oid) AS indexes"
        " FROM pg_class c WHERE c.relname IN ('movements', 'command_log', 'balances', 'ledger_checkpoint_balances')"
        " ORDER BY c.relname")
    out = [f"  {r['name']:<28} heap {r['heap'] / 2**20:8.1f} MiB, indexes {r['indexes'] / 2**20:8.1f} MiB"
           for r in rows]
    idx = await db.fetch(
        "SELECT indexrelid::regclass::text AS name, pg_relation_size(indexrelid) AS size FROM pg_index"
        " WHERE indrelid = 'movements'::regclass ORDER BY 1")
    out.append("  movements indexes: " + ", ".join(f"{r['name']} {r['size'] / 2**20:.1f}" for r in idx) + " MiB")
    return out


# --- the operations -----------------------------------------------------------------------------


@dataclass(slots=True)
class Picks:
    """What the list queries ask for: chosen from the stage's data, the same way at every stage."""

    ledger: Ledger
    busy_bins: list[int]
    quiet_bins: list[int]
    hours: int  # hours of synthetic created_at
    bin_codes: dict[int, str]
    built: int  # synthetic movements in this database

    def item(self, rng: random.Random) -> int:
        return self.ledger.first_item_id + rng.randrange(ITEMS)

    def doc_ref(self, rng: random.Random) -> str:
        """An order's shipments: five movements (one every 20 in its block of 100)."""
        first_block = (2 * ITEMS + QUIET_BINS) // 100 + 1
        return f"SO-{rng.randrange(first_block, self.built // 100)}"

    def hour(self, rng: random.Random) -> tuple[datetime, datetime]:
        start = self.ledger.t0 + timedelta(hours=rng.randrange(max(1, self.hours - 1)))
        return start, start + timedelta(hours=1)


def _old_location_sql() -> str:
    return ("SELECT m.id FROM movements m WHERE m.id > $1 AND ($2 = 0 OR m.from_location_id = $2 OR"
            " m.to_location_id = $2) ORDER BY m.id LIMIT $3")


async def _raw(sql: str, *args: Any) -> list[Any]:
    """Old SQL straight to the pool, as the old code sent it (asyncpg placeholders)."""
    pool = db.engine().pool  # type: ignore[attr-defined]
    async with pool.acquire() as conn:
        return await conn.fetch(sql, *args)


def list_queries(p: Picks) -> list[tuple[str, Callable[[random.Random], Awaitable[Any]]]]:
    page = PAGE
    return [
        ("list: first page", lambda rng: queries.movements(limit=page)),
        ("list: ?sku= (page of 5)", lambda rng: queries.movements(item_id=p.item(rng), limit=SHORT_PAGE)),
        ("list: ?location= busy bin", lambda rng: queries.movements(location_id=rng.choice(p.busy_bins), limit=page)),
        ("list: ?location= quiet bin", lambda rng: queries.movements(location_id=rng.choice(p.quiet_bins), limit=page)),
        ("list: ?doc_ref= (page of 5)", lambda rng: queries.movements(doc_ref=p.doc_ref(rng), limit=SHORT_PAGE)),
        ("list: one hour of created_at",
         lambda rng: queries.movements(limit=page, **dict(zip(("since", "until"), p.hour(rng), strict=True)))),
        ("approvals: moved during the count", lambda rng: counts.approvals_queue()),
    ]


def before_queries(p: Picks) -> list[tuple[str, Callable[[random.Random], Awaitable[Any]]]]:
    page = PAGE
    return [
        ("before: ?location= busy bin (OR)", lambda rng: _raw(_old_location_sql(), 0, rng.choice(p.busy_bins), page)),
        ("before: ?location= quiet bin (OR)", lambda rng: _raw(_old_location_sql(), 0, rng.choice(p.quiet_bins), page)),
    ]


async def _pending_count(p: Picks, stage: int) -> None:
    """One count waiting for a manager on a busy bin (the one a smaller stage left is rejected first)."""
    for entry in await counts.approvals_queue():
        await counts.reject_count(entry.id, f"bench-reject-{entry.id}", MANAGER, "bench", recount=False)
    bin_row = await db.fetch_one("SELECT code FROM locations WHERE id = {}", p.busy_bins[stage % len(p.busy_bins)])
    task = await counts.create_count_task(bin_row["code"], f"bench-count-{stage}", COUNTER)
    await counts.start_count(task.task_id, f"bench-start-{stage}", COUNTER)
    held = await db.fetch_one(
        "SELECT i.sku, b.on_hand FROM balances b JOIN items i ON i.id = b.item_id WHERE b.location_id = {}"
        " AND b.on_hand > 2 ORDER BY b.id LIMIT 1", p.busy_bins[stage % len(p.busy_bins)])
    await counts.record_count(task.task_id, held["sku"], held["on_hand"] - 1, f"bench-scan-{stage}", COUNTER)
    await counts.submit_count(task.task_id, f"bench-submit-{stage}", COUNTER,
                              thresholds=counts.Thresholds(units=0, value_cents=0))


def posting(p: Picks) -> Callable[[random.Random], Awaitable[Any]]:
    async def move(rng: random.Random) -> None:
        n = rng.randrange(ITEMS)
        src, dst = (p.ledger.first_bin_id + (n * 7 + s * 991) % (ZONES * BINS_PER_ZONE - QUIET_BINS) for s in (0, 1))
        p.ledger.posted_keys += 1
        with contextlib.suppress(InsufficientStock):
            await commands.execute(commands.Move(sku=f"SCALE-{n + 1}", qty=1, from_location=p.bin_codes[src],
                                                 to_location=p.bin_codes[dst]),
                                   key=f"bench-post-{p.ledger.posted_keys}", actor="bench")
    return move


# --- stages -------------------------------------------------------------------------------------


async def _incremental_three_times(day: int) -> list[str]:
    """The incremental check after the day, three times: the checkpoint is put back before each."""
    saved = await db.fetch_one("SELECT as_of_movement_id, digest FROM ledger_checkpoint WHERE id = 1")
    assert saved is not None
    lines = []
    for n in range(1, 4):
        await db.fetch("UPDATE ledger_checkpoint SET as_of_movement_id = {}, digest = {} WHERE id = 1",
                       saved["as_of_movement_id"], saved["digest"])
        lines.append(await timed_check(f"incremental check after a day ({day:,}) #{n}", full=False))
    return lines


async def build_and_check(ledger: Ledger, size: int, day: int) -> None:
    """Build to `size` movements; time check --full, and the incremental check of the last `day`."""
    print(f"\n== {size:,} movements ==", flush=True)
    build_s = await build_to(ledger, size - day)
    print(await timed_check(f"full check at {size - day:,} (sets checkpoint)", full=True), flush=True)
    build_s += await build_to(ledger, size)
    print(f"  built to {size:,} synthetic movements in {build_s:.1f} s (set-based, {BUILD_BATCH:,} per transaction)")
    for line in await _incremental_three_times(day):
        print(line, flush=True)
    for n in (1, 2):
        print(await timed_check(f"full check #{n}", full=True), flush=True)
    for statement in ("VACUUM ANALYZE movements", "VACUUM ANALYZE command_log", "VACUUM ANALYZE balances"):
        await db.execute_ddl(statement)
    for line in await sizes():
        print(line)


async def _picks(ledger: Ledger) -> Picks:
    bins = await db.fetch("SELECT id, code FROM locations WHERE kind = 'bin' ORDER BY id")
    busy_n = ZONES * BINS_PER_ZONE - QUIET_BINS
    return Picks(ledger, [r["id"] for r in bins[:busy_n]], [r["id"] for r in bins[busy_n:]],
                 int(ledger.built * TICK_MS / 3_600_000), {r["id"]: r["code"] for r in bins}, ledger.built)


@dataclass(slots=True)
class Side:
    """One of the two databases measured side by side."""

    label: str
    url: str
    database: str
    picks: Picks
    timings: dict[str, Timing] = field(default_factory=dict)


def _operations(p: Picks) -> list[tuple[str, Callable[[random.Random], Awaitable[Any]]]]:
    return [("posting: Move", posting(p)), *list_queries(p), *before_queries(p)]


async def measure_side_by_side(sides: list[Side], seconds: int, admin_url: str) -> None:
    """Each operation on each database in ROUNDS alternating turns (so load from anything else on the
    machine falls on both alike), `seconds` per operation and database in all."""
    labels = [label for label, _ in _operations(sides[0].picks)]
    for label in labels:
        for round_ in range(ROUNDS):
            for side in (sides if round_ % 2 == 0 else sides[::-1]):
                await db.connect(Settings(database_url=side.url, db_pool_min=1, db_pool_max=1))
                try:
                    op = dict(_operations(side.picks))[label]
                    t = await timed(label, seconds / ROUNDS, admin_url, op, side.database)
                finally:
                    await db.disconnect()
                side.timings.setdefault(label, Timing(label)).merge(t)
        for side in sides:
            print(f"{side.label:>5} {side.timings[label].line()}", flush=True)


async def main(args: argparse.Namespace) -> None:
    _count_statements()
    n = max(args.movements, SMALL)
    small_url = await recreate_database(args.pg_url, SMALL_DB)
    try:
        async with migrated(small_url, pool_min=1, pool_max=1):
            ledger = await _master_data()
            ledger.t0 = datetime.now(UTC) - timedelta(milliseconds=TICK_MS * n)
            await build_and_check(ledger, SMALL, min(args.day, SMALL // 3))
            small = Side("100k", small_url, SMALL_DB, await _picks(ledger))
            await _pending_count(small.picks, 1)
        large_url = await clone_database(args.pg_url, SMALL_DB, LARGE_DB)
        async with migrated(large_url, pool_min=1, pool_max=1):
            await build_and_check(ledger, n, min(args.day, n // 3))
            large = Side(f"{n // 1000}k", large_url, LARGE_DB, await _picks(ledger))
            await _pending_count(large.picks, 2)
        print(f"\n== side by side, {ROUNDS} alternating rounds ==", flush=True)
        await measure_side_by_side([small, large], args.seconds, args.pg_url)
    finally:
        if not args.keep:
            await drop_database(args.pg_url, SMALL_DB)
            await drop_database(args.pg_url, LARGE_DB)
    lists = [label for label, _ in list_queries(small.picks)]
    print(f"\np50 at {SMALL:,} -> at {n:,} (100k / N; goal: each >= 0.67):")
    for label in lists:
        a, b = small.timings[label].p50, large.timings[label].p50
        print(f"  {label:<38} {a:8.2f} -> {b:8.2f} ms   {a / b:.2f}")
    worst = min(lists, key=lambda label: small.timings[label].p50 / large.timings[label].p50)
    slowest = max(lists, key=lambda label: large.timings[label].p50)
    print(f"worst of them: {worst} {small.timings[worst].p50 / large.timings[worst].p50:.2f};"
          f" slowest at N: {slowest}")
    print(f"ratio: {small.timings[slowest].p50 / large.timings[slowest].p50:.2f}")


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_common_args(parser, seconds=4)
    parser.add_argument("--movements", type=int, default=1_000_000, help="N: movements in the large ledger")
    parser.add_argument("--day", type=int, default=333_333,
                        help="movements the incremental check verifies (a day at 10M a month; at most N / 3)")
    parser.add_argument("--keep", action="store_true", help=f"keep the databases {SMALL_DB}, {LARGE_DB} afterwards")
    return parser.parse_args()


if __name__ == "__main__":
    asyncio.run(main(parse_args()))
