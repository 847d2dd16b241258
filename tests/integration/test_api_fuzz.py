"""Schemathesis against the API's own OpenAPI document, on a real `stockline serve` process (SQLite and
PostgreSQL): generated requests, valid and invalid, must never get a 5xx, and every answer must be one the
document declares (status, content type, headers, body schema). Invalid requests must be refused.

The example budget keeps both backends to a couple of minutes; the generation is deterministic, so a
failure here fails the same way when run again.
"""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
import schemathesis
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from backend import db
from backend.domain.auth.tokens import create_token
from backend.domain.catalog.service import NewItem, create_item
from backend.domain.ledger import commands as c
from backend.domain.ledger.check import check_ledger
from backend.domain.locations.service import NewLocation, create_location
from backend.http.app import create_app
from backend.migrations import migrate
from backend.settings import Settings
from tests.conftest import BACKENDS, PG_TEST_URL, pg_database, reset_pg_schema

EXAMPLES_PER_OPERATION = 25
SERVER_START_S = 60
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_headers_conformance,
          response_schema_conformance, negative_data_rejection]
ROOT = Path(__file__).resolve().parents[2]


def _document() -> dict:
    """The document the app serves at /api/v1/schema/openapi.json (built without a database)."""
    settings = Settings(database_url="sqlite:///unused.db", secret="fuzz-secret")  # nothing is written
    return create_app(settings, run_jobs=False).openapi_schema.to_schema()


schema = schemathesis.openapi.from_dict(_document())
# The token is sent with every request (not generated); unknown query parameters are ignored, not refused.
schema.config.generation.update(max_examples=EXAMPLES_PER_OPERATION, deterministic=True, database="none",
                                with_security_parameters=False, allow_extra_parameters=False)


@dataclass(frozen=True)
class Served:
    url: str
    headers: dict[str, str]


async def _prepare(settings: Settings) -> str:
    """Migrate, seed what the document's examples name (so some generated writes really post), make a token."""
    await db.connect(settings)
    try:
        await migrate()
        await create_location(NewLocation(code="WH1", kind="warehouse"))
        await create_location(NewLocation(code="WH1-A", kind="zone", parent="WH1"))
        for code in ("WH1-A-01", "WH1-A-02"):
            await create_location(NewLocation(code=code, kind="bin", parent="WH1-A"))
        await create_item(NewItem(sku="MUG-BLUE", name="Blue mug"))
        await c.execute(c.Receive(sku="MUG-BLUE", qty=1000, to_location="WH1-A-01"), key="fuzz-seed", actor="test")
        return await create_token("fuzz", "write")
    finally:
        await db.disconnect()


async def _drift(settings: Settings) -> list[str]:
    await db.connect(settings)
    try:
        return [str(d) for d in await check_ledger()]
    finally:
        await db.disconnect()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_until_up(url: str, server: subprocess.Popen) -> None:
    deadline = time.monotonic() + SERVER_START_S
    while time.monotonic() < deadline:
        assert server.poll() is None, "stockline serve exited"
        try:
            if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    raise AssertionError(f"stockline serve did not answer within {SERVER_START_S} s")


@pytest.fixture(scope="module", params=BACKENDS)
def served(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    if request.param == "postgres":
        asyncio.run(pg_database())
        asyncio.run(reset_pg_schema())
        url = PG_TEST_URL
    else:
        url = f"sqlite:///{tmp_path_factory.mktemp('fuzz') / 'stockline.db'}"
    settings = Settings(database_url=url, secret="fuzz-secret")
    token = asyncio.run(_prepare(settings))
    port, log = _free_port(), tmp_path_factory.mktemp("fuzz-log") / "serve.log"
    env = {**os.environ, "STOCKLINE_DATABASE_URL": url, "STOCKLINE_SECRET": "fuzz-secret",
           "STOCKLINE_SECURE_COOKIES": "false", "STOCKLINE_LOG_LEVEL": "WARNING"}
    env.pop("STOCKLINE_REDIS_URL", None)
    with log.open("w") as out:
        server = subprocess.Popen([sys.executable, "-m", "backend", "serve", "--port", str(port)], cwd=ROOT, env=env,
                                  stdout=out, stderr=subprocess.STDOUT)
    try:
        _wait_until_up(f"http://127.0.0.1:{port}", server)
        yield Served(f"http://127.0.0.1:{port}", {"Authorization": f"Bearer {token}"})
    finally:
        server.terminate()
        server.wait(timeout=30)
    assert asyncio.run(_drift(settings)) == [], "the ledger drifted under fuzzing"


@schema.parametrize()
def test_no_generated_request_gets_a_5xx_or_an_undocumented_answer(case, served: Served) -> None:
    case.call_and_validate(base_url=served.url, headers=served.headers, checks=CHECKS, timeout=30)
