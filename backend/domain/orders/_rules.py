"""An order's rules as stored: which warehouses may ship it (and how near each is to its
destination), whether it may be split or released partly, and the hold rules at import."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import msgspec

from backend import db
from backend.domain.auth import audit
from backend.domain.auth.audit import Actor
from backend.domain.errors import InvalidInput
from backend.domain.locations.service import get_location
from backend.domain.orders._allocation import Region, WarehouseOption, distance

HOLD_REASONS = ("payment_not_captured", "address_incomplete", "value_over_threshold", "manual")
COUNTRY_LENGTH = 2
POSTCODE_PREFIX_LENGTH_MAX = 16


@dataclass(frozen=True, slots=True)
class OrderRules:
    warehouses: tuple[WarehouseOption, ...]
    allow_split: bool
    auto_release: bool
    release_partial: bool  # a lead's manual order is released with what could be reserved
    destination: str


async def _regions(warehouse_ids: list[int]) -> list[Region]:
    if not warehouse_ids:
        return []
    marks = ", ".join("{}" for _ in warehouse_ids)
    rows = await db.fetch(f"SELECT warehouse_id, country, postcode_prefix, rank FROM warehouse_regions"
                          f" WHERE warehouse_id IN ({marks})", *warehouse_ids)
    return [Region(**r) for r in rows]


async def _candidates(order: dict[str, Any]) -> list[tuple[int, str, int]]:
    """(id, code, rank) of the warehouses that may ship the order, in the channel's order."""
    if order["warehouse_pinned"]:
        rows = await db.fetch("SELECT id, code, 1 AS rank FROM locations WHERE id = {}", order["warehouse_id"])
    elif order["channel_id"] is not None:
        rows = await db.fetch(
            "SELECT l.id, l.code, cw.rank FROM channel_warehouses cw JOIN locations l ON l.id = cw.warehouse_id"
            " WHERE cw.channel_id = {} AND l.active ORDER BY cw.rank, l.id", order["channel_id"])
    else:
        rows = []
    if not rows:  # a channel with no warehouses listed (or an API order) may ship from any of them
        rows = await db.fetch("SELECT id, code, id AS rank FROM locations WHERE kind = 'warehouse' AND active"
                              " ORDER BY id")
    return [(r["id"], r["code"], int(r["rank"])) for r in rows]


async def rules_of(order_id: int) -> OrderRules:
    order = await db.fetch_one(
        "SELECT o.channel, o.channel_id, o.warehouse_id, o.warehouse_pinned, o.ship_country, o.ship_postcode,"
        " o.alloc_seq,"
        " COALESCE(c.allow_split, TRUE) AS allow_split, COALESCE(c.auto_release, TRUE) AS auto_release"
        " FROM orders o LEFT JOIN channels c ON c.id = o.channel_id WHERE o.id = {}", order_id)
    assert order is not None, order_id
    found = await _candidates(order)
    if not order["allow_split"] and order["alloc_seq"] > 0:
        # Not split: units still owed come from the warehouse that already ships the rest.
        found = [f for f in found if f[0] == order["warehouse_id"]] or found
    regions = await _regions([wid for wid, _, _ in found])
    country, postcode = order["ship_country"], order["ship_postcode"]
    options = tuple(WarehouseOption(wid, code, rank, distance(regions, wid, country, postcode))
                    for wid, code, rank in found)
    return OrderRules(options, bool(order["allow_split"]), bool(order["auto_release"]),
                      release_partial=order["channel"] == "manual",
                      destination=" ".join(p for p in (country, postcode) if p))


def rule_holds(*, payment: str, address_complete: bool, total_cents: int, hold_value_over_cents: int,
               check_address: bool) -> list[tuple[str, str]]:
    """(reason, detail) of every hold rule the order breaks when it arrives."""
    holds = []
    if payment != "captured":
        holds.append(("payment_not_captured", "the channel has not captured the payment"))
    if check_address and not address_complete:
        holds.append(("address_incomplete", "the shipping address lacks a street, postcode or country"))
    if hold_value_over_cents and total_cents > hold_value_over_cents:
        holds.append(("value_over_threshold",
                      f"order value {total_cents / 100:.2f} is over {hold_value_over_cents / 100:.2f}"))
    return holds


async def add_holds(order_id: int, holds: list[tuple[str, str]], actor: Actor) -> int:
    """Open each hold unless one with the same reason is open already; returns how many were opened."""
    opened = 0
    for reason, detail in holds:
        assert reason in HOLD_REASONS, reason
        row = await db.fetch(
            "INSERT INTO order_holds (order_id, reason, detail, created_by, created_at)"
            " SELECT {}, {}, {}, {}, {} WHERE NOT EXISTS (SELECT 1 FROM order_holds"
            " WHERE order_id = {} AND reason = {} AND released_at IS NULL) RETURNING id",
            order_id, reason, detail, actor.label, datetime.now(UTC), order_id, reason)
        if row:
            opened += 1
            await audit.record(actor, "order.hold_opened", "order", order_id, None, {"reason": reason,
                                                                                    "detail": detail})
    return opened


async def has_open_holds(order_id: int) -> bool:
    row = await db.fetch_one("SELECT 1 AS held FROM order_holds WHERE order_id = {} AND released_at IS NULL"
                             " LIMIT 1", order_id)
    return row is not None


class RegionSpec(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    warehouse: str
    country: str
    postcode_prefix: str = ""
    rank: int = 1


async def set_region(spec: RegionSpec, actor: Actor) -> None:
    """The warehouse serves destinations in `country` (postcodes starting with the prefix) at `rank`
    (lower is nearer). Setting the same warehouse, country and prefix again changes the rank."""
    country = spec.country.strip().upper()
    prefix = spec.postcode_prefix.strip().upper().replace(" ", "")
    if len(country) != COUNTRY_LENGTH or not country.isascii() or not country.isalpha():
        raise InvalidInput(f"Country must be a two-letter code such as US or DE, got {spec.country!r}.")
    if len(prefix) > POSTCODE_PREFIX_LENGTH_MAX or (not prefix.isalnum() and prefix):
        raise InvalidInput(f"A postcode prefix is at most {POSTCODE_PREFIX_LENGTH_MAX} letters and digits.")
    if not 0 <= spec.rank <= 1_000:
        raise InvalidInput("Rank must be 0–1000 (lower is nearer).")

    async def work() -> None:
        warehouse = await get_location(spec.warehouse)
        if warehouse.kind != "warehouse":
            raise InvalidInput(f"{warehouse.code} is a {warehouse.kind}, not a warehouse.")
        await db.fetch(
            "INSERT INTO warehouse_regions (warehouse_id, country, postcode_prefix, rank) VALUES ({}, {}, {}, {})"
            " ON CONFLICT (warehouse_id, country, postcode_prefix) DO UPDATE SET rank = excluded.rank",
            warehouse.id, country, prefix, spec.rank)
        await audit.record(actor, "warehouse.region", "location", warehouse.id, None,
                           {"country": country, "postcode_prefix": prefix, "rank": spec.rank})

    await db.run_in_transaction(work)
