/* Stockline outbox: scans are stored on the device (IndexedDB, through store.js) before any network
   attempt and replayed to /sync/txns exactly once (docs/offline-protocol.md).
   A scan the device could not store (storage full, transaction aborted) rejects enqueue(): it is
   never counted or shown as saved. */
import { feedback } from "./feedback.js";
import { database } from "./store.js";

export const outbox = (() => {

  const DB_NAME = "stockline-outbox";
  const DB_VERSION = 1;
  const LOCK_NAME = "stockline-outbox";
  const CHANNEL_NAME = "stockline-outbox";
  const SCAN_BATCH_MAX = 100;          // the server takes up to 200 (sync/replay.py SYNC_BATCH_MAX)
  const DRAIN_ROUNDS_MAX = 200;        // batches per drain before yielding to the timer
  const FETCH_TIMEOUT_MS = 30000;      // a batch of SCAN_BATCH_MAX on a slow store fits well inside
  const BACKOFF_BASE_MS = 1000;
  const BACKOFF_MAX_MS = 30000;
  const LEASE_MS = FETCH_TIMEOUT_MS + 15000;  // fallback drainer lease (no Web Locks): outlives one request
  const RECENT_MAX = 20;               // results kept for the outbox dialog (this page only)
  const LOW_FREE_BYTES = 10 * 1024 * 1024;
  const HIGH_USED_RATIO = 0.9;
  const DEVICE_COOKIE = "stockline_device";  // backend/http/session.py DEVICE_COOKIE
  const LS_SEQ_PREFIX = "stockline.seq.";  // + device id: mirror of the last seq, so numbers go on if the IndexedDB is lost
  const LS_PERSIST_ASKED = "stockline.persist_asked";
  const LS_PERSIST_REFUSED = "stockline.persist_refused";    // the browser said no when asked to keep our storage
  const LS_STORAGE_DISMISSED = "stockline.storage_dismissed";  // the worker closed that warning on this device
  const KINDS = new Set(["receive", "move", "pick", "count", "count_finish", "adjust"]);  // sync/envelopes.py KINDS
  const FINAL = new Set(["applied", "duplicate", "needs_review", "rejected"]);
  const REFUSED_STATUSES = new Set([400, 413, 415, 422]);  // the request itself is refused: sending it again changes nothing (409, 429, 5xx may pass later)
  const TAB_ID = crypto.randomUUID();
  const FLOW_RESULT_WAIT_MS = 5000;    // a screen step waits this long for its scan's answer, then goes on

  // ---- IndexedDB -------------------------------------------------------------------------------
  // outbox: {seq, envelope, queued_at} by seq · rejected: {txn_id, envelope, reason, at} ·
  // meta: {key: "device_id" | "seq" | "lease", ...}
  const store = database(DB_NAME, DB_VERSION, (db) => {
    db.createObjectStore("outbox", { keyPath: "seq" });
    db.createObjectStore("rejected", { keyPath: "txn_id" });
    db.createObjectStore("meta", { keyPath: "key" });
  });

  // One transaction (store.js): `work` may await requests of `t` only. Writes are "strict": a stored
  // scan is on disk before enqueue() resolves; a full disk or an abort rejects with a StorageError.
  const tx = store.tx;

  // ---- device identity -------------------------------------------------------------------------
  // The server issues this handheld's id at its first online sign-in and names it in a readable
  // cookie (the secret that proves it stays in an httponly one). The outbox stamps it on every scan;
  // the server refuses a batch that names another device than the session's.
  function issuedDevice() {
    const cookie = document.cookie.split("; ").find((c) => c.startsWith(`${DEVICE_COOKIE}=`));
    return cookie ? decodeURIComponent(cookie.slice(DEVICE_COOKIE.length + 1)) : "";
  }

  let devicePromise = null, deviceFor = null;
  function deviceId() {
    const issued = issuedDevice();
    if (!devicePromise || deviceFor !== issued) {
      deviceFor = issued;
      devicePromise = adoptDevice(issued).catch((err) => { devicePromise = null; throw err; });
    }
    return devicePromise;
  }

  // The outbox follows the id the server issued. Scans still waiting from an earlier identity (made
  // here before this handheld was enrolled anew) were made on this very device: they are renumbered
  // under the new id after the last number this browser used with it, in order and with their scan
  // ids, so none is stranded, no number is used twice and the server sees no gap.
  function adoptDevice(issued) {
    return tx(["meta", "outbox"], "readwrite", async (t) => {
      const meta = t.objectStore("meta"), outbox = t.objectStore("outbox");
      const row = await meta.get("device_id");
      if (!issued || (row && row.value === issued)) return row ? row.value : null;
      const waiting = await outbox.getAll();
      let seq = mirroredSeq(issued);  // 0 for a device new to this browser
      if (row) {
        outbox.clear();
        for (const record of waiting) {
          seq += 1;
          outbox.add({ ...record, seq, envelope: { ...record.envelope, device_id: issued, seq } });
        }
      }
      meta.put({ key: "device_id", value: issued });
      meta.put({ key: "seq", value: seq });
      return issued;
    });
  }

  function mirroredSeq(device) {
    let seq = 0;
    try { seq = Number(localStorage.getItem(LS_SEQ_PREFIX + device) || 0); } catch (_) { /* storage off */ }
    return Number.isSafeInteger(seq) && seq > 0 ? seq : 0;
  }

  // ---- enqueue ---------------------------------------------------------------------------------
  async function enqueue({ kind, payload, userId } = {}) {
    if (!KINDS.has(kind)) throw new TypeError(`Unknown kind of scan: ${kind}`);
    if (!payload || typeof payload !== "object") throw new TypeError("A scan needs its details (payload).");
    const user = Number(userId ?? document.body?.dataset.userId);
    if (!Number.isSafeInteger(user) || user < 1) throw new Error("Sign in before scanning.");
    const details = JSON.parse(JSON.stringify(payload));  // exactly what will be sent, every time
    const device = await deviceId();
    if (!device) throw new Error("Sign in online on this scanner once before scanning.");
    const envelope = await tx(["meta", "outbox"], "readwrite", async (t) => {
      const meta = t.objectStore("meta");
      const counter = await meta.get("seq");
      const seq = (counter ? counter.value : 0) + 1;
      const env = { txn_id: crypto.randomUUID(), device_id: device, seq, user_id: user, kind, payload: details,
                    scanned_at: new Date().toISOString() };
      meta.put({ key: "seq", value: seq });
      t.objectStore("outbox").add({ seq, envelope: env, queued_at: Date.now() });
      return env;
    });
    try { localStorage.setItem(LS_SEQ_PREFIX + device, String(envelope.seq)); } catch (_) { /* storage off */ }
    await refreshCounts(true);
    drain();
    return envelope;
  }

  // ---- reading the outbox ----------------------------------------------------------------------
  function counts() {
    return tx(["outbox", "rejected"], "readonly", async (t) => ({
      pending: await t.objectStore("outbox").count(),
      rejected: await t.objectStore("rejected").count(),
    }));
  }
  function rejected() {
    return tx(["rejected"], "readonly", (t) => t.objectStore("rejected").getAll())
      .then((rows) => rows.sort((a, b) => a.envelope.seq - b.envelope.seq));
  }
  function oldest(limit) {
    return tx(["outbox"], "readonly", (t) => t.objectStore("outbox").getAll(null, limit));
  }
  async function acknowledge(txnId) {
    await tx(["rejected"], "readwrite", (t) => t.objectStore("rejected").delete(txnId));
    reportNeeded = true;
    await refreshCounts(true);
    drain();
  }

  // ---- sending ---------------------------------------------------------------------------------
  function csrfToken() {
    const cookie = document.cookie.split("; ").find((c) => c.startsWith("csrftoken="));
    if (cookie) return decodeURIComponent(cookie.slice("csrftoken=".length));
    try { return JSON.parse(document.body.getAttribute("hx-headers") || "{}")["x-csrftoken"] || ""; } catch (_) { return ""; }
  }

  async function send(envelopes, device, known) {
    const abort = new AbortController();
    const timer = setTimeout(() => abort.abort(), FETCH_TIMEOUT_MS);
    let response, body = null;
    try {
      response = await fetch("/sync/txns", {
        method: "POST", credentials: "same-origin", cache: "no-store", signal: abort.signal,
        headers: { "content-type": "application/json", accept: "application/json", "x-csrftoken": csrfToken() },
        body: JSON.stringify({ device_id: device, envelopes, pending: known.pending, failed: known.rejected }),
      });
      body = await response.json().catch(() => null);
    } catch (_) {
      return { kind: "offline" };  // no answer (network, timeout, cut-off response): the server may have applied it
    } finally {
      clearTimeout(timer);
    }
    const error = body && body.error ? body.error : {};
    if (response.ok && body && Array.isArray(body.results)) return { kind: "results", results: body.results };
    if (response.status === 401) return { kind: "signed_out" };
    if (response.status === 422 && error.code === "txn_id_reused") return { kind: "reused", txnId: error.txn_id, message: error.message };
    if (response.status === 403 && error.code === "device_mismatch") {
      devicePromise = null;  // the next drain takes the id the server issued at the last sign-in
      return { kind: "retry", status: 403, message: error.message || "" };
    }
    if (REFUSED_STATUSES.has(response.status)) return { kind: "refused", status: response.status, message: error.message || "" };
    return { kind: "retry", status: response.status, message: error.message || "" };
  }

  // The server's answers for one batch: final ones leave the outbox (rejected ones move to the
  // rejected list), in one transaction.
  async function settle(records, results) {
    const bySeq = new Map(), byTxn = new Map(records.map((r) => [r.envelope.txn_id, r]));
    for (const result of results) {
      const record = byTxn.get(result.txn_id);
      if (record && FINAL.has(result.status)) bySeq.set(record.seq, { record, result });
    }
    if (!bySeq.size) return [];
    await tx(["outbox", "rejected"], "readwrite", (t) => {
      for (const { record, result } of bySeq.values()) {
        t.objectStore("outbox").delete(record.seq);
        if (effectiveStatus(result) === "rejected") {
          t.objectStore("rejected").put({ txn_id: result.txn_id, envelope: record.envelope, reason: result.reason || "", at: Date.now() });
        }
      }
    });
    return [...bySeq.values()];
  }

  async function rejectReused(records, answer) {
    const record = records.find((r) => r.envelope.txn_id === answer.txnId);
    if (!record) return [];
    const result = { txn_id: answer.txnId, status: "rejected", reason: answer.message || "This scan was already received with different details." };
    return settle([record], [result]);
  }

  function effectiveStatus(result) {
    return result.status === "duplicate" ? (result.original_status || "applied") : result.status;
  }

  // A scan the server refuses as a request (4xx other than signed out, busy or another device's) is
  // never sent again as is: the batch is retried one scan at a time to find it, and it moves to the
  // rejected list with the server's reason, so it cannot block the scans behind it.
  async function rejectRefused(records, answer) {
    const reason = answer.message || `The server refused this scan (HTTP ${answer.status}).`;
    return settle(records, [{ txn_id: records[0].envelope.txn_id, status: "rejected", reason }]);
  }

  // One drainer at a time for the whole device: the Web Lock, else a lease in IndexedDB.
  async function drainLocked(stillMine) {
    const device = await deviceId();
    if (!device) return { kind: "signed_out" };
    let batchSize = SCAN_BATCH_MAX;
    for (let round = 0; round < DRAIN_ROUNDS_MAX; round++) {
      const records = await oldest(batchSize);
      if (!records.length) return reportNeeded ? report(device) : "empty";
      if (!(await stillMine())) return "busy";
      const answer = await send(records.map((r) => r.envelope), device, await counts());
      let done;
      if (answer.kind === "results") done = await settle(records, answer.results);
      else if (answer.kind === "reused") done = await rejectReused(records, answer);
      else if (answer.kind === "refused" && records.length > 1) { batchSize = 1; continue; }
      else if (answer.kind === "refused") { done = await rejectRefused(records, answer); batchSize = SCAN_BATCH_MAX; }
      else return answer;
      signedOut = false;
      reportNeeded = true;
      announce(done);
      await refreshCounts(true);
      if (!done.length) return { kind: "retry", message: "The server answered none of the scans sent." };
    }
    return "more";
  }

  // An empty batch tells the managers' device view what is left here (nothing unsent, N not accepted).
  // Best effort: if it does not get through, the next drain or scan tells the server instead.
  async function report(device) {
    const answer = await send([], device, await counts());
    if (answer.kind === "results") reportNeeded = false;
    return "empty";
  }

  async function withLease(work) {
    const take = () => tx(["meta"], "readwrite", async (t) => {
      const meta = t.objectStore("meta");
      const lease = await meta.get("lease");
      if (lease && lease.owner !== TAB_ID && lease.until > Date.now()) return false;
      meta.put({ key: "lease", owner: TAB_ID, until: Date.now() + LEASE_MS });
      return true;
    });
    if (!(await take())) return "busy";
    try {
      return await work(take);
    } finally {
      await tx(["meta"], "readwrite", async (t) => {
        const meta = t.objectStore("meta");
        const lease = await meta.get("lease");
        if (lease && lease.owner === TAB_ID) meta.delete("lease");
      }).catch(() => {});
    }
  }

  function withDrainer(work) {
    if (navigator.locks && navigator.locks.request) {
      return navigator.locks.request(LOCK_NAME, () => work(() => Promise.resolve(true)));
    }
    return withLease(work);
  }

  let running = null, again = false, timer = null, failures = 0, signedOut = false, lastProblem = "";
  let reportNeeded = false;  // the server last heard a pending/not-accepted count that has changed since

  function signedIn() { return Boolean(document.body && document.body.dataset.userId); }

  function drain() {
    if (!signedIn()) return refreshCounts(false);
    if (running) { again = true; return running; }
    running = (async () => {
      let outcome;
      try {
        do {
          again = false;
          outcome = await withDrainer(drainLocked).catch((err) => ({ kind: "retry", message: String(err && err.message || err) }));
        } while (again && (outcome === "empty" || outcome === "more"));
      } finally {
        running = null;
      }
      afterDrain(outcome);
      return refreshCounts(true);
    })();
    return running;
  }

  function afterDrain(outcome) {
    clearTimeout(timer);
    timer = null;
    if (outcome === "empty") { failures = 0; lastProblem = ""; return; }
    if (outcome === "more") { timer = setTimeout(drain, 0); return; }
    if (outcome && outcome.kind === "signed_out") signedOut = true;
    lastProblem = outcome && outcome.message ? outcome.message : "";
    failures = Math.min(failures + 1, 30);
    timer = setTimeout(drain, backoffDelay());
  }

  // Exponential, capped, with full jitter in its upper half: handhelds coming back online together
  // do not all knock at once.
  function backoffDelay() {
    const ceiling = Math.min(BACKOFF_MAX_MS, BACKOFF_BASE_MS * 2 ** Math.min(failures - 1, 16));
    return ceiling / 2 + Math.random() * (ceiling / 2);
  }

  // ---- telling the screen ----------------------------------------------------------------------
  let channel = null;
  try { channel = new BroadcastChannel(CHANNEL_NAME); } catch (_) { /* one tab only */ }
  if (channel) channel.onmessage = () => { refreshCounts(false); };

  let shown = { pending: -1, rejected: -1 };
  const recent = [];

  async function refreshCounts(broadcast) {
    let now;
    try { now = await counts(); } catch (_) { return shown; }
    if (now.pending !== shown.pending || now.rejected !== shown.rejected) {
      shown = now;
      document.dispatchEvent(new CustomEvent("stockline:outbox", { detail: { ...now } }));
      if (broadcast && channel) channel.postMessage(now);
    }
    render();
    return now;
  }

  function announce(done) {
    for (const { record, result } of done) {
      recent.unshift({ envelope: record.envelope, result });
      waiters.get(record.envelope.txn_id)?.(result);
      document.dispatchEvent(new CustomEvent("stockline:result", { detail: { envelope: record.envelope, result } }));
      const status = effectiveStatus(result);
      if (status === "needs_review") note(`Sent — a manager will check this: ${describe(record.envelope)}. ${result.reason || ""}`, "warn");
      else if (status === "rejected") note(`Not accepted: ${describe(record.envelope)}. ${result.reason || ""}`, "error");
    }
    recent.length = Math.min(recent.length, RECENT_MAX);
  }

  function describe(env) {
    const p = env.payload || {};
    // A step carries what the worker did (backend/domain/scans): codes as scanned, quantities as typed.
    // Envelopes of the earlier format (sku, qty, locations) may still wait here: both are described.
    const item = p.sku || (Array.isArray(p.items) ? p.items.find((e) => typeof e === "string") : "") || p.item_code || "";
    const typed = Array.isArray(p.items) ? p.items.filter((e) => typeof e === "number").pop() : undefined;
    const scans = Array.isArray(p.items) ? p.items.filter((e) => typeof e === "string").length : 0;
    const qty = p.qty ?? typed ?? `${scans} scan${scans === 1 ? "" : "s"} of`;
    switch (env.kind) {
      case "move": return `Moved ${qty} ${item} ${p.from_location || p.from_bin} → ${p.to_location || p.to_bin}`;
      case "receive": return `Received ${qty} ${item} into ${p.to_location || p.to_bin}${p.damaged ? ` (${p.damaged} damaged)` : ""}`;
      case "pick": return `Picked ${p.qty} ${p.item_code} from ${p.bin}`;
      case "count": return `Counted ${p.qty} ${p.item_code}`;
      case "count_finish": return `Finished count #${p.task_id}`;
      case "adjust": return `Adjusted ${item} by ${p.delta} in ${p.location || p.bin}`;
      default: return `Scan ${env.seq}`;
    }
  }

  function statusWords(status) {
    return { applied: "sent", duplicate: "sent", needs_review: "sent — a manager will check this", rejected: "not accepted" }[status] || status;
  }

  function badgeText() {
    const { pending, rejected: failed } = shown;
    if (signedOut && pending > 0) return `Sign in to send ${pending} saved scan${pending === 1 ? "" : "s"}`;
    const parts = [];
    if (pending > 0) parts.push(`${pending} unsent`);
    if (failed > 0) parts.push(`${failed} not accepted`);
    return parts.join(" · ");
  }

  function render() {
    if (document.body && shown.pending >= 0) {  // for screens' CSS and the browser tests: the counts as last read
      document.body.dataset.outboxPending = String(shown.pending);
      document.body.dataset.outboxRejected = String(shown.rejected);
    }
    const badge = document.getElementById("outbox-badge");
    if (badge) {
      const text = badgeText();
      badge.hidden = !text;
      badge.textContent = text;
      badge.dataset.state = shown.rejected > 0 ? "rejected" : signedOut ? "signed-out" : shown.pending > 0 ? "pending" : "clear";
    }
    const waiting = document.getElementById("outbox-note");
    if (!signedIn() && shown.pending > 0) note(`${shown.pending} saved scan${shown.pending === 1 ? "" : "s"} will be sent when you sign in.`, "warn", "outbox-note", "signin");
    else if (waiting && waiting.dataset.topic === "signin") note("", "warn");
    renderStorage();
    if (dialog && dialog.open) fillDialog();
  }

  // Lines under the header bar for what the worker must know about saved scans: the latest answer
  // that needs them (#outbox-note) and the storage they are kept in (#outbox-storage).
  function note(text, kind, id = "outbox-note", topic = "") {
    let el = document.getElementById(id);
    if (!el) {
      if (!document.body) return;
      el = document.createElement("p");
      el.id = id;
      el.setAttribute("role", "status");
      const header = document.querySelector("header.bar");
      if (header) header.after(el); else document.body.prepend(el);
    }
    el.hidden = !text;
    el.dataset.topic = topic;
    el.className = `outbox-note ${kind}`;
    el.textContent = text;
  }

  // ---- the outbox dialog (opened from the badge) -----------------------------------------------
  let dialog = null;
  function button(text, cls, onClick) {
    const b = document.createElement("button");
    b.type = "button"; b.className = `big-btn ${cls}`; b.textContent = text;
    b.addEventListener("click", onClick);
    return b;
  }

  function openDialog() {
    if (!dialog) {
      dialog = document.createElement("dialog");
      dialog.className = "outbox-dialog";
      dialog.setAttribute("aria-labelledby", "outbox-title");
      document.body.append(dialog);
    }
    fillDialog();
    if (!dialog.open) dialog.showModal();
  }

  async function fillDialog() {
    const list = await rejected().catch(() => []);
    const parts = [];
    const title = document.createElement("h2");
    title.id = "outbox-title";
    title.textContent = "Saved scans";
    parts.push(title);
    const summary = document.createElement("p");
    summary.className = "outbox-summary";
    summary.textContent = signedOut && shown.pending > 0 ? badgeText() + "."
      : shown.pending > 0 ? `${shown.pending} scan${shown.pending === 1 ? "" : "s"} waiting to be sent.${lastProblem ? " " + lastProblem : ""}`
      : "Every scan has been sent.";
    parts.push(summary);
    if (list.length) {
      const h = document.createElement("h3");
      h.textContent = "Not accepted — redo these scans";
      const ul = document.createElement("ul");
      ul.className = "outbox-rejected";
      for (const row of list) {
        const li = document.createElement("li");
        const what = document.createElement("strong");
        what.textContent = describe(row.envelope);
        const why = document.createElement("p");
        why.className = "outbox-reason";
        why.textContent = row.reason;
        li.append(what, why, button("OK, got it", "", async () => { await acknowledge(row.txn_id); fillDialog(); }));
        ul.append(li);
      }
      parts.push(h, ul);
    }
    const done = recent.filter((r) => effectiveStatus(r.result) !== "rejected").slice(0, 5);
    if (done.length) {
      const ul = document.createElement("ul");
      ul.className = "outbox-recent";
      for (const r of done) {
        const li = document.createElement("li");
        li.className = effectiveStatus(r.result);
        li.textContent = `${describe(r.envelope)}: ${statusWords(effectiveStatus(r.result))}`;
        ul.append(li);
      }
      parts.push(ul);
    }
    const actions = document.createElement("div");
    actions.className = "actions";
    if (signedOut) {
      const a = document.createElement("a");
      a.className = "big-btn primary"; a.href = "/signin"; a.textContent = "Sign in";
      actions.append(a);
    } else if (shown.pending > 0) {
      actions.append(button("Send now", "primary", () => { failures = 0; drain(); }));
    }
    actions.append(button("Close", "", () => dialog.close()));
    parts.push(actions);
    dialog.replaceChildren(...parts);
  }

  // ---- storage that lasts ----------------------------------------------------------------------
  let storage = { persisted: true, refused: false, low: false };
  const remembered = (key) => { try { return Boolean(localStorage.getItem(key)); } catch (_) { return false; } };
  function remember(key, on) {
    try { if (on) localStorage.setItem(key, new Date().toISOString()); else localStorage.removeItem(key); } catch (_) { /* storage off */ }
  }
  async function checkStorage() {
    const api = navigator.storage;
    if (!api) return;
    let persisted = api.persisted ? await api.persisted().catch(() => false) : false;
    if (!persisted && !remembered(LS_PERSIST_ASKED) && api.persist) {
      persisted = await api.persist().catch(() => false);
      remember(LS_PERSIST_ASKED, true);
      remember(LS_PERSIST_REFUSED, !persisted);
    }
    if (persisted) remember(LS_PERSIST_REFUSED, false);
    const estimate = api.estimate ? await api.estimate().catch(() => null) : null;
    const low = Boolean(estimate && estimate.quota &&
      (estimate.quota - estimate.usage < LOW_FREE_BYTES || estimate.usage / estimate.quota > HIGH_USED_RATIO));
    storage = { persisted: Boolean(persisted), refused: !persisted && remembered(LS_PERSIST_REFUSED), low };
    document.body.dataset.storagePersisted = String(storage.persisted);
    renderStorage();
  }

  // Space running out is shown everywhere. Storage the browser may clear is shown only when the
  // browser refused to keep it, only to people whose scans wait on this handheld (data-scans-offline),
  // on the home screen and while scans are waiting, until they dismiss it.
  function renderStorage() {
    const mayClear = storage.refused && document.body?.hasAttribute("data-scans-offline") && !remembered(LS_STORAGE_DISMISSED);
    if (storage.low) {
      note("This scanner is almost out of storage: saved scans may be lost. Send them now and tell a lead.", "error", "outbox-storage");
    } else if (mayClear && (shown.pending > 0 || location.pathname === "/floor")) {
      note("This browser may clear saved scans if the scanner runs short of space. Send scans often; ask a lead to install Stockline on the home screen.", "warn", "outbox-storage");
      const el = document.getElementById("outbox-storage");
      if (el && !el.querySelector("button")) {
        el.append(button("Dismiss", "dismiss-btn", () => { remember(LS_STORAGE_DISMISSED, true); note("", "warn", "outbox-storage"); }));
      }
    } else if (document.getElementById("outbox-storage")) {
      note("", "warn", "outbox-storage");
    }
  }

  // ---- a screen step that changes stock (app.js calls this after every #flow answer) ---------------
  // The server checked the step and answered with <template data-envelope>; it posted nothing. The
  // scan is stored here before any network attempt, and the worker hears its final answer, or that it
  // is saved on the device, before the next answer goes out. Never rejects: app.js would take that
  // for "no connection" and run the step again offline.
  const waiters = new Map();  // txn_id → what to do with its result, for the steps this page showed

  // The result within FLOW_RESULT_WAIT_MS, else null (and `late` gets it when it comes, if it does here).
  function resultOf(envelope, late) {
    const known = recent.find((r) => r.envelope.txn_id === envelope.txn_id);
    if (known) return Promise.resolve(known.result);
    return new Promise((resolve) => {
      let waiting = true;
      const timer = setTimeout(() => { waiting = false; resolve(null); }, FLOW_RESULT_WAIT_MS);
      waiters.set(envelope.txn_id, (result) => {
        waiters.delete(envelope.txn_id);
        if (waiting) { clearTimeout(timer); resolve(result); } else late(result);
      });
    });
  }

  function tell(kind, text, txnId) {
    const fb = document.getElementById("feedback");
    if (fb) {
      fb.className = `feedback ${kind}`; fb.dataset.feedback = kind; fb.textContent = text;
      fb.dataset.txn = txnId || "";
    }
    feedback(kind);
  }

  function tellResult(el, envelope, result) {
    const status = effectiveStatus(result);
    if (status === "applied" && result.reason) tell("warn", result.reason, envelope.txn_id);
    else if (status === "applied") tell("ok", el.dataset.ok || describe(envelope), envelope.txn_id);
    else if (status === "needs_review") tell("warn", `Sent — a manager will check this. ${describe(envelope)}.`, envelope.txn_id);
    else tell("error", `Not accepted: ${describe(envelope)}. ${result.reason || ""}`, envelope.txn_id);
    return status;
  }

  async function flowSettled() {
    const el = document.querySelector("#flow [data-envelope]:not([data-queued])");
    if (!el) return;
    el.dataset.queued = "";
    try {
      const envelope = await enqueue({ kind: el.dataset.kind, payload: JSON.parse(el.dataset.payload),
                                        userId: document.body.dataset.userId });
      // A late answer replaces "saved on this device" if the worker has not moved on since.
      const late = (result) => { if (document.getElementById("feedback")?.dataset.txn === envelope.txn_id) tellResult(el, envelope, result); };
      const result = await resultOf(envelope, late);
      if (!result) { tell("warn", "Saved on this device — will send when the connection is back.", envelope.txn_id); return; }
      if (tellResult(el, envelope, result) !== "applied" && el.dataset.refresh) await refreshFlow(el.dataset.refresh);
    } catch (err) {
      tell("error", `This scanner could not save the scan: ${err && err.message || err}. Redo it.`);
    }
  }

  // The screen showed the state the scan leads to if applied; anything else, show the server's.
  // The answer being shown stays (the refreshed screen's own feedback is replaced by it).
  async function refreshFlow(url) {
    const fb = document.getElementById("feedback");
    const said = fb ? { className: fb.className, feedback: fb.dataset.feedback, text: fb.textContent, txn: fb.dataset.txn } : null;
    const form = document.getElementById("flow");
    if (!form) return;
    await htmx.ajax("GET", url, { source: form, target: form, swap: "outerHTML" }).catch(() => {});
    const now = document.getElementById("feedback");
    if (now && said) {
      now.className = said.className; now.dataset.feedback = said.feedback; now.textContent = said.text;
      now.dataset.txn = said.txn;
    }
  }

  // ---- wiring ------------------------------------------------------------------------------------
  function start() {
    const badge = document.getElementById("outbox-badge");
    if (badge) badge.addEventListener("click", () => { failures = 0; openDialog(); drain(); });
    window.addEventListener("online", () => { failures = 0; drain(); });
    document.addEventListener("visibilitychange", () => { if (document.visibilityState === "visible" && shown.pending > 0) drain(); });
    deviceId().catch(() => note("This scanner cannot store scans (storage is off). Scans cannot be kept offline.", "error", "outbox-storage"));
    // After the other scripts' DOMContentLoaded work: the offline shell says who is signed in then.
    setTimeout(() => refreshCounts(false).then(() => drain()), 0);
    checkStorage();
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();

  return { enqueue, drain, counts, rejected, acknowledge, deviceId, describe, flowSettled };
})();
