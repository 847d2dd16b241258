"""Blind cycle count on the handheld; the variance waits for a manager who approves it on a tablet."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import httpx
from playwright.sync_api import Page, Route, expect

from tests.e2e.conftest import HANDHELD, feedback, screenshot, sign_in, wedge
from tests.e2e.outbox_support import assert_check_clean, drained, sync_movements
from tests.e2e.own import Item, own


def test_blind_count_never_shows_expected_and_small_variance_posts(handheld, server):
    expected = 2
    mine = own(server, "CTB", Item(stock={0: expected}))
    sku, bin_code = mine.sku, mine.bins[0]
    sign_in(handheld, "counter")
    handheld.goto("/floor/count")
    wedge(handheld, bin_code)
    expect(feedback(handheld)).to_contain_text(f"Counting {bin_code}")
    for n in range(1, expected + 2):
        wedge(handheld, sku)
        expect(feedback(handheld)).to_have_text(f"{sku}: {n} counted")  # each counted item, once the server has it
        expect(feedback(handheld)).to_have_attribute("data-feedback", "ok")
    expect(handheld.locator("table.stock")).to_contain_text(f"{sku}{expected + 1}")
    drained(handheld)
    assert "expected" not in handheld.content().lower()
    screenshot(handheld, "count")
    handheld.once("dialog", lambda d: d.accept())
    handheld.get_by_role("button", name="Finish count").tap()
    expect(feedback(handheld)).to_contain_text("Count done and posted")
    assert server.on_hand(sku, bin_code) == expected + 1
    correction = sync_movements(server, sku)[-1]  # posted by the finish's envelope, after the counted items
    assert (correction["reason"], correction["to_location"]) == ("count_correction", bin_code)
    assert_check_clean(server)


def finish_count(page: Page, server_url: str) -> None:
    """Another counter finishes the count `page` shows, with that page's session, as its outbox would."""
    cookies = {c["name"]: c["value"] for c in page.context.cookies()}
    device = cookies["stockline_device"]  # the id the server issued that handheld; its outbox has sent nothing yet
    envelope = {"txn_id": str(uuid.uuid4()), "device_id": device, "seq": 1,
                "user_id": int(page.locator("body").get_attribute("data-user-id")), "kind": "count_finish",
                "payload": {"task_id": int(page.locator("input[name=task_id]").get_attribute("value"))},
                "scanned_at": datetime.now(UTC).isoformat()}
    r = httpx.post(server_url + "/sync/txns", json={"device_id": device, "envelopes": [envelope]}, cookies=cookies,
                   headers={"x-csrftoken": cookies["csrftoken"]}, timeout=10)
    assert r.status_code == 200 and r.json()["results"][0]["status"] == "applied", r.text


def test_a_counted_item_the_server_does_not_apply_reloads_the_count_as_the_server_has_it(browser, server):
    """The table shows the item counted; another counter finishes the bin's count before the scan
    reaches the server, which keeps it for a manager: the worker hears so and the screen reloads from the
    server (the bin is no longer being counted)."""
    mine = own(server, "CT", Item(stock={0: 3}))
    sku, bin_code = mine.sku, mine.bins[0]
    # No service worker: Chromium does not route the requests of a page a service worker controls.
    handheld = browser.new_context(viewport=HANDHELD, has_touch=True, base_url=server.url,
                                   service_workers="block").new_page()
    other = browser.new_context(viewport=HANDHELD, has_touch=True, base_url=server.url).new_page()
    for page in (handheld, other):
        sign_in(page, "counter")
        page.goto("/floor/count")
        wedge(page, bin_code)
        expect(feedback(page)).to_contain_text(f"Counting {bin_code}")

    def finish_first(route: Route) -> None:
        if route.request.post_data_json["envelopes"]:
            finish_count(other, server.url)
        route.continue_()

    handheld.route("**/sync/txns", finish_first)
    wedge(handheld, sku)
    expect(feedback(handheld)).to_contain_text("Sent — a manager will check this")
    expect(feedback(handheld)).to_have_attribute("data-feedback", "warn")
    expect(handheld.get_by_role("button", name="Finish count")).to_have_count(0)  # back to the bins to count
    drained(handheld)
    assert server.on_hand(sku, bin_code) == 0  # the finished count: nothing was counted
    assert_check_clean(server)
    other.context.close()
    handheld.context.close()


