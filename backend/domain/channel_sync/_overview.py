"""What the Jobs screen shows per connected channel: listings, what is not pushed and why, when it was
last listed, pushed and checked, and shipments still waiting for the channel to accept them."""

from __future__ import annotations

from datetime import datetime
from urllib.parse import urlsplit

import msgspec

from backend import db
from backend.domain.channel_sync._ats import StockRule


class SyncOverview(msgspec.Struct, frozen=True):
    slug: str
    kind: str
    host: str
    rule: str
    push_stock: bool
    confirm_shipments: bool
    listings: int
    unmapped: int  # listings no Stockline item stands for
    problems: int  # listings not pushed (not stocked at the location, refused, gone)
    listed_at: datetime | None
    pushed_at: datetime | None
    checked_at: datetime | None
    confirmations_waiting: int
    last_confirm_error: str


async def sync_overview() -> list[SyncOverview]:
    rows = await db.fetch(
        "SELECT c.slug, c.kind, cc.api_url, cc.buffer_units, cc.buffer_pct, cc.share_pct, cc.push_stock,"
        " cc.confirm_shipments, cc.listed_at, cc.pushed_at, cc.checked_at,"
        " (SELECT COUNT(*) FROM channel_listings l WHERE l.channel_id = c.id) AS listings,"
        " (SELECT COUNT(*) FROM channel_listings l WHERE l.channel_id = c.id AND l.item_id IS NULL) AS unmapped,"
        " (SELECT COUNT(*) FROM channel_listings l WHERE l.channel_id = c.id AND l.problem <> '') AS problems,"
        " (SELECT COUNT(*) FROM channel_confirmations f WHERE f.channel_id = c.id AND f.status = 'pending')"
        "   AS confirmations_waiting,"
        " COALESCE((SELECT f.last_error FROM channel_confirmations f WHERE f.channel_id = c.id"
        "   AND f.status = 'pending' AND f.last_error <> '' ORDER BY f.next_attempt_at DESC LIMIT 1), '')"
        "   AS last_confirm_error"
        " FROM channel_connections cc JOIN channels c ON c.id = cc.channel_id ORDER BY c.priority, c.id")
    out = []
    for r in rows:
        rule = StockRule(int(r["buffer_units"]), int(r["buffer_pct"]), int(r["share_pct"])).describe()
        out.append(SyncOverview(r["slug"], r["kind"], urlsplit(r["api_url"]).netloc, rule, bool(r["push_stock"]),
                                bool(r["confirm_shipments"]), int(r["listings"]), int(r["unmapped"]),
                                int(r["problems"]), r["listed_at"], r["pushed_at"], r["checked_at"],
                                int(r["confirmations_waiting"]), r["last_confirm_error"]))
    return out
