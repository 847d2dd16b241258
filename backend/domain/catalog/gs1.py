"""Barcode grammar: GTIN check digits and GS1 element strings (GS1-128, GS1 DataMatrix)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import biip

from backend.domain.errors import InvalidBarcode

GTIN_LENGTHS = (8, 12, 13, 14)
GS1_GROUP_SEPARATOR = "\x1d"
GS1_COUNT_MAX = 99_999_999  # AI 37 is N..8


def gtin_check_digit(body: str) -> int:
    """Check digit for the digits before it (GS1 mod-10, weights 3,1 from the right)."""
    total = sum(int(d) * (3 if i % 2 == 0 else 1) for i, d in enumerate(reversed(body)))
    return (10 - total % 10) % 10


def is_gtin_shaped(code: str) -> bool:
    return code.isdigit() and len(code) in GTIN_LENGTHS


def validate_gtin(code: str) -> None:
    if not is_gtin_shaped(code):
        raise InvalidBarcode(f"{code!r} is not a GTIN: expected 8, 12, 13 or 14 digits.")
    expected = gtin_check_digit(code[:-1])
    if int(code[-1]) != expected:
        raise InvalidBarcode(
            f"Barcode {code} has a wrong check digit (expected {expected}). Rescan or type it again."
        )


def gtin_lookup_forms(gtin: str) -> list[str]:
    """A GTIN-14 with leading zeros is the same trade item as its GTIN-13/12/8 form."""
    forms = [gtin]
    for length in (13, 12, 8):
        if len(gtin) > length and gtin[: len(gtin) - length].strip("0") == "":
            forms.append(gtin[len(gtin) - length :])
    return forms


@dataclass(frozen=True, slots=True)
class GS1Data:
    gtin: str
    lot: str = ""
    expiry: date | None = None
    serial: str = ""
    count: int = 1


def looks_like_gs1(code: str) -> bool:
    if code.startswith(("]C1", "]d2", "]Q3", "]e0")) or GS1_GROUP_SEPARATOR in code:
        return True
    return code.startswith("01") and len(code) > 16 and code[2:16].isdigit()


def parse_gs1(code: str) -> GS1Data:
    result = biip.parse(code)
    message = result.gs1_message
    if message is None:
        raise InvalidBarcode(f"Could not read the GS1 barcode: {result.gs1_message_error}")
    fields = {es.ai.ai: es for es in message.element_strings}
    if "01" not in fields:
        raise InvalidBarcode("This GS1 barcode has no GTIN (AI 01): scan the item barcode instead.")
    gtin = fields["01"].value
    validate_gtin(gtin)
    count = 1
    if "37" in fields:
        count = int(fields["37"].value)
        if not 0 < count <= GS1_COUNT_MAX:
            raise InvalidBarcode("The count (AI 37) on this barcode must be at least 1.")
    expiry = fields["17"].date if "17" in fields else None
    return GS1Data(
        gtin=gtin,
        lot=fields["10"].value if "10" in fields else "",
        expiry=expiry,
        serial=fields["21"].value if "21" in fields else "",
        count=count,
    )
