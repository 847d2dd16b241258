"""Allocation against the ledger: read free stock (locked), decide with `_allocation.plan`, reserve
the lines' shares in one ledger batch (`batches.reserve_orders`, each line under its own key), and keep
the reason with the order.

Free stock is read `FOR UPDATE` on PostgreSQL in (item, location, lot) order — the ledger's own lock
order — so two orders that want the last unit queue on its balance row: the second sees it gone.
SQLite needs no lock (BEGIN IMMEDIATE already serializes writers).
"""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime
from typing import Any

from backend import db
from backend.domain.auth.audit import Actor
from backend.domain.fulfillment.allocation import BinStock, allocate
from backend.domain.ledger import batches
from backend.domain.ledger import commands as ledger
from backend.domain.orders._allocation import LineDecision, LineNeed, plan
from backend.domain.orders._rules import OrderRules, rules_of

_LOCK_SUFFIX = " FOR UPDATE OF b"


async def _free_bins(item_ids: list[int], warehouse_ids: list[int]) -> dict[tuple[int, int], list[BinStock]]:
    items, whs = ", ".join("{}" for _ in item_ids), ", ".join("{}" for _ in warehouse_ids)
    lock = _LOCK_SUFFIX if db.is_postgres() else ""
    rows = await db.fetch(
        "SELECT b.item_id, l.warehouse_id, l.code, l.walk_seq, b.lot,"
        " b.on_hand - b.reserved - b.quarantined - b.damaged AS available"
        " FROM balances b JOIN locations l ON l.id = b.location_id"
        f" WHERE b.item_id IN ({items}) AND l.warehouse_id IN ({whs}) AND l.kind = 'bin' AND l.active"
        " AND b.on_hand - b.reserved - b.quarantined - b.damaged > 0"
        f" ORDER BY b.item_id, b.location_id, b.lot{lock}",
        *item_ids, *warehouse_ids,
    )
    bins: dict[tuple[int, int], list[BinStock]] = defaultdict(list)
    for r in rows:
        bins[(r["item_id"], r["warehouse_id"])].append(BinStock(r["code"], r["walk_seq"], r["lot"],
                                                                 int(r["available"])))
    return bins


def _take_bins(bins: list[BinStock], qty: int) -> list[tuple[BinStock, int]]:
    """Bins in walk order for `qty` units; what they gave is taken off `bins` (same item, next line)."""
    allocation = allocate(qty, bins)
    assert allocation.backordered == 0, "the plan only takes what the warehouse has"
    taken = {id(b): q for b, q in allocation.takes}
    bins[:] = [BinStock(b.location, b.walk_seq, b.lot, b.available - taken.get(id(b), 0)) for b in bins
               if b.available - taken.get(id(b), 0) > 0]
    return allocation.takes


def _reserve_lines(line: dict[str, Any], decision: LineDecision,
                   bins: dict[tuple[int, int], list[BinStock]]) -> list[ledger.ReserveLine]:
    """The line's share, bin by bin in walk order."""
    return [ledger.ReserveLine(sku=line["sku"], qty=q, location=b.location, lot=b.lot)
            for warehouse_id, qty in decision.takes
            for b, q in _take_bins(bins[(decision.item_id, warehouse_id)], qty)]


async def _reserve_lines_of(order_id: int, order_ref: str, lines: dict[int, dict[str, Any]],
                            decisions: list[LineDecision],
                            seq: int, bins: dict[tuple[int, int], list[BinStock]],
                            actor: Actor) -> dict[int, tuple[list[int], int]]:
    """Reserve every line's share in one ledger batch (each line under its own key); returns
    line_no → (reservation ids, units reserved). A bin whose units a concurrent writer the lock did not
    cover (e.g. a pick) took is left out: that part of the line stays backordered, never fails the order."""
    requests = []
    for d in decisions:
        reserve = _reserve_lines(lines[d.line_no], d, bins)
        if reserve:
            requests.append((d.line_no, f"order:{order_id}:a{seq}:{lines[d.line_no]['line_no']}",
                             batches.OrderLines(lines=reserve, order_ref=order_ref, doc_ref=order_ref)))
    reserved: dict[int, tuple[list[int], int]] = {d.line_no: ([], 0) for d in decisions}
    if requests:
        done = await batches.reserve_orders([(key, o) for _, key, o in requests], actor=actor.label)
        for (line_no, _, o), r in zip(requests, done, strict=True):
            reserved[line_no] = ([rid for rid in r.reservation_ids if rid is not None], r.reserved(o.lines))
    return reserved


