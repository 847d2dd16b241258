"""With a real arq worker on Redis, two channels that rate-limit, answer 429, fail and sell on their own
converge to the right quantities; every try is a job run."""

from __future__ import annotations

import dataclasses
import os
import subprocess
import sys
import uuid

from arq import create_pool
from arq.connections import RedisSettings

from backend.domain import job_runs
from backend.domain.ledger import commands as c
from backend.settings import Settings
from tests.channel_mocks import MockShopify, MockWoo, serving
from tests.channel_sync_support import (
    adjust,
    connect_shopify,
    connect_woo,
    shop_levels,
    woo_levels,
)
from tests.conftest import REDIS_TEST_URL
from tests.factories import item, key, receive, warehouse

REDIS_URL = REDIS_TEST_URL.rsplit("/", 1)[0] + "/11"  # the job tests' own Redis database
SKUS = 300
WORKER_S_MAX = 180


async def _push_on_the_worker(settings: Settings) -> subprocess.CompletedProcess:
    """Enqueue one push and let a worker process run until the queue is empty (retries included)."""
    redis = await create_pool(RedisSettings.from_dsn(REDIS_URL), default_queue_name=settings.job_queue)
    try:
        assert await redis.enqueue_job("push_channel_stock", _job_id=f"push:{uuid.uuid4().hex}") is not None
    finally:
        await redis.aclose()
    env = {**os.environ, "STOCKLINE_DATABASE_URL": settings.database_url, "STOCKLINE_REDIS_URL": REDIS_URL,
           "STOCKLINE_JOB_QUEUE": settings.job_queue}
    worker = subprocess.run([sys.executable, "-m", "backend", "worker", "--burst"], env=env, capture_output=True,
                            text=True, timeout=WORKER_S_MAX, check=False)
    assert worker.returncode == 0, worker.stderr[-3000:]
    return worker


async def test_channels_converge_under_rate_limits_failures_and_their_own_sales(ledger_db):
    settings = dataclasses.replace(ledger_db, redis_url=REDIS_URL, job_queue=f"stockline:test:{uuid.uuid4().hex}")
    bins = await warehouse()
    expected = {f"SKU-{n:04d}": n % 17 for n in range(SKUS)}
    shop, woo = MockShopify(per_s=2, burst=1), MockWoo(per_s=5, burst=1)
    for sku, qty in expected.items():
        await item(sku)
        if qty:
            await receive(sku, qty, bins[0])
        shop.add_item(sku, qty=3)
        woo.add_product(sku, qty=3)
    with serving(shop) as shop_url, serving(woo) as woo_url:
        await connect_shopify(shop, shop_url, requests_per_s=30)  # faster than either shop allows: 429s
        await connect_woo(woo_url, requests_per_s=30, buffer_units=1)
        shop.fail_next(500, 503)  # retried within the try
        woo.fail_next(*[503] * 6)  # WooCommerce is down for the whole first try: arq tries again, 5 s later
        first = await _push_on_the_worker(settings)
        assert shop_levels(shop) == expected
        assert woo_levels(woo) == {sku: max(0, qty - 1) for sku, qty in expected.items()}
        assert shop.stats.throttled > 0 and woo.stats.throttled > 0
        assert "channel.throttled" in first.stdout + first.stderr

        for n in range(0, SKUS, 30):  # stock moves in Stockline ...
            await adjust(f"SKU-{n:04d}", 5, bins[0])
            expected[f"SKU-{n:04d}"] += 5
        # The shop sells one SKU-0002 (it holds 1 now) and its order reserves one in Stockline, which also
        # receives 5 more: Stockline's push compares against the 2 it sent, is refused as stale, reads 1.
        shop.item_of("SKU-0002").qty = 1
        await c.execute(c.Reserve(lines=[c.ReserveLine(sku="SKU-0002", qty=1, location=bins[0])]), key=key("r"),
                        actor="test")
        await receive("SKU-0002", 5, bins[0])
        expected["SKU-0002"] = 2 - 1 + 5
        sent_before = shop.stats.updates
        await _push_on_the_worker(settings)
        assert shop.qty("SKU-0002") == 1 and shop.stats.stale == 1  # never overwritten blindly
        await _push_on_the_worker(settings)  # compared against what the shop holds now
        assert shop_levels(shop) == expected
        assert woo_levels(woo) == {sku: max(0, qty - 1) for sku, qty in expected.items()}
        assert shop.stats.updates - sent_before == 10 + 1  # the ten that changed, SKU-0002 once

    tries = list(await job_runs.recent_runs(kind="push_channel_stock", limit=20))
    assert {r.status for r in tries} == {"done", "retrying"}
    assert any(r.status == "retrying" and "503" in r.error for r in tries)
    assert all(r.runner and r.finished_at for r in tries)
