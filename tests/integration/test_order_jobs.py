"""The order import as a job: on a real Redis with a real arq worker process, and in the web process
without Redis. A webhook wakes it; the order is reserved without anyone running anything by hand."""

from __future__ import annotations

import asyncio
import dataclasses
import os
import subprocess
import sys
import uuid

import httpx

from backend.http.app import create_app
from jobs.dispatch import STATE_KEY, InProcessOrderImport, start_order_import
from tests.channel_support import make_channel, order_of, post_shopify, shopify_order
from tests.conftest import REDIS_TEST_URL
from tests.factories import item, receive, warehouse

# A Redis database of this file's own, so the other job tests never see these queues.
REDIS_URL = REDIS_TEST_URL.rsplit("/", 1)[0] + "/12"
WAIT_S = 20


async def _stocked_shop():
    bins = await warehouse()
    await item("MUG")
    await receive("MUG", 5, bins[0])
    return await make_channel("shopify", "Shop")


async def test_a_webhook_enqueues_the_import_and_an_arq_worker_reserves_the_order(ledger_db):
    shop = await _stocked_shop()
    settings = dataclasses.replace(ledger_db, redis_url=REDIS_URL, job_queue=f"stockline:test:{uuid.uuid4().hex}")
    app = create_app(settings, run_jobs=False)
    runner = await start_order_import(settings, in_process=False)
    app.state[STATE_KEY] = runner
    payload = shopify_order([("MUG", 2)])
    try:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://stockline.test") as c:
            assert (await post_shopify(c, shop.slug, payload)).status_code == 200
        assert await runner.redis.zcard(settings.job_queue) == 1  # type: ignore[attr-defined]
        env = {**os.environ, "STOCKLINE_DATABASE_URL": settings.database_url, "STOCKLINE_REDIS_URL": REDIS_URL,
               "STOCKLINE_JOB_QUEUE": settings.job_queue}
        worker = subprocess.run([sys.executable, "-m", "backend", "worker", "--burst"], env=env,
                                capture_output=True, text=True, timeout=120)
        assert worker.returncode == 0, worker.stderr[-2000:]
    finally:
        await runner.redis.delete(settings.job_queue)  # type: ignore[attr-defined]
        await runner.stop()
    assert (await order_of(payload["id"]))["status"] == "released"


async def test_without_redis_the_web_process_imports_as_soon_as_a_webhook_arrives(ledger_db):
    shop = await _stocked_shop()
    app = create_app(ledger_db, run_jobs=False)
    runner = InProcessOrderImport(tick_s=3600)  # only the webhook's wake can start it in time
    app.state[STATE_KEY] = runner
    payload = shopify_order([("MUG", 1)])
    try:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://stockline.test") as c:
            assert (await post_shopify(c, shop.slug, payload)).status_code == 200
        for _ in range(WAIT_S * 10):
            await asyncio.sleep(0.1)
            try:
                if (await order_of(payload["id"]))["status"] == "released":
                    break
            except AssertionError:
                continue
        assert (await order_of(payload["id"]))["status"] == "released"
    finally:
        await runner.stop()
