"""Handhelds the server enrolled: who a scan batch may come from.

A handheld's identity is issued here at its first online sign-in, never chosen by the client
(docs/offline-protocol.md). It has two parts:
* the device id, public: named in sessions, in every scan envelope and on the managers' screens;
* the device key, secret: a random token the handheld keeps in an httponly cookie; only its hash is
  stored. Presenting the key at sign-in is the only way a browser signs in as that device, so knowing
  a device id (from a screen, a log or another handheld) does not let anyone act as that device.

A session is bound to the device it was signed in on; scans relayed for another person are accepted
only if that person signed in online on the same device (`signed_in_on_device`). Revoking a device
ends its sessions and makes its key worthless: the next sign-in on it enrolls it afresh, with no
history that could vouch for scans made in anyone else's name.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime

from backend import db
from backend.domain.auth import audit
from backend.domain.errors import UnknownReference

DEVICE_ID_PREFIX = "hh-"
DEVICE_ID_BYTES = 16  # 128 random bits: unguessable, short enough for a screen
DEVICE_KEY_BYTES = 32  # 256 random bits
DEVICE_KEY_LENGTH_MAX = 100
DEVICES_LIST_MAX = 500


@dataclass(frozen=True, slots=True)
class Enrolled:
    """The device a sign-in was made on; `key` is set only when it was enrolled just now (a new
    cookie for the handheld), else empty."""

    device_id: str
    key: str = ""


@dataclass(frozen=True, slots=True)
class DeviceView:
    id: str
    enrolled_at: datetime | str
    last_sign_in_at: datetime | str
    revoked_at: datetime | str | None
    revoked_by: str


def _hash(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def _now() -> datetime:
    return datetime.now(UTC)


def _plausible_key(key: str) -> bool:
    return 0 < len(key) <= DEVICE_KEY_LENGTH_MAX and key.isascii() and key.isprintable()


async def enrolled_for_sign_in(key: str, user_id: int) -> Enrolled:
    """The live device whose key the handheld presented, or a newly enrolled one. Joins the sign-in's
    transaction: a failed sign-in enrolls nothing."""
    assert db.engine().transaction_exists(), "a device is enrolled in the sign-in's transaction"
    now = _now()
    if _plausible_key(key):
        row = await db.fetch_one(
            "UPDATE devices SET last_sign_in_at = {} WHERE key_hash = {} AND revoked_at IS NULL RETURNING id",
            now, _hash(key),
        )
        if row is not None:
            return Enrolled(row["id"])
    return await _insert(user_id, now)


async def enroll(enrolled_by_user_id: int | None = None) -> Enrolled:
    """Enroll a handheld outright (its first online sign-in does this itself)."""
    return await db.run_in_transaction(lambda: _insert(enrolled_by_user_id, _now()))


async def _insert(user_id: int | None, now: datetime) -> Enrolled:
    device_id = DEVICE_ID_PREFIX + secrets.token_hex(DEVICE_ID_BYTES)
    key = secrets.token_urlsafe(DEVICE_KEY_BYTES)
    await db.fetch(
        "INSERT INTO devices (id, key_hash, enrolled_at, enrolled_by_user_id, last_sign_in_at)"
        " VALUES ({}, {}, {}, {}, {})",
        device_id, _hash(key), now, user_id, now,
    )
    return Enrolled(device_id, key)


async def device_for_key(key: str) -> str | None:
    """The id of the live device holding `key` (for audit rows of failed sign-ins), or None."""
    if not _plausible_key(key):
        return None
    row = await db.fetch_one("SELECT id FROM devices WHERE key_hash = {} AND revoked_at IS NULL", _hash(key))
    return row["id"] if row else None


async def signed_in_on_device(user_id: int, device_id: str) -> bool:
    """Whether the person signed in online on this enrolled, live device (what vouches for the scans
    of their offline sessions on it)."""
    row = await db.fetch_one(
        "SELECT 1 AS yes FROM sessions s JOIN devices d ON d.id = s.device_id"
        " WHERE s.device_id = {} AND s.user_id = {} AND d.revoked_at IS NULL LIMIT 1",
        device_id, user_id,
    )
    return row is not None


async def revoke(device_id: str, actor: audit.Actor) -> DeviceView:
    """A lost or retired handheld: its sessions end now, its key stops working, and batches from it
    are refused. Revoking twice is harmless."""

    async def work() -> DeviceView:
        now = _now()
        row = await db.fetch_one(
            "UPDATE devices SET revoked_at = COALESCE(revoked_at, {}),"
            " revoked_by = CASE WHEN revoked_at IS NULL THEN {} ELSE revoked_by END"
            " WHERE id = {} RETURNING id, enrolled_at, last_sign_in_at, revoked_at, revoked_by",
            now, actor.label, device_id,
        )
        if row is None:
            raise UnknownReference(f"No scanner {device_id}.")
        ended = await db.fetch("UPDATE sessions SET ended_at = {} WHERE device_id = {} AND ended_at IS NULL"
                               " RETURNING id", now, device_id)
        await audit.record(actor, "device.revoke", "device", device_id, after={"sessions_ended": len(ended)})
        return DeviceView(**row)

    return await db.run_in_transaction(work)


async def list_devices(limit: int = DEVICES_LIST_MAX) -> list[DeviceView]:
    rows = await db.fetch(
        "SELECT id, enrolled_at, last_sign_in_at, revoked_at, revoked_by FROM devices"
        " ORDER BY last_sign_in_at DESC LIMIT {}", limit,
    )
    return [DeviceView(**r) for r in rows]
