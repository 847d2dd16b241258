"""arq worker: `stockline worker` (needs STOCKLINE_REDIS_URL)."""

from __future__ import annotations

import os
from typing import Any

import structlog
from arq import cron
from arq.connections import RedisSettings

from backend import db
from backend.settings import Settings
from jobs import imports, schedule, tasks
from jobs.observe import observe_all
from jobs.orders import allocate_backorders, import_channel_orders

JOB_TIMEOUT_S = 300
HEALTH_CHECK_INTERVAL_S = 30  # `stockline worker --check` fails once the key is this old (+1 s)
log = structlog.get_logger("stockline.jobs")


async def on_startup(ctx: dict[str, Any]) -> None:
    settings = ctx.get("settings") or Settings.from_env()
    await db.connect(settings)
    if settings.metrics_enabled:
        from prometheus_client import start_http_server

        start_http_server(settings.worker_metrics_port)
    log.info("worker.start", pid=os.getpid(), queue=settings.job_queue, jobs=sorted(ctx.get("job_names", [])),
             cron=ctx.get("cron_names", []),
             metrics_port=settings.worker_metrics_port if settings.metrics_enabled else None)


async def on_shutdown(ctx: dict[str, Any]) -> None:
    await db.disconnect()
    log.info("worker.stop", pid=os.getpid())


def worker_settings(settings: Settings, *, burst: bool = False) -> dict[str, Any]:
    if not settings.redis_url:
        raise SystemExit("stockline worker needs STOCKLINE_REDIS_URL (e.g. redis://127.0.0.1:6379/0)")

    async def startup(ctx: dict[str, Any]) -> None:
        ctx["settings"] = settings
        ctx["job_names"] = [getattr(f, "name", None) or getattr(f, "__name__", "?") for f in options["functions"]]
        ctx["cron_names"] = [getattr(c, "name", "?") for c in options["cron_jobs"]]
        await on_startup(ctx)

    options: dict[str, Any] = {
        "functions": [import_channel_orders, allocate_backorders, tasks.expire_reservations, tasks.ledger_check,
                      tasks.ledger_check_full,
                      tasks.compact_command_log,
                      imports.import_catalogue, *schedule.FUNCTIONS],
        "cron_jobs": [
            # Channel orders: woken by each webhook; these runs catch a lost wake and arriving stock.
            cron(import_channel_orders, second=set(range(0, 60, 10)), unique=True, timeout=JOB_TIMEOUT_S),
            cron(allocate_backorders, second=set(range(5, 60, 10)), unique=True, timeout=JOB_TIMEOUT_S),
            cron(tasks.expire_reservations, minute=None, second=0, unique=True, timeout=JOB_TIMEOUT_S),
            cron(tasks.ledger_check, hour=3, minute=15, unique=True, timeout=JOB_TIMEOUT_S),
            cron(tasks.compact_command_log, hour=3, minute=45, unique=True, timeout=JOB_TIMEOUT_S),
            cron(tasks.ledger_check_full, weekday="sun", hour=4, minute=15, unique=True, timeout=JOB_TIMEOUT_S),
            *schedule.cron_jobs(),  # channel sync, the job-run watch
        ],
        "on_startup": startup,
        "on_shutdown": on_shutdown,
        "redis_settings": RedisSettings.from_dsn(settings.redis_url),
        "queue_name": settings.job_queue,
        "burst": burst,
        "job_timeout": JOB_TIMEOUT_S,
        "max_tries": schedule.JOB_TRIES_MAX,
        "health_check_interval": HEALTH_CHECK_INTERVAL_S,
    }
    return observe_all(options)
