"""Read side of the ledger: balances, movements, reservations, availability (incl. kits)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from backend import db
from backend.domain.catalog.service import ItemView, kit_components

PAGE_LIMIT_MAX = 500


@dataclass(frozen=True, slots=True)
class BalanceRow:
    id: int
    sku: str
    item_name: str
    location: str
    lot: str
    on_hand: int
    reserved: int
    quarantined: int
    damaged: int

    @property
    def available(self) -> int:
        return self.on_hand - self.reserved - self.quarantined - self.damaged


def _limit(limit: int) -> int:
    return max(1, min(limit, PAGE_LIMIT_MAX + 1))  # + 1: callers peek for a next page


async def balances(
    *, item_id: int | None = None, location_id: int | None = None, after_id: int = 0, limit: int = 100
) -> list[BalanceRow]:
    return await db.fetch_as(
        BalanceRow,
        "SELECT b.id, i.sku, i.name AS item_name, l.code AS location, b.lot, b.on_hand, b.reserved,"
        " b.quarantined, b.damaged FROM balances b JOIN items i ON i.id = b.item_id"
        " JOIN locations l ON l.id = b.location_id"
        " WHERE b.id > {} AND ({} = 0 OR b.item_id = {}) AND ({} = 0 OR b.location_id = {})"
        " AND b.on_hand > 0 ORDER BY b.id LIMIT {}",
        after_id, item_id or 0, item_id or 0, location_id or 0, location_id or 0, _limit(limit),
    )


async def available_by_item(item_id: int) -> int:
    row = await db.fetch_one(
        "SELECT COALESCE(SUM(b.on_hand - b.reserved - b.quarantined - b.damaged), 0) AS available"
        " FROM balances b JOIN locations l ON l.id = b.location_id WHERE b.item_id = {} AND l.kind = 'bin'",
        item_id,
    )
    return int(row["available"]) if row else 0


async def available_to_sell(item: ItemView) -> int:
    """Available units in bins; for a kit, how many complete kits its components allow."""
    if not item.is_kit:
        return await available_by_item(item.id)
    components = await kit_components(item.id)
    if not components:
        return 0
    return min([await available_by_item(cid) // qty for cid, qty in components])


@dataclass(frozen=True, slots=True)
class MovementRow:
    id: int
    sku: str
    lot: str
    qty: int
    from_location: str
    to_location: str
    from_state: str
    to_state: str
    reason: str
    actor: str
    doc_ref: str
    reversal_of: int | None
    idempotency_key: str
    created_at: datetime | str


_MOVEMENT_COLUMNS = (
    "m.id, i.sku, m.lot, m.qty, lf.code AS from_location, lt.code AS to_location, m.from_state, m.to_state,"
    " m.reason, m.actor, m.doc_ref, m.reversal_of, m.idempotency_key, m.created_at"
)
_MOVEMENT_JOINS = (
    " JOIN items i ON i.id = m.item_id JOIN locations lf ON lf.id = m.from_location_id"
    " JOIN locations lt ON lt.id = m.to_location_id"
)


async def movements(
    *,
    after_id: int = 0,
    limit: int = 100,
    item_id: int | None = None,
    location_id: int | None = None,
    reason: str = "",
    doc_ref: str = "",
    since: datetime | None = None,
    until: datetime | None = None,
) -> list[MovementRow]:
    """A page of movements in id order. Only the filters given are in the SQL, so each list is one
    ordered index range that stops after `limit` rows, however long the ledger grows:
    item → movements_item; doc_ref → movements_doc_ref; a location → movements_from and
    movements_to, one ordered range each (UNION ALL), because `from = x OR to = x` can use neither
    index in id order and walked every movement id for a quiet bin; no filter → the primary key.
    A time range (since ≤ created_at < until) is served by the BRIN index on created_at (PostgreSQL).
    """
    timed = since is not None or until is not None
    # With a time range, `m.id + 0` keeps PostgreSQL from walking the primary key in id order and
    # filtering on time (it assumes matches are spread evenly; they are all in one stretch), or from
    # reading the whole key for the cursor in a cached generic plan: it reads the range's pages
    # through the BRIN index on created_at and sorts the matches instead.
    where: list[str] = ["m.id + 0 > {}" if timed else "m.id > {}"]
    args: list[object] = [after_id]
    if item_id:
        where.append("m.item_id = {}")
        args.append(item_id)
    if reason:
        where.append("m.reason = {}")
        args.append(reason)
    if doc_ref:
        # The literal `<> ''` lets both databases use the partial index (it holds non-empty refs only).
        where.append("m.doc_ref = {} AND m.doc_ref <> ''")
        args.append(doc_ref)
    if since is not None:
        where.append("m.created_at >= {}")
        args.append(since)
    if until is not None:
        where.append("m.created_at < {}")
        args.append(until)
    order = "m.id + 0" if timed else "m.id"
    # The page size is written into the SQL (a bounded int), not passed: with `LIMIT $n` PostgreSQL's
    # cached generic plan guesses a tenth of the table, finds that dearer than planning each call, and
    # then plans every call anew (half a millisecond more at 1M movements than at 100k).
    filters, n = " AND ".join(where), int(_limit(limit))
    # The page's ids first, then the names joined to those rows only.
    if not location_id:
        page, page_args = f"SELECT m.id FROM movements m WHERE {filters} ORDER BY {order} LIMIT {n}", args
    else:
        # A movement that changes state in place (from = to = the location) comes from the first range only.
        page = (f"SELECT id FROM (SELECT m.id FROM movements m WHERE m.from_location_id = {{}} AND {filters}"
                f" ORDER BY {order} LIMIT {n}) AS outgoing"
                f" UNION ALL"
                f" SELECT id FROM (SELECT m.id FROM movements m WHERE m.to_location_id = {{}}"
                f" AND m.from_location_id <> {{}} AND {filters} ORDER BY {order} LIMIT {n}) AS incoming")
        page_args = [location_id, *args, location_id, location_id, *args]
    rows = await db.fetch(
        f"SELECT {_MOVEMENT_COLUMNS} FROM ({page}) AS page JOIN movements m ON m.id = page.id{_MOVEMENT_JOINS}"
        f" ORDER BY m.id LIMIT {n}",
        *page_args,
    )
    return [MovementRow(**r) for r in rows]


@dataclass(frozen=True, slots=True)
class ReservationRow:
    id: int
    sku: str
    location: str
    lot: str
    qty: int
    open_qty: int
    status: str
    order_ref: str
    expires_at: datetime | str | None


async def reservations(
    *, after_id: int = 0, limit: int = 100, status: str = "", order_ref: str = ""
) -> list[ReservationRow]:
    rows = await db.fetch(
        "SELECT r.id, i.sku, l.code AS location, r.lot, r.qty, r.open_qty, r.status, r.order_ref, r.expires_at"
        " FROM reservations r JOIN items i ON i.id = r.item_id JOIN locations l ON l.id = r.location_id"
        " WHERE r.id > {} AND ({} = '' OR r.status = {}) AND ({} = '' OR r.order_ref = {})"
        " ORDER BY r.id LIMIT {}",
        after_id, status, status, order_ref, order_ref, _limit(limit),
    )
    return [ReservationRow(**r) for r in rows]


async def expired_reservation_ids(now: datetime, limit: int = 500) -> list[int]:
    rows = await db.fetch(
        "SELECT id FROM reservations WHERE status = 'open' AND expires_at IS NOT NULL AND expires_at <= {}"
        " ORDER BY id LIMIT {}",
        now, _limit(limit),
    )
    return [r["id"] for r in rows]
