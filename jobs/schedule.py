"""When Stockline's jobs run: arq cron entries for `stockline worker`, the same jobs on a timer in the
web process when there is no Redis, and the jobs a manager may start from the tablet's Jobs screen."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from arq import cron

from jobs import tasks
from jobs.channels import (
    check_channel_stock,
    confirm_channel_shipments,
    push_channel_stock,
)
from jobs.orders import allocate_backorders, import_channel_orders
from jobs.replenishment import replenish
from jobs.runs import JOB_TIMEOUT_S, JOB_TRIES_MAX, Job, Startable, watch_job_runs

WATCH_EVERY_S = 60
PUSH_EVERY_S = 30
CONFIRM_EVERY_S = 30
CHECK_EVERY_S = 3600
REPLENISH_EVERY_S = 24 * 3600
__all__ = ["FUNCTIONS", "IN_PROCESS", "JOB_TRIES_MAX", "STARTABLE", "Every", "cron_jobs"]


@dataclass(frozen=True, slots=True)
class Every:
    """A job the web process runs every `seconds` (first run one period after start)."""

    job: Job
    seconds: float


# Registered on the worker besides the ones jobs/worker.py lists itself.
FUNCTIONS: list[Job] = [watch_job_runs, push_channel_stock, check_channel_stock, confirm_channel_shipments, replenish]


def cron_jobs() -> list[Any]:
    return [
        cron(watch_job_runs, second=30, unique=True, timeout=JOB_TIMEOUT_S),
        cron(push_channel_stock, second={15, 45}, unique=True, timeout=JOB_TIMEOUT_S),
        cron(confirm_channel_shipments, second={0, 30}, unique=True, timeout=JOB_TIMEOUT_S),
        cron(check_channel_stock, minute=7, second=0, unique=True, timeout=JOB_TIMEOUT_S),
        cron(replenish, hour=2, minute=30, second=0, unique=True, timeout=JOB_TIMEOUT_S),  # nightly suggestions
    ]


# Without Redis (one store, the demo): jobs/inprocess.py runs these besides reservation expiry.
IN_PROCESS: list[Every] = [
    Every(watch_job_runs, WATCH_EVERY_S),
    Every(push_channel_stock, PUSH_EVERY_S),
    Every(confirm_channel_shipments, CONFIRM_EVERY_S),
    Every(check_channel_stock, CHECK_EVERY_S),
    Every(replenish, REPLENISH_EVERY_S),
]

STARTABLE: list[Startable] = [
    Startable(push_channel_stock, "Push stock to channels", "Send channels the available-to-sell that changed."),
    Startable(check_channel_stock, "Check channel stock (drift)",
              "Read every level the channels hold, correct and report the differences."),
    Startable(confirm_channel_shipments, "Confirm shipments to channels",
              "Send new shipments (carrier, tracking) to the channel the order came from; retry refused ones."),
    Startable(import_channel_orders, "Import channel orders", "Turn stored webhook deliveries into orders."),
    Startable(allocate_backorders, "Allocate backorders", "Reserve stock that arrived for backordered units."),
    Startable(replenish, "Replenishment suggestions",
              "Forecast demand, compute reorder points and suggest purchases and transfers (runs nightly)."),
    Startable(tasks.expire_reservations, "Release expired reservations", "Reservations past their expiry."),
    Startable(tasks.ledger_check, "Check the ledger", "Balances against movements (runs nightly)."),
    Startable(watch_job_runs, "Look for stuck jobs", "Runs without a heartbeat; prunes old runs."),
]
