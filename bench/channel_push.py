"""Channel stock push at scale on PostgreSQL: 100,000 SKUs × 3 channels, 1 % of the SKUs changed per cycle.

1. Seed (not timed): one warehouse, 100,000 items and their opening stock through the catalogue import
   (the domain's own commands); three channels connected to local mock servers, each in a process of its
   own (tests/channel_mocks.py: two Shopify-shaped GraphQL shops, one WooCommerce-shaped REST shop, rate
   limited), each listing the 100,000 SKUs at 0. The three channels offer differently: Shop A keeps 2
   units back, Shop B offers at most half, Woo keeps 10 % back.
2. Baseline (same run): the first push, which lists every SKU of every channel and sends every level:
   a full resend, the cost of not knowing what changed.
3. Cycles until --seconds have passed (at least 3): change 1 % of the SKUs through the ledger (an
   adjustment up or down, not timed), then one push job (`push_channel_stock`, as the worker runs it;
   timed). "Changed" is counted here, independently of the push: the listings whose available-to-sell,
   computed from the stock this script put there, differs from before the cycle. "Sent" is what the
   mock channels say they applied. Every changed listing is then checked on the mocks.
   Per cycle: wall time, statements sent to PostgreSQL (asyncpg's Connection wrapped), CPU of this
   process (the push; the mocks run elsewhere) and of its PostgreSQL backends.
4. At the end every level on every mock must equal Stockline's available-to-sell.

Prints `updates sent / changed: X.XX` (the goal is 1.00), the full push cycle's time, and last
`ratio: X.XX` = changed ÷ sent (1.00 = nothing sent that did not change; a full resend would be 0.01).
Usage: .venv/bin/python bench/channel_push.py [--seconds 60] [--pg-url URL] [--skus 100000]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import statistics
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import httpx
import structlog
from _common import (
    ROOT,
    Statements,
    add_common_args,
    backend_pids,
    drop_database,
    free_port,
    migrated,
    pids_cpu_s,
    recreate_database,
    self_cpu_s,
)

from backend.domain import channel_sync, imports
from backend.domain.auth.audit import Actor
from backend.domain.channels import NewChannel, create_channel
from backend.domain.ledger import commands
from backend.domain.ledger.check import check_ledger
from jobs.channels import push_channel_stock
from jobs.runs import run_in_process

BENCH_DB = "stockline_bench_channel_push"
CHANGED_PCT = 1
OPENING_QTY_MAX = 50
BINS = 50
MOCK_PER_S = 400  # what each mock channel allows
CONNECTION_PER_S = 200  # what Stockline asks of each
CYCLES_MIN = 3
SEED = 20261130
ACTOR = Actor("bench", device="bench")
CHANNELS: tuple[tuple[str, str, dict[str, Any]], ...] = (  # kind, name, stock rule
    ("shopify", "Shop A", {"buffer_units": 2}),
    ("shopify", "Shop B", {"share_pct": 50}),
    ("woocommerce", "Woo", {"buffer_pct": 10}),
)



@dataclass(frozen=True, slots=True)
class Cycle:
    changed: int
    sent: int
    elapsed_s: float
    statements: int
    cpu_s: float
    pg_cpu_s: float


# --- the mock channels, each in its own process ------------------------------------------------------

class Mock:
    def __init__(self, kind: str) -> None:
        self.kind, self.port = kind, free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc = subprocess.Popen([sys.executable, str(ROOT / "tests" / "channel_mocks.py"), kind, "--port",
                                      str(self.port), "--per-s", str(MOCK_PER_S), "--burst", str(MOCK_PER_S)],
                                     cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)})

    async def ready(self, client: httpx.AsyncClient) -> None:
        for _ in range(200):
            try:
                if (await client.get(f"{self.url}/_mock/stats")).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            await asyncio.sleep(0.1)
        raise RuntimeError(f"mock {self.kind} did not start")

    async def updates(self, client: httpx.AsyncClient) -> int:
        return int((await client.get(f"{self.url}/_mock/stats")).json()["updates"])

    async def levels(self, client: httpx.AsyncClient) -> dict[str, int | None]:
        return (await client.get(f"{self.url}/_mock/levels", timeout=60)).json()

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(timeout=15)


# --- seeding -----------------------------------------------------------------------------------------

async def _import(kind: str, text: str) -> None:
    report = await imports.import_file(imports.read_file(text.encode(), kind, f"{kind}.csv"), ACTOR)  # type: ignore[arg-type]
    assert report.errors_total == 0, report


async def seed(skus: list[str], rng: random.Random) -> dict[str, int]:
    """Items and opening stock through the catalogue import; returns available units per SKU."""
    await _import("locations", "code,kind,parent\nWH1,warehouse,\nWH1-Z,zone,WH1\n"
                  + "".join(f"WH1-B{n:02d},bin,WH1-Z\n" for n in range(BINS)))
    await _import("items", "sku,name\n" + "".join(f"{s},Item {s}\n" for s in skus))
    stock = {s: rng.randint(0, OPENING_QTY_MAX) for s in skus}
    await _import("stock", "sku,location,qty\n" + "".join(
        f"{s},WH1-B{n % BINS:02d},{q}\n" for n, (s, q) in enumerate(stock.items()) if q))
    return stock


async def change(skus: list[str], stock: dict[str, int], rng: random.Random, key: str) -> None:
    """1 % of the SKUs move up or down through the ledger (one adjustment each)."""
    index = {s: n for n, s in enumerate(skus)}
    for sku in rng.sample(skus, len(skus) * CHANGED_PCT // 100):
        delta = rng.choice([d for d in (-3, -2, -1, 1, 2, 3) if stock[sku] + d >= 0])
        await commands.execute(commands.Adjust(sku=sku, delta=delta, location=f"WH1-B{index[sku] % BINS:02d}",
                                               reason="found" if delta > 0 else "damaged"),
                               key=f"bench:{key}:{sku}", actor="bench")
        stock[sku] += delta


def offered(stock: dict[str, int], rules: list[channel_sync.StockRule]) -> list[dict[str, int]]:
    return [{s: channel_sync.available_to_sell(q, rule) for s, q in stock.items()} for rule in rules]


# --- measuring -----------------------------------------------------------------------------------------

async def measure(work: Callable[[], Awaitable[Any]]) -> tuple[float, int, float, float]:
    pids = await backend_pids(ADMIN_URL, BENCH_DB)
    pg0, cpu0, st0, t0 = pids_cpu_s(pids), self_cpu_s(), Statements.count, time.perf_counter()
    await work()
    elapsed, cpu, statements = time.perf_counter() - t0, self_cpu_s() - cpu0, Statements.count - st0
    pg1 = pids_cpu_s(await backend_pids(ADMIN_URL, BENCH_DB))
    return elapsed, statements, cpu, sum(v - pg0.get(pid, 0.0) for pid, v in pg1.items())


async def push_once(label: str) -> dict[str, Any]:
    result = await run_in_process(push_channel_stock, f"bench:{label}")
    assert "problems" not in result, result
    return result


async def sent_total(mocks: list[Mock], client: httpx.AsyncClient) -> int:
    return sum([await m.updates(client) for m in mocks])


async def verify(mocks: list[Mock], client: httpx.AsyncClient, expected: list[dict[str, int]],
                 only: set[str] | None = None) -> None:
    for mock, want in zip(mocks, expected, strict=True):
        got = await mock.levels(client)
        wrong = [s for s in (only or want) if got.get(s) != want[s]]
        assert not wrong, f"{mock.kind}: {len(wrong)} wrong, e.g. {wrong[0]}: {got.get(wrong[0])} != {want[wrong[0]]}"


def _fmt(c: Cycle) -> str:
    per = max(c.sent, 1)
    return (f"{c.elapsed_s:.2f} s, {c.changed} changed, {c.sent} sent, {c.statements} statements "
            f"({c.statements / per:.3f} per update), CPU {1000 * c.cpu_s:.0f} ms ({1000 * c.cpu_s / per:.2f} ms per "
            f"update), PostgreSQL CPU {1000 * c.pg_cpu_s:.0f} ms")


async def run(seconds: int, skus_n: int) -> None:
    rng = random.Random(SEED)
    skus = [f"CP{n:06d}" for n in range(skus_n)]
    mocks = [Mock(kind) for kind, _, _ in CHANNELS]
    async with httpx.AsyncClient(timeout=60) as client:
        try:
            for mock in mocks:
                await mock.ready(client)
                for start in range(0, skus_n, 10_000):
                    await client.post(f"{mock.url}/_mock/seed", json={"skus": skus[start:start + 10_000], "qty": 0})
            t0 = time.perf_counter()
            stock = await seed(skus, rng)
            print(f"seeded {skus_n:,} items and their stock in {time.perf_counter() - t0:.1f} s", flush=True)
            rules = []
            for (kind, name, rule), mock in zip(CHANNELS, mocks, strict=True):
                channel = await create_channel(NewChannel(kind=kind, name=name, secret="bench-secret-123"), ACTOR)  # type: ignore[arg-type]
                spec = channel_sync.ConnectionSpec(api_url=mock.url,
                                                   api_key="shpat_test" if kind == "shopify" else "ck_test",
                                                   api_secret="cs_test", location="1" if kind == "shopify" else "",
                                                   requests_per_s=CONNECTION_PER_S, **rule)
                rules.append((await channel_sync.connect_channel(channel.slug, spec, ACTOR)).rule)
            Statements.install()

            before = await sent_total(mocks, client)
            full = await measure(lambda: push_once("full"))
            full_sent = await sent_total(mocks, client) - before
            expected = offered(stock, rules)
            full_changed = sum(1 for levels in expected for q in levels.values() if q != 0)
            baseline = Cycle(full_changed, full_sent, *full)
            print(f"baseline, first push (lists {skus_n:,} SKUs × {len(mocks)} channels and sends every level): "
                  f"{_fmt(baseline)}", flush=True)
            await verify(mocks, client, expected)

            cycles: list[Cycle] = []
            deadline = time.monotonic() + seconds
            while len(cycles) < CYCLES_MIN or time.monotonic() < deadline:
                previous = expected
                await change(skus, stock, rng, f"c{len(cycles)}")
                expected = offered(stock, rules)
                changed_skus = {s for old, new in zip(previous, expected, strict=True) for s in new if old[s] != new[s]}
                changed = sum(1 for old, new in zip(previous, expected, strict=True) for s in new if old[s] != new[s])
                before = await sent_total(mocks, client)
                timing = await measure(lambda: push_once(f"cycle-{len(cycles)}"))
                cycle = Cycle(changed, await sent_total(mocks, client) - before, *timing)
                cycles.append(cycle)
                print(f"cycle {len(cycles)}: {_fmt(cycle)}", flush=True)
                await verify(mocks, client, expected, only=changed_skus)
            await verify(mocks, client, expected)
        finally:
            for mock in mocks:
                mock.stop()
    drift = await check_ledger()
    changed, sent = sum(c.changed for c in cycles), sum(c.sent for c in cycles)
    median = statistics.median(c.elapsed_s for c in cycles)
    print(f"every level on every channel equals available-to-sell: yes; ledger drift: {len(drift)}")
    print(f"full push cycle ({skus_n:,} SKUs × {len(mocks)} channels, {CHANGED_PCT} % of SKUs changed): median "
          f"{median:.2f} s (min {min(c.elapsed_s for c in cycles):.2f}, max {max(c.elapsed_s for c in cycles):.2f}) "
          f"over {len(cycles)} cycles; per cycle {statistics.median(c.statements for c in cycles):.0f} statements, "
          f"CPU {1000 * statistics.median(c.cpu_s for c in cycles):.0f} ms, PostgreSQL CPU "
          f"{1000 * statistics.median(c.pg_cpu_s for c in cycles):.0f} ms")
    print(f"baseline full resend: {baseline.elapsed_s:.2f} s for {baseline.sent:,} updates "
          f"({baseline.sent / max(changed / len(cycles), 1):.1f} × a cycle's changes)")
    print(f"updates sent / changed: {sent / changed:.2f}")
    print(f"ratio: {changed / sent:.2f}")


ADMIN_URL = ""


async def main(seconds: int, admin_url: str, skus: int) -> None:
    global ADMIN_URL
    ADMIN_URL = admin_url
    log_level = int(os.environ.get("BENCH_LOG_LEVEL", "30"))
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(log_level))
    url = await recreate_database(admin_url, BENCH_DB)
    try:
        async with migrated(url, pool_max=8):
            await run(seconds, skus)
    finally:
        await drop_database(admin_url, BENCH_DB)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_common_args(parser, seconds=60)
    parser.add_argument("--skus", type=int, default=100_000)
    args = parser.parse_args()
    asyncio.run(main(args.seconds, args.pg_url, args.skus))
