"""Camera fallback: without a native BarcodeDetector (desktop Chromium has none) the vendored
ZXing reader is loaded from Stockline itself (never a CDN) and decodes a barcode."""

from __future__ import annotations

from tests.e2e.conftest import sign_in
from tests.e2e.seed import MUG_GTIN

DRAW_EAN13 = """
(code) => {
  const L = ["0001101","0011001","0010011","0111101","0100011","0110001","0101111","0111011","0110111","0001011"];
  const R = L.map((c) => [...c].map((b) => (b === "0" ? "1" : "0")).join(""));
  const G = R.map((c) => [...c].reverse().join(""));
  const P = ["LLLLLL","LLGLGG","LLGGLG","LLGGGL","LGLLGG","LGGLLG","LGGGLL","LGLGLG","LGLGGL","LGGLGL"];
  let bits = "101";
  for (let i = 1; i < 7; i++) bits += (P[+code[0]][i - 1] === "L" ? L : G)[+code[i]];
  bits += "01010";
  for (let i = 7; i < 13; i++) bits += R[+code[i]];
  bits += "101";
  const module = 3, quiet = 12 * module;
  const canvas = document.createElement("canvas");
  canvas.width = bits.length * module + 2 * quiet; canvas.height = 120;
  const ctx = canvas.getContext("2d");
  ctx.fillStyle = "#fff"; ctx.fillRect(0, 0, canvas.width, canvas.height);
  ctx.fillStyle = "#000";
  [...bits].forEach((b, i) => { if (b === "1") ctx.fillRect(quiet + i * module, 10, module, 100); });
  return canvas;
}
"""


def test_vendored_reader_decodes_a_barcode_offline_capable(handheld, server):
    outside = []
    handheld.on("request", lambda r: outside.append(r.url) if not r.url.startswith(server.url) else None)
    sign_in(handheld, "picker")
    handheld.goto("/floor/lookup")
    assert handheld.evaluate("'BarcodeDetector' in window") is False  # the fallback path is what runs
    decoded = handheld.evaluate(
        f"""async () => {{
            const draw = {DRAW_EAN13};
            const Detector = await window.Stockline.detectorClass();
            const codes = await new Detector({{formats: ["ean_13"]}}).detect(draw("{MUG_GTIN}"));
            return codes.map((c) => c.rawValue);
        }}"""
    )
    assert decoded == [MUG_GTIN]
    assert outside == []
