"""Blind cycle count and adjustment screens (handheld)."""

from __future__ import annotations

import json
from typing import Any

import msgspec
from litestar import get, post
from litestar.params import FromQuery
from litestar.response import Template

from backend import db
from backend.domain import counts, scans
from backend.domain.catalog.service import get_item
from backend.domain.counts.adjustments import MANUAL_REASONS
from backend.domain.errors import InvalidInput, InvalidQuantity
from backend.domain.idempotency import derived_key
from backend.domain.ledger import queries
from backend.domain.locations.service import (
    find_by_barcode,
    find_location,
    get_location,
)
from backend.http.connection import AppRequest, settings_of
from backend.http.floor.common import (
    UNDO_DEPTH_MAX,
    Step,
    check_line_qty,
    check_scan_qty,
    envelope,
    find_scanned_item,
    forget,
    needs_confirming,
    read_step,
    remember,
    scan_bin,
    screen,
    take_back,
    unknown_code,
)
from backend.http.session import actor, requires


def thresholds(request: AppRequest) -> counts.Thresholds:
    """The adjustment approval limits in force (settings), for counts, adjustments and offline scans."""
    return counts.Thresholds.from_settings(settings_of(request))


class CountState(msgspec.Struct):
    task_id: int = 0
    qty: int = 0
    finish: bool = False


class CountBack(msgspec.Struct):
    """What Undo last scan puts back on a count: the item's count before the last scan."""

    task_id: int
    sku: str
    lot: str
    counted: int


async def _count(request: AppRequest, state: CountState, view: counts.CounterView | None = None, undo: str = "",
                 **extra: Any) -> Template:
    """The bin's count so far: the database's, or `view` when the step shows what its envelope leads to."""
    view = view or (await counts.counter_view(state.task_id) if state.task_id else None)
    tasks = [] if view else await counts.open_count_tasks()
    prompt = f"Count {view.bin}: scan every item" if view else "Scan the bin to count"
    return screen(request, "floor/page.html", "floor/count.html", prompt, title="Count", s=state, view=view,
                  tasks=tasks, undo=undo if view else "", cancellable=view is not None,
                  cancel_label="Leave this count", **extra)


@get("/floor/count", name="floor_count", guards=[requires("count")])
async def count_screen(request: AppRequest, task_id: FromQuery[int] = 0) -> Template:
    """`task_id`: the bin being counted (the outbox reloads it after a counted item's answer); a count
    finished or cancelled meanwhile shows the bins to count instead."""
    view = await counts.counter_view(task_id) if task_id else None
    if view is None or view.status != "counting":
        return await _count(request, CountState())
    return await _count(request, CountState(task_id=task_id), view=view)


@post("/floor/count", name="floor_count_scan", guards=[requires("count")])
async def count_scan(request: AppRequest) -> Template:
    """Scan the bin (starts its open task, or a new one), then each item: every scan adds its unit
    quantity; a typed quantity sets the count for the next scanned item. Expected quantities are never shown."""
    step = await read_step(request, CountState)
    state, code, key = step.state, step.code, step.key
    who = actor(request)
    if state.task_id and step.action == "cancel":
        view = await counts.counter_view(state.task_id)
        return await _count(request, CountState(), warn=f"Left the count of {view.bin}: what you counted is kept. "
                                                        f"Scan {view.bin} to go on.")
    if state.task_id and step.action == "undo":
        return await _count_undo(request, step)
    if state.task_id and state.finish:
        # Through the outbox like the counted items, so it is applied after every one of them.
        finish = scans.FinishCount(task_id=state.task_id)
        await scans.check_finish_count(finish, who)
        refresh = request.app.route_reverse("floor_count") + f"?task_id={state.task_id}"
        return await _count(request, CountState(), saving="Saving…", done=True,
                            envelope=envelope("count_finish", finish, "Count done and posted.", refresh=refresh))
    check_scan_qty(request, state.qty, "Count")
    if not code:
        if not state.task_id:
            return await _count(request, state, warn="Scan the bin to count.")
        said = f"The next item you scan counts as {state.qty}." if state.qty > 0 else "Each scan adds its units."
        return await _count(request, state, undo=forget(step), ok=f"{said} Scan the item.")
    if not state.task_id:
        return await _start(request, code, key)
    scanned = await find_scanned_item(code)
    if scanned is None:
        loc = await find_by_barcode(code) or await find_location(code)
        view = await counts.counter_view(state.task_id)
        if loc is not None:
            raise InvalidInput(f"That is {loc.code}: you are counting {view.bin}. Scan its items, or finish it first.")
        raise InvalidInput(unknown_code(code))
    mode: counts.Mode = "set" if state.qty > 0 else "add"
    qty = state.qty if state.qty > 0 else 1

    before = await counts.counter_view(state.task_id)
    step_made = scans.Count(task_id=state.task_id, item_code=code, qty=qty, mode=mode)
    view, line = await scans.check_count(step_made, who)  # the count as it reads once the envelope is applied
    had = next((li.counted for li in before.lines if (li.sku, li.lot) == (line.sku, line.lot)), 0)
    back = CountBack(task_id=state.task_id, sku=line.sku, lot=line.lot, counted=had)
    undo = json.dumps([*step.history, msgspec.json.encode(back).decode()][-UNDO_DEPTH_MAX:])
    # The table shows the count as it will be once the envelope is applied; on any other answer the
    # outbox reloads it from the server.
    refresh = request.app.route_reverse("floor_count") + f"?task_id={state.task_id}"
    return await _count(request, CountState(task_id=state.task_id), view=view, undo=undo, saving="Saving…",
                        envelope=envelope("count", step_made, f"{line.sku}: {line.counted} counted", refresh=refresh))


