"""Waves: released orders become pick work, grouped per warehouse and carrier (the carrier's
cut-off: orders that leave on the same truck are picked together), oldest promise first, cut into
the existing pick lists (at most PICK_LIST_ORDERS_MAX orders each, lines in walk order).

Set-based, for thousands of orders in one command: one query for the open reservations not yet on
a pick list, the grouping in Python, multi-row inserts for the pick list lines, and the status change
of every order in a few statements (`transition_many`, one audit row per order).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime

from backend import db
from backend.domain import idempotency
from backend.domain.auth import audit
from backend.domain.auth.audit import Actor
from backend.domain.errors import Conflict
from backend.domain.fulfillment.allocation import PickCandidate, pick_sequence
from backend.domain.fulfillment.rules import PICK_LIST_ORDERS_MAX
from backend.domain.locations.service import get_location
from backend.domain.orders._transitions import PICKABLE, transition_many

_ROWS_PER_INSERT = 3_000  # 8 values a row: 24,000 parameters, under both databases' bound (32,766)
_PICKABLE = ", ".join(f"'{s}'" for s in PICKABLE)


@dataclass(frozen=True, slots=True)
class WaveView:
    id: int
    warehouse: str
    carrier: str
    orders: int
    pick_list_ids: tuple[int, ...]


@dataclass(frozen=True, slots=True)
class WaveRun:
    waves: tuple[WaveView, ...] = ()
    orders: int = 0
    lines: int = 0
    replayed: bool = False


@dataclass
class _Group:
    warehouse_id: int
    carrier: str
    promised: dict[int, datetime | str] = field(default_factory=dict)  # order id → promise
    candidates: list[PickCandidate] = field(default_factory=list)


async def _groups(warehouse_id: int | None) -> list[_Group]:
    rows = await db.fetch(
        "SELECT r.id AS reservation_id, ol.id AS order_line_id, ol.order_id, ol.line_no, r.item_id, r.location_id,"
        " l.code AS location, l.walk_seq, r.lot, r.open_qty AS qty, l.warehouse_id, o.carrier,"
        " COALESCE(o.promised_at, o.created_at) AS promised"
        " FROM orders o JOIN order_lines ol ON ol.order_id = o.id"
        " JOIN order_reservations orr ON orr.order_line_id = ol.id JOIN reservations r ON r.id = orr.reservation_id"
        " JOIN locations l ON l.id = r.location_id"
        f" WHERE o.status IN ({_PICKABLE}) AND r.status = 'open' AND r.open_qty > 0"
        " AND ({} = 0 OR l.warehouse_id = {})"
        " AND NOT EXISTS (SELECT 1 FROM pick_list_lines pl WHERE pl.reservation_id = r.id)",
        warehouse_id or 0, warehouse_id or 0)
    groups: dict[tuple[int, str], _Group] = {}
    for r in rows:
        g = groups.setdefault((r["warehouse_id"], r["carrier"]), _Group(r["warehouse_id"], r["carrier"]))
        g.promised.setdefault(r["order_id"], r["promised"])
        g.candidates.append(PickCandidate(r["reservation_id"], r["order_line_id"], r["order_id"], r["line_no"],
                                          r["item_id"], r["location_id"], r["location"], r["walk_seq"], r["lot"],
                                          int(r["qty"])))
    # Waves in order of their oldest promise; warehouse and carrier break ties, so runs are repeatable.
    return sorted(groups.values(), key=lambda g: (str(min(g.promised.values(), key=str)), g.warehouse_id, g.carrier))


async def _insert_lines(lines: list[tuple[int, int, PickCandidate]]) -> None:
    """(pick list id, seq, candidate) rows, many per statement."""
    for start in range(0, len(lines), _ROWS_PER_INSERT):
        chunk = lines[start:start + _ROWS_PER_INSERT]
        values = ", ".join("({}, {}, {}, {}, {}, {}, {}, {})" for _ in chunk)
        args = [v for pick_list_id, seq, c in chunk
                for v in (pick_list_id, seq, c.order_line_id, c.reservation_id, c.item_id, c.location_id, c.lot,
                          c.qty)]
        await db.fetch("INSERT INTO pick_list_lines (pick_list_id, seq, order_line_id, reservation_id, item_id,"
                       f" location_id, lot, qty) VALUES {values}", *args)


async def _wave(n: int, g: _Group, key: str, now: datetime) -> WaveView:
    order_ids = sorted(g.promised, key=lambda oid: (str(g.promised[oid]), oid))
    cutoff = min(g.promised.values(), key=str)
    wave = await db.fetch_one(
        "INSERT INTO waves (warehouse_id, carrier, cutoff_at, orders, create_key, created_at)"
        " VALUES ({}, {}, {}, {}, {}, {}) RETURNING id", g.warehouse_id, g.carrier,
        cutoff if isinstance(cutoff, datetime) else None, len(order_ids), key, now)
    assert wave is not None
    by_order: dict[int, list[PickCandidate]] = defaultdict(list)
    for c in g.candidates:
        by_order[c.order_id].append(c)
    chunks = [order_ids[start:start + PICK_LIST_ORDERS_MAX]
              for start in range(0, len(order_ids), PICK_LIST_ORDERS_MAX)]
    keys = [idempotency.derived_key(key, f"w{n}:pl{part}") for part in range(1, len(chunks) + 1)]
    ids_by_key: dict[str, int] = {}
    for start in range(0, len(keys), _ROWS_PER_INSERT):  # every pick list of the wave in a few statements
        part = keys[start:start + _ROWS_PER_INSERT]
        rows = await db.fetch(
            "INSERT INTO pick_lists (warehouse_id, status, create_key, created_at, wave_id) VALUES "
            + ", ".join("({}, 'open', {}, {}, {})" for _ in part) + " RETURNING id, create_key",
            *[v for k in part for v in (g.warehouse_id, k, now, wave["id"])])
        ids_by_key.update({r["create_key"]: r["id"] for r in rows})
    pick_list_ids = [ids_by_key[k] for k in keys]
    lines = [(pick_list_id, seq, c) for pick_list_id, chunk in zip(pick_list_ids, chunks, strict=True)
             for seq, c in enumerate(pick_sequence([c for oid in chunk for c in by_order[oid]]), start=1)]
    await _insert_lines(lines)
    code = (await db.fetch_one("SELECT code FROM locations WHERE id = {}", g.warehouse_id) or {"code": "?"})["code"]
    return WaveView(wave["id"], code, g.carrier, len(order_ids), tuple(pick_list_ids))


async def build_waves(*, warehouse: str = "", key: str, actor: Actor) -> WaveRun:
    """Every open reservation of released (and picking) orders not yet on a pick list becomes a pick
    list line, in waves per warehouse and carrier; released orders become `picking`."""

    async def work() -> WaveRun:
        warehouse_id = (await get_location(warehouse)).id if warehouse.strip() else None
        groups = await _groups(warehouse_id)
        if not groups:
            raise Conflict("No released order has stock to pick that is not on a pick list already.")
        now = datetime.now(UTC)
        waves = [await _wave(n, g, key, now) for n, g in enumerate(groups, start=1)]
        order_ids = sorted({oid for g in groups for oid in g.promised})
        for status in ("released", "packed"):
            await transition_many(order_ids, "pick", status, actor=actor)
        lines = sum(len(g.candidates) for g in groups)
        for w in waves:
            await audit.record(actor, "wave.create", "wave", w.id, None,
                               {"warehouse": w.warehouse, "carrier": w.carrier, "orders": w.orders,
                                "pick_lists": list(w.pick_list_ids)})
        return WaveRun(tuple(waves), len(order_ids), lines)

    return await idempotency.run_once("orders.build_waves", {"warehouse": warehouse.strip().casefold()}, key=key,
                                      actor=actor.label, work=work, replay=idempotency.stored_as(WaveRun))
