"""Group commit on PostgreSQL: ledger commands that are their own transactions, posted together.

A command posted outside any caller's transaction is one `stockline_post(...)` call in one statement
(_onetrip.py). Concurrent ones of this process meet here: at the event loop's next turn the postings made
meanwhile are sent (a lone caller waits one turn of the loop, nothing more); while flushes are in flight,
further postings queue, and the next flush sends the queued ones (at most FLUSH_POSTINGS_MAX) as ONE
statement of several calls, `SELECT 0 AS k, * FROM stockline_post($1..$33) UNION ALL SELECT 1, * FROM ...`: one
round trip, one transaction, one commit for all of them. The calls run in order, each seeing what the
ones before it wrote (the function is VOLATILE: each of its statements takes a fresh snapshot), so two
postings taking from one balance, or one key twice, behave as if posted one after the other. Each
caller still gets its own answer: the function reports what it refuses (`insufficient`, `fallback`,
`replayed`) as a status, writing nothing, so one refused command does not touch the others.

Failure isolation: if the flush statement raises (a deadlock, a unique violation, a bug), the
transaction rolled back as a whole and nothing of it was written; each member is then sent again
alone, with the retries of db.pg_fetchrow, so each caller gets exactly its own result or its own error.
(Had the connection broken after the flush committed, each member's key answers with what it posted.)

A flush of one-leg commands only (receive, move, adjust, quarantine, release, scrap, ship: what the floor
posts most) is instead one call of `stockline_post_legs` (m0019) with the members as one JSON argument:
it resolves, locks, checks, claims and writes for the whole flush in a dozen set-based statements, and
posts a member that would be refused at its place after the others, by stockline_post, so its answer
(insufficient, with the stock as it is then) is the one it would get posted alone right after them.
In bench/ledger.py (8 workers, flushes of about 4) PostgreSQL's CPU per posting went from 0.35-0.37 ms
to 0.23-0.25 ms on the same machine (bench/RESULTS.md, third pass).

Two flushes in flight per process (FLUSHES_IN_FLIGHT_MAX), what is queued shared evenly between the
flushes that may start: with one, the callers moved in lock-step (PostgreSQL ran a flush while this
process waited, then the reverse); with two, while PostgreSQL runs one, the callers the other answered
prepare their next postings. A flush first locks every existing balance row its members' legs and
reservations change, in the ledger's lock order (stockline_post_legs' step 2, or `stockline_lock_balances`,
m0016, before a UNION ALL of calls), as one command of many legs does, so two flushes, or a flush and a
ledger command, do not deadlock on them. A reservation's take or a reversal names its rows only inside
its call; a deadlock there (or on a balance row a flush creates) is broken by PostgreSQL after
deadlock_timeout, and the members of the flush it rolled back are re-run alone, as above.

Cancellation: a caller cancelled while queued is dropped before the flush is sent (nothing of it is
posted); one cancelled while its flush is in flight only stops waiting: the flush is its own task and
commits for everyone, as a lone statement already in flight would (the key makes a retry safe).
"""

from __future__ import annotations

import asyncio
import functools
import weakref
from collections import deque
from dataclasses import dataclass, field
from typing import Any

import asyncpg
import msgspec

from backend import db
from backend.domain.ledger._onetrip import (
    ARG_DST,
    ARG_LOT,
    ARG_MODE,
    ARG_SKU,
    ARG_SRC,
    POST_ARGS,
    POST_SQL,
    AuditNote,
    Prepared,
    legs_json,
    prepare,
)
from backend.domain.ledger.posting import CommandResult

# Enough to take up a pool's worth of workers at once; a statement of 32 calls has 1,056 parameters.
FLUSH_POSTINGS_MAX = 32
# Flushes of one process in flight at once: while PostgreSQL runs one, this process prepares the next.
# Each flush first locks its members' balance rows in the ledger's lock order, so they do not deadlock.
FLUSHES_IN_FLIGHT_MAX = 2


@dataclass(slots=True)
class _Member:
    prepared: Prepared
    row: asyncio.Future[asyncpg.Record]


@dataclass(slots=True)
class _Coalescer:
    queue: deque[_Member] = field(default_factory=deque)
    flushing: set[asyncio.Task[None]] = field(default_factory=set)
    scheduled: bool = False

    async def fetchrow(self, prepared: Prepared) -> asyncpg.Record:
        member = _Member(prepared, asyncio.get_running_loop().create_future())
        self.queue.append(member)
        self._schedule()
        return await member.row

    def _schedule(self) -> None:
        """Start flushes at the loop's next turn: postings made in this turn (callers woken by one flush's
        answers, tasks started together) go together; a lone caller waits one turn of the loop."""
        if not self.scheduled:
            self.scheduled = True
            asyncio.get_running_loop().call_soon(self._start)

    def _start(self) -> None:
        """Send what is queued, shared evenly among the flushes that may start (fewer than
        FLUSHES_IN_FLIGHT_MAX in flight): PostgreSQL runs them side by side, and as each one answers, its
        callers' next postings go while the others are still running."""
        self.scheduled = False
        while self.queue and len(self.flushing) < FLUSHES_IN_FLIGHT_MAX:
            share = -(-len(self.queue) // (FLUSHES_IN_FLIGHT_MAX - len(self.flushing)))
            batch = [self.queue.popleft() for _ in range(min(share, FLUSH_POSTINGS_MAX))]
            waiting = [m for m in batch if not m.row.done()]  # a cancelled caller is not posted
            if waiting:
                task = asyncio.ensure_future(self._send(waiting))
                self.flushing.add(task)
                task.add_done_callback(self._sent)

    def _sent(self, task: asyncio.Task[None]) -> None:
        self.flushing.discard(task)
        if task.cancelled():  # the loop is shutting down: nothing more is sent
            while self.queue:
                self.queue.popleft().row.cancel()
            return
        self._schedule()

    @staticmethod
    async def _send(waiting: list[_Member]) -> None:
        try:
            await _flush(waiting)
        except Exception as exc:  # noqa: BLE001 - a bug here: its members hear of it, the next flush goes on
            for member in waiting:
                _answer(member, error=exc)
        except BaseException:
            for member in waiting:
                member.row.cancel()
            raise


_coalescers: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _Coalescer] = weakref.WeakKeyDictionary()


