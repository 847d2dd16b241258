"""`stockline check`: do the balances say what the movements and open reservations say?

Incremental by default. The checkpoint is a digest of the stock that every movement up to a settled
movement id adds up to (backend/domain/ledger/_checkpoint.py). A run first adds to it the movements
posted since (one pass over them, nothing grouped, nothing written but the checkpoint's one row),
then, in **one read-only snapshot**, takes the same digest of `balances` and compares: balances =
checkpoint + movements after it + open reservations. Nothing posted while the check runs can make it
disagree with itself: balances and movements are read at the same instant, and each posting changes
both in one transaction. Only when the digests disagree does it compare row by row, in ranges of
items, to name the rows that drift. Memory does not grow with the ledger.

`--full` sums every movement again, row by row (`ledger_checkpoint_balances`), and starts the digest
over from that: it also catches what the incremental check trusts, a movement written behind the
ledger with an id below the checkpoint.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

from backend import db
from backend.domain import idempotency
from backend.domain.ledger import _checkpoint
from backend.domain.ledger._checkpoint import (
    SETTLE_WAIT_S,
    Checkpoint,
    digest_of,
    reserved_digest_sql,
    sides_digest_sql,
    stock_digest_sql,
    stock_sides_sql,
)

DRIFTS_REPORTED_MAX = 1_000
_COLUMNS = ("on_hand", "reserved", "quarantined", "damaged")


@dataclass(frozen=True, slots=True)
class Drift:
    item_id: int
    location_id: int
    lot: str
    problem: str

    def __str__(self) -> str:
        if not self.item_id:
            return self.problem
        lot = f" lot {self.lot}" if self.lot else ""
        return f"item #{self.item_id} at location #{self.location_id}{lot}: {self.problem}"


@dataclass(frozen=True, slots=True)
class CheckReport:
    full: bool
    advanced_from: int  # where the checkpoint stood before this run (0: none yet, or --full)
    checkpoint_movement_id: int  # the checkpoint the balances were compared against
    recent_movements: int  # movements after it, summed inside the snapshot
    settled: bool  # False: transactions in flight kept the checkpoint from advancing this time
    seconds: float
    drifts: list[Drift] = field(default_factory=list)

    def summary(self) -> str:
        kind = "full" if self.full else "incremental"
        held = "" if self.settled else " (checkpoint not advanced: transactions in flight did not finish)"
        return (f"{kind} check: checkpoint moved from movement #{self.advanced_from} to"
                f" #{self.checkpoint_movement_id}; balances compared with it + {self.recent_movements}"
                f" movement(s) posted after it, {self.seconds:.2f} s{held}")


def _row_by_row_sql(with_rows: bool, outside: str) -> str:
    """Per key, what the ledger says minus what the balance says, for the keys where it is not zero:
    the checkpoint's rows (if used) + movements after an id + open reservations − balances.
    Arguments: after_id (twice), limit."""
    rows = "" if with_rows else " WHERE 1 = 0"
    differs = " OR ".join(f"SUM({c}) <> 0" for c in _COLUMNS)
    return f"""
SELECT item_id, location_id, lot, {", ".join(f"SUM({c}) AS {c}" for c in _COLUMNS)}
FROM (
  SELECT item_id, location_id, lot, on_hand, 0 AS reserved, quarantined, damaged
  FROM ledger_checkpoint_balances{rows}
  UNION ALL
  SELECT item_id, location_id, lot, on_hand, 0, quarantined, damaged
  FROM ({stock_sides_sql("m.id > {}", outside)}) recent
  UNION ALL
  SELECT item_id, location_id, lot, 0, open_qty, 0, 0 FROM reservations WHERE status = 'open'
  UNION ALL
  SELECT item_id, location_id, lot, -on_hand, -reserved, -quarantined, -damaged FROM balances
) parts
GROUP BY item_id, location_id, lot
HAVING {differs}
ORDER BY item_id, location_id, lot LIMIT {{}}
"""


@asynccontextmanager
async def _snapshot() -> AsyncIterator[None]:
    """One read-only snapshot: PostgreSQL REPEATABLE READ READ ONLY; SQLite one read transaction
    (WAL: it sees the database as of its first read, whatever commits meanwhile)."""
    async with db.transaction(write=False):
        if db.is_postgres():
            await db.fetch("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            await db.fetch("SET LOCAL jit = off")
        yield


async def _row_by_row(checkpoint: Checkpoint | None) -> list[Drift]:
    """Name the drifting rows: from the checkpoint's rows if their digest holds, else from movement 0."""
    with_rows = (
        checkpoint is not None and checkpoint.rows_as_of_movement_id is not None
        and await digest_of(stock_digest_sql("ledger_checkpoint_balances", with_reserved=False))
        == checkpoint.rows_digest
    )
    after = (checkpoint.rows_as_of_movement_id or 0) if with_rows and checkpoint else 0
    if db.is_postgres():
        await db.fetch(f"SET LOCAL work_mem = '{_checkpoint.SCAN_WORK_MEM}'")
    drifts: list[Drift] = []
    outside = await _checkpoint.outside_stock()
    for r in await db.fetch(_row_by_row_sql(with_rows, outside), after, after, DRIFTS_REPORTED_MAX):
        key = (r["item_id"], r["location_id"], r["lot"])
        have = await db.fetch_one(
            "SELECT on_hand, reserved, quarantined, damaged FROM balances"
            " WHERE item_id = {} AND location_id = {} AND lot = {}", *key,
        ) or dict.fromkeys(_COLUMNS, 0)
        drifts += [Drift(*key, f"{c} is {have[c]} but the ledger says {int(have[c]) + int(r[c])}")
                   for c in _COLUMNS if int(r[c])]
    return drifts


