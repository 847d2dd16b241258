"""Floor sign-in sessions: cookie → live session → actor. Guards per permission."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from litestar.exceptions import NotAuthorizedException, PermissionDeniedException
from litestar.handlers.base import BaseRouteHandler

from backend.domain.auth import users
from backend.domain.auth.audit import Actor
from backend.domain.auth.permissions import allows
from backend.http.connection import AppConnection, settings_of

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


def _loaded(connection: AppConnection) -> users.SessionView | None:
    session = connection.scope.get("stockline_session")
    return session if isinstance(session, users.SessionView) else None


async def load_session(connection: AppConnection) -> users.SessionView:
    cached = _loaded(connection)
    if cached is not None:
        return cached
    idle_s = settings_of(connection).idle_signout_s
    session = await users.session_for(connection.cookies.get(SESSION_COOKIE, ""), idle_s)
    if session is None:
        raise NotAuthorizedException("Please sign in.")
    # Kept in the raw scope, where backend/logging.py finds it; Litestar's Scope type has no key for it.
    connection.scope["stockline_session"] = session  # type: ignore[typeddict-unknown-key]
    return session


def requires(permission: str) -> Callable[[AppConnection, BaseRouteHandler], Awaitable[None]]:
    """Guard: a signed-in user whose role allows `permission`."""

    async def guard(connection: AppConnection, _: BaseRouteHandler) -> None:
        session = await load_session(connection)
        if not allows(session.user.role, permission):
            what = _PERMISSION_NAMES.get(permission, permission)
            raise PermissionDeniedException(f"Your role ({session.user.role}) cannot use {what}. Ask a lead.")

    guard.permission = permission  # type: ignore[attr-defined]  # read by the route-coverage test
    return guard


def actor(connection: AppConnection) -> Actor:
    session = session_of(connection)
    return Actor(f"user:{session.user.code}", session.device_id, session.user.id, session.user.role)


def session_of(connection: AppConnection) -> users.SessionView:
    """The session a `requires(...)` guard loaded for this request."""
    session = _loaded(connection)
    assert session is not None, "the route's guard loads the session"
    return session
