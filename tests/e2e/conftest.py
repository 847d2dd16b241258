"""Browser tests: Debian's Chromium driven by Playwright against a real `stockline serve` process,
on SQLite and on PostgreSQL. Screens are 360×640 handhelds driven like a wedge scanner."""

from __future__ import annotations

import itertools
import os
import secrets
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright

from tests.conftest import BACKENDS, PG_ADMIN_URL
from tests.e2e.seed import USERS

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
HANDHELD = {"width": 360, "height": 640}
TABLET = {"width": 800, "height": 1280}
ARTIFACTS = Path(os.environ.get("STOCKLINE_TEST_ARTIFACTS", "test-artifacts"))
SERVER_START_S = 60
# PostgreSQL databases of this test run: stockline_e2e_<run>_<n>. The run's part is unique, so runs side by
# side never reset or drop each other's databases; each is dropped when its server stops, and whatever is
# left (a server that never started, a run cut short after the fixture's teardown) at the session's end.
DB_PREFIX = "stockline_e2e_"
RUN_ID = f"{os.getpid()}_{secrets.token_hex(4)}"
_db_numbers = itertools.count(1)
_databases: set[str] = set()  # created by this run and not dropped yet


@dataclass
class Server:
    url: str
    token: str
    env: dict[str, str]
    process: subprocess.Popen
    database: str = ""  # the PostgreSQL database of this server's own ("" on SQLite)

    def api(self, path: str, **params) -> dict:
        r = httpx.get(f"{self.url}/api/v1{path}", params=params, headers={"Authorization": f"Bearer {self.token}"},
                      timeout=10)
        r.raise_for_status()
        return r.json()

    def on_hand(self, sku: str, location: str) -> int:
        rows = self.api("/stock", sku=sku, location=location)["items"]
        return sum(r["on_hand"] for r in rows)

    def check(self) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "backend", "check"], env=self.env, capture_output=True,
                              text=True, timeout=120)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def database_name() -> str:
    return f"{DB_PREFIX}{RUN_ID}_{next(_db_numbers)}"


def _on_pg(statements: list[str]) -> None:
    import asyncio

    import asyncpg

    async def run() -> None:
        conn = await asyncpg.connect(PG_ADMIN_URL)
        try:
            for statement in statements:
                await conn.execute(statement)
        finally:
            await conn.close()

    # Playwright's sync API owns this thread's event loop: run it on a thread of its own.
    with ThreadPoolExecutor(max_workers=1) as pool:
        pool.submit(asyncio.run, run()).result()


def create_database(name: str) -> str:
    _databases.add(name)
    _on_pg([f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)', f'CREATE DATABASE "{name}"'])
    return PG_ADMIN_URL.rsplit("/", 1)[0] + "/" + name


def drop_database(name: str) -> None:
    if name:
        _on_pg([f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'])
        _databases.discard(name)


def drop_leftover_databases() -> None:
    """This run's databases still there; never another run's."""
    for name in sorted(_databases):
        drop_database(name)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    drop_leftover_databases()


def start_server(backend: str, tmp: Path, **settings: str) -> Server:
    database = database_name() if backend == "postgres" else ""
    url = create_database(database) if database else f"sqlite:///{tmp / 'e2e.db'}"
    env = {**os.environ, "STOCKLINE_DATABASE_URL": url, "STOCKLINE_SECRET": "e2e-secret", **settings}
    env.pop("STOCKLINE_REDIS_URL", None)
    token_file = tmp / "token"
    process = None
    try:
        subprocess.run([sys.executable, "-m", "tests.e2e.seed", str(token_file)], env=env, check=True, timeout=120)
        port = _free_port()
        log = open(tmp / "server.log", "w")  # noqa: SIM115 - closed with the process
        process = subprocess.Popen([sys.executable, "-m", "backend", "serve", "--port", str(port)], env=env,
                                   stdout=log, stderr=subprocess.STDOUT)
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + SERVER_START_S
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                    return Server(url, token_file.read_text().strip(), env, process, database)
            except httpx.HTTPError:
                time.sleep(0.2)
        raise RuntimeError(f"server did not start: {(tmp / 'server.log').read_text()[-2000:]}")
    except BaseException:
        if process is not None:
            process.kill()
            process.wait(timeout=15)
        drop_database(database)
        raise


def stop_server(server: Server, *, drop: bool = True) -> None:
    """Stop the server and, unless `drop` is false, drop its PostgreSQL database."""
    server.process.terminate()
    try:
        server.process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        server.process.kill()
        server.process.wait(timeout=15)
    if drop:
        drop_database(server.database)


@pytest.fixture(scope="session", params=BACKENDS)
def server(request, tmp_path_factory) -> Iterator[Server]:
    srv = start_server(request.param, tmp_path_factory.mktemp(f"e2e-{request.param}"))
    try:
        yield srv
        stop_server(srv, drop=False)
        result = srv.check()  # the ledger the whole session left, before its database goes
        assert result.returncode == 0, result.stdout
    finally:
        stop_server(srv)


@pytest.fixture(scope="package")
def browser() -> Iterator[Browser]:
    """Package-scoped: Playwright's sync API holds this thread's event loop while it runs, which the
    async database tests after this package need back."""
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield b
        b.close()


def _device(browser: Browser, server: Server, viewport: dict[str, int]) -> Iterator[Page]:
    context = browser.new_context(viewport=viewport, has_touch=True, base_url=server.url)
    yield context.new_page()
    context.close()


@pytest.fixture
def handheld(browser: Browser, server: Server) -> Iterator[Page]:
    yield from _device(browser, server, HANDHELD)


@pytest.fixture
def tablet(browser: Browser, server: Server) -> Iterator[Page]:
    yield from _device(browser, server, TABLET)


def wedge(page: Page, code: str) -> None:
    """What a keyboard-wedge scanner does: type into whatever has focus, then Enter."""
    page.keyboard.type(code)
    page.keyboard.press("Enter")


def sign_in(page: Page, role: str) -> None:
    badge, pin = USERS[role]
    page.goto("/signin")
    wedge(page, badge)
    expect(page.locator("#pin")).to_be_focused()
    page.keyboard.type(pin)
    page.keyboard.press("Enter")
    page.wait_for_url("**/floor")


def feedback(page: Page):
    return page.locator("#feedback")


def screenshot(page: Page, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)
