/* Stockline offline screens: cached snapshot, offline sign-in, scan flows that queue envelopes.

   When the server cannot be reached (a flow request fails with no connection, or the page is a copy
   the service worker served from its cache), the lookup, receive, move, pick and count screens run
   here, from a snapshot of items, barcodes, bins, pick lists and count tasks kept in IndexedDB
   (store.js). Their markup is the online screens' own templates, rendered by the server with empty
   slots (/offline/screens/NAME, precached by the service worker); this module fills their slots with
   text, field values and hidden/shown parts, and never builds HTML. Every committed action goes
   through outbox.enqueue (outbox.js), which stores it before any network attempt and sends it later.
   Nothing here posts stock changes itself.

   Sign-in: when a worker signs in online, a PBKDF2 verifier of their PIN (never the PIN) is kept on
   the device, so the same badge + PIN can start an offline session when the server is unreachable. */
import { tell } from "./feedback.js";
import "./gs1.js";  // the barcode reader for display (a classic script Node also requires): sets globalThis.StocklineGs1
import { outbox } from "./outbox.js";
import { markDone, put, rows, setValues, show } from "./slots.js";
import { keyValue } from "./store.js";

const { StocklineGs1 } = globalThis;

export const offline = (() => {

  const DB_NAME = "stockline-offline";
  const SNAPSHOT_PATH = "/floor/snapshot.json";
  const SNAPSHOT_REFRESH_MS = 5 * 60 * 1000;
  const SNAPSHOT_FRESH_MS = 60 * 1000;      // a page load within this of the last refresh does not refetch
  const PROBE_TIMEOUT_MS = 3000;
  const PROBE_EVERY_MS = 15000;
  const FLOW_TIMEOUT_MS = 12000;            // an htmx flow request with no answer by then is treated as offline
  const PIN_ITERATIONS = 150000;            // PBKDF2-SHA256
  const SALT_BYTES = 16;
  const FAILED_PINS_MAX = 5;                // the server's rule, offline too
  const LOCKOUT_MS = 15 * 60 * 1000;
  const OFFLINE_SESSION_MAX_MS = 12 * 3600 * 1000;
  const VERIFIER_MAX_AGE_MS = 14 * 24 * 3600 * 1000;  // a badge must sign in online at least this often
  const PENDING_SHOWN_MAX = 8;
  const LS_SESSION = "stockline.session";   // {user_id, code, name, role, offline, at}
  const SS_PENDING_PIN = "stockline.pending_pin";
  const LS_IDLE = "stockline.idle_s";       // the server's idle sign-out, applied to offline sessions too
  const LOT_TRACKED = 1, SERIAL_TRACKED = 2;
  const ITEM_SCREENS = { "/floor/lookup": "lookup", "/floor/receive": "receive", "/floor/move": "move",
                         "/floor/count": "count", "/floor/pick": "picklists" };
  const SCREEN_PATH = "/offline/screens/";  // + a screen's template name (backend/http/floor/pwa.py OFFLINE_SCREENS)

  if (window.htmx) htmx.config.timeout = FLOW_TIMEOUT_MS;

  // ---- small helpers ---------------------------------------------------------------------------
  const $ = (id) => document.getElementById(id);
  const keyOf = (code) => String(code || "").trim().toLowerCase();
  const b64 = (bytes) => btoa(String.fromCharCode(...bytes));
  const unb64 = (text) => Uint8Array.from(atob(text), (c) => c.charCodeAt(0));
  const hhmm = (iso) => { const d = new Date(iso); return isNaN(d) ? "—" : d.toTimeString().slice(0, 5); };
  const readJson = (storage, key) => { try { return JSON.parse(storage.getItem(key) || "null"); } catch (_) { return null; } };

  // ---- IndexedDB: one key-value store (snapshot, user verifiers, lockouts), through store.js --------
  const kv = keyValue(DB_NAME);
  const kvGet = kv.get, kvSet = kv.set, kvDel = kv.delete;

  // ---- reaching the server -----------------------------------------------------------------------
  async function reachable() {
    try {
      const r = await fetch("/healthz", { cache: "no-store", signal: AbortSignal.timeout(PROBE_TIMEOUT_MS) });
      return r.ok;
    } catch (_) { return false; }
  }

  // ---- session: who is scanning (online session mirrored, or an offline one) ----------------------
  const body = document.body;
  const shell = Boolean($("offline-shell"));
  const isCopy = body.hasAttribute("data-offline-copy") || shell;
  const onSignin = Boolean($("signin"));

  function session() {
    const s = readJson(localStorage, LS_SESSION);
    if (!s) return null;
    if (s.offline && Date.now() - s.at > OFFLINE_SESSION_MAX_MS) { localStorage.removeItem(LS_SESSION); return null; }
    return s;
  }
  function clearScreens() {
    navigator.serviceWorker?.controller?.postMessage({ type: "clear-screens" });
    return "caches" in window
      ? caches.keys().then((keys) => Promise.all(keys.filter((k) => k.startsWith("stockline-screens-")).map((k) => caches.delete(k))))
      : Promise.resolve();
  }
  function endSession() { localStorage.removeItem(LS_SESSION); return clearScreens(); }

  if (!isCopy && body.dataset.idleS) localStorage.setItem(LS_IDLE, body.dataset.idleS);
  // Before app.js reads it: the shell signs an idle offline session out like any screen.
  if (shell && session()) body.dataset.idleS = localStorage.getItem(LS_IDLE) || "";
  if (!isCopy && body.dataset.userId) {
    const d = body.dataset;
    const before = session();
    if (before && before.user_id !== Number(d.userId)) clearScreens();  // someone else: nothing of the last person stays
    localStorage.setItem(LS_SESSION, JSON.stringify({ user_id: Number(d.userId), code: d.userCode, name: d.userName,
                                                      role: d.userRole, offline: false, at: Date.now() }));
    // Not stored (storage full or off): this badge cannot sign in offline here, and says so then.
    rememberVerifier(d).catch(() => {});
  } else if (!isCopy && onSignin) {
    endSession();  // the server showed the sign-in page: whoever was here has signed out
  }

  // ---- PIN verifier: PBKDF2-SHA256 over the PIN with a random per-user salt ---------------------
  async function verifierOf(pin, salt) {
    const key = await crypto.subtle.importKey("raw", new TextEncoder().encode(pin), "PBKDF2", false, ["deriveBits"]);
    const bits = await crypto.subtle.deriveBits({ name: "PBKDF2", hash: "SHA-256", salt, iterations: PIN_ITERATIONS }, key, 256);
    return b64(new Uint8Array(bits));
  }
  function sameText(a, b) {  // no early exit on the first differing character
    if (a.length !== b.length) return false;
    let diff = 0;
    for (let i = 0; i < a.length; i++) diff |= a.charCodeAt(i) ^ b.charCodeAt(i);
    return diff === 0;
  }
  // After the server accepted the sign-in: keep the verifier computed from what was typed.
  async function rememberVerifier(d) {
    const pending = readJson(sessionStorage, SS_PENDING_PIN);
    sessionStorage.removeItem(SS_PENDING_PIN);
    if (!pending || keyOf(pending.code) !== keyOf(d.userCode)) return;
    await kvSet("user:" + keyOf(d.userCode), { user_id: Number(d.userId), code: d.userCode, name: d.userName,
      role: d.userRole, salt: pending.salt, verifier: pending.verifier, iterations: PIN_ITERATIONS, saved_at: Date.now() });
    await kvDel("lock:" + keyOf(d.userCode));
  }

  // ---- the sign-in page: online as before, offline against the cached verifier -------------------
  function signinFeedback(kind, text) {
    tell(kind, text);
  }
  if (onSignin) {
    if (isCopy) {
      const note = $("offline-signin-note");
      if (note) note.hidden = false;
    }
    document.addEventListener("submit", async (e) => {
      const form = e.target;
      if (form.id !== "signin") return;
      e.preventDefault(); e.stopImmediatePropagation();
      const code = String(form.elements.code.value || "").trim(), pin = String(form.elements.pin.value || "");
      if (!code || !pin) return;
      signinFeedback("", "Signing in…");
      const salt = crypto.getRandomValues(new Uint8Array(SALT_BYTES));
      const verifier = await verifierOf(pin, salt);
      if (!isCopy && await reachable()) {
        sessionStorage.setItem(SS_PENDING_PIN, JSON.stringify({ code, salt: b64(salt), verifier }));
        form.elements.code.value = code;
        form.submit();  // the normal sign-in POST (no submit event: this handler does not run again)
        return;
      }
      try {
        await offlineSignIn(code, pin, form);
      } catch (err) {
        signinFeedback("error", `No connection, and this scanner cannot check the PIN: ${err.message}.`);
      }
    }, true);
  }

  async function offlineSignIn(code, pin, form) {
    const id = keyOf(code);
    const lock = (await kvGet("lock:" + id)) || { failures: 0, until: 0 };
    if (lock.until > Date.now()) {
      const min = Math.ceil((lock.until - Date.now()) / 60000);
      return signinFeedback("error", `No connection, and too many wrong PINs: locked for ${min} min on this scanner.`);
    }
    const user = await kvGet("user:" + id);
    if (!user || Date.now() - user.saved_at > VERIFIER_MAX_AGE_MS) {
      if (user) await kvDel("user:" + id);
      return signinFeedback("error", "No connection. This badge has not signed in on this scanner in the last 14 days, so it cannot sign in offline.");
    }
    if (!sameText(await verifierOf(pin, unb64(user.salt)), user.verifier)) {
      const failures = lock.failures + 1;
      const locked = failures >= FAILED_PINS_MAX;
      await kvSet("lock:" + id, { failures: locked ? 0 : failures, until: locked ? Date.now() + LOCKOUT_MS : 0 });
      form.elements.pin.value = "";
      form.elements.pin.focus();
      return signinFeedback("error", locked ? `Too many wrong PINs. Locked for ${LOCKOUT_MS / 60000} min.`
                                            : "Wrong badge or PIN (offline sign-in).");
    }
    await kvDel("lock:" + id);
    await clearScreens();  // nothing of the previous person's screens
    localStorage.setItem(LS_SESSION, JSON.stringify({ user_id: user.user_id, code: user.code, name: user.name,
                                                      role: user.role, offline: true, at: Date.now() }));
    location.href = "/floor";
  }

  // ---- signing out: offline it ends the offline session here (app.js's idle sign-out calls it too) ----
  async function signOut(form) {
    if (!isCopy && !mode.active && await reachable()) { HTMLFormElement.prototype.submit.call(form); return; }
    await endSession();
    location.href = "/signin";
  }
  document.addEventListener("submit", (e) => {
    const form = e.target;
    if (!form.classList?.contains("switch-user")) return;
    e.preventDefault(); e.stopImmediatePropagation();
    signOut(form);
  }, true);

  // ---- snapshot ---------------------------------------------------------------------------------
  let snap = null;  // {data, synced_at, items, barcodes: Map, skus: Map, bins: Map, binCodes: Map}
  function indexSnapshot(stored) {
    const d = stored.data;
    const items = d.items.map(([sku, name, unit, flags]) => ({ sku, name, unit, flags }));
    const barcodes = new Map(d.barcodes.map(([code, idx, factor]) => [code, { item: items[idx], factor }]));
    const skus = new Map(items.map((it) => [keyOf(it.sku), it]));
    const bins = d.bins.map(([code, barcode, kind, warehouse, walk]) => ({ code, barcode, kind, warehouse, walk }));
    return { data: d, synced_at: stored.synced_at, items, barcodes, skus,
             binBarcodes: new Map(bins.map((b) => [b.barcode, b])), binCodes: new Map(bins.map((b) => [keyOf(b.code), b])) };
  }
  const snapshotReady = kvGet("snapshot").then((s) => { if (s) snap = indexSnapshot(s); }).catch(() => {});

  async function refreshSnapshot() {
    if (isCopy || !body.dataset.userId || mode.active) return;
    try {
      const r = await fetch(SNAPSHOT_PATH, { credentials: "same-origin", cache: "no-store" });
      if (!r.ok) return;
      const stored = { data: await r.json(), synced_at: new Date().toISOString() };
      snap = indexSnapshot(stored);  // this page works from it even if the scanner cannot keep it
      await kvSet("snapshot", stored);
    } catch (_) { /* offline: keep the copy we have */ }
  }

  function resolveBin(code) {
    if (!snap) return null;
    return snap.binBarcodes.get(code.trim()) || snap.binCodes.get(keyOf(code)) || null;
  }
  // A scan the screen refuses, with the same words as the server (backend/http/floor/common.py).
  class Refused extends Error {}
  // The bin a code names; null when it names no location (it may be an item).
  function scanBin(code) {
    const loc = resolveBin(code);
    if (loc && loc.kind !== "bin") throw new Refused(`${loc.code} is a ${loc.kind} location, not a bin. Scan a bin label.`);
    return loc;
  }
  // Repeated scans add up only for the same item and lot. Another item is refused while a tally waits
  // (it would silently drop what was scanned), and so is another lot of the same item, so two lots are
  // never posted as one (backend/http/floor/common.py add_scan).
  // `qty` and `lot` are for the screen; `items` is what the envelope carries: each code as scanned and each
  // quantity typed (backend/domain/scans), which the server reads itself.
  function addScan(s, hit, code) {
    const base = hit.factor * hit.count;
    if (!s.sku || s.qty <= 0) return Object.assign(s, { sku: hit.item.sku, qty: base, lot: hit.lot, items: [code] });
    if (hit.item.sku !== s.sku) throw new Refused(`${s.sku} × ${s.qty} is not sent yet. Finish it, or tap Cancel, before scanning ${hit.item.sku}.`);
    if (hit.lot && s.lot && hit.lot !== s.lot) throw new Refused(`Finish or clear ${s.sku} lot ${s.lot} before scanning lot ${hit.lot}.`);
    return Object.assign(s, { qty: s.qty + base, lot: hit.lot || s.lot, items: [...s.items, code] });
  }
  // A quantity field that differs from what the screen showed was typed: it is the line's total so far.
  function typedQty(s, f) {
    const typed = intOf(f.qty, s.qty);
    if (s.items.length && typed !== s.qty && typed >= 1) s.items = [...s.items, typed];
    s.qty = typed;
  }
  // The entries of a line the online screen handed over (its hidden `items` field), or none.
  function entriesOf(f) {
    try { const items = JSON.parse(f.items || "[]"); return Array.isArray(items) ? items : []; } catch (_) { return []; }
  }

  // {item, factor, count, lot, expiry} or null: a barcode of any unit, a GS1 label, or a SKU typed in.
  // The reading (gs1.js) is for display: the server reads the scan again when it applies it.
  function resolveItem(code) {
    if (!snap) return null;
    code = code.trim();
    const reading = StocklineGs1.readBarcode(code);
    for (const c of StocklineGs1.itemCodes(reading)) {
      const hit = snap.barcodes.get(c);
      if (hit) {
        return { item: hit.item, factor: hit.factor, count: StocklineGs1.tradeItemCount(reading),
                 lot: reading.lot || "", expiry: reading.expiry || "" };
      }
    }
    const item = snap.skus.get(keyOf(code));
    return item ? { item, factor: 1, count: 1, lot: "", expiry: "" } : null;
  }

  // ---- feedback you can see, hear and feel -------------------------------------------------------
  let message = { kind: "warn", text: "" };
  function say(kind, text) {
    message = { kind, text };
    tell(kind, text);
  }
  function prompt(text) { const p = $("prompt"); if (p) p.textContent = text; }
  function focusScan() {
    const active = document.activeElement;
    if (active && active !== body && active.id !== "scan" && active.matches("input:not([type=hidden]), select, textarea")) return;
    $("scan")?.focus({ preventScroll: true });
  }
  function unknown(code) { say("error", `Barcode ${code} is not known (offline copy). Scan again or check the label.`); }

  // ---- committing an action: into the outbox first, shown as pending at once ----------------------
  const pendingShown = [];  // {txn_id, text, status}
  async function commit(kind, payload, text) {
    const who = session();
    if (!outbox?.enqueue) { say("error", "This scanner cannot save scans offline (outbox missing). Nothing was saved."); return false; }
    if (!who) { say("error", "Sign in again before scanning."); return false; }
    try {
      const env = await outbox.enqueue({ kind, payload, userId: who.user_id });
      pendingShown.unshift({ txn_id: env.txn_id, text, status: "pending" });
      pendingShown.length = Math.min(pendingShown.length, PENDING_SHOWN_MAX);
      say("ok", `${text} — saved, pending (offline).`);
      return true;
    } catch (err) {
      say("error", `Not saved: ${err.message}. Redo the scan.`);
      return false;
    }
  }
  document.addEventListener("stockline:result", (e) => {
    const row = pendingShown.find((p) => p.txn_id === e.detail.envelope.txn_id);
    if (!row) return;
    const { status, original_status: original } = e.detail.result;
    row.status = status === "duplicate" ? (original || "applied") : status;
    row.reason = e.detail.result.reason || "";
    if (row.status === "rejected") say("error", `Not accepted: ${row.text}. ${row.reason}`);
    renderPending();
  });
  function renderPending() {
    const form = $("flow");
    if (!form?.querySelector('[data-rows="pending"]')) return;
    const words = { pending: "pending", applied: "sent", needs_review: "sent — a manager will check", rejected: "not accepted" };
    rows(form, "pending", pendingShown, (row, p) => {
      row.querySelector("[data-status]").className = p.status;
      put(row, { text: p.text, status: words[p.status] || p.status, reason: p.reason || "" });
      show(row, { reason: Boolean(p.reason) });
    });
  }

  // The form of a screen's template (the service worker's copy; the network when it has none), once.
  const templates = new Map();
  function templateOf(name) {
    if (!templates.has(name)) {
      templates.set(name, fetch(SCREEN_PATH + name, { credentials: "same-origin" })
        .then((r) => (r.ok ? r.text() : null))
        .then((html) => (html ? new DOMParser().parseFromString(html, "text/html").getElementById("flow") : null))
        .catch(() => null)
        .then((form) => { if (!form) templates.delete(name); return form; }));
    }
    return templates.get(name);
  }

  // ---- the screens ------------------------------------------------------------------------------
  // Each: template (its name in /offline/screens/), prompt(), init(fields), fill(form), edit(fields), scan(code).
  const intOf = (v, fallback) => { const n = parseInt(v, 10); return Number.isSafeInteger(n) ? n : fallback; };
  const fieldsOf = (form) => Object.fromEntries([...(form?.elements || [])].filter((el) => el.name && el.type !== "submit" && el.type !== "button").map((el) => [el.name, el.value]));

  const screens = {
    lookup: {
      template: "lookup",
      prompt: () => "Scan an item or a bin",
      init() { this.shown = null; },
      fill(form) {
        const v = this.shown;
        show(form, { title: Boolean(v) });
        if (!v) return;
        put(form, { code: v.code, kind: v.kind, synced: hhmm(snap?.synced_at) });
        rows(form, "facts", v.facts, (row, [term, value]) => put(row, { term, value }));
      },
      scan(code) {
        const bin = scanBin(code);
        if (bin) {
          this.shown = { code: bin.code, kind: bin.kind, facts: [["Warehouse", bin.warehouse], ["Barcode", bin.barcode]] };
          return say("ok", `Bin ${bin.code} (offline)`);
        }
        const hit = resolveItem(code);
        if (!hit) return unknown(code);
        const it = hit.item;
        const codes = snap.data.barcodes.filter((b) => snap.items[b[1]] === it).map((b) => `${b[0]} × ${b[2]}`);
        const tracked = it.flags & SERIAL_TRACKED ? "serial numbers" : it.flags & LOT_TRACKED ? "lots" : "no";
        this.shown = { code: it.sku, kind: it.name, facts: [["Unit", it.unit], ["Tracked", tracked], ["Barcodes", codes.join(", ") || "—"]] };
        say("ok", `${it.sku} (offline)`);
      },
    },

    receive: {
      template: "receive",
      prompt() { return this.s.sku ? "Scan more of the item, or the bin to receive into" : "Scan an item"; },
      init(f) { this.s = { sku: f.sku || "", qty: intOf(f.qty, 0), lot: f.lot || "", expiry: f.expiry || "", damaged: intOf(f.damaged, 0), items: entriesOf(f), lotEntered: f.lot || "" }; },
      fill(form) {
        const s = this.s, it = s.sku && snap?.skus.get(keyOf(s.sku));
        show(form, { tally: Boolean(s.sku), expiry: Boolean(s.expiry), lot: Boolean(it && it.flags & (LOT_TRACKED | SERIAL_TRACKED)), "doc-ref": false });
        put(form, { sku: s.sku, name: it?.name || "", expiry: s.expiry, unit: it?.unit || "each",
                    "lot-label": it && it.flags & SERIAL_TRACKED ? "Serial number" : "Lot" });
        setValues(form, { sku: s.sku, expiry: s.expiry, qty: s.qty, damaged: s.damaged, lot: s.lot, items: JSON.stringify(s.items), shown: s.qty });
      },
      edit(f) { typedQty(this.s, f); this.s.damaged = intOf(f.damaged, this.s.damaged); if (f.lot !== undefined && f.lot.trim() !== this.s.lot) this.s.lot = this.s.lotEntered = f.lot.trim(); },
      async scan(code) {
        const s = this.s, bin = scanBin(code);
        if (!bin) {
          const hit = resolveItem(code);
          const wanted = s.sku && snap?.skus.get(keyOf(s.sku));
          if (!hit && wanted && wanted.flags & (LOT_TRACKED | SERIAL_TRACKED) && !s.lot) {
            s.lot = s.lotEntered = code.slice(0, 64);  // the item asked for its lot: a code that names nothing else is its label
            return say("ok", `${wanted.flags & SERIAL_TRACKED ? "Serial number" : "Lot"} ${s.lot} for ${s.sku}. Scan the bin.`);
          }
          if (!hit) return unknown(code);
          const before = s.sku;
          addScan(s, hit, code);
          s.expiry = hit.expiry || (s.sku === before ? s.expiry : "");
          return say("ok", `${s.sku} × ${s.qty}. Scan more, or scan the bin.`);
        }
        const it = snap.skus.get(keyOf(s.sku));
        if (!s.sku || s.qty <= 0) return say("error", "Scan the item first, then the bin.");
        if (s.damaged < 0 || s.damaged > s.qty) return say("error", `Damaged units must be between 0 and ${s.qty}.`);
        if (it && it.flags & (LOT_TRACKED | SERIAL_TRACKED) && !s.lot) return say("error", `Enter the ${it.flags & SERIAL_TRACKED ? "serial number" : "lot"} of ${s.sku} first.`);
        // What the worker did: the codes as scanned, the quantities and lot as typed; the server reads them.
        const payload = { items: s.items, to_bin: code, lot: s.lotEntered, damaged: s.damaged };
        const text = `Received ${s.qty} ${s.sku} into ${bin.code}${s.damaged ? ` (${s.damaged} damaged)` : ""}`;
        if (await commit("receive", payload, text)) this.init({});
      },
    },

    move: {
      template: "move",
      prompt() { return !this.s.from_bin ? "Scan the bin to take from" : !this.s.sku ? "Scan the item" : "Scan more of the item, or the destination bin"; },
      init(f) { this.s = { from_bin: f.from_bin || "", sku: f.sku || "", qty: intOf(f.qty, 0), lot: f.lot || "", items: entriesOf(f) }; },
      fill(form) {
        const s = this.s;
        put(form, { from_bin: s.from_bin || "—", sku: s.sku || "—" });
        markDone(form, { from_bin: s.from_bin, sku: s.sku });
        show(form, { qty: Boolean(s.sku) });
        setValues(form, { from_bin: s.from_bin, sku: s.sku, lot: s.lot, qty: s.qty, items: JSON.stringify(s.items), shown: s.qty });
      },
      edit(f) { typedQty(this.s, f); },
      async scan(code) {
        const s = this.s, bin = scanBin(code);
        if (bin && !s.from_bin) { s.from_bin = bin.code; return say("ok", `From ${bin.code}. Scan the item.`); }
        if (!bin) {
          if (!s.from_bin) return say("error", "Scan the bin you take the stock from first.");
          const hit = resolveItem(code);
          if (!hit) return unknown(code);
          addScan(s, hit, code);
          return say("ok", `${s.sku} × ${s.qty}. Scan more, or scan the destination bin.`);
        }
        if (!s.sku || s.qty <= 0) return say("error", "Scan the item to move before the destination bin.");
        if (bin.code === s.from_bin) return say("error", `${bin.code} is the bin you take from: scan the destination bin.`);
        const text = `Moved ${s.qty} ${s.sku} ${s.from_bin} → ${bin.code}`;
        if (await commit("move", { from_bin: s.from_bin, items: s.items, to_bin: code }, text)) this.init({});
      },
    },

    picklists: {
      template: "pick-lists",
      prompt: () => "Tap a pick list",
      init() {},
      fill(form) {
        const lists = snap?.data.pick_lists || [];
        show(form, { "no-lists": !lists.length });
        rows(form, "lists", lists, (row, pl) => {
          row.querySelector("a").href = `/floor/pick/${pl.id}`;
          put(row, { id: pl.id, left: pl.lines.length });
        });
      },
      scan() { say("warn", "Tap a pick list first."); },
    },

    pick: {
      template: "pick",
      prompt() { const l = this.line(); return !l ? "Pick list done" : this.s.bin_ok ? `Scan the item ${l.sku}` : `Go to ${l.bin} and scan the bin`; },
      init(f) {
        const id = this.listId, pl = snap?.data.pick_lists.find((p) => p.id === id);
        this.lines = (pl?.lines || []).map(([line_id, bin, sku, name, lot, remaining]) => ({ line_id, bin, sku, name, lot, remaining }));
        const done = readJson(localStorage, `stockline.picked.${id}`) || {};  // what this device picked offline
        for (const l of this.lines) l.remaining -= done[l.line_id]?.at === snap?.data.generated_at ? done[l.line_id].qty : 0;
        const current = this.lines.find((l) => l.line_id === intOf(f.line_id, 0));
        if (current && f.remaining !== undefined) current.remaining = intOf(f.remaining, current.remaining);
        this.s = { bin_ok: Boolean(current) && f.bin_ok === "true" };
        if (current) this.lines = [current, ...this.lines.filter((l) => l !== current)];
      },
      line() { return this.lines.find((l) => l.remaining > 0); },
      fill(form) {
        const l = this.line();
        show(form, { line: Boolean(l), "no-line": !l, "list-done": !l && this.lines.length > 0, "list-missing": !this.lines.length,
                     qty: Boolean(l) && this.s.bin_ok, lot: Boolean(l?.lot) });
        if (!l) return;
        put(form, { bin: l.bin, sku: l.sku, name: l.name, lot: l.lot, remaining: l.remaining });
        markDone(form, { bin_ok: this.s.bin_ok });
        setValues(form, { line_id: l.line_id, bin_ok: String(this.s.bin_ok), qty: this.qty || 1 });
      },
      edit(f) { this.qty = intOf(f.qty, 1); },
      async scan(code) {
        const l = this.line();
        if (!l) return say("warn", "Pick list done. Take the tote to packing.");
        if (!this.s.bin_ok) {
          if (scanBin(code)?.code !== l.bin) return say("error", `Wrong bin: go to ${l.bin}.`);
          this.s.bin_ok = true;
          return say("ok", `${l.bin} OK. Scan ${l.sku}.`);
        }
        const hit = resolveItem(code);
        if (!hit) return unknown(code);
        if (hit.item.sku !== l.sku) return say("error", `That is ${hit.item.sku}, not ${l.sku}.`);
        const qty = Math.max(1, this.qty || 1), base = qty * hit.factor * hit.count;
        if (base > l.remaining) return say("error", `Only ${l.remaining} ${l.sku} left to pick on this line.`);
        const text = `Picked ${base} ${l.sku} from ${l.bin}`;
        if (!await commit("pick", { pick_list_id: this.listId, line_id: l.line_id, bin: l.bin, item_code: code, qty }, text)) return;
        l.remaining -= base;
        const key = `stockline.picked.${this.listId}`, done = readJson(localStorage, key) || {};
        const prev = done[l.line_id]?.at === snap.data.generated_at ? done[l.line_id].qty : 0;
        done[l.line_id] = { qty: prev + base, at: snap.data.generated_at };
        localStorage.setItem(key, JSON.stringify(done));
        this.qty = 1;
        if (l.remaining <= 0) this.s.bin_ok = false;
        if (!this.line()) say("ok", `${text} — saved, pending (offline). Pick list done. Take the tote to packing.`);
      },
    },

    count: {
      template: "count",
      prompt() { return this.task ? `Count ${this.task.bin}: scan every item` : "Scan the bin to count"; },
      init(f) {
        const me = session()?.user_id;
        this.tasks = (snap?.data.count_tasks || []).filter(([, , user]) => user === me).map(([id, bin]) => ({ id, bin }));
        this.task = this.tasks.find((t) => t.id === intOf(f.task_id, 0)) || null;
        this.tally = {};
      },
      fill(form) {
        const t = this.task;
        show(form, { view: Boolean(t), tasks: !t && this.tasks.length > 0, "no-tasks": !t && !this.tasks.length });
        if (!t) { rows(form, "tasks", this.tasks, (row, task) => put(row, { bin: task.bin, about: "" })); return; }
        put(form, { bin: t.bin });
        rows(form, "counted", Object.entries(this.tally), (row, [sku, n]) => put(row, { sku, counted: n }));
        setValues(form, { task_id: t.id, qty: "" });
      },
      edit(f) { this.qty = intOf(f.qty, 0); },
      async scan(code) {
        if (!this.task) {
          const bin = scanBin(code);
          if (!bin) return say("error", "Scan a bin label to start counting.");
          this.task = this.tasks.find((t) => t.bin === bin.code) || null;
          return this.task ? say("ok", `Counting ${bin.code} (offline).`) : say("error", `Counting ${bin.code} needs a connection: start it when you are back online.`);
        }
        const hit = resolveItem(code);
        if (!hit) return unknown(code);
        const [mode, qty] = this.qty > 0 ? ["set", this.qty] : ["add", 1];
        const text = `${hit.item.sku}: ${mode === "set" ? "set to " + qty : "+1"} in ${this.task.bin}`;
        if (!await commit("count", { task_id: this.task.id, item_code: code, qty, mode }, text)) return;
        const base = qty * hit.factor * hit.count;
        this.tally[hit.item.sku] = mode === "set" ? base : (this.tally[hit.item.sku] || 0) + base;
        this.qty = 0;
      },
    },
  };

  function screenFor(path) {
    const m = /^\/floor\/pick\/(\d+)$/.exec(path);
    if (m) { screens.pick.listId = Number(m[1]); return screens.pick; }
    return screens[ITEM_SCREENS[path]] || null;
  }

  // ---- offline mode: this page's flow runs here -------------------------------------------------
  const mode = { active: false, screen: null };
  let work = Promise.resolve();

  // The screen's template (sc.form) in place of the page's form, filled with what this screen holds.
  function render() {
    const form = $("flow"), sc = mode.screen;
    if (!form || !sc) return;
    form.removeAttribute("hx-post");
    form.setAttribute("data-offline", "true");
    if (sc.form) {
      form.replaceChildren(...sc.form.cloneNode(true).childNodes);
      form.dataset.template = sc.form.dataset.template || "";
    }
    const fb = $("feedback");
    if (fb) { fb.className = `feedback ${message.kind}`; fb.dataset.feedback = message.kind; fb.textContent = message.text; }
    sc.fill(form);
    // Cancel drops what this screen holds and has not saved (the online screens' Cancel, offline).
    show(form, { "task-actions": Boolean(sc.s && (sc.s.sku || sc.s.from_bin || sc.s.bin_ok)) });
    prompt(sc.prompt());
    renderPending();
    status();
    focusScan();
  }

  function status() {
    let el = $("offline-status");
    if (!el) {
      el = document.createElement("p");
      el.id = "offline-status";
      el.setAttribute("role", "status");
      document.querySelector(".scanbar")?.before(el);
    }
    el.className = "offline-status";
    el.textContent = `Offline — last synced ${snap ? hhmm(snap.synced_at) : "never"}. Scans are saved on this scanner.`;
  }

  // Start offline mode on this page; `fields` is the flow form's state when the server went away.
  async function enter(fields) {
    await snapshotReady;
    const sc = screenFor(location.pathname);
    if (!sc) { say("error", "No connection. This screen needs the server: use Lookup, Receive, Move, Pick or Count."); return false; }
    if (!mode.active) {
      sc.form = await templateOf(sc.template);
      if (!sc.form) { say("error", "No connection, and this screen is not stored on this scanner yet. Open it once online."); return false; }
      mode.active = true; mode.screen = sc; sc.init(fields || {}); body.dataset.offline = "true";
    }
    if (!snap) say("error", "No connection, and this scanner has no offline copy of items and bins yet.");
    render();
    watchForServer();
    return true;
  }

  async function handle(values) {
    const sc = mode.screen;
    if (!sc) return;
    if (values.action === "cancel") {
      if (sc === screens.pick) sc.s.bin_ok = false; else sc.init({});
      say("warn", "Cancelled: nothing from this task was saved.");
      render();
      return;
    }
    sc.edit?.(values);
    const code = String(values.code || "").trim();
    try {
      if (code) await sc.scan(code);
    } catch (err) {
      if (!(err instanceof Refused)) throw err;
      say("error", err.message);
    }
    render();
  }
  const run = (task) => (work = work.then(task).catch((err) => say("error", `Offline scan failed: ${err.message}`)));

  // Called by app.js when a queued flow answer could not reach the server.
  function takeOver(values) {
    const form = $("flow");
    if (!form || !screenFor(location.pathname)) return false;
    const fields = { ...fieldsOf(form), ...values };
    if (screens.pick === screenFor(location.pathname)) {
      const left = form.querySelector(".pick-qty strong");
      if (left) fields.remaining = left.textContent.trim();
    }
    const timedOut = lastFailure === "timeout";
    run(async () => {
      if (!await enter(fields)) return;
      // A request with no answer may have reached the server: do not replay it here.
      if (timedOut) return say("warn", "No answer from the server: that scan may not have been saved. Check, then scan again.");
      await handle(fields);  // what the form showed (a typed quantity) with what was sent
    });
    return true;
  }
  let lastFailure = "";
  document.addEventListener("htmx:sendError", () => { lastFailure = "network"; });
  document.addEventListener("htmx:timeout", () => { lastFailure = "timeout"; });
  document.addEventListener("htmx:beforeRequest", () => { lastFailure = ""; });

  // While offline (or on the offline shell) this module owns the scan field and the flow form: app.js
  // asks owns() and hands it each scan and each submit instead of sending them to the server.
  const owns = () => mode.active || shell;
  function scanned(code) {
    if (!mode.active) return say("warn", "Choose a task first.");
    const values = { ...fieldsOf($("flow")), code };
    run(() => handle(values));
  }
  function submitted(form, submitter) {
    if (!mode.active) return;
    const scan = $("scan"), values = { ...fieldsOf(form), code: scan?.value || "" };
    if (submitter?.name === "action") values.action = submitter.value;
    if (scan) scan.value = "";
    run(() => handle(values));
  }

  let watching = null;
  function watchForServer() {
    if (watching) return;
    watching = setInterval(async () => {
      if (!(await reachable())) return;
      outbox.drain();
      const el = $("offline-status");
      if (el && !el.querySelector("a")) {
        const reload = document.createElement("a");
        reload.href = location.pathname;
        reload.textContent = "Reload this screen";
        el.className = "offline-status back";
        el.replaceChildren("Connection is back. ", reload, " when you finish this step.");
      }
    }, PROBE_EVERY_MS);
  }

  // ---- the offline shell: a screen that was never cached, served by the service worker ----------
  // Its task menu and sign-in link are in the page (web/templates/offline.html); this shows one of them.
  function shellStart() {
    const who = session();
    const whoEl = $("offline-who");
    const menu = $("offline-menu");
    if (!who) {
      show(menu, { signin: true });
      return;
    }
    if (whoEl) { whoEl.hidden = false; whoEl.querySelector(".who").textContent = who.name; }
    if (location.pathname === "/floor" || !screenFor(location.pathname)) {
      show(menu, { tasks: true });
      if (location.pathname !== "/floor" && location.pathname !== "/offline") say("warn", "No connection. This screen needs the server; these work offline.");
      return;
    }
    menu.hidden = true;
    message = { kind: "warn", text: "No connection — working offline from the copy on this scanner." };
    run(() => enter({}));
  }

  function start() {
    if (shell) {
      const who = session();
      if (who) body.dataset.userId = String(who.user_id);  // outbox.js sends as this user once a session exists
      snapshotReady.then(shellStart);
      return;
    }
    if (isCopy && !onSignin) {
      if (!session() && !body.dataset.userId) { location.href = "/signin"; return; }
      message = { kind: "warn", text: "No connection — working offline from the copy on this scanner." };
      if (screenFor(location.pathname)) run(() => enter(fieldsOf($("flow"))));
      return;
    }
    snapshotReady.then(() => { if (!snap || Date.now() - Date.parse(snap.synced_at) > SNAPSHOT_FRESH_MS) refreshSnapshot(); });
    setInterval(refreshSnapshot, SNAPSHOT_REFRESH_MS);
    const sc = screenFor(location.pathname);
    if (sc) templateOf(sc.template);  // in memory before the server can go away, even with no service worker
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();

  return {
    takeOver, enter, owns, scanned, submitted, signOut, refreshSnapshot, resolveItem, resolveBin, session,
    covers: (path) => Boolean(screenFor(path)),
    get active() { return mode.active; },
    get synced() { return snap?.synced_at || ""; },
  };
})();
