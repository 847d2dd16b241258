"""One rule path: the same scans made online (the floor screens' posts, as htmx sends them, then the
outbox's POST /sync/txns of the step's envelope) and offline (the envelopes offline.js builds, replayed
through POST /sync/txns) leave identical ledgers, on SQLite and PostgreSQL.

Each side has its own warehouse, items and barcodes (prefix ON- / OF-); `ledger_of` strips the prefix,
so balances and movements (without ids, times or keys) compare one to one.
"""

from __future__ import annotations

import html
import json
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from backend import db
from backend.domain import counts
from backend.domain.auth.audit import Actor
from backend.domain.catalog.gs1 import gtin_check_digit
from backend.domain.catalog.service import BarcodeSpec, NewItem, UnitSpec, create_item
from backend.domain.fulfillment import service as f
from backend.http.app import create_app
from tests.factories import key, receive, warehouse
from tests.sync_support import Handheld, csrf_client, device_of, ledger_of, sign_in

GS = "\x1d"
LEAD = Actor("lead-1", "tablet-1", role="lead")
INPUT = re.compile(r'<input[^>]*\bname="(\w+)"[^>]*\bvalue="([^"]*)"')
ENVELOPE = re.compile(r'<template data-envelope data-kind="(\w+)" data-payload="([^"]*)"')


def gtin(body: str) -> str:
    return body + str(gtin_check_digit(body))


@dataclass(frozen=True, slots=True)
class Side:
    """One side's codes: what its labels say (the same labels as the other side's, other numbers)."""

    p: str  # ON- or OF-
    n: str  # a digit that makes this side's GTINs its own

    def bin(self, k: int) -> str:
        return f"{self.p}B{k}"

    @property
    def mug(self) -> str:
        return gtin(f"400638133{self.n}01")  # EAN-13 of one mug

    @property
    def mug_case(self) -> str:
        return gtin(f"1400638133{self.n}01")  # ITF-14 of a case of 24

    @property
    def tea(self) -> str:
        return gtin(f"0400638133{self.n}02")  # GTIN-14 of a box of tea (lot tracked)

    def labels(self) -> dict[str, str]:
        """The labels scanned, by name: case and unit barcodes, GS1-128 with AI 37 and 30, lots, expiry."""
        return {
            "unit": self.mug,
            "case": self.mug_case,
            "gs1_count37": f"]C101{self.mug_case}373{GS}",  # GS1-128: case GTIN, count (AI 37) 3, FNC1
            "gs1_count30": f"]C101{self.mug_case}302",  # case GTIN, variable count (AI 30) 2
            "tea_lot": f"]C101{self.tea}10L-7{GS}17271100",  # lot L-7, expiry with day 00
            "tea_lot_again": f"]C101{self.tea}1727110010L-7",  # the same label, AIs in another order
        }


ON, OFF = Side("ON-", "1"), Side("OF-", "2")


async def catalogue(side: Side) -> None:
    await warehouse(side.p.rstrip("-"), bins=4)
    await create_item(NewItem(sku=f"{side.p}MUG", name="Mug", units=[UnitSpec("case", 24)],
                              barcodes=[BarcodeSpec(side.mug), BarcodeSpec(side.mug_case, "case")]))
    await create_item(NewItem(sku=f"{side.p}TEA", name="Tea", lot_tracked=True, barcodes=[BarcodeSpec(side.tea)]))


@pytest.fixture
async def client(ledger_db) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(ledger_db, run_jobs=False)
    async with csrf_client(app) as c:
        c.headers["hx-request"] = "true"
        yield c


# --- online: the screens, as htmx posts them, and the outbox's post of each envelope ------------------

class Screen:
    """A floor screen driven as the handheld drives it: the form's fields as the last answer left them,
    the scan (or an edited field) posted, each step's envelope sent to /sync/txns as outbox.js sends it."""

    def __init__(self, client: httpx.AsyncClient, user_id: int) -> None:
        self.client, self.user_id, self.hh = client, user_id, device_of(client)
        self.fields: dict[str, str] = {}
        self.path = ""
        self.results: list[str] = []

    async def open(self, path: str) -> None:
        self.path = path
        r = await self.client.get(path)
        assert r.status_code == 200, r.text
        self.fields = dict(INPUT.findall(r.text))

    async def post(self, code: str = "", **edits: str) -> str:
        r = await self.client.post(self.path, data={**self.fields, **edits, "code": code})
        assert r.status_code == 200, r.text
        assert 'data-feedback="error"' not in r.text, r.text
        self.fields = {k: html.unescape(v) for k, v in INPUT.findall(r.text)}
        found = ENVELOPE.search(r.text)
        if found:
            await self._send(found[1], json.loads(html.unescape(found[2])))
        return r.text

    async def _send(self, kind: str, payload: dict[str, Any]) -> None:
        scan = self.hh.scan(_Who(self.user_id), kind, **payload)  # type: ignore[arg-type]
        r = await self.client.post("/sync/txns", json={"device_id": self.hh.device_id, "envelopes": [scan]})
        assert r.status_code == 200, r.text
        self.results += [x["status"] + (": " + x["reason"] if x["status"] == "rejected" else "")
                         for x in r.json()["results"]]


@dataclass(frozen=True, slots=True)
class _Who:
    id: int


