"""Every job run logs `jobs.start` and `jobs.end` (outcome, duration, result), is counted in the
metrics and is a `job_runs` row (start, heartbeat, progress, result or error), whether arq runs it on
the worker or the web process runs it on its timer (no Redis). Lines written while a job runs carry
its name, id and try (structlog contextvars). The job finds its progress reporter in `ctx["progress"]`.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import functools
import os
import socket
import time
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any, TypeVar

import structlog

from backend import metrics
from backend.domain import job_runs

log = structlog.get_logger("stockline.jobs")
R = TypeVar("R")
HEARTBEAT_S = 10.0  # a running job's row is touched this often; job_runs watch calls it stuck after STUCK_AFTER_S
RUNNER = f"{socket.gethostname()}:{os.getpid()}"


def _outcome(exc: BaseException) -> str:
    from arq.worker import Retry

    if isinstance(exc, Retry):
        return "retry"
    if isinstance(exc, (asyncio.CancelledError, TimeoutError)):
        return "cancelled"  # arq's job timeout or a worker shutting down
    return "failed"


def observe_all(options: dict[str, Any]) -> dict[str, Any]:
    """The arq settings with every registered job and cron job observed."""
    from arq.cron import CronJob
    from arq.worker import Function

    def wrap(entry: Any) -> Any:
        if isinstance(entry, (Function, CronJob)):
            return dataclasses.replace(entry, coroutine=observed(entry.coroutine))
        return observed(entry)

    return {**options, "functions": [wrap(f) for f in options.get("functions", [])],
            "cron_jobs": [wrap(c) for c in options.get("cron_jobs", [])]}


def progress_of(ctx: dict[str, Any] | None) -> job_runs.Progress:
    """The running job's progress reporter (a counting one when the job was called directly)."""
    found = (ctx or {}).get("progress")
    return found if isinstance(found, job_runs.Progress) else job_runs.Progress()


async def _record_start(name: str, job_id: str, job_try: int) -> int | None:
    try:
        return await job_runs.start_run(name, job_id=job_id, job_try=job_try, runner=RUNNER)
    except Exception:
        log.exception("jobs.run_not_recorded", job=name)
        return None


async def _record_end(run_id: int | None, status: job_runs.JobStatus, *, result: Any = None, error: str = "",
                      progress: job_runs.Progress | None = None) -> None:
    if run_id is None:
        return
    try:
        if progress is not None:
            await progress.flush()
        await job_runs.finish_run(run_id, status, result=result, error=error)
    except Exception:
        log.exception("jobs.run_not_recorded", run_id=run_id)


async def _beat(run_id: int) -> None:
    while True:
        await asyncio.sleep(HEARTBEAT_S)
        try:
            await job_runs.heartbeat(run_id)
        except Exception:  # noqa: BLE001 - the next beat tries again; silence makes it "stuck"
            log.warning("jobs.heartbeat_failed", run_id=run_id)


def _error_text(exc: BaseException) -> str:
    from arq.worker import Retry

    if isinstance(exc, Retry):
        cause = exc.__cause__
        defer_s = (exc.defer_score or 0) / 1000
        return f"Will try again in {defer_s:.0f} s" + (f": {_error_text(cause)}" if cause else ".")
    if isinstance(exc, (asyncio.CancelledError, TimeoutError)):
        return "Stopped: it ran past its time limit, or the worker shut down."
    message = getattr(exc, "message", None) or str(exc)
    return f"{type(exc).__name__}: {message}"


def observed(job: Callable[..., Awaitable[R]]) -> Callable[..., Coroutine[Any, Any, R]]:
    name = job.__name__

    @functools.wraps(job)
    async def run(ctx: dict[str, Any] | None = None, *args: Any, **kwargs: Any) -> R:
        ctx = ctx if ctx is not None else {}
        job_id = str(ctx.get("job_id") or f"direct:{name}:{time.time_ns()}")
        job_try = int(ctx.get("job_try") or 1)
        fields = {"job": name, "job_id": job_id, "job_try": job_try}
        started = time.perf_counter()
        with structlog.contextvars.bound_contextvars(**fields):
            run_id = await _record_start(name, job_id, job_try)
            progress = ctx["progress"] = job_runs.Progress(run_id)
            beat = asyncio.create_task(_beat(run_id), name=f"stockline-beat-{run_id}") if run_id else None
            log.info("jobs.start", run_id=run_id)
            try:
                result = await job(ctx, *args, **kwargs)
            except BaseException as exc:
                seconds = time.perf_counter() - started
                outcome = _outcome(exc)
                metrics.job_ran(name, outcome, seconds)
                log.warning("jobs.end", outcome=outcome, error=type(exc).__name__, message=str(exc)[:200],
                            duration_ms=round(seconds * 1000), run_id=run_id)
                status: job_runs.JobStatus = "retrying" if outcome == "retry" else "failed"
                # Shielded: a cancelled job (time limit, shutdown) still gets its row closed.
                with contextlib.suppress(asyncio.CancelledError):
                    await asyncio.shield(_record_end(run_id, status, error=_error_text(exc), progress=progress))
                raise
            finally:
                if beat is not None:
                    beat.cancel()
            seconds = time.perf_counter() - started
            metrics.job_ran(name, "ok", seconds)
            log.info("jobs.end", outcome="ok", result=result, duration_ms=round(seconds * 1000), run_id=run_id)
            await _record_end(run_id, "done", result=result, progress=progress)
            return result

    return run
