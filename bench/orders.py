"""Channel orders on PostgreSQL: signed webhook deliveries → reserved orders, against the direct
reserve command, and building waves from 10,000 released orders.

1. Seed: one warehouse, BINS bins, ITEMS items with plenty of stock, a Shopify channel.
2. Direct (baseline): WORKERS asyncio tasks place orders through `orders.place_order`, the command
   `POST /api/v1/orders` runs: the order, its lines, allocation, one ledger Reserve per line, the
   lifecycle transitions and their audit rows, one transaction per order.
3. Webhooks (subject): WORKERS tasks POST the same orders as Shopify bodies, signed here over the raw
   bytes, to the real app (`/webhooks/shopify/{slug}` through its ASGI interface: routing, the
   request hooks, signature check, the stored delivery); each answer wakes the import loop the web
   process runs without Redis (jobs/dispatch.py), which turns deliveries into reserved orders. A
   round ends when its last order is reserved.
   Both run in this process, in alternating rounds of ROUND_ORDERS orders (direct first in even
   rounds, webhooks first in odd ones), so load from anything else on the machine falls on both.
   Every statement sent to PostgreSQL is counted (asyncpg's Connection wrapped) and the CPU of this
   process and of its PostgreSQL backends is read per phase: per order, both are independent of load.
4. Waves: orders are placed up to WAVE_ORDERS released orders (direct, not timed), then one
   `build_waves` turns them into pick lists: timed (goal < 5 s).
5. Every order must be reserved (none failed), and the ledger check must find no drift.

Not included: an HTTP server, its sockets and the sender's client: each webhook goes straight into the
app's ASGI interface (what uvicorn hands it), so the figures are the app's and the import's own.
The last line is `ratio: X.XX` = webhook orders/s ÷ direct orders/s (medians; goal ≥ 0.5).
Usage: .venv/bin/python bench/orders.py [--seconds 30] [--pg-url URL]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import statistics
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import structlog
from _common import (
    Statements,
    add_common_args,
    backend_pids,
    drop_database,
    migrated,
    pids_cpu_s,
    recreate_database,
    self_cpu_s,
)

from backend import db
from backend.domain import channels, orders
from backend.domain.auth.audit import Actor
from backend.domain.catalog.service import NewItem, create_item
from backend.domain.ledger import commands
from backend.domain.ledger.check import check_ledger
from backend.domain.locations.service import NewLocation, create_location
from backend.http.app import create_app
from backend.settings import Settings
from jobs.dispatch import STATE_KEY, InProcessOrderImport

BENCH_DB = "stockline_bench_orders"
ITEMS, BINS, OPENING_QTY = 200, 100, 1_000_000
ROUND_ORDERS = 200
WORKERS = 8
WAVE_ORDERS = 10_000
SECRET = "shpss_bench_0123456789"
SEED = 20261130
ACTOR = Actor("bench", device="bench")
DONE_POLL_S = 0.02


# --- counting statements ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Phase:
    label: str
    orders: int
    elapsed_s: float
    statements: int
    cpu_s: float  # this process: client, app and import job
    pg_cpu_s: float

    @property
    def per_s(self) -> float:
        return self.orders / self.elapsed_s


class Meter:
    def __init__(self, admin_url: str) -> None:
        self.admin_url = admin_url

    async def measure(self, label: str, orders_n: int, work: Callable[[], Awaitable[None]]) -> Phase:
        pids = await backend_pids(self.admin_url, BENCH_DB)
        pg0, cpu0, st0, t0 = pids_cpu_s(pids), self_cpu_s(), Statements.count - Statements.polls, time.perf_counter()
        await work()
        elapsed = time.perf_counter() - t0
        cpu, statements = self_cpu_s() - cpu0, Statements.count - Statements.polls - st0
        pg1 = pids_cpu_s(await backend_pids(self.admin_url, BENCH_DB))
        pg = sum(v - pg0.get(pid, 0.0) for pid, v in pg1.items())
        return Phase(label, orders_n, elapsed, statements, cpu, pg)


# --- workload --------------------------------------------------------------------------------------

def _order_lines(rng: random.Random) -> list[tuple[str, int]]:
    skus = rng.sample(range(ITEMS), rng.choice((1, 1, 2, 3)))
    return [(f"BO{n:04d}", rng.choice((1, 1, 2))) for n in skus]


def _shopify_body(order_id: int, lines: list[tuple[str, int]]) -> bytes:
    return json.dumps({
        "id": order_id, "name": f"#{order_id}", "financial_status": "paid", "cancelled_at": None,
        "created_at": "2026-11-30T10:00:00Z", "updated_at": "2026-11-30T10:00:00Z", "total_price": "10.00",
        "line_items": [{"id": order_id * 10 + n, "sku": sku, "variant_id": n, "product_id": n, "quantity": qty,
                        "price": "5.00"} for n, (sku, qty) in enumerate(lines, start=1)],
        "shipping_address": {"address1": "1 Main St", "zip": "94107", "country_code": "US"},
        "shipping_lines": [{"title": "UPS Ground"}],
    }, separators=(",", ":")).encode()


async def _in_parallel(jobs: list[Callable[[], Awaitable[Any]]]) -> None:
    queue = list(reversed(jobs))

    async def worker() -> None:
        while queue:
            await queue.pop()()

    await asyncio.gather(*(worker() for _ in range(WORKERS)))


class Bench:
    def __init__(self, settings: Settings, slug: str) -> None:
        self.settings, self.slug = settings, slug
        self.rng = random.Random(SEED)
        self.next_id = 1
        self.app = create_app(settings, run_jobs=False)

    def _ids(self, n: int) -> list[int]:
        start, self.next_id = self.next_id, self.next_id + n
        return list(range(start, start + n))

    async def direct(self, n: int) -> None:
        async def place(order_id: int, lines: list[tuple[str, int]]) -> None:
            spec = orders.NewOrder(order_ref=f"D-{order_id}", channel=self.slug,
                                   lines=[orders.NewOrderLine(sku, qty) for sku, qty in lines],
                                   ship_to=orders.ShipTo("US", "94107", "1 Main St"), carrier="UPS Ground")
            await orders.place_order(spec, key=f"bench:{order_id}", actor=ACTOR)

        work = [(i, _order_lines(self.rng)) for i in self._ids(n)]
        await _in_parallel([lambda i=i, lines=lines: place(i, lines) for i, lines in work])

    async def webhooks(self, n: int) -> None:
        ids = self._ids(n)

        async def post(order_id: int, lines: list[tuple[str, int]]) -> None:
            body = _shopify_body(order_id, lines)
            status = await _asgi_post(self.app, f"/webhooks/shopify/{self.slug}", body, {
                "content-type": "application/json", "x-shopify-topic": "orders/create",
                "x-shopify-webhook-id": f"bench-{order_id}",
                "x-shopify-hmac-sha256": channels.base64_signature(SECRET, body)})
            assert status == 200, status

        work = [(i, _order_lines(self.rng)) for i in ids]
        await _in_parallel([lambda i=i, lines=lines: post(i, lines) for i, lines in work])
        while True:  # the round ends when the import loop has applied its last delivery
            Statements.polls += 1  # the bench's own question, not the pipeline's: not counted per order
            row = await db.fetch_one("SELECT COUNT(*) AS n FROM webhook_deliveries WHERE status = 'pending'")
            if row is not None and row["n"] == 0:
                return
            await asyncio.sleep(DONE_POLL_S)


async def _asgi_post(app: Any, path: str, body: bytes, headers: dict[str, str]) -> int:
    """One POST straight into the app's ASGI interface: what uvicorn hands it, without a client library's
    cost (a channel's sender runs elsewhere)."""
    raw = [(k.encode(), v.encode()) for k, v in headers.items()]
    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST", "scheme": "http",
             "path": path, "raw_path": path.encode(), "query_string": b"", "root_path": "",
             "headers": [*raw, (b"content-length", str(len(body)).encode()), (b"host", b"bench")],
             "client": ("127.0.0.1", 50000), "server": ("bench", 80), "state": {}}
    chunks = [{"type": "http.request", "body": body, "more_body": False}]
    answer: dict[str, int] = {}

    async def receive() -> dict[str, Any]:
        return chunks.pop() if chunks else {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            answer["status"] = message["status"]

    await app(scope, receive, send)
    return answer.get("status", 0)


async def _seed() -> str:
    await create_location(NewLocation(code="WH1", kind="warehouse"))
    await create_location(NewLocation(code="WH1-A", kind="zone", parent="WH1"))
    for b in range(BINS):
        await create_location(NewLocation(code=f"A-{b:03d}", kind="bin", parent="WH1-A", walk_seq=b))
    for n in range(ITEMS):
        await create_item(NewItem(sku=f"BO{n:04d}", name=f"Bench item {n}"))
        receive = commands.Receive(sku=f"BO{n:04d}", qty=OPENING_QTY, to_location=f"A-{n % BINS:03d}")
        await commands.execute(receive, key=f"seed:{n}", actor="bench")
    channel = await channels.create_channel(channels.NewChannel(kind="shopify", name="Bench shop", secret=SECRET,
                                                                warehouses=["WH1"]), ACTOR)
    return channel.slug


def _line(p: Phase) -> str:
    return (f"{p.label}: {p.per_s:.1f} orders/s ({p.orders} in {p.elapsed_s:.2f} s), "
            f"{p.statements / p.orders:.1f} statements/order, CPU {1000 * p.cpu_s / p.orders:.2f} ms/order here"
            f" + {1000 * p.pg_cpu_s / p.orders:.2f} ms/order PostgreSQL")


async def _rounds(bench: Bench, meter: Meter, seconds: int) -> tuple[list[Phase], list[Phase]]:
    direct, hooks = [], []
    runner = InProcessOrderImport()
    bench.app.state[STATE_KEY] = runner
    deadline = time.monotonic() + seconds
    try:
        rnd = 0
        while rnd < 2 or time.monotonic() < deadline:
            order = [("direct", direct), ("webhooks", hooks)]
            for label, out in order if rnd % 2 == 0 else reversed(order):
                work = (lambda: bench.direct(ROUND_ORDERS)) if label == "direct" else (
                    lambda: bench.webhooks(ROUND_ORDERS))
                phase = await meter.measure(label, ROUND_ORDERS, work)
                out.append(phase)
                print(f"round {rnd + 1} {_line(phase)}", flush=True)
            rnd += 1
    finally:
        await runner.stop()
    return direct, hooks


def _median(phases: list[Phase], label: str) -> Phase:
    def mid(values: list[float]) -> float:
        return statistics.median(values)

    return Phase(label, phases[0].orders, mid([p.elapsed_s for p in phases]),
                 int(mid([p.statements for p in phases])), mid([p.cpu_s for p in phases]),
                 mid([p.pg_cpu_s for p in phases]))


async def _waves(bench: Bench, meter: Meter) -> Phase:
    row = await db.fetch_one("SELECT COUNT(*) AS n FROM orders WHERE status = 'released'")
    missing = WAVE_ORDERS - int(row["n"]) if row else WAVE_ORDERS
    if missing > 0:
        print(f"placing {missing} more released orders for the wave (not timed)...", flush=True)
        await bench.direct(missing)

    async def build() -> None:
        run = await orders.build_waves(key="bench:waves", actor=ACTOR)
        lists = sum(len(w.pick_list_ids) for w in run.waves)
        print(f"waves: {len(run.waves)} wave(s), {run.orders} orders, {run.lines} pick lines, {lists} pick lists",
              flush=True)

    released = await db.fetch_one("SELECT COUNT(*) AS n FROM orders WHERE status = 'released'")
    return await meter.measure("waves", int(released["n"]) if released else 0, build)


async def main(seconds: int, admin_url: str) -> None:
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(30))  # warnings and up
    Statements.install()
    print("load average at start: {:.2f} {:.2f} {:.2f} ({} cores)".format(*os.getloadavg(), os.cpu_count()),
          flush=True)
    url = await recreate_database(admin_url, BENCH_DB)
    settings = Settings(database_url=url, db_pool_min=2, db_pool_max=WORKERS + 8, secret="bench-secret",
                        log_level="warning")
    try:
        async with migrated(url, pool_min=2, pool_max=WORKERS + 8):
            slug = await _seed()
            bench, meter = Bench(settings, slug), Meter(admin_url)
            direct, hooks = await _rounds(bench, meter, seconds)
            d = _median(direct, "direct place_order (median round)")
            w = _median(hooks, "signed webhooks → job (median)")
            print(_line(d))
            print(_line(w))
            waves = await _waves(bench, meter)
            print(f"waves from {waves.orders} released orders: {waves.elapsed_s:.2f} s (goal < 5 s),"
                  f" {waves.statements} statements, CPU {waves.cpu_s:.2f} s here + {waves.pg_cpu_s:.2f} s PostgreSQL")
            failed = await db.fetch_one("SELECT COUNT(*) AS n FROM webhook_deliveries WHERE status <> 'applied'")
            unreserved = await db.fetch_one("SELECT COUNT(*) AS n FROM orders WHERE status NOT IN"
                                            " ('released', 'picking', 'backordered')")
            drifts = await check_ledger()
            print(f"deliveries not applied: {failed['n'] if failed else '?'}; orders not reserved:"
                  f" {unreserved['n'] if unreserved else '?'}; ledger drift: {len(drifts)}")
            print("load average at end: {:.2f} {:.2f} {:.2f}".format(*os.getloadavg()))
            print(f"ratio: {w.per_s / d.per_s:.2f}")
    finally:
        await db.disconnect()
        await drop_database(admin_url, BENCH_DB)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_common_args(parser, seconds=30)
    args = parser.parse_args()
    asyncio.run(main(args.seconds, args.pg_url))
