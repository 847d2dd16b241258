"""Item master and scan resolution on a real database."""

from __future__ import annotations

import pytest

from backend.domain import errors
from backend.domain.catalog.service import (
    BarcodeSpec,
    NewItem,
    UnitSpec,
    add_barcode,
    create_item,
    get_item,
    resolve_item_scan,
)
from tests.factories import item, warehouse

pytestmark = pytest.mark.usefixtures("ledger_db")


async def test_sku_is_unique_case_insensitively():
    await item("Mug-1")
    assert (await get_item("MUG-1")).sku == "Mug-1"
    with pytest.raises(errors.AlreadyExists):
        await item("mug-1")


async def test_case_barcode_means_24_each():
    await item("MUG", gtin="4006381333931", case_gtin="14006381333938")
    scan = await resolve_item_scan("14006381333938")
    assert (scan.item.sku, scan.unit, scan.qty_base) == ("MUG", "case", 24)
    assert (await resolve_item_scan("4006381333931")).qty_base == 1


async def test_gs1_scan_gives_lot_expiry_and_count_in_base_units():
    await item("COFFEE", gtin="4006381333931", case_gtin="14006381333938", lot_tracked=True)
    scan = await resolve_item_scan("]C1011400638133393817270131" + "10L77\x1d" + "372")
    assert (scan.item.sku, scan.lot, scan.count, scan.qty_base) == ("COFFEE", "L77", 2, 48)
    assert str(scan.expiry) == "2027-01-31"


async def test_gtin14_with_leading_zero_finds_the_gtin13_barcode():
    await item("MUG", gtin="4006381333931")
    assert (await resolve_item_scan("]C10104006381333931")).item.sku == "MUG"


async def test_barcode_is_unique_across_catalog_and_bins():
    await warehouse()
    await item("MUG", gtin="4006381333931")
    with pytest.raises(errors.AlreadyExists):
        await item("TEA", gtin="4006381333931")
    with pytest.raises(errors.AlreadyExists):
        await add_barcode("MUG", BarcodeSpec("WH1-B1"))


async def test_bad_check_digit_refused_on_create_and_scan():
    with pytest.raises(errors.InvalidBarcode):
        await item("MUG", gtin="4006381333932")
    with pytest.raises(errors.InvalidBarcode):
        await resolve_item_scan("4006381333932")


async def test_unknown_barcode():
    with pytest.raises(errors.UnknownBarcode):
        await resolve_item_scan("NOT-A-CODE")


async def test_barcode_for_unknown_unit_is_refused_and_nothing_is_half_written():
    with pytest.raises(errors.InvalidInput, match="pallet"):
        await create_item(NewItem(sku="BOX", name="Box", units=[UnitSpec("case", 12)],
                                  barcodes=[BarcodeSpec("CODE-1", "pallet")]))
    with pytest.raises(errors.UnknownItem):
        await get_item("BOX")


async def test_variant_has_parent_and_attributes():
    await item("TEE")
    await create_item(NewItem(sku="TEE-RED-M", name="Tee red M", parent_sku="TEE",
                              variant_attrs={"colour": "red", "size": "M"}))
    variant = await get_item("tee-red-m")
    assert variant.parent_id == (await get_item("TEE")).id
    assert variant.variant_attrs == {"colour": "red", "size": "M"}
