"""Demo replenishment: a morning of shipments for a few items the demo suppliers sell, then one run, so
the Replenishment screen opens with suggestions and the numbers behind them. Inside the demo seed's
transaction; once per database (REPLENISHMENT_SEEDED_KEY)."""

from __future__ import annotations

from backend import db
from backend.domain import idempotency, replenishment
from backend.domain.catalog.service import get_item_by_id
from backend.domain.ledger import commands
from backend.domain.locations.service import get_location_by_id

REPLENISHMENT_SEEDED_KEY = "demo:replenishment"
SHIPPED_ITEMS = 12
SHIPPED_SHARE_PCT = 70  # of a bin's available units: what is left falls below the reorder point


async def seed_replenishment() -> None:
    rows = await db.fetch(
        "SELECT b.item_id, b.location_id, b.on_hand - b.reserved - b.quarantined - b.damaged AS available"
        " FROM balances b JOIN locations l ON l.id = b.location_id JOIN items i ON i.id = b.item_id"
        " WHERE l.kind = 'bin' AND b.lot = '' AND NOT i.lot_tracked AND NOT i.serial_tracked"
        " AND b.on_hand - b.reserved - b.quarantined - b.damaged >= 10"
        " AND b.item_id IN (SELECT item_id FROM supplier_items)"
        " ORDER BY b.item_id, b.location_id")
    shipped: set[int] = set()
    for r in rows:
        if len(shipped) == SHIPPED_ITEMS:
            break
        if r["item_id"] in shipped:
            continue
        shipped.add(r["item_id"])
        item, bin_ = await get_item_by_id(r["item_id"]), await get_location_by_id(r["location_id"])
        qty = int(r["available"]) * SHIPPED_SHARE_PCT // 100
        await commands.execute(commands.Ship(sku=item.sku, qty=qty, from_location=bin_.code, doc_ref="DEMO-SALES"),
                               key=f"demo:replenishment:ship:{item.id}", actor="system:demo")
    await replenishment.run_replenishment(forecast_budget_s=0)
    await idempotency.claim(REPLENISHMENT_SEEDED_KEY, "DemoReplenishment",
                            idempotency.payload_hash("DemoReplenishment", {}), "system:demo")
    await idempotency.record_answer(REPLENISHMENT_SEEDED_KEY, idempotency.encode_answer())
