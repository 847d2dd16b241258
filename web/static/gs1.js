/* Stockline barcode reading on the handheld: GTINs and GS1 element strings (GS1-128, DataMatrix).

   For display only. The server reads every scan again when it applies it (backend/domain/catalog/
   gs1.py, on biip), online or from the offline queue, and that reading is the one the ledger uses.
   tests/vectors/barcodes.json holds both readers to the same answers; field names and meanings are
   documented there.

   Pure functions, no DOM: the pages load this as a classic script (window.StocklineGs1), Node
   requires it (tests/js/barcode_vectors.mjs).
     readBarcode(scan)      -> the reading: {kind, gtin, lot, expiry, ...} with only what the scan says
     itemCodes(reading)     -> the catalogue barcodes that may name the item, best first
     tradeItemCount(reading) -> how many of that barcode's unit one scan stands for

   It knows every AI that GS1 defines (so a label's other fields are skipped, not refused) and checks
   the value of each AI Stockline reads, and the fixed-length ones, exactly as the server does. The
   value of another variable-length AI is taken up to the next GS without checking its characters. */
(function (root) {
  "use strict";

  const GS = "\x1d";
  const EDGES = /^[ \t\r\n\v\f\x1c-\x1f]+|[ \t\r\n\v\f\x1c-\x1f]+$/g;  // what a wedge may put around a scan
  const SYMBOLOGY = /^\][A-Za-z][0-9A-Za-z]/;                            // AIM identifier, e.g. ]C1
  const GS1_SYMBOLOGIES = ["]C1", "]d2", "]Q3", "]e0", "]J1"];          // GS1-128, DataMatrix, QR, DataBar, DotCode
  const GTIN_SYMBOLOGIES = ["]E0", "]E4", "]I1"];                        // EAN-13/UPC-A, EAN-8, ITF-14
  const ELEMENT_STRING_SHAPE = /^(?:0[12][0-9]{14}[\s\S]|00[0-9]{18})/;  // AI 01/02 + GTIN + more, AI 00 + SSCC
  const GTIN_LENGTHS = [8, 12, 13, 14];
  const COUNT_MAX = 99999999;  // AI 30 and AI 37 are N..8
  // Every AI in the GS1 General Specifications (the server's biip table; a test compares the two).
  const DEFINED_AI = new RegExp("^(?:0[0-3]|1[0-35-7]|2[0-2]|235|24[0-3]|25[013-5]|3[07]" +
    "|3(?:1[0-6]|2[0-9]|3[0-7]|4[0-9]|5[0-7]|6[0-9])[0-5]|39[0-3][0-9]|394[0-3]|395[0-5]" +
    "|40[0-3]|4[12][0-7]|43[01][0-9]|432[0-6]|433[0-3]" +
    "|70(?:0[1-9]|1[01]|2[0-3]|3[0-9]|4[01])|71[0-7]|72(?:3[0-9]|4[0-2]|5[0-9])" +
    "|80(?:0[1-9]|1[0-47-9]|2[06]|30|4[0-3])|811[0-2]|8200|9[0-9])");
  const DATE_AIS = ["11", "12", "13", "15", "16", "17"];
  const DATE = "[0-9]{2}(?:0[0-9]|1[0-2])(?:[0-2][0-9]|3[01])";
  const CSET82 = "[!%-?A-Z_a-z\"]";
  // The value patterns the server's table gives (anchored at the start, matched before the next GS).
  function valuePattern(ai) {
    if (ai === "00") return "[0-9]{18}";
    if (["01", "02", "03"].includes(ai)) return "[0-9]{14}";
    if (DATE_AIS.includes(ai)) return DATE;
    if (ai === "20") return "[0-9]{2}";
    if (ai === "10" || ai === "21") return `${CSET82}{1,20}`;
    if (ai === "30") return "[0-9]{0,8}";
    if (ai === "37") return "[0-9]{1,8}";
    if (/^3[1-6]/.test(ai)) return "[0-9]{6}";
    if (/^41/.test(ai)) return "[0-9]{13}";
    return `[^${GS}]+`;
  }
  const TITLES = { "00": "SSCC", "01": "GTIN", "02": "content GTIN", "10": "lot", "11": "production date",
                   "15": "best before date", "17": "expiry date", "21": "serial number", "30": "count", "37": "count" };

  class Unreadable extends Error {
    constructor(error, message) { super(message); this.error = error; }
  }

  const isDigits = (s) => /^[0-9]+$/.test(s);
  const isGtinShaped = (s) => isDigits(s) && GTIN_LENGTHS.includes(s.length);

  function checkDigit(body) {
    let total = 0;
    for (let i = 0; i < body.length; i++) total += Number(body[body.length - 1 - i]) * (i % 2 === 0 ? 3 : 1);
    return (10 - (total % 10)) % 10;
  }
  function validDigits(digits, what) {
    const expected = checkDigit(digits.slice(0, -1));
    if (Number(digits.slice(-1)) !== expected) {
      throw new Unreadable("check_digit", `${what} ${digits} has a wrong check digit (expected ${expected}). Rescan or type it again.`);
    }
    return digits;
  }

  function gtinForms(gtin) {
    const forms = [gtin];
    for (const n of [13, 12, 8]) if (gtin.length > n && /^0*$/.test(gtin.slice(0, gtin.length - n))) forms.push(gtin.slice(gtin.length - n));
    return forms;
  }

  // A two-digit year within 49 years back and 50 ahead of this one (GS1 GenSpecs 7.12); day 00 is the
  // last day of the month. null when the date does not exist.
  function isoDate(yymmdd) {
    const yy = Number(yymmdd.slice(0, 2)), month = Number(yymmdd.slice(2, 4));
    let day = Number(yymmdd.slice(4, 6));
    const now = new Date().getUTCFullYear(), century = now - (now % 100), diff = yy - (now - century);
    const year = yy + (diff >= 51 && diff <= 99 ? century - 100 : diff >= -99 && diff <= -50 ? century + 100 : century);
    if (month < 1 || month > 12) return null;
    const last = new Date(Date.UTC(year, month, 0)).getUTCDate();
    if (day === 0) day = last;
    if (day > last) return null;
    return `${String(year).padStart(4, "0")}-${String(month).padStart(2, "0")}-${String(day).padStart(2, "0")}`;
  }

  // "001250" with 3 decimals -> "1.250": the point placed by the AI's last digit.
  function decimalText(digits, decimals) {
    const whole = digits.slice(0, digits.length - decimals).replace(/^0+(?=[0-9])/, "");
    return decimals ? `${whole}.${digits.slice(digits.length - decimals)}` : whole;
  }

  // Each AI's value, first one wins; GS may follow any field (GS1 GenSpecs 7.8.6).
  function elementStrings(body) {
    const fields = {};
    let rest = body;
    while (rest) {
      const found = DEFINED_AI.exec(rest);
      if (!found) throw new Unreadable("unknown_ai", `This label has a field Stockline cannot read (${rest.slice(0, 8)}). Scan the item barcode instead.`);
      const ai = found[0];
      const segment = rest.split(GS, 1)[0].slice(ai.length);
      const value = new RegExp(`^${valuePattern(ai)}`).exec(segment);
      if (!value || (DATE_AIS.includes(ai) && !isoDate(value[0]))) {
        if (DATE_AIS.includes(ai)) throw new Unreadable("date", `The ${TITLES[ai] || "date"} on this label is not a real date. Scan the item barcode and type the date.`);
        throw new Unreadable("malformed", `The ${TITLES[ai] || `AI ${ai}`} on this label cannot be read. Rescan, or scan the item barcode.`);
      }
      if (!(ai in fields)) fields[ai] = value[0];
      rest = rest.slice(ai.length + value[0].length).replace(/^\x1d+/, "");
    }
    return fields;
  }

  function countOf(fields, ai) {
    if (!(ai in fields)) return undefined;
    const count = Number(fields[ai] || "0");
    if (!(count > 0 && count <= COUNT_MAX)) throw new Unreadable("count", `The count (AI ${ai}) on this barcode must be at least 1.`);
    return count;
  }

  function readElementStrings(body) {
    const f = elementStrings(body);
    const sscc = "00" in f ? validDigits(f["00"], "SSCC") : "";
    const gtin = "01" in f ? validDigits(f["01"], "GTIN") : "";
    const content = "02" in f ? validDigits(f["02"], "GTIN") : "";
    const variableCount = countOf(f, "30"), count = countOf(f, "37");
    if (!gtin && !content && !sscc) throw new Unreadable("no_item", "This GS1 barcode has no GTIN (AI 01): scan the item barcode instead.");
    const out = { kind: gtin || content ? "gs1" : "sscc" };
    if (gtin) out.gtin = gtin;
    if (content) out.content_gtin = content;
    if (sscc) out.sscc = sscc;
    if ("10" in f) out.lot = f["10"];
    if ("21" in f) out.serial = f["21"];
    if ("11" in f) out.production_date = isoDate(f["11"]);
    if ("15" in f) out.best_before = isoDate(f["15"]);
    if ("17" in f) out.expiry = isoDate(f["17"]);
    if (variableCount !== undefined) out.variable_count = variableCount;
    if (count !== undefined) out.count = count;
    const weightAi = Object.keys(f).find((ai) => /^3[12]0[0-5]$/.test(ai));
    if (weightAi) {
      out.net_weight = decimalText(f[weightAi], Number(weightAi[3]));
      out.net_weight_unit = weightAi[1] === "1" ? "kg" : "lb";
    }
    return out;
  }

  function readGtin(body) {
    if (!isGtinShaped(body)) throw new Unreadable("malformed", `${body} is not a GTIN: expected 8, 12, 13 or 14 digits.`);
    return { kind: "gtin", gtin: validDigits(body, "Barcode").padStart(14, "0") };
  }

  function looksLikeGs1(body) { return body.includes(GS) || ELEMENT_STRING_SHAPE.test(body); }

  // The reading of one scan as a keyboard wedge delivers it; an invalid one also carries `message`.
  function readBarcode(scan) {
    const code = String(scan ?? "").replace(EDGES, "");
    const symbology = SYMBOLOGY.test(code) ? code.slice(0, 3) : "";
    const body = code.slice(symbology.length);
    try {
      if (GS1_SYMBOLOGIES.includes(symbology) || (!GTIN_SYMBOLOGIES.includes(symbology) && looksLikeGs1(body))) return readElementStrings(body);
      if (GTIN_SYMBOLOGIES.includes(symbology) || isGtinShaped(body)) return readGtin(body);
    } catch (e) {
      if (e instanceof Unreadable) return { kind: "invalid", error: e.error, message: e.message };
      throw e;
    }
    return { kind: "unknown", code: body };
  }

  // AI 01 names the trade item itself; AI 02 alone (a logistic unit) the trade items inside it.
  function itemCodes(reading) {
    if (reading.kind === "unknown") return [reading.code];
    const gtin = reading.gtin || reading.content_gtin;
    return gtin ? gtinForms(gtin) : [];
  }

  // AI 37 (trade items in a logistic unit) times AI 30 (pieces of a variable-count item); a net
  // weight is shown, never counted.
  function tradeItemCount(reading) { return (reading.count || 1) * (reading.variable_count || 1); }

  const api = { readBarcode, itemCodes, tradeItemCount, gtinForms, definedAi: (text) => (DEFINED_AI.exec(text) || [""])[0] };
  root.StocklineGs1 = api;
  if (typeof module === "object" && module.exports) module.exports = api;
})(typeof globalThis !== "undefined" ? globalThis : this);
