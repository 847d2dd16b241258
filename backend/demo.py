"""Seed a realistic demo store: 2 warehouses, 240 bins, 1,200 items with barcodes and units,
kits, opening stock spread over bins, and open reservations. Runs once per database."""

from __future__ import annotations

import random
from datetime import UTC, datetime

from backend import db
from backend.demo_purchasing import PURCHASING_SEEDED_KEY, seed_purchasing
from backend.demo_replenishment import REPLENISHMENT_SEEDED_KEY, seed_replenishment
from backend.domain import idempotency
from backend.domain.auth.audit import Actor
from backend.domain.auth.tokens import create_token
from backend.domain.auth.users import create_user, find_user
from backend.domain.catalog.gs1 import gtin_check_digit
from backend.domain.catalog.service import get_item_by_id
from backend.domain.fulfillment.service import (
    NewManualOrder,
    OrderLineSpec,
    create_manual_order,
    create_pick_list,
)
from backend.domain.idempotency import payload_hash, scoped_key
from backend.domain.ledger import commands
from backend.domain.ledger.posting import Leg, Plan, post
from backend.domain.locations.service import (
    NewLocation,
    create_in_transaction,
    get_location,
    get_location_by_id,
    virtual,
)
from backend.migrations import migrate

WAREHOUSES = ("WH1", "WH2")
ZONES_PER_WAREHOUSE = 4
BINS_PER_ZONE = 30
ITEM_COUNT = 1200
KIT_COUNT = 20
RESERVATION_COUNT = 60
SEED = 20261125

_COLOURS = ("Black", "White", "Navy", "Sage", "Rust", "Sand", "Slate", "Plum")
_PRODUCTS = (
    ("Ceramic Mug", "MUG"), ("Cotton Tee", "TEE"), ("Water Bottle", "BTL"), ("Phone Case", "CAS"),
    ("Tote Bag", "TOT"), ("Notebook A5", "NBK"), ("Desk Lamp", "LMP"), ("Yoga Mat", "YGM"),
    ("Scented Candle", "CDL"), ("Wool Socks", "SCK"), ("Travel Pouch", "PCH"), ("Cutting Board", "CTB"),
    ("Tea Tin", "TEA"), ("Coffee Beans 250g", "COF"), ("Hand Cream", "HCR"),
)


def _gtin13(n: int) -> str:
    body = f"200{n:09d}"
    return body + str(gtin_check_digit(body))


def _gtin14_case(n: int) -> str:
    body = f"1200{n:09d}"
    return body + str(gtin_check_digit(body))


async def _seed_locations() -> list[int]:
    bin_ids = []
    for w in WAREHOUSES:
        await create_in_transaction(NewLocation(code=w, kind="warehouse", name=f"Warehouse {w[-1]}"))
        for z in range(1, ZONES_PER_WAREHOUSE + 1):
            zone = f"{w}-{chr(64 + z)}"
            await create_in_transaction(NewLocation(code=zone, kind="zone", parent=w, name=f"Zone {chr(64 + z)}"))
            for b in range(1, BINS_PER_ZONE + 1):
                loc = await create_in_transaction(NewLocation(code=f"{zone}-{b:02d}", kind="bin", parent=zone,
                                                walk_seq=z * 100 + b))
                bin_ids.append(loc.id)
    return bin_ids


