"""Waking the order import when a webhook delivery was stored: an arq job on Redis, or the
in-process loop without Redis (one store, the demo). The webhook answers either way; a wake that
gets lost is caught by the next scheduled run."""

from __future__ import annotations

import asyncio
import contextlib
import time
from typing import Any, Protocol

import structlog
from arq import create_pool
from arq.connections import ArqRedis, RedisSettings

from backend.settings import Settings
from jobs.orders import allocate_backorders, import_channel_orders

log = structlog.get_logger("stockline.jobs")
ORDER_TICK_S = 5.0
_WAKE_BUCKET_S = 0.5  # one queued import per half second, however many deliveries arrive
STATE_KEY = "order_import"


class OrderImport(Protocol):
    async def wake(self) -> None: ...
    async def stop(self) -> None: ...


class InProcessOrderImport:
    """Imports deliveries when woken (and every ORDER_TICK_S), then allocates backorders."""

    def __init__(self, tick_s: float = ORDER_TICK_S) -> None:
        self.tick_s = tick_s
        self._woken = asyncio.Event()
        self._task = asyncio.create_task(self._loop(), name="stockline-inprocess-orders")

    async def _loop(self) -> None:
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._woken.wait(), timeout=self.tick_s)
            self._woken.clear()
            try:
                await import_channel_orders()
                await allocate_backorders()
            except Exception:  # a failing run must not take the web process down
                log.exception("jobs.inprocess_failed", job="import_channel_orders")

    async def wake(self) -> None:
        self._woken.set()

    async def stop(self) -> None:
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task


class ArqOrderImport:
    def __init__(self, redis: ArqRedis, queue: str) -> None:
        self.redis, self.queue = redis, queue

    async def wake(self) -> None:
        bucket = int(time.time() / _WAKE_BUCKET_S)
        try:
            await self.redis.enqueue_job("import_channel_orders", _job_id=f"import-channel-orders:{bucket}",
                                         _queue_name=self.queue)
        except Exception:  # the delivery is stored; the scheduled run will import it
            log.exception("jobs.wake_failed", job="import_channel_orders")

    async def stop(self) -> None:
        await self.redis.aclose()


async def start_order_import(settings: Settings, *, in_process: bool) -> OrderImport | None:
    if settings.redis_url:
        redis = await create_pool(RedisSettings.from_dsn(settings.redis_url), default_queue_name=settings.job_queue)
        return ArqOrderImport(redis, settings.job_queue)
    return InProcessOrderImport() if in_process else None


async def wake_order_import(state: Any) -> None:
    runner: OrderImport | None = state.get(STATE_KEY)
    if runner is not None:
        await runner.wake()
