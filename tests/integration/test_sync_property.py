"""Property: however a device's outbox delivers (batches re-cut, retried after lost responses,
duplicated, devices interleaved), the ledger ends up exactly as if each scan were applied once in
seq order: the same balances, the same multiset of movements, the same final status per scan.

Two regimes, because the compensation for a conflict depends on order by design (a move that
arrives before the receipt it depends on is a shortfall, after it is not):
* in order: every scan is first delivered after the scans before it (the protocol's drainer), while
  retries and duplicates of earlier ones come back at any time; stock is scarce, so conflicts,
  found stock and count tasks happen;
* any order: batches arrive in any order (gaps open and close); stock is ample, so the scans commute.

Each example builds two namespaces (own warehouse and item per device): B applies each scan once in
seq order, S applies the drawn delivery schedule; then they are compared.
"""

from __future__ import annotations

import asyncio
import itertools
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from backend import db
from backend.domain.auth.users import UserView
from backend.domain.ledger.check import check_ledger
from backend.migrations import migrate
from tests.conftest import BACKENDS, pg_database, reset_pg_schema, settings_for
from tests.factories import item, receive, warehouse
from tests.sync_support import Handheld, first_statuses, ledger_of, table_count, user

AMPLE_STOCK = 50  # > the most a scenario can take out of one bin (OPS_MAX × QTY_MAX)
OPS_MAX, QTY_MAX, RETRIES_IN_A_ROW_MAX = 15, 3, 2
_examples = itertools.count(1)

bins = st.sampled_from(["B1", "B2", "B3"])
qtys = st.integers(1, QTY_MAX)
ops = st.one_of(
    st.tuples(st.just("receive"), bins, qtys),
    st.tuples(st.just("move"), bins, bins, qtys).filter(lambda op: op[1] != op[2]),
    st.tuples(st.just("adjust"), bins, st.integers(-QTY_MAX, QTY_MAX).filter(bool)),
    st.just(("malformed",)),
)
scenarios = st.fixed_dictionaries({
    "any_order": st.booleans(),
    "devices": st.lists(st.lists(ops, min_size=1, max_size=OPS_MAX), min_size=1, max_size=2),
})


def _payload(op: tuple, ns: str) -> tuple[str, dict[str, Any]]:
    def loc(bin_: str) -> str:
        return f"{ns}-{bin_}"

    if op[0] == "receive":
        return "receive", {"sku": f"{ns}-X", "qty": op[2], "to_location": loc(op[1])}
    if op[0] == "move":
        return "move", {"sku": f"{ns}-X", "qty": op[3], "from_location": loc(op[1]), "to_location": loc(op[2])}
    if op[0] == "adjust":
        return "adjust", {"sku": f"{ns}-X", "location": loc(op[1]), "delta": op[2],
                          "reason": "found" if op[2] > 0 else "lost"}
    return "move", {"sku": f"{ns}-X", "qty": "two", "from_location": loc("B1"), "to_location": loc("B2")}


async def _namespace(prefix: str, devices: list[list[tuple]], ample: bool,
                     who: UserView) -> list[tuple[Handheld, list[dict]]]:
    """Per device: its own warehouse and item, and its scans as envelopes."""
    outboxes = []
    for d, device_ops in enumerate(devices):
        ns = f"{prefix}D{d}"
        bin_codes = await warehouse(code=ns)
        await item(f"{ns}-X")
        for code in bin_codes if ample else []:
            await receive(f"{ns}-X", AMPLE_STOCK, code)
        hh = Handheld(f"hh-{ns}")
        scans = [_payload(op, ns) for op in device_ops]
        outboxes.append((hh, [hh.scan(who, kind, **payload) for kind, payload in scans]))
    return outboxes


def _in_order_deliveries(data: st.DataObject, n: int) -> list[list[int]]:
    """Batches as the drainer sends them: new scans in order, old ones retried or duplicated."""
    batches, frontier, lost = [], 0, 0
    while frontier < n:
        start = data.draw(st.integers(max(0, frontier - 3), frontier))
        end = data.draw(st.integers(frontier + 1, min(n, frontier + 6)))
        batches.append(list(range(start, end)) + data.draw(st.lists(st.integers(0, end - 1), max_size=2)))
        if lost < RETRIES_IN_A_ROW_MAX and data.draw(st.booleans()):  # the response was lost
            lost += 1
        else:
            frontier, lost = end, 0
    return batches


def _any_order_deliveries(data: st.DataObject, n: int) -> list[list[int]]:
    cuts = sorted(set(data.draw(st.lists(st.integers(1, max(1, n - 1)), max_size=4)))) if n > 1 else []
    chunks = [list(range(a, b)) for a, b in zip([0, *cuts], [*cuts, n], strict=True)]
    repeated = [c for c in chunks for _ in range(data.draw(st.integers(1, 3)))]
    return data.draw(st.permutations(repeated))


async def _deliver(data: st.DataObject, outboxes: list[tuple[Handheld, list[dict]]], any_order: bool,
                   relay: UserView) -> None:
    draw = _any_order_deliveries if any_order else _in_order_deliveries
    queues = [[(hh, [scans[i] for i in batch]) for batch in draw(data, len(scans))] for hh, scans in outboxes]
    while any(queues):
        queue = data.draw(st.sampled_from([q for q in queues if q]))
        hh, batch = queue.pop(0)
        results = await hh.send(*data.draw(st.permutations(batch)), relay=relay)
        assert {r.status for r in results} <= {"applied", "duplicate", "needs_review", "rejected"}


async def _check(scenario: dict, data: st.DataObject, who: UserView) -> None:
    n, ample = next(_examples), scenario["any_order"]
    baseline = await _namespace(f"E{n}B", scenario["devices"], ample, who)
    for hh, scans in baseline:
        await hh.send(*scans, relay=who)
    replayed = await _namespace(f"E{n}S", scenario["devices"], ample, who)
    await _deliver(data, replayed, scenario["any_order"], who)
    assert await ledger_of(f"E{n}S") == await ledger_of(f"E{n}B")
    for (_, want), (hh, got) in zip(baseline, replayed, strict=True):
        assert await first_statuses([s["txn_id"] for s in got]) == await first_statuses([s["txn_id"] for s in want])
        assert await table_count("sync_gaps", "device_id = {} AND resolved = FALSE", hh.device_id) == 0
    assert await check_ledger() == []


async def _prepare(backend: str, tmp_path: Path) -> UserView:
    if backend == "postgres":
        await pg_database()
        await reset_pg_schema()
    await db.connect(settings_for(backend, tmp_path))
    await migrate()
    return await user("lead")  # may receive, move and adjust


@pytest.mark.parametrize("backend_name", BACKENDS)
def test_any_delivery_schedule_gives_the_ledger_of_applying_each_scan_once_in_seq_order(backend_name, tmp_path):
    loop = asyncio.new_event_loop()
    try:
        lead = loop.run_until_complete(_prepare(backend_name, tmp_path))

        @settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
        @given(scenario=scenarios, data=st.data())
        def deliveries_do_not_change_the_outcome(scenario: dict, data: st.DataObject) -> None:
            loop.run_until_complete(_check(scenario, data, lead))

        deliveries_do_not_change_the_outcome()
    finally:
        loop.run_until_complete(db.disconnect())
        loop.close()
