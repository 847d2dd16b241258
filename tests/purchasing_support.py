"""Setup helpers for purchasing: a supplier, its items, and orders in a given state, built through the
domain's own commands."""

from __future__ import annotations

from backend.domain import purchasing as p
from backend.domain.auth.audit import Actor
from backend.domain.catalog.service import get_item
from backend.domain.locations.service import get_location
from backend.domain.receiving.receipts import Receipt, post_receipt
from tests.factories import key

MANAGER = Actor("manager-1", device="tablet-1", role="manager")
RECEIVER = Actor("user:R1", device="hh-1", role="receiver")


async def supplier(code: str = "ACME", *, lead_time_days: int = 7, moq: int = 1, case_pack: int = 1) -> int:
    made = await p.create_supplier(p.NewSupplier(code=code, name=f"{code} Ltd", currency="EUR",
                                                 lead_time_days=lead_time_days, moq=moq, case_pack=case_pack),
                                   actor=MANAGER, key=key("sup"))
    return made.id


async def draft(supplier_id: int, warehouse_code: str, lines: dict[str, int]) -> int:
    wh = await get_location(warehouse_code)
    draft_lines = [p.DraftLine(item_id=(await get_item(sku)).id, qty=qty) for sku, qty in lines.items()]
    draft = p.DraftOrder(supplier_id=supplier_id, warehouse_id=wh.id, lines=draft_lines)
    [po_id] = await p.create_draft_orders([draft], actor=MANAGER, key=key("draft"))
    return po_id


async def sent(supplier_id: int, warehouse_code: str, lines: dict[str, int]) -> p.PurchaseOrderView:
    po_id = await draft(supplier_id, warehouse_code, lines)
    return await p.send_order(po_id, actor=MANAGER, key=key("send"))


async def receive_against(number: str, sku: str, qty: int, bin_code: str, *, damaged: int = 0) -> list[int]:
    done = await post_receipt(Receipt(sku=sku, qty=qty, damaged=damaged, to_location=bin_code, doc_ref=number),
                              key=key("rcpt"), actor=RECEIVER)
    return done.movement_ids
