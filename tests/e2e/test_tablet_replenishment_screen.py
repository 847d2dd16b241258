"""The Replenishment screen in a browser: a manager runs replenishment now (the web process runs the job),
finds the suggestion with the numbers behind it, approves it, and a draft purchase order is made."""

from __future__ import annotations

import subprocess
import sys

from playwright.sync_api import Page, expect

from tests.e2e.conftest import Server, feedback, screenshot, sign_in
from tests.e2e.replenishment_seed import SKU, SUPPLIER
from tests.e2e.test_accessibility import serious_violations


def test_a_manager_runs_replenishment_and_approves_a_suggestion(tablet: Page, server: Server) -> None:
    subprocess.run([sys.executable, "-m", "tests.e2e.replenishment_seed"], env=server.env, check=True, timeout=120)
    sign_in(tablet, "manager")
    tablet.goto("/floor")
    tablet.get_by_role("link", name="Replenishment").click()
    expect(tablet.get_by_role("heading", name="Replenishment")).to_be_visible()
    tablet.get_by_role("button", name="Run replenishment now").click()
    expect(tablet.locator("#job-run")).to_have_attribute("data-status", "done", timeout=60_000)
    tablet.goto(f"/tablet/replenishment?sku={SKU}")
    row = tablet.locator(f"tr[data-sku='{SKU}']")
    expect(row).to_contain_text(SUPPLIER)
    expect(row.get_by_label(f"Quantity of {SKU}")).to_have_value("24")  # the MOQ, two cases of 12
    screenshot(tablet, "tablet-replenishment")
    assert serious_violations(tablet) == []
    row.get_by_role("checkbox").check()
    tablet.get_by_role("button", name="Approve selected").click()
    expect(feedback(tablet)).to_contain_text("1 draft purchase order(s) made")
    expect(tablet.locator(f"tr[data-sku='{SKU}']")).to_have_count(0)  # no longer open
