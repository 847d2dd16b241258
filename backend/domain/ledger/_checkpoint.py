"""The check's checkpoint: a digest of the stock the movements add up to, as of a movement id.

Stock per (item, location, lot) is a sum of movement sides, so a *linear* digest of it,
Σ weight(key) × value(key) mod P, is a sum over movement sides too: moving the checkpoint from
movement N to M adds one number per movement, no grouping and no rows written. The same digest of
`balances` (minus the open reservations, minus movements after M) must equal it. A drift of d units
in one column of one key changes the balances' digest by weight × d × coefficient mod P, never 0 (P is
prime and larger than any of these); the columns weigh 1, ~10⁶, ~2·10⁶ and ~3·10⁶, so drifts in two
columns of one row cancel only if they are a million units apart; drifts in several rows cancel out
with odds of about 1 in P (2·10⁹).

The digest cannot say *which* row drifts. For that, `ledger_checkpoint_balances` holds the stock row
by row as of `rows_as_of_movement_id` (with its own digest), rebuilt by `stockline check --full`;
check.py compares row by row only when the digests disagree.

Movements are append-only, so the sum of the movements with id <= N is the same in every later
transaction once N is *settled*: no transaction that could still commit a movement with an id <= N
is in flight. Ids come from a sequence and can commit out of order (id 100 may commit after 101), so
the newest visible id is not settled by itself; see `settled_horizon`.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from datetime import UTC, datetime

from backend import db
from backend.domain.locations.service import STOCK_KINDS

SETTLE_WAIT_S = 5.0
_SETTLE_POLL_S = 0.02
# Movement ids summed into the digest per statement: bounds one statement, not memory (none grows).
ADVANCE_BATCH_IDS_MAX = 2_000_000
# Grouping movements by key (only --full and naming a drift do) keeps one entry per balance row in a
# hash table: memory grows with the balances, not the ledger. This much lets 1M rows group without
# temp files; past it PostgreSQL spills to disk rather than grow.
SCAN_WORK_MEM = "256MB"

P = 2_147_483_629  # prime < 2^31: weight × (value mod P) < 2^62 fits a BIGINT on both databases
# value(key) = on_hand + Q·quarantined + D·damaged + R·reserved (distinct, so columns do not trade off)
_Q, _D, _R = 1_000_003, 2_000_029, 3_000_017
STATE_FACTOR_SQL = "CASE {state} WHEN 'quarantined' THEN {q} WHEN 'damaged' THEN {d} ELSE 1 END"
_KINDS = ", ".join(f"'{k}'" for k in STOCK_KINDS)


def _lot_weight(lot: str) -> str:
    if db.is_postgres():
        return (f"CASE WHEN {lot} = '' THEN 0"
                f" ELSE CAST(CAST('x' || SUBSTR(MD5({lot}), 1, 7) AS BIT(28)) AS INTEGER) + 1 END")
    # SQLite has no hash function: length and the first and last four characters.
    chars = " + ".join(f"COALESCE(UNICODE(SUBSTR({lot}, {pos}, 1)), 0) * {mul}"
                       for pos, mul in ((1, 31), (2, 961), (3, 29791), (4, 923521),
                                        (-1, 28629151), (-2, 887503681), (-3, 11), (-4, 131)))
    return f"CASE WHEN {lot} = '' THEN 0 ELSE LENGTH({lot}) * 7 + {chars} END"


def _term(item: str, location: str, lot: str, value: str) -> str:
    """weight(key) × value mod P, in (-P, P). The weight mixes the key quadratically, in [1, P)."""
    x = f"((({item}) * 1000003 + ({location}) * 7919 + {_lot_weight(lot)}) % {P})"
    return f"((({x} * {x} + 12345) % {P - 1} + 1) * (({value}) % {P}) % {P})"


def _state_factor(state: str) -> str:
    return STATE_FACTOR_SQL.format(state=state, q=1 + _Q, d=1 + _D)


async def outside_stock() -> str:
    """The ids of the locations that hold no stock (SUPPLIER, CUSTOMER, ADJUSTMENT, warehouses,
    zones) as an SQL list: a movement side there changes no balance. A handful of ids, read once
    per statement's caller; filtering on them keeps a join to locations (and its misestimates,
    which once turned a full check into two thousand index scans) out of the ledger scans."""
    rows = await db.fetch(f"SELECT id FROM locations WHERE kind NOT IN ({_KINDS}) ORDER BY id")
    return "(" + ", ".join(str(int(r["id"])) for r in rows) + (", " if rows else "") + "-1)"


def sides_digest_sql(where: str, outside: str) -> str:
    """Σ of the movement sides at stock-holding locations (not in `outside`), for the movements `m`
    matching `where`: one pass, both sides of a movement in one row."""
    to_side = _term("m.item_id", "m.to_location_id", "m.lot", f"m.qty * {_state_factor('m.to_state')}")
    from_side = _term("m.item_id", "m.from_location_id", "m.lot", f"-m.qty * {_state_factor('m.from_state')}")
    return f"""
