// Copies the pinned front-end packages from node_modules into web/static (no CDN at run time).
import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";

const pkg = (name) => JSON.parse(readFileSync(`node_modules/${name}/package.json`, "utf8")).version;
const htmx = readFileSync("node_modules/htmx.org/dist/htmx.min.js", "utf8");
writeFileSync("web/static/htmx.min.js", `/* htmx.org ${pkg("htmx.org")} (BSD-2-Clause), vendored: see package.json */\n${htmx}`);
mkdirSync("web/static/vendor/barcode-detector", { recursive: true });
copyFileSync("node_modules/barcode-detector/dist/iife/ponyfill.js", "web/static/vendor/barcode-detector/ponyfill.js");
copyFileSync("node_modules/zxing-wasm/dist/reader/zxing_reader.wasm", "web/static/vendor/barcode-detector/zxing_reader.wasm");
// IndexedDB for the outbox and the snapshot (web/static/store.js): idb's ES module build, one file.
mkdirSync("web/static/vendor/idb", { recursive: true });
writeFileSync("web/static/vendor/idb/index.js",
  `/* idb ${pkg("idb")} (ISC), vendored: see package.json */\n${readFileSync("node_modules/idb/build/index.js", "utf8")}`);
copyFileSync("node_modules/idb/LICENSE", "web/static/vendor/idb/LICENSE");
// The API docs page (/api/v1/schema): Swagger UI, served from /static so it renders with no outside network.
// The source-map comment is dropped: the .map files are not vendored.
mkdirSync("web/static/vendor/swagger-ui", { recursive: true });
for (const name of ["swagger-ui-bundle.js", "swagger-ui-standalone-preset.js", "swagger-ui.css"]) {
  const text = readFileSync(`node_modules/swagger-ui-dist/${name}`, "utf8").replace(/\n?\/[*/]# sourceMappingURL=\S+?( \*\/)?\s*$/, "\n");
  writeFileSync(`web/static/vendor/swagger-ui/${name}`, text);
}
copyFileSync("node_modules/swagger-ui-dist/LICENSE", "web/static/vendor/swagger-ui/LICENSE");
console.log(`vendored htmx ${pkg("htmx.org")}, barcode-detector ${pkg("barcode-detector")}, zxing-wasm ${pkg("zxing-wasm")}, ` +
  `idb ${pkg("idb")}, swagger-ui-dist ${pkg("swagger-ui-dist")}`);
