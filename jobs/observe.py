"""Every job run logs `jobs.start` and `jobs.end` (outcome, duration, result) and is counted in the
metrics, whether arq runs it on the worker or the web process runs it on its timer (no Redis).
Lines written while a job runs carry its name, id and try (structlog contextvars)."""

from __future__ import annotations

import asyncio
import dataclasses
import functools
import time
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any, TypeVar

import structlog

from backend import metrics

log = structlog.get_logger("stockline.jobs")
R = TypeVar("R")


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
            return dataclasses.replace(entry, coroutine=observed(entry.coroutine))  # type: ignore[arg-type]
        return observed(entry)

    return {**options, "functions": [wrap(f) for f in options.get("functions", [])],
            "cron_jobs": [wrap(c) for c in options.get("cron_jobs", [])]}


def observed(job: Callable[..., Awaitable[R]]) -> Callable[..., Coroutine[Any, Any, R]]:
    name = job.__name__

    @functools.wraps(job)
    async def run(ctx: dict[str, Any] | None = None, *args: Any, **kwargs: Any) -> R:
        ctx = ctx or {}
        fields = {"job": name, "job_id": ctx.get("job_id"), "job_try": ctx.get("job_try")}
        started = time.perf_counter()
        with structlog.contextvars.bound_contextvars(**fields):
            log.info("jobs.start")
            try:
                result = await job(ctx, *args, **kwargs)
            except BaseException as exc:
                seconds = time.perf_counter() - started
                outcome = _outcome(exc)
                metrics.job_ran(name, outcome, seconds)
                log.warning("jobs.end", outcome=outcome, error=type(exc).__name__, message=str(exc)[:200],
                            duration_ms=round(seconds * 1000))
                raise
            seconds = time.perf_counter() - started
            metrics.job_ran(name, "ok", seconds)
            log.info("jobs.end", outcome="ok", result=result, duration_ms=round(seconds * 1000))
            return result

    return run