async def _count_undo(request: AppRequest, step: Step[CountState]) -> Template:
    """Undo last scan: the item's count goes back to what it was before (a `set` count, sent like any)."""
    taken = take_back(step, CountBack)
    if taken is None or taken[0].task_id != step.state.task_id:
        return await _count(request, step.state, warn="Nothing to undo on this count.")
    back, undo = taken
    assert isinstance(back, CountBack)
    step_made = scans.Count(task_id=back.task_id, item_code=back.sku, qty=back.counted, mode="set", lot=back.lot)
    view, _ = await scans.check_count(step_made, actor(request))
    refresh = request.app.route_reverse("floor_count") + f"?task_id={back.task_id}"
    return await _count(request, CountState(task_id=back.task_id), view=view, undo=undo, saving="Saving…",
                        envelope=envelope("count", step_made,
                                          f"Took back the last scan: {back.sku} {back.counted} counted",
                                          refresh=refresh))


async def _start(request: AppRequest, code: str, key: str) -> Template:
    loc = await scan_bin(code)
    if loc is None:
        raise InvalidInput("Scan a bin label to start counting." if await find_scanned_item(code)
                           else unknown_code(code))
    who = actor(request)

    async def open_and_start() -> int:
        task = next((t for t in await counts.open_count_tasks() if t.bin == loc.code), None)
        task_id = task.id if task else (await counts.create_count_task(loc.code, derived_key(key, "task"), who,
                                                                        reason="exception")).task_id
        if task is None or task.status == "open":
            await counts.start_count(task_id, derived_key(key, "start"), who)
        return task_id

    # One transaction (each command a savepoint): a task that cannot be started is not left behind.
    task_id = await db.run_in_transaction(open_and_start)
    return await _count(request, CountState(task_id=task_id), ok=f"Counting {loc.code}.")


class AdjustState(msgspec.Struct):
    bin: str = ""
    sku: str = ""
    item_code: str = ""  # the item's code as scanned (the step's envelope carries it)
    delta: int = 0
    reason: str = ""
    confirm: str = ""  # "SKU|DELTA" once a large change was asked for once


async def _on_hand(sku: str, bin_code: str) -> int:
    item, loc = await get_item(sku), await get_location(bin_code)
    rows = await queries.balances(item_id=item.id, location_id=loc.id)
    return sum(r.on_hand for r in rows)


async def _adjust(request: AppRequest, state: AdjustState, undo: str = "", **extra: Any) -> Template:
    if not state.bin:
        prompt = "Scan the bin"
    elif not state.sku:
        prompt = "Scan the item"
    else:
        prompt = "Set the change and reason"
    on_hand = await _on_hand(state.sku, state.bin) if state.sku and state.bin else None
    return screen(request, "floor/page.html", "floor/adjust.html", prompt, title="Adjust", s=state,
                  reasons=MANUAL_REASONS, on_hand=on_hand, undo=undo, cancellable=bool(state.bin), **extra)


