"""Job runs a person can see and start: the watch job (stuck runs, old rows), a manager's "run now"
(arq with Redis, a task of the web process without), and the in-process attempts loop that gives the
web process arq's time limit and retry-with-backoff.

Retries: a job raises arq's `Retry(defer=...)` for an outside failure it expects to pass (a channel
answering 5xx or timing out); arq runs it again after the delay, up to JOB_TRIES_MAX tries. The last
try raises the error itself, so the run is recorded as failed with the reason.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import structlog

from backend.domain import job_runs
from backend.domain.auth.audit import Actor
from backend.domain.errors import InvalidInput
from backend.settings import Settings
from jobs.observe import observed

log = structlog.get_logger("stockline.jobs")
JOB_TIMEOUT_S = 300  # arq's job_timeout, and the web process's limit per attempt
JOB_TRIES_MAX = 5  # arq's max_tries; each job's own Retry stops one short of it
RETRY_DEFER_S_MAX = 300
STUCK_AFTER_S = 120  # no heartbeat (every observe.HEARTBEAT_S) for this long: the run is stuck
QUEUED_STUCK_AFTER_S = 600  # asked for on the tablet, not started by then: no worker is taking jobs
RUNS_KEEP_DAYS = 14
_running: set[asyncio.Task[Any]] = set()  # in-process runs (a task nobody references may be collected)

Job = Callable[..., Awaitable[Any]]


def retry_defer_s(job_try: int) -> int:
    """Backoff between tries: 5, 10, 20, 40 s ... capped."""
    return min(RETRY_DEFER_S_MAX, 5 << max(0, job_try - 1))


def may_retry(ctx: dict[str, Any] | None) -> bool:
    """True while tries remain; the last try lets the error fail the run."""
    return int((ctx or {}).get("job_try") or 1) < JOB_TRIES_MAX


async def watch_job_runs(ctx: dict[str, Any] | None = None) -> dict[str, int]:
    """Mark runs without a heartbeat (or queued and never started) stuck, report each, prune old rows."""
    stuck = await job_runs.mark_stuck(silent_after_s=STUCK_AFTER_S, queued_after_s=QUEUED_STUCK_AFTER_S)
    for run in stuck:
        log.error("jobs.stuck", run_id=run.id, kind=run.kind, runner=run.runner, started_at=str(run.started_at),
                  heartbeat_at=str(run.heartbeat_at), reason=run.error)
    pruned = await job_runs.prune_runs(keep_days=RUNS_KEEP_DAYS)
    return {"stuck": len(stuck), "pruned": pruned}


async def run_in_process(job: Job, job_id: str, *, tries_max: int = JOB_TRIES_MAX,
                         timeout_s: float = JOB_TIMEOUT_S) -> Any:
    """One job as arq would run it: each try observed (a job_runs row), bounded by `timeout_s`, tried
    again after the delay of its `Retry`, up to `tries_max` tries."""
    from arq.worker import Retry

    run = observed(job)
    for job_try in range(1, tries_max + 1):
        try:
            return await asyncio.wait_for(run({"job_id": job_id, "job_try": job_try}), timeout_s)
        except Retry as exc:
            if job_try == tries_max:
                raise
            await asyncio.sleep((exc.defer_score or 0) / 1000)
    raise AssertionError("unreachable")


@dataclass(frozen=True, slots=True)
class Startable:
    job: Job
    label: str
    about: str


def _startable() -> dict[str, Startable]:
    from jobs import schedule

    return {s.job.__name__: s for s in schedule.STARTABLE}


def startable() -> list[tuple[str, Startable]]:
    return list(_startable().items())


async def start_job(settings: Settings, kind: str, actor: Actor) -> int:
    """Queue a run of `kind` now (a `queued` job_runs row) and hand it to arq or to this process."""
    known = _startable()
    if kind not in known:
        raise InvalidInput(f"There is no job {kind!r} to start.")
    run_id = await job_runs.queue_run(kind, actor.label)
    job_id = f"manual:{run_id}:{uuid.uuid4().hex[:12]}"  # arq remembers job ids for a while, across databases
    if settings.redis_url:
        from arq import create_pool
        from arq.connections import RedisSettings

        redis = await create_pool(RedisSettings.from_dsn(settings.redis_url), default_queue_name=settings.job_queue)
        try:
            job = await redis.enqueue_job(kind, _job_id=job_id)
            assert job is not None, "arq refused a new job id"
        finally:
            await redis.aclose()
    else:
        task = asyncio.create_task(run_in_process(known[kind].job, job_id), name=f"stockline-job-{run_id}")
        _running.add(task)
        task.add_done_callback(_done)
    log.info("jobs.requested", kind=kind, run_id=run_id, by=actor.label)
    return run_id


def _done(task: asyncio.Task[Any]) -> None:
    _running.discard(task)
    if not task.cancelled() and task.exception() is not None:
        log.warning("jobs.inprocess_failed", task=task.get_name(), error=type(task.exception()).__name__)
