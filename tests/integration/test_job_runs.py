"""Every job run is a job_runs row: started, progress, result or error; retried with backoff up to a limit;
a run whose heartbeat stops is reported stuck; a manager starts one on the tablet and watches it."""

from __future__ import annotations

import asyncio
import dataclasses
import os
import re
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from arq.worker import Retry

from backend import db
from backend.domain import job_runs
from backend.domain.auth.audit import Actor
from backend.http.app import create_app
from jobs import runs
from jobs.observe import progress_of
from jobs.runs import run_in_process, start_job, watch_job_runs
from tests.conftest import REDIS_TEST_URL
from tests.sync_support import csrf_client, sign_in

REDIS_URL = REDIS_TEST_URL.rsplit("/", 1)[0] + "/11"  # this area's own Redis database
POLL_S_MAX = 30
MANAGER = Actor("manager-1", role="manager")


async def counted_job(ctx: dict[str, Any] | None = None) -> dict[str, int]:
    """A job of this test: reports progress through the context the runner hands it."""
    progress = progress_of(ctx)
    for n in range(1, 4):
        await progress(n, 3, "steps")
    return {"steps": 3}


class Flaky:
    """A job that fails with arq's Retry until its third try."""

    def __init__(self) -> None:
        self.tries: list[int] = []

    async def flaky_job(self, ctx: dict[str, Any] | None = None) -> str:
        self.tries.append(int((ctx or {})["job_try"]))
        if len(self.tries) < 3:
            raise Retry(defer=0.01) from ConnectionError("channel did not answer")
        return "ok"


async def test_a_run_records_its_progress_and_result(ledger_db):
    assert await run_in_process(counted_job, "schedule:counted:1") == {"steps": 3}
    [run] = await job_runs.recent_runs()
    assert (run.kind, run.status, run.trigger, run.job_try) == ("counted_job", "done", "schedule", 1)
    assert (run.progress_done, run.progress_total, run.progress_note) == (3, 3, "steps")
    assert run.result_items == [("steps", 3)]
    assert run.started_at is not None and run.finished_at is not None and run.finished_at >= run.started_at


async def test_a_retried_job_is_one_row_per_try_with_backoff_up_to_the_limit(ledger_db):
    flaky = Flaky()
    assert await run_in_process(flaky.flaky_job, "event:flaky") == "ok"
    assert flaky.tries == [1, 2, 3]
    rows = sorted(await job_runs.recent_runs(), key=lambda r: r.job_try)
    assert [(r.job_try, r.status) for r in rows] == [(1, "retrying"), (2, "retrying"), (3, "done")]
    assert "channel did not answer" in rows[0].error

    never = Flaky()  # it needs three tries; it gets two
    with pytest.raises(Retry):
        await run_in_process(never.flaky_job, "event:never", tries_max=2)
    assert never.tries == [1, 2]


async def test_a_job_past_its_time_limit_is_recorded_as_failed(ledger_db):
    async def slow_job(ctx: dict[str, Any] | None = None) -> None:
        await asyncio.sleep(30)

    with pytest.raises(TimeoutError):
        await run_in_process(slow_job, "event:slow", timeout_s=0.2)
    [run] = await job_runs.recent_runs()
    assert run.status == "failed" and "time limit" in run.error


async def test_a_run_whose_heartbeat_stopped_is_reported_stuck(ledger_db):
    dead = await job_runs.start_run("push_channel_stock", job_id="cron:push:1", job_try=1, runner="gone:1")
    alive = await job_runs.start_run("push_channel_stock", job_id="cron:push:2", job_try=1, runner="here:2")
    # The process running `dead` was killed: its heartbeat is where it stopped, long ago.
    await db.fetch("UPDATE job_runs SET heartbeat_at = {} WHERE id = {}",
                   datetime.now(UTC) - timedelta(seconds=runs.STUCK_AFTER_S + 5), dead)
    assert (await watch_job_runs())["stuck"] == 1
    assert (await job_runs.get_run(dead)).status == "stuck"
    assert "No sign of life" in (await job_runs.get_run(dead)).error
    assert (await job_runs.get_run(alive)).status == "running"
    # A slow run that beats again is running, not stuck.
    await job_runs.heartbeat(dead)
    assert (await job_runs.get_run(dead)).status == "running"


