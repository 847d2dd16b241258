"""Waves: released orders become pick lists per warehouse and carrier, oldest promise first, at most
PICK_LIST_ORDERS_MAX orders a list, lines in walk order; a retry of the same key builds nothing twice."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from backend.domain import errors
from backend.domain import orders as o
from backend.domain.auth.audit import Actor
from backend.domain.fulfillment import service as f
from backend.domain.fulfillment.rules import PICK_LIST_ORDERS_MAX
from tests.channel_support import count
from tests.factories import item, key, receive, warehouse

pytestmark = pytest.mark.usefixtures("ledger_db")
LEAD = Actor("lead-1", device="tablet-1", role="lead")


async def _place(ref: str, carrier: str, promised_at: datetime) -> int:
    spec = o.NewOrder(order_ref=ref, carrier=carrier, promised_at=promised_at,
                      lines=[o.NewOrderLine("MUG", 1), o.NewOrderLine("LAMP", 1)])
    return (await o.place_order(spec, key=key("api"), actor=LEAD)).order_id


async def test_waves_per_carrier_cut_into_pick_lists_oldest_promise_first():
    bins = await warehouse(bins=3)
    await item("MUG")
    await item("LAMP")
    await receive("MUG", 100, bins[2])
    await receive("LAMP", 100, bins[0])
    start = datetime.now(UTC) - timedelta(days=1)
    ups = [await _place(f"UPS-{n}", "UPS", start + timedelta(minutes=n)) for n in range(PICK_LIST_ORDERS_MAX + 5)]
    dhl = [await _place(f"DHL-{n}", "DHL", start - timedelta(hours=1)) for n in range(2)]
    run = await o.build_waves(key="waves-1", actor=LEAD)
    assert [(w.carrier, w.orders, len(w.pick_list_ids)) for w in run.waves] == [("DHL", 2, 1), ("UPS", 55, 2)]
    assert (run.orders, run.lines) == (57, 114)
    first_ups = await f.get_pick_list(run.waves[1].pick_list_ids[0])
    assert {line.order_ref for line in first_ups.lines} == {f"UPS-{n}" for n in range(PICK_LIST_ORDERS_MAX)}
    assert [line.bin for line in first_ups.lines] == [bins[0]] * 50 + [bins[2]] * 50  # walk order
    assert {row.status for row in await o.list_orders(limit=100)} == {"picking"}
    again = await o.build_waves(key="waves-1", actor=LEAD)
    assert again.replayed and again.waves == run.waves and await count("pick_lists") == 3
    with pytest.raises(errors.Conflict, match="No released order"):
        await o.build_waves(key="waves-2", actor=LEAD)
    assert len(ups) + len(dhl) == 57
