"""The API docs page (/api/v1/schema) renders with no network beyond the Stockline server: Swagger UI is
vendored into web/static, not loaded from a CDN. Every request to another host is blocked and recorded."""

from __future__ import annotations

from collections.abc import Iterator
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import Browser, Page, Route, expect

from tests.e2e.conftest import TABLET, Server, screenshot

LOCAL_HOSTS = {"127.0.0.1", "localhost"}


class Offline:
    def __init__(self) -> None:
        self.blocked: list[str] = []
        self.failed: list[str] = []
        self.errors: list[str] = []

    def route(self, route: Route) -> None:
        if urlsplit(route.request.url).hostname in LOCAL_HOSTS:
            route.continue_()
        else:
            self.blocked.append(route.request.url)
            route.abort("internetdisconnected")


@pytest.fixture
def offline_docs(browser: Browser, server: Server) -> Iterator[tuple[Page, Offline]]:
    context = browser.new_context(viewport=TABLET, base_url=server.url)
    net = Offline()
    context.route("**/*", net.route)
    page = context.new_page()
    page.on("requestfailed", lambda r: net.failed.append(r.url))
    page.on("pageerror", lambda e: net.errors.append(str(e)))
    yield page, net
    context.close()


def test_the_api_docs_render_with_no_outside_network(offline_docs):
    page, net = offline_docs
    page.goto("/api/v1/schema")
    expect(page.locator(".swagger-ui .info .title")).to_contain_text("Stockline API")
    receive = page.locator(".opblock", has_text="/api/v1/movements/receive")
    expect(receive).to_be_visible()
    receive.locator(".opblock-summary").click()  # the operation opens with its request body schema
    expect(receive.locator(".opblock-body")).to_contain_text("Idempotency-Key")
    expect(page.locator(".opblock", has_text="/api/v1/items").first).to_be_visible()
    screenshot(page, "api-docs-offline")
    assert net.blocked == [], f"the docs page reached outside: {net.blocked}"
    assert net.failed == [] and net.errors == [], (net.failed, net.errors)
