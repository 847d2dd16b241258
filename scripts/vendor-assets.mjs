// Copies the pinned front-end packages from node_modules into web/static (no CDN at run time).
import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";

const pkg = (name) => JSON.parse(readFileSync(`node_modules/${name}/package.json`, "utf8")).version;
const htmx = readFileSync("node_modules/htmx.org/dist/htmx.min.js", "utf8");
writeFileSync("web/static/htmx.min.js", `/* htmx.org ${pkg("htmx.org")} (BSD-2-Clause), vendored: see package.json */\n${htmx}`);
mkdirSync("web/static/vendor/barcode-detector", { recursive: true });
copyFileSync("node_modules/barcode-detector/dist/iife/ponyfill.js", "web/static/vendor/barcode-detector/ponyfill.js");
copyFileSync("node_modules/zxing-wasm/dist/reader/zxing_reader.wasm", "web/static/vendor/barcode-detector/zxing_reader.wasm");
console.log(`vendored htmx ${pkg("htmx.org")}, barcode-detector ${pkg("barcode-detector")}, zxing-wasm ${pkg("zxing-wasm")}`);
