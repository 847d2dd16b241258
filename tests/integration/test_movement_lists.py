"""Movement lists: each filter, paged in small pages, returns exactly the movements a plain reading of
the whole ledger says it should, in id order (whatever index the database walks to find them)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

import httpx

from backend import db
from backend.domain.auth.tokens import create_token
from backend.domain.ledger import commands as c
from backend.domain.ledger import queries
from backend.domain.ledger.queries import MovementRow
from backend.http.app import create_app
from tests.factories import item, key, receive, warehouse

PAGE = 2


async def _ledger() -> list[str]:
    """Moves in and out of bins, a state change in place (from = to), document refs, reasons."""
    b1, b2, b3 = await warehouse()
    await item("MUG")
    await item("TEA")
    await receive("MUG", 20, b1, doc_ref="PO-1")
    await receive("TEA", 9, b2, doc_ref="PO-1")
    await receive("MUG", 4, b3, doc_ref="PO-2")
    for src, dst in ((b1, b2), (b2, b3), (b3, b1), (b1, b3)):
        await c.execute(c.Move(sku="MUG", qty=1, from_location=src, to_location=dst), key=key("mv"), actor="t")
    await c.execute(c.Quarantine(sku="TEA", qty=2, location=b2, doc_ref="QA-7"), key=key("q"), actor="t")
    await c.execute(c.Adjust(sku="MUG", delta=-1, location=b1, reason="lost"), key=key("adj"), actor="t")
    await c.execute(c.Move(sku="TEA", qty=3, from_location=b2, to_location=b1, doc_ref="PO-1"), key=key("mv"),
                    actor="t")
    return [b1, b2, b3]


async def _all_pages(**filters) -> list[MovementRow]:
    rows: list[MovementRow] = []
    while True:
        page = await queries.movements(after_id=rows[-1].id if rows else 0, limit=PAGE, **filters)
        rows += page
        if len(page) < PAGE:
            return rows


async def _expect(everything: list[MovementRow], keep: Callable[[MovementRow], bool], **filters) -> None:
    wanted = [m.id for m in everything if keep(m)]
    assert wanted, f"the ledger should hold movements for {filters}"
    assert [m.id for m in await _all_pages(**filters)] == wanted


async def _location_id(code: str) -> int:
    row = await db.fetch_one("SELECT id FROM locations WHERE code = {}", code)
    assert row is not None
    return row["id"]


async def test_each_filter_returns_the_same_movements_as_a_plain_reading(ledger_db):
    b1, b2, _ = await _ledger()
    everything = await _all_pages()
    assert [m.id for m in everything] == sorted(m.id for m in everything) and len(everything) == 10
    mug = await db.fetch_one("SELECT id FROM items WHERE sku = 'MUG'")
    assert mug is not None
    await _expect(everything, lambda m: m.sku == "MUG", item_id=mug["id"])
    await _expect(everything, lambda m: b2 in (m.from_location, m.to_location), location_id=await _location_id(b2))
    await _expect(everything, lambda m: m.doc_ref == "PO-1", doc_ref="PO-1")
    await _expect(everything, lambda m: m.reason == "move", reason="move")
    await _expect(everything, lambda m: b1 in (m.from_location, m.to_location) and m.sku == "MUG",
                  location_id=await _location_id(b1), item_id=mug["id"])
    await _expect(everything, lambda m: b2 in (m.from_location, m.to_location) and m.doc_ref == "PO-1",
                  location_id=await _location_id(b2), doc_ref="PO-1")


async def test_a_state_change_in_place_is_listed_once_for_its_bin(ledger_db):
    _, b2, _ = await _ledger()
    rows = await _all_pages(location_id=await _location_id(b2))
    in_place = [m for m in rows if m.from_location == m.to_location == b2]
    assert [(m.from_state, m.to_state, m.doc_ref) for m in in_place] == [("available", "quarantined", "QA-7")]
    assert len({m.id for m in rows}) == len(rows)


async def test_a_time_range_lists_the_movements_created_in_it(ledger_db):
    b1, *_ = await _ledger()
    everything = await _all_pages()
    stamps = sorted({_as_datetime(m.created_at) for m in everything})
    assert len(stamps) >= 4, "each command stamps its own time"
    since, until = stamps[1], stamps[-2]
    inside = [m.id for m in everything if since <= _as_datetime(m.created_at) < until]
    assert inside and len(inside) < len(everything)
    assert [m.id for m in await _all_pages(since=since, until=until)] == inside
    in_bin = [m.id for m in everything
              if since <= _as_datetime(m.created_at) and b1 in (m.from_location, m.to_location)]
    assert [m.id for m in await _all_pages(since=since, location_id=await _location_id(b1))] == in_bin


def _as_datetime(value: datetime | str) -> datetime:
    return value if isinstance(value, datetime) else datetime.fromisoformat(value)


async def test_the_api_lists_movements_of_a_time_range(ledger_db):
    await _ledger()
    everything = await _all_pages()
    stamps = sorted({_as_datetime(m.created_at) for m in everything})
    since, until = stamps[1], stamps[-2]
    inside = [m.id for m in everything if since <= _as_datetime(m.created_at) < until]
    app = create_app(ledger_db, run_jobs=False)
    headers = {"Authorization": f"Bearer {await create_token('reader', 'read')}"}
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="https://stockline.test") as client:
        answer = await client.get("/api/v1/movements", headers=headers, params={
            "since": since.isoformat(), "until": until.isoformat().replace("+00:00", ""), "limit": 500})
        refused = await client.get("/api/v1/movements", headers=headers, params={"since": "yesterday"})
    assert answer.status_code == 200 and [m["id"] for m in answer.json()["items"]] == inside
    assert refused.status_code == 400


async def test_a_time_that_is_not_iso_8601_is_refused_not_read_as_a_unix_time(ledger_db):
    app = create_app(ledger_db, run_jobs=False)
    token = await create_token("reader", "read")
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="https://stockline.test") as client:
        headers = {"Authorization": f"Bearer {token}"}
        for bad in ("0.5", "1700000000", "2026-13-45"):
            r = await client.get("/api/v1/movements", params={"until": bad}, headers=headers)
            assert r.status_code in (400, 422), (bad, r.text)  # not a time: refused, never a Unix time
        r = await client.get("/api/v1/movements", params={"since": "2026-11-30", "until": "2026-12-01T00:00:00Z"},
                        headers=headers)
        assert r.status_code == 200 and r.json()["items"] == []
