"""Cycle counts on the floor: create a task, start it (snapshot), scan, submit.

Expected quantities: `start_count` records the bin as it was (`count_snapshot`); the expected
quantity a line's variance is computed from is the on-hand read at the *first scan* of that
item and lot (`count_lines.expected_qty`), or at submit for a snapshot item nobody scanned.
Why, and what gets posted: see `_settle`.

Blind count: nothing the counter's screen calls (`counter_view`, `record_count`,
`submit_count`) ever returns an expected quantity or a variance.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from backend import db
from backend.domain.auth import audit
from backend.domain.auth.audit import Actor
from backend.domain.catalog.service import ItemView, find_item, get_item, resolve_item_scan
from backend.domain.counts import _tasks
from backend.domain.counts._common import DEFAULT_THRESHOLDS, Thresholds, lot_for, now, require_counter
from backend.domain.counts._settle import settle_task
from backend.domain.counts.recounts import recount_refusal
from backend.domain.errors import AlreadyExists, InvalidInput, InvalidQuantity, SegregationOfDuties, UnknownReference
from backend.domain.idempotency import run_once, stored_as
from backend.domain.locations.service import LocationView, get_location
from backend.domain.quantities import QTY_MAX

COUNT_REASONS = ("scheduled", "recount", "short_pick", "exception", "audit")
COUNTABLE_KINDS = ("bin", "staging")
OPEN_TASKS_MAX = 500
Mode = Literal["set", "add"]


@dataclass(frozen=True, slots=True)
class CountTaskView:
    id: int
    bin: str
    item_sku: str | None
    reason: str
    status: str
    recount_of: int | None


@dataclass(frozen=True, slots=True)
class CountedLine:
    sku: str
    item_name: str
    lot: str
    counted: int


@dataclass(frozen=True, slots=True)
class CounterView:
    """What the counter's handheld shows: never an expected quantity or a variance."""

    task_id: int
    bin: str
    item_sku: str | None
    status: str
    lines: list[CountedLine]


@dataclass(frozen=True, slots=True)
class CountOutcome:
    task_id: int
    status: str
    movement_ids: list[int] = field(default_factory=list)
    recount_task_id: int | None = None
    replayed: bool = False


@dataclass(frozen=True, slots=True)
class RecordedCount:
    task_id: int
    line: CountedLine
    replayed: bool = False


async def _countable_bin(code: str) -> LocationView:
    loc = await get_location(code)
    if loc.kind not in COUNTABLE_KINDS:
        raise InvalidInput(f"{loc.code} is a {loc.kind}, not a bin. Scan the bin label.")
    return loc


async def _stock_item(sku: str) -> ItemView:
    item = await get_item(sku)
    if item.is_kit:
        raise InvalidInput(f"{item.sku} is a kit and has no stock of its own. Count its components.")
    return item


async def create_count_task(bin_code: str, key: str, actor: Actor, item_sku: str | None = None,
                            reason: str = "scheduled") -> CountOutcome:
    if reason not in COUNT_REASONS:
        raise InvalidInput(f"A count needs a reason: one of {', '.join(COUNT_REASONS)}.")
    payload = {"bin": bin_code, "item_sku": item_sku, "reason": reason}

    async def work() -> CountOutcome:
        bin_ = await _countable_bin(bin_code)
        item = await _stock_item(item_sku) if item_sku else None
        task_id = await _tasks.insert_task(bin_, item, reason, key, actor)
        await audit.record(actor, "count.created", "count_task", task_id, None,
                           {"bin": bin_.code, "item": item.sku if item else None, "reason": reason})
        return CountOutcome(task_id, "open")

    return await run_once("CountCreate", payload, key=key, actor=actor.label, work=work,
                          replay=stored_as(CountOutcome))


async def count_for_review(bin_code: str, key: str, actor: Actor) -> int | None:
    """A cycle count of the bin for a manager's exception (scan_exceptions): a new task, or the bin's live
    one (a bin has one live count at a time); None when the location cannot be counted (in transit...)."""
    try:
        return (await create_count_task(bin_code, key, actor, reason="exception")).task_id
    except AlreadyExists:
        return await _tasks.active_task_for_bin((await get_location(bin_code)).id)
    except InvalidInput:
        return None


