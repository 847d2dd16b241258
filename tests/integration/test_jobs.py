"""Jobs on a real Redis and a real arq worker process; and the in-process fallback without Redis."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import uuid
from datetime import UTC, datetime, timedelta

from arq import create_pool
from arq.connections import RedisSettings

from backend import db
from backend.domain.catalog.service import get_item
from backend.domain.ledger import commands as c
from backend.domain.ledger import queries
from jobs.inprocess import InProcessJobs
from jobs.tasks import expire_reservations
from tests.conftest import REDIS_TEST_URL
from tests.factories import item, key, receive, warehouse


async def _expired_reservation(bin_code: str) -> int:
    result = await c.execute(c.Reserve(lines=[c.ReserveLine(sku="MUG", qty=3, location=bin_code)], ttl_min=5),
                             key=key("res"), actor="test")
    [rid] = result.reservation_ids
    # Reservations are mutable rows (only movements are append-only): age this one past its expiry.
    await db.fetch("UPDATE reservations SET expires_at = {} WHERE id = {}",
                   datetime.now(UTC) - timedelta(minutes=1), rid)
    return rid


async def _status(rid: int) -> str:
    [row] = [r for r in await queries.reservations() if r.id == rid]
    return row.status


async def test_arq_worker_expires_reservations(ledger_db):
    b1, *_ = await warehouse()
    await item("MUG")
    await receive("MUG", 10, b1)
    rid = await _expired_reservation(b1)
    queue = f"stockline:test:{uuid.uuid4().hex}"
    redis = await create_pool(RedisSettings.from_dsn(REDIS_TEST_URL), default_queue_name=queue)
    try:
        job = await redis.enqueue_job("expire_reservations", _queue_name=queue)
        assert job is not None
        env = {**os.environ, "STOCKLINE_DATABASE_URL": ledger_db.database_url,
               "STOCKLINE_REDIS_URL": REDIS_TEST_URL, "STOCKLINE_JOB_QUEUE": queue}
        worker = subprocess.run([sys.executable, "-m", "backend", "worker", "--burst"], env=env,
                                capture_output=True, text=True, timeout=120)
        assert worker.returncode == 0, worker.stderr
        assert await job.result(timeout=10) == 1
    finally:
        await redis.aclose()
    assert await _status(rid) == "expired"
    assert await queries.available_by_item((await get_item("MUG")).id) == 10


async def test_expiry_job_is_idempotent(ledger_db):
    b1, *_ = await warehouse()
    await item("MUG")
    await receive("MUG", 10, b1)
    await _expired_reservation(b1)
    assert await expire_reservations() == 1
    assert await expire_reservations() == 0  # a second run (retry, second worker) releases nothing twice


async def test_expiry_job_logs_a_reservation_it_cannot_release_and_releases_the_rest(ledger_db):
    b1, *_ = await warehouse()
    await item("MUG")
    await receive("MUG", 10, b1)
    stuck, free = await _expired_reservation(b1), await _expired_reservation(b1)
    # The job's key for the first reservation was already used for another action: releasing it
    # is an IdempotencyConflict (a DomainError), which must not stop the job.
    await c.execute(c.Adjust(sku="MUG", delta=1, location=b1, reason="found"),
                    key=f"job:expire-reservation:{stuck}", actor="test")
    assert await expire_reservations() == 1
    assert (await _status(stuck), await _status(free)) == ("open", "expired")


async def test_in_process_jobs_run_without_redis(ledger_db):
    b1, *_ = await warehouse()
    await item("MUG")
    await receive("MUG", 10, b1)
    rid = await _expired_reservation(b1)
    jobs = InProcessJobs(ledger_db, tick_s=0.05)
    jobs.start()
    try:
        for _ in range(100):
            if await _status(rid) == "expired":
                break
            await asyncio.sleep(0.05)
    finally:
        await jobs.stop()
    assert await _status(rid) == "expired"
