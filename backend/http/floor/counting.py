"""Blind cycle count and adjustment screens (handheld)."""

from __future__ import annotations

import msgspec
from litestar import Request, get, post
from litestar.params import FromQuery
from litestar.response import Template

from backend import db
from backend.domain import counts
from backend.domain.counts.adjustments import MANUAL_REASONS
from backend.domain.errors import InvalidInput
from backend.http.floor.common import envelope, pressed, read_form, rehearse, scan_bin, scan_item, screen
from backend.http.session import actor, requires
from backend.settings import Settings
from sync.envelopes import AdjustPayload, CountPayload, FinishCountPayload


def thresholds(request: Request) -> counts.Thresholds:
    """The adjustment approval limits in force (settings), for counts, adjustments and offline scans."""
    settings: Settings = request.app.state.settings
    return counts.Thresholds(units=settings.adjust_approval_units, value_cents=settings.adjust_approval_value_cents)


class CountState(msgspec.Struct):
    task_id: int = 0
    qty: int = 0
    finish: bool = False


async def _count(request: Request, state: CountState, view: counts.CounterView | None = None, **extra) -> Template:
    """The bin's count so far: the database's, or `view` when the step shows what its envelope leads to."""
    view = view or (await counts.counter_view(state.task_id) if state.task_id else None)
    tasks = [] if view else await counts.open_count_tasks()
    prompt = f"Count {view.bin}: scan every item" if view else "Scan the bin to count"
    return screen(request, "floor/page.html", "floor/count.html", prompt, title="Count", s=state, view=view,
                  tasks=tasks, **extra)


@get("/floor/count", name="floor_count", guards=[requires("count")])
async def count_screen(request: Request, task_id: FromQuery[int] = 0) -> Template:
    """`task_id`: the bin being counted (the outbox reloads it after a counted item's answer); a count
    finished or cancelled meanwhile shows the bins to count instead."""
    view = await counts.counter_view(task_id) if task_id else None
    if view is None or view.status != "counting":
        return await _count(request, CountState())
    return await _count(request, CountState(task_id=task_id), view=view)


@post("/floor/count", name="floor_count_scan", guards=[requires("count")])
async def count_scan(request: Request) -> Template:
    """Scan the bin (starts its open task, or a new one), then each item: every scan adds its unit
    quantity; a typed quantity sets the count for the next scanned item. Expected quantities are never shown."""
    state, code, key = await read_form(request, CountState)
    who = actor(request)
    if state.task_id and state.finish:
        # Through the outbox like the counted items, so it is applied after every one of them.
        await rehearse(lambda: counts.submit_count(state.task_id, key, who, thresholds(request)))
        refresh = request.app.route_reverse("floor_count") + f"?task_id={state.task_id}"
        return await _count(request, CountState(), saving="Saving…", done=True,
                            envelope=envelope("count_finish", FinishCountPayload(task_id=state.task_id),
                                              "Count done and posted.", refresh=refresh))
    if not code:
        return await _count(request, state)
    if not state.task_id:
        return await _start(request, code, key)
    scanned = await scan_item(code)
    mode, qty = ("set", state.qty) if state.qty > 0 else ("add", 1)

    async def count_and_look() -> tuple[counts.RecordedCount, counts.CounterView]:
        recorded = await counts.record_count(state.task_id, code, qty, key, who, lot=scanned.lot, mode=mode)
        return recorded, await counts.counter_view(state.task_id)

    recorded, view = await rehearse(count_and_look)
    payload = CountPayload(task_id=state.task_id, item_code=code, qty=qty, mode=mode, lot=scanned.lot)
    # The table shows the count as it will be once the envelope is applied; on any other answer the
    # outbox reloads it from the server.
    refresh = request.app.route_reverse("floor_count") + f"?task_id={state.task_id}"
    return await _count(request, CountState(task_id=state.task_id), view=view, saving="Saving…",
                        envelope=envelope("count", payload, f"{recorded.line.sku}: {recorded.line.counted} counted",
                                          refresh=refresh))


async def _start(request: Request, code: str, key: str) -> Template:
    loc = await scan_bin(code)
    if loc is None:
        raise InvalidInput("Scan a bin label to start counting.")
    who = actor(request)

    async def open_and_start() -> int:
        task = next((t for t in await counts.open_count_tasks() if t.bin == loc.code), None)
        task_id = task.id if task else (await counts.create_count_task(loc.code, f"{key}:task", who,
                                                                        reason="exception")).task_id
        if task is None or task.status == "open":
            await counts.start_count(task_id, f"{key}:start", who)
        return task_id

    # One transaction (each command a savepoint): a task that cannot be started is not left behind.
    task_id = await db.run_in_transaction(open_and_start)
    return await _count(request, CountState(task_id=task_id), ok=f"Counting {loc.code}.")


class AdjustState(msgspec.Struct):
    bin: str = ""
    sku: str = ""
    delta: int = 0
    reason: str = ""


def _adjust(request: Request, state: AdjustState, **extra) -> Template:
    prompt = "Scan the bin" if not state.bin else ("Scan the item" if not state.sku else "Set the change and reason")
    return screen(request, "floor/page.html", "floor/adjust.html", prompt, title="Adjust", s=state,
                  reasons=MANUAL_REASONS, **extra)


@get("/floor/adjust", name="floor_adjust", guards=[requires("adjust")])
async def adjust_screen(request: Request) -> Template:
    return _adjust(request, AdjustState())


@post("/floor/adjust", name="floor_adjust_scan", guards=[requires("adjust")])
async def adjust_scan(request: Request) -> Template:
    state, code, key = await read_form(request, AdjustState)
    if code and not state.bin:
        loc = await scan_bin(code)
        if loc is None:
            raise InvalidInput("Scan a bin label first.")
        return _adjust(request, AdjustState(bin=loc.code))
    if code:
        scanned = await scan_item(code)
        return _adjust(request, msgspec.structs.replace(state, sku=scanned.item.sku))
    if await pressed(request) != "post":
        return _adjust(request, state)  # a scan or an Enter with nothing in it: only the adjust button posts
    if not (state.bin and state.sku and state.delta and state.reason):
        return _adjust(request, state, warn="Scan bin and item, set + or − units and choose a reason.")
    await rehearse(lambda: counts.request_adjustment(state.sku, state.bin, state.delta, state.reason, key,
                                                     actor(request), thresholds(request)))
    payload = AdjustPayload(sku=state.sku, location=state.bin, delta=state.delta, reason=state.reason)
    # The server's answer says whether it posted or waits for a manager (the outbox shows its reason).
    return _adjust(request, AdjustState(), saving="Saving…", done=True,
                   envelope=envelope("adjust", payload, f"Adjusted {state.sku} in {state.bin} by {state.delta:+d}."))


ROUTES = [count_screen, count_scan, adjust_screen, adjust_scan]
