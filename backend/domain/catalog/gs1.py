"""Barcode grammar and reading: GTIN check digits, GS1 element strings, what one scan says.

`read_barcode` is the reading the ledger uses: the server reads every scan again when it applies
it, online or from an offline queue. The handheld's `web/static/gs1.js` reads the same way for
display only; `tests/vectors/barcodes.json` holds both to the same answers. Reading is pure (no
database): which item and unit a code names is `item_codes` + the catalogue, and how many of that
unit one scan stands for is `trade_item_count`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Literal

from biip import ParseError
from biip.gs1_application_identifiers import GS1ApplicationIdentifier
from biip.gs1_element_strings import GS1ElementString

from backend.domain.errors import InvalidBarcode

GTIN_LENGTHS = (8, 12, 13, 14)
GTIN14_LENGTH = 14
SSCC_LENGTH = 18
GS1_GROUP_SEPARATOR = "\x1d"
GS1_COUNT_MAX = 99_999_999  # AI 30 and AI 37 are N..8
# What a keyboard wedge may put around a scan: whitespace, the Enter it ends with, a stray GS.
SCAN_EDGE_CHARS = " \t\r\n\x0b\x0c\x1c\x1d\x1e\x1f"
# AIM symbology identifiers a scanner may send first (`]` + symbology + modifier).
_SYMBOLOGY = re.compile(r"\][A-Za-z][0-9A-Za-z]")
GS1_SYMBOLOGIES = frozenset({"]C1", "]d2", "]Q3", "]e0", "]J1"})  # GS1-128, DataMatrix, QR, DataBar, DotCode
GTIN_SYMBOLOGIES = frozenset({"]E0", "]E4", "]I1"})  # EAN-13/UPC-A, EAN-8, ITF-14
# Without a symbology identifier: a GS, or AI 01/02 + GTIN + more, or AI 00 + SSCC.
_ELEMENT_STRING_SHAPE = re.compile(r"0[12][0-9]{14}.|00[0-9]{18}", re.DOTALL)
_ASCII_DIGITS = re.compile(r"[0-9]+")  # str.isdigit() also takes '²' and other scripts' digits
_DATE_AIS = frozenset({"11", "12", "13", "15", "16", "17"})
_NET_WEIGHT = re.compile(r"3([12])0([0-5])")  # 310x kilograms, 320x pounds; x = digits after the point

ReadingKind = Literal["gtin", "sscc", "gs1", "unknown", "invalid"]
# Why a scan is invalid: a GTIN/SSCC check digit; a date that does not exist; an AI that GS1 does
# not define; a value that does not fit its AI (or a GTIN symbol that is not a GTIN); a count of
# zero; a GS1 string that names no trade item and no logistic unit.
ReadingError = Literal["check_digit", "date", "unknown_ai", "malformed", "count", "no_item"]
WeightUnit = Literal["kg", "lb"]


@dataclass(frozen=True, slots=True)
class BarcodeReading:
    """What one scan says, before the catalogue is asked. Empty/None = the scan does not say."""

    kind: ReadingKind
    code: str = ""  # kind "unknown": the scan as it is looked up (no symbology identifier)
    gtin: str = ""  # GTIN-14 of the trade item: a bare EAN/UPC/ITF padded to 14, or AI 01
    content_gtin: str = ""  # AI 02: GTIN-14 of the trade items inside a logistic unit
    sscc: str = ""  # AI 00
    lot: str = ""  # AI 10
    serial: str = ""  # AI 21
    production_date: date | None = None  # AI 11
    best_before: date | None = None  # AI 15
    expiry: date | None = None  # AI 17; day 00 = the last day of that month
    variable_count: int | None = None  # AI 30: pieces in a variable-count trade item
    count: int | None = None  # AI 37: trade items in a logistic unit
    net_weight: Decimal | None = None  # AI 310x / 320x, the point placed by x
    net_weight_unit: WeightUnit | None = None
    error: ReadingError | None = None
    message: str = ""  # kind "invalid": what the picker reads

    def as_json(self) -> dict[str, str | int]:
        """The fields the scan says, as the vectors file writes them (dates ISO, weight as text)."""
        out: dict[str, str | int] = {"kind": self.kind}
        for name in ("code", "gtin", "content_gtin", "sscc", "lot", "serial"):
            if text := getattr(self, name):
                out[name] = text
        for name in ("production_date", "best_before", "expiry"):
            if (day := getattr(self, name)) is not None:
                out[name] = day.isoformat()
        for name in ("variable_count", "count"):
            if (number := getattr(self, name)) is not None:
                out[name] = number
        if self.net_weight is not None and self.net_weight_unit is not None:
            out["net_weight"] = str(self.net_weight)
            out["net_weight_unit"] = self.net_weight_unit
        if self.error is not None:
            out["error"] = self.error
        return out


class _Unreadable(Exception):
    def __init__(self, error: ReadingError, message: str) -> None:
        super().__init__(message)
        self.error: ReadingError = error
        self.message = message


def gtin_check_digit(body: str) -> int:
    """Check digit for the digits before it (GS1 mod-10, weights 3,1 from the right)."""
    total = sum(int(d) * (3 if i % 2 == 0 else 1) for i, d in enumerate(reversed(body)))
    return (10 - total % 10) % 10


def is_gtin_shaped(code: str) -> bool:
    return _ASCII_DIGITS.fullmatch(code) is not None and len(code) in GTIN_LENGTHS


def validate_gtin(code: str) -> None:
    if not is_gtin_shaped(code):
        raise InvalidBarcode(f"{code!r} is not a GTIN: expected 8, 12, 13 or 14 digits.")
    if wrong := _wrong_check_digit(code, "Barcode"):
        raise InvalidBarcode(wrong)


def _wrong_check_digit(digits: str, what: str) -> str:
    """What the picker reads when the last digit is not the check digit of the others; else ''."""
    expected = gtin_check_digit(digits[:-1])
    if int(digits[-1]) == expected:
        return ""
    return f"{what} {digits} has a wrong check digit (expected {expected}). Rescan or type it again."


def gtin_lookup_forms(gtin: str) -> list[str]:
    """A GTIN-14 with leading zeros is the same trade item as its GTIN-13/12/8 form."""
    forms = [gtin]
    for length in (13, 12, 8):
        if len(gtin) > length and gtin[: len(gtin) - length].strip("0") == "":
            forms.append(gtin[len(gtin) - length :])
    return forms


def looks_like_gs1(code: str) -> bool:
    """A GS1 element string: by its symbology identifier, a GS, or the shape of AI 00/01/02."""
    symbology, body = _split_symbology(code.strip(SCAN_EDGE_CHARS))
    return symbology in GS1_SYMBOLOGIES or _shaped_like_element_string(body)


def _shaped_like_element_string(body: str) -> bool:
    return GS1_GROUP_SEPARATOR in body or _ELEMENT_STRING_SHAPE.match(body) is not None


def _split_symbology(code: str) -> tuple[str, str]:
    if _SYMBOLOGY.match(code):
        return code[:3], code[3:]
    return "", code


def read_barcode(scan: str) -> BarcodeReading:
    """The reading of one scan as a keyboard wedge delivers it (GS between fields)."""
    symbology, body = _split_symbology(scan.strip(SCAN_EDGE_CHARS))
    try:
        if symbology in GS1_SYMBOLOGIES or (symbology not in GTIN_SYMBOLOGIES and _shaped_like_element_string(body)):
            return _read_element_strings(body)
        if symbology in GTIN_SYMBOLOGIES or is_gtin_shaped(body):
            return _read_gtin(body)
    except _Unreadable as refused:
        return BarcodeReading(kind="invalid", error=refused.error, message=refused.message)
    return BarcodeReading(kind="unknown", code=body)


def _read_gtin(body: str) -> BarcodeReading:
    if not is_gtin_shaped(body):
        raise _Unreadable("malformed", f"{body!r} is not a GTIN: expected 8, 12, 13 or 14 digits.")
    _valid_digits(body, "Barcode")
    return BarcodeReading(kind="gtin", gtin=body.zfill(GTIN14_LENGTH))


def _valid_digits(digits: str, what: str) -> str:
    if wrong := _wrong_check_digit(digits, what):
        raise _Unreadable("check_digit", wrong)
    return digits


def _element_strings(body: str) -> dict[str, GS1ElementString]:
    """Each AI's element string, first one wins; GS may follow any field (GS1 GenSpecs 7.8.6)."""
    fields: dict[str, GS1ElementString] = {}
    rest = body
    while rest:
        try:
            ai = GS1ApplicationIdentifier.extract(rest)
        except ParseError:
            raise _Unreadable("unknown_ai", f"This label has a field Stockline cannot read ({rest[:8]!r}). "
                                            "Scan the item barcode instead.") from None
        try:
            element = GS1ElementString.extract(rest)
        except ParseError:
            if ai.ai in _DATE_AIS:
                raise _Unreadable("date", f"The {ai.data_title} on this label is not a real date. "
                                          "Scan the item barcode and type the date.") from None
            raise _Unreadable("malformed", f"The {ai.data_title} (AI {ai.ai}) on this label cannot be read. "
                                           "Rescan, or scan the item barcode.") from None
        fields.setdefault(ai.ai, element)
        rest = rest[len(element):].lstrip(GS1_GROUP_SEPARATOR)
    return fields


