"""Set-based ledger work: many orders reserved, or many corrections posted, in a few statements per
batch instead of a command (and its round trips) per line.

Both keep the ledger's rules: one idempotency key per order or per correction, claimed all at once
(`idempotency.claim_many`; a repeat answers with the stored result), balance rows locked in
(item_id, location_id, lot) order before any of them changes, guarded updates, movements appended.
Both join the caller's transaction, or run in one of their own.

- `reserve_orders`: each order reserves what free stock allows, line by line, in the order given (the
  caller's priority); a line there is not enough free stock for is left unreserved (`None`: the
  caller's backorder) and the others go ahead. Nothing else is partial: input the ledger would refuse
  (an unknown SKU, a kit, a bin that holds no stock, a key reused with other content) refuses the batch.
- `post_plans`: commands already planned (legs, no reservations): `post_adjustments` (many Adjusts,
  a key each) and `post_adjustments_as_one` (a count's corrections, one key). All or nothing: the caller
  has checked the stock under lock, so a refused guard means a bug or a race the lock did not cover, and
  the whole batch rolls back with InsufficientStock.

Rows go to the database as one JSON parameter per statement (`db.values_table`).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import msgspec

from backend import db, metrics
from backend.domain import idempotency
from backend.domain.catalog.service import ItemView, items_by_sku_key, sku_key
from backend.domain.errors import InvalidInput, UnknownItem, UnknownLocation
from backend.domain.idempotency import check_key, payload_hash
from backend.domain.ledger import commands as c
from backend.domain.ledger.posting import Delta, Plan
from backend.domain.ledger.posting import _deltas as deltas_of
from backend.domain.ledger.posting import _insufficient as insufficient
from backend.domain.locations.service import LocationView, locations_by_code_key, virtual
from backend.domain.quantities import require_qty

RESERVE_BATCH_ORDERS_MAX = 2_000
RESERVE_BATCH_LINES_MAX = 20_000
POST_BATCH_MAX = 10_000
RESERVE_ORDER_KIND = "ReserveOrder"


class OrderLines(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    """One order's lines to reserve (its idempotency key travels beside it)."""

    lines: list[c.ReserveLine]
    order_ref: str = ""
    doc_ref: str = ""
    ttl_min: int = 0


@dataclass(frozen=True, slots=True)
class ReservedOrder:
    key: str
    reservation_ids: list[int | None]  # per line, as given; None: not enough free stock (a backorder)
    replayed: bool = False

    def reserved(self, lines: Sequence[c.ReserveLine]) -> int:
        """Units reserved (of `lines`, the order's lines as given)."""
        return sum(li.qty for li, rid in zip(lines, self.reservation_ids, strict=True) if rid is not None)


# --- reserving many orders ----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Line:
    order: int
    line: int
    item: ItemView
    location: LocationView
    lot: str
    qty: int

    @property
    def balance(self) -> tuple[int, int, str]:
        return (self.item.id, self.location.id, self.lot)


def _checked_order(key: str, order: OrderLines) -> OrderLines:
    check_key(key)
    try:
        order = msgspec.convert(msgspec.to_builtins(order), OrderLines, strict=True)
    except msgspec.ValidationError as exc:
        raise InvalidInput(f"Invalid reservation for {key}: {exc}") from exc
    if not order.lines or len(order.lines) > c.RESERVE_LINES_MAX:
        raise InvalidInput(f"A reservation needs 1–{c.RESERVE_LINES_MAX} lines.")
    if not 0 <= order.ttl_min <= c.RESERVATION_TTL_MIN_MAX:
        raise InvalidInput(f"Reservation expiry must be 0–{c.RESERVATION_TTL_MIN_MAX} minutes.")
    for line in order.lines:
        require_qty(line.qty)
    return order


async def _resolve(orders: Sequence[OrderLines], claimed: list[int]) -> list[_Line]:
    """Every line of the claimed orders with its item and bin, checked as a single Reserve checks them."""
    wanted = [orders[n] for n in claimed]
    items = await items_by_sku_key(sorted({sku_key(li.sku) for o in wanted for li in o.lines}))
    locations = await locations_by_code_key(sorted({li.location.strip().casefold() for o in wanted for li in o.lines}))
    resolved = []
    for n in claimed:
        for m, li in enumerate(orders[n].lines):
            item = items.get(sku_key(li.sku))
            if item is None:
                raise UnknownItem(li.sku)
            qty, lot = c.base_qty_and_lot(c.check_stock_item(item), li.qty, li.unit, li.lot)
            location = locations.get(li.location.strip().casefold())
            if location is None:
                raise UnknownLocation(li.location)
            resolved.append(_Line(n, m, item, c.check_stock_location(location), lot, qty))
    return resolved