async def _broken_invariants(balances: bool, full: bool) -> list[Drift]:
    """What the CHECK constraints forbid; only a constraint dropped by hand lets these through. With
    `full`, also a movement or reservation whose command key is in no command_log row (m0018: on PostgreSQL no foreign
    key checks it; only a bug writing behind the ledger could) — one pass over every movement and reservation, so not in
    the incremental check, which has to stay under half a second a day."""
    drifts = [Drift(r["item_id"], r["location_id"], r["lot"],
                    f"{r['what']} #{r['id']} names command {r['command_key']!r}, which is not in the command log")
              for r in await idempotency.without_their_command(DRIFTS_REPORTED_MAX)] if full else []
    for r in await db.fetch(
        "SELECT item_id, location_id, lot, on_hand, reserved, quarantined, damaged FROM balances"
        " WHERE on_hand < 0 OR reserved < 0 OR quarantined < 0 OR damaged < 0"
        " OR reserved + quarantined + damaged > on_hand ORDER BY item_id, location_id, lot LIMIT {}",
        DRIFTS_REPORTED_MAX,
    ) if balances else []:
        key = (r["item_id"], r["location_id"], r["lot"])
        drifts += [Drift(*key, f"{c} is negative ({r[c]})") for c in _COLUMNS if r[c] < 0]
        if r["reserved"] + r["quarantined"] + r["damaged"] > r["on_hand"]:
            drifts.append(Drift(*key, "reserved + quarantined + damaged exceeds on hand"))
    # Closed reservations are many and cannot change; the incremental check reads the open ones.
    scope = "" if full else "status = 'open' AND "
    for r in await db.fetch(
        f"SELECT id FROM reservations WHERE {scope}(open_qty < 0 OR open_qty > qty"
        " OR (status <> 'open' AND open_qty <> 0)) ORDER BY id LIMIT {}",
        DRIFTS_REPORTED_MAX,
    ):
        drifts.append(Drift(0, 0, "", f"reservation #{r['id']} has an impossible open quantity"))
    return drifts


_CHANGED_CHECKPOINT = Drift(0, 0, "", "the check's checkpoint disagrees with the movements although every"
                                      " balance agrees with them: it was changed outside the check;"
                                      " run `stockline check --full`")


async def _verify(full: bool) -> tuple[int, int, list[Drift]]:
    async with _snapshot():
        checkpoint = await _checkpoint.read_checkpoint()
        as_of = checkpoint.as_of_movement_id if checkpoint else 0
        stock = await db.fetch_one(stock_digest_sql("balances", with_reserved=True, count_broken=True))
        assert stock is not None
        recent = await digest_of(sides_digest_sql("m.id > {}", await _checkpoint.outside_stock()), as_of)
        reserved = await digest_of(reserved_digest_sql())
        agrees = checkpoint is not None and (int(stock["s"]) - recent - reserved) % _checkpoint.P == checkpoint.digest
        drifts = [] if agrees else await _row_by_row(checkpoint)
        if not agrees and not drifts and checkpoint is not None:
            drifts.append(_CHANGED_CHECKPOINT)
        drifts += await _broken_invariants(int(stock["broken"]) > 0, full)
        count = await db.fetch_one("SELECT COUNT(*) AS n FROM movements WHERE id > {}", as_of)
        assert count is not None
        return as_of, int(count["n"]), drifts


async def run_check(*, full: bool = False, settle_wait_s: float = SETTLE_WAIT_S) -> CheckReport:
    """Bring the checkpoint to the newest settled movement, then compare in one snapshot."""
    start = time.perf_counter()
    before = None if full else await _checkpoint.read_checkpoint()
    horizon = await _checkpoint.settled_horizon(settle_wait_s)
    if horizon.movement_id is not None and full:
        await _checkpoint.rebuild(horizon.movement_id)
    elif horizon.movement_id is not None:
        await _checkpoint.advance(horizon.movement_id)
    as_of, recent, drifts = await _verify(full)
    return CheckReport(full, before.as_of_movement_id if before else 0, as_of, recent, horizon.movement_id is not None,
                       time.perf_counter() - start, drifts)


async def check_ledger() -> list[Drift]:
    """Empty list = the balances are exactly what every movement and open reservation says (full)."""
    return (await run_check(full=True)).drifts
