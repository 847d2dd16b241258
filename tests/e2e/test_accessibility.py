"""axe-core (from npm, injected from node_modules: nothing fetched) finds no serious or critical
violations on any screen, handheld or tablet."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import Page

from tests.e2e.conftest import sign_in

AXE = Path(__file__).resolve().parents[2] / "node_modules" / "axe-core" / "axe.min.js"
HANDHELD_SCREENS = {
    "receiver": ["/floor", "/floor/lookup", "/floor/receive", "/floor/move", "/floor/putaway"],
    "picker": ["/floor/pick", "/floor/pack", "/floor/ship"],
    "counter": ["/floor/count"],
    "lead": ["/floor/adjust"],
}
TABLET_SCREENS = ["/tablet/approvals", "/tablet/devices", "/tablet/orders", "/tablet/stock?q=MUG", "/tablet/users",
                  "/tablet/suppliers", "/tablet/purchase-orders"]


def serious_violations(page: Page) -> list[str]:
    page.add_script_tag(path=str(AXE))
    result = page.evaluate("async () => await axe.run(document, {resultTypes: ['violations']})")
    return [f"{v['id']}: {v['help']} ({len(v['nodes'])} nodes)" for v in result["violations"]
            if v["impact"] in ("serious", "critical")]


def test_sign_in_screen(handheld):
    handheld.goto("/signin")
    assert serious_violations(handheld) == []


@pytest.mark.parametrize("role", sorted(HANDHELD_SCREENS))
def test_handheld_screens(handheld, role):
    sign_in(handheld, role)
    for path in HANDHELD_SCREENS[role]:
        handheld.goto(path)
        assert serious_violations(handheld) == [], path


def test_tablet_screens(tablet):
    sign_in(tablet, "admin")
    for path in TABLET_SCREENS:
        tablet.goto(path)
        assert serious_violations(tablet) == [], path
