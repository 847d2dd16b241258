"""`POST /webhooks/{kind}/{slug}`: channels deliver orders here. Read the raw body (bounded), let the
channels area verify and store it, answer at once, and wake the import job.

These routes have no session or token: the channel's HMAC signature over the raw body is the
credential (backend/domain/channels/_signatures.py). Answers are plain JSON whatever the caller
sends: 200 received (or already received), 400 malformed or unknown topic (kept in the webhook log),
401 unknown channel or bad signature (nothing kept), 413 body over WEBHOOK_BODY_BYTES_MAX.
"""

from __future__ import annotations

from datetime import UTC, datetime

import structlog
from litestar import Response, post
from litestar.params import FromPath

from backend.domain import channels
from backend.http.connection import AppRequest
from jobs.dispatch import wake_order_import

log = structlog.get_logger("stockline.webhooks")


def _answer(status: int, result: str, message: str) -> Response[dict[str, str]]:
    return Response({"result": result, "message": message}, status_code=status, media_type="application/json")


async def _bounded_body(request: AppRequest) -> bytes | None:
    """The raw body, or None once it passes the limit (read no further than that)."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > channels.WEBHOOK_BODY_BYTES_MAX:
        return None
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > channels.WEBHOOK_BODY_BYTES_MAX:
            return None
        chunks.append(chunk)
    return b"".join(chunks)


@post("/webhooks/{kind:str}/{slug:str}", name="channel_webhook", include_in_schema=False,
      request_max_body_size=None, status_code=200)
async def channel_webhook(request: AppRequest, kind: FromPath[str], slug: FromPath[str]) -> Response[dict[str, str]]:
    body = await _bounded_body(request)
    if body is None:
        log.warning("webhooks.too_large", kind=kind[:20], limit=channels.WEBHOOK_BODY_BYTES_MAX)
        return _answer(413, "too_large", f"Body over {channels.WEBHOOK_BODY_BYTES_MAX} bytes.")
    headers = {k.lower(): v for k, v in request.headers.items()}
    outcome = await channels.receive_webhook(kind, slug, headers, body, datetime.now(UTC))
    if outcome.answer == "accepted":
        await wake_order_import(request.app.state)
    return _answer(outcome.status_code, outcome.answer, outcome.message)


ROUTES = [channel_webhook]
