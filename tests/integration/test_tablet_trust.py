"""Tablet forms a lead can trust: an order names the warehouse it ships from (the demo has two), and an
error is shown inline with everything typed kept."""

from __future__ import annotations

from tests.factories import item, receive, warehouse
from tests.integration.test_tablet_orders import lead  # noqa: F401 - the signed-in lead's client

ORDER_FORM = {"key": "k-wh", "order_ref": "WEB-9", "lines": "MUG 2"}


async def test_with_two_warehouses_the_order_says_which_one_and_keeps_what_was_typed(lead):  # noqa: F811
    await warehouse("WH1")
    east = await warehouse("WH2")
    await item("MUG")
    await receive("MUG", 5, east[0])
    page = await lead.get("/tablet/orders")
    assert 'id="warehouse"' in page.text and "Choose the warehouse" in page.text
    r = await lead.post("/tablet/orders", data=ORDER_FORM)
    assert r.status_code == 422, r.text
    assert "Choose the warehouse that ships this order." in r.text
    assert 'value="WEB-9"' in r.text and "MUG 2</textarea>" in r.text
    r = await lead.post("/tablet/orders", data={**ORDER_FORM, "warehouse": "WH2"})
    assert r.status_code == 200, r.text
    assert "Order WEB-9 reserved; pick list #" in r.text
