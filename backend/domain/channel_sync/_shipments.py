"""Shipments confirmed back to the channel the order came from, retried until the channel accepts.

Shipping never waits for a channel: `confirm_shipment` only records the shipment. This job finds
shipments of orders from connected channels (one `channel_confirmations` row each, keyed by the
shipment), claims the due ones one at a time (two workers never send the same one), and sends them:
Shopify a fulfillment with the carrier and tracking number; WooCommerce the order's status
(`completed` once everything has shipped) and a note with the tracking number. Each client first
looks for the confirmation it may already have made (the tracking number on Shopify, the note's
marker on WooCommerce), so a retry after a lost answer confirms once.
A failure waits (30 s, 1 min, 2 min, ... up to an hour) and is tried again; the Jobs screen lists
the ones still waiting.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import structlog

from backend import db
from backend.domain.channel_sync._api import ShipmentToConfirm, api_for
from backend.domain.channel_sync._connections import Connection, active_connections
from backend.domain.channel_sync._http import ChannelRefused, ChannelUnavailable

log = structlog.get_logger("stockline.channels")
FIND_BATCH_MAX = 500
CONFIRM_BATCH_MAX = 100
SHIPMENT_LOOKBACK_IDS = 10_000  # newer shipments than the last one recorded, and a window before it
CLAIM_S = 120  # a claimed confirmation is not due again for this long (its sender died, or is slow)
RETRY_S_BASE = 30
RETRY_S_MAX = 3600


def retry_wait_s(attempts: int) -> int:
    return min(RETRY_S_MAX, RETRY_S_BASE << max(0, attempts - 1))


async def find_new_shipments() -> int:
    """Record shipments of orders from channels that want confirmations (not yet recorded)."""
    now = datetime.now(UTC)
    rows = await db.fetch(
        "INSERT INTO channel_confirmations (shipment_id, channel_id, order_id, status, attempts, next_attempt_at,"
        " created_at) SELECT s.id, o.channel_id, o.id, 'pending', 0, {}, {} FROM shipments s"
        " JOIN orders o ON o.id = s.order_id JOIN channel_connections cc ON cc.channel_id = o.channel_id"
        " WHERE cc.confirm_shipments AND s.created_at >= cc.created_at"
        " AND s.id > (SELECT COALESCE(MAX(shipment_id), 0) FROM channel_confirmations) - {}"
        " AND NOT EXISTS (SELECT 1 FROM channel_confirmations c WHERE c.shipment_id = s.id)"
        " ORDER BY s.id LIMIT {} ON CONFLICT (shipment_id) DO NOTHING RETURNING shipment_id",
        now, now, SHIPMENT_LOOKBACK_IDS, FIND_BATCH_MAX)
    return len(rows)


async def _claim_due(channel_id: int, limit: int) -> list[int]:
    now = datetime.now(UTC)
    due = await db.fetch("SELECT shipment_id FROM channel_confirmations WHERE status = 'pending'"
                         " AND channel_id = {} AND next_attempt_at <= {}"
                         " ORDER BY next_attempt_at, shipment_id LIMIT {}",
                         channel_id, now, limit)
    claimed = []
    for row in due:  # one guarded update each: a second worker finds it claimed
        got = await db.fetch("UPDATE channel_confirmations SET next_attempt_at = {}, attempts = attempts + 1"
                             " WHERE shipment_id = {} AND status = 'pending' AND next_attempt_at <= {}"
                             " RETURNING shipment_id", now + timedelta(seconds=CLAIM_S), row["shipment_id"], now)
        claimed += [int(r["shipment_id"]) for r in got]
    return claimed


async def _shipment(shipment_id: int) -> ShipmentToConfirm:
    head = await db.fetch_one(
        "SELECT s.id, s.carrier, s.tracking, o.order_ref, o.external_ref, o.status FROM shipments s"
        " JOIN orders o ON o.id = s.order_id WHERE s.id = {}", shipment_id)
    assert head is not None, f"shipment #{shipment_id} is gone"
    lines = await db.fetch(
        "SELECT ol.channel_line_ref AS ref, CAST(SUM(cl.qty) AS BIGINT) AS qty FROM cartons c"
        " JOIN carton_lines cl ON cl.carton_id = c.id JOIN order_lines ol ON ol.id = cl.order_line_id"
        " WHERE c.shipment_id = {} GROUP BY ol.channel_line_ref ORDER BY ol.channel_line_ref", shipment_id)
    complete = head["status"] in ("shipped", "delivered", "closed")
    return ShipmentToConfirm(int(head["id"]), head["order_ref"], head["external_ref"], head["carrier"],
                             head["tracking"], tuple((r["ref"], int(r["qty"])) for r in lines), complete)


async def _record(shipment_id: int, *, accepted: str = "", error: str = "", attempts: int = 0) -> None:
    now = datetime.now(UTC)
    if accepted:
        await db.fetch("UPDATE channel_confirmations SET status = 'accepted', accepted_at = {}, remote_ref = {},"
                       " last_error = '' WHERE shipment_id = {} AND status = 'pending'",
                       now, accepted[:200], shipment_id)
        return
    await db.fetch("UPDATE channel_confirmations SET next_attempt_at = {}, last_error = {} WHERE shipment_id = {}"
                   " AND status = 'pending'", now + timedelta(seconds=retry_wait_s(attempts)), error[:500], shipment_id)


@dataclass(slots=True)
class ConfirmReport:
    found: int = 0
    accepted: int = 0
    failed: int = 0
    unavailable: int = 0  # channels that did not answer usefully (5xx, timeouts)
    waiting: int = 0  # still pending after this run (retried later)


async def _confirm_on(connection: Connection, deadline: float, report: ConfirmReport) -> None:
    claimed = await _claim_due(connection.channel_id, CONFIRM_BATCH_MAX)
    if not claimed:
        return
    api = api_for(connection, deadline=deadline)
    try:
        for shipment_id in claimed:
            shipment = await _shipment(shipment_id)
            attempts_row = await db.fetch_one("SELECT attempts FROM channel_confirmations WHERE shipment_id = {}",
                                              shipment_id)
            attempts = int(attempts_row["attempts"]) if attempts_row else 1
            try:
                ref = await api.confirm_shipment(shipment)
            except (ChannelUnavailable, ChannelRefused) as exc:
                unavailable = isinstance(exc, ChannelUnavailable)
                report.failed += 1
                report.unavailable += 1 if unavailable else 0
                message = str(exc) if unavailable else exc.message  # type: ignore[union-attr]
                await _record(shipment_id, error=message, attempts=attempts)
                log.warning("channel.confirm_failed", channel=connection.slug, shipment=shipment_id,
                            order=shipment.order_ref, attempts=attempts, error=message[:200])
                if unavailable:
                    break  # the channel is down: the rest waits for their next attempt
                continue
            await _record(shipment_id, accepted=ref)
            report.accepted += 1
            log.info("channel.shipment_confirmed", channel=connection.slug, shipment=shipment_id,
                     order=shipment.order_ref, remote=ref)
    finally:
        await api.aclose()


async def confirm_shipments(*, run_s_max: float) -> ConfirmReport:
    deadline = time.monotonic() + run_s_max
    report = ConfirmReport(found=await find_new_shipments())
    for connection in await active_connections(confirming=True):
        if time.monotonic() >= deadline:
            break
        await _confirm_on(connection, deadline, report)
    row = await db.fetch_one("SELECT COUNT(*) AS n FROM channel_confirmations WHERE status = 'pending'")
    report.waiting = int(row["n"]) if row else 0
    return report
