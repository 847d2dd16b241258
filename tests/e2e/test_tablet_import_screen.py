"""The tablet's import page in a browser: upload a CSV, watch the run poll itself to its end, see bad rows
listed by line; screenshots of both."""

from __future__ import annotations

import uuid

from playwright.sync_api import expect

from tests.e2e.conftest import screenshot, sign_in
from tests.e2e.test_accessibility import serious_violations


def _upload(page, name: str, text: str) -> None:
    page.goto("/tablet/import")
    page.set_input_files("#file", files=[{"name": name, "mimeType": "text/csv", "buffer": text.encode()}])
    page.get_by_role("button", name="Import").click()


def test_a_manager_imports_items_and_sees_the_result(tablet, server):
    sign_in(tablet, "manager")
    sku = f"IMP-{uuid.uuid4().hex[:6].upper()}"
    _upload(tablet, "items.csv", f"sku,name,case_pack\n{sku},Imported mug,12\n")
    run = tablet.locator("#import-run")
    expect(run).to_have_attribute("data-status", "done", timeout=30_000)
    expect(run).to_contain_text("1 items row(s): 1 created")
    screenshot(tablet, "tablet-import-done")
    assert serious_violations(tablet) == []
    assert server.api(f"/items/{sku}")["units"] == {"case": 12}


def test_bad_rows_are_listed_with_their_lines(tablet, server):
    sign_in(tablet, "manager")
    before = server.on_hand("MUG", "A-01")
    _upload(tablet, "stock.csv", "sku,location,qty\nMUG,A-01,2\nNOPE,A-01,1\nMUG,NOWHERE,1\n")
    run = tablet.locator("#import-run")
    expect(run).to_have_attribute("data-status", "invalid", timeout=30_000)
    expect(run.locator("tbody tr")).to_have_count(2)
    expect(run.locator("tbody tr").first).to_contain_text("3")
    expect(run.locator("tbody tr").first).to_contain_text("no item with SKU 'NOPE'")
    expect(run).to_contain_text("nothing was imported")
    screenshot(tablet, "tablet-import-errors")
    assert serious_violations(tablet) == []
    assert server.on_hand("MUG", "A-01") == before  # the good row was not posted either