@get("/floor/adjust", name="floor_adjust", guards=[requires("adjust")])
async def adjust_screen(request: AppRequest) -> Template:
    return await _adjust(request, AdjustState())


@post("/floor/adjust", name="floor_adjust_scan", guards=[requires("adjust")])
async def adjust_scan(request: AppRequest) -> Template:
    step = await read_step(request, AdjustState)
    state, code = step.state, step.code
    if step.action == "cancel":
        return await _adjust(request, AdjustState(), warn="Cancelled: nothing was adjusted.")
    if step.action == "undo":
        back = take_back(step, AdjustState)
        if back is None:
            return await _adjust(request, state, warn="Nothing to undo: no scan waits to be sent.")
        return await _adjust(request, back[0], back[1], ok="Took back the last scan.")
    if code:
        return await _adjust_scan_code(request, step)
    if step.action != "post":  # an Enter in the change field: only the adjust button posts
        missing = _adjust_missing(state)
        return await _adjust(request, state, forget(step), warn=missing) if missing else await _adjust(
            request, state, forget(step), ok=f"{state.delta:+d} {state.sku}. Tap Adjust stock to send it.")
    missing = _adjust_missing(state)
    if missing:
        return await _adjust(request, state, forget(step), warn=missing)
    return await _adjust_post(request, step)


def _adjust_missing(state: AdjustState) -> str:
    if not state.bin:
        return "Scan the bin."
    if not state.sku:
        return "Scan the item."
    if not state.delta:
        return "Type the units to add (+) or remove (−)."
    if not state.reason:
        return "Choose a reason."
    return ""


async def _adjust_scan_code(request: AppRequest, step: Step[AdjustState]) -> Template:
    state, code = step.state, step.code
    loc = await find_by_barcode(code) or await find_location(code)
    scanned = None if loc else await find_scanned_item(code)
    if loc is None and scanned is None:
        raise InvalidInput(unknown_code(code))
    if not state.bin:
        if loc is None or not loc.holds_stock:
            raise InvalidInput("Scan a bin label first." if loc is None else f"{loc.code} is a {loc.kind}: scan a bin.")
        return await _adjust(request, AdjustState(bin=loc.code), remember(step), ok=f"{loc.code}. Scan the item.")
    if loc is not None:
        raise InvalidInput(f"You are adjusting in {state.bin}. Tap Cancel to adjust in {loc.code} instead.")
    assert scanned is not None
    if state.sku and scanned.item.sku != state.sku:
        raise InvalidInput(f"You are adjusting {state.sku}. Send that, or tap Cancel, "
                           f"before scanning {scanned.item.sku}.")
    if state.sku:
        return await _adjust(request, state, forget(step),
                             ok=f"Still {state.sku}. Type the change and choose a reason.")
    new = msgspec.structs.replace(state, sku=scanned.item.sku, item_code=code)
    on_hand = await _on_hand(new.sku, new.bin)
    return await _adjust(request, new, remember(step),
                         ok=f"{new.sku}: {on_hand} on hand in {new.bin}. Type the change and choose a reason.")


async def _adjust_post(request: AppRequest, step: Step[AdjustState]) -> Template:
    state = step.state
    check_line_qty(request, abs(state.delta), state.sku)
    on_hand = await _on_hand(state.sku, state.bin)
    if state.delta < 0 and -state.delta > on_hand:
        raise InvalidQuantity(f"Only {on_hand} {state.sku} on hand in {state.bin}: you can remove at most {on_hand}.")
    target = f"{state.sku}|{state.delta}"
    if needs_confirming(request, abs(state.delta), target, state.confirm):
        return await _adjust(request, msgspec.structs.replace(state, confirm=target), forget(step),
                             warn=f"{state.delta:+,d} {state.sku} is a large change. "
                                  "Check it, then tap Adjust stock again.")
    step_made = scans.Adjust(bin=state.bin, item_code=state.item_code or state.sku, delta=state.delta,
                             reason=state.reason)
    await scans.check_adjust(step_made)
    # The server's answer says whether it posted or waits for a manager (the outbox shows its reason).
    return await _adjust(request, AdjustState(), saving="Saving…", done=True,
                         envelope=envelope("adjust", step_made,
                                           f"Adjusted {state.sku} in {state.bin} by {state.delta:+d}."))


ROUTES = [count_screen, count_scan, adjust_screen, adjust_scan]
