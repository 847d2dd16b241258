"""Demo purchasing: three suppliers with the demo items they sell, and purchase orders in every state
(closed, received, partially received, sent, draft, cancelled) whose receipts went through the same
receiving code as the handheld's, so the tablet screens and replenishment have something to show.

Lead times: a demo cannot wait for deliveries, so each order's sent_at is set back by the days its
delivery "took" (its receipts post now); the ledger itself is never backdated.
"""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

from backend import db
from backend.domain import idempotency
from backend.domain import purchasing as p
from backend.domain.auth.audit import Actor
from backend.domain.idempotency import payload_hash, scoped_key
from backend.domain.locations.service import get_location
from backend.domain.receiving.receipts import Receipt, post_receipt

PURCHASING_SEEDED_KEY = scoped_key("demo", "purchasing")
SEED = 20261214
_SYSTEM = Actor("system:demo")
# code, name, currency, quoted lead time (days), MOQ, case pack, product codes it sells (preferred)
SUPPLIERS = (
    ("NORDIC", "Nordic Ceramics AB", "EUR", 14, 24, 6, ("MUG", "BTL", "CTB", "CDL")),
    ("PACIFIC", "Pacific Textiles Ltd", "USD", 35, 100, 12, ("TEE", "SCK", "TOT", "PCH", "YGM")),
    ("LOCAL", "Local Print & Goods", "EUR", 3, 1, 1, ("NBK", "CAS", "LMP", "TEA", "COF", "HCR")),
)
# (supplier, days its delivery took or None if nothing came yet, status to leave it in)
ORDERS = (
    ("NORDIC", 12, "closed"), ("NORDIC", 16, "received"), ("NORDIC", 15, "partially_received"),
    ("PACIFIC", 38, "received"), ("PACIFIC", None, "sent"), ("LOCAL", 2, "received"), ("LOCAL", 4, "closed"),
    ("LOCAL", None, "draft"), ("PACIFIC", None, "cancelled"),
)
LINES_PER_ORDER = 3


def _key(name: str) -> str:
    return scoped_key("demo", name)


async def _seed_suppliers() -> dict[str, int]:
    now = datetime.now(UTC)
    ids: dict[str, int] = {}
    for n, (code, name, currency, lead, moq, pack, products) in enumerate(SUPPLIERS):
        made = await p.create_supplier(p.NewSupplier(code=code, name=name, currency=currency, lead_time_days=lead,
                                                     moq=moq, case_pack=pack), actor=_SYSTEM, key=_key(f"supplier:{n}"))
        ids[code] = made.id
        # Every demo item of these products, in one statement (1,200 items): price 60 % of our cost.
        likes = " OR ".join("sku LIKE {}" for _ in products)
        await db.fetch(
            "INSERT INTO supplier_items (supplier_id, item_id, supplier_sku, unit_cost_minor, preferred, created_at,"
            f" updated_at) SELECT {{}}, id, CAST({{}} AS TEXT) || sku, unit_cost_cents * 6 / 10, TRUE, {{}}, {{}}"
            " FROM items"
            f" WHERE NOT is_kit AND ({likes})", made.id, f"{code[:3]}-", now, now, *[f"{c}-%" for c in products])
    # A second, dearer source for mugs: replenishment may pick either.
    await db.fetch(
        "INSERT INTO supplier_items (supplier_id, item_id, supplier_sku, unit_cost_minor, preferred, created_at,"
        " updated_at) SELECT {}, id, 'LP-' || sku, unit_cost_cents * 8 / 10, FALSE, {}, {} FROM items"
        " WHERE sku LIKE 'MUG-%'", ids["LOCAL"], now, now)
    return ids


async def _candidates(supplier_id: int) -> list[tuple[int, str]]:
    rows = await db.fetch("SELECT i.id, i.sku FROM supplier_items si JOIN items i ON i.id = si.item_id"
                          " WHERE si.supplier_id = {} AND si.preferred AND NOT i.lot_tracked AND NOT i.serial_tracked"
                          " ORDER BY i.id LIMIT 60", supplier_id)
    return [(int(r["id"]), str(r["sku"])) for r in rows]


async def _seed_order(n: int, supplier_id: int, took_days: int | None, status: str, rng: random.Random) -> None:
    warehouse = await get_location("WH1")
    lines = rng.sample(await _candidates(supplier_id), LINES_PER_ORDER)
    order = p.DraftOrder(supplier_id=supplier_id, warehouse_id=warehouse.id,
                         lines=[p.DraftLine(item_id=i, qty=rng.choice((24, 48, 72, 96))) for i, _ in lines])
    [po_id] = await p.create_draft_orders([order], actor=_SYSTEM, key=_key(f"po:{n}"))
    if status == "draft":
        return
    if status == "cancelled":
        await p.cancel_order(po_id, actor=_SYSTEM, key=_key(f"po:{n}:cancel"), reason="ordered by phone instead")
        return
    po = await p.send_order(po_id, actor=_SYSTEM, key=_key(f"po:{n}:send"))
    if took_days is not None:
        sent_at = datetime.now(UTC) - timedelta(days=took_days)
        await db.fetch("UPDATE purchase_orders SET sent_at = {}, expected_at = {} WHERE id = {}", sent_at,
                       sent_at + (po.expected_at - po.sent_at if po.expected_at and po.sent_at else timedelta()), po_id)
        dock = await get_location(f"WH1-A-{n + 1:02d}")
        for k, line in enumerate(po.lines):
            qty = line.qty_ordered if status != "partially_received" or k else line.qty_ordered // 2
            if status == "partially_received" and k == LINES_PER_ORDER - 1:
                continue  # nothing of the last line yet
            await post_receipt(Receipt(sku=line.sku, qty=qty, to_location=dock.code, doc_ref=po.number),
                               key=_key(f"po:{n}:receipt:{k}"), actor=_SYSTEM)
    if status == "closed":
        await p.close_order(po_id, actor=_SYSTEM, key=_key(f"po:{n}:close"))


async def seed_purchasing() -> None:
    """Inside the demo seed's transaction; once per database (PURCHASING_SEEDED_KEY)."""
    rng = random.Random(SEED)
    ids = await _seed_suppliers()
    for n, (code, took, status) in enumerate(ORDERS):
        await _seed_order(n, ids[code], took, status, rng)
    await idempotency.claim(PURCHASING_SEEDED_KEY, "DemoPurchasing", payload_hash("DemoPurchasing", {"seed": SEED}),
                            "system:demo")
    await idempotency.record_answer(PURCHASING_SEEDED_KEY, idempotency.encode_answer())