async def open_count_tasks(limit: int = 100) -> list[CountTaskView]:
    rows = await db.fetch(
        "SELECT t.id, l.code AS bin, i.sku AS item_sku, t.reason, t.status, t.recount_of"
        " FROM count_tasks t JOIN locations l ON l.id = t.bin_id LEFT JOIN items i ON i.id = t.item_id"
        " WHERE t.status IN ('open', 'counting') ORDER BY t.id LIMIT {}",
        max(1, min(limit, OPEN_TASKS_MAX)),
    )
    return [CountTaskView(**r) for r in rows]


async def start_count(task_id: int, key: str, actor: Actor) -> CountOutcome:
    """Start counting: snapshot the bin (a record of the start; it does not size corrections)."""
    require_counter(actor)

    async def work() -> CountOutcome:
        refusal = await recount_refusal(task_id, actor)
        if refusal:
            raise SegregationOfDuties(refusal)
        # Read before the start time is taken: a movement stamped at or after started_at is numbered
        # after this read, so the approvals' index range (id > mark) misses none of them.
        mark = await db.fetch_one("SELECT COALESCE(MAX(id), 0) AS id FROM movements")
        assert mark is not None
        task = await _tasks.transition(
            task_id, "open", "status = 'counting', started_by = {}, started_by_user_id = {}, started_at = {},"
            " started_after_movement_id = {}",
            actor.label, actor.user_id, now(), mark["id"],
        )
        # One INSERT ... SELECT: the snapshot is one consistent read of the bin's balances.
        await db.fetch(
            "INSERT INTO count_snapshot (task_id, item_id, lot, expected_qty)"
            " SELECT CAST({} AS BIGINT), item_id, lot, on_hand FROM balances"
            " WHERE location_id = {} AND on_hand > 0 AND ({} = 0 OR item_id = {})",
            task_id, task["bin_id"], task["item_id"] or 0, task["item_id"] or 0,
        )
        await audit.record(actor, "count.started", "count_task", task_id, {"status": "open"}, {"status": "counting"})
        return CountOutcome(task_id, "counting")

    return await run_once("CountStart", {"task_id": task_id}, key=key, actor=actor.label, work=work,
                          replay=stored_as(CountOutcome))


async def counter_view(task_id: int) -> CounterView:
    task = await db.fetch_one(
        "SELECT t.id, l.code AS bin, i.sku AS item_sku, t.status FROM count_tasks t"
        " JOIN locations l ON l.id = t.bin_id LEFT JOIN items i ON i.id = t.item_id WHERE t.id = {}",
        task_id,
    )
    if task is None:
        raise UnknownReference(f"No count task #{task_id}. Check the task number.")
    # Only lines the counter entered: lines added at submit for uncounted snapshot items would
    # reveal what the system expected in the bin.
    rows = await db.fetch(
        "SELECT i.sku, i.name AS item_name, c.lot, c.counted_qty AS counted FROM count_lines c"
        " JOIN items i ON i.id = c.item_id WHERE c.task_id = {} AND c.entered = TRUE ORDER BY i.sku_key, c.lot",
        task_id,
    )
    return CounterView(task["id"], task["bin"], task["item_sku"], task["status"], [CountedLine(**r) for r in rows])


def _check_count_qty(qty: int, mode: str) -> int:
    if mode not in ("set", "add"):
        raise InvalidInput("Choose whether the quantity replaces the count (set) or adds to it (add).")
    if isinstance(qty, bool) or not isinstance(qty, int):
        raise InvalidQuantity(f"Quantity must be a whole number, got {qty!r}.")
    least = 1 if mode == "add" else 0
    if not least <= qty <= QTY_MAX:
        raise InvalidQuantity(f"Quantity must be {least}–{QTY_MAX:,}, got {qty}.")
    return qty


async def _scanned(code: str) -> tuple[ItemView, int, str]:
    """(item, base units per scanned unit, lot or serial carried by a GS1 scan) for a SKU or barcode."""
    if not code.strip():
        raise InvalidInput("Scan the item or type its SKU.")
    item = await find_item(code)
    if item is not None:
        return item, 1, ""
    scan = await resolve_item_scan(code)
    return scan.item, scan.factor * scan.count, scan.lot or scan.serial


