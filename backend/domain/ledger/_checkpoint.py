"""The check's checkpoint: stock per (item, location, lot) summed from every movement up to a
movement id, kept in `ledger_checkpoint_balances` with a digest in `ledger_checkpoint`.

It is derived from movements only (never copied from `balances`), so it holds the ledger's truth and
can be advanced whatever the balances say. Movements are append-only, so the sum of the movements
with id <= N is the same in every later transaction, once N is *settled*: no transaction that could
still commit a movement with an id <= N is in flight. Ids come from a sequence and can commit out of
order (id 100 may commit after id 101), so "the newest id I can see" is not settled by itself; see
`settled_horizon`.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from datetime import UTC, datetime

from backend import db
from backend.domain.locations.service import STOCK_KINDS

# One batch of movement ids summed into the checkpoint per write transaction: bounds the
# transaction (and on SQLite the time writers wait) when --full rebuilds a large ledger.
ADVANCE_BATCH_IDS_MAX = 500_000
SETTLE_WAIT_S = 5.0
_SETTLE_POLL_S = 0.02
_DIGEST_MODULUS = 2_147_483_629  # a prime below 2^31: every term and product fits in a BIGINT

_KINDS = ", ".join(f"'{k}'" for k in STOCK_KINDS)


def sides_sql(where: str) -> str:
    """One signed row per movement side at a stock-holding location, for the movements `m` matching
    `where` (written twice: pass its arguments twice)."""
    return f"""
  SELECT m.item_id, m.to_location_id AS location_id, m.lot, m.qty AS on_hand,
         CASE WHEN m.to_state = 'quarantined' THEN m.qty ELSE 0 END AS quarantined,
         CASE WHEN m.to_state = 'damaged' THEN m.qty ELSE 0 END AS damaged
  FROM movements m JOIN locations l ON l.id = m.to_location_id WHERE l.kind IN ({_KINDS}) AND {where}
  UNION ALL
  SELECT m.item_id, m.from_location_id, m.lot, -m.qty,
         CASE WHEN m.from_state = 'quarantined' THEN -m.qty ELSE 0 END,
         CASE WHEN m.from_state = 'damaged' THEN -m.qty ELSE 0 END
  FROM movements m JOIN locations l ON l.id = m.from_location_id WHERE l.kind IN ({_KINDS}) AND {where}"""


_ADD_RANGE = f"""
INSERT INTO ledger_checkpoint_balances (item_id, location_id, lot, on_hand, quarantined, damaged)
SELECT item_id, location_id, lot, SUM(on_hand), SUM(quarantined), SUM(damaged)
FROM ({sides_sql("m.id > {} AND m.id <= {}")}) sides
WHERE true GROUP BY item_id, location_id, lot
ON CONFLICT (item_id, location_id, lot) DO UPDATE SET
  on_hand = ledger_checkpoint_balances.on_hand + excluded.on_hand,
  quarantined = ledger_checkpoint_balances.quarantined + excluded.quarantined,
  damaged = ledger_checkpoint_balances.damaged + excluded.damaged
"""

# A checksum of the rows, not a defence against a forger: it tells a checkpoint the check wrote from
# one changed (or half-restored) behind its back. Sums, plus a weighted sum mod a prime.
_DIGEST = f"""
SELECT COUNT(*) AS n, COALESCE(SUM(on_hand), 0) AS on_hand, COALESCE(SUM(quarantined), 0) AS quarantined,
  COALESCE(SUM(damaged), 0) AS damaged,
  COALESCE(SUM(((item_id % 65521) * 65537 + (location_id % 65521) * 257 + LENGTH(lot)) % {_DIGEST_MODULUS}
               * ((on_hand + 7 * quarantined + 13 * damaged) % {_DIGEST_MODULUS}) % {_DIGEST_MODULUS}), 0) AS mix
