"""What has arrived against purchase orders, read from the ledger (never stored beside it).

A unit is received against an order when a receipt movement (from the SUPPLIER virtual location)
carries the order's number as its doc_ref; a reversal of that receipt (back to SUPPLIER, same doc_ref)
takes it off again. Damaged units count as received: they came, and the supplier credit is another
matter. So there is no second counter to drift from the ledger, and a receipt replayed from a
handheld's outbox counts exactly like one posted online.
"""

from __future__ import annotations

from datetime import UTC, date, datetime

import msgspec

from backend import db
from backend.domain.locations.service import virtual
from backend.domain.purchasing._status import OPEN

_IDS_PER_STATEMENT_MAX = 5_000

# Per order line: received units and the first receipt's time. `{sup}` is the SUPPLIER location's id.
_LINE_RECEIPTS = (
    "SELECT l.id AS line_id, l.purchase_order_id, l.item_id, l.qty_ordered, l.unit_cost_minor,"
    " CAST(COALESCE(SUM(CASE WHEN m.from_location_id = {sup} THEN m.qty"
    "                   WHEN m.to_location_id = {sup} THEN -m.qty ELSE 0 END), 0) AS BIGINT) AS received,"
    " MIN(CASE WHEN m.from_location_id = {sup} THEN m.created_at END) AS first_receipt_at"
    " FROM purchase_order_lines l JOIN purchase_orders p ON p.id = l.purchase_order_id"
    " LEFT JOIN movements m ON m.doc_ref = p.number AND m.doc_ref <> '' AND m.item_id = l.item_id"
    "  AND (m.from_location_id = {sup} OR m.to_location_id = {sup})"
)


class LineReceipts(msgspec.Struct, frozen=True):
    line_id: int
    purchase_order_id: int
    item_id: int
    qty_ordered: int
    unit_cost_minor: int
    received: int
    first_receipt_at: datetime | None

    @property
    def open_qty(self) -> int:
        return max(self.qty_ordered - self.received, 0)


async def _supplier_location_id() -> int:
    return (await virtual("supplier")).id


def _sql(where: str, sup: int) -> str:
    # `sup` is an integer id read from the database, never input: safe to write into the statement.
    return (_LINE_RECEIPTS.replace("{sup}", str(int(sup))) + f" WHERE {where}"
            " GROUP BY l.id, l.purchase_order_id, l.item_id, l.qty_ordered, l.unit_cost_minor ORDER BY l.id")


async def line_receipts(po_ids: list[int]) -> dict[int, list[LineReceipts]]:
    """Every line of these orders with what arrived against it, by order id."""
    found: dict[int, list[LineReceipts]] = {po_id: [] for po_id in po_ids}
    if not po_ids:
        return found
    sup = await _supplier_location_id()
    for start in range(0, len(po_ids), _IDS_PER_STATEMENT_MAX):
        chunk = po_ids[start:start + _IDS_PER_STATEMENT_MAX]
        marks = ", ".join("{}" for _ in chunk)
        rows = await db.fetch(_sql(f"l.purchase_order_id IN ({marks})", sup), *chunk)
        for line in msgspec.convert(rows, list[LineReceipts], strict=False):
            found[line.purchase_order_id].append(line)
    return found


async def on_order(warehouse_id: int | None = None) -> dict[tuple[int, int], int]:
    """Units still to arrive per (item_id, warehouse_id): ordered minus received on every line of sent and
    partially received orders (over-received lines count 0, never negative)."""
    sup = await _supplier_location_id()
    where, args = f"p.status IN ({', '.join('{}' for _ in OPEN)})", list[object](OPEN)
    if warehouse_id is not None:  # a condition of its own: "({} = 0 OR ...)" cost PostgreSQL a worse plan
        where += " AND p.warehouse_id = {}"
        args.append(warehouse_id)
    rows = await db.fetch(
        "SELECT p.warehouse_id, r.item_id, r.qty_ordered, r.received FROM (" + _sql(where, sup)
        + ") r JOIN purchase_orders p ON p.id = r.purchase_order_id", *args)
    totals: dict[tuple[int, int], int] = {}
    for r in rows:
        still = max(int(r["qty_ordered"]) - int(r["received"]), 0)
        if still:
            key = (int(r["item_id"]), int(r["warehouse_id"]))
            totals[key] = totals.get(key, 0) + still
    return totals


class LeadTimeObservation(msgspec.Struct, frozen=True):
    """One order line's lead time: the first receipt's date minus the date the order was sent (UTC days)."""

    supplier_id: int
    item_id: int
    warehouse_id: int
    purchase_order_id: int
    number: str
    sent_on: date
    received_on: date
    days: int


class _SentLine(msgspec.Struct, frozen=True):
    purchase_order_id: int
    number: str
    supplier_id: int
    warehouse_id: int
    sent_at: datetime


async def lead_time_observations(*, supplier_id: int | None = None, item_ids: list[int] | None = None,
                                 since: datetime | None = None) -> list[LeadTimeObservation]:
    """Observed lead times per order line that has received anything, for orders sent since `since`
    (optionally one supplier's, or some items'). Replenishment takes their mean and variability per
    supplier (and item); an order line with nothing received yet is no observation."""
    where = ["p.sent_at IS NOT NULL", "p.status <> 'cancelled'", "({} = 0 OR p.supplier_id = {})"]
    args: list[object] = [supplier_id or 0, supplier_id or 0]
    if since is not None:
        where.append("p.sent_at >= {}")
        args.append(since)
    if item_ids is not None:
        if not item_ids:
            return []
        where.append(f"l.item_id IN ({', '.join('{}' for _ in item_ids)})")
        args.extend(item_ids)
    orders = await db.fetch(
        "SELECT DISTINCT p.id AS purchase_order_id, p.number, p.supplier_id, p.warehouse_id, p.sent_at"
        " FROM purchase_orders p JOIN purchase_order_lines l ON l.purchase_order_id = p.id"
        f" WHERE {' AND '.join(where)}",
        *args)
    sent = {o.purchase_order_id: o for o in msgspec.convert(orders, list[_SentLine], strict=False)}
    wanted = set(item_ids) if item_ids is not None else None
    observed: list[LeadTimeObservation] = []
    for po_id, lines in (await line_receipts(sorted(sent))).items():
        po = sent[po_id]
        for line in lines:
            if line.first_receipt_at is None or (wanted is not None and line.item_id not in wanted):
                continue
            sent_on, received_on = _utc_day(po.sent_at), _utc_day(line.first_receipt_at)
            observed.append(LeadTimeObservation(po.supplier_id, line.item_id, po.warehouse_id, po_id, po.number,
                                                sent_on, received_on, max((received_on - sent_on).days, 0)))
    return observed


def _utc_day(moment: datetime) -> date:
    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).astimezone(UTC).date()
