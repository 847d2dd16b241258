"""Shared-device sign-in: scan a badge (or type the user code), then the PIN."""

from __future__ import annotations

from litestar import get, post
from litestar.datastructures import Cookie
from litestar.exceptions import NoRouteMatchFoundException
from litestar.response import Redirect, Template

from backend.domain.auth import users
from backend.domain.auth.permissions import permissions_of
from backend.domain.errors import DomainError
from backend.http.connection import AppRequest, settings_of
from backend.http.session import (
    DEVICE_COOKIE,
    DEVICE_KEY_COOKIE,
    SESSION_COOKIE,
    load_session,
    requires,
    session_of,
)

DEVICE_COOKIE_MAX_AGE_S = 10 * 365 * 24 * 3600
FLOOR_ACTIONS = [  # (permission, route name, label)
    ("pick", "floor_pick", "Pick"), ("pack", "floor_pack", "Pack"), ("ship", "floor_ship", "Ship"),
    ("receive", "floor_receive", "Receive"), ("putaway", "floor_putaway", "Put away"),
    ("move", "floor_move", "Move"), ("count", "floor_count", "Count"), ("adjust", "floor_adjust", "Adjust"),
    ("lookup", "floor_lookup", "Lookup"), ("approvals_view", "tablet_approvals", "Approvals"),
    ("create_pick_list", "tablet_orders", "Orders & pick lists"), ("users_view", "tablet_users", "Users"),
    ("stock_search", "tablet_stock", "Stock search"), ("approvals_view", "tablet_devices", "Devices"),
    ("jobs_manage", "tablet_jobs", "Jobs"), ("purchasing_manage", "tablet_purchase_orders", "Purchasing"),
    ("purchasing_manage", "tablet_replenishment", "Replenishment"),
]


def _signin(error: str = "", code: str = "", status: int = 200) -> Template:
    return Template(template_name="floor/signin.html", context={"error": error, "code": code}, status_code=status)


@get("/signin", name="signin")
async def signin_screen() -> Template:
    return _signin()


@post("/signin", name="signin_post")
async def signin(request: AppRequest) -> Template | Redirect:
    form = await request.form()
    code, pin = str(form.get("code") or "").strip(), str(form.get("pin") or "")
    try:
        signed_in = await users.sign_in(code, pin, request.cookies.get(DEVICE_KEY_COOKIE, ""))
    except DomainError as exc:
        return _signin(exc.message, code, status=401)
    secure = settings_of(request).cookies_secure
    cookies = [Cookie(key=SESSION_COOKIE, value=signed_in.token, httponly=True, samesite="strict", secure=secure,
                      path="/")]
    if signed_in.device_key:  # enrolled just now: the handheld's identity, issued by the server
        cookies.append(Cookie(key=DEVICE_KEY_COOKIE, value=signed_in.device_key, httponly=True, samesite="strict",
                              secure=secure, max_age=DEVICE_COOKIE_MAX_AGE_S, path="/"))
    # Public: the outbox reads it to name this device in its scans. The server never trusts it.
    cookies.append(Cookie(key=DEVICE_COOKIE, value=signed_in.session.device_id, httponly=False, samesite="strict",
                          secure=secure, max_age=DEVICE_COOKIE_MAX_AGE_S, path="/"))
    return Redirect(path=request.app.route_reverse("floor_home"), cookies=cookies, status_code=303)


@post("/signout", name="signout")
async def signout(request: AppRequest) -> Redirect:
    """Sign out (also 'switch user': the next person scans their badge)."""
    await users.end_session(request.cookies.get(SESSION_COOKIE, ""))
    return Redirect(path=request.app.route_reverse("signin"), status_code=303,
                    cookies=[Cookie(key=SESSION_COOKIE, value="", max_age=0, path="/")])


@get("/floor", name="floor_home", guards=[requires("lookup")])
async def floor_home(request: AppRequest) -> Template:
    session = session_of(request)
    allowed = permissions_of(session.user.role)
    actions = []
    for perm, name, label in FLOOR_ACTIONS:
        if perm in allowed:
            try:
                actions.append((request.app.route_reverse(name), label))
            except NoRouteMatchFoundException:
                continue  # a screen this build does not have
    return Template(template_name="floor/home.html", context={"actions": actions})


@get("/", name="home", include_in_schema=False)
async def root(request: AppRequest) -> Redirect:
    try:
        await load_session(request)
    except Exception:  # noqa: BLE001 - not signed in
        return Redirect(path=request.app.route_reverse("signin"), status_code=303)
    return Redirect(path=request.app.route_reverse("floor_home"), status_code=303)


ROUTES = [signin_screen, signin, signout, floor_home, root]
