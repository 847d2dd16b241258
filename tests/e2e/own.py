"""Items and bins of a test's own. The browser tests share one server per backend, so a test that moves,
counts or adjusts the seeded stock (MUG in A-01, LAMP in B-01 ...) changes what the next test finds, and a
count or an offline conflict opens a count task on a bin that holds up the next test's scans there. Each
test that reads or changes stock makes its own: `own(server, "MV", Item(stock={0: 5}))` is a fresh zone of
fresh bins in WH1 with a fresh item holding 5 in the first bin, so the tests pass in any order.

Run as a module it seeds (in the server's database): `python -m tests.e2e.own '<json>'`.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import subprocess
import sys
from dataclasses import dataclass, field
from typing import Any

from tests.e2e.conftest import Server

_numbers = itertools.count(1)
CASE = 24  # each in a case (tests.factories.item's units)


def gtin_check_digit(body: str) -> str:
    total = sum(int(d) * (3 if i % 2 == 0 else 1) for i, d in enumerate(reversed(body)))
    return str((10 - total % 10) % 10)


@dataclass(frozen=True)
class Item:
    """What a test needs of one of its items: stock by index of the test's bins, barcodes, lots."""
    stock: dict[int, int] = field(default_factory=dict)
    barcodes: bool = False  # a GTIN-13 for each and a GTIN-14 for a case of 24
    lot_tracked: bool = False
    unit_cost_cents: int = 0


@dataclass(frozen=True)
class OwnItem:
    sku: str
    gtin: str = ""
    case_gtin: str = ""

    def gs1(self, lot: str, expiry: str = "271231") -> str:
        """A GS1-128 label (as the scanner sends it) for one each of this item with `lot`."""
        return f"]C101{self.gtin.zfill(14)}17{expiry}10{lot}"


@dataclass(frozen=True)
class Own:
    zone: str
    bins: list[str]
    items: list[OwnItem]
    pick: dict[str, Any] | None = None  # the first item's pick list line, with pick_qty

    @property
    def sku(self) -> str:
        return self.items[0].sku

    @property
    def item(self) -> OwnItem:
        return self.items[0]


def own(server: Server, name: str, *items: Item, bins: int = 4, pick_qty: int = 0) -> Own:
    """A fresh zone with `bins` fresh bins, and a fresh item for each of `items` (one plain item if none):
    SKU `name` + a number, bins `T<number>-01`...; with `pick_qty`, an order of the first item on a pick list."""
    n = next(_numbers)
    items = items or (Item(),)
    zone, bin_codes = f"WH1-T{n}", [f"T{n}-{i:02d}" for i in range(1, bins + 1)]
    made = []
    for i, spec in enumerate(items):
        sku = f"{name}{n}{'' if i == 0 else chr(ord('A') + i)}"
        gtin = case = ""
        if spec.barcodes:
            body = f"29{n:07d}{i:03d}"  # GS1 prefix 2x: for use inside one company, never a real product
            gtin = body + gtin_check_digit(body)
            case = "1" + body + gtin_check_digit("1" + body)
        made.append(OwnItem(sku, gtin, case))
    spec = {"zone": zone, "bins": bin_codes,
            "items": [{"sku": m.sku, "gtin": m.gtin, "case_gtin": m.case_gtin, "lot_tracked": s.lot_tracked,
                       "unit_cost_cents": s.unit_cost_cents, "stock": [[bin_codes[b], q] for b, q in s.stock.items()]}
                      for m, s in zip(made, items, strict=True)],
            "pick": [made[0].sku, pick_qty] if pick_qty else None}
    out = subprocess.run([sys.executable, "-m", "tests.e2e.own", json.dumps(spec)], env=server.env,
                         capture_output=True, text=True, timeout=120, check=False)
    assert out.returncode == 0, out.stderr[-2000:]
    pick = json.loads(out.stdout.strip().splitlines()[-1])["pick"]
    return Own(zone, bin_codes, made, pick)


async def _seed(spec: dict[str, Any]) -> dict[str, Any]:
    from backend import db
    from backend.domain.auth.audit import Actor
    from backend.domain.fulfillment.service import (
        NewManualOrder,
        OrderLineSpec,
        create_manual_order,
        create_pick_list,
    )
    from backend.domain.ledger import commands
    from backend.domain.locations.service import NewLocation, create_location
    from backend.settings import Settings
    from tests.factories import item

    await db.connect(Settings.from_env())
    try:
        await create_location(NewLocation(code=spec["zone"], kind="zone", parent="WH1"))
        for n, code in enumerate(spec["bins"], start=100):
            await create_location(NewLocation(code=code, kind="bin", parent=spec["zone"], walk_seq=n))
        for it in spec["items"]:
            await item(it["sku"], gtin=it["gtin"] or None, case_gtin=it["case_gtin"] or None,
                       lot_tracked=it["lot_tracked"], unit_cost_cents=it["unit_cost_cents"])
            for bin_code, qty in it["stock"]:
                lot = {"lot": "L-SEED"} if it["lot_tracked"] else {}
                receipt = commands.Receive(sku=it["sku"], qty=qty, to_location=bin_code, **lot)
                await commands.execute(receipt, key=f"seed-{it['sku']}-{bin_code}", actor="system:test")
        out: dict[str, Any] = {"pick": None}
        if spec["pick"]:
            sku, qty = spec["pick"]
            ref, system = f"SO-{sku}", Actor("system:test")
            await create_manual_order(NewManualOrder(order_ref=ref, lines=[OrderLineSpec(sku, qty)], warehouse="WH1"),
                                      key=f"order-{ref}", actor=system)
            pick_list = await create_pick_list(ref, key=f"pick-list-{ref}", actor=system)
            line = pick_list.lines[0]
            out["pick"] = {"pick_list_id": pick_list.id, "line_id": line.id, "bin": line.bin, "item_code": line.sku,
                           "qty": line.qty}
        return out
    finally:
        await db.disconnect()


if __name__ == "__main__":
    print(json.dumps(asyncio.run(_seed(json.loads(sys.argv[1])))))
