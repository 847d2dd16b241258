"""Probes: /healthz says the process answers (liveness); /readyz says it can serve (readiness).

A load balancer or orchestrator sends traffic only to a ready process and restarts only a dead one:
a database that is down or behind on migrations makes a process unready, not dead (restarting it
would not help). Each check is bounded in time so a hanging dependency answers 503, not a timeout.
"""

from __future__ import annotations

import asyncio
from typing import Any

import structlog
from litestar import get
from litestar.response import Response
from litestar.status_codes import HTTP_200_OK, HTTP_503_SERVICE_UNAVAILABLE

from backend import db
from backend.http.connection import AppRequest, settings_of
from backend.migrations import pending_versions

log = structlog.get_logger("stockline.health")
CHECK_TIMEOUT_S = 2.0


@get("/healthz", name="healthz", include_in_schema=False, cache=False)
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


async def _database() -> str | None:
    """None when the database answers and every migration is applied; else the reason."""
    try:
        await db.fetch("SELECT 1 AS one")
    except Exception as exc:  # noqa: BLE001 - any failure to answer is "unreachable", with its cause
        return f"database unreachable: {type(exc).__name__}: {exc}"[:300]
    pending = await pending_versions()
    if pending:
        return f"migrations pending: {', '.join(f'{v:04d}' for v in pending)} (run `stockline migrate`)"
    return None


async def _redis(url: str) -> str | None:
    from redis.asyncio import Redis

    client = Redis.from_url(url, socket_connect_timeout=CHECK_TIMEOUT_S, socket_timeout=CHECK_TIMEOUT_S)
    try:
        await client.ping()
    except Exception as exc:  # noqa: BLE001
        return f"redis unreachable: {type(exc).__name__}: {exc}"[:300]
    finally:
        await client.aclose()
    return None


async def _bounded(name: str, check: Any) -> str | None:
    try:
        return await asyncio.wait_for(check, timeout=CHECK_TIMEOUT_S)
    except TimeoutError:
        return f"{name} did not answer within {CHECK_TIMEOUT_S:g} s"


@get("/readyz", name="readyz", include_in_schema=False, cache=False)
async def readyz(request: AppRequest) -> Response[dict[str, Any]]:
    settings = settings_of(request)
    checks = {"database": await _bounded("database", _database())}
    if settings.redis_url:
        checks["redis"] = await _bounded("redis", _redis(settings.redis_url))
    problems = {name: reason for name, reason in checks.items() if reason}
    body: dict[str, Any] = {"status": "ok" if not problems else "unavailable",
                            "checks": {name: reason or "ok" for name, reason in checks.items()}}
    if problems:
        log.warning("health.not_ready", **problems)
        return Response(body, status_code=HTTP_503_SERVICE_UNAVAILABLE)
    return Response(body, status_code=HTTP_200_OK)


ROUTES = [healthz, readyz]
