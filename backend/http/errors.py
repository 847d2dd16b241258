"""The one place where errors become HTTP responses: `{"error": {"code", "message", ...}}`."""

from __future__ import annotations

import sqlite3
from collections.abc import Mapping

import asyncpg
import structlog
from litestar import Response
from litestar.exceptions import HTTPException, NotAuthorizedException, PermissionDeniedException, ValidationException
from litestar.response import Redirect, Template
from litestar.status_codes import (
    HTTP_400_BAD_REQUEST,
    HTTP_401_UNAUTHORIZED,
    HTTP_403_FORBIDDEN,
    HTTP_404_NOT_FOUND,
    HTTP_405_METHOD_NOT_ALLOWED,
    HTTP_409_CONFLICT,
    HTTP_413_REQUEST_ENTITY_TOO_LARGE,
    HTTP_415_UNSUPPORTED_MEDIA_TYPE,
    HTTP_422_UNPROCESSABLE_ENTITY,
    HTTP_500_INTERNAL_SERVER_ERROR,
)

from backend.domain import bounds
from backend.domain import errors as e
from backend.http.connection import AnyResponse, AppRequest
from backend.http.guards import api_key

log = structlog.get_logger("stockline.http")

_DOMAIN_STATUS: list[tuple[type[e.DomainError], int]] = [
    (e.NotPermitted, HTTP_403_FORBIDDEN),
    (e.IdempotencyConflict, HTTP_422_UNPROCESSABLE_ENTITY),
    (e.InvalidInput, HTTP_422_UNPROCESSABLE_ENTITY),
    (e.UnknownReference, HTTP_422_UNPROCESSABLE_ENTITY),
    (e.Conflict, HTTP_409_CONFLICT),
]


class NotFound(e.DomainError):
    """A resource named in the URL path does not exist (404, unlike references in a body)."""

    code = "not_found"


class RequestRefused(Exception):
    """The request cannot be taken as sent (its media type, JSON, nesting or a value's bounds),
    refused before any handler runs (backend/http/boundary.py)."""

    def __init__(self, status: int, code: str, message: str, **details: object) -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.details = status, code, message, details


# JSON clients: the bearer-token API, and the handheld's offline outbox (a fetch() that must see
# 401/422 as such, not follow a redirect to the sign-in page and read it as a 200).
_JSON_PREFIXES = ("/api/", "/sync/")


def _wants_html(request: AppRequest) -> bool:
    return not request.url.path.startswith(_JSON_PREFIXES)


def _html(request: AppRequest, message: str, status: int) -> AnyResponse:
    """Screens: htmx gets the feedback partial swapped into #feedback (the half-done form stays);
    a plain form post gets an error page. 401 sends the person to sign in."""
    htmx = bool(request.headers.get("hx-request"))
    signin = request.app.route_reverse("signin")
    if status == HTTP_401_UNAUTHORIZED:
        if htmx:
            return Response("", status_code=status, headers={"HX-Redirect": signin})
        return Redirect(path=signin, status_code=303)
    if htmx:
        return Template(template_name="floor/_feedback.html", context={"error": message}, status_code=status,
                        headers={"HX-Retarget": "#feedback", "HX-Reswap": "outerHTML", "Vary": "HX-Request"})
    return Template(template_name="floor/error.html", context={"message": message, "title": "Problem"},
                    status_code=status)


def _body(code: str, message: str, status: int, request: AppRequest | None = None,
          headers: Mapping[str, str] | None = None, details: Mapping[str, object] | None = None) -> AnyResponse:
    if request is not None and _wants_html(request):
        return _html(request, message, status)
    error: dict[str, object] = {"code": code, "message": message, **(details or {})}
    return Response({"error": error}, status_code=status, media_type="application/json", headers=headers)


def domain_error(request: AppRequest, exc: e.DomainError) -> AnyResponse:
    if isinstance(exc, NotFound):
        return _body(exc.code, exc.message, HTTP_404_NOT_FOUND, request)
    status = next((s for cls, s in _DOMAIN_STATUS if isinstance(exc, cls)), HTTP_422_UNPROCESSABLE_ENTITY)
    return _body(exc.code, _as_client_sent(request, exc), status, request, details=exc.details())


def _as_client_sent(request: AppRequest, exc: e.DomainError) -> str:
    """The ledger keeps an API client's Idempotency-Key in its token's namespace (`api:{token}:{key}`);
    a message about the key names it as the client sent it."""
    sent = request.headers.get("idempotency-key")
    if not isinstance(exc, e.IdempotencyConflict) or not sent or "token" not in request.scope.get("state", {}):
        return exc.message
    try:
        scoped = api_key(request, sent)
    except e.InvalidInput:
        return exc.message
    return exc.message.replace(repr(scoped), repr(sent)).replace(scoped, sent)