SELECT COALESCE(SUM(CASE WHEN m.to_location_id NOT IN {outside} THEN {to_side} ELSE 0 END
                    + CASE WHEN m.from_location_id NOT IN {outside} THEN {from_side} ELSE 0 END), 0) AS s
FROM movements m WHERE {where}"""


def stock_digest_sql(table: str, *, with_reserved: bool, count_broken: bool = False) -> str:
    """The digest of a table of stock per key; `count_broken` also counts rows the CHECKs forbid."""
    value = f"on_hand + {_Q} * quarantined + {_D} * damaged" + (f" + {_R} * reserved" if with_reserved else "")
    broken = (", COALESCE(SUM(CASE WHEN on_hand < 0 OR reserved < 0 OR quarantined < 0 OR damaged < 0"
              " OR reserved + quarantined + damaged > on_hand THEN 1 ELSE 0 END), 0) AS broken") if count_broken else ""
    return f"SELECT COALESCE(SUM({_term('item_id', 'location_id', 'lot', value)}), 0) AS s{broken} FROM {table}"


def reserved_digest_sql() -> str:
    return (f"SELECT COALESCE(SUM({_term('item_id', 'location_id', 'lot', f'{_R} * open_qty')}), 0) AS s"
            " FROM reservations WHERE status = 'open'")


async def digest_of(sql: str, *args: object) -> int:
    row = await db.fetch_one(sql, *args)
    assert row is not None
    return int(row["s"]) % P


@dataclass(frozen=True, slots=True)
class Checkpoint:
    as_of_movement_id: int
    digest: int
    rows_as_of_movement_id: int | None  # None: the rows are being rebuilt (or a rebuild stopped)
    rows_digest: int
    rows_generation: int


@dataclass(frozen=True, slots=True)
class Horizon:
    """The newest movement id that is settled, or None when in-flight transactions did not finish."""

    movement_id: int | None
    waited_s: float


async def read_checkpoint() -> Checkpoint | None:
    row = await db.fetch_one(
        "SELECT as_of_movement_id, digest, rows_as_of_movement_id, rows_digest, rows_generation"
        " FROM ledger_checkpoint WHERE id = 1"
    )
    return Checkpoint(**row) if row else None


async def _ensure_checkpoint() -> Checkpoint:
    """The first checkpoint: movement 0, nothing summed (digest 0, no rows)."""
    now = datetime.now(UTC)
    await db.fetch(
        "INSERT INTO ledger_checkpoint (id, as_of_movement_id, digest, rows_as_of_movement_id, rows_digest,"
        " rows_generation, rebuilt_at, advanced_at) VALUES (1, 0, 0, 0, 0, 0, {}, {}) ON CONFLICT (id) DO NOTHING",
        now, now,
    )
    checkpoint = await read_checkpoint()
    assert checkpoint is not None
    return checkpoint


# Transactions writing movements right now: each holds a RowExclusiveLock on the table from before it
# numbers a movement (the lock is taken when the INSERT starts, the id when its row is formed) until
# it has committed and become visible (locks go after the commit is published). Read after the
# newest id, so every transaction that could still commit a lower id is among them.
_WRITING_MOVEMENTS = """
SELECT virtualtransaction AS vxid FROM pg_locks
WHERE locktype = 'relation' AND mode = 'RowExclusiveLock' AND granted
  AND database = (SELECT oid FROM pg_database WHERE datname = current_database())
  AND relation = CAST('movements' AS regclass) AND pid <> pg_backend_pid()
