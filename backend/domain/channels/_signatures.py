"""Webhook signatures, checked over the raw body bytes before anything parses them. Pure, no I/O.

- Shopify: `X-Shopify-Hmac-Sha256` = base64(HMAC-SHA256(secret, body)).
- WooCommerce: `X-WC-Webhook-Signature` = base64(HMAC-SHA256(secret, body)).
- Generic (Stockline's own format): `X-Stockline-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret,
  "<t>." + body)>`, refused more than SIGNATURE_WINDOW_S away from now (a captured request cannot be
  replayed later). Several `v1=` values are allowed, so a sender can sign with an old and a new secret
  while it rotates them.

Every comparison is `hmac.compare_digest` (constant time): how far a guess matched never shows in
the response time.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from typing import Literal

ChannelKind = Literal["shopify", "woocommerce", "generic"]
KINDS: tuple[ChannelKind, ...] = ("shopify", "woocommerce", "generic")
SIGNATURE_WINDOW_S = 300
SIGNATURE_HEADER_LENGTH_MAX = 1_024
SIGNATURE_HEADERS: dict[ChannelKind, str] = {
    "shopify": "x-shopify-hmac-sha256",
    "woocommerce": "x-wc-webhook-signature",
    "generic": "x-stockline-signature",
}


def _mac(secret: str, message: bytes) -> bytes:
    return hmac.new(secret.encode(), message, hashlib.sha256).digest()


def base64_signature(secret: str, body: bytes) -> str:
    """What Shopify and WooCommerce send for `body` (tests and senders use it too)."""
    return base64.b64encode(_mac(secret, body)).decode()


def generic_signature(secret: str, body: bytes, timestamp: int) -> str:
    """The `X-Stockline-Signature` header value a sender puts on `body`."""
    digest = hmac.new(secret.encode(), str(timestamp).encode() + b"." + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"


def _verify_base64(secret: str, body: bytes, header: str) -> bool:
    try:
        sent = base64.b64decode(header.strip(), validate=True)
    except ValueError:
        return False
    return hmac.compare_digest(_mac(secret, body), sent)


def _verify_generic(secret: str, body: bytes, header: str, now_s: float) -> bool:
    parts = [p.strip().partition("=") for p in header.split(",")]
    stamps = [v for k, _, v in parts if k == "t"]
    candidates = [v for k, _, v in parts if k == "v1"]
    if len(stamps) != 1 or not stamps[0].isascii() or not stamps[0].isdigit() or not candidates:
        return False
    timestamp = int(stamps[0])
    if abs(now_s - timestamp) > SIGNATURE_WINDOW_S:
        return False
    expected = hmac.new(secret.encode(), stamps[0].encode() + b"." + body, hashlib.sha256).hexdigest().encode()
    # Check every candidate (no early exit) so the time taken does not say which one matched.
    matched = False
    for candidate in candidates:
        matched |= hmac.compare_digest(expected, candidate.strip().encode("ascii", "replace"))
    return matched


def verify(kind: ChannelKind, secret: str, body: bytes, header: str | None, now_s: float) -> bool:
    """True when `header` (the kind's signature header, None when absent) signs `body` with `secret`."""
    if not secret or header is None or not header.strip() or len(header) > SIGNATURE_HEADER_LENGTH_MAX:
        return False
    if kind == "generic":
        return _verify_generic(secret, body, header, now_s)
    return _verify_base64(secret, body, header)
