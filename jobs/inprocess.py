"""Without Redis (the demo, a single store) the same job functions run on a timer in the web process."""

from __future__ import annotations

import asyncio
import contextlib

import structlog

from backend.settings import Settings
from jobs import tasks
from jobs.observe import observed

log = structlog.get_logger("stockline.jobs")
TICK_S = 60


class InProcessJobs:
    def __init__(self, settings: Settings, tick_s: float = TICK_S) -> None:
        self.settings = settings
        self.tick_s = tick_s
        self._task: asyncio.Task | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._loop(), name="stockline-inprocess-jobs")

    async def _loop(self) -> None:
        while True:
            await asyncio.sleep(self.tick_s)
            try:
                await observed(tasks.expire_reservations)()
            except Exception:  # noqa: BLE001 - a failing job must not take the web process down
                log.exception("jobs.inprocess_failed", job="expire_reservations")

    async def stop(self) -> None:
        if self._task:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
