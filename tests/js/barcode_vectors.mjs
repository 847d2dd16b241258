// The handheld's barcode reader (web/static/gs1.js) against every golden vector in
// tests/vectors/barcodes.json: the reading, and the interpretation against the vectors' catalogue
// (the same lookup the offline screens make in their snapshot). Exits 1 on any disagreement.
// Run: node tests/js/barcode_vectors.mjs   (tests/unit/test_barcode_vectors.py runs it under pytest)
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { isDeepStrictEqual } from "node:util";

const require = createRequire(import.meta.url);
const gs1 = require("../../web/static/gs1.js");
const vectorsFile = new URL("../vectors/barcodes.json", import.meta.url);
const { catalogue, vectors } = JSON.parse(readFileSync(vectorsFile, "utf8"));

// code -> {sku, unit, factor}, as the snapshot's barcode index holds it
const barcodes = new Map();
for (const item of catalogue) {
  for (const [code, unit] of Object.entries(item.barcodes)) {
    barcodes.set(code, { sku: item.sku, unit, factor: unit === item.base_unit ? 1 : item.units[unit] });
  }
}

function reading(scan) {
  const { message, ...fields } = gs1.readBarcode(scan);  // the words are the screen's, not compared
  return fields;
}

function interpretation(r) {
  if (r.kind === "invalid") return { refused: "invalid" };
  if (r.kind === "sscc") return { refused: "pallet" };
  for (const code of gs1.itemCodes(r)) {
    const hit = barcodes.get(code);
    if (hit) {
      const count = gs1.tradeItemCount(r);
      return { sku: hit.sku, unit: hit.unit, factor: hit.factor, count, qty_base: hit.factor * count };
    }
  }
  return { refused: "unknown_barcode" };
}

const failures = [];
for (const v of vectors) {
  const got = reading(v.scan);
  if (!isDeepStrictEqual(got, v.reading)) {
    failures.push(`${v.name}\n  scan     ${JSON.stringify(v.scan)}\n  expected ${JSON.stringify(v.reading)}\n  handheld ${JSON.stringify(got)}`);
    continue;
  }
  const meant = interpretation(got);
  if (!isDeepStrictEqual(meant, v.interpretation)) {
    failures.push(`${v.name}\n  scan     ${JSON.stringify(v.scan)}\n  expected ${JSON.stringify(v.interpretation)}\n  handheld ${JSON.stringify(meant)}`);
  }
}

if (failures.length) {
  console.error(`${failures.length} of ${vectors.length} barcode vectors disagree with web/static/gs1.js:\n\n${failures.join("\n\n")}`);
  process.exit(1);
}
console.log(`${vectors.length} barcode vectors agree with web/static/gs1.js`);
