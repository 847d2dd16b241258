"""Group commit on PostgreSQL: ledger commands that are their own transactions, posted together.

A command posted outside any caller's transaction is one `stockline_post(...)` call in one statement
(_onetrip.py). Concurrent ones of this process meet here: when no flush is in flight, a posting is sent
at once, alone, as it always was (a lone caller waits for nothing); while one is in flight, the next
postings queue, and the next flush sends all queued ones (at most FLUSH_POSTINGS_MAX) as ONE statement
of several calls, `SELECT 0 AS k, * FROM stockline_post($1..$33) UNION ALL SELECT 1, * FROM ...`: one
round trip, one transaction, one commit for all of them. The calls run in order, each seeing what the
ones before it wrote (the function is VOLATILE: each of its statements takes a fresh snapshot), so two
postings taking from one balance, or one key twice, behave as if posted one after the other. Each
caller still gets its own answer: the function reports what it refuses (`insufficient`, `fallback`,
`replayed`) as a status, writing nothing, so one refused command does not touch the others.

Failure isolation: if the flush statement raises (a deadlock, a unique violation, a bug), the
transaction rolled back as a whole and nothing of it was written; each member is then sent again
alone, with the retries of db.pg_fetchrow, so each caller gets exactly its own result or its own error.
(Had the connection broken after the flush committed, each member's key answers with what it posted.)

One flush in flight per process (and event loop): the flushes of one process never wait for each
other's row locks. A flush locks the balance rows of its members one member after another, not in one
global order, so against another process's flush or a multi-row transaction it can deadlock;
PostgreSQL then aborts one of them after deadlock_timeout and the members of an aborted flush are
re-run alone, as above.

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
from backend.domain.ledger._onetrip import POST_ARGS, POST_SQL, AuditNote, Prepared, prepare
from backend.domain.ledger.posting import CommandResult

# Enough to take up a pool's worth of workers at once; a statement of 32 calls has 1,056 parameters.
FLUSH_POSTINGS_MAX = 32


@dataclass(slots=True)
class _Member:
    prepared: Prepared
    row: asyncio.Future[asyncpg.Record]


@dataclass(slots=True)
class _Coalescer:
    queue: deque[_Member] = field(default_factory=deque)
    draining: asyncio.Task[None] | None = None

    async def fetchrow(self, prepared: Prepared) -> asyncpg.Record:
        member = _Member(prepared, asyncio.get_running_loop().create_future())
        self.queue.append(member)
        if self.draining is None:
            self.draining = asyncio.ensure_future(self._drain())
        return await member.row

    async def _drain(self) -> None:
        try:
            while self.queue:
                batch = [self.queue.popleft() for _ in range(min(len(self.queue), FLUSH_POSTINGS_MAX))]
                waiting = [m for m in batch if not m.row.done()]  # a cancelled caller is not posted
                if not waiting:
                    continue
                try:
                    await _flush(waiting)
                except Exception as exc:  # noqa: BLE001 - a bug here: its members hear of it, the next flush goes on
                    for member in waiting:
                        _answer(member, error=exc)
                except BaseException:
                    for member in waiting:
                        member.row.cancel()
                    raise
        finally:
            self.draining = None
            while self.queue:  # only when this task itself was cancelled (the loop is shutting down)
                self.queue.popleft().row.cancel()


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
    def call(k: int) -> str:
        first = k * POST_ARGS + 1
        return f"SELECT {k} AS k, * FROM stockline_post(" + ", ".join(
            f"${n}" for n in range(first, first + POST_ARGS)) + ")"

    return " UNION ALL ".join(call(k) for k in range(members))


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


async def _flush(members: list[_Member]) -> None:
    if len(members) == 1:
        await _alone(members[0])
        return
    args: list[Any] = [a for m in members for a in m.prepared.args]
    try:
        rows = await db.pg_fetch_own_transaction(_flush_sql(len(members)), *args)
    except Exception:  # noqa: BLE001 - rolled back as a whole: each member again, alone, for its own answer
        await asyncio.gather(*(_alone(m) for m in members))
        return
    assert len(rows) == len(members), (len(rows), len(members))
    for row in rows:
        _answer(members[row["k"]], row)
