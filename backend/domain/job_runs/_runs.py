"""One row per attempt of a background job: started, heartbeats and progress while it runs, then its
result or error. The arq worker and the web process (no Redis) write them through `jobs/observe.py`;
the tablet's Jobs screen reads them.

A manager's "run now" is a `queued` row first; the job adopts it when it starts (its arq job id is
`manual:<run id>`), so the screen shows the run from the moment it was asked for. A job retried by arq
is a new row per try (same job id, next try). A `running` row whose heartbeat stopped (the process
died, or an await hangs) is marked `stuck` by `mark_stuck`; a queued row nobody started is too.
"""

from __future__ import annotations

import re
import time
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

import msgspec

from backend import db
from backend.domain.errors import UnknownReference

JobStatus = Literal["queued", "running", "done", "failed", "retrying", "stuck"]
Trigger = Literal["schedule", "manual", "event"]
ACTIVE: tuple[JobStatus, ...] = ("queued", "running")
KIND_LENGTH_MAX = 80
RESULT_LENGTH_MAX = 2_000
ERROR_LENGTH_MAX = 1_000
NOTE_LENGTH_MAX = 200
PROGRESS_EVERY_S = 0.5  # at most two progress writes a second per run
RECENT_RUNS_MAX = 200
PRUNE_BATCH_MAX = 5_000
_MANUAL_JOB_ID = re.compile(r"manual:(\d+)(?::[\w-]+)?")  # manual:<run id>[:<token>]


class UnknownRun(UnknownReference):
    code = "unknown_job_run"

    def __init__(self, run_id: int) -> None:
        super().__init__(f"No job run #{run_id}.")


