"""Floor users: badge code + 4–8 digit PIN (argon2), lockout after repeated failures,
and server-side sessions with an idle timeout."""

from __future__ import annotations

import asyncio
import hashlib
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from backend import db
from backend.domain.auth import audit, devices
from backend.domain.auth.permissions import ROLES
from backend.domain.errors import AlreadyExists, DomainError, InvalidInput

PIN_LENGTHS = range(4, 9)
FAILED_PINS_MAX = 5
LOCKOUT_MIN = 15
IDLE_TIMEOUT_S_DEFAULT = 15 * 60
LAST_SEEN_TOUCH_S = 30
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


@dataclass(frozen=True, slots=True)
class SignedIn:
    token: str  # for the session cookie
    session: SessionView
    device_key: str  # set when the handheld was enrolled by this sign-in: its new device cookie


async def sign_in(code: str, pin: str, device_key: str) -> SignedIn:
    """Check badge + PIN on the handheld holding `device_key` (its device cookie; unknown or empty =
    a handheld not enrolled yet, which this sign-in enrolls). Locks after repeated failures.

    Each PIN check is claimed before it runs (`_claim_pin_check`): at most FAILED_PINS_MAX checks per
    badge and lockout window, however many arrive at once. The argon2 check runs in a worker thread
    and outside any transaction (~50 ms of CPU: it must neither block the event loop nor hold a lock).
    An unknown badge is checked against a dummy hash, so the answer takes as long as for a real badge.
    """
    generic = SignInFailed("Badge or PIN not recognised. Try again.")
    row = await db.fetch_one("SELECT id, code, name, role, active, pin_hash FROM users WHERE code = {}", code.strip())
    if row is None or not row["active"]:
        await _pin_matches(_DUMMY_PIN_HASH, pin)
        raise generic
    user = UserView(row["id"], row["code"], row["name"], row["role"], True)
    actor = audit.Actor(f"user:{user.code}", await devices.device_for_key(device_key) or "", user.id, user.role)
    attempt = await _claim_pin_check(user.id)
    if not await _pin_matches(row["pin_hash"], pin):
        await _record_failed_pin(actor, attempt)
        if attempt >= FAILED_PINS_MAX:
            raise AccountLocked(f"Too many wrong PINs. Locked for {LOCKOUT_MIN} min.")
        raise generic
    token = secrets.token_urlsafe(32)
    session, enrolled = await _open_session(user, token, device_key, actor)
    return SignedIn(token, session, enrolled.key)


# A real argon2id hash with the hasher's parameters (checked by a test), of a PIN nobody has: verifying
# against it costs the same as verifying a real user's hash.
_DUMMY_PIN_HASH = "$argon2id$v=19$m=65536,t=3,p=4$Mu3j5nR7QJ/lU6FD4pGaeg$+Sg/tYesPGBxlfzuVURlWSNOIqzMQyuWhTgoyhLqdrE"


async def _pin_matches(pin_hash: str, pin: str) -> bool:
    def verify() -> bool:
        try:
            return _hasher.verify(pin_hash, pin)
        except (VerificationError, InvalidHashError):
            return False

    return await asyncio.to_thread(verify)


def _locked_error(locked_until: datetime | None) -> AccountLocked:
    assert locked_until is not None
    minutes = max(1, int((locked_until - _now()).total_seconds() // 60) + 1)
    return AccountLocked(f"Too many wrong PINs. Try again in {minutes} min or ask a lead.")


async def _claim_pin_check(user_id: int) -> int:
    """Claim one PIN check for the badge before it runs; returns its number in the lockout window.

    One atomic UPDATE counts the attempt: concurrent sign-ins each get their own number, and none
    is granted past FAILED_PINS_MAX. The attempt that reaches the limit locks the badge at once
    (provisionally: the right PIN clears it in `_open_session`), so the lock also holds if the
    process dies while checking. A lock that has run out starts the count again at 1.
    """
    now = _now()
    until = "{}::timestamptz" if db.is_postgres() else "{}"  # a bare parameter in a CASE is text to PostgreSQL
    row = await db.fetch_one(
        "UPDATE users SET"
        " failed_attempts = CASE WHEN locked_until IS NULL THEN failed_attempts + 1 ELSE 1 END,"
        " locked_until = CASE WHEN (CASE WHEN locked_until IS NULL THEN failed_attempts + 1 ELSE 1 END) >= {}"
        f" THEN {until} ELSE NULL END"
        " WHERE id = {} AND active AND (locked_until IS NULL OR locked_until <= {})"
        " RETURNING failed_attempts",
        FAILED_PINS_MAX, now + timedelta(minutes=LOCKOUT_MIN), user_id, now,
    )
    if row is not None:
        return int(row["failed_attempts"])
    locked = await db.fetch_one("SELECT locked_until FROM users WHERE id = {}", user_id)
    raise _locked_error(_as_utc(locked["locked_until"]) if locked and locked["locked_until"] else
                        now + timedelta(minutes=LOCKOUT_MIN))


async def _record_failed_pin(actor: audit.Actor, attempt: int) -> None:
    assert actor.user_id is not None

    async def work() -> None:
        await audit.record(actor, "auth.pin_failed", "user", actor.user_id,
                           after={"failed_attempts": attempt, "locked": attempt >= FAILED_PINS_MAX})

    await db.run_in_transaction(work)


async def _open_session(user: UserView, token: str, device_key: str,
                        actor: audit.Actor) -> tuple[SessionView, devices.Enrolled]:
    """Clear the attempt count and start a session on the handheld's device (enrolling it if needed).

    The right PIN was one of the checks the claim allowed, so it clears a lock that a concurrent
    wrong PIN set meanwhile; a deactivated account gets no session."""

    async def work() -> tuple[SessionView, devices.Enrolled]:
        now = _now()
        cleared = await db.fetch_one(
            "UPDATE users SET failed_attempts = 0, locked_until = NULL WHERE id = {} AND active RETURNING id",
            user.id,
        )
        if cleared is None:
            raise SignInFailed("Badge or PIN not recognised. Try again.")
        enrolled = await devices.enrolled_for_sign_in(device_key, user.id)
        session = await db.fetch_one(
            "INSERT INTO sessions (token_hash, user_id, device_id, created_at, last_seen_at)"
            " VALUES ({}, {}, {}, {}, {}) RETURNING id",
            _hash(token), user.id, enrolled.device_id, now, now,
        )
        assert session is not None
        signed_in = audit.Actor(actor.label, enrolled.device_id, actor.user_id, actor.role)
        await audit.record(signed_in, "auth.sign_in", "user", user.id,
                           after={"device_enrolled": enrolled.device_id} if enrolled.key else None)
        return SessionView(session["id"], user, enrolled.device_id), enrolled

    return await db.run_in_transaction(work)


async def session_for(token: str, idle_timeout_s: int = IDLE_TIMEOUT_S_DEFAULT) -> SessionView | None:
    """The live session for a cookie token (one query); None when unknown, ended or idle too long."""
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
    stale_before = now - timedelta(seconds=min(LAST_SEEN_TOUCH_S, idle_timeout_s // 10))
    if last_seen < stale_before:
        # At most one write (and WAL flush) per session every LAST_SEEN_TOUCH_S, not one per scan; the
        # WHERE on the old value lets one of several concurrent requests write. The idle check above
        # may so end a session up to that long before the timeout, never after it.
        await db.fetch("UPDATE sessions SET last_seen_at = {} WHERE id = {} AND last_seen_at < {}",
                       now, row["id"], stale_before)
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
