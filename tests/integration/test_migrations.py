"""`stockline migrate` brings an empty database to the current schema and is safe to run twice."""

from __future__ import annotations

from backend import db
from backend.domain.schema import ALL_TABLES
from backend.migrations import applied_versions, available, migrate


async def test_migrate_twice_applies_once(empty_db):
    first = await migrate()
    assert [m.version for m in first] == [m.version for m in available()]
    assert await migrate() == []
    assert await applied_versions() == {m.version for m in available()}


async def test_every_orm_column_exists_in_the_migrated_schema(empty_db):
    await migrate()
    for table in ALL_TABLES:
        columns = ", ".join(c._meta.db_column_name for c in table._meta.columns)
        await db.fetch(f"SELECT {columns} FROM {table._meta.tablename} LIMIT 1")


async def test_virtual_locations_are_seeded(empty_db):
    await migrate()
    rows = await db.fetch("SELECT code FROM locations ORDER BY code")
    assert {r["code"] for r in rows} == {"ADJUSTMENT", "CUSTOMER", "IN-TRANSIT", "SCRAP", "SUPPLIER"}
