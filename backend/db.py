"""Database engine selection, pool lifecycle, raw queries and the write transaction.

SQLite (default, one store) and PostgreSQL (production, CI) run the same SQL: queries use
`{}` placeholders that Piccolo compiles to `?` or `$n`.
"""

from __future__ import annotations

import asyncio
import contextvars
import json
import sqlite3
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from datetime import UTC, date, datetime
from typing import Any, Protocol, TypeAlias, TypeVar

import asyncpg
import msgspec
from piccolo.engine.postgres import PostgresEngine
from piccolo.engine.sqlite import SQLiteEngine, TransactionType
from piccolo.querystring import QueryString

from backend.settings import Settings

T = TypeVar("T")
# The two engines Stockline runs on (see the module docstring); nothing else is configured.
Engine: TypeAlias = SQLiteEngine | PostgresEngine

WRITE_ATTEMPTS_MAX = 8
_RETRY_BACKOFF_S = 0.005

_engine: Engine | None = None
# Callbacks to run once the current run_in_transaction commits (metrics of committed work).
_after_commit: contextvars.ContextVar[list[Callable[[], None]] | None] = contextvars.ContextVar(
    "stockline_after_commit", default=None)


class EngineNotConfigured(RuntimeError):
    pass


class _Savepoint(Protocol):
    """What run_in_transaction uses of a Piccolo savepoint (its methods carry no annotations)."""

    async def rollback_to(self) -> None: ...

    async def release(self) -> None: ...


def _make_engine(settings: Settings) -> Engine:
    if settings.is_sqlite:
        path = settings.sqlite_path
        path.parent.mkdir(parents=True, exist_ok=True)
        return SQLiteEngine(path=str(path), timeout=settings.sqlite_busy_timeout_s)
    return PostgresEngine(config={"dsn": settings.database_url}, extensions=(), log_queries=False)


def configure(settings: Settings) -> Engine:
    """Create the engine for `settings` and bind every table to it (no I/O)."""
    global _engine
    _engine = _make_engine(settings)
    from backend.domain.schema import ALL_TABLES

    for table in ALL_TABLES:
        table._meta.db = _engine
    return _engine


def engine() -> Engine:
    if _engine is None:
        raise EngineNotConfigured("call backend.db.configure(settings) first")
    return _engine


def is_postgres() -> bool:
    return isinstance(engine(), PostgresEngine)


async def connect(settings: Settings) -> Engine:
    """Configure the engine and open the pool (Postgres); called from app/worker lifespans."""
    await disconnect()
    eng = configure(settings)
    if isinstance(eng, PostgresEngine):
        await eng.start_connection_pool(min_size=settings.db_pool_min, max_size=settings.db_pool_max,
                                        reset=_keep_session_state)
    return eng


async def _keep_session_state(_: asyncpg.Connection) -> None:
    """Pool reset on release: nothing beyond asyncpg's own rollback of an open transaction.

    asyncpg's default reset sends `SELECT pg_advisory_unlock_all(); CLOSE ALL; UNLISTEN *; RESET ALL`
    on every release: a round trip per statement outside a transaction, a third of a scan's round
    trips. Stockline leaves no session state behind to reset: it takes only transaction-scoped
    advisory locks (pg_advisory_xact_lock), never LISTENs, SETs or DECLAREs cursors. Keep it so.
    """


async def disconnect() -> None:
    eng = _engine
    if isinstance(eng, PostgresEngine) and eng.pool is not None:
        await eng.close_connection_pool()


def _as_dicts(rows: Sequence[Any] | None) -> list[dict[str, Any]]:
    return [dict(r) for r in rows or []]