@dataclass(frozen=True, slots=True)
class Balance:
    on_hand: int = 0
    reserved: int = 0
    quarantined: int = 0
    damaged: int = 0

    @property
    def free(self) -> int:
        return self.on_hand - self.reserved - self.quarantined - self.damaged


async def lock_balances(keys: Sequence[tuple[int, int, str]]) -> dict[tuple[int, int, str], Balance]:
    """The balance rows of (item_id, location_id, lot) keys, read in one statement and, on PostgreSQL,
    locked in the ledger's lock order until the transaction ends (SQLite's writer lock already holds
    them). A key without a row is absent: nothing there."""
    if not keys:
        return {}
    table, args = db.values_table((("item", "bigint"), ("loc", "bigint"), ("lot", "text")), sorted(set(keys)))
    lock = ' ORDER BY b.item_id, b.location_id, b.lot COLLATE "C" FOR UPDATE OF b' if db.is_postgres() else ""
    rows = await db.fetch(
        "SELECT b.item_id, b.location_id, b.lot, b.on_hand, b.reserved, b.quarantined, b.damaged"
        f" FROM balances b JOIN {table} ON b.item_id = u.item AND b.location_id = u.loc AND b.lot = u.lot{lock}",
        *args,
    )
    return {(r["item_id"], r["location_id"], r["lot"]): Balance(int(r["on_hand"]), int(r["reserved"]),
                                                                 int(r["quarantined"]), int(r["damaged"]))
            for r in rows}


def _decide(lines: list[_Line], free: dict[tuple[int, int, str], int]) -> list[_Line]:
    """The lines that reserve: in order, each while its balance row still has the free units."""
    left = dict(free)
    taken = []
    for line in lines:
        if left.get(line.balance, 0) >= line.qty:
            left[line.balance] -= line.qty
            taken.append(line)
    return taken


async def _reserve(taken: list[_Line], keys: list[str], orders: Sequence[OrderLines], now: datetime) -> dict[
        tuple[int, int], int]:
    """Raise `reserved` per balance row and insert the reservations; returns (order, line) → reservation id."""
    sums: dict[tuple[int, int, str], int] = defaultdict(int)
    for line in taken:
        sums[line.balance] += line.qty
    table, args = db.values_table((("item", "bigint"), ("loc", "bigint"), ("lot", "text"), ("qty", "bigint")),
                        [(*k, q) for k, q in sorted(sums.items())])
    updated = await db.fetch(
        f"UPDATE balances SET reserved = reserved + u.qty FROM {table}"
        " WHERE balances.item_id = u.item AND balances.location_id = u.loc AND balances.lot = u.lot"
        " AND balances.on_hand - balances.reserved - balances.quarantined - balances.damaged >= u.qty"
        " RETURNING balances.id", *args,
    )
    assert len(updated) == len(sums), "free stock was read under lock: every guarded update holds"
    rows = []
    for n, line in enumerate(taken):
        o = orders[line.order]
        expires_at = now + timedelta(minutes=o.ttl_min) if o.ttl_min else None
        rows.append((n, keys[line.order], line.item.id, line.location.id, line.lot, line.qty, o.order_ref or o.doc_ref,
                     expires_at))
    table, args = db.values_table((("n", "bigint"), ("key", "text"), ("item", "bigint"), ("loc", "bigint"),
                                   ("lot", "text"),
                         ("qty", "bigint"), ("ref", "text"), ("expires", "timestamptz")), rows)
    inserted = await db.fetch(
        "INSERT INTO reservations (command_key, item_id, location_id, lot, qty, open_qty, status, order_ref,"
        f" expires_at, created_at) SELECT u.key, u.item, u.loc, u.lot, u.qty, u.qty, 'open', u.ref, u.expires, {{}}"
        f" FROM {table} WHERE TRUE ORDER BY u.n RETURNING id", now, *args,
    )
    # Ids come from one sequence in the order the rows were inserted (ORDER BY u.n), whatever order
    # RETURNING lists them in.
    ids = sorted(r["id"] for r in inserted)
    assert len(ids) == len(taken)
    return {(line.order, line.line): rid for line, rid in zip(taken, ids, strict=True)}


