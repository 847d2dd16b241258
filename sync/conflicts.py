"""Physical scans are facts: when an offline scan took stock the ledger no longer has where it was
taken (two pickers took "the last unit"), the scan is kept and the books are made to fit.

In the scan's own transaction: a found-stock adjustment (ADJUSTMENT → bin, reason
`offline_conflict`) for exactly the shortfall the ledger reported, then the scan's movement, so no
balance ever goes negative. A manager exception and a cycle count of the bin open; the manager
approves the adjustment, or reverses it once the count shows which scan was wrong.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TypeVar

from backend import db
from backend.domain import counts
from backend.domain.auth.audit import Actor
from backend.domain.errors import AlreadyExists, InsufficientStock, InvalidInput
from backend.domain.ledger import commands as ledger
from backend.domain.ledger.audited import execute_as
from backend.domain.locations.service import get_location

T = TypeVar("T")

OFFLINE_CONFLICT = "offline_conflict"
assert OFFLINE_CONFLICT in ledger.ADJUST_REASONS
_ACTIVE_COUNT_SQL = "('open','counting','pending_approval')"  # counts' one-live-task-per-bin states


@dataclass(frozen=True, slots=True)
class ScanContext:
    """The envelope being applied: its ledger key root (`sync:{txn_id}`) and who scanned it where."""

    txn_id: str
    device_id: str
    kind: str
    key: str
    actor: Actor

    @property
    def system_actor(self) -> Actor:
        # The compensation is Stockline's doing, not the picker's: it must not read as their adjustment.
        return Actor("system:offline_sync", self.device_id)


@dataclass(frozen=True, slots=True)
class Spot:
    """Where stock was taken from: the bin (and lot) a found-stock adjustment goes to."""

    sku: str
    location: str
    lot: str = ""


@dataclass(frozen=True, slots=True)
class Compensation:
    spot: Spot
    shortfall: int
    available: int
    movement_ids: list[int] = field(default_factory=list)
    count_task_id: int | None = None

    def reason(self) -> str:
        count = f" A count of {self.spot.location} was opened." if self.count_task_id else ""
        return (f"Stockline had only {self.available} {self.spot.sku} in {self.spot.location}. Your scan was kept "
                f"and {self.shortfall} recorded as found stock.{count} A manager will check it.")


async def with_found_stock(attempt: Callable[[], Awaitable[T]], where: Callable[[], Awaitable[Spot]],
                           ctx: ScanContext) -> tuple[T, Compensation | None]:
    """Run the scan's command; if the ledger lacks the stock, post the shortfall as found and run it again.

    The failed attempt rolled back to its savepoint (db.run_in_transaction nests), so its ledger key
    is free for the second attempt. A second InsufficientStock propagates: the caller turns it into
    a plain exception for a manager, and this adjustment rolls back with it.
    """
    try:
        return await attempt(), None
    except InsufficientStock as exc:
        shortfall, available = exc.requested - exc.available, exc.available
    assert shortfall > 0, "the ledger refused a change it had the stock for"
    spot = await where()
    adjust = ledger.Adjust(sku=spot.sku, delta=shortfall, location=spot.location, lot=spot.lot,
                           reason=OFFLINE_CONFLICT, doc_ref=f"sync:{ctx.txn_id}")
    # After this upsert the bin's balance row is ours until commit: the retry cannot be undercut.
    found = await execute_as(adjust, key=f"{ctx.key}:found", actor=ctx.system_actor,
                             note={"txn_id": ctx.txn_id, "scanned_by": ctx.actor.label})
    result = await attempt()
    task_id = await _count_task_for(spot.location, ctx)
    return result, Compensation(spot, shortfall, available, list(found.movement_ids), task_id)


async def _count_task_for(bin_code: str, ctx: ScanContext) -> int | None:
    """A cycle count of the bin; a bin already being counted keeps its count (one live task per bin)."""
    try:
        outcome = await counts.create_count_task(bin_code, f"{ctx.key}:count", ctx.system_actor, reason="exception")
        return outcome.task_id
    except AlreadyExists:
        loc = await get_location(bin_code)
        row = await db.fetch_one(
            f"SELECT id FROM count_tasks WHERE bin_id = {{}} AND status IN {_ACTIVE_COUNT_SQL}", loc.id
        )
        return row["id"] if row else None
    except InvalidInput:
        return None  # not a countable location (e.g. in transit); the exception still shows it


async def open_exception(ctx: ScanContext, *, reason: str, location: str = "", sku: str = "",
                         compensation: Compensation | None = None) -> int:
    """The manager's to-do for this scan; joins the scan's transaction."""
    c = compensation
    row = await db.fetch_one(
        "INSERT INTO sync_exceptions (txn_id, device_id, user_id, kind, location, sku, shortfall,"
        " adjustment_movement_ids, count_task_id, reason, status, created_at)"
        " VALUES ({}, {}, {}, {}, {}, {}, {}, {}, {}, {}, 'open', {}) RETURNING id",
        ctx.txn_id, ctx.device_id, ctx.actor.user_id, ctx.kind, c.spot.location if c else location,
        c.spot.sku if c else sku, c.shortfall if c else 0, json.dumps(c.movement_ids if c else []),
        c.count_task_id if c else None, reason, datetime.now(UTC),
    )
    assert row is not None
    return row["id"]
