"""Webhook bodies as each channel sends them, typed and validated at the boundary, and the one
normalized `ChannelEvent` the order import works from. Pure, no I/O.

Each order delivery carries the order's `version` in the channel's own order (Shopify `updated_at`,
WooCommerce `date_modified_gmt`, the generic format's `version`): the import applies an order's
deliveries in that order and skips one older than what it already applied, so an `updated` that
arrives before its `create` is not undone by it.
"""

from __future__ import annotations

import unicodedata
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Literal

import msgspec

from backend.domain.channels._signatures import ChannelKind
from backend.domain.quantities import QTY_MAX

ORDER_LINES_MAX = 200
TEXT_LENGTH_MAX = 120
MONEY_CENTS_MAX = 10**13
Action = Literal["order", "cancel", "refund"]
Payment = Literal["captured", "pending"]

TOPICS: dict[ChannelKind, dict[str, Action]] = {
    "shopify": {"orders/create": "order", "orders/updated": "order", "orders/cancelled": "order",
                "refunds/create": "refund"},
    "woocommerce": {"order.created": "order", "order.updated": "order", "order.deleted": "cancel"},
    "generic": {"order.created": "order", "order.updated": "order", "order.cancelled": "cancel",
                "refund.created": "refund"},
}
# Shopify financial_status / WooCommerce status values that mean the money is in.
_SHOPIFY_CAPTURED = {"paid", "partially_refunded", "refunded"}
_WOO_CAPTURED = {"processing", "completed", "refunded"}
_WOO_CANCELLED = {"cancelled", "failed", "trash"}


class Malformed(ValueError):
    """A body that is not what its topic promises; the message goes to the webhook log."""


# --- the normalized form the import works from ----------------------------------------------------

class ChannelLine(msgspec.Struct, frozen=True):
    line_ref: str
    sku: str
    variant_ref: str
    product_ref: str
    qty: int
    price_cents: int


class ChannelOrder(msgspec.Struct, frozen=True):
    external_id: str
    number: str
    lines: list[ChannelLine]
    ship_country: str = ""
    ship_postcode: str = ""
    address_complete: bool = False
    payment: Payment = "captured"
    total_cents: int = 0
    carrier: str = ""
    placed_at: datetime | None = None
    cancelled: bool = False


class RefundLine(msgspec.Struct, frozen=True):
    line_ref: str
    qty: int


class ChannelRefund(msgspec.Struct, frozen=True):
    external_id: str
    amount_cents: int
    lines: list[RefundLine]


class ChannelEvent(msgspec.Struct, frozen=True):
    action: Action
    external_order_id: str
    version: int  # microseconds since the epoch, or the generic format's own counter
    order: ChannelOrder | None = None
    refund: ChannelRefund | None = None


# --- helpers ----------------------------------------------------------------------------------------

def clean(value: object, length_max: int = TEXT_LENGTH_MAX) -> str:
    """Text from outside: no control characters (a NUL would fail on PostgreSQL), bounded length."""
    text = "" if value is None else str(value)
    text = "".join(ch for ch in text if unicodedata.category(ch) != "Cc")
    return text.strip()[:length_max]


def cents(amount: object) -> int:
    """'12.50' (or 12.5) → 1250; refused when it is not a non-negative amount."""
    if amount is None or amount == "":
        return 0
    try:
        value = Decimal(str(amount))
    except InvalidOperation as exc:
        raise Malformed(f"not an amount: {clean(amount, 20)!r}") from exc
    if not value.is_finite() or value < 0 or value * 100 > MONEY_CENTS_MAX:
        raise Malformed(f"amount out of range: {clean(amount, 20)!r}")
    return int((value * 100).to_integral_value())


def micros(stamp: str | None, fallback_us: int) -> int:
    """An ISO-8601 time as microseconds since the epoch (no zone = UTC); `fallback_us` when absent."""
    if not stamp:
        return fallback_us
    try:
        parsed = datetime.fromisoformat(stamp)  # Python 3.11 reads a trailing Z
    except ValueError as exc:
        raise Malformed(f"not a time: {clean(stamp, 40)!r}") from exc
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return int(parsed.timestamp() * 1_000_000)


def _qty(value: int) -> int:
    if value <= 0 or value > QTY_MAX:
        raise Malformed(f"line quantity must be 1–{QTY_MAX}, got {value}")
    return value


def _ref(value: object) -> str:
    return "" if value is None else clean(value, 64)


def _check_lines(lines: list[ChannelLine]) -> list[ChannelLine]:
    if len(lines) > ORDER_LINES_MAX:
        raise Malformed(f"at most {ORDER_LINES_MAX} lines per order")
    return lines


def _decode(body: bytes, type_: type[msgspec.Struct]) -> msgspec.Struct:
    try:
        return msgspec.json.decode(body, type=type_)
    except msgspec.DecodeError as exc:  # ValidationError is a DecodeError too
        raise Malformed(str(exc)[:300]) from exc


# --- Shopify ----------------------------------------------------------------------------------------

