"""Floor sign-in: each PIN check is claimed before it runs, so no more than the limit are checked per
lockout window whatever the concurrency; sessions touch last_seen sparingly; the server issues the
handheld's identity. Runs on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest
from argon2.exceptions import VerifyMismatchError

from backend import db
from backend.domain.auth import devices, users
from backend.domain.auth.audit import Actor
from backend.http.app import create_app
from tests.sync_support import csrf_client, sign_in

PIN, WRONG_PIN = "2468", "1357"
CONCURRENT_WRONG_PINS = 50


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
        await users.sign_in(code, pin, "")
    except users.SignInFailed as exc:
        return exc
    return None


async def test_of_many_concurrent_wrong_pins_only_the_limit_are_checked_and_the_badge_locks(ledger_db):
    user = await _picker()
    outcomes = await asyncio.gather(*(_attempt(user.code, WRONG_PIN) for _ in range(CONCURRENT_WRONG_PINS)))
    assert all(isinstance(o, users.SignInFailed) for o in outcomes)
    failed, locked_until = await _counter_of(user.id)
    assert failed == users.FAILED_PINS_MAX
    assert await _pin_failures_audited(user.id) == users.FAILED_PINS_MAX  # one audit row per PIN checked
    assert locked_until is not None
    locked_answers = sum(isinstance(o, users.AccountLocked) for o in outcomes)
    assert locked_answers == CONCURRENT_WRONG_PINS - users.FAILED_PINS_MAX + 1  # the 5th check and all unchecked
    with pytest.raises(users.AccountLocked):
        await users.sign_in(user.code, PIN, "")  # even the right PIN, until the lock runs out


async def test_a_right_pin_inside_a_burst_of_guesses_is_checked_only_if_it_is_within_the_limit(ledger_db):
    user = await _picker()
    burst = [WRONG_PIN] * 9 + [PIN] + [WRONG_PIN] * 11
    outcomes = await asyncio.gather(*(_attempt(user.code, pin) for pin in burst))
    checked = await _pin_failures_audited(user.id) + sum(o is None for o in outcomes)
    assert checked <= users.FAILED_PINS_MAX
    assert sum(isinstance(o, users.AccountLocked) for o in outcomes) >= len(burst) - users.FAILED_PINS_MAX


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
    signed_in = await users.sign_in(user.code, PIN, "")
    assert signed_in.token and signed_in.session.user.id == user.id
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
    signed_in = await users.sign_in(user.code, PIN, "")
    token, session = signed_in.token, signed_in.session
    first = await _last_seen(session.id)
    assert await users.session_for(token) is not None
    assert await _last_seen(session.id) == first  # a scan right after sign-in writes nothing
    old = datetime.now(UTC) - timedelta(seconds=users.LAST_SEEN_TOUCH_S + 5)
    await db.fetch("UPDATE sessions SET last_seen_at = {} WHERE id = {}", old, session.id)
    assert await users.session_for(token) is not None
    assert await _last_seen(session.id) > old + timedelta(seconds=5)


async def test_an_idle_session_is_ended(ledger_db):
    user = await _picker()
    signed_in = await users.sign_in(user.code, PIN, "")
    token, session = signed_in.token, signed_in.session
    old = datetime.now(UTC) - timedelta(seconds=users.IDLE_TIMEOUT_S_DEFAULT + 1)
    await db.fetch("UPDATE sessions SET last_seen_at = {} WHERE id = {}", old, session.id)
    assert await users.session_for(token) is None
    assert await users.session_for(token) is None  # ended for good, not just refused once


# --- the server issues the handheld's identity ---------------------------------------------------------

async def _sign_in_on(client, role: str = "picker") -> tuple[str, str]:
    """(device id of the new session, device id the handheld's public cookie now names)."""
    await sign_in(client, role)
    row = await db.fetch_one("SELECT device_id FROM sessions ORDER BY id DESC LIMIT 1")
    assert row is not None
    return row["device_id"], client.cookies["stockline_device"]


async def test_the_first_sign_in_enrolls_the_handheld_with_an_unguessable_server_issued_id(ledger_db):
    async with csrf_client(create_app(ledger_db, run_jobs=False)) as client:
        client.cookies.set("stockline_device", "hh-chosen-by-the-handheld", domain="stockline.test")
        device, cookie = await _sign_in_on(client)
        assert device == cookie != "hh-chosen-by-the-handheld"
        assert len(device.removeprefix("hh-")) >= 32  # 128 random bits, hex
        key = next(c for c in client.cookies.jar if c.name == "stockline_device_key")
        assert key.has_nonstandard_attr("HttpOnly") and len(key.value) >= 40
        session = next(c for c in client.cookies.jar if c.name == "stockline_session")
        assert key.secure is session.secure is ledger_db.cookies_secure is (not ledger_db.is_sqlite)
        assert (await _sign_in_on(client, "receiver")) == (device, device)  # the same handheld, the same id


async def test_a_device_id_set_by_hand_is_never_adopted(ledger_db):
    async with csrf_client(create_app(ledger_db, run_jobs=False)) as first:
        victim, _ = await _sign_in_on(first, "manager")
    async with csrf_client(create_app(ledger_db, run_jobs=False)) as forger:
        forger.cookies.set("stockline_device", victim, domain="stockline.test")
        forger.cookies.set("stockline_device_key", victim, domain="stockline.test")
        device, cookie = await _sign_in_on(forger)
        assert device == cookie != victim


async def test_a_revoked_handheld_is_signed_out_and_enrolled_afresh_at_its_next_sign_in(ledger_db):
    async with csrf_client(create_app(ledger_db, run_jobs=False)) as client:
        device, _ = await _sign_in_on(client)
        await devices.revoke(device, Actor("user:M1"))
        assert (await client.get("/floor")).status_code in (302, 303)  # the session ended: back to sign-in
        again, cookie = await _sign_in_on(client)
        assert again == cookie != device
        assert [d.revoked_by for d in await devices.list_devices() if d.id == device] == ["user:M1"]
