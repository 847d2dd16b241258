"""API token guards: a read or write scope per route. 401 without a valid token, 403 without the scope."""

from __future__ import annotations

from litestar.exceptions import NotAuthorizedException, PermissionDeniedException
from litestar.handlers.base import BaseRouteHandler

from backend.domain.auth.audit import Actor
from backend.domain.auth.tokens import TokenView, verify_token
from backend.domain.idempotency import scoped_key
from backend.http.connection import AppConnection


async def _token(connection: AppConnection) -> TokenView:
    header = connection.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "bearer" or not value:
        raise NotAuthorizedException("Send an API token: 'Authorization: Bearer stl_...'.")
    token = await verify_token(value.strip())
    if token is None:
        raise NotAuthorizedException("This API token is not valid or was revoked.")
    connection.scope.setdefault("state", {})["token"] = token
    return token


async def require_read(connection: AppConnection, _: BaseRouteHandler) -> None:
    await _token(connection)


async def require_write(connection: AppConnection, _: BaseRouteHandler) -> None:
    token = await _token(connection)
    if not token.allows("write"):
        raise PermissionDeniedException(f"Token {token.name!r} is read-only; this action needs a write token.")


require_read.scope = "read"  # type: ignore[attr-defined]  # read by the route-coverage test
require_write.scope = "write"  # type: ignore[attr-defined]


def actor_of(connection: AppConnection) -> Actor:
    """The integration behind the token, as recorded in the ledger and the audit log."""
    token: TokenView = connection.scope["state"]["token"]
    return Actor(f"token:{token.name}", device="api")


def api_key(connection: AppConnection, key: str) -> str:
    """A client's Idempotency-Key in its token's own namespace."""
    token: TokenView = connection.scope["state"]["token"]
    return scoped_key(f"api:{token.id}", key)
