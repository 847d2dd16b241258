"""Without Redis (the demo, a single store) the same job functions run on a timer in the web process,
each try recorded in job_runs, bounded in time and retried with backoff as arq would (jobs/runs.py)."""

from __future__ import annotations

import asyncio
import contextlib
import time

import structlog

from backend.settings import Settings
from jobs import tasks
from jobs.schedule import IN_PROCESS, Every

log = structlog.get_logger("stockline.jobs")
TICK_S = 60


class InProcessJobs:
    def __init__(self, settings: Settings, tick_s: float = TICK_S, schedule: list[Every] | None = None) -> None:
        self.settings = settings
        self.tick_s = tick_s
        self.schedule = [Every(tasks.expire_reservations, tick_s), *(IN_PROCESS if schedule is None else schedule)]
        self._tasks: list[asyncio.Task[None]] = []

    def start(self) -> None:
        self._tasks = [asyncio.create_task(self._loop(every), name=f"stockline-inprocess-{every.job.__name__}")
                       for every in self.schedule]

    async def _loop(self, every: Every) -> None:
        from jobs.runs import run_in_process

        name = every.job.__name__
        while True:
            await asyncio.sleep(every.seconds)
            try:
                await run_in_process(every.job, f"schedule:{name}:{time.time_ns()}")
            except Exception:
                log.exception("jobs.inprocess_failed", job=name)

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
