"""Shared fixtures: every database test runs on SQLite and on PostgreSQL.

Postgres tests use a fresh schema per test (DROP SCHEMA ... CASCADE + migrate), because the
ledger refuses TRUNCATE/DELETE by design. After each test the ledger check must be clean.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
import pytest

from backend import db
from backend.domain.ledger.check import check_ledger
from backend.migrations import migrate
from backend.settings import Settings

PG_ADMIN_URL = os.environ.get("STOCKLINE_TEST_PG_ADMIN_URL", "postgresql://postgres@127.0.0.1:5432/test")
# One database per test run, so parallel runs on one machine never reset each other's schema.
PG_TEST_DB = os.environ.get("STOCKLINE_TEST_PG_DB", f"stockline_test_{os.getpid()}")
PG_TEST_URL = PG_ADMIN_URL.rsplit("/", 1)[0] + "/" + PG_TEST_DB
REDIS_TEST_URL = os.environ.get("STOCKLINE_TEST_REDIS_URL", "redis://127.0.0.1:6379/13")
BACKENDS = ("sqlite", "postgres")


async def _ensure_pg_database() -> None:
    conn = await asyncpg.connect(PG_ADMIN_URL)
    try:
        exists = await conn.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", PG_TEST_DB)
        if not exists:
            await conn.execute(f'CREATE DATABASE "{PG_TEST_DB}"')
    finally:
        await conn.close()


async def reset_pg_schema() -> None:
    conn = await asyncpg.connect(PG_TEST_URL)
    try:
        await conn.execute("DROP SCHEMA IF EXISTS public CASCADE; CREATE SCHEMA public;")
    finally:
        await conn.close()


_pg_ready = False


async def _drop_pg_database() -> None:
    conn = await asyncpg.connect(PG_ADMIN_URL)
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{PG_TEST_DB}" WITH (FORCE)')
    finally:
        await conn.close()


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    if _pg_ready:
        asyncio.run(_drop_pg_database())


async def pg_database() -> str:
    global _pg_ready
    if not _pg_ready:
        await _ensure_pg_database()
        _pg_ready = True
    return PG_TEST_URL


def fresh_pg_database(name: str) -> str:
    """A new, empty PostgreSQL database of its own (for a test that runs Stockline in subprocesses);
    returns its URL. Called from synchronous tests: it runs its own event loop."""

    async def create() -> None:
        conn = await asyncpg.connect(PG_ADMIN_URL)
        try:
            await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            await conn.execute(f'CREATE DATABASE "{name}"')
        finally:
            await conn.close()

    asyncio.run(create())
    return PG_ADMIN_URL.rsplit("/", 1)[0] + "/" + name


def drop_pg_database(name: str) -> None:
    async def drop() -> None:
        conn = await asyncpg.connect(PG_ADMIN_URL)
        try:
            await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await conn.close()

    asyncio.run(drop())


def settings_for(backend: str, tmp_path: Path) -> Settings:
    if backend == "sqlite":
        return Settings(database_url=f"sqlite:///{tmp_path / 'stockline.db'}")
    return Settings(database_url=PG_TEST_URL, db_pool_min=1, db_pool_max=20, secret="test-secret")


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    return request.param


@pytest.fixture
async def empty_db(backend: str, tmp_path: Path) -> AsyncIterator[Settings]:
    """A connected, empty (unmigrated) database of the parametrized backend."""
    if backend == "postgres":
        await pg_database()
        await reset_pg_schema()
    settings = settings_for(backend, tmp_path)
    await db.connect(settings)
    try:
        yield settings
    finally:
        await db.disconnect()


@pytest.fixture
async def ledger_db(empty_db: Settings) -> AsyncIterator[Settings]:
    """A migrated database; after the test the ledger must reconcile with 0 drift."""
    await migrate()
    yield empty_db
    drifts = await check_ledger()
    assert drifts == [], f"ledger drift after test: {[str(d) for d in drifts]}"
