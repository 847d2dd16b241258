"""Webhook signatures over raw bytes: the HMAC the channel sends, checked in constant time."""

from __future__ import annotations

import base64
import hashlib
import hmac

from backend.domain.channels import base64_signature, generic_signature, verify

SECRET = "hush-0123456789"
BODY = b'{"id":1,"line_items":[{"sku":"MUG","quantity":2}]}'


def test_shopify_and_woocommerce_sign_the_raw_body_in_base64():
    expected = base64.b64encode(hmac.new(SECRET.encode(), BODY, hashlib.sha256).digest()).decode()
    assert base64_signature(SECRET, BODY) == expected
    assert verify("shopify", SECRET, BODY, expected, 0) and verify("woocommerce", SECRET, BODY, expected, 0)


def test_every_single_byte_change_is_refused():
    header = base64_signature(SECRET, BODY)
    for i in range(len(BODY)):
        changed = BODY[:i] + bytes([BODY[i] ^ 1]) + BODY[i + 1:]
        assert not verify("shopify", SECRET, changed, header, 0), i


def test_missing_garbled_or_foreign_signatures_are_refused():
    assert not verify("shopify", SECRET, BODY, None, 0)
    assert not verify("shopify", SECRET, BODY, "", 0)
    assert not verify("shopify", SECRET, BODY, "not base64!!", 0)
    assert not verify("shopify", "", BODY, base64_signature("", BODY), 0)
    assert not verify("shopify", "other-secret-123", BODY, base64_signature(SECRET, BODY), 0)


def test_generic_signature_covers_the_timestamp_and_has_a_window():
    now = 1_800_000_000
    header = generic_signature(SECRET, BODY, now)
    digest = hmac.new(SECRET.encode(), f"{now}.".encode() + BODY, hashlib.sha256).hexdigest()
    assert header == f"t={now},v1={digest}"
    assert verify("generic", SECRET, BODY, header, now + 299)
    assert not verify("generic", SECRET, BODY, header, now + 301)
    assert not verify("generic", SECRET, BODY, header, now - 301)
    assert not verify("generic", SECRET, BODY, header.replace(f"t={now}", f"t={now + 1}"), now)
    assert not verify("generic", SECRET, BODY, f"v1={digest}", now)


def test_generic_accepts_any_of_several_signatures_while_a_secret_rotates():
    now = 1_800_000_000
    old = generic_signature("old-secret-0000", BODY, now).split(",")[1]
    new = generic_signature(SECRET, BODY, now)
    assert verify("generic", SECRET, BODY, f"{new},{old}", now)
    assert not verify("generic", SECRET, BODY, f"t={now},{old}", now)
