"""Push available-to-sell to the channels: only what changed, batched, within each channel's rate.

For each connected channel (concurrently; one run per channel at a time, by its lease):
1. the first time, read the channel's listings (what it holds becomes what Stockline believes it holds);
2. compute available-to-sell for every listing (one query) and keep those that differ from the
   quantity the channel holds as far as Stockline knows (`channel_qty`);
3. send them in batches of the channel's size, each quantity with the channel's current value to
   compare against where the channel has compare-and-set; record what the channel accepted (the new
   `channel_qty`), read back what it refused as stale (the next run compares against that), and set
   aside what it refused outright.
A run stops at its deadline; what is left is still different and goes in the next run. Running it
twice sends nothing twice: the second run finds nothing different.
The drift check (`check_stock`) reads every level first, then sends the differences the same way.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass, field
from typing import Any

import structlog

from backend import db
from backend.domain.channel_sync._api import ChannelApi, Update, api_for
from backend.domain.channel_sync._ats import (
    StockCache,
    available_to_sell,
    listing_availability,
)
from backend.domain.channel_sync._connections import (
    Connection,
    active_connections,
    claim_channel,
    release_channel,
    stamp,
)
from backend.domain.channel_sync._http import ChannelRefused, ChannelUnavailable
from backend.domain.channel_sync._listings import (
    read_all_levels,
    record_accepted,
    record_read,
    record_refused,
    resolve_items,
)

log = structlog.get_logger("stockline.channels")
LEASE_S = 120  # renewed after every batch; a run that died frees its channel this long after its last batch
DRIFT_EXAMPLES_MAX = 5
ProgressFn = Callable[[int, int, str], Awaitable[None]]


@dataclass(slots=True)
class ChannelRun:
    """What one run did on one channel."""

    channel: str
    listed: int = 0  # listings read from the channel in this run
    changed: int = 0  # listings whose available-to-sell differed from what the channel holds
    sent: int = 0  # quantities sent (a quantity sent again after a stale refusal counts again)
    accepted: int = 0
    stale: int = 0
    refused: int = 0
    left: int = 0  # not sent before the run's deadline: the next run sends them
    requests: int = 0
    throttled: int = 0
    retried: int = 0
    drifted: int = 0  # drift check: listings whose channel quantity was not what it should be
    examples: list[str] = field(default_factory=list)
    skipped: str = ""
    error: str = ""
    seconds: float = 0.0


@dataclass(slots=True)
class SyncReport:
    runs: list[ChannelRun]

    @property
    def unavailable(self) -> list[ChannelRun]:
        """Channels that did not answer usefully: the job tries again later."""
        return [r for r in self.runs if r.error and not r.error.startswith("refused:")]

    def counts(self) -> dict[str, Any]:
        keys = ("changed", "sent", "accepted", "stale", "refused", "left", "requests", "throttled", "retried",
                "listed", "drifted")
        totals: dict[str, Any] = {"channels": len(self.runs)}
        totals.update({k: sum(getattr(r, k) for r in self.runs) for k in keys})
        problems = [f"{r.channel}: {r.error or r.skipped}" for r in self.runs if r.error or r.skipped]
        if problems:
            totals["problems"] = "; ".join(problems)[:500]
        examples = [e for r in self.runs for e in r.examples][:DRIFT_EXAMPLES_MAX]
        if examples:
            totals["examples"] = "; ".join(examples)
        return totals

    def as_dict(self) -> dict[str, Any]:
        return {"runs": [asdict(r) for r in self.runs]}


class _Tracker:
    """Progress summed over the channels a run works on at once."""

    def __init__(self, progress: ProgressFn | None, note: str) -> None:
        self.progress, self.note = progress, note
        self.done = self.total = self.read = 0

    async def add(self, *, done: int = 0, total: int = 0, read: int = 0) -> None:
        self.done += done
        self.total += total
        self.read += read
        if self.progress is not None:
            note = f"{self.note} ({self.read:,} listings read)" if self.read else self.note
            await self.progress(self.done, self.total, note)


async def _differences(connection: Connection, api: ChannelApi, cache: StockCache) -> list[Update]:
    out = []
    for row in await listing_availability(connection.channel_id, cache=cache):
        if row.channel_qty is None and api.compare_and_set:
            continue  # nothing to compare against: the next read of the channel fills it in
        want = available_to_sell(row.available, connection.rule)
        if want != row.channel_qty:
            out.append(Update(row.listing_id, row.remote_id, want, row.channel_qty))
    return out


async def _send(api: ChannelApi, connection: Connection, updates: list[Update], run: ChannelRun, owner: str,
                deadline: float, tracker: _Tracker) -> None:
    for start in range(0, len(updates), api.batch_max):
        batch = updates[start:start + api.batch_max]
        if time.monotonic() >= deadline:
            run.left += len(updates) - start
            return
        outcome = await api.set_quantities(batch)
        run.sent += len(batch)
        run.accepted += len(outcome.accepted)
        run.stale += len(outcome.stale)
        run.refused += len(outcome.refused)
        await record_accepted(outcome.accepted)
        if outcome.stale:
            held = await api.read_quantities([u.remote_id for u in outcome.stale])
            await record_read({u.listing_id: held.get(u.remote_id) for u in outcome.stale})
        await record_refused(outcome.refused)
        await claim_channel(connection.channel_id, owner, LEASE_S)  # still ours: extend it
        await tracker.add(done=len(batch))


async def _on_channel(connection: Connection, owner: str, deadline: float, tracker: _Tracker, cache: StockCache, *,
                      check: bool) -> ChannelRun:
    run = ChannelRun(connection.slug)
    started = time.monotonic()
    if not await claim_channel(connection.channel_id, owner, LEASE_S):
        run.skipped = "another run is syncing this channel"
        return run
    api = api_for(connection, deadline=deadline)
    try:
        if check or connection.listed_at is None:
            seen = [0]

            async def on_page(count: int) -> None:  # a first listing of 100,000 SKUs takes a while: show it
                await tracker.add(read=count - seen[0])
                seen[0] = count

            run.listed = await read_all_levels(api, connection.channel_id, on_page)
            await stamp(connection.channel_id, "listed_at")
        else:
            await resolve_items(connection.channel_id, unresolved_only=True)
        updates = await _differences(connection, api, cache)
        run.changed = len(updates)
        if check:
            run.drifted = len(updates)
            run.examples = await _examples(connection, updates)
        await tracker.add(total=len(updates))
        await _send(api, connection, updates, run, owner, deadline, tracker)
        await stamp(connection.channel_id, "checked_at" if check else "pushed_at")
    except ChannelUnavailable as exc:
        run.error = str(exc)
    except ChannelRefused as exc:
        run.error = f"refused: {exc.message}"
    finally:
        run.requests, run.throttled, run.retried = api.traffic.requests, api.traffic.throttled, api.traffic.retried
        run.seconds = round(time.monotonic() - started, 3)
        await api.aclose()
        await release_channel(connection.channel_id, owner)
    log.info("channel.synced", channel=connection.slug, check=check, changed=run.changed, sent=run.sent,
             accepted=run.accepted, stale=run.stale, refused=run.refused, left=run.left, requests=run.requests,
             throttled=run.throttled, seconds=run.seconds, error=run.error or None)
    return run


async def _examples(connection: Connection, updates: list[Update]) -> list[str]:
    shown = updates[:DRIFT_EXAMPLES_MAX]
    if not shown:
        return []
    marks = ", ".join("{}" for _ in shown)
    rows = await db.fetch(f"SELECT id, channel_sku FROM channel_listings WHERE id IN ({marks})",
                          *[u.listing_id for u in shown])
    skus = {r["id"]: r["channel_sku"] or "?" for r in rows}
    return [f"{connection.slug} {skus.get(u.listing_id, '?')}: had {u.compare}, should have {u.qty}" for u in shown]


async def _run(*, owner: str, run_s_max: float, progress: ProgressFn | None, check: bool,
               channel_ids: list[int] | None) -> SyncReport:
    deadline = time.monotonic() + run_s_max
    connections = [c for c in await active_connections(pushing=True)
                   if channel_ids is None or c.channel_id in channel_ids]
    tracker = _Tracker(progress, "listings checked" if check else "quantities sent")
    cache: StockCache = {}  # one read of the stock per set of warehouses
    runs = await asyncio.gather(*(_on_channel(c, owner, deadline, tracker, cache, check=check) for c in connections))
    return SyncReport(list(runs))


async def push_stock(*, owner: str, run_s_max: float, progress: ProgressFn | None = None,
                     channel_ids: list[int] | None = None) -> SyncReport:
    """Send every channel the available-to-sell quantities that changed since they last took one."""
    return await _run(owner=owner, run_s_max=run_s_max, progress=progress, check=False, channel_ids=channel_ids)


async def check_stock(*, owner: str, run_s_max: float, progress: ProgressFn | None = None,
                      channel_ids: list[int] | None = None) -> SyncReport:
    """Read every level the channels hold, compare with available-to-sell, correct and report the drift."""
    return await _run(owner=owner, run_s_max=run_s_max, progress=progress, check=True, channel_ids=channel_ids)
