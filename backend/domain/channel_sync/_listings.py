"""The channel's listings: its stocked SKUs as read from its API, the Stockline item each stands for, and
the quantity the channel holds as far as Stockline knows (`channel_qty`).

A listing names an item the way an order line does (`channels.resolve_lines`): a SKU mapping of the
channel's SKU, then of its variant id, then a Stockline item with the same SKU (kits included: their
stock comes from their components). A listing mapped as dropship is not Stockline's stock to offer.
A listing with a `problem` (not stocked at the location, refused, gone from the channel) is not pushed
until a later read clears it.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable
from datetime import UTC, datetime
from typing import TypeVar

from backend import db
from backend.domain.catalog.service import sku_key
from backend.domain.channel_sync._api import ChannelApi, RemoteLevel, Update

UPSERT_ROWS_MAX = 400  # 8 values a row: far below either database's limit of bound values
LISTING_PAGES_MAX = 10_000
NOT_STOCKED = "not stocked at this location on the channel"
GONE = "no longer on the channel"
T = TypeVar("T")


def _chunks(rows: list[T], size: int) -> Iterable[list[T]]:
    for start in range(0, len(rows), size):
        yield rows[start:start + size]


async def store_levels(channel_id: int, levels: list[RemoteLevel], read_at: datetime) -> None:
    """Upsert listings as the channel showed them: what it holds becomes what Stockline believes it holds."""
    for chunk in _chunks(levels, UPSERT_ROWS_MAX):
        values = ", ".join("({}, {}, {}, {}, {}, {}, {}, {}, {})" for _ in chunk)
        args: list[object] = []
        for lv in chunk:
            args += [channel_id, lv.remote_id, lv.sku, sku_key(lv.sku) if lv.sku else "", lv.variant_ref, lv.qty,
                     lv.qty, read_at, "" if lv.qty is not None else NOT_STOCKED]
        await db.fetch(
            "INSERT INTO channel_listings (channel_id, remote_id, channel_sku, sku_key, variant_ref, read_qty,"
            f" channel_qty, read_at, problem) VALUES {values} ON CONFLICT (channel_id, remote_id) DO UPDATE SET"
            " channel_sku = excluded.channel_sku, sku_key = excluded.sku_key, variant_ref = excluded.variant_ref,"
            " read_qty = excluded.read_qty, channel_qty = excluded.channel_qty, read_at = excluded.read_at,"
            " problem = excluded.problem", *args)


async def read_all_levels(api: ChannelApi, channel_id: int,
                          on_page: Callable[[int], Awaitable[None]] | None = None) -> int:
    """Read every page of the channel's stock levels into listings; listings the channel no longer
    shows are marked gone. Returns how many listings the channel showed."""
    started = datetime.now(UTC)
    cursor: str | None = None
    seen = 0
    for _ in range(LISTING_PAGES_MAX):
        levels, cursor = await api.read_levels(cursor)
        await store_levels(channel_id, levels, datetime.now(UTC))
        seen += len(levels)
        if on_page is not None:
            await on_page(seen)
        if cursor is None:
            break
    await db.fetch("UPDATE channel_listings SET problem = {}"
                   " WHERE channel_id = {} AND (read_at IS NULL OR read_at < {})",
                   GONE, channel_id, started)
    await resolve_items(channel_id)
    return seen


async def resolve_items(channel_id: int, *, unresolved_only: bool = False) -> None:
    """Name the Stockline item of each listing (set-based: two statements for the whole channel)."""
    only = " AND item_id IS NULL" if unresolved_only else ""
    await db.fetch(
        "UPDATE channel_listings SET item_id = COALESCE("
        "(SELECT m.item_id FROM channel_sku_mappings m WHERE m.channel_id = channel_listings.channel_id"
        "  AND channel_listings.channel_sku <> '' AND m.channel_ref = channel_listings.channel_sku AND NOT m.dropship),"
        "(SELECT m.item_id FROM channel_sku_mappings m WHERE m.channel_id = channel_listings.channel_id"
        "  AND channel_listings.variant_ref <> '' AND m.channel_ref = 'variant:' || channel_listings.variant_ref"
        "  AND NOT m.dropship),"
        "(SELECT i.id FROM items i WHERE channel_listings.sku_key <> '' AND i.sku_key = channel_listings.sku_key"
        "  AND i.active AND NOT EXISTS (SELECT 1 FROM channel_sku_mappings d WHERE d.channel_id ="
        "  channel_listings.channel_id AND d.dropship AND d.channel_ref IN (channel_listings.channel_sku,"
        "  'variant:' || channel_listings.variant_ref))))"
        f" WHERE channel_id = {{}}{only}", channel_id)


async def record_accepted(accepted: list[Update]) -> None:
    """The channel now holds these quantities (one statement per batch)."""
    if not accepted:
        return
    cases = " ".join("WHEN {} THEN CAST({} AS BIGINT)" for _ in accepted)
    ids = ", ".join("{}" for _ in accepted)
    args: list[object] = [v for u in accepted for v in (u.listing_id, u.qty)]
    now = datetime.now(UTC)
    await db.fetch(
        f"UPDATE channel_listings SET channel_qty = CASE id {cases} END, pushed_qty = CASE id {cases} END,"
        f" pushed_at = {{}} WHERE id IN ({ids})", *args, *args, now, *[u.listing_id for u in accepted])


async def record_read(quantities: dict[int, int | None]) -> None:
    """What the channel holds now, read back after it refused a stale compare (listing id → quantity)."""
    now = datetime.now(UTC)
    for listing_id, qty in sorted(quantities.items()):
        await db.fetch("UPDATE channel_listings SET channel_qty = {}, read_qty = {}, read_at = {}, problem = {}"
                       " WHERE id = {}", qty, qty, now, NOT_STOCKED if qty is None else "", listing_id)


async def record_refused(refused: list[tuple[Update, str]]) -> None:
    for update, reason in refused:
        await db.fetch("UPDATE channel_listings SET problem = {} WHERE id = {}", f"refused: {reason}"[:300],
                       update.listing_id)
