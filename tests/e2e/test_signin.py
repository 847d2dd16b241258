"""Shared-device sign-in: badge scan then PIN, lockout, idle sign-out, switch user, CSRF."""

from __future__ import annotations

import httpx
from playwright.sync_api import expect

from tests.e2e.conftest import feedback, screenshot, sign_in, start_server, stop_server, wedge
from tests.e2e.seed import USERS


def test_badge_then_pin_signs_in_and_shows_the_role_menu(handheld):
    sign_in(handheld, "receiver")
    menu = handheld.locator("nav.menu")
    expect(menu.get_by_role("link", name="Receive")).to_be_visible()
    expect(menu.get_by_role("link", name="Pick")).to_have_count(0)
    screenshot(handheld, "home-receiver")


def test_wrong_pin_is_refused_with_a_message(handheld):
    handheld.goto("/signin")
    wedge(handheld, USERS["picker"][0])
    handheld.keyboard.type("9999")
    handheld.keyboard.press("Enter")
    expect(feedback(handheld)).to_contain_text("not recognised")
    expect(feedback(handheld)).to_have_attribute("data-feedback", "error")
    screenshot(handheld, "signin-error")


def test_five_wrong_pins_lock_the_badge(handheld):
    badge, pin = USERS["picker2"]
    for attempt in range(1, 6):
        handheld.goto("/signin")
        wedge(handheld, badge)
        handheld.keyboard.type("0000")
        handheld.keyboard.press("Enter")
        expect(feedback(handheld)).to_contain_text("Locked" if attempt == 5 else "not recognised")
    handheld.goto("/signin")
    wedge(handheld, badge)
    handheld.keyboard.type(pin)
    handheld.keyboard.press("Enter")
    expect(feedback(handheld)).to_contain_text("Too many wrong PINs")


def test_switch_user_is_two_taps(handheld):
    sign_in(handheld, "picker")
    handheld.get_by_role("button", name="Switch user").tap()
    handheld.wait_for_url("**/signin")
    expect(handheld.locator("#scan")).to_be_focused()
    handheld.goto("/floor")
    handheld.wait_for_url("**/signin")


def test_post_without_csrf_token_is_refused(handheld, server):
    sign_in(handheld, "receiver")
    cookies = {c["name"]: c["value"] for c in handheld.context.cookies()}
    r = httpx.post(f"{server.url}/floor/move", data={"code": "A-01"}, cookies=cookies)
    assert r.status_code == 403 and "expired" in r.text
    r = httpx.post(f"{server.url}/floor/move", data={"code": "A-01"}, cookies=cookies,
                   headers={"x-csrftoken": "forged"})
    assert r.status_code == 403


def test_idle_handheld_is_signed_out(browser, tmp_path):
    srv = start_server("sqlite", tmp_path, STOCKLINE_IDLE_SIGNOUT_S="2")
    try:
        context = browser.new_context(viewport={"width": 360, "height": 640}, base_url=srv.url)
        page = context.new_page()
        sign_in(page, "picker")
        page.wait_for_url("**/signin", timeout=10_000)  # the page signs itself out after 2 s idle
        page.goto("/floor")
        page.wait_for_url("**/signin")
        context.close()
    finally:
        stop_server(srv)
