"""The image's steps, run outside a container (there is no Docker engine here): the entrypoint migrates a
fresh database and then serves pages (not 500 "no such table"), replicas starting together migrate once,
the HEALTHCHECK command tells ready from not; and the Dockerfile and compose.yaml say what they must."""

from __future__ import annotations

import asyncio
import os
import re
import socket
import subprocess
import sys
import time
import tomllib
from pathlib import Path

import asyncpg
import httpx
import pytest
import yaml

from backend.migrations import available
from tests.conftest import drop_pg_database, fresh_pg_database

ROOT = Path(__file__).resolve().parents[2]
ENTRYPOINT = ROOT / "scripts" / "entrypoint"
START_S = 60


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _env(database_url: str, **extra: str) -> dict[str, str]:
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}",
           "STOCKLINE_DATABASE_URL": database_url, "STOCKLINE_SECRET": "container-secret", **extra}
    env.pop("STOCKLINE_REDIS_URL", None)
    return env


def _wait_ready(url: str, process: subprocess.Popen, log: Path) -> None:
    deadline = time.monotonic() + START_S
    while time.monotonic() < deadline:
        assert process.poll() is None, log.read_text()[-3000:]
        try:
            if httpx.get(f"{url}/readyz", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise AssertionError(f"not ready: {log.read_text()[-3000:]}")


def _stop(process: subprocess.Popen) -> None:
    process.terminate()
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        process.kill()


def test_entrypoint_migrates_a_fresh_sqlite_database_then_serves_pages(tmp_path):
    env = _env(f"sqlite:///{tmp_path / 'var' / 'stockline.db'}")
    port, log = _free_port(), tmp_path / "entrypoint.log"
    probe = [sys.executable, "-m", "backend", "probe", "--port", str(port)]
    assert subprocess.run(probe, env=env, capture_output=True, timeout=30).returncode == 1  # nothing listens yet
    with open(log, "w") as out:
        process = subprocess.Popen([str(ENTRYPOINT), "serve", "--port", str(port)], env=env, cwd=tmp_path,
                                   stdout=out, stderr=subprocess.STDOUT)
    try:
        url = f"http://127.0.0.1:{port}"
        _wait_ready(url, process, log)
        pages = {path: httpx.get(url + path, timeout=10).status_code
                 for path in ("/signin", "/", "/floor", "/tablet/stock", "/offline", "/api/v1/schema/openapi.json")}
        assert pages == {"/signin": 200, "/": 303, "/floor": 303, "/tablet/stock": 303, "/offline": 200,
                         "/api/v1/schema/openapi.json": 200}
        assert httpx.get(f"{url}/api/v1/items", headers={"Authorization": "Bearer stl_nope"}).status_code == 401
        ready = subprocess.run(probe, env=env, capture_output=True, text=True, timeout=30)
        assert ready.returncode == 0 and '"database":"ok"' in ready.stdout.replace(" ", "")
    finally:
        _stop(process)
    assert f"applied {len(available())} migration(s)" in log.read_text()
    assert "no such table" not in log.read_text()


def test_the_health_check_fails_while_migrations_are_pending(tmp_path):
    env = _env(f"sqlite:///{tmp_path / 'stockline.db'}", STOCKLINE_MIGRATE_ON_START="false")
    port, log = _free_port(), tmp_path / "serve.log"
    with open(log, "w") as out:
        process = subprocess.Popen([str(ENTRYPOINT), "serve", "--port", str(port)], env=env, cwd=tmp_path,
                                   stdout=out, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + START_S
        while True:
            try:
                r = httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1)
                break
            except httpx.HTTPError:
                assert time.monotonic() < deadline, log.read_text()
                time.sleep(0.2)
        assert r.status_code == 200
        probe = subprocess.run([sys.executable, "-m", "backend", "probe", "--port", str(port)], env=env,
                               capture_output=True, text=True, timeout=30)
        assert probe.returncode == 1 and "migrations pending" in probe.stderr
    finally:
        _stop(process)


def _applied(url: str) -> list[int]:
    async def read() -> list[int]:
        conn = await asyncpg.connect(url)
        try:
            return [r["version"] for r in await conn.fetch("SELECT version FROM schema_migrations ORDER BY version")]
        finally:
            await conn.close()

    return asyncio.run(read())


REPLICAS = 4


def test_replicas_starting_together_on_postgres_migrate_once(tmp_path):
    """Four containers' entrypoints at the same moment against one empty database: every one starts
    (here `check` stands for the server), and each migration is applied exactly once."""
    name = f"stockline_replicas_{os.getpid()}"
    url = fresh_pg_database(name)
    try:
        env = _env(url)
        starts = [subprocess.Popen([str(ENTRYPOINT), "check"], env=env, cwd=tmp_path, stdout=subprocess.PIPE,
                                   stderr=subprocess.STDOUT, text=True) for _ in range(REPLICAS)]
        outputs = [p.communicate(timeout=180)[0] for p in starts]
        assert [p.returncode for p in starts] == [0] * REPLICAS, outputs
        applied_now = sum(int(re.search(r"applied (\d+) migration", out)[1]) for out in outputs)
        assert applied_now == len(available())
        assert _applied(url) == [m.version for m in available()]
    finally:
        drop_pg_database(name)


# --- what the image and the compose file declare -------------------------------------------------

def _dockerfile() -> list[tuple[str, str]]:
    text = (ROOT / "Dockerfile").read_text().replace("\\\n", " ")
    return [(line.split(None, 1)[0].upper(), line.split(None, 1)[1].strip())
            for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")]


def test_the_image_runs_as_a_user_keeps_data_in_a_volume_and_checks_its_health():
    instructions = _dockerfile()
    of = lambda name: [arg for instr, arg in instructions if instr == name]  # noqa: E731
    [user] = of("USER")
    assert user not in ("root", "0")
    assert of("VOLUME") == ['["/app/var"]'] and of("WORKDIR") == ["/app"]  # var/stockline.db is /app/var
    assert of("HEALTHCHECK")[0].endswith('CMD ["stockline", "probe"]')
    assert of("ENTRYPOINT") == ['["/app/scripts/entrypoint"]'] and of("CMD") == ['["serve"]']
    copied = {arg.split()[0] for arg in of("COPY")}
    packages = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"]["find"]
    needed = {p.rstrip("*") for p in packages["include"]} | {"web", "scripts", "pyproject.toml"}
    assert needed <= copied, f"the image misses {needed - copied}"
    assert os.access(ENTRYPOINT, os.X_OK)


def test_compose_runs_postgres_redis_web_and_worker_with_settings_stockline_reads():
    compose = yaml.safe_load((ROOT / "compose.yaml").read_text())
    services = compose["services"]
    assert set(services) == {"db", "redis", "web", "worker"}
    assert services["worker"]["command"] == ["worker"] and services["web"]["command"] == ["serve"]
    settings_source = (ROOT / "backend" / "settings.py").read_text()
    for service in ("web", "worker"):
        env = services[service]["environment"]
        assert env["STOCKLINE_DATABASE_URL"].startswith("postgresql://") and env["STOCKLINE_REDIS_URL"]
        unknown = [name for name in env if f'"{name}"' not in settings_source]
        assert unknown == [], f"{service} sets variables Stockline does not read: {unknown}"


@pytest.mark.parametrize("doc", ["README.md", "docs/operations.md"])
def test_the_docs_name_the_compose_file(doc):
    assert "compose.yaml" in (ROOT / doc).read_text()
