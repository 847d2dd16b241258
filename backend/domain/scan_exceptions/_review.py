"""The managers' to-do for scans the books could not take as they were: one exception per scan (found
stock, or a state conflict such as a line already picked), and its resolution by another manager."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from backend import db
from backend.domain.auth import audit, permissions
from backend.domain.auth.audit import Actor
from backend.domain.errors import Conflict, InvalidInput, NotPermitted, SegregationOfDuties, UnknownReference
from backend.domain.idempotency import read_again, run_once
from backend.domain.scan_exceptions._found_stock import Compensation, ScanContext

ROWS_MAX = 500
NOTE_LENGTH_MAX = 500


@dataclass(frozen=True, slots=True)
class SyncExceptionView:
    id: int
    txn_id: str
    device_id: str
    user: str
    kind: str
    location: str
    sku: str
    shortfall: int
    adjustment_movement_ids: list[int]
    count_task_id: int | None
    reason: str
    status: str
    created_at: datetime | str
    resolved_by: str
    resolved_at: datetime | str | None


async def open_exception(ctx: ScanContext, *, reason: str, location: str = "", sku: str = "",
                         compensation: Compensation | None = None) -> int:
    """The manager's to-do for this scan; joins the scan's transaction (after the scan's inbox row, which
    it names by txn_id)."""
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
    return int(row["id"])


_EXCEPTION_SELECT = (
    "SELECT e.id, e.txn_id, e.device_id, COALESCE(u.code, '') AS user, e.kind, e.location, e.sku, e.shortfall,"
    " e.adjustment_movement_ids, e.count_task_id, e.reason, e.status, e.created_at, e.resolved_by, e.resolved_at"
    " FROM sync_exceptions e LEFT JOIN users u ON u.id = e.user_id"
)


def _exception(row: dict[str, Any]) -> SyncExceptionView:
    return SyncExceptionView(**{**row, "adjustment_movement_ids": json.loads(row["adjustment_movement_ids"])})


async def open_exceptions(limit: int = 100) -> list[SyncExceptionView]:
    rows = await db.fetch(f"{_EXCEPTION_SELECT} WHERE e.status = 'open' ORDER BY e.id LIMIT {{}}",
                          max(1, min(limit, ROWS_MAX)))
    return [_exception(r) for r in rows]


async def get_exception(exception_id: int) -> SyncExceptionView:
    row = await db.fetch_one(f"{_EXCEPTION_SELECT} WHERE e.id = {{}}", exception_id)
    if row is None:
        raise UnknownReference(f"No sync exception #{exception_id}.")
    return _exception(row)


async def resolve_exception(exception_id: int, key: str, actor: Actor, note: str = "") -> SyncExceptionView:
    """A manager closes an exception (after approving the found stock, or reversing it after the count).

    Once per key: a retried form post answers with the exception as it is now.
    """
    if not permissions.allows(actor.role, "approve") or actor.user_id is None:
        raise NotPermitted("Only a manager, signed in with their own badge, can resolve sync exceptions.")
    note = note.strip()
    if len(note) > NOTE_LENGTH_MAX:
        raise InvalidInput(f"Keep the note under {NOTE_LENGTH_MAX} characters.")

    async def work() -> SyncExceptionView:
        current = await get_exception(exception_id)
        if current.status != "open":
            raise Conflict(f"Sync exception #{exception_id} is already resolved.")
        scanner = await db.fetch_one("SELECT user_id FROM sync_exceptions WHERE id = {}", exception_id)
        if scanner is not None and scanner["user_id"] == actor.user_id:
            raise SegregationOfDuties("This exception comes from your own scan; another manager must resolve it.")
        updated = await db.fetch(
            "UPDATE sync_exceptions SET status = 'resolved', resolved_by = {}, resolved_by_user_id = {},"
            " resolved_at = {}, resolution_note = {} WHERE id = {} AND status = 'open' RETURNING id",
            actor.label, actor.user_id, datetime.now(UTC), note, exception_id,
        )
        if not updated:  # another manager resolved it between our read and this guarded update
            raise Conflict(f"Sync exception #{exception_id} is already resolved.")
        await audit.record(actor, "sync.exception_resolved", "sync_exception", exception_id, {"status": "open"},
                           {"status": "resolved", "note": note, "txn_id": current.txn_id})
        return await get_exception(exception_id)

    return await run_once("SyncExceptionResolve", {"exception_id": exception_id, "note": note}, key=key,
                          actor=actor.label, work=work, replay=read_again(lambda: get_exception(exception_id)))