async def fetch(sql: str, *args: Any) -> list[dict[str, Any]]:
    """Run one statement with `{}` placeholders; joins the current transaction if any."""
    eng = engine()
    if isinstance(eng, SQLiteEngine):
        current = eng.current_transaction.get()
        if current is not None:
            # One hop to the connection's thread: Piccolo makes four of each statement (a PRAGMA the
            # connection already has, the statement, the fetch, the cursor's close). Rows come as dicts
            # (the connection's row factory), values converted as Piccolo's own queries get them.
            return list(await current.connection.execute_fetchall(sql.replace("{}", "?"), args))
    return _as_dicts(await eng.run_querystring(QueryString(sql, *args)))


async def fetch_one(sql: str, *args: Any) -> dict[str, Any] | None:
    rows = await fetch(sql, *args)
    return rows[0] if rows else None


async def fetch_as(row_type: type[T], sql: str, *args: Any) -> list[T]:
    """`fetch`, each row converted to `row_type` (a msgspec Struct or a dataclass whose fields are the
    statement's columns): a column that is missing or of the wrong type fails here, not in a template.
    Lax conversion: SQLite has no boolean (0/1) and hands back what Piccolo stored for the rest."""
    return [msgspec.convert(row, row_type, strict=False) for row in await fetch(sql, *args)]


async def fetch_one_as(row_type: type[T], sql: str, *args: Any) -> T | None:
    rows = await fetch_as(row_type, sql, *args)
    return rows[0] if rows else None


async def pg_fetchrow(sql: str, *args: Any) -> asyncpg.Record | None:
    """PostgreSQL: one statement with `$n` placeholders straight to asyncpg (prepared once per
    connection, no query building). Inside a transaction it joins it; outside, the statement is its own
    transaction (one round trip, no BEGIN/COMMIT), shielded like run_in_transaction and retried on
    deadlocks and serialization failures."""
    eng = engine()
    assert isinstance(eng, PostgresEngine), "pg_fetchrow is for PostgreSQL"
    current = eng.current_transaction.get()
    if current is not None:
        connection: asyncpg.Connection = current.connection
        return await connection.fetchrow(sql, *args)

    async def attempt_all() -> asyncpg.Record | None:
        for attempt in range(1, WRITE_ATTEMPTS_MAX + 1):
            try:
                if eng.pool is None:
                    conn: asyncpg.Connection = await eng.get_new_connection()
                    try:
                        return await conn.fetchrow(sql, *args)
                    finally:
                        await conn.close()
                async with eng.pool.acquire() as pooled:
                    return await pooled.fetchrow(sql, *args)
            except Exception as exc:  # only transient errors are retried
                if attempt == WRITE_ATTEMPTS_MAX or not _is_transient(exc):
                    raise
                await asyncio.sleep(_RETRY_BACKOFF_S * attempt)
        raise AssertionError("unreachable")

    return await asyncio.shield(asyncio.ensure_future(attempt_all()))


def pg_own_transaction_pooled() -> bool:
    """PostgreSQL with a pool, outside any transaction: a statement sent now is its own transaction
    (what the ledger's group commit may share with other such statements)."""
    eng = engine()
    return isinstance(eng, PostgresEngine) and eng.pool is not None and eng.current_transaction.get() is None


async def pg_fetch_own_transaction(sql: str, *args: Any) -> list[asyncpg.Record]:
    """PostgreSQL, outside any transaction (pg_own_transaction_pooled): one statement as its own
    transaction on a pooled connection. Not retried: its caller decides what a failure means."""
    eng = engine()
    assert isinstance(eng, PostgresEngine), "pg_fetch_own_transaction is for PostgreSQL"
    assert eng.pool is not None, "pg_fetch_own_transaction needs the pool"
    async with eng.pool.acquire() as pooled:
        rows: list[asyncpg.Record] = await pooled.fetch(sql, *args)
        return rows


