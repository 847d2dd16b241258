"""What a handheld scan means during picking and packing: a bin, an item (any unit), a SKU."""

from __future__ import annotations

from dataclasses import dataclass

from backend.domain.catalog.service import ItemView, find_item, resolve_item_scan
from backend.domain.errors import InvalidBarcode, UnknownBarcode, WrongScan
from backend.domain.locations.service import LocationView, find_by_barcode, find_location
from backend.domain.quantities import to_base_units


@dataclass(frozen=True, slots=True)
class ItemScan:
    item: ItemView
    base_per_scan: int  # a case barcode stands for 24 base units, a SKU typed in for 1
    lot: str  # lot or serial from a GS1 barcode; empty when the scan does not say

    def base_qty(self, qty: int) -> int:
        """`qty` scans (or cases, ...) of this barcode in base units."""
        return to_base_units(qty, self.base_per_scan, "scanned units")


async def find_item_scan(code: str) -> ItemScan | None:
    """Any item barcode (unit, case, GS1) or, failing that, a SKU typed or scanned from a label."""
    code = code.strip()
    if not code:
        return None
    try:
        scanned = await resolve_item_scan(code)
    except (UnknownBarcode, InvalidBarcode):
        item = await find_item(code)
        return ItemScan(item, 1, "") if item else None
    lot = scanned.serial if scanned.item.serial_tracked else scanned.lot
    return ItemScan(scanned.item, scanned.qty_base, lot)


async def require_bin(scanned: str, expected: LocationView) -> None:
    """The scan must be the expected bin's barcode or code; anything else sends the picker there."""
    code = scanned.strip()
    loc = await find_by_barcode(code) if code else None
    if loc is None and code:
        loc = await find_location(code)
    if loc is None or loc.id != expected.id:
        raise WrongScan(f"Wrong bin: go to {expected.code}.")


async def require_item(scanned: str, expected: ItemView, expected_lot: str = "") -> ItemScan:
    scan = await find_item_scan(scanned)
    if scan is None or scan.item.id != expected.id:
        raise WrongScan(f"Wrong item: this line is SKU {expected.sku} ({expected.name}).")
    if expected_lot and scan.lot and scan.lot != expected_lot:
        raise WrongScan(f"Wrong lot: this line is {expected.sku} lot {expected_lot}, you scanned lot {scan.lot}.")
    return scan