class _ShopifyLine(msgspec.Struct):
    quantity: int
    current_quantity: int | None = None  # after an order edit; `quantity` stays what was first ordered
    id: int | None = None
    sku: str | None = None
    variant_id: int | None = None
    product_id: int | None = None
    price: str | float | None = None


class _ShopifyAddress(msgspec.Struct):
    country_code: str | None = None
    zip: str | None = None
    address1: str | None = None


class _ShopifyShippingLine(msgspec.Struct):
    title: str | None = None
    code: str | None = None


class _ShopifyOrder(msgspec.Struct):
    id: int
    name: str | None = None
    order_number: int | None = None
    line_items: list[_ShopifyLine] = []
    shipping_address: _ShopifyAddress | None = None
    financial_status: str | None = None
    cancelled_at: str | None = None
    created_at: str | None = None
    updated_at: str | None = None
    total_price: str | float | None = None
    shipping_lines: list[_ShopifyShippingLine] = []


class _ShopifyRefundLine(msgspec.Struct):
    line_item_id: int
    quantity: int


class _ShopifyTransaction(msgspec.Struct):
    amount: str | float | None = None
    kind: str | None = None
    status: str | None = None


class _ShopifyRefund(msgspec.Struct):
    id: int
    order_id: int
    created_at: str | None = None
    refund_line_items: list[_ShopifyRefundLine] = []
    transactions: list[_ShopifyTransaction] = []


def _shopify_order(body: bytes, received_us: int) -> ChannelEvent:
    o = _decode(body, _ShopifyOrder)
    assert isinstance(o, _ShopifyOrder)
    lines = _check_lines([
        ChannelLine(_ref(li.id), clean(li.sku, 64), _ref(li.variant_id), _ref(li.product_id), _qty(qty),
                    cents(li.price))
        for li in o.line_items
        if (qty := li.quantity if li.current_quantity is None else li.current_quantity) != 0  # removed in an edit
    ])
    address = o.shipping_address or _ShopifyAddress()
    number = clean(o.name or o.order_number or o.id, 40).lstrip("#")
    order = ChannelOrder(
        external_id=str(o.id), number=number, lines=lines,
        ship_country=clean(address.country_code, 2).upper(), ship_postcode=clean(address.zip, 16),
        address_complete=bool(clean(address.country_code) and clean(address.zip) and clean(address.address1)),
        payment="captured" if (o.financial_status or "") in _SHOPIFY_CAPTURED else "pending",
        total_cents=cents(o.total_price),
        carrier=clean(o.shipping_lines[0].title or o.shipping_lines[0].code, 40) if o.shipping_lines else "",
        placed_at=_time(o.created_at), cancelled=bool(o.cancelled_at),
    )
    return ChannelEvent("order", str(o.id), micros(o.updated_at, received_us), order=order)


def _shopify_refund(body: bytes, received_us: int) -> ChannelEvent:
    r = _decode(body, _ShopifyRefund)
    assert isinstance(r, _ShopifyRefund)
    amount = sum(cents(t.amount) for t in r.transactions if (t.kind or "refund") == "refund"
                 and (t.status or "success") == "success")
    refund = ChannelRefund(str(r.id), amount, [RefundLine(str(li.line_item_id), _qty(li.quantity))
                                                for li in r.refund_line_items])
    return ChannelEvent("refund", str(r.order_id), micros(r.created_at, received_us), refund=refund)


# --- WooCommerce ------------------------------------------------------------------------------------

class _WooLine(msgspec.Struct):
    quantity: int
    id: int | None = None
    sku: str | None = None
    product_id: int | None = None
    variation_id: int | None = None
    price: str | float | None = None


class _WooShipping(msgspec.Struct):
    country: str | None = None
    postcode: str | None = None
    address_1: str | None = None


class _WooShippingLine(msgspec.Struct):
    method_title: str | None = None


class _WooOrder(msgspec.Struct):
    id: int
    number: str | None = None
    status: str | None = None
    line_items: list[_WooLine] = []
    shipping: _WooShipping | None = None
    date_created_gmt: str | None = None
    date_modified_gmt: str | None = None
    total: str | float | None = None
    shipping_lines: list[_WooShippingLine] = []


class _WooDeleted(msgspec.Struct):
    id: int


def _woo_order(body: bytes, received_us: int) -> ChannelEvent:
    o = _decode(body, _WooOrder)
    assert isinstance(o, _WooOrder)
    lines = _check_lines([
        ChannelLine(_ref(li.id), clean(li.sku, 64), _ref(li.variation_id or None), _ref(li.product_id),
                    _qty(li.quantity), cents(li.price))
        for li in o.line_items if li.quantity != 0
    ])
    ship = o.shipping or _WooShipping()
    status = (o.status or "").lower()
    order = ChannelOrder(
        external_id=str(o.id), number=clean(o.number or o.id, 40), lines=lines,
        ship_country=clean(ship.country, 2).upper(), ship_postcode=clean(ship.postcode, 16),
        address_complete=bool(clean(ship.country) and clean(ship.postcode) and clean(ship.address_1)),
        payment="captured" if status in _WOO_CAPTURED else "pending", total_cents=cents(o.total),
        carrier=clean(o.shipping_lines[0].method_title, 40) if o.shipping_lines else "",
        placed_at=_time(o.date_created_gmt), cancelled=status in _WOO_CANCELLED,
    )
    return ChannelEvent("order", str(o.id), micros(o.date_modified_gmt, received_us), order=order)


