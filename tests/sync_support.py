"""Helpers for the offline-sync tests: a simulated handheld outbox and views of the ledger to compare."""

from __future__ import annotations

import itertools
import uuid
from collections import Counter
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
from litestar import Litestar

from backend import db
from backend.domain.auth import devices
from backend.domain.auth.audit import Actor
from backend.domain.auth.users import UserView, create_user
from backend.domain.auth.users import sign_in as sign_in_user
from backend.domain.catalog.service import get_item
from backend.domain.locations.service import get_location
from sync.replay import TxnResult, apply_batch

PIN = "2468"
_users = itertools.count(1)


async def user(role: str) -> UserView:
    n = next(_users)
    return await create_user(f"U{n}-{role}", f"{role.title()} {n}", role, PIN, Actor("system:test"))


class Handheld:
    """A device's outbox: envelopes numbered in the order the scans were made.

    `Handheld()` names a device nobody has signed in on; `await Handheld.enrolled()` is one the server
    enrolled (holding its device key), on which people can sign in."""

    def __init__(self, device_id: str | None = None, key: str = "") -> None:
        self.device_id = device_id or f"hh-{uuid.uuid4().hex[:8]}"
        self.key = key
        self.seq = 0

    @classmethod
    async def enrolled(cls) -> Handheld:
        device = await devices.enroll()
        return cls(device.device_id, device.key)

    def scan(self, who: UserView, kind: str, **payload: Any) -> dict[str, Any]:
        self.seq += 1
        return {"txn_id": str(uuid.uuid4()), "device_id": self.device_id, "seq": self.seq, "user_id": who.id,
                "kind": kind, "payload": payload, "scanned_at": "2025-03-01T09:30:00+00:00"}

    async def signed_in(self, who: UserView) -> None:
        """`who` signs in online on this device once (what lets their offline scans be relayed)."""
        assert self.key, "people sign in on an enrolled handheld: `await Handheld.enrolled()`"
        signed_in = await sign_in_user(who.code, PIN, self.key)
        assert signed_in.session.device_id == self.device_id

    async def send(self, *envelopes: dict[str, Any], relay: UserView, pending: int | None = None) -> list[TxnResult]:
        return await apply_batch(self.device_id, list(envelopes), relay, session_device=self.device_id,
                                 pending_reported=pending)


def by_txn(results: list[TxnResult]) -> dict[str, TxnResult]:
    return {r.txn_id: r for r in results}


async def on_hand(sku: str, location: str, column: str = "on_hand") -> int:
    row = await db.fetch_one(
        f"SELECT {column} FROM balances WHERE item_id = {{}} AND location_id = {{}} AND lot = ''",
        (await get_item(sku)).id, (await get_location(location)).id,
    )
    return int(row[column]) if row else 0


async def table_count(table: str, where: str = "1 = 1", *args: Any) -> int:
    row = await db.fetch_one(f"SELECT COUNT(*) AS n FROM {table} WHERE {where}", *args)
    assert row is not None
    return int(row["n"])


def _strip(code: str, prefix: str) -> str:
    return code.removeprefix(prefix)


Balances = dict[tuple[str, str, str], tuple[int, int, int, int]]
Movements = Counter[tuple[str, str, int, str, str, str, str, str]]


async def ledger_of(prefix: str) -> tuple[Balances, Movements]:
    """(balances, movement multiset) of the items whose SKU starts with `prefix`, with the prefix
    removed from SKUs and location codes so two namespaces can be compared."""
    balances = {
        (_strip(r["sku"], prefix), _strip(r["code"], prefix), r["lot"]):
            (int(r["on_hand"]), int(r["reserved"]), int(r["quarantined"]), int(r["damaged"]))
        for r in await db.fetch(
            "SELECT i.sku, l.code, b.lot, b.on_hand, b.reserved, b.quarantined, b.damaged FROM balances b"
            " JOIN items i ON i.id = b.item_id JOIN locations l ON l.id = b.location_id WHERE i.sku LIKE {}",
            prefix + "%",
        )
        if any((r["on_hand"], r["reserved"], r["quarantined"], r["damaged"]))
    }
    movements = Counter(
        (_strip(r["sku"], prefix), r["lot"], int(r["qty"]), _strip(r["src"], prefix), _strip(r["dst"], prefix),
         r["from_state"], r["to_state"], r["reason"])
        for r in await db.fetch(
            "SELECT i.sku, m.lot, m.qty, lf.code AS src, lt.code AS dst, m.from_state, m.to_state, m.reason"
            " FROM movements m JOIN items i ON i.id = m.item_id JOIN locations lf ON lf.id = m.from_location_id"
            " JOIN locations lt ON lt.id = m.to_location_id WHERE i.sku LIKE {}",
            prefix + "%",
        )
    )
    return balances, movements


async def first_statuses(txn_ids: list[str]) -> list[str]:
    """The final status each txn got when it was first applied (what the inbox stores)."""
    marks = ", ".join("{}" for _ in txn_ids)
    rows = await db.fetch(f"SELECT txn_id, status FROM sync_inbox WHERE txn_id IN ({marks})", *txn_ids)
    stored = {r["txn_id"]: r["status"] for r in rows}
    return [stored.get(t, "missing") for t in txn_ids]


@asynccontextmanager
async def csrf_client(app: Litestar) -> AsyncIterator[httpx.AsyncClient]:
    """A client of the real app that holds the CSRF cookie and sends its header, as htmx and the outbox do."""
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="https://stockline.test") as c:
        await c.get("/signin")
        c.headers["x-csrftoken"] = c.cookies["csrftoken"]
        yield c


async def sign_in(client: httpx.AsyncClient, role: str) -> UserView:
    """A new user of `role` signs in on this client (the last person's session is dropped)."""
    who = await user(role)
    client.cookies.delete("stockline_session")
    r = await client.post("/signin", data={"code": who.code, "pin": PIN})
    assert r.status_code == 303, r.text
    return who


def device_of(client: httpx.AsyncClient) -> Handheld:
    """The handheld this client signed in on: the device id the server issued it."""
    return Handheld(client.cookies["stockline_device"])
