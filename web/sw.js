/* Stockline service worker. Served from / (scope = the whole app) by backend/http/floor/pwa.py, which
   replaces the placeholder below with the content hash of the static assets: a changed asset is a new
   worker with new caches, never a hand-bumped version.
   - Shell (css, htmx, every ES module, icons, manifest, the offline shell, the offline screens'
     templates, the sign-in page): precached, and served from the cache first.
   - The camera reader's 1 MB .wasm: cached on first use only.
   - Handheld screens a worker needs offline: network first (with a timeout for bad Wi-Fi), the last
     copy when the server cannot be reached. Only those screens: never tablet/manager pages.
   - Signing out (the network serving the sign-in page) drops the cached screens, so the next person on
     a shared device never sees the last one's screens. The page can also ask: {type: "clear-screens"}.
   - Never POSTs, /api/, /sync/ or the snapshot (the outbox and offline.js own those). */
const VERSION = "__ASSET_HASH__";
const SHELL_CACHE = `stockline-shell-${VERSION}`;
const LAZY_CACHE = `stockline-lazy-${VERSION}`;
const SCREENS_CACHE = `stockline-screens-${VERSION}`;
const NAVIGATION_TIMEOUT_MS = 4000;
// Every ES module the pages import (app.js and what it imports, checked by tests/unit/test_handheld_scripts.py)
// and every offline screen (backend/http/floor/pwa.py OFFLINE_SCREENS): a handheld that has never been
// offline still has all of them.
const MODULES = [
  "/static/app.js", "/static/feedback.js", "/static/gs1.js", "/static/offline.js", "/static/outbox.js",
  "/static/slots.js", "/static/store.js", "/static/vendor/idb/index.js",
];
const SCREENS = ["lookup", "receive", "move", "pick-lists", "pick", "count"].map((name) => `/offline/screens/${name}`);
const SHELL = [
  "/static/app.css", "/static/htmx.min.js", ...MODULES, ...SCREENS,
  "/static/icons/icon-192.png", "/static/icons/icon-512.png", "/manifest.webmanifest",
  "/static/vendor/barcode-detector/ponyfill.js", "/offline", "/signin",
];
// Handheld screens kept for offline use: home, lookup, receive, move, count, the pick lists and a pick list.
const OFFLINE_SCREENS = [/^\/floor$/, /^\/floor\/(lookup|receive|move|count|pick)$/, /^\/floor\/pick\/\d+$/];
const NETWORK_ONLY = [/^\/api\//, /^\/sync\//, /^\/floor\/snapshot\.json$/, /^\/sw\.js$/];
const SIGNIN_PATH = "/signin";
const OURS = /^stockline-(shell|lazy|screens)-/;  // other scripts keep caches of their own (outbox.js)

self.addEventListener("install", (event) => {
  event.waitUntil(
    caches.open(SHELL_CACHE)
      .then((cache) => cache.addAll(SHELL.map((url) => new Request(url, { cache: "reload" }))))
      .then(() => self.skipWaiting()),
  );
});

self.addEventListener("activate", (event) => {
  const current = [SHELL_CACHE, LAZY_CACHE, SCREENS_CACHE];
  event.waitUntil(
    caches.keys()
      .then((keys) => Promise.all(keys.filter((k) => OURS.test(k) && !current.includes(k))
        .map((k) => caches.delete(k))))
      .then(() => self.clients.claim()),
  );
});

self.addEventListener("message", (event) => {
  if (event.data?.type !== "clear-screens") return;
  const done = caches.delete(SCREENS_CACHE).then(() => event.ports[0]?.postMessage({ cleared: true }));
  event.waitUntil?.(done);
});

const isOfflineScreen = (path) => OFFLINE_SCREENS.some((re) => re.test(path));

self.addEventListener("fetch", (event) => {
  const request = event.request;
  const url = new URL(request.url);
  if (request.method !== "GET" || url.origin !== self.location.origin) return;
  if (NETWORK_ONLY.some((re) => re.test(url.pathname))) return;
  if (url.pathname.startsWith("/static/") || url.pathname.startsWith("/offline/screens/")) {
    event.respondWith(staticAsset(request));
    return;
  }
  if (request.mode === "navigate") event.respondWith(navigation(request, url));
});

async function staticAsset(request) {
  const hit = await caches.match(request, { ignoreSearch: true });
  if (hit) return hit;
  const response = await fetch(request);
  if (response.ok) {
    const copy = response.clone();
    caches.open(LAZY_CACHE).then((cache) => cache.put(request, copy));
  }
  return response;
}

// Network first: stock numbers and pick lines should be fresh. A slow network gives up after
// NAVIGATION_TIMEOUT_MS when a copy exists; with no copy it keeps waiting for the network.
async function navigation(request, url) {
  const network = fetch(request);
  const timedOut = new Promise((resolve) => setTimeout(() => resolve(null), NAVIGATION_TIMEOUT_MS));
  const cached = cachedScreen(request, url);
  try {
    const first = await Promise.race([network, timedOut]);
    if (first === null) {
      const copy = await cached;
      if (copy) return markCopy(copy);
    }
    const response = first || await network;
    await remember(request, url, response);
    return response;
  } catch (_) {
    const copy = (await cached) || (await caches.match("/offline", { cacheName: SHELL_CACHE }));
    return copy ? markCopy(copy) : new Response("No connection", { status: 503, headers: { "Content-Type": "text/plain" } });
  }
}

// offline.js must know a screen is a stored copy (no server behind it) from the moment it loads.
async function markCopy(response) {
  const html = (await response.text()).replace("<body", "<body data-offline-copy");
  return new Response(html, { status: response.status, statusText: response.statusText, headers: response.headers });
}

async function cachedScreen(request, url) {
  if (url.pathname === SIGNIN_PATH) return caches.match(SIGNIN_PATH, { cacheName: SHELL_CACHE });
  if (!isOfflineScreen(url.pathname)) return undefined;
  return caches.match(request, { cacheName: SCREENS_CACHE });
}

async function remember(request, url, response) {
  const landed = new URL(response.url || request.url).pathname;
  if (landed === SIGNIN_PATH) {
    // Signed out, switched user, or the session ended: nothing of the last person stays on the device.
    await caches.delete(SCREENS_CACHE);
    if (response.ok) (await caches.open(SHELL_CACHE)).put(SIGNIN_PATH, response.clone());
    return;
  }
  if (!response.ok || response.redirected || landed !== url.pathname || !isOfflineScreen(url.pathname)) return;
  (await caches.open(SCREENS_CACHE)).put(request, response.clone());
}
