"""The sync inbox: one row per txn_id with its hash and final result, per-device seq tracking and gaps.

Every function here joins the caller's transaction: an envelope's inbox row, its seq bookkeeping and
its stock changes commit together (sync/replay.py).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from backend import db
from sync.envelopes import Identity


def _now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True, slots=True)
class StoredTxn:
    server_seq: int
    txn_id: str
    payload_hash: str
    status: str
    reason: str
    result: dict[str, Any]


@dataclass(frozen=True, slots=True)
class Claim:
    """What the envelope's row is created with (status 'pending' until `finish` in the same transaction)."""

    identity: Identity
    digest: str
    user_id: int | None
    kind: str
    scanned_at: str
    session_user_id: int | None


async def find(txn_id: str) -> StoredTxn | None:
    row = await db.fetch_one(
        "SELECT id, txn_id, payload_hash, status, reason, result FROM sync_inbox WHERE txn_id = {}", txn_id
    )
    if row is None:
        return None
    return StoredTxn(row["id"], row["txn_id"], row["payload_hash"], row["status"], row["reason"],
                     json.loads(row["result"] or "{}"))


async def stored_hashes(txn_ids: list[str]) -> dict[str, str]:
    """txn_id → payload hash of those already in the inbox (one query for a whole batch)."""
    if not txn_ids:
        return {}
    marks = ", ".join("{}" for _ in txn_ids)
    rows = await db.fetch(f"SELECT txn_id, payload_hash FROM sync_inbox WHERE txn_id IN ({marks})", *txn_ids)
    return {r["txn_id"]: r["payload_hash"] for r in rows}


async def claim(c: Claim) -> int | None:
    """Insert the envelope's row; None when its txn_id or its (device_id, seq) is already taken.

    On Postgres a concurrent claim of the same txn_id waits on the unique index until the first
    transaction ends, so two tabs sending the same scan apply it once.
    """
    row = await db.fetch_one(
        "INSERT INTO sync_inbox (txn_id, device_id, seq, user_id, session_user_id, kind, payload_hash, status,"
        " scanned_at, received_at) VALUES ({}, {}, {}, {}, {}, {}, {}, 'pending', {}, {})"
        " ON CONFLICT DO NOTHING RETURNING id",
        c.identity.txn_id, c.identity.device_id, c.identity.seq, c.user_id, c.session_user_id, c.kind[:40],
        c.digest, c.scanned_at[:64], _now(),
    )
    return row["id"] if row else None


async def finish(server_seq: int, status: str, reason: str, result: dict[str, Any]) -> None:
    assert status in ("applied", "needs_review", "rejected"), status
    await db.fetch(
        "UPDATE sync_inbox SET status = {}, reason = {}, result = {} WHERE id = {} AND status = 'pending'",
        status, reason, json.dumps(result, sort_keys=True), server_seq,
    )


async def touch_device(device_id: str, user_id: int | None, pending: int | None, failed: int | None) -> None:
    """The device checked in: last seen, who is signed in on it, and what its outbox reports."""
    now = _now()
    await db.fetch(
        "INSERT INTO sync_devices (device_id, last_seen_at, last_user_id, pending_reported, failed_reported)"
        " VALUES ({}, {}, {}, {}, {}) ON CONFLICT (device_id) DO UPDATE SET last_seen_at = excluded.last_seen_at,"
        " last_user_id = COALESCE(excluded.last_user_id, sync_devices.last_user_id),"
        " pending_reported = CASE WHEN {} THEN excluded.pending_reported ELSE sync_devices.pending_reported END,"
        " failed_reported = CASE WHEN {} THEN excluded.failed_reported ELSE sync_devices.failed_reported END",
        device_id, now, user_id, max(pending or 0, 0), max(failed or 0, 0), pending is not None, failed is not None,
    )


async def record_seq(identity: Identity) -> None:
    """Advance the device's highest seq; a jump records the missing range as a gap, a late arrival
    inside a gap resolves the gap once every seq of it has arrived.

    The device row is locked first (Postgres), so envelopes of one device are numbered one at a time.
    """
    device, seq = identity.device_id, identity.seq
    # The usual case, the next number of a known device, in one statement: the UPDATE locks the row
    # and re-checks its condition on the latest version, so a concurrent batch cannot slip between.
    if await db.fetch("UPDATE sync_devices SET highest_seq = {} WHERE device_id = {} AND highest_seq = {} RETURNING 1",
                      seq, device, seq - 1):
        return
    await db.fetch(
        "INSERT INTO sync_devices (device_id, last_seen_at) VALUES ({}, {}) ON CONFLICT (device_id) DO NOTHING",
        device, _now(),
    )
    lock = " FOR UPDATE" if db.is_postgres() else ""
    row = await db.fetch_one("SELECT highest_seq FROM sync_devices WHERE device_id = {}" + lock, device)
    assert row is not None
    highest = int(row["highest_seq"])
    if seq > highest + 1:
        await db.fetch(
            "INSERT INTO sync_gaps (device_id, missing_from, missing_to, detected_at) VALUES ({}, {}, {}, {})",
            device, highest + 1, seq - 1, _now(),
        )
    if seq > highest:
        await db.fetch("UPDATE sync_devices SET highest_seq = {} WHERE device_id = {}", seq, device)
    else:
        await _resolve_filled_gaps(device, seq)


async def _resolve_filled_gaps(device_id: str, seq: int) -> None:
    gaps = await db.fetch(
        "SELECT id, missing_from, missing_to FROM sync_gaps WHERE device_id = {} AND resolved = FALSE"
        " AND missing_from <= {} AND missing_to >= {}",
        device_id, seq, seq,
    )
    for gap in gaps:
        arrived = await db.fetch_one(
            "SELECT COUNT(*) AS n FROM sync_inbox WHERE device_id = {} AND seq >= {} AND seq <= {}",
            device_id, gap["missing_from"], gap["missing_to"],
        )
        assert arrived is not None
        if int(arrived["n"]) == gap["missing_to"] - gap["missing_from"] + 1:
            await db.fetch("UPDATE sync_gaps SET resolved = TRUE WHERE id = {}", gap["id"])