"""


async def settled_horizon(wait_s: float = SETTLE_WAIT_S) -> Horizon:
    """The newest movement id N such that every movement with id <= N has committed or never will.

    SQLite has one writer at a time, so ids commit in order: the newest id is settled. PostgreSQL:
    read the newest visible id M, then which transactions are writing movements. A movement with an
    id <= M that is not visible was numbered before M by a transaction that had begun its INSERT, so
    it is one of those writers, or it has since ended; any transaction numbering later gets an id > M.
    (A snapshot's list of running xids is not enough: a transaction whose xid is above the
    snapshot's xmax is not in it, yet may have numbered a movement below M.) Once those writers have
    ended, M is settled. Postings last milliseconds: wait up to `wait_s`, else report unsettled.
    """
    start = time.monotonic()
    newest = await db.fetch_one("SELECT COALESCE(MAX(id), 0) AS max_id FROM movements")
    assert newest is not None
    if not db.is_postgres():
        return Horizon(int(newest["max_id"]), 0.0)
    writers = [r["vxid"] for r in await db.fetch(_WRITING_MOVEMENTS)]
    while writers:
        if time.monotonic() - start >= wait_s:
            return Horizon(None, time.monotonic() - start)
        await asyncio.sleep(_SETTLE_POLL_S)
        still = {r["vxid"] for r in await db.fetch(_WRITING_MOVEMENTS)}
        writers = [w for w in writers if w in still]
    return Horizon(int(newest["max_id"]), time.monotonic() - start)


async def tune_for_scans(*, grouping: bool = False) -> None:
    """Inside a transaction: settings for the check's long scans (this transaction only)."""
    if db.is_postgres():
        # Compiling these sums took seconds at 5M movements and saves nothing on queries this simple.
        await db.fetch("SET LOCAL jit = off")
        if grouping:
            await db.fetch(f"SET LOCAL work_mem = '{SCAN_WORK_MEM}'")


async def _sum_sides(after_id: int, upto_id: int) -> int:
    async def work() -> int:
        await tune_for_scans()
        return await digest_of(sides_digest_sql("m.id > {} AND m.id <= {}", await outside_stock()), after_id, upto_id)

    async with db.transaction(write=False):
        return await work()


async def advance(upto_id: int, *, batch_ids: int = ADVANCE_BATCH_IDS_MAX) -> Checkpoint:
    """Move the digest to `upto_id` (settled): add the movements since, a batch of ids per statement.
    Each step is a guarded update (compare and set), so two checks never add the same movements."""
    checkpoint = await read_checkpoint() or await _ensure_checkpoint()
    while checkpoint.as_of_movement_id < upto_id:
        end = min(upto_id, checkpoint.as_of_movement_id + batch_ids)
        added = await _sum_sides(checkpoint.as_of_movement_id, end)
        await db.fetch(
            "UPDATE ledger_checkpoint SET as_of_movement_id = {}, digest = {}, advanced_at = {}"
            " WHERE id = 1 AND as_of_movement_id = {} AND digest = {}",
            end, (checkpoint.digest + added) % P, datetime.now(UTC), checkpoint.as_of_movement_id, checkpoint.digest,
        )
        moved = await read_checkpoint()
        assert moved is not None
        checkpoint = moved  # ours, or another check's that got there first: go on from it
    return checkpoint


def _rows_upto_sql(outside: str) -> str:
    """Stock per key summed from the movements up to an id (argument: that id, twice)."""
    return f"""
INSERT INTO ledger_checkpoint_balances (item_id, location_id, lot, on_hand, quarantined, damaged)
SELECT item_id, location_id, lot, SUM(on_hand), SUM(quarantined), SUM(damaged)
FROM ({stock_sides_sql("m.id <= {}", outside)}) sides
GROUP BY item_id, location_id, lot"""


def stock_sides_sql(where: str, outside: str) -> str:
    """One signed row per movement side at a stock-holding location (`where` written twice)."""
    return f"""
  SELECT m.item_id, m.to_location_id AS location_id, m.lot, m.qty AS on_hand,
         CASE WHEN m.to_state = 'quarantined' THEN m.qty ELSE 0 END AS quarantined,
         CASE WHEN m.to_state = 'damaged' THEN m.qty ELSE 0 END AS damaged
  FROM movements m WHERE m.to_location_id NOT IN {outside} AND {where}
  UNION ALL
  SELECT m.item_id, m.from_location_id, m.lot, -m.qty,
         CASE WHEN m.from_state = 'quarantined' THEN -m.qty ELSE 0 END,
         CASE WHEN m.from_state = 'damaged' THEN -m.qty ELSE 0 END
  FROM movements m WHERE m.from_location_id NOT IN {outside} AND {where}"""


async def rebuild(upto_id: int) -> Checkpoint:
    """`check --full`: sum every movement up to `upto_id` (settled) into the rows, one pass over the
    movements grouped by key, and start the digest over from them; one transaction. It holds the
    checkpoint's row meanwhile: another check's advance waits; snapshot reads never do."""
    await _ensure_checkpoint()

    async def work() -> None:
        await db.fetch("UPDATE ledger_checkpoint SET rows_generation = rows_generation + 1 WHERE id = 1")
        await tune_for_scans(grouping=True)
        await db.fetch("DELETE FROM ledger_checkpoint_balances")
        await db.fetch(_rows_upto_sql(await outside_stock()), upto_id, upto_id)
        rows = await digest_of(stock_digest_sql("ledger_checkpoint_balances", with_reserved=False))
        now = datetime.now(UTC)
        await db.fetch(
            "UPDATE ledger_checkpoint SET as_of_movement_id = {}, digest = {}, rows_as_of_movement_id = {},"
            " rows_digest = {}, rebuilt_at = {}, advanced_at = {} WHERE id = 1",
            upto_id, rows, upto_id, rows, now, now,
        )

    await db.run_in_transaction(work)
    checkpoint = await read_checkpoint()
    assert checkpoint is not None
    return checkpoint
