"""Replenishment against the real database (SQLite and PostgreSQL): demand read from shipments, the
default policy's numbers by hand, min/max with stock on order, MOQ and case pack, a transfer from another
warehouse's excess, approval into draft purchase orders (once per key), and the suggestions screen."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

import pytest

from backend.domain import purchasing as p
from backend.domain import replenishment as r
from backend.domain.catalog.service import get_item
from backend.domain.errors import Conflict, InvalidInput
from backend.domain.ledger import commands as c
from backend.domain.locations.service import get_location
from backend.http.app import create_app
from backend.settings import Settings
from tests.factories import item, key, receive, warehouse
from tests.purchasing_support import MANAGER, sent, supplier
from tests.sync_support import csrf_client, sign_in

pytestmark = pytest.mark.usefixtures("ledger_db")
TOMORROW = (datetime.now(UTC) + timedelta(days=1)).date()


async def _policy(sku: str, wh: str, kind: r.PolicyKind, **numbers: int) -> None:
    await r.set_policy(r.PolicySpec(item_id=(await get_item(sku)).id, warehouse_id=(await get_location(wh)).id,
                                    kind=kind, **numbers), actor=MANAGER)


async def _store() -> int:
    """WH1 and WH2; ACME sells MUG, CUP and BOWL (lead time 7 days, MOQ 50, cases of 12); PLATE has no
    supplier. MUG: 40 received, 28 shipped today. CUP and BOWL: min/max 20–60 with stock on order."""
    await warehouse("WH1")
    await warehouse("WH2")
    for sku in ("MUG", "CUP", "BOWL", "PLATE"):
        await item(sku)
    acme = await supplier("ACME", lead_time_days=7, moq=50, case_pack=12)
    for sku in ("MUG", "CUP", "BOWL"):
        await p.link_supplier_item(acme, p.SupplierItemSpec(sku=sku, unit_cost_minor=250, preferred=True),
                                   actor=MANAGER, key=key("link"))
    await receive("MUG", 40, "WH1-B1")
    await c.execute(c.Ship(sku="MUG", qty=28, from_location="WH1-B1"), key=key("ship"), actor="test")
    await receive("CUP", 10, "WH1-B2")
    await sent(acme, "WH1", {"CUP": 30})
    await _policy("CUP", "WH1", "minmax", min_qty=20, max_qty=60)
    await receive("BOWL", 5, "WH1-B3")
    await sent(acme, "WH1", {"BOWL": 10})
    await _policy("BOWL", "WH1", "minmax", min_qty=20, max_qty=60)
    await _policy("PLATE", "WH1", "minmax", min_qty=10, max_qty=30)
    await receive("PLATE", 100, "WH2-B1")
    return acme


async def _open() -> dict[tuple[str, str], r.SuggestionView]:
    return {(s.kind, s.sku): s for s in await r.list_suggestions()}


async def test_demand_is_read_from_shipments_per_day_and_warehouse() -> None:
    await _store()
    history = await r.demand_history(days=10, until=TOMORROW)
    mug = (await get_item("MUG")).id
    wh1 = (await get_location("WH1")).id
    assert history.pairs == [(mug, wh1)]  # receipts are not demand; only the shipment is
    assert history.history.tolist() == [[0.0] * 9 + [28.0]]


async def test_a_reversed_shipment_is_no_demand() -> None:
    await _store()
    shipped = await c.execute(c.Ship(sku="MUG", qty=5, from_location="WH1-B1"), key=key("ship"), actor="test")
    await c.execute(c.Reverse(movement_id=shipped.movement_ids[0], reason="shipped by mistake"), key=key("rev"),
                    actor="test")
    history = await r.demand_history(days=3, until=TOMORROW)
    assert history.history.tolist() == [[0.0, 0.0, 28.0]]


async def test_suggestions_follow_the_formulas_moq_case_pack_and_stock_on_order() -> None:
    await _store()
    summary = await r.run_replenishment(today=TOMORROW, forecast_budget_s=0)
    assert (summary.purchases, summary.transfers) == (2, 1)
    got = await _open()
    assert set(got) == {("purchase", "MUG"), ("purchase", "BOWL"), ("transfer", "PLATE")}  # CUP: 10 + 30 on order > 20

    mug = got[("purchase", "MUG")]
    # 28 units over the 28-day floor: d = 1, σd = √28; default policy: z(95 %), L = 7 quoted, σL = 0, R = 7
    z = r.z_for(0.95)
    ss = z * math.sqrt(7 * 28)
    assert (mug.policy_kind, mug.policy_default, mug.supplier_code) == ("rop", True, "ACME")
    assert mug.demand_daily == pytest.approx(1.0)
    assert mug.demand_sd == pytest.approx(math.sqrt(28), abs=1e-3)
    assert (mug.lead_days, mug.lead_sd, mug.lead_observed) == (7.0, 0.0, 0)
    assert mug.z == pytest.approx(z, abs=1e-4)
    assert mug.safety_stock == pytest.approx(ss, abs=1e-3)
    assert mug.reorder_point == pytest.approx(7 + ss, abs=1e-3)
    assert (mug.available, mug.on_order) == (12, 0)
    assert mug.need == math.ceil(7 + ss + 7 - 12)  # 26, below the MOQ of 50
    assert mug.qty == 60  # MOQ 50, up to 5 cases of 12

    bowl = got[("purchase", "BOWL")]
    assert (bowl.available, bowl.on_order, bowl.need, bowl.qty) == (5, 10, 45, 60)  # 60 − 15 → MOQ → cases

    plate = got[("transfer", "PLATE")]
    assert (plate.warehouse_code, plate.from_warehouse_code, plate.qty, plate.supplier_id) == ("WH1", "WH2", 30, None)


async def test_a_second_run_replaces_the_open_suggestions() -> None:
    await _store()
    await r.run_replenishment(today=TOMORROW, forecast_budget_s=0)
    await receive("BOWL", 40, "WH1-B3")  # now 45 + 10 on order: above the min
    await r.run_replenishment(today=TOMORROW, forecast_budget_s=0)
    assert set(await _open()) == {("purchase", "MUG"), ("transfer", "PLATE")}


async def test_approval_makes_draft_orders_per_supplier_once_per_key() -> None:
    acme = await _store()
    await r.run_replenishment(today=TOMORROW, forecast_budget_s=0)
    got = await _open()
    mug, bowl, plate = got[("purchase", "MUG")], got[("purchase", "BOWL")], got[("transfer", "PLATE")]
    with pytest.raises(InvalidInput, match="cases of 12: order 60 or 72"):
        await r.set_quantity(mug.id, 65, actor=MANAGER)
    assert (await r.set_quantity(mug.id, 72, actor=MANAGER)).qty == 72
    approval_key = key("approve")
    done = await r.approve([mug.id, bowl.id, plate.id], actor=MANAGER, key=approval_key)
    assert (done.approved, done.transfers, len(done.purchase_order_ids)) == (3, 1, 1)  # one supplier, one warehouse
    again = await r.approve([mug.id, bowl.id, plate.id], actor=MANAGER, key=approval_key)
    assert again.purchase_order_ids == done.purchase_order_ids
    po = await p.get_order(done.purchase_order_ids[0])
    assert (po.status, po.supplier_id) == ("draft", acme)
    assert sorted((line.sku, line.qty_ordered) for line in po.lines) == [("BOWL", 60), ("MUG", 72)]
    approved = {s.sku: s for s in await r.list_suggestions(status="approved")}
    assert approved["MUG"].purchase_order_number == po.number
    with pytest.raises(Conflict):
        await r.approve([mug.id], actor=MANAGER, key=key("approve"))


async def test_the_suggestions_screen_lists_edits_and_approves(ledger_db: Settings) -> None:
    await _store()
    await r.run_replenishment(today=TOMORROW, forecast_budget_s=0)
    got = await _open()
    app = create_app(ledger_db, run_jobs=False)
    async with csrf_client(app) as client:
        await sign_in(client, "lead")
        assert (await client.get("/tablet/replenishment")).status_code in (401, 403)
        await sign_in(client, "manager")
        page = await client.get("/tablet/replenishment")
        assert page.status_code == 200
        assert 'data-sku="MUG"' in page.text and 'data-sku="PLATE"' in page.text and "from WH2" in page.text
        assert "Run replenishment now" in page.text
        only = await client.get("/tablet/replenishment?kind=transfer", headers={"HX-Request": "true"})
        assert 'id="suggestion-rows"' in only.text and 'data-sku="MUG"' not in only.text
        found = await client.get("/tablet/replenishment?sku=mu&warehouse=wh1&supplier=acme")
        assert 'data-sku="MUG"' in found.text and 'data-sku="BOWL"' not in found.text
        edited = await client.post(f"/tablet/replenishment/{got[('purchase', 'MUG')].id}/qty", data={"qty": "72"},
                                   headers={"HX-Request": "true"})
        assert edited.status_code == 200 and 'value="72"' in edited.text and 'data-feedback="ok"' in edited.text
        refused = await client.post(f"/tablet/replenishment/{got[('purchase', 'MUG')].id}/qty", data={"qty": "70"},
                                    headers={"HX-Request": "true"})
        assert refused.status_code in (400, 422) and "cases of 12" in refused.text
        approved = await client.post("/tablet/replenishment/approve",
                                     data={"id": [str(got[("purchase", "MUG")].id)], "key": "k-1"})
        assert approved.status_code == 200 and "1 draft purchase order(s) made" in approved.text
    drafts = [po for po in await p.list_orders() if po.status == "draft"]
    assert len(drafts) == 1  # the two orders of the set-up were sent


async def test_lead_time_is_observed_from_receipts_against_sent_orders() -> None:
    from backend import db
    from tests.purchasing_support import receive_against

    acme = await _store()
    now = datetime.now(UTC)
    for days_ago in (10, 6):  # sent 10 and 6 days ago, received today: L = 8, σL = √8
        po = await sent(acme, "WH2", {"MUG": 5})
        await db.fetch("UPDATE purchase_orders SET sent_at = {} WHERE id = {}", now - timedelta(days=days_ago), po.id)
        await receive_against(po.number, "MUG", 5, "WH2-B2")
    await r.run_replenishment(today=TOMORROW, forecast_budget_s=0)
    mug = (await _open())[("purchase", "MUG")]
    assert mug.lead_days == pytest.approx(8.0)
    assert mug.lead_observed == 2
    assert mug.lead_sd == pytest.approx(math.sqrt(8), abs=1e-3)
    ss = r.z_for(0.95) * math.sqrt(8 * 28 + 1.0 * 8)  # z·√(L·σd² + d²·σL²)
    assert mug.safety_stock == pytest.approx(ss, abs=1e-3)


async def test_a_manager_sets_a_policy_on_the_screen_and_the_next_run_follows_it(ledger_db: Settings) -> None:
    await _store()
    app = create_app(ledger_db, run_jobs=False)
    async with csrf_client(app) as client:
        await sign_in(client, "manager")
        refused = await client.post("/tablet/replenishment/policies", data={
            "sku": "MUG", "warehouse": "WH1", "kind": "minmax", "min_qty": "50", "max_qty": "10"})
        assert refused.status_code in (400, 422) and "at least min" in refused.text
        done = await client.post("/tablet/replenishment/policies", data={
            "sku": "mug", "warehouse": "wh1", "kind": "minmax", "service_level_pct": "95", "review_days": "7",
            "min_qty": "12", "max_qty": "100"})
        assert done.status_code == 200 and "Policy for MUG in WH1 set: minmax" in done.text
        assert 'data-policy="MUG@WH1"' in done.text
    await r.run_replenishment(today=TOMORROW, forecast_budget_s=0)
    mug = (await _open())[("purchase", "MUG")]  # 12 available ≤ min 12: up to 100 → 88 → 96 in cases
    assert (mug.policy_kind, mug.policy_default, mug.need, mug.qty) == ("minmax", False, 88, 96)


async def test_a_policy_form_sent_again_does_not_undo_a_later_change(ledger_db: Settings) -> None:
    await _store()
    app = create_app(ledger_db, run_jobs=False)
    first = {"sku": "MUG", "warehouse": "WH1", "kind": "minmax", "min_qty": "12", "max_qty": "100", "key": "pol-1"}
    async with csrf_client(app) as client:
        await sign_in(client, "manager")
        assert (await client.post("/tablet/replenishment/policies", data=first)).status_code == 200
        later = {**first, "min_qty": "20", "max_qty": "200", "key": "pol-2"}
        assert (await client.post("/tablet/replenishment/policies", data=later)).status_code == 200
        again = await client.post("/tablet/replenishment/policies", data=first)  # the first answer was lost
        assert again.status_code == 200 and "Policy for MUG in WH1 set: minmax" in again.text
        reused = await client.post("/tablet/replenishment/policies", data={**first, "max_qty": "300"})
        assert reused.status_code == 422
    (policy,) = [p for p in await r.list_policies() if p.sku == "MUG"]
    assert (policy.min_qty, policy.max_qty) == (20, 200)
