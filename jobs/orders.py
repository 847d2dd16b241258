"""Order jobs: channel deliveries → orders, the unmapped-SKU queue, backorders when stock arrives.

Thin adapters onto backend.domain.orders; each may run more than once or on two workers at the same
time (every delivery and order is its own keyed, guarded transaction). Bounded per run in both
count and time; what is left waits for the next run.
"""

from __future__ import annotations

import time
from typing import Any

import structlog

from backend import db
from backend.domain import orders

log = structlog.get_logger("stockline.jobs")
IMPORT_BATCH_MAX = 200
IMPORT_CONCURRENCY_PG = 6  # orders imported at once on PostgreSQL (SQLite has one writer at a time anyway)
IMPORT_RUN_S_MAX = 50  # below the worker's JOB_TIMEOUT_S
MAPPED_ORDERS_MAX = 200
BACKORDER_ORDERS_MAX = 200


async def import_channel_orders(ctx: dict[str, Any] | None = None) -> dict[str, int]:
    """Apply pending webhook deliveries until none are left (or the time bound), then continue the
    orders whose unmapped lines a mapping now names."""
    totals = {"applied": 0, "stale": 0, "waiting": 0, "failed": 0, "mapped_orders": 0}
    deadline = time.monotonic() + IMPORT_RUN_S_MAX
    while time.monotonic() < deadline:
        run = await orders.import_deliveries(limit=IMPORT_BATCH_MAX,
                                             concurrency=IMPORT_CONCURRENCY_PG if db.is_postgres() else 1)
        for name in ("applied", "stale", "waiting", "failed"):
            totals[name] += getattr(run, name)
        if run.handled == 0:
            break
    totals["mapped_orders"] = await orders.continue_mapped_orders(limit=MAPPED_ORDERS_MAX, actor=orders.IMPORT_ACTOR)
    if any(totals.values()):
        log.info("jobs.channel_orders_imported", **totals)
    return totals


async def allocate_backorders(ctx: dict[str, Any] | None = None) -> dict[str, int]:
    """Reserve stock that arrived for backordered units: higher channel priority, then oldest promise first."""
    units = await orders.allocate_backorders(limit=BACKORDER_ORDERS_MAX, actor=orders.IMPORT_ACTOR)
    if units:
        log.info("jobs.backorders_allocated", units=units)
    return {"units": units}
