"""Channel deliveries become orders: one delivery, one transaction, in each order's channel order.

A delivery whose version is not newer than what the order already applied is `stale` (an `updated`
that arrived before its `create` wins over it). Deliveries of one order are serialized across workers
by a transaction-scoped advisory lock on PostgreSQL (SQLite serializes every writer anyway).
A domain error (e.g. a cancel for an order already being picked) rolls the delivery's work back and
marks it `failed` with the reason, for the webhook log; the rest of the queue goes on.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import structlog

from backend import db
from backend.domain import channels, idempotency
from backend.domain.auth import audit
from backend.domain.auth.audit import Actor
from backend.domain.channels import ChannelOrder, ChannelRefund, ChannelView, PendingDelivery
from backend.domain.errors import AlreadyExists, Conflict, DomainError, InvalidInput
from backend.domain.fulfillment.rules import ORDER_REF_LENGTH_MAX
from backend.domain.ledger import commands as ledger
from backend.domain.orders._placing import PlacedLine, Placement, WaitingLine, advance, insert_lines, insert_order
from backend.domain.orders._rules import add_holds, rule_holds
from backend.domain.orders._transitions import EDITABLE, OrderStatus, next_status, statuses_allowing, transition

IMPORT_ACTOR = Actor("job:import_channel_orders", device="worker")
log = structlog.get_logger("stockline.orders")


@dataclass(frozen=True, slots=True)
class _Known:
    id: int
    order_ref: str
    status: OrderStatus
    source_version: int


async def _lock_order(channel: ChannelView, external_id: str) -> _Known | None:
    if db.is_postgres():
        # Two workers with two deliveries of one order: the second waits, then sees the first's work.
        await db.fetch("SELECT pg_advisory_xact_lock(CAST({} AS INTEGER), hashtext({}))", channel.id, external_id)
    row = await db.fetch_one("SELECT id, order_ref, status, source_version FROM orders WHERE channel = {}"
                             " AND external_ref = {}", channel.slug, external_id)
    return _Known(**row) if row else None


async def _default_warehouse(channel: ChannelView) -> int:
    if channel.warehouses:
        row = await db.fetch_one("SELECT id FROM locations WHERE code_key = {}", channel.warehouses[0].casefold())
    else:
        row = await db.fetch_one("SELECT id FROM locations WHERE kind = 'warehouse' AND active ORDER BY id LIMIT 1")
    if row is None:
        raise InvalidInput("Set up a warehouse before taking channel orders.")
    return int(row["id"])


def _order_refs(channel: ChannelView, o: ChannelOrder) -> tuple[str, str]:
    """The order number Stockline shows (slug + the channel's number), and the one it falls back to
    when that is taken (slug + the channel's id of the order, unique per channel)."""
    number = "-".join((o.number or o.external_id).split()) or o.external_id
    return (f"{channel.slug.upper()}-{number}"[:ORDER_REF_LENGTH_MAX],
            f"{channel.slug.upper()}-{o.external_id}"[:ORDER_REF_LENGTH_MAX])


async def _insert(placement: Placement, fallback_ref: str, key: str, actor: Actor, check_lines: bool = True) -> int:
    try:
        return await insert_order(placement, key=key, actor=actor, check_lines=check_lines)
    except AlreadyExists:
        return await insert_order(dataclasses.replace(placement, order_ref=fallback_ref), key=key, actor=actor,
                                  check_lines=check_lines)


async def _lines(channel: ChannelView, o: ChannelOrder) -> tuple[tuple[PlacedLine, ...], tuple[WaitingLine, ...]]:
    resolved = await channels.resolve_lines(channel.id, o.lines)
    placed, waiting = [], []
    for n, (line, found) in enumerate(zip(o.lines, resolved, strict=True), start=1):
        if found.item_id is None:
            waiting.append(WaitingLine(n, line.sku, line.variant_ref, line.product_ref, line.qty, line.price_cents,
                                       line.line_ref))
        else:
            placed.append(PlacedLine(n, found.item_id, line.qty, found.dropship, line.line_ref, line.price_cents))
    return tuple(placed), tuple(waiting)


def _holds(channel: ChannelView, o: ChannelOrder) -> tuple[tuple[str, str], ...]:
    return tuple(rule_holds(payment=o.payment, address_complete=o.address_complete, total_cents=o.total_cents,
                            hold_value_over_cents=channel.hold_value_over_cents, check_address=True))


async def _create(channel: ChannelView, external_id: str, version: int, o: ChannelOrder | None,
                  actor: Actor) -> tuple[str, int]:
    """A new order (or, for a cancel that came first, a cancelled record of it)."""
    placed, waiting = await _lines(channel, o) if o else ((), ())
    shown = o or ChannelOrder(external_id, external_id, [])
    ref, fallback_ref = _order_refs(channel, shown)
    placement = Placement(
        order_ref=ref, channel=channel.slug, warehouse_id=await _default_warehouse(channel),
        warehouse_pinned=False, lines=placed, waiting=waiting, channel_id=channel.id, external_ref=external_id,
        source_version=version, ship_country=shown.ship_country, ship_postcode=shown.ship_postcode,
        payment=shown.payment, total_cents=shown.total_cents, carrier=shown.carrier, promised_at=shown.placed_at,
        holds=() if o is None or o.cancelled else _holds(channel, o),
    )
    key = idempotency.scoped_key(f"channel:{channel.id}", f"order:{external_id}")
    if o is None or o.cancelled:
        order_id = await _insert(placement, fallback_ref, key, actor, check_lines=False)
        await transition(order_id, "cancel", actor=actor, from_status="imported", note="cancelled at the channel")
        return "cancelled", order_id
    order_id = await _insert(placement, fallback_ref, key, actor)
    await channels.wake_waiting(channel.id, external_id)
    return await advance(order_id, actor=actor, status="imported", placed=placement), order_id


async def release_reservations(order_id: int, key_base: str, actor: Actor, reason: str) -> int:
    """Release every open reservation of the order (in the ledger's lock order); returns how many."""
    rows = await db.fetch(
        "SELECT r.id FROM order_reservations orr JOIN order_lines ol ON ol.id = orr.order_line_id"
        " JOIN reservations r ON r.id = orr.reservation_id WHERE ol.order_id = {} AND r.status = 'open'"
        " ORDER BY r.item_id, r.location_id, r.lot, r.id", order_id)
    for r in rows:
        await ledger.execute(ledger.ReleaseReservation(reservation_id=r["id"], reason=reason),
                             key=idempotency.derived_key(key_base, f"release:{r['id']}"), actor=actor.label)
    return len(rows)


async def cancel(order_id: int, status: OrderStatus, key_base: str, actor: Actor, note: str) -> OrderStatus:
    """Cancel before picking: reservations back to available, then the status (IllegalTransition after)."""
    if status == "cancelled":
        return status
    next_status(status, "cancel")  # IllegalTransition once picking started, before anything is released
    released = await release_reservations(order_id, key_base, actor, "order cancelled")
    return await transition(order_id, "cancel", actor=actor, from_status=status, note=note,
                            detail={"reservations_released": released})


async def _stored_lines(order_id: int) -> list[tuple[str, int, str]]:
    rows = await db.fetch(
        "SELECT channel_line_ref AS ref, qty, CAST(item_id AS TEXT) AS what FROM order_lines WHERE order_id = {}"
        " UNION ALL SELECT channel_line_ref, qty, '?' || channel_sku || '|' || variant_ref || '|' || product_ref"
        " FROM unmapped_order_lines WHERE order_id = {}", order_id, order_id)
    return sorted((r["ref"], int(r["qty"]), r["what"]) for r in rows)


def _new_lines(placed: tuple[PlacedLine, ...], waiting: tuple[WaitingLine, ...]) -> list[tuple[str, int, str]]:
    return sorted([(p.channel_line_ref, p.qty, str(p.item_id)) for p in placed]
                  + [(w.channel_line_ref, w.qty, f"?{w.channel_sku}|{w.variant_ref}|{w.product_ref}") for w in waiting])


async def replace_lines(order_id: int, status: OrderStatus, placement: Placement, key_base: str,
                        actor: Actor) -> OrderStatus:
    """An order changed before picking: its reservations are released and its new lines allocated anew."""
    if status != "imported" and status not in EDITABLE:
        raise Conflict(f"Order {placement.order_ref} is {status.replace('_', ' ')}: its lines changed at the channel"
                       " after picking started, so the change was not applied. Check the order with the customer.")
    released = await release_reservations(order_id, key_base, actor, "order changed")
    await db.fetch("DELETE FROM order_reservations WHERE order_line_id IN (SELECT id FROM order_lines"
                   " WHERE order_id = {})", order_id)
    await db.fetch("DELETE FROM order_lines WHERE order_id = {}", order_id)
    await db.fetch("DELETE FROM unmapped_order_lines WHERE order_id = {}", order_id)
    await insert_lines(order_id, placement, datetime.now(UTC))
    await audit.record(actor, "order.lines_changed", "order", order_id, None,
                       {"lines": len(placement.lines), "unmapped_lines": len(placement.waiting),
                        "reservations_released": released})
    if status != "imported":
        status = await transition(order_id, "edit", actor=actor, from_status=status)
    return status


async def _update(channel: ChannelView, known: _Known, version: int, o: ChannelOrder, key_base: str,
                  actor: Actor) -> OrderStatus:
    await db.fetch("UPDATE orders SET source_version = {}, ship_country = {}, ship_postcode = {}, payment = {},"
                   " total_cents = {}, carrier = {} WHERE id = {}", version, o.ship_country, o.ship_postcode,
                   o.payment, o.total_cents, o.carrier, known.id)
    if o.cancelled:
        return await cancel(known.id, known.status, key_base, actor, "cancelled at the channel")
    status = known.status
    if status == "cancelled":
        raise Conflict(f"Order {known.order_ref} was cancelled; a later change from the channel cannot reopen it.")
    placed, waiting = await _lines(channel, o)
    if _new_lines(placed, waiting) != await _stored_lines(known.id):
        placement = Placement(order_ref=known.order_ref, channel=channel.slug, warehouse_id=0, warehouse_pinned=False,
                              lines=placed, waiting=waiting, channel_id=channel.id)
        status = await replace_lines(known.id, status, placement, key_base, actor)
        await add_holds(known.id, list(_holds(channel, o)), actor)
    return await advance(known.id, actor=actor, status=status) if status in ("imported", "validated") else status


def _covers(refund_lines: dict[str, int], lines: list[dict[str, Any]]) -> bool:
    return bool(lines) and all(refund_lines.get(li["channel_line_ref"], 0) >= li["qty"] for li in lines)


async def _refund(channel: ChannelView, external_order_id: str, refund: ChannelRefund,
                  actor: Actor) -> tuple[str, str, int | None]:
    known = await _lock_order(channel, external_order_id)
    if known is None:
        return "waiting", "the order has not arrived yet; applied once it does", None
    row = await db.fetch_one(
        "INSERT INTO order_refunds (order_id, external_id, amount_cents, lines, order_status, created_at)"
        " VALUES ({}, {}, {}, {}, {}, {}) ON CONFLICT (order_id, external_id) DO NOTHING RETURNING id",
        known.id, refund.external_id, refund.amount_cents, json.dumps([[li.line_ref, li.qty] for li in refund.lines]),
        known.status, datetime.now(UTC))
    if row is None:
        return "stale", f"refund {refund.external_id} already recorded", known.id
    await audit.record(actor, "order.refund_recorded", "order", known.id, None,
                       {"refund": refund.external_id, "amount_cents": refund.amount_cents,
                        "units": sum(li.qty for li in refund.lines)})
    if known.status in statuses_allowing("refund"):
        refunded: dict[str, int] = {}
        for r in await db.fetch("SELECT lines FROM order_refunds WHERE order_id = {}", known.id):
            for ref, qty in json.loads(r["lines"]):
                refunded[ref] = refunded.get(ref, 0) + qty
        lines = await db.fetch("SELECT channel_line_ref, qty FROM order_lines WHERE order_id = {}", known.id)
        if _covers(refunded, lines):
            await transition(known.id, "refund", actor=actor, from_status=known.status)
    return "applied", "", known.id


async def _apply(d: PendingDelivery, channel: ChannelView, actor: Actor) -> tuple[str, str, int | None]:
    e = d.event
    if e.action == "refund":
        assert e.refund is not None
        return await _refund(channel, e.external_order_id, e.refund, actor)
    known = await _lock_order(channel, e.external_order_id)
    if known is not None and e.version <= known.source_version:
        return "stale", f"version {e.version} is not newer than the applied {known.source_version}", known.id
    key_base = idempotency.scoped_key("delivery", str(d.id))
    if known is None:
        status, order_id = await _create(channel, e.external_order_id, e.version, e.order, actor)
        return "applied", f"order {status}", order_id
    if e.action == "cancel":
        await db.fetch("UPDATE orders SET source_version = {} WHERE id = {}", e.version, known.id)
        status = await cancel(known.id, known.status, key_base, actor, "cancelled at the channel")
    else:
        assert e.order is not None
        status = await _update(channel, known, e.version, e.order, key_base, actor)
    return "applied", f"order {status}", known.id


async def apply_delivery(d: PendingDelivery, channel: ChannelView, *, actor: Actor = IMPORT_ACTOR) -> str:
    """Apply one stored delivery in one transaction; returns its final status ('skipped' when another
    worker has it or had it)."""

    async def work() -> str:
        if not await channels.claim_delivery(d.id):
            return "skipped"
        status, reason, order_id = await _apply(d, channel, actor)
        await channels.finish_delivery(d.id, status, reason, order_id, datetime.now(UTC))
        return status

    try:
        return await db.run_in_transaction(work)
    except DomainError as exc:  # all of it rolled back; the delivery is kept as failed, with the reason
        reason = exc.message

    async def failed() -> str:
        if not await channels.claim_delivery(d.id):
            return "skipped"
        await channels.finish_delivery(d.id, "failed", reason, None, datetime.now(UTC))
        return "failed"

    return await db.run_in_transaction(failed)


@dataclass(frozen=True, slots=True)
class ImportRun:
    """What one pass over the delivery queue did (the job's counts)."""

    applied: int = 0
    stale: int = 0
    waiting: int = 0
    failed: int = 0
    skipped: int = 0

    @property
    def handled(self) -> int:
        return self.applied + self.stale + self.waiting + self.failed


async def _apply_group(group: list[PendingDelivery], known: dict[int, ChannelView], counts: dict[str, int],
                       actor: Actor) -> None:
    """One order's deliveries, in their channel's order."""
    for d in group:
        channel = known.get(d.channel_id) or await channels.get_channel_by_id(d.channel_id)
        known[d.channel_id] = channel
        try:
            status = await apply_delivery(d, channel, actor=actor)
        except Exception as exc:  # one bad delivery must not block the channel's queue
            log.exception("orders.delivery_failed", delivery=d.id, channel=channel.slug, error=type(exc).__name__)
            reason = f"internal error ({type(exc).__name__}); see the server log"

            async def mark_failed(pk: int = d.id, why: str = reason) -> None:
                await channels.finish_delivery(pk, "failed", why, None, datetime.now(UTC))

            await db.run_in_transaction(mark_failed)
            status = "failed"
        counts[status] += 1


async def import_deliveries(*, limit: int, actor: Actor = IMPORT_ACTOR, concurrency: int = 1) -> ImportRun:
    """Apply up to `limit` pending deliveries, higher-priority channels first, each order's in its
    channel's order. Orders of one priority run `concurrency` at a time (PostgreSQL: their row locks
    keep them apart); a lower priority starts only once the higher one is done, so a priority channel
    still wins the last unit. An unexpected error marks that delivery failed (logged) and the pass goes on."""
    assert concurrency >= 1
    counts = {"applied": 0, "stale": 0, "waiting": 0, "failed": 0, "skipped": 0}
    known: dict[int, ChannelView] = {}
    tiers: dict[int, dict[tuple[int, str], list[PendingDelivery]]] = {}
    for d in await channels.pending_deliveries(limit):  # already in the order to apply them
        tiers.setdefault(d.priority, {}).setdefault((d.channel_id, d.event.external_order_id), []).append(d)
    for priority in sorted(tiers):
        groups = list(tiers[priority].values())
        groups.reverse()  # popped from the end: first come, first served

        async def worker(groups: list[list[PendingDelivery]] = groups) -> None:
            while groups:
                await _apply_group(groups.pop(), known, counts, actor)

        await asyncio.gather(*(worker() for _ in range(min(concurrency, len(groups)))))
    return ImportRun(**counts)
