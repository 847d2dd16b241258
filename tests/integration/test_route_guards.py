"""Every route of the app is guarded: an anonymous request is refused, and so is a signed-in role
(or API token) without the permission. Public routes are listed here on purpose."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator

import httpx
import pytest

from backend.domain.auth.audit import Actor
from backend.domain.auth.permissions import ROLES, allows
from backend.domain.auth.tokens import create_token
from backend.domain.auth.users import create_user
from backend.http.app import create_app

# /signout stays open (CSRF-protected) so an idle handheld whose session already expired can still sign out.
PUBLIC = {"/", "/signin", "/signout", "/healthz", "/readyz", "/metrics", "/sw.js", "/manifest.webmanifest", "/offline",
          "/static"}
PIN = "2468"


def _public(path: str) -> bool:
    # Channel webhooks carry no session or token: the HMAC signature over the body is their credential
    # (an unsigned request is a 401; tests/integration/test_webhooks.py).
    # The offline screens are templates with empty slots (no data), precached before anyone signs in.
    return path in PUBLIC or path.startswith(("/static/", "/api/v1/schema", "/webhooks/", "/offline/screens/"))


def _routes(app) -> list[tuple[str, str, object]]:
    found = []
    for route in app.routes:
        for handler in getattr(route, "route_handlers", []):
            for method in sorted(handler.http_methods - {"OPTIONS", "HEAD"}):
                found.append((method, route.path, handler))
    return found


def _concrete(path: str) -> str:
    """A real URL for a route template: every {name:int} becomes 1, every other parameter X."""
    return re.sub(r"\{[a-z_]+:(\w+)\}", lambda m: "1" if m.group(1) == "int" else "X", path)


def _permission(handler) -> str | None:
    return next((g.permission for g in handler.guards or [] if hasattr(g, "permission")), None)


def _scope(handler) -> str | None:
    return next((g.scope for g in handler.guards or [] if hasattr(g, "scope")), None)


@pytest.fixture
async def app_client(ledger_db) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(ledger_db, run_jobs=False)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="https://stockline.test") as c:
        c.app = app  # type: ignore[attr-defined]
        yield c


async def _csrf(client: httpx.AsyncClient) -> dict[str, str]:
    await client.get("/signin")
    return {"x-csrftoken": client.cookies["csrftoken"]}


async def _sign_in(client: httpx.AsyncClient, role: str) -> dict[str, str]:
    await create_user(f"B-{role}", role, role, PIN, Actor("system:test"))
    headers = await _csrf(client)
    r = await client.post("/signin", data={"code": f"B-{role}", "pin": PIN}, headers=headers)
    assert r.status_code == 303, r.text
    return headers


async def test_every_route_refuses_anonymous_requests(app_client):
    headers = await _csrf(app_client)  # a valid CSRF token, so the guard itself is what refuses
    checked = 0
    for method, path, _handler in _routes(app_client.app):
        if _public(path):
            continue
        r = await app_client.request(method, _concrete(path), headers={**headers, "HX-Request": "true"},
                                     json={} if path.startswith("/api/") else None)
        refused = r.status_code == 401 or (r.status_code == 303 and "/signin" in r.headers.get("location", ""))
        assert refused, (method, path, r.status_code)
        checked += 1
    assert checked >= 20


async def test_every_screen_refuses_a_role_without_its_permission(app_client):
    routes = [(m, p, _permission(h)) for m, p, h in _routes(app_client.app) if _permission(h)]
    assert routes
    for role in ROLES:
        app_client.cookies.clear()
        headers = await _sign_in(app_client, role)
        for method, path, permission in routes:
            if allows(role, permission):
                continue
            r = await app_client.request(method, _concrete(path), headers={**headers, "HX-Request": "true"})
            assert r.status_code == 403, (role, method, path, r.status_code)


async def test_every_api_write_refuses_a_read_token(app_client):
    token = await create_token("reader", "read")
    writes = [(m, p) for m, p, h in _routes(app_client.app) if _scope(h) == "write"]
    assert len(writes) >= 10
    for method, path in writes:
        r = await app_client.request(method, _concrete(path), json={},
                                     headers={"Authorization": f"Bearer {token}", "Idempotency-Key": "k"})
        assert r.status_code == 403, (method, path, r.status_code)


async def test_every_route_is_either_public_or_guarded(app_client):
    unguarded = [(m, p) for m, p, h in _routes(app_client.app)
                 if not _public(p) and not _permission(h) and not _scope(h)]
    assert unguarded == []
