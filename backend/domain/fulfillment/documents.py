"""Paperwork as pure functions: packing slip (PDF) and carton label (PDF and ZPL). No I/O.

Both carry a Code 128 barcode of the carton code, so ship confirm can start from a scan of
either. PDFs are written with `invariant=1` (no timestamps or random ids: the same carton gives
the same bytes) and without page compression (text stays searchable; the files are tiny).
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from dataclasses import dataclass

from reportlab.graphics.barcode.code128 import Code128
from reportlab.lib.pagesizes import A4
from reportlab.lib.units import inch, mm
from reportlab.pdfgen.canvas import Canvas

LABEL_WIDTH_IN = 4
LABEL_HEIGHT_IN = 6
ZPL_DOTS_PER_IN = 203  # 8 dots/mm, the common thermal printer head
SLIP_ROWS_PER_PAGE = 30
_NAME_CHARS_MAX = 48


@dataclass(frozen=True, slots=True)
class SlipLine:
    sku: str
    name: str
    qty: int
    lot: str = ""


@dataclass(frozen=True, slots=True)
class PackingSlip:
    order_ref: str
    carton_code: str
    warehouse: str
    lines: tuple[SlipLine, ...]


@dataclass(frozen=True, slots=True)
class CartonLabel:
    carton_code: str
    order_ref: str
    warehouse: str
    units: int


def _clip(text: str, chars: int) -> str:
    return text if len(text) <= chars else text[: chars - 1] + "…"


def _canvas(buffer: io.BytesIO, pagesize: tuple[float, float], title: str) -> Canvas:
    pdf = Canvas(buffer, pagesize=pagesize, invariant=1, pageCompression=0)
    pdf.setTitle(title)
    pdf.setAuthor("Stockline")
    return pdf


def _barcode(pdf: Canvas, value: str, x: float, y: float, bar_height: float, bar_width: float) -> None:
    Code128(value, barHeight=bar_height, barWidth=bar_width, humanReadable=True).drawOn(pdf, x, y)


def _pages(lines: tuple[SlipLine, ...]) -> Iterator[tuple[SlipLine, ...]]:
    for start in range(0, max(len(lines), 1), SLIP_ROWS_PER_PAGE):
        yield lines[start : start + SLIP_ROWS_PER_PAGE]


def _slip_header(pdf: Canvas, slip: PackingSlip, page: int, pages: int) -> float:
    width, height = A4
    pdf.setFont("Helvetica-Bold", 18)
    pdf.drawString(20 * mm, height - 25 * mm, "Packing slip")
    pdf.setFont("Helvetica", 11)
    pdf.drawString(20 * mm, height - 35 * mm, f"Order {slip.order_ref}")
    pdf.drawString(20 * mm, height - 42 * mm, f"Carton {slip.carton_code}")
    pdf.drawString(20 * mm, height - 49 * mm, f"Shipped from {slip.warehouse}")
    pdf.drawRightString(width - 20 * mm, height - 25 * mm, f"Page {page} of {pages}")
    _barcode(pdf, slip.carton_code, width - 85 * mm, height - 52 * mm, 14 * mm, 0.35 * mm)
    y = height - 65 * mm
    pdf.setFont("Helvetica-Bold", 10)
    for x, title in ((20, "SKU"), (60, "Description"), (140, "Lot")):
        pdf.drawString(x * mm, y, title)
    pdf.drawRightString(width - 20 * mm, y, "Qty")
    pdf.line(20 * mm, y - 2 * mm, width - 20 * mm, y - 2 * mm)
    return float(y - 8 * mm)


def packing_slip_pdf(slip: PackingSlip) -> bytes:
    """One A4 page per SLIP_ROWS_PER_PAGE lines; the last page carries the total."""
    buffer = io.BytesIO()
    pdf = _canvas(buffer, A4, f"Packing slip {slip.order_ref} {slip.carton_code}")
    width = A4[0]
    pages = list(_pages(slip.lines))
    for number, rows in enumerate(pages, start=1):
        y = _slip_header(pdf, slip, number, len(pages))
        pdf.setFont("Helvetica", 10)
        for line in rows:
            pdf.drawString(20 * mm, y, _clip(line.sku, 20))
            pdf.drawString(60 * mm, y, _clip(line.name, _NAME_CHARS_MAX))
            pdf.drawString(140 * mm, y, _clip(line.lot, 16))
            pdf.drawRightString(width - 20 * mm, y, str(line.qty))
            y -= 6 * mm
        if number == len(pages):
            pdf.setFont("Helvetica-Bold", 10)
            pdf.drawRightString(width - 20 * mm, y - 4 * mm, f"Total units: {sum(li.qty for li in slip.lines)}")
        pdf.showPage()
    pdf.save()
    return buffer.getvalue()


def carton_label_pdf(label: CartonLabel) -> bytes:
    """A 4×6 inch label: who ships it, which order, and the carton barcode."""
    size = (LABEL_WIDTH_IN * inch, LABEL_HEIGHT_IN * inch)
    buffer = io.BytesIO()
    pdf = _canvas(buffer, size, f"Carton label {label.carton_code}")
    width, height = size
    pdf.setFont("Helvetica", 12)
    pdf.drawString(0.3 * inch, height - 0.5 * inch, f"From {label.warehouse}")
    pdf.setFont("Helvetica-Bold", 22)
    pdf.drawString(0.3 * inch, height - 1.1 * inch, f"Order {label.order_ref}")
    pdf.setFont("Helvetica", 14)
    pdf.drawString(0.3 * inch, height - 1.5 * inch, f"{label.units} units")
    pdf.setFont("Helvetica-Bold", 26)
    pdf.drawCentredString(width / 2, 3.2 * inch, label.carton_code)
    _barcode(pdf, label.carton_code, 0.4 * inch, 1.2 * inch, 1.4 * inch, 0.018 * inch)
    pdf.showPage()
    pdf.save()
    return buffer.getvalue()


def zpl_field(text: str) -> str:
    """Field data safe for ZPL: control characters (^ ~), the hex indicator (_) and anything
    non-printable become _XX hex escapes of their UTF-8 bytes (^FH, with ^CI28 = UTF-8)."""
    out: list[str] = []
    for ch in text:
        if ch in "^~_\\" or not ch.isprintable():
            out.extend(f"_{b:02X}" for b in ch.encode())
        else:
            out.append(ch)
    return "^FH^FD" + "".join(out) + "^FS"


def carton_label_zpl(label: CartonLabel) -> str:
    """The same 4×6 label for a thermal printer, with a Code 128 (^BC) of the carton code."""
    width, height = LABEL_WIDTH_IN * ZPL_DOTS_PER_IN, LABEL_HEIGHT_IN * ZPL_DOTS_PER_IN
    return "\n".join([
        "^XA",
        "^CI28",
        f"^PW{width}",
        f"^LL{height}",
        "^FO40,40^A0N,32,32" + zpl_field(f"From {label.warehouse}"),
        "^FO40,100^A0N,56,56" + zpl_field(f"Order {label.order_ref}"),
        "^FO40,180^A0N,40,40" + zpl_field(f"{label.units} units"),
        "^FO40,300^A0N,72,72" + zpl_field(label.carton_code),
        "^FO60,420^BY3,3,240^BCN,240,Y,N,N" + zpl_field(label.carton_code),
        "^XZ",
    ]) + "\n"
