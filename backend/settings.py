"""One typed settings object, read from the environment (STOCKLINE_*)."""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass, field
from pathlib import Path

DEFAULT_SQLITE_PATH = Path("var") / "stockline.db"


class MissingSecret(ValueError):
    """Production settings without STOCKLINE_SECRET: refused at startup."""


def _env_int(name: str, default: int) -> int:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError as exc:
        raise ValueError(f"{name} must be an integer, got {raw!r}") from exc


def _env_bool(name: str) -> bool | None:
    raw = os.environ.get(name, "").strip().lower()
    if raw == "":
        return None
    if raw in ("1", "true", "yes", "on"):
        return True
    if raw in ("0", "false", "no", "off"):
        return False
    raise ValueError(f"{name} must be true or false, got {raw!r}")


LOG_FORMATS = ("text", "json")
WEB_WORKERS_MAX = 64


def _env_choice(name: str, default: str, choices: tuple[str, ...]) -> str:
    raw = os.environ.get(name, "").strip().lower() or default
    if raw not in choices:
        raise ValueError(f"{name} must be one of {', '.join(choices)}, got {raw!r}")
    return raw


def _env_workers() -> int:
    workers = _env_int("STOCKLINE_WEB_WORKERS", 1)
    if not 1 <= workers <= WEB_WORKERS_MAX:
        raise ValueError(f"STOCKLINE_WEB_WORKERS must be 1–{WEB_WORKERS_MAX}, got {workers}")
    return workers


@dataclass(frozen=True, slots=True)
class Settings:
    database_url: str = field(default_factory=lambda: f"sqlite:///{DEFAULT_SQLITE_PATH}")
    redis_url: str | None = None
    job_queue: str = "stockline:jobs"
    host: str = "127.0.0.1"
    port: int = 8000
    db_pool_min: int = 2
    db_pool_max: int = 20
    sqlite_busy_timeout_s: int = 30
    reservation_ttl_min: int = 0  # 0 = reservations do not expire unless a request says so
    log_level: str = "info"
    secret: str = ""  # signs CSRF tokens; empty = generated once and kept in var/secret
    secure_cookies: bool | None = None  # None: Secure on PostgreSQL (production), not on SQLite (demo)
    idle_signout_s: int = 900
    adjust_approval_units: int = 10
    adjust_approval_value_cents: int = 5000
    web_workers: int = 1  # `stockline serve` processes; more than 1 wants PostgreSQL and Redis
    log_format: str = "text"  # text | json
    metrics_enabled: bool = False  # Prometheus metrics at /metrics
    worker_metrics_port: int = 9100  # `stockline worker` serves its metrics here when enabled
    # Handheld screens: a burst of keystrokes this fast, ending in Enter, is a wedge scanner's scan
    # wherever focus is (a person types slower); web/static/app.js reads it from the page.
    scan_key_gap_ms: int = 50
    scan_qty_max: int = 10_000  # units one scan or one typed quantity may stand for
    line_qty_max: int = 100_000  # units one receipt, move, putaway or adjustment line may add up to
    confirm_qty_over: int = 1_000  # a line above this asks for a confirming scan before it is sent
    approval_confirm_value_cents: int = 100_000  # approving a count that changes more value asks twice

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite:")

    @property
    def cookies_secure(self) -> bool:
        """Cookies carry `Secure` in production (PostgreSQL) unless STOCKLINE_SECURE_COOKIES=false says
        the set-up is plain HTTP; the SQLite demo on localhost is plain HTTP unless told otherwise."""
        return (not self.is_sqlite) if self.secure_cookies is None else self.secure_cookies

    @property
    def sqlite_path(self) -> Path:
        assert self.is_sqlite
        return Path(self.database_url.removeprefix("sqlite:///").removeprefix("sqlite://"))

    def csrf_secret(self) -> str:
        """STOCKLINE_SECRET; on SQLite (one store, one process) generated once into var/secret when unset.

        PostgreSQL means production, usually several web processes or hosts: a secret generated on one
        disk would not match another's, and a lost var/ would silently invalidate every form.
        """
        if self.secret:
            return self.secret
        if not self.is_sqlite:
            raise MissingSecret(
                "STOCKLINE_SECRET must be set when STOCKLINE_DATABASE_URL is PostgreSQL: it signs the CSRF "
                "tokens of every form and must be the same on every web process. Generate one with "
                "`python -c 'import secrets; print(secrets.token_urlsafe(32))'` and keep it with your other secrets."
            )
        path = Path("var") / "secret"
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(secrets.token_urlsafe(32))
            path.chmod(0o600)
        return path.read_text().strip()

    @classmethod
    def from_env(cls) -> Settings:
        defaults = cls()
        url = os.environ.get("STOCKLINE_DATABASE_URL") or defaults.database_url
        if not url.startswith(("sqlite:", "postgres://", "postgresql://")):
            raise ValueError(
                "STOCKLINE_DATABASE_URL must start with sqlite:/// or postgresql://, got " + url
            )
        return cls(
            database_url=url,
            redis_url=os.environ.get("STOCKLINE_REDIS_URL") or None,
            job_queue=os.environ.get("STOCKLINE_JOB_QUEUE", defaults.job_queue),
            host=os.environ.get("STOCKLINE_HOST", defaults.host),
            port=_env_int("STOCKLINE_PORT", defaults.port),
            db_pool_min=_env_int("STOCKLINE_DB_POOL_MIN", defaults.db_pool_min),
            db_pool_max=_env_int("STOCKLINE_DB_POOL_MAX", defaults.db_pool_max),
            sqlite_busy_timeout_s=_env_int("STOCKLINE_SQLITE_BUSY_TIMEOUT_S", defaults.sqlite_busy_timeout_s),
            reservation_ttl_min=_env_int("STOCKLINE_RESERVATION_TTL_MIN", defaults.reservation_ttl_min),
            log_level=os.environ.get("STOCKLINE_LOG_LEVEL", defaults.log_level),
            secret=os.environ.get("STOCKLINE_SECRET", ""),
            secure_cookies=_env_bool("STOCKLINE_SECURE_COOKIES"),
            idle_signout_s=_env_int("STOCKLINE_IDLE_SIGNOUT_S", defaults.idle_signout_s),
            adjust_approval_units=_env_int("STOCKLINE_ADJUST_APPROVAL_UNITS", defaults.adjust_approval_units),
            adjust_approval_value_cents=_env_int(
                "STOCKLINE_ADJUST_APPROVAL_VALUE_CENTS", defaults.adjust_approval_value_cents
            ),
            web_workers=_env_workers(),
            log_format=_env_choice("STOCKLINE_LOG_FORMAT", defaults.log_format, LOG_FORMATS),
            metrics_enabled=bool(_env_bool("STOCKLINE_METRICS")),
            worker_metrics_port=_env_int("STOCKLINE_WORKER_METRICS_PORT", defaults.worker_metrics_port),
            scan_key_gap_ms=_env_int("STOCKLINE_SCAN_KEY_GAP_MS", defaults.scan_key_gap_ms),
            scan_qty_max=_env_int("STOCKLINE_SCAN_QTY_MAX", defaults.scan_qty_max),
            line_qty_max=_env_int("STOCKLINE_LINE_QTY_MAX", defaults.line_qty_max),
            confirm_qty_over=_env_int("STOCKLINE_CONFIRM_QTY_OVER", defaults.confirm_qty_over),
            approval_confirm_value_cents=_env_int(
                "STOCKLINE_APPROVAL_CONFIRM_VALUE_CENTS", defaults.approval_confirm_value_cents
            ),
        )
