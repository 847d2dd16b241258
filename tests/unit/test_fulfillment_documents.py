"""Packing slip and carton label rendering (pure, no database)."""

from __future__ import annotations

from backend.domain.fulfillment.documents import (
    SLIP_ROWS_PER_PAGE,
    CartonLabel,
    PackingSlip,
    SlipLine,
    carton_label_pdf,
    carton_label_zpl,
    packing_slip_pdf,
    zpl_field,
)

LABEL = CartonLabel(carton_code="CTN-000123", order_ref="SO-1", warehouse="WH1", units=5)


def slip(lines: int) -> PackingSlip:
    return PackingSlip("SO-1", "CTN-000123", "WH1",
                       tuple(SlipLine(f"SKU{n}", f"Item {n}", n + 1) for n in range(lines)))


def test_packing_slip_is_a_pdf_with_order_carton_and_lines():
    pdf = packing_slip_pdf(slip(2))
    assert pdf.startswith(b"%PDF")
    for text in (b"CTN-000123", b"Order SO-1", b"SKU1", b"Total units: 3"):
        assert text in pdf


def test_long_packing_slip_continues_on_more_pages():
    pdf = packing_slip_pdf(slip(SLIP_ROWS_PER_PAGE + 1))
    assert b"Page 2 of 2" in pdf and b"Page 3" not in pdf


def test_pdfs_are_byte_stable():
    assert packing_slip_pdf(slip(1)) == packing_slip_pdf(slip(1))
    assert carton_label_pdf(LABEL) == carton_label_pdf(LABEL)


def test_carton_label_pdf_shows_the_code():
    pdf = carton_label_pdf(LABEL)
    assert pdf.startswith(b"%PDF") and b"CTN-000123" in pdf


def test_zpl_label_has_a_code128_of_the_carton_code():
    zpl = carton_label_zpl(LABEL)
    assert zpl.startswith("^XA") and zpl.rstrip().endswith("^XZ")
    assert "^BCN,240,Y,N,N^FH^FDCTN-000123^FS" in zpl


def test_zpl_field_escapes_control_characters():
    assert zpl_field("A^B~C_D") == "^FH^FDA_5EB_7EC_5FD^FS"
    assert zpl_field("Café") == "^FH^FDCafé^FS"
    assert zpl_field("a\nb") == "^FH^FDa_0Ab^FS"


def test_unicode_item_names_do_not_break_the_slip():
    pdf = packing_slip_pdf(PackingSlip("SO-1", "CTN-000001", "WH1", (SlipLine("MUG", "Tasse ☕ 日本", 1),)))
    assert pdf.startswith(b"%PDF")
