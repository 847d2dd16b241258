"""Golden barcode vectors against the catalogue on a real database: what resolve_item_scan (the
reading the ledger uses) makes of every vector's scan, on SQLite and PostgreSQL."""

from __future__ import annotations

from typing import Any

import pytest

from backend.domain import errors
from backend.domain.catalog.service import (
    BarcodeSpec,
    NewItem,
    UnitSpec,
    create_item,
    resolve_item_scan,
)
from tests.barcode_vectors import CATALOGUE, VECTORS

pytestmark = pytest.mark.usefixtures("ledger_db")


async def _create_catalogue() -> None:
    for spec in CATALOGUE:
        await create_item(NewItem(
            sku=spec["sku"], name=f"Item {spec['sku']}", base_unit=spec["base_unit"],
            units=[UnitSpec(unit, factor) for unit, factor in spec["units"].items()],
            barcodes=[BarcodeSpec(code, unit) for code, unit in spec["barcodes"].items()],
            lot_tracked=spec.get("lot_tracked", False)))


async def _interpretation(scan: str) -> dict[str, Any]:
    try:
        scanned = await resolve_item_scan(scan)
    except errors.UnknownBarcode:
        return {"refused": "unknown_barcode"}
    except errors.PalletLabel:
        return {"refused": "pallet"}
    except errors.InvalidBarcode:
        return {"refused": "invalid"}
    reading = scanned.reading
    assert reading is not None
    assert (scanned.lot, scanned.serial, scanned.expiry) == (reading.lot, reading.serial, reading.expiry)
    return {"sku": scanned.item.sku, "unit": scanned.unit, "factor": scanned.factor, "count": scanned.count,
            "qty_base": scanned.qty_base}


async def test_server_interprets_every_vector_against_the_catalogue() -> None:
    await _create_catalogue()
    disagree = {}
    for v in VECTORS:
        got = await _interpretation(v["scan"])
        if got != v["interpretation"]:
            disagree[v["name"]] = {"expected": v["interpretation"], "server": got}
    assert disagree == {}