async def _record(order_id: int, lines: dict[int, dict[str, Any]], decisions: list[LineDecision],
                  reserved: dict[int, tuple[list[int], int]], prefix: str) -> None:
    now = datetime.now(UTC)
    links = [(lines[d.line_no]["id"], rid) for d in decisions for rid in reserved[d.line_no][0]]
    if links:
        values = ", ".join("({}, {})" for _ in links)
        await db.fetch(f"INSERT INTO order_reservations (order_line_id, reservation_id) VALUES {values}",
                       *[v for pair in links for v in pair])
    for d in decisions:
        qty = reserved[d.line_no][1]
        if qty:
            await db.fetch("UPDATE order_lines SET backordered_qty = backordered_qty - {} WHERE id = {}"
                           " AND backordered_qty >= {}", qty, lines[d.line_no]["id"], qty)
    rows = [(order_id, d.line_no, d.takes[0][0] if d.takes and reserved[d.line_no][1] else None,
             reserved[d.line_no][1], prefix + (d.reason if reserved[d.line_no][1] == d.allocated
                                               else f"{d.reason}; stock taken by another order meanwhile, backordered"),
             now) for d in decisions]
    values = ", ".join("({}, {}, {}, {}, {}, {})" for _ in rows)
    await db.fetch(f"INSERT INTO order_allocations (order_id, line_no, warehouse_id, qty, reason, created_at)"
                   f" VALUES {values}", *[v for row in rows for v in row])


async def allocate_order(order_id: int, *, actor: Actor, rules: OrderRules | None = None,
                         record_nothing: bool = True, reason_prefix: str = "") -> int:
    """Reserve what the order's rules allow for every unit not yet allocated, in the caller's
    transaction; returns the units still backordered. A later pass over backorders
    (`record_nothing=False`) leaves no trace when it finds nothing for the order."""
    rows = await db.fetch(
        "SELECT ol.id, ol.line_no, ol.item_id, i.sku, ol.backordered_qty, o.order_ref, o.alloc_seq, o.warehouse_pinned"
        " FROM order_lines ol JOIN items i ON i.id = ol.item_id JOIN orders o ON o.id = ol.order_id"
        " WHERE ol.order_id = {} AND ol.backordered_qty > 0 AND NOT ol.dropship ORDER BY ol.line_no", order_id)
    if not rows:
        return 0
    rules = rules or await rules_of(order_id)
    lines = {r["line_no"]: r for r in rows}
    needs = [LineNeed(r["line_no"], r["item_id"], int(r["backordered_qty"])) for r in rows]
    warehouse_ids = [w.id for w in rules.warehouses]
    bins = await _free_bins(sorted({n.item_id for n in needs}), warehouse_ids) if warehouse_ids else {}
    free = {k: sum(b.available for b in v) for k, v in bins.items()}
    decisions = plan(needs, rules.warehouses, free, allow_split=rules.allow_split, destination=rules.destination)
    if not record_nothing and not any(d.allocated for d in decisions):
        return sum(n.qty for n in needs)
    seq_row = await db.fetch_one("UPDATE orders SET alloc_seq = alloc_seq + 1 WHERE id = {} RETURNING alloc_seq",
                                 order_id)
    assert seq_row is not None
    seq, ref = seq_row["alloc_seq"], rows[0]["order_ref"]
    # One ledger batch: it locks every balance row it reserves from in the ledger's lock order first.
    reserved = await _reserve_lines_of(order_id, ref, lines, sorted(decisions, key=lambda d: (d.item_id, d.line_no)),
                                       seq, bins, actor)
    await _record(order_id, lines, decisions, reserved, reason_prefix)
    if seq == 1 and not rows[0]["warehouse_pinned"]:
        await _set_primary_warehouse(order_id, decisions, reserved)
    return sum(n.qty for n in needs) - sum(q for _, q in reserved.values())


async def _set_primary_warehouse(order_id: int, decisions: list[LineDecision],
                                 reserved: dict[int, tuple[list[int], int]]) -> None:
    """The warehouse that ships most of the order's first allocation is the order's own (pick lists
    and packing default to it)."""
    units: dict[int, int] = defaultdict(int)
    for d in decisions:
        if reserved[d.line_no][1]:
            for wid, qty in d.takes:
                units[wid] += qty
    if units:
        primary = max(sorted(units), key=lambda wid: units[wid])
        await db.fetch("UPDATE orders SET warehouse_id = {} WHERE id = {}", primary, order_id)