class RunView(msgspec.Struct, frozen=True):
    id: int
    kind: str
    job_try: int
    trigger: Trigger
    status: JobStatus
    requested_by: str
    runner: str
    created_at: datetime
    started_at: datetime | None
    heartbeat_at: datetime | None
    finished_at: datetime | None
    progress_done: int
    progress_total: int
    progress_note: str
    result: str
    error: str

    @property
    def active(self) -> bool:
        return self.status in ACTIVE

    @property
    def percent(self) -> int:
        if not self.progress_total:
            return 100 if self.status == "done" else 0
        return min(100, self.progress_done * 100 // self.progress_total)

    @property
    def seconds(self) -> float | None:
        if self.started_at is None:
            return None
        end = self.finished_at or self.heartbeat_at or self.started_at
        return max(0.0, (end - self.started_at).total_seconds())

    @property
    def result_items(self) -> list[tuple[str, Any]]:
        """The job's counts as (name, value) pairs for the screen."""
        if not self.result:
            return []
        try:
            value = msgspec.json.decode(self.result)
        except msgspec.DecodeError:
            return [("result", self.result)]
        if isinstance(value, dict):
            return [(str(k).replace("_", " "), v) for k, v in value.items()]
        return [("result", value)]


_COLUMNS = ("id, kind, job_try, trigger, status, requested_by, runner, created_at, started_at, heartbeat_at,"
            " finished_at, progress_done, progress_total, progress_note, result, error")


async def _views(sql: str, *args: Any) -> list[RunView]:
    rows = await db.fetch(sql, *args)
    return msgspec.convert(rows, list[RunView], strict=False)


def _now() -> datetime:
    return datetime.now(UTC)


def _encode(result: Any) -> str:
    if result is None:
        return ""
    try:
        text = msgspec.json.encode(result).decode()
    except TypeError:
        text = msgspec.json.encode(str(result)).decode()
    return text[:RESULT_LENGTH_MAX]


async def queue_run(kind: str, requested_by: str) -> int:
    """A run someone asked for: shown as queued until a worker (or the web process) starts it."""
    assert 0 < len(kind) <= KIND_LENGTH_MAX
    now = _now()
    row = await db.fetch_one(
        "INSERT INTO job_runs (kind, run_key, trigger, status, requested_by, created_at)"
        " VALUES ({}, {}, 'manual', 'queued', {}, {}) RETURNING id",
        kind, f"queued:{kind}:{time.time_ns()}", requested_by[:NOTE_LENGTH_MAX], now)
    assert row is not None
    return int(row["id"])


def trigger_of(job_id: str) -> Trigger:
    if job_id.startswith(("cron:", "schedule:")):
        return "schedule"
    if _MANUAL_JOB_ID.fullmatch(job_id):
        return "manual"
    return "event"


async def start_run(kind: str, *, job_id: str, job_try: int, runner: str) -> int:
    """Record that an attempt started; returns its run id. Idempotent per (job id, try)."""
    assert job_try > 0
    now = _now()
    run_key = f"{job_id}:{job_try}"
    requested_by = ""
    manual = _MANUAL_JOB_ID.fullmatch(job_id)
    if manual:
        adopted = await db.fetch(
            "UPDATE job_runs SET status = 'running', run_key = {}, job_id = {}, job_try = {}, runner = {},"
            " started_at = {}, heartbeat_at = {} WHERE id = {} AND kind = {} AND status = 'queued' RETURNING id",
            run_key, job_id, job_try, runner, now, now, int(manual.group(1)), kind)
        if adopted:
            return int(adopted[0]["id"])
        asked = await db.fetch_one("SELECT requested_by FROM job_runs WHERE id = {}", int(manual.group(1)))
        requested_by = asked["requested_by"] if asked else ""
    row = await db.fetch_one(
        "INSERT INTO job_runs (kind, run_key, job_id, job_try, trigger, status, requested_by, runner, created_at,"
        " started_at, heartbeat_at) VALUES ({}, {}, {}, {}, {}, 'running', {}, {}, {}, {}, {})"
        " ON CONFLICT (run_key) DO UPDATE SET status = 'running', runner = excluded.runner,"
        " started_at = excluded.started_at, heartbeat_at = excluded.heartbeat_at, finished_at = NULL"
        " RETURNING id",
        kind[:KIND_LENGTH_MAX], run_key, job_id, job_try, trigger_of(job_id), requested_by, runner, now, now, now)
    assert row is not None
    return int(row["id"])


async def heartbeat(run_id: int) -> None:
    """Still alive: a stuck mark is lifted (the run was slow, not dead)."""
    await db.fetch("UPDATE job_runs SET heartbeat_at = {}, status = 'running' WHERE id = {}"
                   " AND status IN ('running', 'stuck')", _now(), run_id)


async def report_progress(run_id: int, done: int, total: int, note: str = "") -> None:
    assert done >= 0
    assert total >= 0
    await db.fetch(
        "UPDATE job_runs SET progress_done = {}, progress_total = {}, progress_note = {}, heartbeat_at = {},"
        " status = 'running' WHERE id = {} AND status IN ('running', 'stuck')",
        done, max(total, done), note[:NOTE_LENGTH_MAX], _now(), run_id)


async def finish_run(run_id: int, status: JobStatus, *, result: Any = None, error: str = "") -> None:
    assert status in ("done", "failed", "retrying")
    now = _now()
    await db.fetch(
        "UPDATE job_runs SET status = {}, finished_at = {}, heartbeat_at = {}, result = {}, error = {} WHERE id = {}",
        status, now, now, _encode(result), error[:ERROR_LENGTH_MAX], run_id)


async def mark_stuck(*, silent_after_s: float, queued_after_s: float) -> list[RunView]:
    """Running rows without a heartbeat for `silent_after_s`, and queued rows nobody started within
    `queued_after_s`, become `stuck` with the reason; returns them (the watch job reports each)."""
    now = _now()
    silent = await db.fetch(
        "UPDATE job_runs SET status = 'stuck', error = {} WHERE status = 'running' AND heartbeat_at < {}"
        " RETURNING id",
        f"No sign of life for more than {int(silent_after_s)} s: the process running it stopped or hangs.",
        now - timedelta(seconds=silent_after_s))
    unstarted = await db.fetch(
        "UPDATE job_runs SET status = 'stuck', error = {} WHERE status = 'queued' AND created_at < {} RETURNING id",
        f"Asked for, but nothing started it within {int(queued_after_s)} s: is the worker running?",
        now - timedelta(seconds=queued_after_s))
    ids = sorted(int(r["id"]) for r in [*silent, *unstarted])
    if not ids:
        return []
    marks = ", ".join("{}" for _ in ids)
    return await _views(f"SELECT {_COLUMNS} FROM job_runs WHERE id IN ({marks}) ORDER BY id", *ids)


async def prune_runs(*, keep_days: int) -> int:
    """Drop finished runs older than `keep_days` (bounded per call); returns how many."""
    cutoff = _now() - timedelta(days=keep_days)
    rows = await db.fetch(
        "DELETE FROM job_runs WHERE id IN (SELECT id FROM job_runs WHERE created_at < {}"
        " AND status IN ('done', 'failed', 'retrying', 'stuck') ORDER BY id LIMIT {}) RETURNING id",
        cutoff, PRUNE_BATCH_MAX)
    return len(rows)


async def get_run(run_id: int) -> RunView:
    found = await _views(f"SELECT {_COLUMNS} FROM job_runs WHERE id = {{}}", run_id)
    if not found:
        raise UnknownRun(run_id)
    return found[0]


async def recent_runs(*, kind: str = "", failures_only: bool = False, limit: int = 50,
                      before_id: int = 0) -> list[RunView]:
    """Newest first; `failures_only`: failed, stuck and retried attempts."""
    limit = max(1, min(limit, RECENT_RUNS_MAX))
    where: list[str] = ["1 = 1"]
    args: list[Any] = []
    if kind:
        where.append("kind = {}")
        args.append(kind)
    if failures_only:
        where.append("status IN ('failed', 'stuck', 'retrying')")
    if before_id:
        where.append("id < {}")
        args.append(before_id)
    return await _views(f"SELECT {_COLUMNS} FROM job_runs WHERE {' AND '.join(where)} ORDER BY id DESC LIMIT {{}}",
                        *args, limit)


async def latest_per_kind(kinds: list[str]) -> dict[str, RunView]:
    """The newest attempt of each kind (one indexed lookup per kind)."""
    out: dict[str, RunView] = {}
    for kind in kinds:
        found = await _views(f"SELECT {_COLUMNS} FROM job_runs WHERE kind = {{}} ORDER BY id DESC LIMIT 1", kind)
        if found:
            out[kind] = found[0]
    return out


class Progress:
    """Handed to a running job: `await progress(done, total, note)`. Writes at most every
    PROGRESS_EVERY_S (the last figures are written by `flush`); without a run it only counts."""

    def __init__(self, run_id: int | None = None) -> None:
        self.run_id = run_id
        self.done = self.total = 0
        self.note = ""
        self._written_at = 0.0
        self._dirty = False

    async def __call__(self, done: int, total: int, note: str = "") -> None:
        self.done, self.total, self.note = done, total, note
        self._dirty = True
        if self.run_id is not None and time.monotonic() - self._written_at >= PROGRESS_EVERY_S:
            await self.flush()

    async def flush(self) -> None:
        if self.run_id is None or not self._dirty:
            return
        self._written_at, self._dirty = time.monotonic(), False
        await report_progress(self.run_id, self.done, self.total, self.note)
