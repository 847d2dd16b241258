"""What the bench scripts share: a fresh PostgreSQL database per bench, a migrated connection to it,
a pgbench baseline, a `stockline serve` process on a free port, CPU accounting and percentiles.

Import it from a script in bench/ as `from _common import ...` (a script's own folder is on sys.path).
"""

from __future__ import annotations

import argparse
import math
import os
import re
import resource
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import asyncpg
import httpx

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from backend import db  # noqa: E402 - after the path set-up above
from backend.migrations import migrate  # noqa: E402
from backend.settings import Settings  # noqa: E402

DEFAULT_PG_ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/test"
SERVER_START_S = 60
SERVER_STOP_S = 15


def add_common_args(parser: argparse.ArgumentParser, *, seconds: int = 30) -> None:
    """--seconds and --pg-url, spelled the same in every bench."""
    parser.add_argument("--seconds", type=int, default=seconds, help="duration of each timed phase")
    parser.add_argument("--pg-url", default=DEFAULT_PG_ADMIN_URL,
                        help="admin URL used to create and drop the bench databases")


# --- databases ---------------------------------------------------------------------------------


def db_url(admin_url: str, name: str) -> str:
    """The URL of database `name` on the server behind `admin_url`."""
    return admin_url.rsplit("/", 1)[0] + "/" + name


async def _admin(admin_url: str, statement: str) -> None:
    conn = await asyncpg.connect(admin_url)
    try:
        await conn.execute(statement)
    finally:
        await conn.close()


async def recreate_database(admin_url: str, name: str) -> str:
    """Drop (kicking out its sessions) and create database `name`; returns its URL."""
    await drop_database(admin_url, name)
    await _admin(admin_url, f'CREATE DATABASE "{name}"')
    return db_url(admin_url, name)


