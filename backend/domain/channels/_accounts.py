"""Channel accounts: a storefront or marketplace that sends orders, its webhook secret, its
priority and the warehouses that may ship its orders.

The secret is kept as given (HMAC verification needs it) and never shown again after creation,
never logged. Slugs come from the name (`My Shop` → `my-shop`, then `my-shop-2`, ...).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import msgspec

from backend import db
from backend.domain.auth import audit
from backend.domain.auth.audit import Actor
from backend.domain.channels._signatures import KINDS, ChannelKind
from backend.domain.errors import InvalidInput, UnknownReference
from backend.domain.locations.service import get_location

NAME_LENGTH_MAX = 80
SLUG_LENGTH_MAX = 40
SECRET_LENGTH_MIN = 8
SECRET_LENGTH_MAX = 256
PRIORITY_MAX = 10_000
CHANNEL_WAREHOUSES_MAX = 50
RESERVED_SLUGS = ("manual", "api")  # orders.channel of tablet and API orders


class NewChannel(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    kind: ChannelKind
    name: str
    secret: str
    priority: int = 100  # lower is served first when orders compete for stock
    warehouses: list[str] = []  # warehouse codes in preference order; empty = every warehouse
    allow_split: bool = True
    auto_release: bool = True
    hold_value_over_cents: int = 0  # 0 = no value hold


@dataclass(frozen=True, slots=True)
class ChannelView:
    id: int
    slug: str
    kind: str
    name: str
    priority: int
    allow_split: bool
    auto_release: bool
    hold_value_over_cents: int
    active: bool
    warehouses: tuple[str, ...]


def slug_of(name: str) -> str:
    slug = re.sub(r"[^a-z0-9]+", "-", name.casefold()).strip("-")[:SLUG_LENGTH_MAX].strip("-")
    return slug or "channel"


def _check(spec: NewChannel) -> str:
    if spec.kind not in KINDS:
        raise InvalidInput(f"Channel kind must be one of {', '.join(KINDS)}.")
    name = spec.name.strip()
    if not name or len(name) > NAME_LENGTH_MAX or not name.isprintable():
        raise InvalidInput(f"A channel name is 1–{NAME_LENGTH_MAX} printable characters.")
    secret = spec.secret
    if (not SECRET_LENGTH_MIN <= len(secret) <= SECRET_LENGTH_MAX or not secret.isprintable()
            or secret != secret.strip()):
        raise InvalidInput(f"The webhook secret must be {SECRET_LENGTH_MIN}–{SECRET_LENGTH_MAX} printable characters"
                           " (copy it from the channel's webhook settings).")
    if not 0 <= spec.priority <= PRIORITY_MAX:
        raise InvalidInput(f"Priority must be 0–{PRIORITY_MAX} (lower is served first).")
    if not 0 <= spec.hold_value_over_cents <= 10**13:
        raise InvalidInput("The value hold threshold must be 0 or more cents.")
    if len(spec.warehouses) > CHANNEL_WAREHOUSES_MAX or len(set(spec.warehouses)) != len(spec.warehouses):
        raise InvalidInput(f"List each warehouse once, at most {CHANNEL_WAREHOUSES_MAX}.")
    return name


async def _free_slug(name: str) -> str:
    base = slug_of(name)
    taken = {r["slug"] for r in await db.fetch("SELECT slug FROM channels WHERE slug = {} OR slug LIKE {}",
                                                base, base + "-%")} | set(RESERVED_SLUGS)
    if base not in taken:
        return base
    n = 2
    while f"{base}-{n}" in taken:
        n += 1
    return f"{base}-{n}"


async def create_channel(spec: NewChannel, actor: Actor) -> ChannelView:
    """Create a channel account; returns it (its slug names its webhook URLs)."""
    name = _check(spec)

    async def work() -> ChannelView:
        slug = await _free_slug(name)
        row = await db.fetch_one(
            "INSERT INTO channels (slug, kind, name, secret, priority, allow_split, auto_release,"
            " hold_value_over_cents, active, created_at) VALUES ({}, {}, {}, {}, {}, {}, {}, {}, TRUE, {})"
            " RETURNING id",
            slug, spec.kind, name, spec.secret, spec.priority, spec.allow_split, spec.auto_release,
            spec.hold_value_over_cents, datetime.now(UTC))
        assert row is not None
        for rank, code in enumerate(spec.warehouses, start=1):
            warehouse = await get_location(code)
            if warehouse.kind != "warehouse":
                raise InvalidInput(f"{warehouse.code} is a {warehouse.kind}, not a warehouse.")
            await db.fetch("INSERT INTO channel_warehouses (channel_id, warehouse_id, rank) VALUES ({}, {}, {})",
                           row["id"], warehouse.id, rank)
        after = {**msgspec.to_builtins(spec), "slug": slug, "secret": "(set)"}
        await audit.record(actor, "channel.create", "channel", row["id"], None, after)
        return await get_channel(slug)

    return await db.run_in_transaction(work)


_SELECT = ("SELECT id, slug, kind, name, priority, allow_split, auto_release, hold_value_over_cents, active"
           " FROM channels")


async def _view(row: dict[str, Any]) -> ChannelView:
    codes = await db.fetch("SELECT l.code FROM channel_warehouses cw JOIN locations l ON l.id = cw.warehouse_id"
                           " WHERE cw.channel_id = {} ORDER BY cw.rank", row["id"])
    return ChannelView(**{**row, "allow_split": bool(row["allow_split"]), "auto_release": bool(row["auto_release"]),
                          "active": bool(row["active"])}, warehouses=tuple(r["code"] for r in codes))


async def find_channel(slug: str) -> ChannelView | None:
    row = await db.fetch_one(f"{_SELECT} WHERE slug = {{}}", slug.strip().casefold())
    return await _view(row) if row else None


async def get_channel(slug: str) -> ChannelView:
    channel = await find_channel(slug)
    if channel is None:
        raise UnknownReference(f"No channel {slug!r}. See the channels on the tablet or `stockline channel create`.")
    return channel


async def get_channel_by_id(channel_id: int) -> ChannelView:
    row = await db.fetch_one(f"{_SELECT} WHERE id = {{}}", channel_id)
    if row is None:
        raise UnknownReference(f"No channel #{channel_id}.")
    return await _view(row)


async def list_channels() -> list[ChannelView]:
    return [await _view(r) for r in await db.fetch(f"{_SELECT} ORDER BY priority, id")]


async def webhook_account(kind: str, slug: str) -> tuple[int, str] | None:
    """(channel id, secret) of an active channel of this kind; None for any other slug."""
    row = await db.fetch_one("SELECT id, secret FROM channels WHERE slug = {} AND kind = {} AND active",
                             slug, kind)
    return (row["id"], row["secret"]) if row else None
