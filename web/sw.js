/* Stockline service worker: precache the shell so the app opens without network.
   Served from / so its scope covers every screen. Never caches POST responses. */
const VERSION = "stockline-v1";
const SHELL = [
  "/static/app.css", "/static/app.js", "/static/htmx.min.js",
  "/static/icons/icon-192.png", "/static/icons/icon-512.png", "/manifest.webmanifest", "/offline",
  "/static/vendor/barcode-detector/ponyfill.js", "/static/vendor/barcode-detector/zxing_reader.wasm",
];

self.addEventListener("install", (event) => {
  event.waitUntil(caches.open(VERSION).then((cache) => cache.addAll(SHELL)).then(() => self.skipWaiting()));
});

self.addEventListener("activate", (event) => {
  event.waitUntil(
    caches.keys()
      .then((keys) => Promise.all(keys.filter((k) => k !== VERSION).map((k) => caches.delete(k))))
      .then(() => self.clients.claim()),
  );
});

self.addEventListener("fetch", (event) => {
  const request = event.request;
  const url = new URL(request.url);
  if (request.method !== "GET" || url.origin !== self.location.origin || url.pathname.startsWith("/api/")) return;
  if (url.pathname.startsWith("/static/")) {
    event.respondWith(caches.match(request).then((hit) => hit || fetch(request)));
    return;
  }
  if (request.mode === "navigate") {
    // Network first, so stock numbers are fresh; the last copy of the screen when offline.
    event.respondWith(
      fetch(request)
        .then((response) => {
          if (response.ok && !request.headers.get("HX-Request")) {
            const copy = response.clone();
            caches.open(VERSION).then((cache) => cache.put(request, copy));
          }
          return response;
        })
        .catch(() => caches.match(request).then((hit) => hit || caches.match("/offline"))),
    );
  }
});