async def _line_identity(task: dict[str, Any], code: str, lot: str) -> tuple[ItemView, int, str]:
    item, per_unit, scanned_lot = await _scanned(code)
    if item.is_kit:
        raise InvalidInput(f"{item.sku} is a kit and has no stock of its own. Count its components.")
    if task["item_id"] is not None and item.id != task["item_id"]:
        raise InvalidInput(f"This count is only for one item, not {item.sku}. Scan the item on the task.")
    if lot.strip() and scanned_lot and lot.strip() != scanned_lot:
        raise InvalidInput(f"The label says lot {scanned_lot} but {lot.strip()} was entered. Check the lot.")
    return item, per_unit, lot_for(item, lot or scanned_lot)


async def _on_hand_now(bin_id: int, item_id: int, lot: str) -> int:
    # FOR SHARE (Postgres): a ledger command changing this balance right now commits first and
    # we read its result (the stock it records as moved had physically gone before the scan).
    # SQLite already holds the database write lock (BEGIN IMMEDIATE).
    lock = " FOR SHARE" if db.is_postgres() else ""
    row = await db.fetch_one(
        "SELECT on_hand FROM balances WHERE item_id = {} AND location_id = {} AND lot = {}" + lock,
        item_id, bin_id, lot,
    )
    return int(row["on_hand"]) if row else 0


async def _upsert_line(task: dict[str, Any], item: ItemView, lot: str, qty: int, mode: Mode) -> int:
    """Add the scan to its line; the line's first scan also fixes its expected quantity.

    The expected quantity is written on insert only: later scans of the line keep the one
    captured when the count of this item started (see `_settle`).
    """
    expected = await _on_hand_now(task["bin_id"], item.id, lot)
    new_qty = "count_lines.counted_qty + excluded.counted_qty" if mode == "add" else "excluded.counted_qty"
    row = await db.fetch_one(
        "INSERT INTO count_lines (task_id, item_id, lot, counted_qty, expected_qty, entered, counted_at, status)"
        " VALUES ({}, {}, {}, {}, {}, {}, {}, 'counted') ON CONFLICT (task_id, item_id, lot) DO UPDATE SET"
        f" counted_qty = {new_qty}, counted_at = excluded.counted_at RETURNING counted_qty",
        task["id"], item.id, lot, qty, expected, True, now(),
    )
    assert row is not None
    counted = int(row["counted_qty"])
    if counted > QTY_MAX:
        raise InvalidQuantity(f"{counted:,} is more than the {QTY_MAX:,} a count line can hold.")
    if item.serial_tracked and counted > 1:
        raise InvalidInput(f"{item.sku} is serial tracked: each serial number is there once or not at all.")
    return counted


async def record_count(task_id: int, sku_or_barcode: str, qty: int, key: str, actor: Actor, lot: str = "",
                       mode: Mode = "set") -> RecordedCount:
    """Counted quantity of one item (and lot): `set` replaces the line's count, `add` adds to it.

    `qty` is in the scanned unit: one scan of a case barcode with qty 1 counts 24 each.
    The first scan of an (item, lot) in the task captures its current on-hand as the line's
    expected quantity, in this transaction; it is never returned to the counter.
    """
    require_counter(actor)
    _check_count_qty(qty, mode)
    payload = {"task_id": task_id, "code": sku_or_barcode, "qty": qty, "lot": lot, "mode": mode}

    async def work() -> RecordedCount:
        task = await _tasks.transition(task_id, "counting", "status = status")
        item, per_unit, lot_ = await _line_identity(task, sku_or_barcode, lot)
        base = qty * per_unit
        await db.fetch(
            "INSERT INTO count_entries (command_key, task_id, item_id, lot, qty, mode, counted_by,"
            " counted_by_user_id, device, created_at) VALUES ({}, {}, {}, {}, {}, {}, {}, {}, {}, {})",
            key, task_id, item.id, lot_, base, mode, actor.label, actor.user_id, actor.device, now(),
        )
        counted = await _upsert_line(task, item, lot_, base, mode)
        await audit.record(actor, "count.recorded", "count_task", task_id, None,
                           {"sku": item.sku, "lot": lot_, "qty": base, "mode": mode, "counted": counted})
        return RecordedCount(task_id, CountedLine(item.sku, item.name, lot_, counted))

    return await run_once("CountRecord", payload, key=key, actor=actor.label, work=work,
                          replay=stored_as(RecordedCount))


