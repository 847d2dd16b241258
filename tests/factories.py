"""Setup helpers: a small warehouse and items, built through the domain's own commands."""

from __future__ import annotations

import itertools

from backend.domain.catalog.service import BarcodeSpec, ComponentSpec, NewItem, UnitSpec, create_item
from backend.domain.ledger import commands as c
from backend.domain.ledger.posting import CommandResult
from backend.domain.locations.service import NewLocation, create_location

_keys = itertools.count(1)


def key(prefix: str = "t") -> str:
    return f"{prefix}-{next(_keys)}"


async def warehouse(code: str = "WH1", bins: int = 3) -> list[str]:
    await create_location(NewLocation(code=code, kind="warehouse"))
    await create_location(NewLocation(code=f"{code}-Z", kind="zone", parent=code))
    codes = [f"{code}-B{n}" for n in range(1, bins + 1)]
    for n, bin_code in enumerate(codes, start=1):
        await create_location(NewLocation(code=bin_code, kind="bin", parent=f"{code}-Z", walk_seq=n))
    return codes


async def item(sku: str = "MUG", *, gtin: str | None = None, case_gtin: str | None = None, **kwargs) -> str:
    barcodes = [BarcodeSpec(gtin)] if gtin else []
    if case_gtin:
        barcodes.append(BarcodeSpec(case_gtin, "case"))
    await create_item(NewItem(sku=sku, name=f"Item {sku}", units=[UnitSpec("inner", 6), UnitSpec("case", 24)],
                              barcodes=barcodes, **kwargs))
    return sku


async def kit(sku: str, components: dict[str, int]) -> str:
    await create_item(NewItem(sku=sku, name=f"Kit {sku}",
                              components=[ComponentSpec(s, q) for s, q in components.items()]))
    return sku


async def receive(sku: str, qty: int, bin_code: str, **kwargs) -> CommandResult:
    return await c.execute(c.Receive(sku=sku, qty=qty, to_location=bin_code, **kwargs), key=key("rcv"), actor="test")
