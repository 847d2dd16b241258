"""The tablet's Jobs screen in a browser: a manager starts a job, its run page polls itself to the end,
the runs list shows it; screenshots of both."""

from __future__ import annotations

from playwright.sync_api import expect

from tests.e2e.conftest import screenshot, sign_in
from tests.e2e.test_accessibility import serious_violations


def test_a_manager_runs_a_job_and_watches_it_finish(tablet, server):
    sign_in(tablet, "manager")
    tablet.goto("/floor")
    tablet.get_by_role("link", name="Jobs").click()
    expect(tablet.get_by_role("heading", name="Background jobs")).to_be_visible()
    row = tablet.get_by_role("row").filter(has_text="Look for stuck jobs")
    row.get_by_role("button", name="Run now").click()
    run = tablet.locator("#job-run")
    expect(run).to_have_attribute("data-status", "done", timeout=30_000)
    expect(run).to_contain_text("Done.")
    expect(run.locator("table.job-result")).to_contain_text("stuck")
    screenshot(tablet, "tablet-job-run-done")
    assert serious_violations(tablet) == []
    tablet.get_by_role("link", name="Back to jobs").click()
    runs = tablet.locator("#job-runs")
    expect(runs.locator("tr[data-kind='watch_job_runs']").first).to_have_attribute("data-status", "done")
    screenshot(tablet, "tablet-jobs")
    assert serious_violations(tablet) == []
