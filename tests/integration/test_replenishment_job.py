"""The replenishment job on the job machinery: started as a manager's "run now", run by a real arq worker
on Redis, recorded with its progress and result; and the CLI command."""

from __future__ import annotations

import dataclasses
import os
import subprocess
import sys
import uuid

from backend.domain import job_runs
from backend.domain import replenishment as r
from backend.domain.auth.audit import Actor
from backend.domain.ledger import commands as c
from backend.settings import Settings
from jobs.runs import start_job
from tests.conftest import REDIS_TEST_URL
from tests.factories import item, key, receive, warehouse

REDIS_URL = REDIS_TEST_URL.rsplit("/", 1)[0] + "/12"  # this area's own Redis database
MANAGER = Actor("manager-1", role="manager")


async def _demand() -> None:
    await warehouse("WH1")
    await item("MUG")
    await receive("MUG", 50, "WH1-B1")
    await c.execute(c.Ship(sku="MUG", qty=45, from_location="WH1-B1"), key=key("ship"), actor="test")


def _env(settings_url: str, queue: str) -> dict[str, str]:
    return {**os.environ, "STOCKLINE_DATABASE_URL": settings_url, "STOCKLINE_REDIS_URL": REDIS_URL,
            "STOCKLINE_JOB_QUEUE": queue}


async def test_replenishment_runs_on_the_arq_worker_and_records_its_result(ledger_db: Settings) -> None:
    await _demand()
    settings = dataclasses.replace(ledger_db, redis_url=REDIS_URL, job_queue=f"stockline:test:{uuid.uuid4().hex}")
    run_id = await start_job(settings, "replenish", MANAGER)
    assert (await job_runs.get_run(run_id)).status == "queued"
    worker = subprocess.run([sys.executable, "-m", "backend", "worker", "--burst"],
                            env=_env(settings.database_url, settings.job_queue), capture_output=True, check=False,
                            text=True, timeout=300)
    assert worker.returncode == 0, worker.stderr[-2000:]
    run = await job_runs.get_run(run_id)
    assert (run.status, run.trigger, run.requested_by) == ("done", "manual", "manager-1"), run.error
    result = dict(run.result_items)
    assert (result["pairs"], result["purchases"], result["transfers"]) == (1, 1, 0)
    assert run.progress_note == "writing suggestions" and run.progress_done == run.progress_total == 1
    [mug] = await r.list_suggestions()
    assert (mug.sku, mug.available, mug.supplier_id) == ("MUG", 5, None)


async def test_the_cli_runs_replenishment_and_prints_the_suggestions(ledger_db: Settings) -> None:
    await _demand()
    done = subprocess.run([sys.executable, "-m", "backend", "replenish"],
                          env={**os.environ, "STOCKLINE_DATABASE_URL": ledger_db.database_url},
                          capture_output=True, check=False, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "pairs=1 purchases=1 transfers=0" in done.stdout
    assert "purchase MUG" in done.stdout and "no supplier" in done.stdout and "avail 5" in done.stdout
    [run] = await job_runs.recent_runs(kind="replenish")
    assert (run.status, run.requested_by) == ("done", "system:cli")