def _result_text(ids: list[int | None]) -> str:
    return idempotency.encode_answer((), [i for i in ids if i is not None], lines=ids)


async def reserve_orders(orders: Sequence[tuple[str, OrderLines]], *, actor: str) -> list[ReservedOrder]:
    """Reserve many orders' lines at once; results in the order given. See the module's docstring."""
    if len(orders) > RESERVE_BATCH_ORDERS_MAX:
        raise InvalidInput(f"Reserve at most {RESERVE_BATCH_ORDERS_MAX} orders at a time.")
    keys = [key for key, _ in orders]
    checked = [_checked_order(key, order) for key, order in orders]
    if len(set(keys)) != len(keys):
        raise InvalidInput("Each order in a batch needs its own idempotency key.")
    if sum(len(o.lines) for o in checked) > RESERVE_BATCH_LINES_MAX:
        raise InvalidInput(f"Reserve at most {RESERVE_BATCH_LINES_MAX} lines at a time.")
    digests = [payload_hash(RESERVE_ORDER_KIND, o) for o in checked]

    async def work() -> list[ReservedOrder]:
        if not keys:
            return []
        now = datetime.now(UTC)
        claimed_keys, stored = await idempotency.claim_many(
            [(key, RESERVE_ORDER_KIND, digest) for key, digest in zip(keys, digests, strict=True)], actor, now)
        claimed = [n for n, key in enumerate(keys) if key in claimed_keys]
        lines = await _resolve(checked, claimed)
        free = {k: b.free for k, b in (await lock_balances([line.balance for line in lines])).items()}
        taken = _decide(lines, free)
        ids = await _reserve(taken, keys, checked, now) if taken else {}
        results, out = {}, []
        for n, key in enumerate(keys):
            if key in claimed_keys:
                per_line = [ids.get((n, m)) for m in range(len(checked[n].lines))]
                results[key] = _result_text(per_line)
                out.append(ReservedOrder(key, per_line))
            else:
                out.append(ReservedOrder(key, list(stored[key].lines or []), replayed=True))
        await idempotency.record_answers(results)
        return out

    return await db.run_in_transaction(work)


# --- posting many planned commands -------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Planned:
    """A ledger command already planned: its key, kind, payload hash and plan (movements only)."""

    key: str
    kind: str
    digest: str
    plan: Plan


async def _lock_rows(deltas: list[Delta]) -> None:
    if db.is_postgres():
        await lock_balances([d.sort_key for d in deltas])


async def _apply_deltas(deltas: list[Delta]) -> None:
    """Adds as one upsert, the rest as one guarded update (rows locked first, in lock order)."""
    columns = (("item", "bigint"), ("loc", "bigint"), ("lot", "text"), ("oh", "bigint"), ("res", "bigint"),
               ("q", "bigint"), ("dm", "bigint"))

    def values(ds: list[Delta]) -> list[tuple[Any, ...]]:
        return [(d.item.id, d.location.id, d.lot, d.on_hand, d.reserved, d.quarantined, d.damaged) for d in ds]

    adds = [d for d in deltas if d.only_adds]
    guarded = [d for d in deltas if not d.only_adds]
    if adds:
        table, args = db.values_table(columns, values(adds))
        await db.fetch(
            "INSERT INTO balances (item_id, location_id, lot, on_hand, reserved, quarantined, damaged)"
            f" SELECT u.item, u.loc, u.lot, u.oh, u.res, u.q, u.dm FROM {table} WHERE TRUE"
            " ON CONFLICT (item_id, location_id, lot) DO UPDATE SET on_hand = balances.on_hand + excluded.on_hand,"
            " reserved = balances.reserved + excluded.reserved,"
            " quarantined = balances.quarantined + excluded.quarantined,"
            " damaged = balances.damaged + excluded.damaged", *args,
        )
    if guarded:
        table, args = db.values_table(columns, values(guarded))
        b = "balances"
        done = await db.fetch(
            f"UPDATE {b} SET on_hand = {b}.on_hand + u.oh, reserved = {b}.reserved + u.res,"
            f" quarantined = {b}.quarantined + u.q, damaged = {b}.damaged + u.dm FROM {table}"
            f" WHERE {b}.item_id = u.item AND {b}.location_id = u.loc AND {b}.lot = u.lot"
            f" AND {b}.on_hand + u.oh >= 0 AND {b}.reserved + u.res >= 0 AND {b}.quarantined + u.q >= 0"
            f" AND {b}.damaged + u.dm >= 0"
            f" AND ({b}.on_hand + u.oh) - ({b}.reserved + u.res) - ({b}.quarantined + u.q) - ({b}.damaged + u.dm) >= 0"
            f" RETURNING {b}.item_id, {b}.location_id, {b}.lot", *args,
        )
        if len(done) != len(guarded):
            changed = {(r["item_id"], r["location_id"], r["lot"]) for r in done}
            refused = next(d for d in guarded if d.sort_key not in changed)
            raise await insufficient(refused)  # the caller's transaction rolls back every change


