/* Stockline's storage on the handheld: the outbox (outbox.js) and the offline snapshot, PIN verifiers
   and lockouts (offline.js) live in IndexedDB, through this one module on the vendored `idb`.

   Every transaction ends in exactly one of two ways: it resolves once the browser has committed it
   (durability "strict" for writes: a stored scan is on disk), or it rejects with a StorageError whose
   message a worker understands. A full disk (QuotaExceededError), an aborted transaction or a
   database the browser refuses to open all reject: no caller is left waiting, and nothing is shown
   as saved that was not. */
import { openDB } from "./vendor/idb/index.js";

// Why the scanner could not store something, in words for the worker. `reason` is "quota", "abort"
// or "unavailable" for screens and tests; `cause` is the browser's own error.
export class StorageError extends Error {
  constructor(reason, message, cause) {
    super(message, { cause });
    this.name = "StorageError";
    this.reason = reason;
  }
}

const QUOTA_NAMES = new Set(["QuotaExceededError", "NS_ERROR_DOM_QUOTA_REACHED"]);

function isQuota(err) {
  return Boolean(err) && (QUOTA_NAMES.has(err.name) || QUOTA_NAMES.has(err.cause?.name));
}

// Errors of the browser's storage become StorageErrors; our own code's errors pass unchanged.
export function storageError(err) {
  if (err instanceof StorageError) return err;
  if (isQuota(err)) return new StorageError("quota", "the scanner's storage is full", err);
  if (err instanceof DOMException || !err) {
    return new StorageError("abort", `the scanner's storage refused it (${err?.name || "aborted"})`, err);
  }
  return err;
}

// One IndexedDB database. `upgrade(db, oldVersion)` creates its stores.
export function database(name, version, upgrade) {
  let opening = null;

  function open() {
    opening ||= openDB(name, version, {
      upgrade,
      // Another tab opens a newer version (a new app version): let it, and reopen on next use.
      blocking() { opening?.then((db) => db.close()); opening = null; },
      terminated() { opening = null; },
    }).catch((err) => {
      opening = null;
      throw isQuota(err) ? storageError(err)
        : new StorageError("unavailable", "this scanner cannot store scans (its storage is off or broken)", err);
    });
    return opening;
  }

  // One transaction over `stores`. `work(t)` may await only requests of `t` (anything else lets the
  // browser commit it early); what it returns is the result once the transaction has committed.
  // If `work` throws, the transaction is aborted and nothing of it is kept.
  async function tx(stores, mode, work) {
    const db = await open();
    let t;
    try {
      t = db.transaction(stores, mode, mode === "readwrite" ? { durability: "strict" } : undefined);
    } catch (err) {
      if (err?.name === "InvalidStateError") opening = null;  // the connection was closed under us
      throw storageError(err);
    }
    t.done.catch(() => {});  // awaited below; an abort must not also be an unhandled rejection
    let result;
    try {
      result = await work(t);
    } catch (err) {
      try { t.abort(); } catch (_) { /* already finished or aborted */ }
      throw storageError(t.error || err);
    }
    try {
      await t.done;
    } catch (err) {
      throw storageError(t.error || err);
    }
    return result;
  }

  return { tx, open };
}

// A key-value store ("kv") in its own database: offline.js's snapshot, PIN verifiers and lockouts.
export function keyValue(name) {
  const db = database(name, 1, (upgraded) => upgraded.createObjectStore("kv"));
  return {
    get: (key) => db.tx(["kv"], "readonly", (t) => t.objectStore("kv").get(key)),
    set: (key, value) => db.tx(["kv"], "readwrite", (t) => t.objectStore("kv").put(value, key)),
    delete: (key) => db.tx(["kv"], "readwrite", (t) => t.objectStore("kv").delete(key)),
  };
}