FROM ledger_checkpoint_balances
"""


@dataclass(frozen=True, slots=True)
class Checkpoint:
    as_of_movement_id: int
    digest: str


@dataclass(frozen=True, slots=True)
class Horizon:
    """The newest movement id that is settled, or None when in-flight transactions did not finish."""

    movement_id: int | None
    waited_s: float


async def current_digest() -> str:
    row = await db.fetch_one(_DIGEST)
    assert row is not None
    return (f"rows={int(row['n'])} on_hand={int(row['on_hand'])} quarantined={int(row['quarantined'])}"
            f" damaged={int(row['damaged'])} mix={int(row['mix']) % _DIGEST_MODULUS}")


async def read_checkpoint() -> Checkpoint | None:
    row = await db.fetch_one("SELECT as_of_movement_id, digest FROM ledger_checkpoint WHERE id = 1")
    return Checkpoint(int(row["as_of_movement_id"]), row["digest"]) if row else None


async def settled_horizon(wait_s: float = SETTLE_WAIT_S) -> Horizon:
    """The newest movement id N such that every movement with id <= N has committed or never will.

    SQLite has one writer at a time, so ids commit in order: the newest id is settled. PostgreSQL:
    read the newest visible id M and the snapshot of that same statement. A movement with an id <= M
    that is not visible was numbered before the snapshot by a transaction then in progress (in the
    snapshot's xip list) or since aborted; any transaction numbering later gets an id > M. So once
    every xid of that list has finished, M is settled. Postings last milliseconds: wait up to `wait_s`.
    """
    start = time.monotonic()
    if not db.is_postgres():
        row = await db.fetch_one("SELECT COALESCE(MAX(id), 0) AS max_id FROM movements")
        assert row is not None
        return Horizon(int(row["max_id"]), 0.0)
    row = await db.fetch_one(
        "SELECT CAST(pg_current_snapshot() AS TEXT) AS snap, (SELECT COALESCE(MAX(id), 0) FROM movements) AS max_id"
    )
    assert row is not None
    while True:
        busy = await db.fetch_one(
            "SELECT COUNT(*) AS n FROM pg_snapshot_xip(CAST(CAST({} AS TEXT) AS pg_snapshot)) AS x"
            " WHERE pg_xact_status(x) = 'in progress'",
            row["snap"],
        )
        waited_s = time.monotonic() - start
        if busy is not None and int(busy["n"]) == 0:
            return Horizon(int(row["max_id"]), waited_s)
        if waited_s >= wait_s:
            return Horizon(None, waited_s)
        await asyncio.sleep(_SETTLE_POLL_S)


class _Moved(Exception):
    """Another check advanced or rebuilt the checkpoint first: read it again."""


async def _tune_for_scans() -> None:
    if db.is_postgres():
        # Compiling the sums took seconds at 5M movements and saves nothing on queries this simple.
        await db.fetch("SET LOCAL jit = off")


async def reset() -> None:
    """Start the checkpoint over at movement 0 (`stockline check --full`)."""

    async def work() -> None:
        now = datetime.now(UTC)
        # The header first: its lock is what a concurrent advance waits on (same order as theirs).
        await db.fetch(
            "INSERT INTO ledger_checkpoint (id, as_of_movement_id, digest, rebuilt_at, advanced_at)"
            " VALUES (1, 0, '', {}, {}) ON CONFLICT (id) DO UPDATE SET as_of_movement_id = 0,"
            " digest = '', rebuilt_at = excluded.rebuilt_at, advanced_at = excluded.advanced_at",
            now, now,
        )
        await db.fetch("DELETE FROM ledger_checkpoint_balances")
        await db.fetch("UPDATE ledger_checkpoint SET digest = {} WHERE id = 1", await current_digest())

    await db.run_in_transaction(work)


async def _advance_batch(start: Checkpoint, upto_id: int) -> None:
    """Sum the movements (start, upto_id] into the checkpoint, in one transaction."""
    await _tune_for_scans()
    # The guarded update takes the header's lock first: a concurrent check waits here, then finds
    # the id moved and starts from the new one instead of adding the same movements twice.
    moved = await db.fetch(
        "UPDATE ledger_checkpoint SET as_of_movement_id = {}, advanced_at = {}"
        " WHERE id = 1 AND as_of_movement_id = {} AND digest = {} RETURNING id",
        upto_id, datetime.now(UTC), start.as_of_movement_id, start.digest,
    )
    if not moved:
        raise _Moved
    if await current_digest() != start.digest:
        raise DigestMismatch
    await db.fetch(_ADD_RANGE, start.as_of_movement_id, upto_id, start.as_of_movement_id, upto_id)
    await db.fetch("UPDATE ledger_checkpoint SET digest = {} WHERE id = 1", await current_digest())


class DigestMismatch(Exception):
    """The checkpoint's rows are not the ones the check wrote: it is not advanced any more."""


async def advance(upto_id: int, *, batch_ids: int = ADVANCE_BATCH_IDS_MAX) -> Checkpoint:
    """Bring the checkpoint to `upto_id` (settled) in batches of ids; each committed batch is a valid
    checkpoint, so an interrupted run loses nothing. Raises DigestMismatch for a changed checkpoint."""
    if await read_checkpoint() is None:
        await reset()
    while True:
        start = await read_checkpoint()
        assert start is not None
        if start.as_of_movement_id >= upto_id:
            return start
        batch_end = min(upto_id, start.as_of_movement_id + batch_ids)
        try:
            await db.run_in_transaction(lambda s=start, e=batch_end: _advance_batch(s, e))
        except _Moved:
            continue
