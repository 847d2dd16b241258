"""Floor sign-in sessions: cookie → live session → actor. Guards per permission."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from litestar.connection import ASGIConnection
from litestar.exceptions import NotAuthorizedException, PermissionDeniedException
from litestar.handlers.base import BaseRouteHandler

from backend.domain.auth import users
from backend.domain.auth.audit import Actor
from backend.domain.auth.permissions import allows

SESSION_COOKIE = "stockline_session"
DEVICE_COOKIE = "stockline_device"  # the public device id, for the outbox to read
DEVICE_KEY_COOKIE = "stockline_device_key"  # the device's secret (httponly): see backend/domain/auth/devices.py

_PERMISSION_NAMES = {
    "lookup": "stock lookup", "receive": "receiving", "putaway": "putaway", "move": "moving stock",
    "pick": "picking", "pack": "packing", "ship": "shipping", "count": "counting", "adjust": "adjustments",
    "approve": "approvals", "create_pick_list": "creating pick lists", "users_view": "users",
    "users_manage": "managing users", "approvals_view": "the approvals queue", "stock_search": "stock search",
    "audit_view": "the audit trail", "devices_manage": "revoking scanners", "resolve_short_picks": "short picks",
}


async def load_session(connection: ASGIConnection) -> users.SessionView:
    cached = connection.scope.get("stockline_session")
    if cached is not None:
        return cached
    idle_s = connection.app.state.settings.idle_signout_s
    session = await users.session_for(connection.cookies.get(SESSION_COOKIE, ""), idle_s)
    if session is None:
        raise NotAuthorizedException("Please sign in.")
    connection.scope["stockline_session"] = session  # type: ignore[typeddict-unknown-key]
    return session


def requires(permission: str) -> Callable[[ASGIConnection, BaseRouteHandler], Awaitable[None]]:
    """Guard: a signed-in user whose role allows `permission`."""

    async def guard(connection: ASGIConnection, _: BaseRouteHandler) -> None:
        session = await load_session(connection)
        if not allows(session.user.role, permission):
            what = _PERMISSION_NAMES.get(permission, permission)
            raise PermissionDeniedException(f"Your role ({session.user.role}) cannot use {what}. Ask a lead.")

    guard.permission = permission  # type: ignore[attr-defined]  # read by the route-coverage test
    return guard


def actor(connection: ASGIConnection) -> Actor:
    session: users.SessionView = connection.scope["stockline_session"]  # type: ignore[typeddict-item]
    return Actor(f"user:{session.user.code}", session.device_id, session.user.id, session.user.role)


def session_of(connection: ASGIConnection) -> users.SessionView:
    return connection.scope["stockline_session"]  # type: ignore[typeddict-item]