def _count_of(element: GS1ElementString | None) -> int | None:
    if element is None:
        return None
    count = int(element.value or "0")
    if not 0 < count <= GS1_COUNT_MAX:
        raise _Unreadable("count", f"The count (AI {element.ai.ai}) on this barcode must be at least 1.")
    return count


def _read_element_strings(body: str) -> BarcodeReading:
    fields = _element_strings(body)
    sscc = _valid_digits(fields["00"].value, "SSCC") if "00" in fields else ""
    gtin = _valid_digits(fields["01"].value, "GTIN") if "01" in fields else ""
    content = _valid_digits(fields["02"].value, "GTIN") if "02" in fields else ""
    variable_count = _count_of(fields.get("30"))
    count = _count_of(fields.get("37"))
    if not (gtin or content or sscc):
        raise _Unreadable("no_item", "This GS1 barcode has no GTIN (AI 01): scan the item barcode instead.")
    weight = next((e for ai, e in fields.items() if _NET_WEIGHT.fullmatch(ai)), None)
    return BarcodeReading(
        kind="gs1" if gtin or content else "sscc",
        gtin=gtin,
        content_gtin=content,
        sscc=sscc,
        lot=fields["10"].value if "10" in fields else "",
        serial=fields["21"].value if "21" in fields else "",
        production_date=fields["11"].date if "11" in fields else None,
        best_before=fields["15"].date if "15" in fields else None,
        expiry=fields["17"].date if "17" in fields else None,
        variable_count=variable_count,
        count=count,
        net_weight=weight.decimal if weight is not None else None,
        net_weight_unit=(("kg" if weight.ai.ai[1] == "1" else "lb") if weight is not None else None),
    )


def item_codes(reading: BarcodeReading) -> list[str]:
    """The catalogue barcodes that may name the item, best first; none for invalid or SSCC-only scans.

    A label with AI 01 names its own trade item; with AI 02 only (a logistic unit), the trade items
    inside it. A code that is no GTIN or GS1 string is looked up as it is.
    """
    if reading.kind == "unknown":
        return [reading.code]
    gtin = reading.gtin or reading.content_gtin
    return gtin_lookup_forms(gtin) if gtin else []


def trade_item_count(reading: BarcodeReading) -> int:
    """How many of the scanned barcode's unit one scan stands for.

    AI 37 counts trade items in a logistic unit and AI 30 the pieces of a variable-count trade
    item: both multiply (a label with both is 37 items of 30 pieces). A net weight (310x/320x) is
    read and shown but never counted: the label still names one trade item.
    """
    return (reading.count or 1) * (reading.variable_count or 1)