async def drop_database(admin_url: str, name: str) -> None:
    await _admin(admin_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@asynccontextmanager
async def migrated(url: str, *, pool_min: int = 1, pool_max: int = 4) -> AsyncIterator[None]:
    """Connect this process's engine to `url` (a pool on Postgres), migrate, disconnect at the end.
    Seed inside it with the domain's own commands."""
    await db.connect(Settings(database_url=url, db_pool_min=pool_min, db_pool_max=pool_max))
    try:
        await migrate()
        yield
    finally:
        await db.disconnect()


def run_pgbench(url: str, clients: int, seconds: int) -> float:
    """pgbench's built-in tpcb-like script at scale 1 on `url` (initialized here); returns its TPS."""
    subprocess.run(["pgbench", "-i", "-s", "1", "-q", url], check=True, capture_output=True, text=True)
    out = subprocess.run(["pgbench", "-c", str(clients), "-j", "2", "-T", str(seconds), url],
                         check=True, capture_output=True, text=True).stdout
    match = re.search(r"tps = ([\d.]+) \(without initial connection time\)", out)
    if match is None:
        raise RuntimeError(f"no TPS in pgbench output:\n{out}")
    return float(match.group(1))


async def pgbench_baseline(admin_url: str, name: str, clients: int, seconds: int) -> float:
    """pgbench TPS in a throwaway database `name`, dropped afterwards."""
    try:
        return run_pgbench(await recreate_database(admin_url, name), clients, seconds)
    finally:
        await drop_database(admin_url, name)


# --- a server process --------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(url: str, log_path: Path, *, pool_max: int = 20,
                 env_extra: dict[str, str] | None = None) -> tuple[subprocess.Popen, str]:
    """`python -m backend serve` on a free port against `url`, without Redis (in-process jobs).
    Returns the process and its base URL once /healthz answers."""
    # The load generator talks plain HTTP to 127.0.0.1: cookies without Secure (production has them).
    env = {**os.environ, "STOCKLINE_DATABASE_URL": url, "STOCKLINE_SECRET": "bench-secret",
           "STOCKLINE_SECURE_COOKIES": "false",
           "STOCKLINE_DB_POOL_MIN": str(min(pool_max, 4)), "STOCKLINE_DB_POOL_MAX": str(pool_max),
           **(env_extra or {})}
    env.pop("STOCKLINE_REDIS_URL", None)
    port = free_port()
    log = open(log_path, "w")  # noqa: SIM115 - closed with the process
    proc = subprocess.Popen([sys.executable, "-m", "backend", "serve", "--port", str(port)], cwd=ROOT, env=env,
                            stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + SERVER_START_S
    while time.monotonic() < deadline and proc.poll() is None:
        try:
            if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                return proc, base
        except httpx.HTTPError:
            time.sleep(0.2)
    stop_server(proc)
    raise RuntimeError(f"server did not start: {log_path.read_text()[-2000:]}")


def stop_server(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=SERVER_STOP_S)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


# --- CPU accounting ----------------------------------------------------------------------------


def proc_cpu_s(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime + stime


def self_cpu_s() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def machine_busy_s() -> tuple[float, float]:
    """(busy, total) CPU seconds of the whole machine since boot."""
    parts = [int(x) for x in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    idle = parts[3] + parts[4]
    tck = os.sysconf("SC_CLK_TCK")
    return (sum(parts[:8]) - idle) / tck, sum(parts[:8]) / tck


async def backend_pids(admin_url: str, database: str) -> list[int]:
    """PostgreSQL backends connected to `database` (a server's pool)."""
    conn = await asyncpg.connect(admin_url)
    try:
        rows = await conn.fetch("SELECT pid FROM pg_stat_activity WHERE datname = $1", database)
    finally:
        await conn.close()
    return [r["pid"] for r in rows]


def pids_cpu_s(pids: list[int]) -> dict[int, float]:
    out = {}
    for pid in pids:
        try:
            out[pid] = proc_cpu_s(pid)
        except (FileNotFoundError, ProcessLookupError, IndexError):
            continue
    return out


class CpuWindow:
    """CPU used during a phase by a server, its PostgreSQL backends, this process, and the machine."""

    def __init__(self, server_pid: int, admin_url: str, database: str) -> None:
        self.server_pid, self.admin_url, self.database = server_pid, admin_url, database

    async def start(self) -> CpuWindow:
        self.pg_start = pids_cpu_s(await backend_pids(self.admin_url, self.database))
        self.t0 = self._sample()
        return self

    def _sample(self) -> tuple[float, float, float, float, float]:
        busy, total = machine_busy_s()
        return time.perf_counter(), proc_cpu_s(self.server_pid), self_cpu_s(), busy, total

    async def report(self) -> str:
        end = self._sample()
        pg_end = pids_cpu_s(await backend_pids(self.admin_url, self.database))
        wall = end[0] - self.t0[0]
        server, client = end[1] - self.t0[1], end[2] - self.t0[2]
        pg = sum(v - self.pg_start.get(pid, 0.0) for pid, v in pg_end.items())
        busy, total = end[3] - self.t0[3], end[4] - self.t0[4]
        other = max(0.0, busy - server - client - pg)
        return (f"CPU over {wall:.1f} s (100% = one core; {os.cpu_count()} cores): server {100 * server / wall:.0f}%, "
                f"its PostgreSQL backends {100 * pg / wall:.0f}% ({len(pg_end)}), load generator "
                f"{100 * client / wall:.0f}%, anything else on the machine {100 * other / wall:.0f}%; "
                f"machine busy {100 * busy / total if total else 0:.0f}% of all cores")


# --- figures -----------------------------------------------------------------------------------


def pct(sorted_ms: list[float], p: float) -> float:
    """Nearest-rank percentile of an already sorted list."""
    if not sorted_ms:
        return float("nan")
    k = max(0, min(len(sorted_ms) - 1, math.ceil(p / 100 * len(sorted_ms)) - 1))
    return sorted_ms[k]