def request_refused(request: AppRequest, exc: RequestRefused) -> AnyResponse:
    return _body(exc.code, exc.message, exc.status, request, details=exc.details)


def validation_error(request: AppRequest, exc: ValidationException) -> AnyResponse:
    detail = str(exc.detail)
    if "malformed" in detail.lower():
        return _body("malformed_json", "The request body is not valid JSON.", HTTP_400_BAD_REQUEST, request)
    problems = exc.extra if isinstance(exc.extra, list) else []
    fields = [
        {"field": p.get("key"), "source": p.get("source"), "message": bounds.describe(str(p.get("message")))}
        for p in problems
        if isinstance(p, dict)
    ]
    in_request_line = "header" in detail or "query" in detail
    if in_request_line or any(f["source"] in ("header", "query", "path", "cookie") for f in fields):
        named = [f"{f['field']}: {f['message']}" if f["field"] else str(f["message"]) for f in fields]
        message = "; ".join(named) or detail
        return _body("bad_request", message, HTTP_400_BAD_REQUEST, request, details={"fields": fields})
    message = "; ".join(f"{f['field']}: {f['message']}" for f in fields) or detail
    return _body("validation_error", message, HTTP_422_UNPROCESSABLE_ENTITY, request, details={"fields": fields})


_HTTP_CODES = {
    HTTP_401_UNAUTHORIZED: "unauthorized",
    HTTP_403_FORBIDDEN: "forbidden",
    HTTP_404_NOT_FOUND: "not_found",
    HTTP_405_METHOD_NOT_ALLOWED: "method_not_allowed",
    HTTP_413_REQUEST_ENTITY_TOO_LARGE: "payload_too_large",
    HTTP_415_UNSUPPORTED_MEDIA_TYPE: "unsupported_media_type",
}


def http_error(request: AppRequest, exc: HTTPException) -> AnyResponse:
    status = exc.status_code
    detail = str(exc.detail)
    if status == HTTP_400_BAD_REQUEST and "malformed" in detail.lower():
        return _body("malformed_json", "The request body is not valid JSON.", status, request)
    if "CSRF" in detail:
        detail = "This screen expired. Reload it and scan again."
    # 405 keeps its Allow header: it says which methods the path takes.
    return _body(_HTTP_CODES.get(status, "http_error"), detail, status, request, headers=exc.headers)


def database_conflict(request: AppRequest, exc: Exception) -> AnyResponse:
    """A unique or CHECK constraint refused a write the domain had checked: another request changed
    the same thing in between. The transaction rolled back; reloading shows what is there now."""
    log.warning("http.database_conflict", path=request.url.path, error=type(exc).__name__)
    return _body("conflict", "This was changed by someone else at the same time. Reload and try again.",
                 HTTP_409_CONFLICT, request)


_UNSTORABLE_VALUES = (
    asyncpg.exceptions.NumericValueOutOfRangeError,  # past an INTEGER/BIGINT column
    asyncpg.exceptions.CharacterNotInRepertoireError,  # NUL in text
    asyncpg.exceptions.UntranslatableCharacterError,
)


def unstorable_value(request: AppRequest, exc: Exception) -> AnyResponse:
    """A value the database cannot hold reached it. The boundary (backend/http/boundary.py and the
    types in backend/domain/bounds.py) refuses these first; this is the net under a form field or a
    future route that was not bounded: a 422 for the client's value, never a 500."""
    message = str(exc)
    client_side = "out of int64 range" in message or "out of int32 range" in message  # asyncpg, before sending
    sqlite_side = isinstance(exc, OverflowError) and "SQLite INTEGER" in message
    if not (isinstance(exc, _UNSTORABLE_VALUES) or client_side or sqlite_side):
        return unexpected_error(request, exc)
    log.warning("http.unstorable_value", path=request.url.path, error=type(exc).__name__)
    return _body("invalid_input", "A number in this request is out of range, or a text holds a NUL character.",
                 HTTP_422_UNPROCESSABLE_ENTITY, request)


def unexpected_error(request: AppRequest, exc: Exception) -> AnyResponse:
    log.exception("http.unhandled", path=request.url.path, error=type(exc).__name__)
    # Whether the work committed is unknown here (the failure may have come after the commit).
    return _body("internal_error", "Something went wrong on the server. Check the screen before trying again.",
                 HTTP_500_INTERNAL_SERVER_ERROR, request)


EXCEPTION_HANDLERS = {
    e.DomainError: domain_error,
    RequestRefused: request_refused,
    ValidationException: validation_error,
    NotAuthorizedException: http_error,
    PermissionDeniedException: http_error,
    HTTPException: http_error,
    asyncpg.UniqueViolationError: database_conflict,
    asyncpg.CheckViolationError: database_conflict,
    sqlite3.IntegrityError: database_conflict,
    asyncpg.DataError: unstorable_value,
    OverflowError: unstorable_value,
    Exception: unexpected_error,
}