def values_table(columns: Sequence[tuple[str, str]], rows: Sequence[Sequence[Any]]) -> tuple[str, list[Any]]:
    """A FROM item `u(column, ...)` holding `rows`, for set-based statements, and its one parameter:
    the rows as a JSON array of arrays, read by PostgreSQL (jsonb, cast per column) and SQLite (json_each)
    alike. JSON is encoded and parsed in C on both sides; asyncpg's encoding of one array per column
    cost more in Python than the statement in PostgreSQL. `columns` are (name, PostgreSQL type) pairs."""
    body = json.dumps(rows, default=_json_value)
    if is_postgres():
        picks = ", ".join(f"CAST(e ->> {n} AS {pg_type}) AS {name}" for n, (name, pg_type) in enumerate(columns))
        return f"(SELECT {picks} FROM jsonb_array_elements(CAST({{}} AS jsonb)) AS e) AS u", [body]
    picks = ", ".join(f"json_extract(value, '$[{n}]') AS {name}" for n, (name, _) in enumerate(columns))
    return f"(SELECT {picks} FROM json_each({{}})) AS u", [body]


def _json_value(value: Any) -> Any:
    """What JSON has no type for (json.dumps asks only for those)."""
    if isinstance(value, datetime):
        # PostgreSQL reads ISO 8601; SQLite compares the text Piccolo's adapter writes (UTC, str()).
        return value.isoformat() if is_postgres() else str(value.astimezone(UTC) if value.tzinfo else value)
    if isinstance(value, date):
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} has no JSON form for a values table")


async def execute_ddl(statement: str) -> None:
    await engine().run_ddl(statement)


@asynccontextmanager
async def transaction(write: bool = True) -> AsyncIterator[None]:
    """One explicit transaction. On SQLite writes take the lock up front (BEGIN IMMEDIATE)."""
    eng = engine()
    if isinstance(eng, SQLiteEngine):
        kind = TransactionType.immediate if write else TransactionType.deferred
        async with eng.transaction(transaction_type=kind):
            yield
    else:
        async with eng.transaction():
            yield


def after_commit(callback: Callable[[], None]) -> None:
    """Run `callback` once the enclosing run_in_transaction commits; never if it rolls back (a
    rehearsal, a failed command, a savepoint undone). Outside one, the write already committed."""
    pending = _after_commit.get()
    if pending is None:
        callback()
    else:
        pending.append(callback)


def _is_transient(exc: BaseException) -> bool:
    if isinstance(exc, (asyncpg.exceptions.DeadlockDetectedError, asyncpg.exceptions.SerializationError)):
        return True
    return isinstance(exc, sqlite3.OperationalError) and "locked" in str(exc)


async def run_in_transaction(work: Callable[[], Awaitable[T]]) -> T:
    """Run `work` in one write transaction, retrying transient lock conflicts.

    The attempt runs in its own task under `asyncio.shield`: a caller that goes away
    (client disconnect) cannot cancel a commit halfway, and SQLite's worker thread is not
    leaked mid-statement.
    """

    current = engine().current_transaction.get()
    if current is not None:
        # Nested: the outermost command owns the transaction and its retries; a savepoint keeps
        # this part all-or-nothing even if the caller catches its error and carries on.
        savepoint: _Savepoint = await current.savepoint()
        pending = _after_commit.get()
        mark = len(pending) if pending is not None else 0
        try:
            result = await work()
        except BaseException:
            await savepoint.rollback_to()
            if pending is not None:
                del pending[mark:]  # what the savepoint undid will never commit
            raise
        await savepoint.release()
        return result

    async def attempt_all() -> T:
        for attempt in range(1, WRITE_ATTEMPTS_MAX + 1):
            pending: list[Callable[[], None]] = []
            _after_commit.set(pending)  # this task's own context: a copy of the caller's
            try:
                async with transaction(write=True):
                    result = await work()
            except Exception as exc:  # only transient errors are retried
                if attempt == WRITE_ATTEMPTS_MAX or not _is_transient(exc):
                    raise
                await asyncio.sleep(_RETRY_BACKOFF_S * attempt)
                continue
            for callback in pending:
                callback()
            return result
        raise AssertionError("unreachable")

    return await asyncio.shield(asyncio.ensure_future(attempt_all()))
