"""A supplier and a sent purchase order in the browser tests' server database, and the order read back
(run as a subprocess with the server's environment, as `own.py` seeds items).

    python -m tests.e2e.purchasing_seed order '{"supplier": "SUP1", "lines": {"SKU": 5}}'  → {"id", "number"}
    python -m tests.e2e.purchasing_seed read '{"id": 7}'  → {"status", "lines": {"SKU": [ordered, received]}}
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from typing import Any

from tests.e2e.conftest import Server


def run(server: Server, action: str, spec: dict[str, Any]) -> dict[str, Any]:
    out = subprocess.run([sys.executable, "-m", "tests.e2e.purchasing_seed", action, json.dumps(spec)],
                         env=server.env, capture_output=True, text=True, timeout=120, check=False)
    assert out.returncode == 0, out.stderr[-2000:]
    return dict(json.loads(out.stdout.strip().splitlines()[-1]))


async def _main(action: str, spec: dict[str, Any]) -> dict[str, Any]:
    from backend import db
    from backend.domain import purchasing as p
    from backend.domain.auth.audit import Actor
    from backend.domain.catalog.service import get_item
    from backend.domain.locations.service import get_location
    from backend.settings import Settings

    await db.connect(Settings.from_env())
    try:
        if action == "read":
            po = await p.get_order(int(spec["id"]))
            lines = {line.sku: [line.qty_ordered, line.qty_received] for line in po.lines}
            return {"status": po.status, "lines": lines}
        system, code = Actor("system:test"), spec["supplier"]
        supplier = await p.create_supplier(p.NewSupplier(code=code, name=f"Supplier {code}", currency="EUR"),
                                           actor=system, key=f"e2e:{code}")
        lines = [p.DraftLine(item_id=(await get_item(sku)).id, qty=qty) for sku, qty in spec["lines"].items()]
        order = p.DraftOrder(supplier_id=supplier.id, warehouse_id=(await get_location("WH1")).id, lines=lines)
        [po_id] = await p.create_draft_orders([order], actor=system, key=f"e2e:{code}:draft")
        po = await p.send_order(po_id, actor=system, key=f"e2e:{code}:send")
        return {"id": po.id, "number": po.number}
    finally:
        await db.disconnect()


if __name__ == "__main__":
    print(json.dumps(asyncio.run(_main(sys.argv[1], json.loads(sys.argv[2])))))
