"""Metrics at /metrics (off unless enabled): request latency by route, committed ledger postings (a
rehearsal or a rolled-back command counts nothing), sync results and scans applied."""

from __future__ import annotations

import dataclasses
import html
import json
import re
from collections.abc import AsyncIterator

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from backend import db
from backend.domain.auth.tokens import create_token
from backend.domain.ledger import commands as c
from backend.http.app import create_app
from backend.settings import Settings
from tests.factories import item, key, warehouse
from tests.sync_support import Handheld, csrf_client, sign_in


def sample(text: str, name: str, **labels: str) -> float:
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            if s.name == name and all(s.labels.get(k) == v for k, v in labels.items()):
                return s.value
    return 0.0


@pytest.fixture
async def metered(ledger_db: Settings) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(dataclasses.replace(ledger_db, metrics_enabled=True), run_jobs=False)
    async with csrf_client(app) as client:
        yield client


async def _metrics(client: httpx.AsyncClient) -> str:
    r = await client.get("/metrics")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/plain")
    return r.text


async def test_metrics_are_off_unless_enabled(ledger_db):
    app = create_app(ledger_db, run_jobs=False)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://stockline.test") as c:
        assert (await c.get("/metrics")).status_code == 404


async def test_requests_are_timed_by_route_and_postings_counted_once(metered):
    await warehouse()
    await item("MUG")
    token = {"Authorization": f"Bearer {await create_token('shop', 'write')}", "Idempotency-Key": "rcv-1"}
    route = {"method": "POST", "route": "/api/v1/movements/receive", "status": "201"}
    before = await _metrics(metered)
    body = {"sku": "MUG", "qty": 4, "to_location": "WH1-B1"}
    assert (await metered.post("/api/v1/movements/receive", json=body, headers=token)).status_code == 201
    again = await metered.post("/api/v1/movements/receive", json=body, headers=token)
    assert again.headers["idempotent-replayed"] == "true"
    await metered.get("/no/such/page/12345")
    after = await _metrics(metered)
    count = "stockline_http_request_duration_seconds_count"
    assert sample(after, count, **route) - sample(before, count, **route) == 2
    assert sample(after, count, route="unmatched", status="404") - sample(before, count, route="unmatched",
                                                                          status="404") == 1
    posted = "stockline_ledger_postings_total"
    # The replay posted nothing.
    assert sample(after, posted, kind="Receive") - sample(before, posted, kind="Receive") == 1


class _Undo(Exception):
    pass


async def test_a_rolled_back_command_is_not_counted(metered):
    await warehouse()
    await item("MUG")
    before = await _metrics(metered)

    async def receive_then_fail() -> None:
        await c.execute(c.Receive(sku="MUG", qty=1, to_location="WH1-B1"), key=key(), actor="test")
        raise _Undo

    with pytest.raises(_Undo):
        await db.run_in_transaction(receive_then_fail)

    async def outer_keeps_one_of_two() -> None:
        await c.execute(c.Receive(sku="MUG", qty=1, to_location="WH1-B2"), key=key(), actor="test")
        with pytest.raises(_Undo):
            await db.run_in_transaction(receive_then_fail)  # a savepoint, rolled back

    await db.run_in_transaction(outer_keeps_one_of_two)
    after = await _metrics(metered)
    posted = "stockline_ledger_postings_total"
    assert sample(after, posted, kind="Receive") - sample(before, posted, kind="Receive") == 1


def _envelope(page: str) -> tuple[str, dict]:
    found = re.search(r'<template data-envelope data-kind="(\w+)" data-payload="([^"]*)"', page)
    assert found, "the step answered without an envelope"
    return found[1], json.loads(html.unescape(found[2]))


async def test_a_floor_step_counts_only_when_its_scan_is_applied(metered):
    await warehouse()
    await item("MUG")
    who = await sign_in(metered, "receiver")
    hh = Handheld(metered.cookies["stockline_device"])
    before = await _metrics(metered)
    step = await metered.post("/floor/receive", data={"key": key(), "sku": "MUG", "qty": "3", "code": "WH1-B1"},
                              headers={"hx-request": "true"})
    assert step.status_code == 200
    rehearsed = await _metrics(metered)
    assert sample(rehearsed, "stockline_ledger_postings_total", kind="Receive") == sample(
        before, "stockline_ledger_postings_total", kind="Receive")  # the rehearsal rolled back
    kind, payload = _envelope(step.text)
    r = await metered.post("/sync/txns", json={"device_id": hh.device_id, "envelopes": [hh.scan(who, kind, **payload)]})
    assert r.status_code == 200 and r.json()["results"][0]["status"] == "applied", r.text
    after = await _metrics(metered)
    for name, labels in (("stockline_scans_applied_total", {"kind": "receive"}),
                         ("stockline_sync_results_total", {"status": "applied"}),
                         ("stockline_ledger_postings_total", {"kind": "Receive"})):
        assert sample(after, name, **labels) - sample(before, name, **labels) == 1, name
