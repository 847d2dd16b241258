"""STOCKLINE_LOG_FORMAT=json: every line the server and the worker write is one JSON object; a request's
lines carry its request id, the user and the device; the worker logs its start and every job."""

from __future__ import annotations

import asyncio
import json
import os
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

import httpx
from arq import create_pool
from arq.connections import RedisSettings

from backend import db
from backend.domain.auth.audit import SYSTEM
from backend.domain.auth.tokens import create_token
from backend.domain.auth.users import create_user
from backend.migrations import migrate
from backend.settings import Settings
from tests.conftest import REDIS_TEST_URL

PIN = "2468"
START_S = 60


async def _seed(database_url: str) -> str:
    """A migrated database with a read token (returned) and the picker B-LOG."""
    await db.connect(Settings(database_url=database_url))
    try:
        await migrate()
        await create_user("B-LOG", "Lou", "picker", PIN, SYSTEM)
        return await create_token("shop", "read")
    finally:
        await db.disconnect()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _json_lines(text: str) -> list[dict]:
    lines = [line for line in text.splitlines() if line.strip()]
    assert lines
    parsed = []
    for line in lines:
        try:
            parsed.append(json.loads(line))
        except ValueError as exc:
            raise AssertionError(f"not a JSON line: {line!r}") from exc
    return parsed


def _serve(env: dict[str, str], port: int, log: Path) -> subprocess.Popen:
    out = open(log, "w")  # noqa: SIM115 - closed with the process
    process = subprocess.Popen([sys.executable, "-m", "backend", "serve", "--port", str(port)], env=env,
                               stdout=out, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + START_S
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                return process
        except httpx.HTTPError:
            time.sleep(0.2)
    process.kill()
    raise AssertionError(log.read_text()[-2000:])


def test_json_logs_carry_request_id_user_and_device(tmp_path):
    env = {**os.environ, "STOCKLINE_DATABASE_URL": f"sqlite:///{tmp_path / 'logs.db'}",
           "STOCKLINE_LOG_FORMAT": "json", "STOCKLINE_SECRET": "logs-secret"}
    env.pop("STOCKLINE_REDIS_URL", None)
    token = asyncio.run(_seed(env["STOCKLINE_DATABASE_URL"]))
    port, log = _free_port(), tmp_path / "server.log"
    server = _serve(env, port, log)
    try:
        base = f"http://127.0.0.1:{port}"
        api = httpx.get(f"{base}/api/v1/items", headers={"Authorization": f"Bearer {token}",
                                                          "X-Request-ID": "itest-api"})
        assert api.status_code == 200 and api.headers["x-request-id"] == "itest-api"
        with httpx.Client(base_url=base) as browser:
            browser.get("/signin")
            signin = browser.post("/signin", data={"code": "B-LOG", "pin": PIN},
                                  headers={"x-csrftoken": browser.cookies["csrftoken"]})
            assert signin.status_code == 303, signin.text
            assert browser.get("/floor", headers={"X-Request-ID": "itest-floor"}).status_code == 200
            device = browser.cookies["stockline_device"]
        generated = httpx.get(f"{base}/no-such-page").headers["x-request-id"]
    finally:
        server.terminate()
        server.wait(timeout=15)
    lines = _json_lines(log.read_text())
    by_request = {line.get("request_id"): line for line in lines if line.get("event") == "http.request"}
    assert by_request["itest-api"]["user"] == "token:shop" and by_request["itest-api"]["device"] == "api"
    floor = by_request["itest-floor"]
    assert (floor["user"], floor["device"], floor["route"], floor["status"]) == ("B-LOG", device, "/floor", 200)
    assert by_request[generated]["status"] == 404 and len(generated) == 32
    assert all({"timestamp", "level", "event"} <= line.keys() for line in lines)
    assert any("Uvicorn running" in line["event"] for line in lines)  # uvicorn's own lines are JSON too


async def test_the_worker_logs_its_start_and_every_job(ledger_db):
    queue = f"stockline:test:{uuid.uuid4().hex}"
    redis = await create_pool(RedisSettings.from_dsn(REDIS_TEST_URL), default_queue_name=queue)
    try:
        job = await redis.enqueue_job("expire_reservations", _queue_name=queue)
        assert job is not None
        env = {**os.environ, "STOCKLINE_DATABASE_URL": ledger_db.database_url, "STOCKLINE_REDIS_URL": REDIS_TEST_URL,
               "STOCKLINE_JOB_QUEUE": queue, "STOCKLINE_LOG_FORMAT": "json"}
        worker = subprocess.run([sys.executable, "-m", "backend", "worker", "--burst"], env=env,
                                capture_output=True, text=True, timeout=120)
        assert worker.returncode == 0, worker.stderr
    finally:
        await redis.aclose()
    lines = _json_lines(worker.stdout + worker.stderr)
    events = [(line["event"], line.get("job"), line.get("outcome")) for line in lines]
    start = next(line for line in lines if line["event"] == "worker.start")
    assert start["queue"] == queue and "expire_reservations" in start["jobs"]
    assert ("jobs.start", "expire_reservations", None) in events
    assert ("jobs.end", "expire_reservations", "ok") in events
    end = next(line for line in lines if line["event"] == "jobs.end")
    assert end["job_id"] == job.job_id and end["job_try"] == 1 and end["result"] == 0


def test_the_worker_health_check_sees_a_running_worker(tmp_path):
    env = {**os.environ, "STOCKLINE_DATABASE_URL": f"sqlite:///{tmp_path / 'w.db'}",
           "STOCKLINE_REDIS_URL": REDIS_TEST_URL, "STOCKLINE_JOB_QUEUE": f"stockline:test:{uuid.uuid4().hex}"}
    check = [sys.executable, "-m", "backend", "worker", "--check"]
    assert subprocess.run(check, env=env, capture_output=True, timeout=60).returncode == 1  # no worker yet
    worker = subprocess.Popen([sys.executable, "-m", "backend", "worker"], env=env, stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + START_S
        while subprocess.run(check, env=env, capture_output=True, timeout=60).returncode != 0:
            assert worker.poll() is None and time.monotonic() < deadline
            time.sleep(0.5)
    finally:
        worker.terminate()
        worker.wait(timeout=30)


async def test_the_worker_serves_its_job_metrics_when_enabled(ledger_db):
    queue, port = f"stockline:test:{uuid.uuid4().hex}", _free_port()
    env = {**os.environ, "STOCKLINE_DATABASE_URL": ledger_db.database_url, "STOCKLINE_REDIS_URL": REDIS_TEST_URL,
           "STOCKLINE_JOB_QUEUE": queue, "STOCKLINE_METRICS": "true", "STOCKLINE_WORKER_METRICS_PORT": str(port)}
    redis = await create_pool(RedisSettings.from_dsn(REDIS_TEST_URL), default_queue_name=queue)
    worker = subprocess.Popen([sys.executable, "-m", "backend", "worker"], env=env, stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL)
    try:
        job = await redis.enqueue_job("ledger_check", _queue_name=queue)
        assert job is not None
        await job.result(timeout=START_S)
        async with httpx.AsyncClient() as client:
            text = (await client.get(f"http://127.0.0.1:{port}/metrics", timeout=5)).text
        assert 'stockline_job_runs_total{job="ledger_check",outcome="ok"} 1.0' in text
    finally:
        worker.terminate()
        worker.wait(timeout=30)
        await redis.aclose()
