"""Receiving against a purchase order on the handheld: the order a scanned or typed PO number selects,
and the item check made at the item's scan (the receipt itself is checked again by the purchasing
domain when it posts, online or replayed from the outbox)."""

from __future__ import annotations

from dataclasses import dataclass

from backend.domain.errors import InvalidInput
from backend.domain.purchasing import (
    RECEIVABLE,
    PurchaseOrderMismatch,
    PurchaseOrderView,
    find_order_by_number,
    po_number_of,
    status_words,
)


async def expected_order(doc_ref: str) -> PurchaseOrderView | None:
    """The order the receipt's doc_ref names, to show what is still expected; None for a delivery note."""
    number = po_number_of(doc_ref)
    return await find_order_by_number(number) if number else None


async def select_order(code: str, sku_in_progress: str) -> PurchaseOrderView:
    """A scanned PO number: the order to receive against, if it can be received."""
    if sku_in_progress:
        raise InvalidInput(f"Finish {sku_in_progress} first (scan the bin), or tap Cancel, then scan the PO.")
    po = await expected_order(code)
    if po is None:
        raise PurchaseOrderMismatch(f"No purchase order {code.strip().upper()}. Check the number on the delivery note.")
    if po.status not in RECEIVABLE:
        why = "has not been sent yet" if po.status == "draft" else f"is {status_words(po.status)}"
        raise PurchaseOrderMismatch(f"{po.number} {why}: nothing can be received against it. Ask a manager.")
    return po


async def order_for_item(doc_ref: str, sku: str) -> PurchaseOrderView | None:
    """The selected order, refusing an item that is not on it."""
    po = await expected_order(doc_ref)
    if po is not None and not any(line.sku == sku for line in po.lines):
        raise PurchaseOrderMismatch(f"{sku} is not on {po.number}. Put it aside and tell a manager, or clear the PO "
                                    "number to receive it without the order.")
    return po


@dataclass(frozen=True, slots=True)
class ExpectedLine:
    sku: str
    item_name: str
    qty_ordered: int
    qty_received: int
    qty_open: int


def expected_lines(po: PurchaseOrderView, sent_sku: str = "", sent_qty: int = 0) -> list[ExpectedLine]:
    """The order's lines still expected, counting a receipt just handed to the outbox (`sent_*`) as
    arrived: the screen is drawn before the outbox posts it, and the receiver has just put it away."""
    lines = []
    for line in po.lines:
        received = line.qty_received + (sent_qty if line.sku == sent_sku else 0)
        still = max(line.qty_ordered - received, 0)
        if still:
            lines.append(ExpectedLine(line.sku, line.item_name, line.qty_ordered, received, still))
    return lines
