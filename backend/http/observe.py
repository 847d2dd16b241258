"""Every request: a request id (the client's `X-Request-ID` if sane, else a new one) bound to every log
line written while it runs, one `http.request` line when it ends, its latency by route template in
the metrics; and `/metrics` when STOCKLINE_METRICS is on.

This wraps the whole ASGI handler (as Litestar's OpenTelemetry plugin does), not a route's middleware
stack, so requests that match no route (404) and errors raised before a handler are counted too.
"""

from __future__ import annotations

import re
import time
import uuid
from typing import Any

import structlog
from litestar import Litestar, get
from litestar.enums import ScopeType
from litestar.response import Response
from litestar.types import ASGIApp, Message, Receive, Scope, Send

from backend import metrics
from backend.logging import current_scope

log = structlog.get_logger("stockline.http")
REQUEST_ID_HEADER = "x-request-id"
REQUEST_ID_LENGTH_MAX = 64
_SANE_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,64}$")
# Probes and scrapes every few seconds would drown the request log; they are still measured.
_QUIET_PATHS = ("/healthz", "/readyz", "/metrics")


def _request_id(scope: Scope) -> str:
    for name, value in scope.get("headers") or []:
        if name == REQUEST_ID_HEADER.encode():
            candidate = value.decode("latin-1")
            if _SANE_REQUEST_ID.match(candidate):
                return candidate
    return uuid.uuid4().hex


def observed(app: ASGIApp) -> ASGIApp:
    async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != ScopeType.HTTP:
            await app(scope, receive, send)
            return
        request_id = _request_id(scope)
        structlog.contextvars.clear_contextvars()
        structlog.contextvars.bind_contextvars(request_id=request_id)
        scope_token = current_scope.set(scope)  # type: ignore[arg-type]
        status = 500
        started = time.perf_counter()

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message["headers"] = [*message.get("headers", []), (b"x-request-id", request_id.encode())]
            await send(message)

        try:
            await app(scope, receive, send_with_id)
        finally:
            seconds = time.perf_counter() - started
            route = scope.get("path_template") or metrics.UNMATCHED_ROUTE
            method = str(scope.get("method", ""))
            metrics.observe_request(method, route, status, seconds)
            if scope["path"] not in _QUIET_PATHS:
                log.info("http.request", method=method, path=scope["path"], route=route, status=status,
                         duration_ms=round(seconds * 1000, 1))
            current_scope.reset(scope_token)
            structlog.contextvars.clear_contextvars()

    return middleware


def install(app: Litestar) -> Litestar:
    app.asgi_handler = observed(app.asgi_handler)
    return app


@get("/metrics", name="metrics", include_in_schema=False, cache=False)
async def metrics_endpoint() -> Response[bytes]:
    return Response(metrics.exposition(), media_type=metrics.CONTENT_TYPE)


def metrics_routes(enabled: bool) -> list[Any]:
    return [metrics_endpoint] if enabled else []