async def _seed_items(rng: random.Random) -> list[int]:
    now = datetime.now(UTC)
    ids = []
    for n in range(1, ITEM_COUNT + 1):
        product, code = _PRODUCTS[n % len(_PRODUCTS)]
        colour = _COLOURS[(n // len(_PRODUCTS)) % len(_COLOURS)]
        sku = f"{code}-{n:05d}"
        lot_tracked = code in ("COF", "TEA", "HCR") and n % 2 == 0
        row = await db.fetch_one(
            "INSERT INTO items (sku, sku_key, name, base_unit, lot_tracked, unit_cost_cents, variant_attrs, created_at)"
            " VALUES ({}, {}, {}, 'each', {}, {}, {}, {}) RETURNING id",
            sku, sku.casefold(), f"{product} — {colour}", lot_tracked, rng.randint(150, 4500),
            f'{{"colour": "{colour}"}}', now,
        )
        assert row is not None
        ids.append(row["id"])
        await db.fetch("INSERT INTO item_units (item_id, unit, factor) VALUES ({}, 'inner', 6)", row["id"])
        await db.fetch("INSERT INTO item_units (item_id, unit, factor) VALUES ({}, 'case', 24)", row["id"])
        await db.fetch("INSERT INTO barcodes (code, item_id, unit) VALUES ({}, {}, 'each')", _gtin13(n), row["id"])
        await db.fetch("INSERT INTO barcodes (code, item_id, unit) VALUES ({}, {}, 'case')", _gtin14_case(n), row["id"])
    return ids


async def _seed_kits(item_ids: list[int], rng: random.Random) -> None:
    now = datetime.now(UTC)
    for k in range(1, KIT_COUNT + 1):
        sku = f"KIT-{k:03d}"
        row = await db.fetch_one(
            "INSERT INTO items (sku, sku_key, name, is_kit, created_at) VALUES ({}, {}, {}, {}, {}) RETURNING id",
            sku, sku.casefold(), f"Gift set #{k}", True, now,
        )
        assert row is not None
        for component in rng.sample(item_ids[:200], 3):
            await db.fetch("INSERT INTO kit_components (kit_id, component_id, qty) VALUES ({}, {}, {})",
                           row["id"], component, rng.choice((1, 1, 2)))


async def _opening_stock(item_ids: list[int], bin_ids: list[int], rng: random.Random) -> None:
    """One receipt command with a leg per (item, bin): the same ledger path as every receipt."""
    supplier = await virtual("supplier")
    bins = {i: await get_location_by_id(i) for i in bin_ids}
    legs = []
    for item_id in item_ids:
        item = await get_item_by_id(item_id)
        for bin_id in rng.sample(bin_ids, rng.choice((1, 1, 2))):
            lot = f"L{rng.randint(2400, 2499)}" if item.lot_tracked else ""
            legs.append(Leg(item, lot, rng.randint(6, 240), supplier, bins[bin_id], reason="opening_balance"))
    key = scoped_key("demo", "opening-stock")
    await idempotency.claim(key, "OpeningStock", payload_hash("OpeningStock", {"seed": SEED}), "system:demo")
    await post(key, "OpeningStock", Plan(legs, doc_ref="OPENING"), "system:demo")


async def _seed_reservations(rng: random.Random) -> None:
    rows = await db.fetch(
        "SELECT i.sku, l.code, b.lot, b.on_hand FROM balances b JOIN items i ON i.id = b.item_id"
        " JOIN locations l ON l.id = b.location_id WHERE l.kind = 'bin' ORDER BY b.id"
    )
    for n, r in enumerate(rng.sample(rows, RESERVATION_COUNT), start=1):
        if await _done(key := scoped_key("demo", f"reserve:{n}")):
            continue
        line = commands.ReserveLine(sku=r["sku"], qty=max(1, r["on_hand"] // 10), location=r["code"], lot=r["lot"])
        await commands.execute(commands.Reserve(lines=[line], order_ref=f"SO-{10000 + n}"), key=key,
                               actor="system:demo")


DEMO_USERS = (  # badge code, name, role, PIN
    ("U-ADMIN", "Alex Admin", "admin", "1111"),
    ("U-MGR", "Morgan Manager", "manager", "2222"),
    ("U-LEAD", "Lee Lead", "lead", "3333"),
    ("U-PICK", "Pat Picker", "picker", "4444"),
    ("U-RECV", "Robin Receiver", "receiver", "5555"),
    ("U-COUNT", "Casey Counter", "counter", "6666"),
)


async def _seed_users() -> None:
    system = Actor("system:demo")
    for code, name, role, pin in DEMO_USERS:
        if await find_user(code) is None:
            await create_user(code, name, role, pin, system)


DEMO_ORDERS = 3
ORDER_LINES = 3


async def _seed_pick_lists(rng: random.Random) -> None:
    """A few manual orders, reserved and on pick lists, so pickers have work in the demo."""
    rows = await db.fetch(
        "SELECT i.sku, b.on_hand - b.reserved - b.quarantined - b.damaged AS available FROM balances b"
        " JOIN items i ON i.id = b.item_id JOIN locations l ON l.id = b.location_id"
        " WHERE l.warehouse_id = (SELECT id FROM locations WHERE code_key = {}) AND l.kind = 'bin'"
        " AND NOT i.lot_tracked AND b.on_hand - b.reserved - b.quarantined - b.damaged >= 5 ORDER BY b.id",
        WAREHOUSES[0].casefold(),
    )
    system = Actor("system:demo")
    for n in range(1, DEMO_ORDERS + 1):
        picked = rng.sample(rows, ORDER_LINES)
        lines = [OrderLineSpec(sku=r["sku"], qty=rng.randint(1, 4)) for r in picked]
        ref = f"WEB-{1000 + n}"
        if not await _done(scoped_key("demo", f"order:{n}")):
            await create_manual_order(NewManualOrder(order_ref=ref, lines=lines, warehouse=WAREHOUSES[0]),
                                      key=scoped_key("demo", f"order:{n}"), actor=system)
        if not await _done(scoped_key("demo", f"pick-list:{n}")):
            await create_pick_list(ref, key=scoped_key("demo", f"pick-list:{n}"), actor=system)


# Written last, in the seed's transaction: a database without it was not seeded to the end.
SEEDED_KEY = scoped_key("demo", "seeded")


async def _done(key: str) -> bool:
    """A step an earlier, interrupted seed (before SEEDED_KEY existed) already ran: skip it, do the rest."""
    return await idempotency.is_claimed(key)


async def is_seeded() -> bool:
    return await _done(SEEDED_KEY)


async def _master_data_exists() -> bool:
    return await db.fetch_one("SELECT id FROM locations WHERE code_key = {}", WAREHOUSES[0].casefold()) is not None


async def _seed_master_data(rng: random.Random) -> None:
    bin_ids = await _seed_locations()
    item_ids = await _seed_items(rng)
    await _seed_kits(item_ids, rng)
    await _opening_stock(item_ids, bin_ids, rng)


async def _seed_everything() -> None:
    rng = random.Random(SEED)
    if not await _master_data_exists():  # written in one piece by earlier versions too
        await _seed_master_data(rng)
    await _seed_reservations(rng)
    await _seed_pick_lists(rng)
    await _seed_users()
    await seed_purchasing()
    await seed_replenishment()
    await idempotency.claim(SEEDED_KEY, "DemoSeeded", payload_hash("DemoSeeded", {"seed": SEED}), "system:demo")
    await idempotency.record_answer(SEEDED_KEY, idempotency.encode_answer())


async def seed_demo() -> str:
    """Migrate, seed once, and return a fresh write token for the demo user.

    The whole seed is one transaction ending with the SEEDED_KEY marker, so an interrupted seed
    leaves nothing and the next run starts over; a half-seeded database from an earlier version
    (no marker) is finished step by step, skipping what it already has.
    """
    await migrate()
    if not await is_seeded():
        await db.run_in_transaction(_seed_everything)
    else:
        if not await _done(PURCHASING_SEEDED_KEY):  # seeded before purchasing existed
            await db.run_in_transaction(seed_purchasing)
        if not await _done(REPLENISHMENT_SEEDED_KEY):  # seeded before replenishment existed
            await db.run_in_transaction(seed_replenishment)
    await get_location(WAREHOUSES[0])
    return await create_token("demo", "write")
