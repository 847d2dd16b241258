"""What a manager sees of offline sync: devices and their outboxes, seq gaps, exceptions to resolve."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime

from backend import db
from backend.domain.auth import audit, permissions
from backend.domain.auth.audit import Actor
from backend.domain.errors import Conflict, InvalidInput, NotPermitted, SegregationOfDuties, UnknownReference
from backend.domain.ledger.posting import CommandResult, check_key, claim_key, payload_hash

ROWS_MAX = 500
NOTE_LENGTH_MAX = 500
_RESOLVE_KIND = "SyncExceptionResolve"


@dataclass(frozen=True, slots=True)
class DeviceOverview:
    device_id: str
    last_seen_at: datetime | str
    last_user: str  # code of the person last signed in on it ('' if never known)
    pending_reported: int
    failed_reported: int
    highest_seq: int
    open_gaps: int
    open_exceptions: int


@dataclass(frozen=True, slots=True)
class GapView:
    id: int
    device_id: str
    missing_from: int
    missing_to: int
    detected_at: datetime | str


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


async def devices_overview(limit: int = 100) -> list[DeviceOverview]:
    rows = await db.fetch(
        "SELECT d.device_id, d.last_seen_at, COALESCE(u.code, '') AS last_user, d.pending_reported,"
        " d.failed_reported, d.highest_seq,"
        " (SELECT COUNT(*) FROM sync_gaps g WHERE g.device_id = d.device_id AND g.resolved = FALSE) AS open_gaps,"
        " (SELECT COUNT(*) FROM sync_exceptions e WHERE e.device_id = d.device_id AND e.status = 'open')"
        " AS open_exceptions"
        " FROM sync_devices d LEFT JOIN users u ON u.id = d.last_user_id"
        " ORDER BY d.last_seen_at DESC, d.device_id LIMIT {}",
        _limit(limit),
    )
    return [DeviceOverview(**{**r, "open_gaps": int(r["open_gaps"]), "open_exceptions": int(r["open_exceptions"])})
            for r in rows]


async def open_gaps(limit: int = 100) -> list[GapView]:
    rows = await db.fetch(
        "SELECT id, device_id, missing_from, missing_to, detected_at FROM sync_gaps WHERE resolved = FALSE"
        " ORDER BY id LIMIT {}",
        _limit(limit),
    )
    return [GapView(**r) for r in rows]


_EXCEPTION_SELECT = (
    "SELECT e.id, e.txn_id, e.device_id, COALESCE(u.code, '') AS user, e.kind, e.location, e.sku, e.shortfall,"
    " e.adjustment_movement_ids, e.count_task_id, e.reason, e.status, e.created_at, e.resolved_by, e.resolved_at"
    " FROM sync_exceptions e LEFT JOIN users u ON u.id = e.user_id"
)


def _exception(row: dict) -> SyncExceptionView:
    return SyncExceptionView(**{**row, "adjustment_movement_ids": json.loads(row["adjustment_movement_ids"])})


async def open_exceptions(limit: int = 100) -> list[SyncExceptionView]:
    rows = await db.fetch(f"{_EXCEPTION_SELECT} WHERE e.status = 'open' ORDER BY e.id LIMIT {{}}", _limit(limit))
    return [_exception(r) for r in rows]


async def get_exception(exception_id: int) -> SyncExceptionView:
    row = await db.fetch_one(f"{_EXCEPTION_SELECT} WHERE e.id = {{}}", exception_id)
    if row is None:
        raise UnknownReference(f"No sync exception #{exception_id}.")
    return _exception(row)


async def resolve_exception(exception_id: int, key: str, actor: Actor, note: str = "") -> SyncExceptionView:
    """A manager closes an exception (after approving the found stock, or reversing it after the count).

    Once per key: a retried form post returns the resolved exception again.
    """
    if not permissions.allows(actor.role, "approve") or actor.user_id is None:
        raise NotPermitted("Only a manager, signed in with their own badge, can resolve sync exceptions.")
    check_key(key)
    note = note.strip()
    if len(note) > NOTE_LENGTH_MAX:
        raise InvalidInput(f"Keep the note under {NOTE_LENGTH_MAX} characters.")
    digest = payload_hash(_RESOLVE_KIND, {"exception_id": exception_id, "note": note})

    async def work() -> SyncExceptionView:
        if await claim_key(key, _RESOLVE_KIND, digest, actor.label) is not None:
            return await get_exception(exception_id)
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
        # claim_key() reads a stored result back as a ledger result; this command posts nothing.
        await db.fetch("UPDATE command_log SET result = {} WHERE key = {}",
                       CommandResult(key, _RESOLVE_KIND, [], []).to_json(), key)
        await audit.record(actor, "sync.exception_resolved", "sync_exception", exception_id, {"status": "open"},
                           {"status": "resolved", "note": note, "txn_id": current.txn_id})
        return await get_exception(exception_id)

    return await db.run_in_transaction(work)


def _limit(limit: int) -> int:
    return max(1, min(limit, ROWS_MAX))
