"""The browser tests' waits can fail: each one times out when what it waits for does not happen
(see tests/e2e/waits.py; tests/unit/test_browser_waits.py keeps asynchronous predicates out)."""

from __future__ import annotations

import time

import pytest

from tests.e2e.conftest import sign_in
from tests.e2e.outbox_support import enqueue
from tests.e2e.own import Item, own
from tests.e2e.test_offline import wait_for_stored_user, wait_until_sent


def test_a_promise_predicate_does_not_wait(browser):
    """Why the waits are written as they are: Playwright takes the Promise as the truthy answer and
    returns its value without polling again, even when the value is false."""
    page = browser.new_page()
    try:
        started = time.monotonic()
        assert page.wait_for_function("Promise.resolve(false)", timeout=5000).json_value() is False
        assert page.wait_for_function("n => new Promise((ok) => setTimeout(() => ok(n > 1), 10))", arg=0,
                                      timeout=5000).json_value() is False
        assert time.monotonic() - started < 4
    finally:
        page.close()


def test_waiting_until_sent_fails_while_a_scan_cannot_be_sent(handheld, server):
    mine = own(server, "WAIT", Item(stock={0: 2}))
    sku, (source, target) = mine.sku, mine.bins[:2]
    sign_in(handheld, "receiver")
    handheld.context.set_offline(True)
    try:
        enqueue(handheld, "move", sku=sku, qty=1, from_location=source, to_location=target)
        with pytest.raises(AssertionError):
            wait_until_sent(handheld, timeout_ms=1500)
    finally:
        handheld.context.set_offline(False)
    handheld.evaluate("Stockline.outbox.drain()")  # now, not after the retry's back-off
    wait_until_sent(handheld)
    assert server.on_hand(sku, target) == 1


def test_waiting_for_a_stored_pin_verifier_fails_for_a_badge_that_never_signed_in_here(handheld):
    sign_in(handheld, "picker")
    assert wait_for_stored_user(handheld, "picker")["code"] == "B-PICK"
    with pytest.raises(AssertionError, match="B-RECV"):
        wait_for_stored_user(handheld, "receiver", timeout_ms=1500)