async def fetchrow(prepared: Prepared) -> asyncpg.Record:
    """stockline_post's row for `prepared`, posted with whatever else this process posts meanwhile.
    Only for a command that is its own transaction (db.pg_own_transaction_pooled())."""
    loop = asyncio.get_running_loop()
    coalescer = _coalescers.get(loop)
    if coalescer is None:
        coalescer = _coalescers[loop] = _Coalescer()
    return await coalescer.fetchrow(prepared)


async def post(command: msgspec.Struct, *, key: str, kind: str, digest: str, actor: str,
               audited: AuditNote | None) -> CommandResult | None:
    """Post `command` in one statement (with others when they meet here); None: nothing was written, run
    the in-process path. Inside a caller's transaction it joins that transaction, never a flush."""
    prepared = prepare(command, key=key, kind=kind, digest=digest, actor=actor, audited=audited)
    if prepared is None:
        return None
    if db.pg_own_transaction_pooled():
        return prepared.answer(await fetchrow(prepared))
    row = await db.pg_fetchrow(POST_SQL, *prepared.args)
    assert row is not None
    return prepared.answer(row)


@functools.cache
def _flush_sql(members: int) -> str:
    """The flush: the lock of its members' balance rows (m0016's stockline_lock_balances, all at once, in
    the ledger's lock order, as one command of many legs takes them), then the calls in order. The parts
    of a UNION ALL run one after another, in the order written."""
    lock = ("SELECT -1 AS k, NULL::text AS status, NULL::bigint[] AS movement_ids,"
            " NULL::bigint[] AS reservation_ids, NULL::text AS stored, NULL::text AS short_sku,"
            " NULL::text AS short_where, NULL::bigint AS short_requested,"
            " stockline_lock_balances($1, $2, $3) AS short_have, NULL::text[] AS elsewhere_codes,"
            " NULL::bigint[] AS elsewhere_available")

    def call(k: int) -> str:
        first = LOCK_ARGS + k * POST_ARGS + 1
        return f"SELECT {k} AS k, * FROM stockline_post(" + ", ".join(
            f"${n}" for n in range(first, first + POST_ARGS)) + ")"

    return " UNION ALL ".join([lock, *(call(k) for k in range(members))])


LOCK_ARGS = 3


def _balance_keys(members: list[_Member]) -> list[list[str]]:
    """(sku keys, location code keys, lots) of the balance rows the members' legs and reservations take:
    what `stockline_lock_balances` locks first. A reservation's take or a reversal names no row here; its
    call takes its rows itself (a deadlock there is retried, member by member)."""
    skus: list[str] = []
    codes: list[str] = []
    lots: list[str] = []
    for m in members:
        a = m.prepared.args
        if a[ARG_MODE] not in ("legs", "reserve"):
            continue
        for side in (ARG_SRC, ARG_DST):
            for sku, lot, code in zip(a[ARG_SKU] or [], a[ARG_LOT] or [], a[side] or [], strict=False):
                skus.append(sku)
                codes.append(code)
                lots.append(lot)
    return [skus, codes, lots]


def _answer(member: _Member, row: asyncpg.Record | None = None, error: BaseException | None = None) -> None:
    if member.row.done():  # its caller was cancelled while the flush was in flight
        return
    if error is not None:
        member.row.set_exception(error)
        return
    assert row is not None
    member.row.set_result(row)


async def _alone(member: _Member) -> None:
    try:
        row = await db.pg_fetchrow(POST_SQL, *member.prepared.args)
        assert row is not None
    except Exception as exc:  # noqa: BLE001 - the caller's own error, raised in the caller
        _answer(member, error=exc)
        return
    _answer(member, row)


_LEGS_SQL = "SELECT * FROM stockline_post_legs(CAST($1 AS jsonb))"


async def _flush(members: list[_Member]) -> None:
    if len(members) == 1:
        await _alone(members[0])
        return
    args: list[Any]
    if all(m.prepared.one_leg for m in members):
        sql, args = _LEGS_SQL, [legs_json([m.prepared for m in members])]
    else:
        sql, args = _flush_sql(len(members)), [*_balance_keys(members), *(a for m in members for a in m.prepared.args)]
    try:
        rows = await db.pg_fetch_own_transaction(sql, *args)
    except Exception:  # noqa: BLE001 - rolled back as a whole: each member again, alone, for its own answer
        await asyncio.gather(*(_alone(m) for m in members))
        return
    rows = [row for row in rows if row["k"] >= 0]
    assert len(rows) == len(members), (len(rows), len(members))
    for row in rows:
        _answer(members[row["k"]], row)
