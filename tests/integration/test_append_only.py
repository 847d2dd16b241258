"""Movements can never be updated or deleted: the database itself refuses."""

from __future__ import annotations

import pytest

from backend import db
from tests.factories import item, receive, warehouse

pytestmark = pytest.mark.usefixtures("ledger_db")


@pytest.mark.parametrize(
    "statement",
    ["UPDATE movements SET qty = qty + 1", "DELETE FROM movements"],
)
async def test_database_refuses_changing_movements(statement):
    b1, *_ = await warehouse()
    await item("MUG")
    await receive("MUG", 5, b1)
    with pytest.raises(Exception, match="append-only"):
        async with db.transaction():
            await db.fetch(statement)
    row = await db.fetch_one("SELECT COUNT(*) AS n, SUM(qty) AS total FROM movements")
    assert (row["n"], row["total"]) == (1, 5)