def _woo_deleted(body: bytes, received_us: int) -> ChannelEvent:
    d = _decode(body, _WooDeleted)
    assert isinstance(d, _WooDeleted)
    # A deletion carries no modification time: it is the newest thing the shop said about the order.
    return ChannelEvent("cancel", str(d.id), received_us)


# --- generic (Stockline's documented format) -----------------------------------------------------

class GenericLine(msgspec.Struct, forbid_unknown_fields=True):
    sku: str
    qty: int
    id: str = ""
    price_cents: int = 0


class GenericShipTo(msgspec.Struct, forbid_unknown_fields=True):
    country: str = ""
    postcode: str = ""
    address1: str = ""


class GenericOrder(msgspec.Struct, forbid_unknown_fields=True):
    id: str
    version: int
    number: str = ""
    status: Literal["open", "cancelled"] = "open"
    lines: list[GenericLine] = []
    ship_to: GenericShipTo | None = None
    payment: Payment = "captured"
    total_cents: int = 0
    carrier: str = ""
    placed_at: datetime | None = None


class GenericRefundLine(msgspec.Struct, forbid_unknown_fields=True):
    line_id: str
    qty: int


class GenericRefund(msgspec.Struct, forbid_unknown_fields=True):
    id: str
    order_id: str
    amount_cents: int = 0
    lines: list[GenericRefundLine] = []
    created_at: datetime | None = None


class GenericBody(msgspec.Struct, forbid_unknown_fields=True):
    """The generic webhook: delivery id and topic travel inside the signed body."""

    delivery_id: str
    topic: str
    order: GenericOrder | None = None
    refund: GenericRefund | None = None


def decode_generic(body: bytes) -> GenericBody:
    decoded = _decode(body, GenericBody)
    assert isinstance(decoded, GenericBody)
    return decoded


def _generic(body: GenericBody, received_us: int) -> ChannelEvent:
    action = TOPICS["generic"][body.topic]
    if action == "refund":
        r = body.refund
        if r is None:
            raise Malformed("refund.created needs a refund")
        if not 0 <= r.amount_cents <= MONEY_CENTS_MAX:
            raise Malformed("amount_cents out of range")
        refund = ChannelRefund(clean(r.id, 64), r.amount_cents, [RefundLine(clean(li.line_id, 64), _qty(li.qty))
                                                                  for li in r.lines])
        stamp = int(r.created_at.timestamp() * 1_000_000) if r.created_at else received_us
        return ChannelEvent("refund", clean(r.order_id, 64), stamp, refund=refund)
    o = body.order
    if o is None:
        raise Malformed(f"{body.topic} needs an order")
    if not clean(o.id, 64) or o.version < 0:
        raise Malformed("order.id must be set and order.version must be 0 or more")
    if action == "cancel":
        return ChannelEvent("cancel", clean(o.id, 64), o.version)
    if not 0 <= o.total_cents <= MONEY_CENTS_MAX:
        raise Malformed("total_cents out of range")
    lines = _check_lines([
        ChannelLine(clean(li.id, 64) or str(n), clean(li.sku, 64), "", "", _qty(li.qty), max(0, li.price_cents))
        for n, li in enumerate(o.lines, start=1)
    ])
    ship = o.ship_to or GenericShipTo()
    order = ChannelOrder(
        external_id=clean(o.id, 64), number=clean(o.number or o.id, 40), lines=lines,
        ship_country=clean(ship.country, 2).upper(), ship_postcode=clean(ship.postcode, 16),
        address_complete=bool(clean(ship.country) and clean(ship.postcode) and clean(ship.address1)),
        payment=o.payment, total_cents=o.total_cents, carrier=clean(o.carrier, 40), placed_at=o.placed_at,
        cancelled=o.status == "cancelled",
    )
    return ChannelEvent("order", order.external_id, o.version, order=order)


def _time(stamp: str | None) -> datetime | None:
    return datetime.fromtimestamp(micros(stamp, 0) / 1_000_000, UTC) if stamp else None


_PARSERS = {
    ("shopify", "order"): _shopify_order,
    ("shopify", "refund"): _shopify_refund,
    ("woocommerce", "order"): _woo_order,
    ("woocommerce", "cancel"): _woo_deleted,
}


def parse(kind: ChannelKind, topic: str, body: bytes | GenericBody, received_us: int) -> ChannelEvent:
    """The delivery as a ChannelEvent; Malformed for an unknown topic or a body that does not fit it."""
    action = TOPICS[kind].get(topic)
    if action is None:
        raise Malformed(f"unknown topic {clean(topic, 60)!r}; expected one of {', '.join(TOPICS[kind])}")
    if isinstance(body, GenericBody):
        return _generic(body, received_us)
    assert isinstance(body, bytes)
    return _PARSERS[(kind, action)](body, received_us)
