"""A day's worth of offline scans: drained in the order they were made, and exactly once even when the
server process is killed in the middle of a batch."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest
from playwright.sync_api import Error, Route

from tests.conftest import BACKENDS
from tests.e2e.conftest import Server, sign_in, start_server, stop_server
from tests.e2e.outbox_support import (
    assert_check_clean,
    device,
    drained,
    enqueue_many,
    kill,
    listen,
    movements,
    restart,
    results,
    sync_movements,
    txn_of,
)
from tests.e2e.own import Item, own

SCANS_IN_ORDER = 1000
SCANS_KILLED = 300


def test_a_thousand_queued_scans_drain_in_the_order_they_were_made(handheld, server):
    mine = own(server, "OBORDER", Item(stock={0: 1}))
    sku, (b1, b2) = mine.sku, mine.bins[:2]
    sign_in(handheld, "receiver")
    listen(handheld)
    handheld.context.set_offline(True)
    # The one unit goes back and forth: out of order, a move would find the bin empty.
    there, back = ({"sku": sku, "qty": 1, "from_location": a, "to_location": b}
                   for a, b in ((b1, b2), (b2, b1)))
    scans = enqueue_many(handheld, [("move", there if n % 2 == 0 else back) for n in range(SCANS_IN_ORDER)])
    assert [s["seq"] for s in scans] == list(range(scans[0]["seq"], scans[0]["seq"] + SCANS_IN_ORDER))
    handheld.context.set_offline(False)
    drained(handheld, timeout_s=300)
    assert [txn_of(m) for m in sync_movements(server, sku)] == [s["txn_id"] for s in scans]
    assert {r["result"]["status"] for r in results(handheld)} == {"applied"}
    assert not [m for m in movements(server, sku) if m["reason"] == "offline_conflict"]
    assert (server.on_hand(sku, b1), server.on_hand(sku, b2)) == (1, 0)


@pytest.fixture(params=BACKENDS)
def own_server(request, tmp_path_factory) -> Iterator[Server]:
    """A server of this test's own: it gets killed."""
    tmp = tmp_path_factory.mktemp(f"outbox-kill-{request.param}")
    srv = start_server(request.param, tmp)
    srv.env["OUTBOX_TEST_LOG"] = str(tmp / "server.log")
    yield srv
    stop_server(srv)


def test_a_server_killed_mid_batch_applies_every_scan_exactly_once(browser, own_server):
    server = own_server
    mine = own(server, "OBKILL")
    sku, b1 = mine.sku, mine.bins[0]
    killed_at: list[int] = []

    def kill_once_the_batch_has_started() -> None:
        while (applied := server.on_hand(sku, b1)) == 0:
            pass
        kill(server)
        killed_at.append(applied)

    def kill_mid_batch(route: Route) -> None:
        killer = threading.Thread(target=kill_once_the_batch_has_started)
        killer.start()
        try:
            answer = route.fetch()
        except Error:
            answer = None
        killer.join()
        if answer is None:
            route.abort("connectionreset")
        else:
            route.fulfill(response=answer)

    with device(browser, server) as page:
        sign_in(page, "receiver")
        page.context.set_offline(True)
        scans = enqueue_many(page, [("receive", {"sku": sku, "qty": 1, "to_location": b1})] * SCANS_KILLED)
        page.route("**/sync/txns", kill_mid_batch, times=1)
        page.context.set_offline(False)
        page.evaluate("Stockline.outbox.drain()")  # the first batch: its server is killed under it
        assert len(killed_at) == 1 and 0 < killed_at[0] < SCANS_KILLED
        restart(server, server.env["OUTBOX_TEST_LOG"])
        drained(page, timeout_s=120)
    assert sorted(txn_of(m) for m in sync_movements(server, sku)) == sorted(s["txn_id"] for s in scans)
    assert server.on_hand(sku, b1) == SCANS_KILLED
    assert_check_clean(server)
