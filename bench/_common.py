"""What the bench scripts share: a fresh PostgreSQL database per bench, a migrated connection to it,
a pgbench baseline, a `stockline serve` process on a free port, CPU accounting and percentiles.

Import it from a script in bench/ as `from _common import ...` (a script's own folder is on sys.path).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import math
import os
import re
import resource
import signal
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
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


async def clone_database(admin_url: str, source: str, name: str) -> str:
    """Database `name` as a copy of `source` (which must have no open connections); returns its URL."""
    await drop_database(admin_url, name)
    await _admin(admin_url, f'CREATE DATABASE "{name}" TEMPLATE "{source}"')
    return db_url(admin_url, name)


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


# --- a server process --------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(url: str, log_path: Path, *, pool_max: int = 20, env_extra: dict[str, str] | None = None,
                 statements_file: Path | None = None) -> tuple[subprocess.Popen, str]:
    """`python -m backend serve` on a free port against `url`, without Redis (in-process jobs).
    Returns the process and its base URL once /healthz answers. With `statements_file` the server
    counts its statements (bench/_counted_serve.py; read them with `server_statements`)."""
    # The load generator talks plain HTTP to 127.0.0.1: cookies without Secure (production has them).
    env = {**os.environ, "STOCKLINE_DATABASE_URL": url, "STOCKLINE_SECRET": "bench-secret",
           "STOCKLINE_SECURE_COOKIES": "false",
           "STOCKLINE_DB_POOL_MIN": str(min(pool_max, 4)), "STOCKLINE_DB_POOL_MAX": str(pool_max),
           **(env_extra or {})}
    env.pop("STOCKLINE_REDIS_URL", None)
    port = free_port()
    log = open(log_path, "w")  # noqa: SIM115 - closed with the process
    command = [sys.executable, "-m", "backend"]
    if statements_file is not None:
        env["STOCKLINE_BENCH_STATEMENTS_FILE"] = str(statements_file)
        command = [sys.executable, str(ROOT / "bench" / "_counted_serve.py")]
    proc = subprocess.Popen([*command, "serve", "--port", str(port)], cwd=ROOT, env=env, stdout=log,
                            stderr=subprocess.STDOUT)
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


async def server_statements(proc: subprocess.Popen, statements_file: Path) -> int:
    """The statements a `start_server(..., statements_file=...)` server has sent so far."""
    statements_file.unlink(missing_ok=True)
    os.kill(proc.pid, signal.SIGUSR1)
    for _ in range(200):
        if statements_file.exists():
            return int(statements_file.read_text())
        await asyncio.sleep(0.01)
    raise RuntimeError("the server did not write its statement count")


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


# --- honest rounds: statements, CPU and medians ------------------------------------------------------


class Statements:
    """Every statement this process sends on any asyncpg connection (its Connection methods wrapped):
    one round trip each. `copy_records_to_table` counts as one."""

    count = 0
    polls = 0  # statements a bench sends only to learn that a round is done: not the subject's work
    _installed = False

    @classmethod
    def install(cls) -> None:
        if cls._installed:
            return
        cls._installed = True
        for name in ("execute", "executemany", "fetch", "fetchrow", "fetchval", "copy_records_to_table"):
            original = getattr(asyncpg.connection.Connection, name)

            def counted(self: object, *args: object, _original: object = original, **kwargs: object) -> object:
                cls.count += 1
                return _original(self, *args, **kwargs)  # type: ignore[operator]

            setattr(asyncpg.connection.Connection, name, counted)


@dataclass(frozen=True, slots=True)
class Measured:
    """One timed phase: operations done, wall time, statements sent, CPU of this process and of PostgreSQL."""

    label: str
    ops: int
    elapsed_s: float
    statements: int
    cpu_s: float  # this process (the application: Stockline runs in-process in these benches)
    pg_cpu_s: float  # the PostgreSQL backends serving it
    load: float  # 1-minute load average at the end

    @property
    def per_s(self) -> float:
        return self.ops / self.elapsed_s if self.elapsed_s else 0.0

    def line(self, unit: str = "op") -> str:
        ops = max(self.ops, 1)
        return (f"{self.label}: {self.per_s:.1f} {unit}s/s ({self.ops} in {self.elapsed_s:.2f} s), "
                f"{self.statements / ops:.2f} statements/{unit}, CPU {1000 * self.cpu_s / ops:.3f} ms/{unit} here"
                f" + {1000 * self.pg_cpu_s / ops:.3f} ms/{unit} PostgreSQL, load {self.load:.1f}")


class Meter:
    """Measure a phase of work done by this process against database `database` of `admin_url`'s server."""

    def __init__(self, admin_url: str, database: str) -> None:
        self.admin_url, self.database = admin_url, database

    async def measure(self, label: str, work: Callable[[], Awaitable[int]]) -> Measured:
        pids = await backend_pids(self.admin_url, self.database)
        pg0, cpu0, st0, t0 = pids_cpu_s(pids), self_cpu_s(), Statements.count, time.perf_counter()
        ops = await work()
        elapsed = time.perf_counter() - t0
        cpu, statements = self_cpu_s() - cpu0, Statements.count - st0
        pg1 = pids_cpu_s(await backend_pids(self.admin_url, self.database))
        pg = sum(v - pg0.get(pid, 0.0) for pid, v in pg1.items())
        return Measured(label, ops, elapsed, statements, cpu, pg, os.getloadavg()[0])