def test_large_variance_waits_for_another_manager(handheld, tablet, server):
    mine = own(server, "CTV")  # nothing in the bin: 40 counted is a variance of +40
    sku, bin_code = mine.sku, mine.bins[0]
    sign_in(handheld, "counter")
    handheld.goto("/floor/count")
    wedge(handheld, bin_code)
    expect(feedback(handheld)).to_contain_text(f"Counting {bin_code}")
    handheld.locator("#qty").fill("40")
    handheld.locator("#scan").focus()
    wedge(handheld, sku)
    expect(feedback(handheld)).to_have_text(f"{sku}: 40 counted")
    drained(handheld)
    handheld.once("dialog", lambda d: d.accept())
    handheld.get_by_role("button", name="Finish count").tap()
    expect(feedback(handheld)).to_contain_text("manager for approval")
    assert server.on_hand(sku, bin_code) == 0
    sign_in(tablet, "manager")
    tablet.goto("/tablet/approvals")
    section = tablet.locator("section.approval", has_text=bin_code)
    expect(section).to_contain_text("+40")
    screenshot(tablet, "tablet-approvals")
    section.get_by_role("button", name="Approve").click()
    expect(feedback(tablet)).to_contain_text("approved")
    assert server.on_hand(sku, bin_code) == 40


def test_picker_cannot_open_approvals(handheld):
    sign_in(handheld, "picker")
    response = handheld.goto("/tablet/approvals")
    assert response.status == 403
    expect(handheld.locator("#feedback")).to_contain_text("cannot use the approvals queue")


def test_lead_adjustment_within_threshold_posts_at_once(handheld, server):
    mine = own(server, "ADJ", Item(stock={0: 5}))
    sku, bin_code = mine.sku, mine.bins[0]
    sign_in(handheld, "lead")
    handheld.goto("/floor/adjust")
    wedge(handheld, bin_code)
    wedge(handheld, sku)
    handheld.locator("#delta").fill("-1")
    handheld.get_by_label("Reason", exact=True).select_option("damaged")
    handheld.once("dialog", lambda d: d.accept())
    handheld.get_by_role("button", name="Adjust stock").tap()
    expect(feedback(handheld)).to_have_text(f"Adjusted {sku} in {bin_code} by -1.")
    expect(feedback(handheld)).to_have_attribute("data-feedback", "ok")
    assert server.on_hand(sku, bin_code) == 4
    assert sync_movements(server, sku)[-1]["from_location"] == bin_code  # posted by the outbox's envelope
    drained(handheld)
    assert_check_clean(server)


def test_an_adjustment_over_the_threshold_is_sent_and_waits_for_a_manager(handheld, server):
    mine = own(server, "ADJW", Item(stock={0: 5}))
    sku, bin_code = mine.sku, mine.bins[0]
    sign_in(handheld, "lead")
    handheld.goto("/floor/adjust")
    wedge(handheld, bin_code)
    wedge(handheld, sku)
    handheld.locator("#delta").fill("500")
    handheld.get_by_label("Reason", exact=True).select_option("found")
    handheld.once("dialog", lambda d: d.accept())
    handheld.get_by_role("button", name="Adjust stock").tap()
    expect(feedback(handheld)).to_have_text("Sent to a manager for approval.")
    expect(feedback(handheld)).to_have_attribute("data-feedback", "warn")
    drained(handheld)
    assert server.on_hand(sku, bin_code) == 5
