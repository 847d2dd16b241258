"""Counts and adjustments a manager can trust: a count shows its totals and flags expected items nobody
scanned as "not counted?"; a large one is approved only when confirmed; Recount asks another counter
for a new blind count; an adjustment removing more than the bin holds is refused when it is entered."""

from __future__ import annotations

import re

from playwright.sync_api import Locator, Page, expect

from tests.e2e.conftest import feedback, screenshot, sign_in, wedge
from tests.e2e.outbox_support import assert_check_clean, drained
from tests.e2e.own import Item, own
from tests.e2e.trust_support import person_types


def count_one_item(page: Page, bin_code: str, sku: str, qty: int) -> None:
    """Count `qty` of one item in the bin (typed, one scan) and finish, skipping everything else."""
    page.goto("/floor/count")
    wedge(page, bin_code)
    expect(feedback(page)).to_contain_text(f"Counting {bin_code}")
    person_types(page, "#qty", str(qty))
    wedge(page, sku)
    expect(feedback(page)).to_have_text(f"{sku}: {qty} counted")
    drained(page)
    page.once("dialog", lambda d: d.accept())
    page.get_by_role("button", name="Finish count").tap()
    expect(feedback(page)).to_contain_text("manager for approval")


def approval_of(tablet: Page, bin_code: str) -> Locator:
    """The approval entry of the bin (other tests' entries wait in the same queue)."""
    heading = tablet.get_by_role("heading", name=re.compile(rf"#\d+ · {re.escape(bin_code)} "))
    return tablet.locator("section.approval", has=heading)


def row_of(entry: Locator, sku: str) -> Locator:
    return entry.locator("tr", has=entry.page.get_by_role("cell", name=f"{sku} Item {sku}", exact=True))


def test_a_count_that_skipped_an_item_shows_totals_asks_twice_and_can_be_recounted(handheld, tablet, server):
    mine = own(server, "TCR", Item(stock={0: 40}, unit_cost_cents=3000), Item(stock={0: 30}, unit_cost_cents=2000))
    (counted, skipped), bin_code = mine.items, mine.bins[0]
    sign_in(handheld, "counter")
    count_one_item(handheld, bin_code, counted.sku, 25)

    sign_in(tablet, "manager")
    tablet.goto("/tablet/approvals")
    entry = approval_of(tablet, bin_code)
    expect(entry.locator(".totals")).to_contain_text("If approved: -45 units · value 1,050.00 · 1 item(s) not counted?")
    expect(row_of(entry, skipped.sku)).to_contain_text("not counted?")
    expect(row_of(entry, counted.sku)).not_to_contain_text("not counted?")
    screenshot(tablet, "tablet-approvals-totals")
    entry.get_by_role("button", name="Approve").click()
    entry = approval_of(tablet, bin_code)
    expect(entry.locator(".inline-error")).to_contain_text(
        "changes -45 units worth 1,050.00. 1 item(s) were not counted.")
    expect(entry.get_by_role("button", name="Yes, approve")).to_be_visible()
    assert server.on_hand(skipped.sku, bin_code) == 30  # nothing posted yet
    entry.get_by_role("button", name="Recount").click()
    expect(feedback(tablet)).to_contain_text("waits for another counter")
    assert (server.on_hand(counted.sku, bin_code), server.on_hand(skipped.sku, bin_code)) == (40, 30)

    handheld.goto("/floor/count")
    expect(handheld.locator("ul.tasks")).to_contain_text(f"{bin_code} recount")
    wedge(handheld, bin_code)  # the counter who skipped the item leaves the recount to someone else
    expect(feedback(handheld)).to_contain_text("This recounts a bin you counted")
    sign_in(handheld, "lead")
    handheld.goto("/floor/count")
    wedge(handheld, bin_code)
    expect(feedback(handheld)).to_contain_text(f"Counting {bin_code}")
    assert_check_clean(server)


def test_a_count_above_the_value_threshold_posts_once_confirmed(handheld, tablet, server):
    mine = own(server, "TCY", Item(stock={0: 10}, unit_cost_cents=20000))
    sku, bin_code = mine.sku, mine.bins[0]
    sign_in(handheld, "counter")
    count_one_item(handheld, bin_code, sku, 2)
    sign_in(tablet, "manager")
    tablet.goto("/tablet/approvals")
    entry = approval_of(tablet, bin_code)
    entry.get_by_role("button", name="Approve").click()
    entry = approval_of(tablet, bin_code)
    expect(entry.locator(".inline-error")).to_contain_text("changes -8 units worth 1,600.00")
    entry.get_by_role("button", name="Yes, approve").click()
    expect(feedback(tablet)).to_contain_text("approved")
    assert server.on_hand(sku, bin_code) == 2
    assert_check_clean(server)


def test_undo_last_scan_sets_the_count_back(handheld, server):
    mine = own(server, "TCU", Item(stock={0: 5}))
    sku, bin_code = mine.sku, mine.bins[0]
    sign_in(handheld, "counter")
    handheld.goto("/floor/count")
    wedge(handheld, bin_code)
    wedge(handheld, sku)
    expect(feedback(handheld)).to_have_text(f"{sku}: 1 counted")
    wedge(handheld, sku)
    expect(feedback(handheld)).to_have_text(f"{sku}: 2 counted")
    handheld.get_by_role("button", name="Undo last scan").tap()
    expect(feedback(handheld)).to_have_text(f"Took back the last scan: {sku} 1 counted")
    expect(handheld.get_by_role("row", name=f"{sku} 1", exact=True)).to_be_visible()
    handheld.get_by_role("button", name="Leave this count").tap()
    expect(feedback(handheld)).to_contain_text(f"Left the count of {bin_code}")
    wedge(handheld, bin_code)  # resumed where it was
    expect(handheld.get_by_role("row", name=f"{sku} 1", exact=True)).to_be_visible()
    drained(handheld)


def test_an_adjustment_beyond_on_hand_is_refused_at_entry_with_the_on_hand_figure(handheld, server):
    mine = own(server, "TCJ", Item(stock={0: 5}), Item(stock={0: 5}))
    (item, other), bin_code = mine.items, mine.bins[0]
    sign_in(handheld, "lead")
    handheld.goto("/floor/adjust")
    wedge(handheld, bin_code)
    expect(feedback(handheld)).to_have_text(f"{bin_code}. Scan the item.")
    wedge(handheld, item.sku)
    expect(feedback(handheld)).to_have_text(
        f"{item.sku}: 5 on hand in {bin_code}. Type the change and choose a reason.")
    person_types(handheld, "#delta", "-99999")
    handheld.locator("#reason").select_option("damaged")
    wedge(handheld, other.sku)  # focus on the reason list: a second item is refused, not swapped in
    expect(feedback(handheld)).to_contain_text(f"You are adjusting {item.sku}")
    expect(handheld.locator("#delta")).to_have_value("-99999")
    handheld.once("dialog", lambda d: d.accept())
    handheld.get_by_role("button", name="Adjust stock").tap()
    expect(feedback(handheld)).to_have_text(f"Only 5 {item.sku} on hand in {bin_code}: you can remove at most 5.")
    person_types(handheld, "#delta", "-2")
    handheld.once("dialog", lambda d: d.accept())
    handheld.get_by_role("button", name="Adjust stock").tap()
    expect(feedback(handheld)).to_have_text(f"Adjusted {item.sku} in {bin_code} by -2.")
    drained(handheld)
    assert (server.on_hand(item.sku, bin_code), server.on_hand(other.sku, bin_code)) == (3, 5)
    assert_check_clean(server)
