"""Scale out: `stockline serve` with STOCKLINE_WEB_WORKERS=2 against PostgreSQL and Redis, under
handheld scanning (floor step → envelope → /sync/txns) and API writes at the same time, some of them
retries of the same idempotency key. Afterwards `stockline check` is clean, every retry posted once, and
the metrics of both processes add up in one scrape."""

from __future__ import annotations

import asyncio
import html
import json
import os
import random
import re
import socket
import subprocess
import sys
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import asyncpg
import httpx
from prometheus_client.parser import text_string_to_metric_families

from backend import db
from backend.domain import imports
from backend.domain.auth.audit import SYSTEM
from backend.domain.auth.tokens import create_token
from backend.domain.auth.users import create_user
from backend.migrations import migrate
from backend.settings import Settings
from tests.conftest import REDIS_TEST_URL, drop_pg_database, fresh_pg_database

BINS = [f"S-{n:02d}" for n in range(1, 7)]
SKUS = ["ALPHA", "BRAVO", "CHARLIE", "DELTA"]
SCANNERS = 4
SCANS_EACH = 25
API_CLIENTS = 4
API_CALLS_EACH = 40
PIN = "2468"
START_S = 90


def _stockline(env: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    done = subprocess.run([sys.executable, "-m", "backend", *args], env=env, capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    return done


def _seed(env: dict[str, str]) -> str:
    """Bins, items and opening stock through the catalogue import; scanners; an API token."""
    locations = "code,kind,parent,walk_seq\nWH,warehouse,,\nWH-S,zone,WH,\n" + "".join(
        f"{b},bin,WH-S,{n}\n" for n, b in enumerate(BINS, start=1))
    items = "sku,name\n" + "".join(f"{s},Item {s}\n" for s in SKUS)
    stock = "sku,location,qty\n" + "".join(f"{s},{b},200\n" for s in SKUS for b in BINS)

    async def seed() -> str:
        await db.connect(Settings(database_url=env["STOCKLINE_DATABASE_URL"], secret="x", db_pool_min=1))
        try:
            await migrate()
            for text in (locations, items, stock):
                assert (await imports.import_file(imports.read_file(text.encode()), SYSTEM)).ok
            for n in range(SCANNERS):
                await create_user(f"SCAN-{n}", f"Scanner {n}", "receiver", PIN, SYSTEM)
            return await create_token("load", "write")
        finally:
            await db.disconnect()

    return asyncio.run(seed())


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _children(pid: int) -> list[int]:
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            found.append(int(stat.parent.name))
    return found


def _scanner(url: str, n: int, seed: int) -> dict[str, int]:
    """One handheld: sign in, then move stock between bins scan by scan, each step sent as the outbox does."""
    rng, outcome = random.Random(seed), {"applied": 0, "refused": 0, "other": 0}
    with httpx.Client(base_url=url, timeout=30) as c:
        c.get("/signin")
        c.headers["x-csrftoken"] = c.cookies["csrftoken"]
        assert c.post("/signin", data={"code": f"SCAN-{n}", "pin": PIN}).status_code == 303
        home = c.get("/floor").text
        user_id = int(re.search(r'data-user-id="(\d+)"', home)[1])
        device = c.cookies["stockline_device"]
        for seq in range(1, SCANS_EACH + 1):
            src, dst = rng.sample(BINS, 2)
            step = c.post("/floor/move", headers={"HX-Request": "true"},
                          data={"key": uuid.uuid4().hex, "from_bin": src, "sku": rng.choice(SKUS),
                                "qty": str(rng.randint(1, 5)), "code": dst})
            found = re.search(r'data-kind="(\w+)" data-payload="([^"]*)"', step.text)
            if step.status_code != 200 or not found:
                outcome["refused"] += 1  # e.g. 409: the bin no longer has it (another scanner took it)
                continue
            envelope = {"txn_id": str(uuid.uuid4()), "device_id": device, "seq": seq, "user_id": user_id,
                        "kind": found[1], "payload": json.loads(html.unescape(found[2])),
                        "scanned_at": "2025-03-01T09:30:00+00:00"}
            r = c.post("/sync/txns", json={"device_id": device, "envelopes": [envelope]})
            assert r.status_code == 200, r.text
            status = r.json()["results"][0]["status"]
            outcome["applied" if status == "applied" else "other"] += 1
    return outcome


def _api_client(url: str, token: str, n: int) -> dict[str, int]:
    """An integration posting moves; every third call repeats the previous key (a retry), which must not
    post twice whichever process answers it."""
    rng, posted, replayed = random.Random(1000 + n), 0, 0
    headers = {"Authorization": f"Bearer {token}"}
    with httpx.Client(base_url=url, timeout=30, headers=headers) as c:
        key, body = "", {}
        for call in range(API_CALLS_EACH):
            if call % 3 != 2:
                src, dst = rng.sample(BINS, 2)
                key, body = f"load-{n}-{call}", {"sku": rng.choice(SKUS), "qty": 1, "from_location": src,
                                                  "to_location": dst}
            r = c.post("/api/v1/movements/move", json=body, headers={"Idempotency-Key": key})
            assert r.status_code in (201, 409), r.text
            if r.status_code == 201:
                replayed += r.headers.get("idempotent-replayed") == "true"
                posted += r.headers.get("idempotent-replayed") != "true"
            assert c.get("/api/v1/stock", params={"sku": body["sku"]}).status_code == 200
    return {"posted": posted, "replayed": replayed}


def _sample(text: str, name: str, **labels: str) -> float:
    return sum(s.value for f in text_string_to_metric_families(text) for s in f.samples
               if s.name == name and all(s.labels.get(k) == v for k, v in labels.items()))


def test_two_web_processes_under_scanning_and_api_load_keep_the_ledger_exact(tmp_path):
    name = f"stockline_scale_{os.getpid()}"
    env = {**os.environ, "STOCKLINE_DATABASE_URL": fresh_pg_database(name), "STOCKLINE_REDIS_URL": REDIS_TEST_URL,
           "STOCKLINE_JOB_QUEUE": f"stockline:test:{uuid.uuid4().hex}", "STOCKLINE_SECRET": "scale-secret",
           "STOCKLINE_SECURE_COOKIES": "false", "STOCKLINE_WEB_WORKERS": "2", "STOCKLINE_METRICS": "true",
           "STOCKLINE_DB_POOL_MIN": "1", "STOCKLINE_DB_POOL_MAX": "8"}
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    try:
        token = _seed(env)
        port, log = _free_port(), tmp_path / "serve.log"
        with open(log, "w") as out:
            server = subprocess.Popen([sys.executable, "-m", "backend", "serve", "--port", str(port)], env=env,
                                      stdout=out, stderr=subprocess.STDOUT)
        url = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + START_S
            while len(_children(server.pid)) < 2 or not _ready(url):
                assert server.poll() is None and time.monotonic() < deadline, log.read_text()[-3000:]
                time.sleep(0.3)
            with ThreadPoolExecutor(max_workers=SCANNERS + API_CLIENTS) as pool:
                scans = [pool.submit(_scanner, url, n, n) for n in range(SCANNERS)]
                calls = [pool.submit(_api_client, url, token, n) for n in range(API_CLIENTS)]
                scanned = [f.result(timeout=600) for f in scans]
                called = [f.result(timeout=600) for f in calls]
            metrics = httpx.get(f"{url}/metrics", timeout=10).text
        finally:
            server.terminate()
            server.wait(timeout=30)
        applied = sum(s["applied"] for s in scanned)
        assert applied >= SCANNERS * SCANS_EACH // 2, scanned  # most scans went through
        assert sum(c["replayed"] for c in called) > 0
        check = _stockline(env, "check")
        assert "0 drift" in check.stdout
        moves = _count(env["STOCKLINE_DATABASE_URL"], "SELECT COUNT(*) FROM command_log WHERE key LIKE 'api:%'")
        assert moves == sum(c["posted"] for c in called)  # a retried key posted once, whichever process took it
        route = {"route": "/api/v1/movements/move", "method": "POST"}
        assert _sample(metrics, "stockline_http_request_duration_seconds_count", **route) == \
            API_CLIENTS * API_CALLS_EACH  # both processes' counts, summed in one scrape
        assert _sample(metrics, "stockline_scans_applied_total", kind="move") == applied
    finally:
        drop_pg_database(name)


def _ready(url: str) -> bool:
    try:
        return httpx.get(f"{url}/readyz", timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


def _count(database_url: str, sql: str) -> int:
    async def read() -> int:
        conn = await asyncpg.connect(database_url)
        try:
            return int(await conn.fetchval(sql))
        finally:
            await conn.close()

    return asyncio.run(read())