async def check_count(task_id: int, sku_or_barcode: str, qty: int, actor: Actor, lot: str = "",
                      mode: Mode = "set") -> tuple[CounterView, CountedLine]:
    """What `record_count` refuses, with reads only, and the count (and the scanned item's line) as they
    read once the scan is recorded (the handheld shows them while the step is sent)."""
    require_counter(actor)
    _check_count_qty(qty, mode)
    task = await _tasks.in_state(task_id, "counting")
    item, per_unit, lot_ = await _line_identity(task, sku_or_barcode, lot)
    view = await counter_view(task_id)
    base = qty * per_unit
    before = next((li for li in view.lines if (li.sku, li.lot) == (item.sku, lot_)), None)
    counted = base if mode == "set" or before is None else before.counted + base
    line = CountedLine(item.sku, item.name, lot_, counted)
    lines = sorted([li for li in view.lines if li is not before] + [line], key=lambda li: (li.sku.casefold(), li.lot))
    return CounterView(view.task_id, view.bin, view.item_sku, view.status, lines), line


async def check_submit(task_id: int, actor: Actor) -> None:
    """What `submit_count` refuses before it settles anything, with reads only."""
    require_counter(actor)
    await _tasks.in_state(task_id, "counting")


def _unscanned_sql(join: Literal["JOIN", "LEFT JOIN"]) -> str:
    """FROM/WHERE of the snapshot items without a line, with their balance; args: bin id, task id."""
    return (
        f" FROM count_snapshot s {join} balances b ON b.item_id = s.item_id AND b.lot = s.lot AND b.location_id = {{}}"
        " WHERE s.task_id = {} AND NOT EXISTS (SELECT 1 FROM count_lines c"
        " WHERE c.task_id = s.task_id AND c.item_id = s.item_id AND c.lot = s.lot)"
    )


async def _fill_uncounted(task_id: int, bin_id: int) -> None:
    """Snapshot items nobody scanned were not found: counted 0 against their on-hand now.

    Their count "starts" at submit, so what is written off is what the ledger holds now, not
    what the snapshot held (stock that left since the start has already been accounted for).
    """
    if db.is_postgres():
        # As for a first scan, wait for ledger commands changing these balances; lock order.
        await db.fetch(
            "SELECT b.id" + _unscanned_sql("JOIN") + " ORDER BY b.item_id, b.lot FOR SHARE OF b",
            bin_id, task_id,
        )
    await db.fetch(
        "INSERT INTO count_lines (task_id, item_id, lot, counted_qty, expected_qty, entered, status)"
        " SELECT s.task_id, s.item_id, s.lot, 0, COALESCE(b.on_hand, 0), FALSE, 'counted'"
        + _unscanned_sql("LEFT JOIN"),
        bin_id, task_id,
    )


async def submit_count(task_id: int, key: str, actor: Actor,
                       thresholds: Thresholds = DEFAULT_THRESHOLDS) -> CountOutcome:
    """Finish counting: small variances post now (count_correction), larger ones wait for a manager.

    Each line's variance is counted − expected at its first scan, applied to the current balance.
    """
    require_counter(actor)
    payload = {"task_id": task_id, "units": thresholds.units, "value_cents": thresholds.value_cents}

    async def work() -> CountOutcome:
        task = await _tasks.transition(
            task_id, "counting", "submitted_by = {}, submitted_by_user_id = {}, submitted_at = {}",
            actor.label, actor.user_id, now(),
        )
        await _fill_uncounted(task_id, task["bin_id"])
        settled = await settle_task(task_id, task["bin_id"], ("counted",), thresholds, key, actor)
        status = "pending_approval" if settled.waiting else "completed"
        await _tasks.set_status(task_id, status)
        await audit.record(actor, "count.submitted", "count_task", task_id, {"status": "counting"},
                           {"status": status, "lines": settled.lines, "movement_ids": settled.movement_ids})
        return CountOutcome(task_id, status, settled.movement_ids)

    return await run_once("CountSubmit", payload, key=key, actor=actor.label, work=work,
                          replay=stored_as(CountOutcome))
