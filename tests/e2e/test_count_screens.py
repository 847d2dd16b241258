"""Blind cycle count on the handheld; the variance waits for a manager who approves it on a tablet."""

from __future__ import annotations

from playwright.sync_api import expect

from tests.e2e.conftest import feedback, screenshot, sign_in, wedge
from tests.e2e.outbox_support import assert_check_clean, drained, sync_movements


def test_blind_count_never_shows_expected_and_small_variance_posts(handheld, server):
    sign_in(handheld, "counter")
    handheld.goto("/floor/count")
    expected = server.on_hand("LAMP", "B-02")
    wedge(handheld, "B-02")
    expect(feedback(handheld)).to_contain_text("Counting B-02")
    for n in range(1, expected + 2):
        wedge(handheld, "LAMP")
        expect(feedback(handheld)).to_have_text(f"LAMP: {n} counted")  # each counted item, once the server has it
        expect(feedback(handheld)).to_have_attribute("data-feedback", "ok")
    expect(handheld.locator("table.stock")).to_contain_text(f"LAMP{expected + 1}")
    drained(handheld)
    assert "expected" not in handheld.content().lower()
    screenshot(handheld, "count")
    handheld.once("dialog", lambda d: d.accept())
    handheld.get_by_role("button", name="Finish count").tap()
    expect(feedback(handheld)).to_contain_text("Count done and posted")
    assert server.on_hand("LAMP", "B-02") == expected + 1
    assert_check_clean(server)


def test_large_variance_waits_for_another_manager(handheld, tablet, server):
    sign_in(handheld, "counter")
    handheld.goto("/floor/count")
    wedge(handheld, "A-04")
    expect(feedback(handheld)).to_contain_text("Counting A-04")
    handheld.locator("#qty").fill("40")
    handheld.locator("#scan").focus()
    wedge(handheld, "MUG")
    expect(feedback(handheld)).to_have_text("MUG: 40 counted")
    drained(handheld)
    handheld.once("dialog", lambda d: d.accept())
    handheld.get_by_role("button", name="Finish count").tap()
    expect(feedback(handheld)).to_contain_text("manager for approval")
    before = server.on_hand("MUG", "A-04")
    sign_in(tablet, "manager")
    tablet.goto("/tablet/approvals")
    section = tablet.locator("section.approval", has_text="A-04")
    expect(section).to_contain_text("+40")
    screenshot(tablet, "tablet-approvals")
    section.get_by_role("button", name="Approve").click()
    expect(feedback(tablet)).to_contain_text("approved")
    assert server.on_hand("MUG", "A-04") == before + 40


def test_picker_cannot_open_approvals(handheld):
    sign_in(handheld, "picker")
    response = handheld.goto("/tablet/approvals")
    assert response.status == 403
    expect(handheld.locator("#feedback")).to_contain_text("cannot use the approvals queue")


def test_lead_adjustment_within_threshold_posts_at_once(handheld, server):
    sign_in(handheld, "lead")
    handheld.goto("/floor/adjust")
    wedge(handheld, "A-01")
    wedge(handheld, "MUG")
    before = server.on_hand("MUG", "A-01")
    handheld.locator("#delta").fill("-1")
    handheld.get_by_label("Reason", exact=True).select_option("damaged")
    handheld.once("dialog", lambda d: d.accept())
    handheld.get_by_role("button", name="Adjust stock").tap()
    expect(feedback(handheld)).to_have_text("Adjusted MUG in A-01 by -1.")
    expect(feedback(handheld)).to_have_attribute("data-feedback", "ok")
    assert server.on_hand("MUG", "A-01") == before - 1
    assert sync_movements(server, "MUG")[-1]["from_location"] == "A-01"  # posted by the outbox's envelope
    drained(handheld)
    assert_check_clean(server)


def test_an_adjustment_over_the_threshold_is_sent_and_waits_for_a_manager(handheld, server):
    sign_in(handheld, "lead")
    handheld.goto("/floor/adjust")
    wedge(handheld, "A-01")
    wedge(handheld, "MUG")
    before = server.on_hand("MUG", "A-01")
    handheld.locator("#delta").fill("500")
    handheld.get_by_label("Reason", exact=True).select_option("found")
    handheld.once("dialog", lambda d: d.accept())
    handheld.get_by_role("button", name="Adjust stock").tap()
    expect(feedback(handheld)).to_have_text("Sent to a manager for approval.")
    expect(feedback(handheld)).to_have_attribute("data-feedback", "warn")
    drained(handheld)
    assert server.on_hand("MUG", "A-01") == before
