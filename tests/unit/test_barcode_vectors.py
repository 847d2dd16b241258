"""Golden barcode vectors: the server's reading of every vector, the handheld's (Node) agreeing with
it, and a vectors file that still covers every AI and case the two readers once disagreed on."""

from __future__ import annotations

import calendar
import json
import re
import shutil
import subprocess
import typing
from itertools import product

import pytest
from biip import ParseError
from biip.gs1_application_identifiers import GS1ApplicationIdentifier

from backend.domain.catalog.gs1 import SCAN_EDGE_CHARS, ReadingError, read_barcode
from tests.barcode_vectors import NODE_RUNNER, VECTORS, VECTORS_FILE

NODE_TIMEOUT_S = 60
GS = "\x1d"


@pytest.mark.parametrize("vector", VECTORS, ids=[v["name"] for v in VECTORS])
def test_server_reads_the_vector(vector: dict[str, typing.Any]) -> None:
    reading = read_barcode(vector["scan"])
    assert reading.as_json() == vector["reading"]
    assert bool(reading.message) == (reading.kind == "invalid")  # an invalid scan says why


def _node() -> str:
    node = shutil.which("node")
    assert node is not None, "node is needed to run the handheld's barcode reader (scripts/test installs it)"
    return node


def test_handheld_reader_agrees_on_every_vector() -> None:
    done = subprocess.run([_node(), str(NODE_RUNNER)], capture_output=True, text=True, timeout=NODE_TIMEOUT_S,
                          check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"{len(VECTORS)} barcode vectors agree" in done.stdout


def test_handheld_knows_the_same_application_identifiers_as_the_server() -> None:
    """Every 4-digit start of a field: the AI biip finds there, and the one gs1.js finds."""
    starts = ["".join(d) for d in product("0123456789", repeat=4)]
    script = ("const g = require(process.argv[1]); const starts = JSON.parse(require('fs').readFileSync(0, 'utf8'));"
              "process.stdout.write(JSON.stringify(starts.map(g.definedAi)));")
    gs1_js = str(VECTORS_FILE.parents[2] / "web" / "static" / "gs1.js")
    done = subprocess.run([_node(), "-e", script, gs1_js], input=json.dumps(starts), capture_output=True,
                          text=True, timeout=NODE_TIMEOUT_S, check=True)
    handheld = dict(zip(starts, json.loads(done.stdout), strict=True))

    def server(start: str) -> str:
        try:
            return GS1ApplicationIdentifier.extract(start).ai
        except ParseError:
            return ""

    differ = {s: (server(s), handheld[s]) for s in starts if server(s) != handheld[s]}
    assert differ == {}


# ---- the file covers what it must ---------------------------------------------------------------

def _symbology(scan: str) -> str:
    code = scan.strip(SCAN_EDGE_CHARS)
    return code[:3] if re.match(r"\][A-Za-z][0-9A-Za-z]", code) else ""


def _body(scan: str) -> str:
    return scan.strip(SCAN_EDGE_CHARS)[len(_symbology(scan)):]


def _with(**fields: object) -> list[dict[str, typing.Any]]:
    return [v for v in VECTORS if all(v["reading"].get(k) == want for k, want in fields.items())]


def _having(*fields: str) -> list[dict[str, typing.Any]]:
    return [v for v in VECTORS if all(f in v["reading"] for f in fields)]


def _counted(v: dict[str, typing.Any]) -> int | None:
    qty: int | None = v["interpretation"].get("qty_base")
    return qty


REQUIRED_FIELDS = {  # AI: the reading field it fills
    "00": "sscc", "01": "gtin", "02": "content_gtin", "10": "lot", "11": "production_date", "15": "best_before",
    "17": "expiry", "21": "serial", "30": "variable_count", "37": "count", "310x": "net_weight",
}


@pytest.mark.parametrize(("ai", "field"), REQUIRED_FIELDS.items())
def test_vectors_cover_application_identifier(ai: str, field: str) -> None:
    assert [v for v in _having(field) if v["reading"]["kind"] in ("gs1", "sscc")], f"no vector reads AI {ai}"


def test_vectors_cover_net_weight_in_kilograms_and_pounds() -> None:
    assert _with(net_weight_unit="kg") and _with(net_weight_unit="lb")
    assert all("sku" in v["interpretation"] for v in _having("net_weight"))  # read, not refused (AI 3103)


def test_vectors_cover_separators_and_symbology_identifiers() -> None:
    read = [v for v in VECTORS if v["reading"]["kind"] == "gs1"]
    assert [v for v in read if GS in _body(v["scan"]).rstrip(GS)], "GS between fields"
    assert [v for v in read if _symbology(v["scan"]) == "]C1"], "FNC1 first, sent as ]C1"
    assert [v for v in read if _symbology(v["scan"]) == ""], "a GS1 string without symbology identifier"


def test_vectors_cover_every_refusal_and_error_class() -> None:
    assert {v["reading"].get("error") for v in _with(kind="invalid")} == set(typing.get_args(ReadingError))
    assert {v["interpretation"].get("refused") for v in VECTORS} >= {"invalid", "pallet", "unknown_barcode"}


def test_vectors_cover_bad_check_digits_of_every_symbol() -> None:
    bad = [_body(v["scan"]) for v in _with(error="check_digit")]
    assert {len(b) for b in bad if b.isdigit()} >= {12, 13, 14}, "UPC-A, EAN-13, ITF-14"
    assert {b[:2] for b in bad if not b.isdigit() or len(b) > 14} >= {"00", "01", "02"}, "SSCC, AI 01, AI 02"


def test_vectors_cover_day_00_expiry_as_last_day_of_month() -> None:
    day_00 = [v for v in _having("expiry") if re.search(r"17\d{4}00", _body(v["scan"]))]
    assert day_00
    for v in day_00:
        year, month, day = map(int, v["reading"]["expiry"].split("-"))
        assert day == calendar.monthrange(year, month)[1]
    assert _with(expiry="2026-11-30"), "the label found read as Nov 30 online and Nov 01 offline"


def test_vectors_cover_gtin_symbols_and_cases() -> None:
    gtins = {len(_body(v["scan"])): v for v in _with(kind="gtin")}
    assert {8, 12, 13, 14} <= set(gtins), "EAN-8, UPC-A, EAN-13, ITF-14"
    cases = [v for v in _with(kind="gtin") if v["interpretation"].get("factor", 1) > 1]
    assert cases and all(_counted(v) == v["interpretation"]["factor"] for v in cases), "ITF-14 of a case"
    assert _with(kind="unknown") and [v for v in _with(kind="unknown") if "sku" in v["interpretation"]]


def test_vectors_cover_counts_that_multiply() -> None:
    assert [v for v in _with(count=12) if _counted(v) == 12], "AI 37 of 12 is 12 units"
    assert [v for v in _with(variable_count=12) if _counted(v) == 12], "AI 30 of 12 is 12 units"
    logistic = [v for v in _having("content_gtin", "count") if v["interpretation"].get("factor", 1) > 1]
    assert [v for v in logistic if _counted(v) == v["interpretation"]["factor"] * v["reading"]["count"]], \
        "AI 02 + AI 37: content GTIN's unit times the count"