async def online(client: httpx.AsyncClient, s: Side, pick_list_id: int) -> tuple[list[str], Handheld]:
    who = await sign_in(client, "lead")
    screen, label = Screen(client, who.id), s.labels()
    await screen.open("/floor/receive")
    for code in (label["case"], label["case"], label["unit"]):
        await screen.post(code)
    await screen.post(s.bin(1))
    await screen.post(label["gs1_count37"])
    await screen.post(label["gs1_count30"])
    await screen.post(s.bin(1))
    await screen.post(label["tea_lot"], damaged="1")
    await screen.post(label["tea_lot_again"])
    await screen.post(s.bin(2))
    await screen.open("/floor/move")
    await screen.post(s.bin(1))
    for code in (label["unit"], label["unit"]):
        await screen.post(code)
    await screen.post("", qty="10")  # typed over the two scans
    await screen.post(label["unit"])
    await screen.post(s.bin(3))
    await screen.open("/floor/adjust")
    await screen.post(s.bin(3))
    await screen.post(label["unit"])
    await screen.post("", delta="-2", reason="damaged", action="post")
    await screen.open(f"/floor/pick/{pick_list_id}")
    await screen.post(s.bin(1))
    await screen.post(label["case"], qty="1")
    await screen.post(label["unit"], qty="2")
    await screen.open("/floor/count")
    await screen.post(s.bin(2))
    await screen.post(label["tea_lot"], qty="3")
    await screen.post(label["tea_lot"])
    await screen.post("", finish="true")
    return screen.results, screen.hh


# --- offline: the envelopes offline.js builds, replayed through /sync/txns -------------------------

async def offline(client: httpx.AsyncClient, hh: Handheld, s: Side, pick_list_id: int,
                  line_ids: list[int]) -> list[str]:
    """`hh`: the same handheld, its scan numbers going on."""
    who = await sign_in(client, "lead")
    label = s.labels()
    task = await counts.create_count_task(s.bin(2), key("task"), Actor(f"user:{who.code}", hh.device_id, who.id,
                                                                        "lead"), reason="exception")
    await counts.start_count(task.task_id, key("start"), Actor(f"user:{who.code}", hh.device_id, who.id, "lead"))
    steps: list[tuple[str, dict[str, Any]]] = [
        ("receive", {"items": [label["case"], label["case"], label["unit"]], "to_bin": s.bin(1), "lot": "",
                     "damaged": 0}),
        ("receive", {"items": [label["gs1_count37"], label["gs1_count30"]], "to_bin": s.bin(1), "lot": "",
                     "damaged": 0}),
        ("receive", {"items": [label["tea_lot"], label["tea_lot_again"]], "to_bin": s.bin(2), "lot": "",
                     "damaged": 1}),
        ("move", {"from_bin": s.bin(1), "items": [label["unit"], label["unit"], 10, label["unit"]],
                  "to_bin": s.bin(3)}),
        ("adjust", {"bin": s.bin(3), "item_code": label["unit"], "delta": -2, "reason": "damaged", "lot": ""}),
        ("pick", {"pick_list_id": pick_list_id, "line_id": line_ids[0], "bin": s.bin(1), "item_code": label["case"],
                  "qty": 1}),
        ("pick", {"pick_list_id": pick_list_id, "line_id": line_ids[0], "bin": s.bin(1), "item_code": label["unit"],
                  "qty": 2}),
        ("count", {"task_id": task.task_id, "item_code": label["tea_lot"], "qty": 3, "mode": "set"}),
        ("count", {"task_id": task.task_id, "item_code": label["tea_lot"], "qty": 1, "mode": "add"}),
        ("count_finish", {"task_id": task.task_id}),
    ]
    envelopes = [hh.scan(who, kind, **payload) for kind, payload in steps]
    r = await client.post("/sync/txns", json={"device_id": hh.device_id, "envelopes": envelopes,
                                              "pending": len(envelopes)})
    assert r.status_code == 200, r.text
    return [x["status"] + (": " + x["reason"] if x["status"] == "rejected" else "") for x in r.json()["results"]]


async def pick_list_of(s: Side) -> f.PickListView:
    """An order for 26 mugs (a case and two), on a pick list: set up on the tablet, before the floor's scans."""
    spec = f.NewManualOrder(order_ref=f"{s.p}SO-1", lines=[f.OrderLineSpec(f"{s.p}MUG", 26)], warehouse=s.p.rstrip("-"))
    await f.create_manual_order(spec, key=key("order"), actor=LEAD)
    return await f.create_pick_list(f"{s.p}SO-1", key=key("pl"), actor=LEAD)


async def test_online_and_offline_scans_leave_the_same_ledger(client):
    for side in (ON, OFF):
        await catalogue(side)
    # The order is reserved against an opening receipt, so both sides reserve the same bin before any scan.
    for side in (ON, OFF):
        await receive(f"{side.p}MUG", 26, side.bin(1))
    lists = {side.p: await pick_list_of(side) for side in (ON, OFF)}
    got_online, hh = await online(client, ON, lists[ON.p].id)
    got_offline = await offline(client, hh, OFF, lists[OFF.p].id, [line.id for line in lists[OFF.p].lines])
    assert set(got_online) == {"applied"}, got_online
    assert set(got_offline) == {"applied"}, got_offline
    assert len(got_online) == len(got_offline)
    balances_on, moves_on = await ledger_of(ON.p)
    balances_off, moves_off = await ledger_of(OFF.p)
    assert moves_on == moves_off
    assert balances_on == balances_off
    assert await lots_of(ON.p) == await lots_of(OFF.p)  # the lot's expiry, from the label (day 00) on both


async def lots_of(prefix: str) -> list[tuple[str, str, str]]:
    rows = await db.fetch("SELECT i.sku, l.lot, l.expiry FROM lots l JOIN items i ON i.id = l.item_id"
                          " WHERE i.sku LIKE {} ORDER BY i.sku, l.lot", prefix + "%")
    return [(r["sku"].removeprefix(prefix), r["lot"], str(r["expiry"])) for r in rows]
