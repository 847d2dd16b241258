"""arq worker: `stockline worker` (needs STOCKLINE_REDIS_URL)."""

from __future__ import annotations

from arq import cron
from arq.connections import RedisSettings

from backend import db
from backend.settings import Settings
from jobs import tasks

JOB_TIMEOUT_S = 300


async def on_startup(ctx: dict) -> None:
    await db.connect(ctx.get("settings") or Settings.from_env())


async def on_shutdown(ctx: dict) -> None:
    await db.disconnect()


def worker_settings(settings: Settings, *, burst: bool = False) -> dict:
    if not settings.redis_url:
        raise SystemExit("stockline worker needs STOCKLINE_REDIS_URL (e.g. redis://127.0.0.1:6379/0)")

    async def startup(ctx: dict) -> None:
        ctx["settings"] = settings
        await on_startup(ctx)

    return {
        "functions": [tasks.expire_reservations, tasks.ledger_check],
        "cron_jobs": [
            cron(tasks.expire_reservations, minute=None, second=0, unique=True, timeout=JOB_TIMEOUT_S),
            cron(tasks.ledger_check, hour=3, minute=15, unique=True, timeout=JOB_TIMEOUT_S),
        ],
        "on_startup": startup,
        "on_shutdown": on_shutdown,
        "redis_settings": RedisSettings.from_dsn(settings.redis_url),
        "queue_name": settings.job_queue,
        "burst": burst,
        "job_timeout": JOB_TIMEOUT_S,
        "max_tries": 5,
    }
