"""Physical scans are facts: when a scan took stock the ledger no longer has where it was taken (two
pickers offline took "the last unit"), the scan is kept and the books are made to fit.

In the scan's own transaction: a found-stock adjustment (ADJUSTMENT → bin, reason `offline_conflict`)
for exactly the shortfall the ledger reported, then the scan's movement, so no balance ever goes
negative. A manager exception (`open_exception`) and a cycle count of the bin open; the manager
approves the adjustment, or reverses it once the count shows which scan was wrong.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TypeVar

from backend.domain import counts
from backend.domain.auth.audit import Actor
from backend.domain.errors import InsufficientStock
from backend.domain.idempotency import derived_key
from backend.domain.ledger import commands as ledger
from backend.domain.ledger.audited import execute_as

T = TypeVar("T")

OFFLINE_CONFLICT = "offline_conflict"
assert OFFLINE_CONFLICT in ledger.ADJUST_REASONS


@dataclass(frozen=True, slots=True)
class ScanContext:
    """The scan being applied: its key (`sync:{txn_id}`, the root of its commands' keys) and who scanned
    it on which device."""

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
    """Run the scan's command; if the ledger lacks the stock, post the shortfall as found and run it again,
    then open a count of the bin.

    The refused attempt left nothing behind (PostgreSQL's one-statement posting writes nothing when it
    refuses; otherwise the command's savepoint rolled back), so its key is free for the second attempt.
    A second InsufficientStock propagates: the caller turns it into a plain exception for a manager, and
    this adjustment rolls back with it.
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
    found = await execute_as(adjust, key=derived_key(ctx.key, "found"), actor=ctx.system_actor,
                             note={"txn_id": ctx.txn_id, "scanned_by": ctx.actor.label})
    result = await attempt()
    task_id = await counts.count_for_review(spot.location, derived_key(ctx.key, "count"), ctx.system_actor)
    return result, Compensation(spot, shortfall, available, list(found.movement_ids), task_id)