async def test_a_queued_run_nobody_starts_is_reported_stuck(ledger_db):
    run_id = await job_runs.queue_run("ledger_check", "manager-1")
    await db.fetch("UPDATE job_runs SET created_at = {} WHERE id = {}",
                   datetime.now(UTC) - timedelta(seconds=runs.QUEUED_STUCK_AFTER_S + 5), run_id)
    await watch_job_runs()
    run = await job_runs.get_run(run_id)
    assert run.status == "stuck" and "is the worker running?" in run.error


@pytest.fixture
async def manager(ledger_db) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(ledger_db, run_jobs=False)
    async with csrf_client(app) as client:
        await sign_in(client, "manager")
        yield client


async def _polled_until_done(client: httpx.AsyncClient, url: str) -> str:
    for _ in range(POLL_S_MAX * 10):
        r = await client.get(url, headers={"HX-Request": "true"})
        assert r.status_code == 200
        if 'hx-trigger="load delay:500ms"' not in r.text:
            return r.text
        await asyncio.sleep(0.1)
    raise AssertionError(f"the run did not finish: {r.text}")


async def test_a_manager_starts_a_job_on_the_tablet_and_watches_it_finish(manager):
    page = await manager.get("/tablet/jobs")
    assert page.status_code == 200 and "Run now" in page.text and "Look for stuck jobs" in page.text
    r = await manager.post("/tablet/jobs/start", data={"kind": "watch_job_runs"})
    assert r.status_code == 303 and re.fullmatch(r"/tablet/jobs/\d+", r.headers["location"])
    done = await _polled_until_done(manager, r.headers["location"])
    assert 'data-status="done"' in done and "stuck" in done and "pruned" in done
    run = await job_runs.get_run(int(r.headers["location"].rsplit("/", 1)[1]))
    assert run.trigger == "manual" and run.requested_by.startswith("user:")
    listing = await manager.get("/tablet/jobs", headers={"HX-Request": "true"})
    assert f'href="/tablet/jobs/{run.id}"' in listing.text and 'data-active="no"' in listing.text


async def test_the_runs_list_polls_itself_while_a_run_is_active_and_shows_failures(manager):
    running = await job_runs.start_run("ledger_check", job_id="cron:lc:1", job_try=1, runner="w:1")
    await job_runs.report_progress(running, 40, 100, "balances")
    listing = await manager.get("/tablet/jobs", headers={"HX-Request": "true"})
    assert 'data-active="yes"' in listing.text and 'hx-trigger="load delay:1s"' in listing.text
    assert 'value="40"' in listing.text and "40 / 100 balances" in listing.text
    await job_runs.finish_run(running, "failed", error="ConnectionError: database went away")
    failures = await manager.get("/tablet/jobs?failures=yes")
    assert "database went away" in failures.text and 'data-status="failed"' in failures.text
    assert 'hx-trigger="load delay:1s"' not in failures.text


async def test_only_managers_see_the_jobs_screen(ledger_db):
    app = create_app(ledger_db, run_jobs=False)
    async with csrf_client(app) as client:
        await sign_in(client, "lead")
        assert (await client.get("/tablet/jobs")).status_code in (401, 403)
        assert (await client.post("/tablet/jobs/start", data={"kind": "ledger_check"})).status_code in (401, 403)


async def test_a_job_started_on_the_tablet_runs_on_the_arq_worker(ledger_db):
    settings = dataclasses.replace(ledger_db, redis_url=REDIS_URL, job_queue=f"stockline:test:{uuid.uuid4().hex}")
    run_id = await start_job(settings, "watch_job_runs", MANAGER)
    assert (await job_runs.get_run(run_id)).status == "queued"
    env = {**os.environ, "STOCKLINE_DATABASE_URL": settings.database_url, "STOCKLINE_REDIS_URL": REDIS_URL,
           "STOCKLINE_JOB_QUEUE": settings.job_queue}
    worker = subprocess.run([sys.executable, "-m", "backend", "worker", "--burst"], env=env,
                            capture_output=True, check=False, text=True, timeout=120)
    assert worker.returncode == 0, worker.stderr[-2000:]
    run = await job_runs.get_run(run_id)
    assert (run.status, run.trigger, run.requested_by, run.job_try) == ("done", "manual", "manager-1", 1)
    logged = worker.stdout + worker.stderr
    assert run.runner.endswith(tuple("0123456789")) and "jobs.start" in logged and "jobs.end" in logged
    assert "worker.start" in logged and "cron:push_channel_stock" in logged and "cron:check_channel_stock" in logged
