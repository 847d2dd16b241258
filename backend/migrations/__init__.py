"""Versioned schema migrations, raw SQL per dialect.

Piccolo's auto-migrations do not run on SQLite, so each migration is a module `mNNNN_*.py`
with `NAME` and `statements(dialect) -> list[str]`, frozen once released. `migrate()` applies
the missing ones, each in its own transaction, and is safe to run twice (or concurrently on
Postgres, where an advisory lock serializes runners: several replicas of the web image may start,
and migrate, at the same moment).
"""

from __future__ import annotations

import importlib
import pkgutil
from dataclasses import dataclass
from datetime import UTC, datetime

from backend import db

_ADVISORY_LOCK_ID = 724_001


@dataclass(frozen=True, slots=True)
class Migration:
    version: int
    name: str
    module: str


def available() -> list[Migration]:
    found = []
    for info in pkgutil.iter_modules(__path__):
        if info.name.startswith("m") and info.name[1:5].isdigit():
            mod = importlib.import_module(f"{__name__}.{info.name}")
            found.append(Migration(int(info.name[1:5]), mod.NAME, mod.__name__))
    return sorted(found, key=lambda m: m.version)


async def _lock_migrations() -> None:
    """Inside a transaction: wait for any other runner (Postgres; SQLite's BEGIN IMMEDIATE already does)."""
    if db.is_postgres():
        await db.fetch("SELECT pg_advisory_xact_lock({})", _ADVISORY_LOCK_ID)


async def _ensure_table() -> None:
    # Under the lock: two concurrent `CREATE TABLE IF NOT EXISTS` on Postgres can both pass the check
    # and one then fails on the catalog's unique index.
    async with db.transaction(write=True):
        await _lock_migrations()
        await db.execute_ddl(
            "CREATE TABLE IF NOT EXISTS schema_migrations ("
            " version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)"
        )


async def pending_versions() -> list[int]:
    """Migrations not yet applied, read-only (readiness probes call this; it creates nothing)."""
    if db.is_postgres():
        row = await db.fetch_one("SELECT to_regclass('schema_migrations') IS NOT NULL AS present")
    else:
        row = await db.fetch_one(
            "SELECT COUNT(*) > 0 AS present FROM sqlite_master WHERE type = 'table' AND name = 'schema_migrations'"
        )
    done = set()
    if row and row["present"]:
        done = {r["version"] for r in await db.fetch("SELECT version FROM schema_migrations")}
    return [m.version for m in available() if m.version not in done]


async def applied_versions() -> set[int]:
    await _ensure_table()
    return {r["version"] for r in await db.fetch("SELECT version FROM schema_migrations")}


async def migrate() -> list[Migration]:
    """Bring the database to the current schema; returns the migrations applied now."""
    dialect = "postgres" if db.is_postgres() else "sqlite"
    if dialect == "sqlite":
        await db.execute_ddl("PRAGMA journal_mode=WAL")
    await _ensure_table()
    done: list[Migration] = []
    for migration in available():
        async with db.transaction(write=True):
            await _lock_migrations()
            already = await db.fetch_one(
                "SELECT version FROM schema_migrations WHERE version = {}", migration.version
            )
            if already:
                continue
            module = importlib.import_module(migration.module)
            for statement in module.statements(dialect):
                await db.execute_ddl(statement)
            await db.fetch(
                "INSERT INTO schema_migrations (version, name, applied_at) VALUES ({}, {}, {})",
                migration.version,
                migration.name,
                datetime.now(UTC).isoformat(),
            )
        done.append(migration)
    return done
