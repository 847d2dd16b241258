"""The browser tests' PostgreSQL databases are the run's own and do not outlive it: each server's is dropped
when the server stops, whatever is left when the session ends, and another run's are never touched."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
from pathlib import Path

from tests.e2e.child_run_leaves_a_database import CHILD_FILE
from tests.e2e.conftest import (
    DB_PREFIX,
    RUN_ID,
    _on_pg,
    database_name,
    start_server,
    stop_server,
)

ROOT = Path(__file__).resolve().parents[2]
CHILD_RUN = Path(__file__).with_name("child_run_leaves_a_database.py")  # not collected by the suite itself


def databases(prefix: str = DB_PREFIX) -> set[str]:
    import asyncio
    from concurrent.futures import ThreadPoolExecutor

    import asyncpg

    from tests.conftest import PG_ADMIN_URL

    async def names() -> set[str]:
        conn = await asyncpg.connect(PG_ADMIN_URL)
        try:
            rows = await conn.fetch("SELECT datname FROM pg_database WHERE starts_with(datname, $1)", prefix)
            return {r["datname"] for r in rows}
        finally:
            await conn.close()

    with ThreadPoolExecutor(max_workers=1) as pool:  # Playwright's sync API may own this thread's loop
        return pool.submit(asyncio.run, names()).result()


def test_names_are_unique_to_the_run():
    first, second = database_name(), database_name()
    assert first != second and first.startswith(f"{DB_PREFIX}{RUN_ID}_") and second.startswith(f"{DB_PREFIX}{RUN_ID}_")
    assert len(first) <= 63  # PostgreSQL's limit for a name


def test_a_servers_database_is_dropped_when_the_server_stops(tmp_path):
    srv = start_server("postgres", tmp_path)
    name = srv.env["STOCKLINE_DATABASE_URL"].rsplit("/", 1)[1]
    try:
        assert name.startswith(f"{DB_PREFIX}{RUN_ID}_") and name in databases()
    finally:
        stop_server(srv)
    assert name not in databases()


def test_a_run_drops_its_leftover_databases_at_the_end_and_no_other_runs(tmp_path):
    other_run = f"{DB_PREFIX}{os.getpid()}_{secrets.token_hex(4)}_1"  # as a run side by side would name one
    _on_pg([f'CREATE DATABASE "{other_run}"'])
    try:
        out = tmp_path / "child-db"
        child = subprocess.run(
            [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
             str(CHILD_RUN.relative_to(ROOT))],
            cwd=ROOT, env={**os.environ, CHILD_FILE: str(out)}, capture_output=True, text=True, timeout=300,
            check=False)
        assert child.returncode == 0, child.stdout[-3000:] + child.stderr[-3000:]
        left = out.read_text()
        assert left.startswith(DB_PREFIX) and not left.startswith(f"{DB_PREFIX}{RUN_ID}_")
        assert left not in databases()  # the child run dropped it at its end
        assert other_run in databases()  # and left the other run's alone
    finally:
        _on_pg([f'DROP DATABASE IF EXISTS "{other_run}" WITH (FORCE)'])
