"""The sync inbox: one row per txn_id with its hash and final result, per-device seq tracking and gaps.

Every function here but `record_moves` (and the managers' reads at the end) joins the caller's
transaction: an envelope's inbox row, its seq bookkeeping and its stock changes commit together
(sync/replay.py). `record_moves` is that transaction by itself: one statement holding the ledger
postings, inbox rows and seqs of one or more move scans.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import asyncpg

from backend import db
from backend.domain.ledger.commands import Prepared, legs_json
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
    """What the envelope's row is written with, beside its final status and result (`record`)."""

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


async def stored(txn_ids: list[str]) -> dict[str, StoredTxn]:
    """The inbox rows of those txn_ids already there (one query for a whole batch)."""
    if not txn_ids:
        return {}
    marks = ", ".join("{}" for _ in txn_ids)
    rows = await db.fetch(
        f"SELECT id, txn_id, payload_hash, status, reason, result FROM sync_inbox WHERE txn_id IN ({marks})", *txn_ids
    )
    return {r["txn_id"]: StoredTxn(r["id"], r["txn_id"], r["payload_hash"], r["status"], r["reason"],
                                   json.loads(r["result"] or "{}")) for r in rows}


_INSERT = (
    "INSERT INTO sync_inbox (txn_id, device_id, seq, user_id, session_user_id, kind, payload_hash, status, reason,"
    " result, scanned_at, received_at) VALUES ({}, {}, {}, {}, {}, {}, {}, {}, {}, {}, {}, {})"
    " ON CONFLICT DO NOTHING RETURNING id"
)
# PostgreSQL: the row and, when it is the device's next number, the seq in the same statement.
_INSERT_AND_NEXT_SEQ = (
    f"WITH ins AS ({_INSERT}), next AS (UPDATE sync_devices SET highest_seq = {{}} WHERE device_id = {{}}"
    " AND highest_seq = {} AND EXISTS (SELECT 1 FROM ins) RETURNING 1)"
    " SELECT (SELECT id FROM ins) AS id, EXISTS (SELECT 1 FROM next) AS in_order"
)


ABORTED_SQLSTATE = "SL409"  # stockline_replay_legs (m0019): the whole statement was undone
# Replayed moves applied by one statement. bench/replay.py (8 s × 2 rounds, set-based replay): 10 a statement
# gave replay ÷ direct 0.91–0.96, 25 gave 1.12–1.37 and 50 1.20–1.35. A statement holds all its moves' balance
# rows until it commits, so bigger ones make an online posting on the same rows wait longer: 25, not 50.
MOVES_TOGETHER_MAX = 25
_REPLAY_LEGS = ("SELECT json_agg(r ORDER BY r.place) AS done"
                " FROM stockline_replay_legs(CAST($1 AS jsonb), CAST($2 AS jsonb)) AS r")


async def record_moves(moves: Sequence[tuple[Claim, Prepared]]) -> list[tuple[dict[str, Any], int]] | int:
    """PostgreSQL, outside any transaction: consecutive move scans of one batch, in seq order, in one
    statement (`stockline_replay_legs`, m0019): their ledger postings (each Move as `Prepared`, posted
    set-based after their balance rows are locked in the ledger's lock order), their inbox rows `applied`
    and their devices' seqs, all committing together. Returns each scan's (posting row, server_seq); or,
    when one of them was not applied cleanly (the ledger refused it at its place or leaves it to the
    in-process path, it is not its device's next number, its txn_id is taken), its place in `moves`, and
    nothing was kept."""
    assert not db.engine().transaction_exists(), "one statement, its own transaction"
    assert 0 < len(moves) <= MOVES_TOGETHER_MAX, len(moves)
    now = _now().isoformat()
    scans = [[c.identity.txn_id, c.identity.device_id, c.identity.seq, c.user_id, c.session_user_id, c.kind[:40],
              c.digest, c.scanned_at[:64], now] for c, _ in moves]
    try:
        row = await db.pg_fetchrow(_REPLAY_LEGS, json.dumps(scans), legs_json([posting for _, posting in moves]))
    except asyncpg.PostgresError as exc:
        detail = str(getattr(exc, "detail", ""))
        if getattr(exc, "sqlstate", None) == ABORTED_SQLSTATE and detail.isdigit():
            return int(detail)  # the place of the scan that was not applied
        raise
    assert row is not None
    done = json.loads(row["done"])
    assert [d["place"] for d in done] == list(range(len(moves))), "a row for each scan"
    return [(d, int(d["inbox_id"])) for d in done]


async def record(c: Claim, status: str, reason: str, result: dict[str, Any]) -> int | None:
    """The envelope's one inbox row, written with its final result at the end of its transaction, and
    the device's seq bookkeeping; returns the row id (server_seq), or None when its txn_id or its
    (device_id, seq) is taken (the caller rolls its transaction back and answers from the stored row).

    On PostgreSQL a concurrent envelope with the same txn_id waits on the unique index until the first
    transaction ends. The ledger keys of the scan's commands derive from the txn_id, so the second one
    posted nothing meanwhile (it got the first one's stored result).
    """
    assert status in ("applied", "needs_review", "rejected"), status
    args = (c.identity.txn_id, c.identity.device_id, c.identity.seq, c.user_id, c.session_user_id, c.kind[:40],
            c.digest, status, reason, json.dumps(result, sort_keys=True), c.scanned_at[:64], _now())
    if db.is_postgres():
        row = await db.fetch_one(_INSERT_AND_NEXT_SEQ, *args, c.identity.seq, c.identity.device_id, c.identity.seq - 1)
        assert row is not None
        server_seq: int | None = row["id"]
        in_order = bool(row["in_order"])
    else:
        inserted = await db.fetch_one(_INSERT, *args)
        server_seq, in_order = (int(inserted["id"]) if inserted else None), False
    if server_seq is None:
        return None
    if not in_order:
        await record_seq(c.identity)
    return server_seq


async def touch_device(device_id: str, user_id: int | None, pending: int | None, failed: int | None) -> None:
    """The device checked in: last seen, who is signed in on it, and what its outbox reports. One
    statement: it runs in the caller's transaction, or as its own."""
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


# --- what managers see of the inbox (the tablet's devices page) ------------------------------------------------

ROWS_MAX = 500


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


def _limit(limit: int) -> int:
    return max(1, min(limit, ROWS_MAX))


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