async def _insert_movements(batch: list[Planned], actor: str, now: datetime) -> dict[str, list[int]]:
    rows: list[tuple[Any, ...]] = []
    for p in batch:
        for i, leg in enumerate(p.plan.legs):
            rows.append((len(rows), f"{p.key}#{i}", p.key, leg.item.id, leg.lot, leg.qty, leg.src.id, leg.dst.id,
                         leg.src_state, leg.dst_state, leg.reason, p.plan.doc_ref, leg.reversal_of))
    table, args = db.values_table((("n", "bigint"), ("mkey", "text"), ("ckey", "text"), ("item", "bigint"),
                                   ("lot", "text"),
                         ("qty", "bigint"), ("src", "bigint"), ("dst", "bigint"), ("src_state", "text"),
                         ("dst_state", "text"), ("reason", "text"), ("doc_ref", "text"), ("rev", "bigint")), rows)
    inserted = await db.fetch(
        "INSERT INTO movements (idempotency_key, command_key, item_id, lot, qty, from_location_id, to_location_id,"
        " from_state, to_state, reason, actor, doc_ref, reversal_of, created_at)"
        " SELECT u.mkey, u.ckey, u.item, u.lot, u.qty, u.src, u.dst, u.src_state, u.dst_state, u.reason, {}, u.doc_ref,"
        f" u.rev, {{}} FROM {table} WHERE TRUE ORDER BY u.n RETURNING id", actor, now, *args,
    )
    ids = iter(sorted(r["id"] for r in inserted))  # one sequence, in insertion order (ORDER BY u.n)
    return {p.key: [next(ids) for _ in p.plan.legs] for p in batch}


async def post_plans(batch: list[Planned], *, actor: str, locked: bool = False) -> dict[str, list[int]]:
    """Post planned commands together in the caller's transaction; key → movement ids. A key claimed
    before answers with its stored movements (its command is not posted again). `locked`: the caller
    holds the balance rows already (`lock_balances` in this transaction)."""
    if len(batch) > POST_BATCH_MAX:
        raise InvalidInput(f"Post at most {POST_BATCH_MAX} commands at a time.")
    assert db.engine().transaction_exists(), "a batch posts inside its caller's transaction"
    if not batch:
        return {}
    for p in batch:
        check_key(p.key)
        assert p.plan.legs and not p.plan.extra and not p.plan.reservation_ids, "movements only, no reservations"
    now = datetime.now(UTC)
    claimed, stored = await idempotency.claim_many([(p.key, p.kind, p.digest) for p in batch], actor, now)
    fresh = [p for p in batch if p.key in claimed]
    deltas = deltas_of(Plan(legs=[leg for p in fresh for leg in p.plan.legs]))
    if not locked:
        await _lock_rows(deltas)
    await _apply_deltas(deltas)
    ids = await _insert_movements(fresh, actor, now) if fresh else {}
    await idempotency.record_answers({key: idempotency.encode_answer(m) for key, m in ids.items()})
    posted: dict[str, tuple[int, int]] = defaultdict(lambda: (0, 0))
    for p in fresh:
        commands_n, movements_n = posted[p.kind]
        posted[p.kind] = (commands_n + 1, movements_n + len(ids[p.key]))
    for kind, (commands_n, movements_n) in posted.items():
        db.after_commit(_posted_metric(kind, movements_n, commands_n))
    return {p.key: ids[p.key] if p.key in ids else list(stored[p.key].movement_ids) for p in batch}


