"""Seed what the replenishment browser test needs into a running server's database (run as a
subprocess): REPL-CUP, sold today, bought from REPLSUP in cases of 12 with an MOQ of 24."""

from __future__ import annotations

import asyncio

from backend import db
from backend.domain import purchasing
from backend.domain.auth.audit import Actor
from backend.domain.ledger import commands as c
from backend.settings import Settings
from tests.factories import item

SKU = "REPL-CUP"
SUPPLIER = "REPLSUP"
SEEDER = Actor("system:test")


async def seed() -> None:
    await db.connect(Settings.from_env())
    try:
        await item(SKU)
        await c.execute(c.Receive(sku=SKU, qty=30, to_location="B-02"), key="e2e-repl-receive", actor="test")
        await c.execute(c.Ship(sku=SKU, qty=25, from_location="B-02"), key="e2e-repl-ship", actor="test")
        made = await purchasing.create_supplier(
            purchasing.NewSupplier(code=SUPPLIER, name="Repl Supplies", currency="EUR", lead_time_days=5, moq=24,
                                   case_pack=12), actor=SEEDER, key="e2e-repl-supplier")
        await purchasing.link_supplier_item(made.id, purchasing.SupplierItemSpec(sku=SKU, preferred=True),
                                            actor=SEEDER, key="e2e-repl-link")
    finally:
        await db.disconnect()


if __name__ == "__main__":
    asyncio.run(seed())
