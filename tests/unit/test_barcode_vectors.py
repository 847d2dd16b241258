"""Golden barcode vectors: the server's reading of every vector, the handheld's (Node) agreeing with
it, and a vectors file that still covers every AI and case the two readers once disagreed on."""

from __future__ import annotations

import calendar
import json
import random
import re
import shutil
import subprocess
import typing
from itertools import product

import pytest
from biip import ParseError
from biip.gs1_application_identifiers import (
    _GS1_APPLICATION_IDENTIFIERS,
    GS1ApplicationIdentifier,
)

from backend.domain.catalog.gs1 import SCAN_EDGE_CHARS, ReadingError, read_barcode
from tests.barcode_vectors import NODE_RUNNER, VECTORS, VECTORS_FILE

NODE_TIMEOUT_S = 60
GS = "\x1d"
GS1_JS = VECTORS_FILE.parents[2] / "web" / "static" / "gs1.js"


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
    done = subprocess.run([_node(), "-e", script, str(GS1_JS)], input=json.dumps(starts), capture_output=True,
                          text=True, timeout=NODE_TIMEOUT_S, check=True)
    handheld = dict(zip(starts, json.loads(done.stdout), strict=True))

    def server(start: str) -> str:
        try:
            return GS1ApplicationIdentifier.extract(start).ai
        except ParseError:
            return ""

    differ = {s: (server(s), handheld[s]) for s in starts if server(s) != handheld[s]}
    assert differ == {}


def test_handheld_checks_each_application_identifiers_value_as_the_server_does() -> None:
    """The value pattern of every AI in biip's table, as gs1.js has it."""
    table = {ai.ai: ai.pattern for ai in _GS1_APPLICATION_IDENTIFIERS.values()}
    script = ("const g = require(process.argv[1]); const ais = JSON.parse(require('fs').readFileSync(0, 'utf8'));"
              "process.stdout.write(JSON.stringify(ais.map(g.valuePatternOf)));")
    done = subprocess.run([_node(), "-e", script, str(GS1_JS)], input=json.dumps(list(table)), capture_output=True,
                          text=True, timeout=NODE_TIMEOUT_S, check=True)
    handheld = dict(zip(table, json.loads(done.stdout), strict=True))
    # biip writes ^AI(value)$; gs1.js matches ^(value) after the AI, up to the next GS
    differ = {ai: (table[ai], handheld[ai]) for ai in table if f"^{ai}{handheld[ai][1:]}$" != table[ai]}
    assert differ == {}


LABEL_FIELDS = ["0104006381333931", "0114006381333938", "0200036000291452", "00106141411234567897", "10L77",
                "21SN9", "17261100", "17270230", "1726110", "11260101", "15270115", "3712", "370", "3012", "30",
                "3103001250", "3202000450", "3109000001", "400PO-1", "240X Y", "8008261231", "4324260101999",
                "7007260101260202", "8010AB#1", "90a b", "19", "8030ab+/="]
GENERATED_LABELS = 5000


def test_handheld_and_server_agree_on_generated_labels() -> None:
    """Fields valid and not, joined with and without GS: the two readers give the same reading."""
    rng = random.Random(20261130)
    scans = [rng.choice(["]C1", "]d2", "", "]E0"])
             + rng.choice([GS, "", GS * 2]).join(rng.choices(LABEL_FIELDS, k=rng.randint(1, 5)))
             + rng.choice(["", GS, "\r\n"]) for _ in range(GENERATED_LABELS)]
    script = ("const g = require(process.argv[1]); const scans = JSON.parse(require('fs').readFileSync(0, 'utf8'));"
              "process.stdout.write(JSON.stringify(scans.map((s) => { const { message, ...r } = g.readBarcode(s);"
              " return r; })));")
    done = subprocess.run([_node(), "-e", script, str(GS1_JS)], input=json.dumps(scans), capture_output=True,
                          text=True, timeout=NODE_TIMEOUT_S, check=True)
    handheld = json.loads(done.stdout)
    differ = [(s, read_barcode(s).as_json(), h) for s, h in zip(scans, handheld, strict=True)
              if read_barcode(s).as_json() != h]
    assert differ[:5] == []


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
