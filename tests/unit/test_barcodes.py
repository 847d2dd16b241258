"""Barcode grammar: GTIN check digits and GS1 element strings."""

from __future__ import annotations

from datetime import date

import pytest

from backend.domain.catalog.gs1 import (
    gtin_check_digit,
    gtin_lookup_forms,
    looks_like_gs1,
    read_barcode,
    trade_item_count,
    validate_gtin,
)
from backend.domain.errors import InvalidBarcode


@pytest.mark.parametrize("gtin", ["96385074", "036000291452", "4006381333931", "10012345678902"])
def test_valid_gtins_of_every_length(gtin: str) -> None:
    validate_gtin(gtin)
    assert gtin_check_digit(gtin[:-1]) == int(gtin[-1])


@pytest.mark.parametrize("gtin", ["96385075", "036000291453", "4006381333932", "10012345678901"])
def test_wrong_check_digit_is_refused_with_the_expected_digit(gtin: str) -> None:
    with pytest.raises(InvalidBarcode, match="expected"):
        validate_gtin(gtin)


def test_gtin14_with_leading_zeros_matches_shorter_forms() -> None:
    assert gtin_lookup_forms("00036000291452") == ["00036000291452", "0036000291452", "036000291452"]


def test_gs1_128_with_lot_expiry_serial() -> None:
    data = read_barcode("]C101040063813339311726063010LOT42\x1d21SN-9")
    assert data.gtin == "04006381333931"
    assert data.expiry == date(2026, 6, 30)
    assert (data.lot, data.serial, trade_item_count(data)) == ("LOT42", "SN-9", 1)


def test_gs1_count_ai_37() -> None:
    assert trade_item_count(read_barcode("0104006381333931" + "3712")) == 12


def test_gs1_without_gtin_is_refused() -> None:
    reading = read_barcode("]C110LOT42")
    assert (reading.kind, reading.error) == ("invalid", "no_item")
    assert "no GTIN" in reading.message


def test_gs1_with_bad_gtin_check_digit_is_refused() -> None:
    reading = read_barcode("]C10104006381333932")
    assert (reading.kind, reading.error) == ("invalid", "check_digit")
    assert "expected 1" in reading.message


@pytest.mark.parametrize(
    ("code", "expected"),
    [("]C10104006381333931", True), ("]d20104006381333931", True), ("010400638133393110AB", True),
     ("00106141411234567897", True), ("4006381333931", False), ("WH1-A-01", False)],
)
def test_recognises_gs1_strings(code: str, expected: bool) -> None:
    assert looks_like_gs1(code) is expected
