"""Catalogue imports started on the tablet run as a job: on the arq worker when Redis is configured,
else as a task of the web process. Either way the job is `run_import(run_id)`, which claims the queued
run first, so a job delivered twice imports once (and opening stock is keyed by the file anyway)."""

from __future__ import annotations

import asyncio
from dataclasses import asdict
from typing import Any

import structlog

from backend.domain import imports
from backend.domain.auth.audit import Actor
from backend.settings import Settings
from jobs.observe import observed

log = structlog.get_logger("stockline.jobs")
_running: set[asyncio.Task[Any]] = set()  # in-process imports (a task nobody references may be collected)


async def import_catalogue(ctx: dict[str, Any] | None, run_id: int, actor: dict[str, Any]) -> dict[str, int]:
    report = await imports.run_import(run_id, Actor(**actor))
    if report is None:
        return {"rows": 0, "created": 0, "errors": 0}
    return {"rows": report.rows, "created": report.created, "errors": report.errors_total}


async def launch(settings: Settings, run_id: int, actor: Actor) -> None:
    """Start the import of a queued run and return at once; the tablet polls the run for progress."""
    if settings.redis_url:
        from arq import create_pool
        from arq.connections import RedisSettings

        redis = await create_pool(RedisSettings.from_dsn(settings.redis_url), default_queue_name=settings.job_queue)
        try:
            # No fixed _job_id: arq keeps a finished job's id for an hour across every queue of the Redis, and
            # run ids restart with a new database. A second delivery is harmless: run_import claims the run.
            job = await redis.enqueue_job("import_catalogue", run_id, asdict(actor))
            assert job is not None, "arq refused the job"
        finally:
            await redis.aclose()
        return
    run = observed(import_catalogue)({"job_id": f"import:{run_id}", "job_try": 1}, run_id, asdict(actor))
    task = asyncio.create_task(run, name=f"stockline-import-{run_id}")
    _running.add(task)
    task.add_done_callback(_done)


def _done(task: asyncio.Task[Any]) -> None:
    _running.discard(task)
    if not task.cancelled() and task.exception() is not None:
        log.error("jobs.import_failed", error=type(task.exception()).__name__)
