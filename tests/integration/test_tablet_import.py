"""The tablet's import page: an uploaded CSV runs as a job whose page polls its progress, then shows
what was imported or every bad row with its line; exports download as CSV."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator

import httpx
import pytest

from backend.http.app import create_app
from tests.sync_support import csrf_client, on_hand, sign_in, table_count

POLL_S_MAX = 30


@pytest.fixture
async def manager(ledger_db) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(ledger_db, run_jobs=False)
    async with csrf_client(app) as client:
        await sign_in(client, "manager")
        yield client


async def upload(client: httpx.AsyncClient, name: str, text: str, kind: str = "") -> str:
    r = await client.post("/tablet/import", data={"kind": kind}, files={"file": (name, text.encode(), "text/csv")})
    assert r.status_code == 303, r.text
    assert re.fullmatch(r"/tablet/import/\d+", r.headers["location"])
    return r.headers["location"]


async def finished(client: httpx.AsyncClient, url: str) -> str:
    """Poll the run's partial as the page does (hx-get every 500 ms) until it stops asking to be polled."""
    for _ in range(POLL_S_MAX * 10):
        r = await client.get(url, headers={"HX-Request": "true"})
        assert r.status_code == 200
        if 'hx-trigger="load delay:500ms"' not in r.text:
            return r.text
        await asyncio.sleep(0.1)
    raise AssertionError(f"the import did not finish: {r.text}")


async def test_an_uploaded_catalogue_is_imported_as_a_job(manager):
    locations = "code,kind,parent\nWH1,warehouse,\nWH1-A,zone,WH1\nWH1-A-01,bin,WH1-A\n"
    page = await finished(manager, await upload(manager, "locations.csv", locations))
    assert 'data-status="done"' in page and "3 locations row(s): 3 created" in page
    await finished(manager, await upload(manager, "items.csv", "sku,name,case_pack\nMUG,Mug,12\n"))
    page = await finished(manager, await upload(manager, "stock.csv", "sku,location,qty,unit\nMUG,WH1-A-01,2,case\n"))
    assert "1 stock row(s): 1 posted as opening stock" in page
    again = await finished(manager, await upload(manager, "stock.csv", "sku,location,qty,unit\nMUG,WH1-A-01,2,case\n"))
    assert "imported before (same content): nothing was posted again" in again
    assert await on_hand("MUG", "WH1-A-01") == 24
    full = await manager.get("/tablet/import")
    assert full.status_code == 200 and "stock.csv" in full.text and "Recent imports" in full.text


async def test_bad_rows_are_shown_with_their_lines_and_nothing_is_imported(manager):
    url = await upload(manager, "items.csv", "sku,name\nOK-1,Fine\nBAD ONE,Space\nOK-1,Again\n", kind="items")
    page = await finished(manager, url)
    assert 'data-status="invalid"' in page and "nothing was imported" in page
    rows = re.findall(r"<tr><td>(\d+)</td><td>([^<]+)</td></tr>", page)
    assert [line for line, _ in rows] == ["3", "4"]
    assert "SKU OK-1 is also on line 2" in rows[1][1]
    assert await table_count("items") == 0


async def test_a_file_that_is_not_a_catalogue_is_refused_at_once(manager):
    r = await manager.post("/tablet/import", data={"kind": ""}, headers={"HX-Request": "true"},
                           files={"file": ("notes.csv", b"colour,size\nred,L\n", "text/csv")})
    assert r.status_code == 422 and "not one of the known files" in r.text
    assert await table_count("import_runs") == 0


async def test_exports_download_as_csv(manager):
    await finished(manager, await upload(manager, "items.csv", "sku,name,units\nMUG,Mug,inner=6\n"))
    r = await manager.get("/tablet/export/items")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    assert r.headers["content-disposition"] == 'attachment; filename="stockline-items.csv"'
    assert r.text.splitlines() == ["sku,name,base_unit,units,lot_tracked,serial_tracked,unit_cost_cents",
                                   "MUG,Mug,each,inner=6,no,no,0"]
    assert (await manager.get("/tablet/export/secrets")).status_code == 404


async def test_with_redis_the_import_runs_on_the_worker(ledger_db):
    """The same job on an arq worker process: the web app only queues it."""
    import dataclasses
    import os
    import subprocess
    import sys
    import uuid

    from backend.domain import imports
    from backend.domain.auth.audit import Actor
    from jobs.imports import launch
    from tests.conftest import REDIS_TEST_URL

    settings = dataclasses.replace(ledger_db, redis_url=REDIS_TEST_URL, job_queue=f"stockline:test:{uuid.uuid4().hex}")
    who = Actor("user:B-MGR", "tablet-1", role="manager")
    run_id = await imports.start_run(b"code,kind,parent\nWH7,warehouse,\nWH7-A,zone,WH7\n", None, "wh7.csv", who)
    await launch(settings, run_id, who)
    assert (await imports.get_run(run_id)).status == "queued"  # queued for the worker, not run here
    env = {**os.environ, "STOCKLINE_DATABASE_URL": settings.database_url, "STOCKLINE_REDIS_URL": REDIS_TEST_URL,
           "STOCKLINE_JOB_QUEUE": settings.job_queue}
    worker = subprocess.run([sys.executable, "-m", "backend", "worker", "--burst"], env=env, capture_output=True,
                            text=True, timeout=120)
    assert worker.returncode == 0, worker.stderr
    run = await imports.get_run(run_id)
    assert run.status == "done", worker.stdout + worker.stderr
    assert (run.status, run.summary) == ("done", "2 locations row(s): 2 created, 0 already there.")
    assert await table_count("locations", "code LIKE 'WH7%'") == 3  # with its staging area