def median_of(phases: list[Measured], label: str) -> Measured:
    """The phase with the median rate (its own statements and CPU), relabelled."""
    ranked = sorted(phases, key=lambda p: p.per_s)
    mid = ranked[(len(ranked) - 1) // 2] if len(ranked) % 2 else ranked[len(ranked) // 2 - 1]
    return Measured(label, mid.ops, mid.elapsed_s, mid.statements, mid.cpu_s, mid.pg_cpu_s, mid.load)


def median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def round_seconds(total_s: float, rounds: int, floor_s: float = 1.0) -> float:
    """Each round's share of --seconds (the duration of each side's timed phases, summed over rounds)."""
    return max(floor_s, total_s / max(1, rounds))


# --- pgbench at a scale that does not make its clients queue on one row ------------------------------


def pgbench_init(url: str, scale: int) -> None:
    """tpcb-like tables at `scale` (one branch row per scale unit: run it at scale >= clients)."""
    subprocess.run(["pgbench", "-i", "-s", str(scale), "-q", url], check=True, capture_output=True, text=True)


async def pgbench_round(url: str, admin_url: str, database: str, clients: int, seconds: int) -> Measured:
    """One pgbench run (`-c clients -j 2 -T seconds`, tpcb-like: 7 statements per transaction) with the
    CPU of its PostgreSQL backends (sampled every 0.1 s while they live: the last tenth of a second
    before each exits is missed) and of the pgbench client itself."""
    t0 = time.perf_counter()
    children0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    proc = await asyncio.create_subprocess_exec(
        "pgbench", "-c", str(clients), "-j", "2", "-T", str(seconds), url,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    seen: dict[int, float] = {}
    conn = await asyncpg.connect(admin_url)
    try:
        while proc.returncode is None:
            pids = [r["pid"] for r in await conn.fetch("SELECT pid FROM pg_stat_activity WHERE datname = $1", database)]
            for pid, cpu in pids_cpu_s(pids).items():
                seen[pid] = max(seen.get(pid, 0.0), cpu)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(proc.wait(), 0.1)
    finally:
        await conn.close()
    out = (await proc.stdout.read()).decode() if proc.stdout else ""
    elapsed = time.perf_counter() - t0
    if proc.returncode != 0:
        raise RuntimeError(f"pgbench failed: {(await proc.stderr.read()).decode() if proc.stderr else ''}")
    match = re.search(r"number of transactions actually processed: (\d+)", out)
    tps = re.search(r"tps = ([\d.]+) \(without initial connection time\)", out)
    if match is None or tps is None:
        raise RuntimeError(f"no transaction count in pgbench output:\n{out}")
    done = int(match.group(1))
    children1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    client = (children1.ru_utime + children1.ru_stime) - (children0.ru_utime + children0.ru_stime)
    # pgbench's own -T window (tps) excludes connecting; elapsed is derived from it for a like-for-like rate.
    window = done / float(tps.group(1)) if float(tps.group(1)) else elapsed
    return Measured("pgbench tpcb-like", done, window, 7 * done, client, sum(seen.values()), os.getloadavg()[0])
