"""Webhook deliveries: verify, store once, answer. Nothing here turns a delivery into an order —
the import job does, in each order's channel order (backend/domain/orders/_importing.py).

`receive_webhook` costs two statements on the happy path (the channel's secret, the INSERT that also
deduplicates), so a channel is answered at once however busy the order import is. A bad or missing
signature stores nothing; a body that is not what its topic promises (or an unknown topic) is kept,
as `rejected`, for the webhook log.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

import msgspec
import structlog

from backend import db
from backend.domain.channels._accounts import webhook_account
from backend.domain.channels._payloads import ChannelEvent, GenericBody, Malformed, clean, decode_generic, parse
from backend.domain.channels._signatures import KINDS, SIGNATURE_HEADERS, ChannelKind, verify

log = structlog.get_logger("stockline.channels")

WEBHOOK_BODY_BYTES_MAX = 1_048_576
DELIVERY_ID_LENGTH_MAX = 128
BODY_EXCERPT_CHARS_MAX = 2_000
LOG_PAGE_MAX = 200
DELIVERY_STATUSES = ("pending", "applied", "stale", "waiting", "rejected", "failed")
# Where each kind names the delivery and its topic (the generic format carries both in the signed body).
_DELIVERY_HEADERS = {"shopify": ("x-shopify-webhook-id", "x-shopify-topic"),
                     "woocommerce": ("x-wc-webhook-delivery-id", "x-wc-webhook-topic")}

Answer = Literal["accepted", "duplicate", "rejected", "unauthorized"]


@dataclass(frozen=True, slots=True)
class Outcome:
    answer: Answer
    status_code: int  # what the channel is told: 200, 400 or 401
    message: str
    delivery_pk: int | None = None


_UNAUTHORIZED = Outcome("unauthorized", 401, "Unknown channel or bad signature.")


def _digest_id(body: bytes) -> str:
    return "body-sha256:" + hashlib.sha256(body).hexdigest()[:40]


def _envelope(kind: ChannelKind, headers: Mapping[str, str], body: bytes) -> tuple[str, str, GenericBody | bytes]:
    """(delivery id, topic, body to parse); Malformed when they cannot be read."""
    if kind == "generic":
        decoded = decode_generic(body)
        return clean(decoded.delivery_id, DELIVERY_ID_LENGTH_MAX), clean(decoded.topic, 60), decoded
    id_header, topic_header = _DELIVERY_HEADERS[kind]
    delivery_id = clean(headers.get(id_header), DELIVERY_ID_LENGTH_MAX)
    if not delivery_id:
        raise Malformed(f"missing {id_header} header")
    return delivery_id, clean(headers.get(topic_header), 60), body


async def _store(channel_id: int, delivery_id: str, topic: str, event: ChannelEvent | None, reason: str,
                 body: bytes, now: datetime) -> int | None:
    status = "pending" if event is not None else "rejected"
    payload = msgspec.json.encode(event).decode() if event is not None else ""
    excerpt = "" if event is not None else clean(body.decode("utf-8", "replace"), BODY_EXCERPT_CHARS_MAX)
    row = await db.fetch_one(
        "INSERT INTO webhook_deliveries (channel_id, delivery_id, topic, external_order_id, source_version, status,"
        " reason, payload, body_excerpt, body_bytes, received_at) VALUES ({}, {}, {}, {}, {}, {}, {}, {}, {}, {}, {})"
        " ON CONFLICT (channel_id, delivery_id) DO NOTHING RETURNING id",
        channel_id, delivery_id, topic, event.external_order_id if event else "", event.version if event else 0,
        status, reason, payload, excerpt, len(body), now)
    return row["id"] if row else None


async def _repeated(channel_id: int, delivery_id: str) -> Outcome:
    row = await db.fetch_one("SELECT id, status, reason FROM webhook_deliveries WHERE channel_id = {}"
                             " AND delivery_id = {}", channel_id, delivery_id)
    assert row is not None, "a conflicting delivery exists"
    if row["status"] == "rejected":
        return Outcome("rejected", 400, row["reason"], row["id"])
    return Outcome("duplicate", 200, "Already received; nothing done twice.", row["id"])


async def receive_webhook(kind: str, slug: str, headers: Mapping[str, str], body: bytes,
                          now: datetime) -> Outcome:
    """Verify the signature over the raw `body`, then store the delivery once. `headers` are
    lower-case names; `body` is at most WEBHOOK_BODY_BYTES_MAX (the HTTP layer answers 413 above)."""
    assert len(body) <= WEBHOOK_BODY_BYTES_MAX
    if kind not in KINDS:
        return _UNAUTHORIZED
    channel_kind: ChannelKind = kind
    account = await webhook_account(channel_kind, slug)
    if account is None or not verify(channel_kind, account[1], body, headers.get(SIGNATURE_HEADERS[channel_kind]),
                                     now.timestamp()):
        log.warning("channels.webhook_unauthorized", kind=kind, slug=clean(slug, 60), bytes=len(body))
        return _UNAUTHORIZED
    channel_id = account[0]
    try:
        delivery_id, topic, to_parse = _envelope(channel_kind, headers, body)
    except Malformed as exc:
        delivery_id, topic, to_parse, reason = _digest_id(body), "", b"", f"malformed: {exc}"
    else:
        reason = ""
    event: ChannelEvent | None = None
    if not reason:
        try:
            event = parse(channel_kind, topic, to_parse, int(now.timestamp() * 1_000_000))
        except Malformed as exc:
            reason = f"malformed: {exc}" if "unknown topic" not in str(exc) else str(exc)
    delivery_pk = await _store(channel_id, delivery_id or _digest_id(body), topic, event, reason, body, now)
    if delivery_pk is None:
        return await _repeated(channel_id, delivery_id or _digest_id(body))
    if event is None:
        log.info("channels.webhook_rejected", channel_id=channel_id, delivery_id=delivery_id, reason=reason[:200])
        return Outcome("rejected", 400, reason, delivery_pk)
    return Outcome("accepted", 200, "Received.", delivery_pk)


# --- the import job's side ------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class PendingDelivery:
    id: int
    channel_id: int
    priority: int
    topic: str
    event: ChannelEvent


_DECODER = msgspec.json.Decoder(ChannelEvent)


async def pending_deliveries(limit: int) -> list[PendingDelivery]:
    """Up to `limit` deliveries to import, in the order to apply them: higher-priority channels
    first (lower number), then each order's deliveries by the channel's version, oldest first."""
    rows = await db.fetch(
        "SELECT d.id, d.channel_id, c.priority, d.topic, d.external_order_id, d.source_version, d.payload"
        " FROM webhook_deliveries d JOIN channels c ON c.id = d.channel_id WHERE d.status = 'pending'"
        " ORDER BY d.id LIMIT {}", limit)
    first_seen: dict[tuple[int, str], int] = {}
    for r in rows:
        first_seen.setdefault((r["channel_id"], r["external_order_id"]), r["id"])
    rows.sort(key=lambda r: (r["priority"], first_seen[(r["channel_id"], r["external_order_id"])],
                             r["source_version"], r["id"]))
    return [PendingDelivery(r["id"], r["channel_id"], r["priority"], r["topic"], _DECODER.decode(r["payload"]))
            for r in rows]


async def claim_delivery(delivery_pk: int) -> bool:
    """Inside the import's transaction: lock the delivery if it is still pending (a second worker
    skips it instead of waiting, and finds it applied afterwards)."""
    lock = " FOR UPDATE SKIP LOCKED" if db.is_postgres() else ""
    row = await db.fetch_one(f"SELECT id FROM webhook_deliveries WHERE id = {{}} AND status = 'pending'{lock}",
                             delivery_pk)
    return row is not None


async def finish_delivery(delivery_pk: int, status: str, reason: str, order_id: int | None,
                          now: datetime) -> None:
    assert status in DELIVERY_STATUSES and status != "pending", status
    await db.fetch("UPDATE webhook_deliveries SET status = {}, reason = {}, order_id = {}, processed_at = {}"
                   " WHERE id = {}", status, clean(reason, 500), order_id, now, delivery_pk)


async def wake_waiting(channel_id: int, external_order_id: str) -> None:
    """Deliveries that arrived before their order (a refund before the create) go back in the queue."""
    await db.fetch("UPDATE webhook_deliveries SET status = 'pending' WHERE channel_id = {} AND external_order_id = {}"
                   " AND status = 'waiting'", channel_id, external_order_id)


# --- the webhook log ------------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class DeliveryView:
    id: int
    channel: str
    delivery_id: str
    topic: str
    external_order_id: str
    status: str
    reason: str
    body_bytes: int
    body_excerpt: str
    received_at: datetime | str
    processed_at: datetime | str | None
    order_id: int | None
    order_ref: str | None

    @property
    def failed(self) -> bool:
        return self.status in ("rejected", "failed")


async def webhook_log(*, failures_only: bool = False, channel: str = "", before_id: int = 0,
                      limit: int = 100) -> list[DeliveryView]:
    """Newest first; `before_id` pages back."""
    statuses = ("rejected", "failed") if failures_only else DELIVERY_STATUSES
    marks = ", ".join("{}" for _ in statuses)
    rows = await db.fetch(
        "SELECT d.id, c.slug AS channel, d.delivery_id, d.topic, d.external_order_id, d.status, d.reason,"
        " d.body_bytes, d.body_excerpt, d.received_at, d.processed_at, d.order_id, o.order_ref"
        " FROM webhook_deliveries d JOIN channels c ON c.id = d.channel_id LEFT JOIN orders o ON o.id = d.order_id"
        f" WHERE d.status IN ({marks}) AND ({{}} = '' OR c.slug = {{}}) AND ({{}} = 0 OR d.id < {{}})"
        " ORDER BY d.id DESC LIMIT {}",
        *statuses, channel, channel, before_id, before_id, max(1, min(limit, LOG_PAGE_MAX)))
    return [DeliveryView(**r) for r in rows]