def _adjust(command: c.Command) -> c.Adjust:
    assert isinstance(command, c.Adjust)
    c.check_adjust(command)
    return command


def _posted_metric(kind: str, movements: int, commands: int) -> Callable[[], None]:
    return lambda: metrics.ledger_posted(kind, movements, commands)


async def _adjust_plans(adjustments: list[c.Adjust], known_items: Sequence[ItemView],
                        known_locations: Sequence[LocationView]) -> list[tuple[c.Adjust, Plan]]:
    """Each adjustment checked as `execute(Adjust)` checks it, with its one-leg plan."""
    checked = [_adjust(c.checked_command(a)) for a in adjustments]
    items = {sku_key(i.sku): i for i in known_items}
    locations = {loc.code.casefold(): loc for loc in known_locations}
    items.update(await items_by_sku_key(sorted({sku_key(a.sku) for a in checked} - items.keys())))
    locations.update(await locations_by_code_key(
        sorted({a.location.strip().casefold() for a in checked} - locations.keys())))
    outside = await virtual("adjustment")
    planned = []
    for a in checked:
        item = items.get(sku_key(a.sku))
        if item is None:
            raise UnknownItem(a.sku)
        location = locations.get(a.location.strip().casefold())
        if location is None:
            raise UnknownLocation(a.location)
        planned.append((a, c.adjust_plan(a, item, location, outside)))
    return planned


async def post_adjustments(adjustments: list[tuple[str, c.Adjust]], *, actor: str,
                           known_items: Sequence[ItemView] = (),
                           known_locations: Sequence[LocationView] = (), locked: bool = False) -> dict[str, list[int]]:
    """Many `Adjust` commands in the caller's transaction, each under its own key, checked as
    `execute(Adjust)` checks it; key → movement ids. The caller has checked the stock.
    `known_items` / `known_locations`: views the caller read in this transaction (not read again);
    `locked`: it holds their balance rows (`lock_balances`)."""
    if not adjustments:
        return {}
    planned = await _adjust_plans([a for _, a in adjustments], known_items, known_locations)
    batch = [Planned(key, "Adjust", payload_hash("Adjust", a), plan)
             for (key, _), (a, plan) in zip(adjustments, planned, strict=True)]
    return await post_plans(batch, actor=actor, locked=locked)


ADJUST_MANY_KIND = "AdjustMany"


async def post_adjustments_as_one(key: str, adjustments: list[c.Adjust], *, actor: str,
                                  known_items: Sequence[ItemView] = (), known_locations: Sequence[LocationView] = (),
                                  locked: bool = False) -> list[list[int]]:
    """Many adjustments as ONE ledger command under `key` (a count's corrections: the count is what is
    done once): one command_log row, one movement per adjustment, all with the same document
    reference. Returns each adjustment's movement ids, in order. Checked and posted as post_adjustments."""
    if not adjustments:
        return []
    planned = await _adjust_plans(adjustments, known_items, known_locations)
    doc_refs = {plan.doc_ref for _, plan in planned}
    assert len(doc_refs) == 1, "one command, one document reference"
    digest = payload_hash(ADJUST_MANY_KIND, {"adjustments": [a for a, _ in planned]})
    plan = Plan([leg for _, p in planned for leg in p.legs], doc_ref=doc_refs.pop())
    ids = iter((await post_plans([Planned(key, ADJUST_MANY_KIND, digest, plan)], actor=actor, locked=locked))[key])
    return [[next(ids) for _ in p.legs] for _, p in planned]


__all__ = [
    "POST_BATCH_MAX",
    "RESERVE_BATCH_LINES_MAX",
    "RESERVE_BATCH_ORDERS_MAX",
    "Balance",
    "OrderLines",
    "Planned",
    "ReservedOrder",
    "lock_balances",
    "post_adjustments",
    "post_adjustments_as_one",
    "post_plans",
    "reserve_orders",
]
