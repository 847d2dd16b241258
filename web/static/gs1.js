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

   It knows every AI that GS1 defines and the pattern of each one's value, as the server's table does
   (a label's other fields are skipped, not refused; a test compares the two tables). */
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
  // Each AI's value, as the server's table (biip) gives it: [AIs, pattern]. A test compares the two.
  const VALUE_FORMATS = [
    ["3[1-6][0-9][0-9]|395[0-5]|4326|7006|8005", "(\\d{6})"],
    ["10|21|22|243|254|420|4318|7020|7021|7022|710|711|712|713|714|715|716|717|7240|8002|8012", "([!%-?A-Z_a-z\\x22]{1,20})"],
    ["39[02][0-9]", "(\\d{1,15})"],
    ["39[13][0-9]", "(\\d{3})(\\d{1,15})"],
    ["240|241|250|251|400|401|403|4308|4319|7002|7023|8004|90", "([!%-?A-Z_a-z\\x22]{1,30})"],
    ["4302|4303|4304|4305|4306|4312|4313|4314|4315|4316|7257", "((?:[!%-?A-Z_a-z\\x22]|%[0-9A-Fa-f][0-9A-Fa-f]%[0-9A-Fa-f][0-9A-Fa-f]){1,70})"],
    ["7030|7031|7032|7033|7034|7035|7036|7037|7038|7039", "(\\d{3})([!%-?A-Z_a-z\\x22]{1,27})"],
    ["7230|7231|7232|7233|7234|7235|7236|7237|7238|7239", "([!%-?A-Z_a-z\\x22]{3,30})"],
    ["410|411|412|413|414|415|416|417|7001", "(\\d{13})"],
    ["91|92|93|94|95|96|97|98|99", "([!%-?A-Z_a-z\\x22]{1,90})"],
    ["11|12|13|15|16|17", "(\\d{2}(?:0\\d|1[0-2])(?:[0-2]\\d|3[01]))"],
    ["3940|3941|3942|3943|8111", "(\\d{4})"],
    ["4300|4301|4310|4311|4320", "((?:[!%-?A-Z_a-z\\x22]|%[0-9A-Fa-f][0-9A-Fa-f]%[0-9A-Fa-f][0-9A-Fa-f]){1,35})"],
    ["4330|4331|4332|4333", "(\\d{6}[-]?)"],
    ["7242|8013|8014|8020", "([!%-?A-Z_a-z\\x22]{1,25})"],
    ["00|8017|8018", "(\\d{18})"],
    ["01|02|03", "(\\d{14})"],
    ["422|424|426", "(\\d{3})"],
    ["4321|4322|4323", "([01])"],
    ["4324|4325|7003", "(\\d{10})"],
    ["7253|7254|7259", "((?:[!%-?A-Z_a-z\\x22]|%[0-9A-Fa-f][0-9A-Fa-f]%[0-9A-Fa-f][0-9A-Fa-f]){1,40})"],
    ["8110|8112|8200", "([!%-?A-Z_a-z\\x22]{1,70})"],
    ["20|7241", "(\\d{2})"],
    ["423|425", "((?:\\d{3}){1,5})"],
    ["427|7008", "([!%-?A-Z_a-z\\x22]{1,3})"],
    ["4307|4317", "([A-Z0-9]{2})"],
    ["8006|8026", "(\\d{14})(\\d{4})"],
    ["8040|8041", "(\\d{15})"],
    ["235", "([!%-?A-Z_a-z\\x22]{1,28})"],
    ["242", "(\\d{1,6})"],
    ["253", "(\\d{13})([!%-?A-Z_a-z\\x22]{0,17})"],
    ["255", "(\\d{13})(\\d{0,12})"],
    ["30", "(\\d{0,8})"],
    ["37", "(\\d{1,8})"],
    ["402", "(\\d{17})"],
    ["421", "(\\d{3})([!%-?A-Z_a-z\\x22]{1,9})"],
    ["4309", "(\\d{20})"],
    ["7004", "(\\d{0,4})"],
    ["7005", "([!%-?A-Z_a-z\\x22]{1,12})"],
    ["7007", "(\\d{6})(\\d{6})?"],
    ["7009", "([!%-?A-Z_a-z\\x22]{1,10})"],
    ["7010", "([!%-?A-Z_a-z\\x22]{1,2})"],
    ["7011", "(\\d{6})(\\d{4})?"],
    ["7040", "(\\d)([!%-?A-Z_a-z\\x22])([!%-?A-Z_a-z\\x22])([!%-?A-Z_a-z\\x22])"],
    ["7041", "([!%-?A-Z_a-z\\x22]{1,4})"],
    ["7250", "(\\d{4}(?:0\\d|1[0-2])(?:[0-2]\\d|3[01]))"],
    ["7251", "(\\d{4}(?:0\\d|1[0-2])(?:[0-2]\\d|3[01])(?:[01]\\d|2[0-3])(?:[0-5]\\d))"],
    ["7252", "(\\d{1})"],
    ["7255", "((?:[!%-?A-Z_a-z\\x22]|%[0-9A-Fa-f][0-9A-Fa-f]%[0-9A-Fa-f][0-9A-Fa-f]){1,10})"],
    ["7256", "((?:[!%-?A-Z_a-z\\x22]|%[0-9A-Fa-f][0-9A-Fa-f]%[0-9A-Fa-f][0-9A-Fa-f]){1,90})"],
    ["7258", "(\\d[/]\\d)"],
    ["8001", "(\\d{4})(\\d{5})(\\d{3})(\\d{1})(\\d{1})"],
    ["8003", "(0)(\\d{13})([!%-?A-Z_a-z\\x22]{0,16})"],
    ["8007", "([!%-?A-Z_a-z\\x22]{1,34})"],
    ["8008", "(\\d{2}(?:0\\d|1[0-2])(?:[0-2]\\d|3[01])(?:[01]\\d|2[0-3]))((?:[0-5]\\d)(?:[0-5]\\d)?)?"],
    ["8009", "([!%-?A-Z_a-z\\x22]{1,50})"],
    ["8010", "([A-Z0-9/#-]{5,30})"],
    ["8011", "(\\d{1,12})"],
    ["8019", "(\\d{1,10})"],
    ["8030", "([0-9A-Za-z_-]{1,90})"],
    ["8042", "(\\d{32})"],
    ["8043", "(\\d{18,20})"],
  ].map(([ais, pattern]) => [new RegExp(`^(?:${ais})$`), new RegExp(`^${pattern}`)]);
  const valuePattern = (ai) => VALUE_FORMATS.find(([ais]) => ais.test(ai))[1];
  const DATE_AIS = ["11", "12", "13", "15", "16", "17"];  // a bad one is a "date" error
  const OTHER_DATED_AIS = ["4324", "4325", "4326", "7003", "7006", "7007", "7011", "8008"];  // "malformed"
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
  // last day of the month. Digits after YYMMDD are hour, minute, second (99 99: no time), checked as
  // the server does. null when the date or time does not exist.
  function isoDate(value) {
    const pair = (i) => Number(value.slice(2 * i, 2 * i + 2));
    const yy = pair(0), month = pair(1);
    let day = pair(2);
    const now = new Date().getUTCFullYear(), century = now - (now % 100), diff = yy - (now - century);
    const year = yy + (diff >= 51 && diff <= 99 ? century - 100 : diff >= -99 && diff <= -50 ? century + 100 : century);
    if (month < 1 || month > 12) return null;
    const last = new Date(Date.UTC(year, month, 0)).getUTCDate();
    if (day === 0) day = last;
    if (day > last) return null;
    if (value.length > 6) {
      const hour = pair(3), minute = value.length > 8 ? pair(4) : 0, second = value.length > 10 ? pair(5) : 0;
      if (!(hour === 99 && minute === 99) && (hour > 23 || minute > 59 || second > 59)) return null;
    }
    return `${String(year).padStart(4, "0")}-${String(month).padStart(2, "0")}-${String(day).padStart(2, "0")}`;
  }

  // "001250" with 3 decimals -> "1.250": the point placed by the AI's last digit.
  function decimalText(digits, decimals) {
    const whole = digits.slice(0, digits.length - decimals).replace(/^0+(?=[0-9])/, "");
    return decimals ? `${whole}.${digits.slice(digits.length - decimals)}` : whole;
  }

  // Each AI's value in scan order (a Map: an object would sort "3202" before "3103"), first one wins;
  // GS may follow any field (GS1 GenSpecs 7.8.6).
  function elementStrings(body) {
    const fields = new Map();
    let rest = body;
    while (rest) {
      const found = DEFINED_AI.exec(rest);
      if (!found) throw new Unreadable("unknown_ai", `This label has a field Stockline cannot read (${rest.slice(0, 8)}). Scan the item barcode instead.`);
      const ai = found[0];
      const segment = rest.split(GS, 1)[0].slice(ai.length);
      const value = valuePattern(ai).exec(segment);
      if (!value || ([...DATE_AIS, ...OTHER_DATED_AIS].includes(ai) && !isoDate(value[0]))) {
        if (DATE_AIS.includes(ai)) throw new Unreadable("date", `The ${TITLES[ai] || "date"} on this label is not a real date. Scan the item barcode and type the date.`);
        throw new Unreadable("malformed", `The ${TITLES[ai] || `AI ${ai}`} on this label cannot be read. Rescan, or scan the item barcode.`);
      }
      if (!fields.has(ai)) fields.set(ai, value[0]);
      rest = rest.slice(ai.length + value[0].length).replace(/^\x1d+/, "");
    }
    return fields;
  }

  function countOf(fields, ai) {
    if (!fields.has(ai)) return undefined;
    const count = Number(fields.get(ai) || "0");
    if (!(count > 0 && count <= COUNT_MAX)) throw new Unreadable("count", `The count (AI ${ai}) on this barcode must be at least 1.`);
    return count;
  }

  function readElementStrings(body) {
    const f = elementStrings(body);
    const sscc = f.has("00") ? validDigits(f.get("00"), "SSCC") : "";
    const gtin = f.has("01") ? validDigits(f.get("01"), "GTIN") : "";
    const content = f.has("02") ? validDigits(f.get("02"), "GTIN") : "";
    const variableCount = countOf(f, "30"), count = countOf(f, "37");
    if (!gtin && !content && !sscc) throw new Unreadable("no_item", "This GS1 barcode has no GTIN (AI 01): scan the item barcode instead.");
    const out = { kind: gtin || content ? "gs1" : "sscc" };
    if (gtin) out.gtin = gtin;
    if (content) out.content_gtin = content;
    if (sscc) out.sscc = sscc;
    if (f.has("10")) out.lot = f.get("10");
    if (f.has("21")) out.serial = f.get("21");
    if (f.has("11")) out.production_date = isoDate(f.get("11"));
    if (f.has("15")) out.best_before = isoDate(f.get("15"));
    if (f.has("17")) out.expiry = isoDate(f.get("17"));
    if (variableCount !== undefined) out.variable_count = variableCount;
    if (count !== undefined) out.count = count;
    const weightAi = [...f.keys()].find((ai) => /^3[12]0[0-5]$/.test(ai));
    if (weightAi) {
      out.net_weight = decimalText(f.get(weightAi), Number(weightAi[3]));
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
    return body ? { kind: "unknown", code: body } : { kind: "unknown" };
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

  const api = { readBarcode, itemCodes, tradeItemCount, gtinForms,
                definedAi: (text) => (DEFINED_AI.exec(text) || [""])[0], valuePatternOf: (ai) => valuePattern(ai).source };
  root.StocklineGs1 = api;
  if (typeof module === "object" && module.exports) module.exports = api;
})(typeof globalThis !== "undefined" ? globalThis : this);
