"""Pure fulfillment input checks and codes."""

from __future__ import annotations

import pytest

from backend.domain.errors import InvalidInput
from backend.domain.fulfillment.rules import (
    carton_code,
    check_carrier,
    check_order_ref,
    check_short_reason,
    check_tracking,
    pick_list_code,
)


@pytest.mark.parametrize("tracking", ["1Z99", "1Z999AA10123456784", "A" * 40, "  JD0146000033 "])
def test_tracking_numbers_of_4_to_40_letters_and_digits_are_accepted(tracking):
    assert check_tracking(tracking) == tracking.strip()


@pytest.mark.parametrize("tracking", ["", "1Z9", "A" * 41, "1Z 999", "1Z-999", "１２３４", "ABC\n"])  # noqa: RUF001 - full-width digits on purpose
def test_other_tracking_numbers_are_refused(tracking):
    with pytest.raises(InvalidInput):
        check_tracking(tracking)


def test_carrier_is_required():
    with pytest.raises(InvalidInput, match="carrier"):
        check_carrier("  ")
    assert check_carrier(" UPS ") == "UPS"


@pytest.mark.parametrize("ref", ["", "SO 1", "X" * 65, "SO-\t1"])
def test_bad_order_numbers_are_refused(ref):
    with pytest.raises(InvalidInput):
        check_order_ref(ref)


def test_short_reason_must_be_a_known_code():
    assert check_short_reason(" empty_bin ") == "empty_bin"
    with pytest.raises(InvalidInput, match="not_found"):
        check_short_reason("gone")


def test_document_codes_are_zero_padded_from_the_id():
    assert carton_code(123) == "CTN-000123"
    assert pick_list_code(7) == "PL-000007"
    assert carton_code(12_345_678) == "CTN-12345678"
