"""Catalogue CSV import: every row is checked first, errors name the line and the reason, and a file
with any error writes nothing; opening stock posts once per file; large files; export imports back."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time

import pytest

from backend import db
from backend.domain import imports
from backend.domain.auth.audit import Actor
from backend.domain.catalog.service import get_item
from backend.domain.errors import InvalidInput
from backend.domain.ledger.check import check_ledger
from tests.sync_support import on_hand, table_count

CLI = Actor("system:test", device="test")
LOCATIONS = "code,kind,parent,name,walk_seq\nWH1,warehouse,,Main,\nWH1-A,zone,WH1,Aisle A,\n" \
            "WH1-A-01,bin,WH1-A,,1\nWH1-A-02,bin,WH1-A,,2\n"
ITEMS = "sku,name,base_unit,case_pack,units,lot_tracked\nMUG,Mug,each,24,inner=6,no\nTEA,Tea,each,,,yes\n"


async def load(text: str, kind: str | None = None, name: str = "file.csv") -> imports.Report:
    return await imports.import_file(imports.read_file(text.encode(), kind, name), CLI)  # type: ignore[arg-type]


async def catalogue() -> None:
    for text in (LOCATIONS, ITEMS):
        assert (await load(text)).ok


def messages(report: imports.Report) -> dict[int, str]:
    return {e.line: e.message for e in report.errors}


async def test_a_catalogue_loads_and_the_kind_is_told_by_the_header(ledger_db):
    await catalogue()
    mug = await get_item("MUG")
    assert (mug.units, (await get_item("TEA")).lot_tracked) == ({"inner": 6, "case": 24}, True)
    report = await load("sku,barcode,unit\nMUG,4006381333931,\nMUG,4006381333948,case\n")
    assert (report.kind, report.created) == ("barcodes", 2)
    stock = await load("sku,location,qty,unit,lot,expiry\nMUG,WH1-A-01,2,case,,\nTEA,WH1-A-02,5,,L1,2027-01-31\n")
    assert (stock.kind, stock.created) == ("stock", 2)
    assert (await on_hand("MUG", "WH1-A-01"), await table_count("lots", "lot = 'L1'")) == (48, 1)
    assert await table_count("locations", "code = 'WH1-STAGE'") == 1  # as a warehouse made on the tablet


async def test_bad_item_rows_are_listed_by_line_and_nothing_is_written(ledger_db):
    text = ("sku,name,case_pack,units,lot_tracked,unit_cost_cents\n"
            "GOOD-1,Good one,12,,no,100\n"        # line 2: fine
            "BAD SKU,Has a space,,,no,\n"         # line 3
            "GOOD-2,,,,no,\n"                      # line 4: no name
            "GOOD-1,Twice,,,no,\n"                 # line 5: duplicate SKU
            "\"MULTI\",\"A name\non two lines\",x,,no,\n"  # line 6 (ends on 7): case_pack not a number
            "GOOD-3,Units,,inner:6,no,\n"          # line 8: units malformed
            "GOOD-4,Flag,,,maybe,\n"               # line 9: not yes/no
            "GOOD-5,Cost,,,no,-5\n")               # line 10: negative cost
    report = await load(text)
    assert not report.ok and report.errors_total == 7
    found = messages(report)
    assert sorted(found) == [3, 4, 5, 6, 8, 9, 10]
    assert "without spaces" in found[3]
    assert ("name" in found[4] and "empty" in found[4]) or found[4] == "Item name is required."
    assert found[5] == "SKU GOOD-1 is also on line 2"
    assert found[6] == "case_pack must be a whole number, got 'x'"
    assert found[8] == "units must look like inner=6;case=24, got 'inner:6'"
    assert found[9] == "lot_tracked must be yes or no, got 'maybe'"
    assert found[10] == "unit_cost_cents must be at least 0, got -5"
    assert report.summary().startswith("7 of 8 row(s) have errors; nothing was imported")
    assert await table_count("items") == 0 and await table_count("audit_log") == 0


async def test_bad_stock_rows_post_nothing_and_claim_no_key(ledger_db):
    await catalogue()
    text = ("sku,location,qty,unit,lot,expiry\n"
            "MUG,WH1-A-01,5,,,\n"            # 2: fine
            "NOPE,WH1-A-01,1,,,\n"           # 3
            "MUG,WH9,1,,,\n"                 # 4
            "MUG,WH1-A,1,,,\n"               # 5: a zone
            "MUG,WH1-A-01,0,,,\n"            # 6
            "TEA,WH1-A-01,1,,,\n"            # 7: lot needed
            "MUG,WH1-A-01,1,pallet,,\n"      # 8: unknown unit
            "TEA,WH1-A-01,1,,L1,31/12/2026\n"  # 9: date
            "MUG,WH1-A-01,1,,,2026-12-31\n")  # 10: expiry without lot
    report = await load(text)
    found = messages(report)
    assert sorted(found) == [3, 4, 5, 6, 7, 8, 9, 10]
    assert found[3] == "no item with SKU 'NOPE'" and found[4] == "no location 'WH9'"
    assert found[5] == "WH1-A is a zone, not a place that holds stock"
    assert found[6] == "qty must be at least 1, got 0"
    assert found[7] == "TEA is tracked by lot: fill in the lot column"
    assert "has no unit 'pallet'" in found[8]
    assert found[9] == "expiry must be a date like 2026-12-31, got '31/12/2026'"
    assert found[10] == "an expiry date belongs to a lot: fill in the lot"
    assert await table_count("movements") == 0
    assert await table_count("command_log", "key LIKE 'import:%'") == 0  # the corrected file can be imported


async def test_bad_barcode_and_location_rows_are_reported(ledger_db):
    await catalogue()
    barcodes = await load("sku,barcode,unit\nMUG,4006381333932,\nNOPE,123,\nMUG,WH1-A-01,\nMUG,777,inner\nTEA,777,\n")
    found = messages(barcodes)
    assert sorted(found) == [2, 3, 4, 6]  # line 5 is fine: MUG has the unit inner
    assert "wrong check digit" in found[2]
    assert found[3] == "no item with SKU 'NOPE': import the items first"
    assert found[4] == "barcode WH1-A-01 is already used by a location"
    assert found[6] == "barcode 777 is also on line 5"
    locations = await load("code,kind,parent\nWH2-A,zone,WH2\nWH2,warehouse,\nWH2-B,zone,WH2\nB1,bin,WH2\n"
                           "WH1-A-01,bin,WH1-A\nC1,shelf,WH2-B\n")
    found = messages(locations)
    assert found[2] == "parent WH2 is not known: create it first or list it on an earlier line"
    assert found[5] == "the parent of a bin must be a zone; WH2 is a warehouse"
    assert found[7] == "kind must be warehouse, zone or bin, got 'shelf'"
    assert found[6] == "location WH1-A-01 already exists with other details; an import does not change it"
    assert await table_count("locations", "code LIKE 'WH2%'") == 0


async def test_the_same_stock_file_posts_once(ledger_db):
    await catalogue()
    text = "sku,location,qty\nMUG,WH1-A-01,7\nMUG,WH1-A-02,3\n"
    first = await load(text, name="opening.csv")
    again = await load(text, name="renamed.csv")  # the key is the content's, not the name's
    assert (first.created, first.replayed) == (2, False)
    assert (again.created, again.replayed) == (0, True)
    assert "imported before" in again.summary()
    assert (await on_hand("MUG", "WH1-A-01"), await on_hand("MUG", "WH1-A-02")) == (7, 3)
    assert await table_count("movements", "reason = 'opening_stock'") == 2


async def test_the_same_stock_file_imported_twice_at_once_posts_once(ledger_db):
    await catalogue()
    file = imports.read_file(b"sku,location,qty\nMUG,WH1-A-01,4\n", None, "x.csv")
    reports = await asyncio.gather(imports.import_file(file, CLI), imports.import_file(file, CLI))
    assert sorted(r.replayed for r in reports) == [False, True]
    assert await on_hand("MUG", "WH1-A-01") == 4


async def test_an_unreadable_file_is_refused_as_a_whole(ledger_db):
    for content, words in ((b"", "empty"), (b"sku,colour\nX,red\n", "not one of the known files"),
                           (b"sku,name,sku\n", "appears twice"), (b"\xff\xfe\x00", "not UTF-8")):
        with pytest.raises(imports.InvalidFile, match=words):
            imports.read_file(content)
    with pytest.raises(InvalidInput, match="Unknown column"):
        imports.read_file(b"sku,name,colour\n", "items")


ROWS = 10_000


async def test_a_10000_row_catalogue_imports_in_one_go(ledger_db):
    zones = 20
    locations = "code,kind,parent\nBIG,warehouse,\n" + "".join(f"BIG-Z{z},zone,BIG\n" for z in range(zones))
    locations += "".join(f"BIG-Z{n % zones}-{n:05d},bin,BIG-Z{n % zones}\n" for n in range(ROWS))
    items = "sku,name,case_pack\n" + "".join(f"SKU{n:05d},Item {n},{n % 12 + 1}\n" for n in range(ROWS))
    stock = "sku,location,qty,unit\n" + "".join(f"SKU{n:05d},BIG-Z{n % zones}-{n:05d},2,case\n" for n in range(ROWS))
    started = time.monotonic()
    for text in (locations, items, stock):
        report = await load(text)
        assert report.ok and report.created >= ROWS, report.summary()
    elapsed = time.monotonic() - started
    assert await table_count("items") == ROWS and await table_count("movements") == ROWS
    assert await on_hand("SKU00011", "BIG-Z11-00011") == 2 * 12
    assert await check_ledger() == []
    print(f"10,000-row locations + items + opening stock: {elapsed:.1f} s")


async def test_an_export_imports_back_unchanged(ledger_db):
    await catalogue()
    await load("sku,barcode,unit\nMUG,4006381333931,\nMUG,4006381333948,case\n")
    for kind in ("locations", "items", "barcodes"):
        text = "".join([chunk async for chunk in imports.export_csv(kind)])  # type: ignore[arg-type]
        report = await load(text, kind)
        assert report.ok and report.created == 0 and report.unchanged == len(report_rows(text)), (kind, text)


def report_rows(text: str) -> list[str]:
    return [line for line in text.splitlines()[1:] if line]


async def test_stock_and_movement_exports(ledger_db):
    await catalogue()
    await load("sku,location,qty,unit,lot\nMUG,WH1-A-01,1,case,\nTEA,WH1-A-02,3,,L7\n", name="open.csv")
    stock = "".join([c async for c in imports.export_csv("stock")])
    assert stock.splitlines() == ["sku,location,lot,on_hand,reserved,quarantined,damaged,available",
                                  "MUG,WH1-A-01,,24,0,0,0,24", "TEA,WH1-A-02,L7,3,0,0,0,3"]
    movements = "".join([c async for c in imports.export_csv("movements")]).splitlines()
    assert len(movements) == 3 and movements[1].split(",")[2:7] == ["MUG", "", "24", "SUPPLIER", "WH1-A-01"]
    assert movements[2].endswith("opening_stock,system:test,opening stock open.csv,")


def stockline(settings, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "STOCKLINE_DATABASE_URL": settings.database_url}
    return subprocess.run([sys.executable, "-m", "backend", *args], env=env, capture_output=True, text=True,
                          timeout=300)


async def test_the_cli_imports_lists_errors_and_exports(ledger_db, tmp_path):
    (tmp_path / "locations.csv").write_text(LOCATIONS)
    (tmp_path / "bad.csv").write_text("sku,name\nOK,Fine\nNO GOOD,Space\n")
    assert stockline(ledger_db, "import", str(tmp_path / "locations.csv")).returncode == 0
    bad = stockline(ledger_db, "import", "--kind", "items", str(tmp_path / "bad.csv"))
    assert bad.returncode == 1 and "bad.csv:3: SKU must be 1–64 characters without spaces" in bad.stdout
    assert "nothing was imported" in bad.stdout and await table_count("items") == 0
    out = tmp_path / "locations-export.csv"
    assert stockline(ledger_db, "export", "locations", "-o", str(out)).returncode == 0
    assert out.read_text().splitlines()[1] == "WH1,warehouse,,Main,WH1,0"
    assert await db.fetch_one("SELECT 1 AS one FROM locations WHERE code = 'WH1-A-02'")
