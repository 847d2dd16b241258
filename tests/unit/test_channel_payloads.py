"""Webhook bodies as the channels send them, read into one ChannelEvent (pure)."""

from __future__ import annotations

import json

import pytest

from backend.domain.channels._payloads import Malformed, decode_generic, parse

RECEIVED_US = 1_700_000_000_000_000


def _shopify(**changes) -> bytes:
    order = {"id": 5, "name": "#1005", "updated_at": "2026-11-20T10:00:00-05:00", "financial_status": "authorized",
             "total_price": "12.50", "cancelled_at": None,
             "line_items": [{"id": 51, "sku": "MUG", "variant_id": 7, "product_id": 8, "quantity": 2, "price": "6.25"}],
             "shipping_address": {"address1": "1 Main", "zip": "94107", "country_code": "us"}}
    return json.dumps({**order, **changes}).encode()


def test_a_shopify_order_reads_as_its_lines_destination_payment_and_version():
    e = parse("shopify", "orders/create", _shopify(), RECEIVED_US)
    assert (e.action, e.external_order_id, e.version) == ("order", "5", 1_795_186_800_000_000)
    o = e.order
    assert (o.number, o.ship_country, o.ship_postcode, o.address_complete, o.payment, o.total_cents) == (
        "1005", "US", "94107", True, "pending", 1250)
    assert [(li.line_ref, li.sku, li.variant_ref, li.qty, li.price_cents) for li in o.lines] == [
        ("51", "MUG", "7", 2, 625)]


def test_lines_removed_in_an_order_edit_are_left_out():
    lines = [{"id": 1, "sku": "MUG", "quantity": 2, "current_quantity": 0},
             {"id": 2, "sku": "LAMP", "quantity": 3, "current_quantity": 1}]
    e = parse("shopify", "orders/updated", _shopify(line_items=lines), RECEIVED_US)
    assert [(li.sku, li.qty) for li in e.order.lines] == [("LAMP", 1)]


@pytest.mark.parametrize("body", [b"{", b"[]", _shopify(line_items=[{"sku": "A", "quantity": -1}]),
                                  _shopify(total_price="a lot"), _shopify(updated_at="yesterday")])
def test_bodies_that_do_not_fit_the_topic_are_malformed(body):
    with pytest.raises(Malformed):
        parse("shopify", "orders/create", body, RECEIVED_US)


def test_unknown_topics_are_refused_by_name():
    with pytest.raises(Malformed, match="unknown topic 'products/create'"):
        parse("shopify", "products/create", _shopify(), RECEIVED_US)


def test_a_woocommerce_deletion_is_the_newest_word_about_its_order():
    e = parse("woocommerce", "order.deleted", b'{"id": 77}', RECEIVED_US)
    assert (e.action, e.external_order_id, e.version) == ("cancel", "77", RECEIVED_US)


def test_control_characters_never_reach_the_database():
    e = parse("shopify", "orders/create", _shopify(name="#10\u000005"), RECEIVED_US)
    assert e.order.number == "1005"


def test_the_generic_format_is_strict_about_its_own_fields():
    good = {"delivery_id": "d1", "topic": "order.created",
            "order": {"id": "A1", "version": 3, "lines": [{"sku": "MUG", "qty": 1}]}}
    e = parse("generic", "order.created", decode_generic(json.dumps(good).encode()), RECEIVED_US)
    assert (e.external_order_id, e.version, e.order.lines[0].line_ref) == ("A1", 3, "1")
    with pytest.raises(Malformed):
        decode_generic(json.dumps({**good, "surprise": 1}).encode())
