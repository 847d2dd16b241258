"""Waits that can fail. Playwright's `wait_for_function` fulfils on the first truthy value and stops
polling, and a Promise is truthy: a predicate that reads IndexedDB or the outbox (`counts().then(...)`,
`async () => ...`) returns at once, whatever the answer would have been. Poll a synchronous value the page
exposes (`expect(locator).to_have_attribute(...)`, e.g. the outbox's `data-outbox-pending` on the body),
or read the asynchronous value with `evaluate` (which awaits it) until it is there, as `eventually` does.
tests/unit/test_browser_waits.py refuses asynchronous `wait_for_function` predicates in the tests."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

from playwright.sync_api import Page

T = TypeVar("T")
POLL_MS = 100


def eventually(page: Page, read: Callable[[], T], *, timeout_ms: int, what: str) -> T:
    """`read()` again and again (letting the page run between reads) until it gives a truthy value, which
    is returned; AssertionError naming `what` and the last value read once `timeout_ms` have passed."""
    deadline = time.monotonic() + timeout_ms / 1000
    while True:
        value = read()
        if value:
            return value
        if time.monotonic() >= deadline:
            raise AssertionError(f"waited {timeout_ms} ms for {what}; last read: {value!r}")
        page.wait_for_timeout(POLL_MS)
