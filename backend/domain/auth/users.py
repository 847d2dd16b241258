"""Floor users: badge code + 4–8 digit PIN (argon2), lockout after repeated failures,
and server-side sessions with an idle timeout."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from backend import db
from backend.domain.auth import audit
from backend.domain.auth.permissions import ROLES
from backend.domain.errors import AlreadyExists, DomainError, InvalidInput

PIN_LENGTHS = range(4, 9)
FAILED_PINS_MAX = 5
LOCKOUT_MIN = 15
IDLE_TIMEOUT_S_DEFAULT = 15 * 60
USER_CODE_LENGTH_MAX = 40
_hasher = PasswordHasher()


class SignInFailed(DomainError):
    code = "sign_in_failed"


class AccountLocked(SignInFailed):
    code = "account_locked"


@dataclass(frozen=True, slots=True)
class UserView:
    id: int
    code: str
    name: str
    role: str
    active: bool


@dataclass(frozen=True, slots=True)
class SessionView:
    id: int
    user: UserView
    device_id: str


def _check_pin(pin: str) -> str:
    if not pin.isdigit() or len(pin) not in PIN_LENGTHS:
        raise InvalidInput("The PIN must be 4 to 8 digits.")
    return pin


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _now() -> datetime:
    return datetime.now(UTC)


def _as_utc(value: datetime | str | None) -> datetime | None:
    if value is None or isinstance(value, datetime):
        return value
    return datetime.fromisoformat(value)


async def create_user(code: str, name: str, role: str, pin: str, actor: audit.Actor) -> UserView:
    code = code.strip()
    if not code or len(code) > USER_CODE_LENGTH_MAX or not code.isprintable():
        raise InvalidInput(f"User code must be 1–{USER_CODE_LENGTH_MAX} characters.")
    if role not in ROLES:
        raise InvalidInput(f"Role must be one of {', '.join(ROLES)}.")
    if not name.strip():
        raise InvalidInput("Name is required.")
    pin_hash = _hasher.hash(_check_pin(pin))

    async def work() -> UserView:
        if await db.fetch_one("SELECT id FROM users WHERE code = {}", code):
            raise AlreadyExists(f"User code {code} is already taken.")
        row = await db.fetch_one(
            "INSERT INTO users (code, name, role, pin_hash, created_at) VALUES ({}, {}, {}, {}, {}) RETURNING id",
            code, name.strip(), role, pin_hash, _now(),
        )
        assert row is not None
        await audit.record(actor, "user.create", "user", row["id"], after={"code": code, "role": role})
        return UserView(row["id"], code, name.strip(), role, True)

    return await db.run_in_transaction(work)


async def set_role(user_id: int, role: str, actor: audit.Actor) -> None:
    if role not in ROLES:
        raise InvalidInput(f"Role must be one of {', '.join(ROLES)}.")

    async def work() -> None:
        before = await db.fetch_one("SELECT role FROM users WHERE id = {}", user_id)
        if before is None:
            raise InvalidInput(f"No user #{user_id}.")
        await db.fetch("UPDATE users SET role = {} WHERE id = {}", role, user_id)
        await audit.record(actor, "user.set_role", "user", user_id, before=before, after={"role": role})

    await db.run_in_transaction(work)


async def list_users() -> list[UserView]:
    rows = await db.fetch("SELECT id, code, name, role, active FROM users ORDER BY code")
    return [UserView(r["id"], r["code"], r["name"], r["role"], bool(r["active"])) for r in rows]


async def find_user(code: str) -> UserView | None:
    r = await db.fetch_one("SELECT id, code, name, role, active FROM users WHERE code = {}", code.strip())
    return UserView(r["id"], r["code"], r["name"], r["role"], bool(r["active"])) if r else None


async def get_user(user_id: int) -> UserView | None:
    r = await db.fetch_one("SELECT id, code, name, role, active FROM users WHERE id = {}", user_id)
    return UserView(r["id"], r["code"], r["name"], r["role"], bool(r["active"])) if r else None


async def sign_in(code: str, pin: str, device_id: str) -> tuple[str, SessionView]:
    """Check badge + PIN; returns (session token for the cookie, session). Locks after repeated failures."""
    generic = SignInFailed("Badge or PIN not recognised. Try again.")

    async def work() -> tuple[str, SessionView] | DomainError:
        row = await db.fetch_one(
            "SELECT id, code, name, role, active, pin_hash, failed_attempts, locked_until FROM users WHERE code = {}",
            code.strip(),
        )
        if row is None or not row["active"]:
            return generic
        locked_until = _as_utc(row["locked_until"])
        if locked_until and locked_until > _now():
            minutes = max(1, int((locked_until - _now()).total_seconds() // 60) + 1)
            return AccountLocked(f"Too many wrong PINs. Try again in {minutes} min or ask a lead.")
        try:
            _hasher.verify(row["pin_hash"], pin)
        except (VerificationError, InvalidHashError):
            failures = row["failed_attempts"] + 1
            lock = _now() + timedelta(minutes=LOCKOUT_MIN) if failures >= FAILED_PINS_MAX else None
            await db.fetch("UPDATE users SET failed_attempts = {}, locked_until = {} WHERE id = {}",
                           0 if lock else failures, lock, row["id"])
            actor = audit.Actor(f"user:{row['code']}", device_id, row["id"], row["role"])
            await audit.record(actor, "auth.pin_failed", "user", row["id"], after={"locked": bool(lock)})
            return AccountLocked(f"Too many wrong PINs. Locked for {LOCKOUT_MIN} min.") if lock else generic
        token = secrets.token_urlsafe(32)
        await db.fetch("UPDATE users SET failed_attempts = 0, locked_until = NULL WHERE id = {}", row["id"])
        session = await db.fetch_one(
            "INSERT INTO sessions (token_hash, user_id, device_id, created_at, last_seen_at)"
            " VALUES ({}, {}, {}, {}, {}) RETURNING id",
            _hash(token), row["id"], device_id, _now(), _now(),
        )
        assert session is not None
        user = UserView(row["id"], row["code"], row["name"], row["role"], True)
        await audit.record(audit.Actor(f"user:{user.code}", device_id, user.id, user.role), "auth.sign_in",
                           "user", user.id)
        return token, SessionView(session["id"], user, device_id)

    # Failed attempts must be committed, so failures are returned (not raised) from the transaction.
    outcome = await db.run_in_transaction(work)
    if isinstance(outcome, DomainError):
        raise outcome
    return outcome


async def session_for(token: str, idle_timeout_s: int = IDLE_TIMEOUT_S_DEFAULT) -> SessionView | None:
    """The live session for a cookie token, touching last_seen; None when unknown, ended or idle too long."""
    if not token or len(token) > 100:
        return None
    row = await db.fetch_one(
        "SELECT s.id, s.device_id, s.last_seen_at, u.id AS user_id, u.code, u.name, u.role, u.active"
        " FROM sessions s JOIN users u ON u.id = s.user_id WHERE s.token_hash = {} AND s.ended_at IS NULL",
        _hash(token),
    )
    if row is None or not row["active"]:
        return None
    now = _now()
    last_seen = _as_utc(row["last_seen_at"])
    assert last_seen is not None
    if now - last_seen > timedelta(seconds=idle_timeout_s):
        await end_session(token, reason="idle")
        return None
    await db.fetch("UPDATE sessions SET last_seen_at = {} WHERE id = {}", now, row["id"])
    user = UserView(row["user_id"], row["code"], row["name"], row["role"], True)
    return SessionView(row["id"], user, row["device_id"])


async def end_session(token: str, reason: str = "sign_out") -> None:
    async def work() -> None:
        row = await db.fetch_one(
            "SELECT s.id, s.device_id, u.id AS user_id, u.code, u.role FROM sessions s"
            " JOIN users u ON u.id = s.user_id WHERE s.token_hash = {} AND s.ended_at IS NULL",
            _hash(token),
        )
        if row is None:
            return
        await db.fetch("UPDATE sessions SET ended_at = {} WHERE id = {}", _now(), row["id"])
        actor = audit.Actor(f"user:{row['code']}", row["device_id"], row["user_id"], row["role"])
        await audit.record(actor, "auth.sign_out", "session", row["id"], after={"reason": reason})

    await db.run_in_transaction(work)
