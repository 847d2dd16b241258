"""Floor sign-in: wrong PINs are counted atomically and lock the badge; sessions touch last_seen
sparingly. Runs on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest
from argon2.exceptions import VerifyMismatchError

from backend import db
from backend.domain.auth import users
from backend.domain.auth.audit import Actor
from backend.http.app import create_app
from tests.sync_support import csrf_client, sign_in

PIN, WRONG_PIN = "2468", "1357"
CONCURRENT_WRONG_PINS = 10


async def _picker(code: str = "B-PICK") -> users.UserView:
    return await users.create_user(code, "Pat Picker", "picker", PIN, Actor("system:test"))


async def _counter_of(user_id: int) -> tuple[int, object]:
    row = await db.fetch_one("SELECT failed_attempts, locked_until FROM users WHERE id = {}", user_id)
    assert row is not None
    return row["failed_attempts"], row["locked_until"]


async def _pin_failures_audited(user_id: int) -> int:
    row = await db.fetch_one("SELECT COUNT(*) AS n FROM audit_log WHERE action = 'auth.pin_failed'"
                             " AND entity_id = {}", str(user_id))
    assert row is not None
    return row["n"]


async def _attempt(code: str, pin: str) -> Exception | None:
    try:
        await users.sign_in(code, pin, "dev-1")
    except users.SignInFailed as exc:
        return exc
    return None


async def test_concurrent_wrong_pins_are_all_counted_and_lock_the_badge(ledger_db):
    user = await _picker()
    outcomes = await asyncio.gather(*(_attempt(user.code, WRONG_PIN) for _ in range(CONCURRENT_WRONG_PINS)))
    assert all(isinstance(o, users.SignInFailed) for o in outcomes)
    failed, locked_until = await _counter_of(user.id)
    assert failed == CONCURRENT_WRONG_PINS
    assert await _pin_failures_audited(user.id) == CONCURRENT_WRONG_PINS
    assert locked_until is not None
    locked_answers = sum(isinstance(o, users.AccountLocked) for o in outcomes)
    assert locked_answers == CONCURRENT_WRONG_PINS - users.FAILED_PINS_MAX + 1  # the 5th to the 10th
    with pytest.raises(users.AccountLocked):
        await users.sign_in(user.code, PIN, "dev-1")  # even the right PIN, until the lock runs out


async def test_the_lock_comes_at_the_fifth_wrong_pin_in_a_row(ledger_db):
    user = await _picker()
    for _ in range(users.FAILED_PINS_MAX - 1):
        assert type(await _attempt(user.code, WRONG_PIN)) is users.SignInFailed
    assert isinstance(await _attempt(user.code, WRONG_PIN), users.AccountLocked)
    failed, locked_until = await _counter_of(user.id)
    assert failed == users.FAILED_PINS_MAX and locked_until is not None


async def test_a_right_pin_clears_the_count(ledger_db):
    user = await _picker()
    await _attempt(user.code, WRONG_PIN)
    token, session = await users.sign_in(user.code, PIN, "dev-1")
    assert token and session.user.id == user.id
    assert await _counter_of(user.id) == (0, None)


async def test_after_the_lock_runs_out_counting_starts_again(ledger_db):
    user = await _picker()
    await db.fetch("UPDATE users SET failed_attempts = {}, locked_until = {} WHERE id = {}",
                   users.FAILED_PINS_MAX, datetime.now(UTC) - timedelta(seconds=1), user.id)
    assert type(await _attempt(user.code, WRONG_PIN)) is users.SignInFailed
    assert await _counter_of(user.id) == (1, None)


async def test_an_unknown_badge_gets_the_same_answer_as_a_wrong_pin(ledger_db):
    user = await _picker()
    unknown, wrong = await _attempt("B-NOBODY", WRONG_PIN), await _attempt(user.code, WRONG_PIN)
    assert type(unknown) is type(wrong) is users.SignInFailed
    assert unknown.message == wrong.message


def test_the_dummy_hash_costs_what_a_real_pin_hash_costs():
    """Unknown badges are checked against the dummy hash: it must be valid and use the hasher's parameters."""
    assert not users._hasher.check_needs_rehash(users._DUMMY_PIN_HASH)
    with pytest.raises(VerifyMismatchError):
        users._hasher.verify(users._DUMMY_PIN_HASH, PIN)


async def _last_seen(session_id: int) -> datetime:
    row = await db.fetch_one("SELECT last_seen_at FROM sessions WHERE id = {}", session_id)
    assert row is not None
    value = users._as_utc(row["last_seen_at"])
    assert value is not None
    return value


async def test_a_busy_session_touches_last_seen_at_most_every_interval(ledger_db):
    user = await _picker()
    token, session = await users.sign_in(user.code, PIN, "dev-1")
    first = await _last_seen(session.id)
    assert await users.session_for(token) is not None
    assert await _last_seen(session.id) == first  # a scan right after sign-in writes nothing
    old = datetime.now(UTC) - timedelta(seconds=users.LAST_SEEN_TOUCH_S + 5)
    await db.fetch("UPDATE sessions SET last_seen_at = {} WHERE id = {}", old, session.id)
    assert await users.session_for(token) is not None
    assert await _last_seen(session.id) > old + timedelta(seconds=5)


async def test_an_idle_session_is_ended(ledger_db):
    user = await _picker()
    token, session = await users.sign_in(user.code, PIN, "dev-1")
    old = datetime.now(UTC) - timedelta(seconds=users.IDLE_TIMEOUT_S_DEFAULT + 1)
    await db.fetch("UPDATE sessions SET last_seen_at = {} WHERE id = {}", old, session.id)
    assert await users.session_for(token) is None
    assert await users.session_for(token) is None  # ended for good, not just refused once


# --- the session names the device the handheld's outbox names ---------------------------------------

async def _session_device_after_signin(ledger_db, device_cookie: str) -> tuple[str, str]:
    async with csrf_client(create_app(ledger_db, run_jobs=False)) as client:
        client.cookies.set("stockline_device", device_cookie)
        await sign_in(client, "picker")
        row = await db.fetch_one("SELECT device_id FROM sessions ORDER BY id DESC LIMIT 1")
        assert row is not None
        set_cookie = next(h for h in client.cookies.jar if h.name == "stockline_device")
        return row["device_id"], set_cookie.value


async def test_the_session_takes_the_device_id_the_handheld_made(ledger_db):
    device, cookie = await _session_device_after_signin(ledger_db, "hh-2f1c9d3e-5b7a-4c1e-9f00-1a2b3c4d5e6f")
    assert device == cookie == "hh-2f1c9d3e-5b7a-4c1e-9f00-1a2b3c4d5e6f"


async def test_a_garbled_device_cookie_is_replaced(ledger_db):
    device, cookie = await _session_device_after_signin(ledger_db, "x" * 500)
    assert device == cookie and len(device) < 100
