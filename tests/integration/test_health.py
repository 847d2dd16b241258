"""/healthz is liveness (the process answers); /readyz is readiness: the database answers, every
migration is applied and Redis (when configured) answers — else 503 with the reason."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import socket
import threading
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from backend import db
from backend.http.app import create_app
from backend.migrations import available, migrate
from backend.settings import Settings
from tests.conftest import PG_TEST_URL, REDIS_TEST_URL, pg_database, reset_pg_schema


async def _get(settings: Settings, path: str) -> httpx.Response:
    app = create_app(settings, run_jobs=False)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://stockline.test") as c:
        return await c.get(path)


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]  # nothing listens here once the socket is closed


async def test_ready_when_migrated(ledger_db):
    r = await _get(ledger_db, "/readyz")
    assert r.status_code == 200, r.text
    assert r.json() == {"status": "ok", "checks": {"database": "ok"}}


async def test_unmigrated_database_is_not_ready_but_alive(empty_db):
    r = await _get(empty_db, "/readyz")
    assert r.status_code == 503
    assert "migrations pending: 0001" in r.json()["checks"]["database"]
    assert (await _get(empty_db, "/healthz")).status_code == 200


async def test_a_missing_migration_is_named(ledger_db):
    last = available()[-1].version
    row = await db.fetch_one("SELECT version, name, applied_at FROM schema_migrations WHERE version = {}", last)
    assert row is not None
    await db.fetch("DELETE FROM schema_migrations WHERE version = {}", last)
    try:
        r = await _get(ledger_db, "/readyz")
        assert r.status_code == 503
        assert r.json()["checks"]["database"].startswith(f"migrations pending: {last:04d}")
    finally:
        await db.fetch("INSERT INTO schema_migrations (version, name, applied_at) VALUES ({}, {}, {})",
                       row["version"], row["name"], row["applied_at"])

async def test_redis_is_checked_when_configured(ledger_db):
    up = await _get(dataclasses.replace(ledger_db, redis_url=REDIS_TEST_URL), "/readyz")
    assert up.status_code == 200 and up.json()["checks"]["redis"] == "ok"
    down = await _get(dataclasses.replace(ledger_db, redis_url=f"redis://127.0.0.1:{_closed_port()}/0"), "/readyz")
    assert down.status_code == 503
    assert down.json()["checks"]["redis"].startswith("redis unreachable")
    assert down.json()["checks"]["database"] == "ok"


async def test_sqlite_file_that_cannot_be_opened_is_not_ready(tmp_path: Path):
    (tmp_path / "stockline.db").mkdir()  # a directory where the database file should be
    settings = Settings(database_url=f"sqlite:///{tmp_path / 'stockline.db'}")
    await db.connect(settings)
    try:
        r = await _get(settings, "/readyz")
    finally:
        await db.disconnect()
    assert r.status_code == 503
    assert r.json()["checks"]["database"].startswith("database unreachable")


class _Proxy:
    """A TCP relay to PostgreSQL that can be cut, as if the database server stopped. It runs on a
    thread of its own: Piccolo's engine connects once from another event loop when it is created."""

    def __init__(self, target_port: int) -> None:
        self.target_port = target_port
        self.writers: list[asyncio.StreamWriter] = []
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.server: asyncio.Server | None = None

    def start(self) -> int:
        self.thread.start()
        self.server = asyncio.run_coroutine_threadsafe(
            asyncio.start_server(self._relay, "127.0.0.1", 0), self.loop).result(timeout=5)
        return self.server.sockets[0].getsockname()[1]

    async def _relay(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.target_port)
        self.writers += [writer, up_writer]

        async def pipe(src: asyncio.StreamReader, dst: asyncio.StreamWriter) -> None:
            with contextlib.suppress(ConnectionError, OSError):
                while data := await src.read(65536):
                    dst.write(data)
                    await dst.drain()
            dst.close()

        await asyncio.gather(pipe(reader, up_writer), pipe(up_reader, writer))

    async def _cut(self) -> None:
        assert self.server is not None
        self.server.close()
        for w in self.writers:
            w.close()

    def cut(self) -> None:
        asyncio.run_coroutine_threadsafe(self._cut(), self.loop).result(timeout=5)

    def stop(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(timeout=5)


@pytest.fixture
async def proxied_pg() -> AsyncIterator[tuple[Settings, _Proxy]]:
    await pg_database()
    await reset_pg_schema()
    proxy = _Proxy(int(PG_TEST_URL.split("@")[1].split("/")[0].rsplit(":", 1)[1]))
    port = proxy.start()
    settings = Settings(database_url=PG_TEST_URL.replace(":5432/", f":{port}/"), db_pool_min=1, db_pool_max=2,
                        secret="test-secret")
    await db.connect(settings)
    await migrate()
    try:
        yield settings, proxy
    finally:
        with contextlib.suppress(Exception):
            await asyncio.wait_for(db.disconnect(), timeout=5)
        proxy.stop()


async def test_postgres_that_stops_answering_is_not_ready(proxied_pg):
    settings, proxy = proxied_pg
    assert (await _get(settings, "/readyz")).status_code == 200
    proxy.cut()
    await asyncio.sleep(0.1)
    r = await _get(settings, "/readyz")
    assert r.status_code == 503
    assert r.json()["checks"]["database"].startswith("database unreachable")
    assert (await _get(settings, "/healthz")).status_code == 200
