"""Structured logs: one event name, key=value fields (or one JSON object a line with
STOCKLINE_LOG_FORMAT=json). Never log tokens or PINs.

Inside a request every line carries `request_id`, and `user` and `device` once known: the request
middleware (backend/http/observe.py) binds the request id with structlog's contextvars and keeps the
ASGI scope in `current_scope`, from which `_request_identity` reads who is signed in (the session
guard stores it in the scope) at the moment each line is written.
"""

from __future__ import annotations

import contextvars
import logging
from collections.abc import MutableMapping
from typing import Any

import structlog

current_scope: contextvars.ContextVar[dict[str, Any] | None] = contextvars.ContextVar("stockline_scope",
                                                                                        default=None)
DEVICE_COOKIE = "stockline_device"
_HANDLER_NAME = "stockline"


def _identity(scope: dict[str, Any]) -> tuple[str | None, str | None]:
    session = scope.get("stockline_session")
    if session is not None:
        return session.user.code, session.device_id
    token = (scope.get("state") or {}).get("token")
    if token is not None:
        return f"token:{token.name}", "api"
    return None, None


def _request_identity(_: Any, __: str, event: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    scope = current_scope.get()
    if scope is not None:
        user, device = _identity(scope)
        event.setdefault("user", user)
        event.setdefault("device", device or _device_cookie(scope))
    return event


def _device_cookie(scope: dict[str, Any]) -> str | None:
    name: bytes
    value: bytes
    for name, value in scope.get("headers") or []:
        if name == b"cookie":
            for part in value.decode("latin-1").split(";"):
                key, _, val = part.strip().partition("=")
                if key == DEVICE_COOKIE and val:
                    return val[:64]
    return None


def _drop_color_message(_: Any, __: str, event: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    event.pop("color_message", None)  # uvicorn's copy of the message with terminal colours
    return event


def _shared_processors() -> list[Any]:
    return [
        structlog.contextvars.merge_contextvars,
        _request_identity,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]


def _renderer(log_format: str) -> Any:
    if log_format == "json":
        return structlog.processors.JSONRenderer()
    return structlog.processors.KeyValueRenderer(key_order=["timestamp", "level", "event"])


def configure_logging(level: str = "info", log_format: str = "text") -> None:
    """structlog for our own events; the standard library's records (uvicorn, arq, asyncio) go
    through the same processors, so with json every line on stdout/stderr is one JSON object."""
    handler = logging.StreamHandler()
    handler.setFormatter(stdlib_formatter(log_format))
    handler.set_name(_HANDLER_NAME)
    root = logging.getLogger()
    # Replace only our own handler (configured again by every app made): others' (pytest's) stay.
    root.handlers[:] = [h for h in root.handlers if h.get_name() != _HANDLER_NAME] + [handler]
    root.setLevel(level.upper())
    structlog.configure(
        processors=[*_shared_processors(), structlog.processors.format_exc_info, _renderer(log_format)],
        wrapper_class=structlog.make_filtering_bound_logger(logging.getLevelName(level.upper())),
        logger_factory=structlog.PrintLoggerFactory(),
        cache_logger_on_first_use=False,
    )


def stdlib_formatter(log_format: str) -> structlog.stdlib.ProcessorFormatter:
    return structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=[structlog.stdlib.add_logger_name, structlog.stdlib.ExtraAdder(),
                           *_shared_processors()],
        processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta, _drop_color_message,
                    structlog.processors.format_exc_info, _renderer(log_format)],
    )


def uvicorn_log_config(log_format: str) -> dict[str, Any]:
    """uvicorn's loggers write through the root handler above (so json covers its lines too)."""
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"stockline": {"()": stdlib_formatter, "log_format": log_format}},
        "handlers": {"default": {"class": "logging.StreamHandler", "formatter": "stockline",
                                 "stream": "ext://sys.stderr"}},
        "loggers": {
            "uvicorn": {"handlers": ["default"], "level": "INFO", "propagate": False},
            "uvicorn.error": {"level": "INFO"},
        },
    }
