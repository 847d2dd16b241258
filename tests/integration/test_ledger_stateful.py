"""Hypothesis drives random sequences of ledger commands against a simple model.

After every step: the balances equal the sum of the movements (`check_ledger`), no balance is
negative, reserved <= on hand, and the database agrees with the model.
"""

from __future__ import annotations

import asyncio
import itertools
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

from backend import db
from backend.domain import errors
from backend.domain.catalog.service import get_item
from backend.domain.ledger import commands as c
from backend.domain.ledger.check import check_ledger
from backend.domain.locations.service import get_location
from backend.migrations import migrate
from tests.conftest import BACKENDS, pg_database, reset_pg_schema, settings_for
from tests.factories import item, warehouse

BINS = ["WH1-B1", "WH1-B2", "WH1-B3"]
STAGE = "WH1-STAGE"
FIELDS = ("on_hand", "reserved", "quarantined", "damaged")
_skus = itertools.count(1)
_keys = itertools.count(1)

qtys = st.integers(min_value=1, max_value=25)
bins = st.sampled_from(BINS)


class LedgerMachine(RuleBasedStateMachine):
    loop: asyncio.AbstractEventLoop

    def __init__(self) -> None:
        super().__init__()
        self.model: dict[tuple[str, str], dict[str, int]] = {}
        self.reservations: dict[int, tuple[str, str, int]] = {}
        self.skus: list[str] = []

    def run(self, coro):
        return self.loop.run_until_complete(coro)

    def cell(self, sku: str, loc: str) -> dict[str, int]:
        return self.model.setdefault((sku, loc), dict.fromkeys(FIELDS, 0))

    def available(self, sku: str, loc: str) -> int:
        b = self.cell(sku, loc)
        return b["on_hand"] - b["reserved"] - b["quarantined"] - b["damaged"]

    def execute(self, command, ok: bool):
        """Run a command the model predicts to succeed (ok) or to fail for lack of stock."""
        try:
            result = self.run(c.execute(command, key=f"sm-{next(_keys)}", actor="hypothesis"))
        except errors.InsufficientStock:
            assert not ok, f"{command} was refused but the model has enough stock"
            return None
        assert ok, f"{command} succeeded but the model says there is not enough stock"
        return result

    @initialize()
    def create_items(self):
        self.skus = [f"SM{next(_skus)}", f"SM{next(_skus)}"]
        for sku in self.skus:
            self.run(item(sku))

    @rule(data=st.data(), loc=bins, qty=qtys, state=st.sampled_from(["available", "damaged"]))
    def receive(self, data, loc, qty, state):
        sku = data.draw(st.sampled_from(self.skus))
        self.execute(c.Receive(sku=sku, qty=qty, to_location=loc, state=state), ok=True)
        self.cell(sku, loc)["on_hand"] += qty
        if state == "damaged":
            self.cell(sku, loc)["damaged"] += qty

    @rule(data=st.data(), src=bins, dst=bins, qty=qtys)
    def move(self, data, src, dst, qty):
        if src == dst:
            return
        sku = data.draw(st.sampled_from(self.skus))
        ok = self.available(sku, src) >= qty
        if self.execute(c.Move(sku=sku, qty=qty, from_location=src, to_location=dst), ok):
            self.cell(sku, src)["on_hand"] -= qty
            self.cell(sku, dst)["on_hand"] += qty

    @rule(data=st.data(), loc=bins, delta=st.integers(min_value=-10, max_value=10).filter(bool))
    def adjust(self, data, loc, delta):
        sku = data.draw(st.sampled_from(self.skus))
        ok = delta > 0 or self.available(sku, loc) >= -delta
        if self.execute(c.Adjust(sku=sku, delta=delta, location=loc, reason="count_correction"), ok):
            self.cell(sku, loc)["on_hand"] += delta

    @rule(data=st.data(), loc=bins, qty=qtys, hold=st.sampled_from(["quarantined", "damaged"]), release=st.booleans())
    def hold_or_release(self, data, loc, qty, hold, release):
        sku = data.draw(st.sampled_from(self.skus))
        if release:
            ok = self.cell(sku, loc)[hold] >= qty
            if self.execute(c.ReleaseQuarantine(sku=sku, qty=qty, location=loc, state=hold), ok):
                self.cell(sku, loc)[hold] -= qty
        else:
            ok = self.available(sku, loc) >= qty
            if self.execute(c.Quarantine(sku=sku, qty=qty, location=loc, state=hold), ok):
                self.cell(sku, loc)[hold] += qty

    @rule(data=st.data(), loc=bins, qty=qtys)
    def scrap_damaged(self, data, loc, qty):
        sku = data.draw(st.sampled_from(self.skus))
        ok = self.cell(sku, loc)["damaged"] >= qty
        if self.execute(c.Scrap(sku=sku, qty=qty, location=loc, state="damaged"), ok):
            self.cell(sku, loc)["damaged"] -= qty
            self.cell(sku, loc)["on_hand"] -= qty

    @rule(data=st.data(), loc=bins, qty=qtys)
    def reserve(self, data, loc, qty):
        sku = data.draw(st.sampled_from(self.skus))
        ok = self.available(sku, loc) >= qty
        result = self.execute(c.Reserve(lines=[c.ReserveLine(sku=sku, qty=qty, location=loc)]), ok)
        if result:
            self.reservations[result.reservation_ids[0]] = (sku, loc, qty)
            self.cell(sku, loc)["reserved"] += qty

    @precondition(lambda self: self.reservations)
    @rule(data=st.data(), pick=st.booleans())
    def pick_or_release(self, data, pick):
        rid = data.draw(st.sampled_from(sorted(self.reservations)))
        sku, loc, open_qty = self.reservations[rid]
        qty = data.draw(st.integers(min_value=1, max_value=open_qty))
        command = c.Pick(reservation_id=rid, qty=qty) if pick else c.ReleaseReservation(reservation_id=rid, qty=qty)
        self.execute(command, ok=True)
        self.cell(sku, loc)["reserved"] -= qty
        if pick:
            self.cell(sku, loc)["on_hand"] -= qty
            self.cell(sku, STAGE)["on_hand"] += qty
        if open_qty == qty:
            del self.reservations[rid]
        else:
            self.reservations[rid] = (sku, loc, open_qty - qty)

    @rule(data=st.data(), qty=qtys)
    def ship(self, data, qty):
        sku = data.draw(st.sampled_from(self.skus))
        ok = self.available(sku, STAGE) >= qty
        if self.execute(c.Ship(sku=sku, qty=qty, from_location=STAGE), ok):
            self.cell(sku, STAGE)["on_hand"] -= qty

    @invariant()
    def ledger_reconciles_and_matches_model(self):
        assert self.run(check_ledger()) == []
        for (sku, loc), want in self.model.items():
            row = self.run(db.fetch_one(
                "SELECT on_hand, reserved, quarantined, damaged FROM balances WHERE item_id = {} AND location_id = {}",
                self.run(get_item(sku)).id, self.run(get_location(loc)).id,
            ))
            have = {f: row[f] for f in FIELDS} if row else dict.fromkeys(FIELDS, 0)
            assert have == want, (sku, loc)
            assert min(have.values()) >= 0 and have["reserved"] <= have["on_hand"]


async def _prepare(backend: str, tmp_path: Path) -> None:
    if backend == "postgres":
        await pg_database()
        await reset_pg_schema()
    await db.connect(settings_for(backend, tmp_path))
    await migrate()
    await warehouse(bins=len(BINS))


@pytest.mark.parametrize("backend_name", BACKENDS)
def test_random_command_sequences_keep_the_ledger_consistent(backend_name, tmp_path):
    loop = asyncio.new_event_loop()
    LedgerMachine.loop = loop
    try:
        loop.run_until_complete(_prepare(backend_name, tmp_path))
        run_state_machine_as_test(
            LedgerMachine,
            settings=settings(max_examples=25, stateful_step_count=30, deadline=None,
                              suppress_health_check=[HealthCheck.too_slow]),
        )
    finally:
        loop.run_until_complete(db.disconnect())
        loop.close()
