"""The golden barcode vectors (tests/vectors/barcodes.json), loaded for the tests that run them."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

VECTORS_FILE = Path(__file__).parent / "vectors" / "barcodes.json"
NODE_RUNNER = Path(__file__).parent / "js" / "barcode_vectors.mjs"

_DATA: dict[str, Any] = json.loads(VECTORS_FILE.read_text(encoding="utf-8"))
CATALOGUE: list[dict[str, Any]] = _DATA["catalogue"]
VECTORS: list[dict[str, Any]] = _DATA["vectors"]
