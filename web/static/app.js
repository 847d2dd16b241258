/* Stockline handheld behaviour: always-focused scan field, feedback you can see, hear and feel,
   htmx error swaps, keypad/camera entry, idle sign-out, service worker. No framework, no CDN.
   The page loads this module only; what it needs it imports (the outbox, the offline screens, the
   feedback), so nothing depends on the order of script tags. htmx is the one vendored global. */
import { feedback, tell } from "./feedback.js";
import { offline } from "./offline.js";
import { outbox } from "./outbox.js";

(() => {
  const SCAN_ID = "scan";
  const EDITABLE = "input:not([type=hidden]):not(#scan), select, textarea";

  htmx.config.responseHandling = [
    { code: "204", swap: false },
    { code: "[23]..", swap: true },
    { code: "4..", swap: true },            // the server retargets error partials into #feedback
    { code: "5..", swap: true, error: true },
    { code: "...", swap: false },
  ];
  htmx.config.scrollIntoViewOnBoost = false;

  const scanField = () => document.getElementById(SCAN_ID);

  function focusScan(force) {
    const el = scanField();
    if (!el) return;
    const active = document.activeElement;
    if (!force && active && active !== document.body && active.matches(EDITABLE)) return;
    if (el.dataset.filled !== undefined) { document.getElementById("pin")?.focus(); return; }
    el.focus({ preventScroll: true });
  }

  // ---- feedback: colour + text are in the partial; add sound and vibration (feedback.js) ----
  function announce() {
    const fb = document.getElementById("feedback");
    if (fb && fb.dataset.feedback) feedback(fb.dataset.feedback);
  }
  function showError(message) {
    if (document.getElementById("feedback")) tell("error", message);
  }

  // One answer per response, even when htmx settles several elements (the form and the prompt).
  // Focus goes back to the scan field after every answer, unless the worker moved to another
  // field while waiting for it (their typing must not land in the scan field).
  let announcedXhr = null;
  document.addEventListener("htmx:beforeRequest", (e) => {
    if (e.detail.xhr) e.detail.xhr.stocklineFocusId = document.activeElement?.id || "";
  });
  document.addEventListener("htmx:afterSettle", (e) => {
    const xhr = e.detail.xhr;
    if (xhr && xhr === announcedXhr) return;
    announcedXhr = xhr;
    announce();
    const active = document.activeElement;
    const movedAway = xhr && active && active.id && active.matches(EDITABLE) && active.id !== xhr.stocklineFocusId;
    if (!movedAway) focusScan(true);
  });
  document.addEventListener("htmx:sendError", () => {
    if (!offline.covers(location.pathname)) showError("No connection to the server. Try again.");
  });
  document.addEventListener("htmx:beforeSwap", (e) => {
    if (e.detail.xhr.status === 401) { window.location.href = "/signin"; e.detail.shouldSwap = false; }
  });

  // Destructive buttons ask first; the question is data (escaped by the template), never script.
  document.addEventListener("click", (e) => {
    const ask = e.target.closest("[data-confirm]");
    if (ask && !window.confirm(ask.dataset.confirm)) { e.preventDefault(); e.stopImmediatePropagation(); }
  }, true);

  document.addEventListener("click", (e) => {
    const keypad = e.target.closest("[data-keypad], [data-keypad-for]");
    if (keypad) {
      const target = keypad.dataset.keypadFor ? document.getElementById(keypad.dataset.keypadFor) : scanField();
      if (target) { target.setAttribute("inputmode", "text"); target.blur(); target.focus(); }
      return;
    }
    if (e.target.closest("[data-camera]")) { openCamera(); return; }
    if (!e.target.closest("input, select, textarea, button, a, label, summary")) setTimeout(() => focusScan(false), 0);
  });
  // ---- every answer to the flow form goes out through one queue, in order, one at a time: a wedge
  // scanner may scan again, or the worker tap OK, before the last answer is back ----
  const pending = [];
  let inFlight = false;
  function sendNext() {
    const form = document.getElementById("flow");
    if (inFlight || !pending.length || !form) return;
    inFlight = true;
    const values = pending.shift();
    // No server: offline.js runs this screen's steps from the cached snapshot and queues the result
    // in the outbox (it says itself when a screen cannot work offline).
    if (offline.active) { offline.takeOver(values); inFlight = false; sendNext(); return; }
    htmx.ajax("POST", form.getAttribute("hx-post"), { source: form, values, target: form, swap: "outerHTML" })
      // A step that changes stock answers with an envelope: the outbox stores it on the device and
      // the next answer waits until it is sent (or saved for later), so steps stay in order.
      .then(() => outbox.flowSettled())
      .catch(() => { if (!offline.takeOver(values)) showError("No connection to the server. Scan again."); })
      .finally(() => { inFlight = false; sendNext(); });
  }
  function queue(values) { pending.push(values); sendNext(); }
  function clearScan() {
    const el = scanField();
    if (el) { el.value = ""; el.setAttribute("inputmode", "none"); }
  }
  // A submit (OK, a quantity's Enter, a step button, the camera) is captured before htmx sees it:
  // what the worker saw and pressed is taken now; the step's hidden state comes from the form
  // as it is when the answer goes out.
  document.addEventListener("submit", (e) => {
    const form = e.target;
    if (form.id === "flow" && offline.owns()) {  // offline: the screen runs on the handheld
      e.preventDefault(); e.stopImmediatePropagation();
      offline.submitted(form, e.submitter);
      return;
    }
    if (form.id !== "flow" || !form.hasAttribute("hx-post")) { setTimeout(clearScan, 0); return; }
    e.preventDefault(); e.stopImmediatePropagation();
    const values = {};
    for (const el of form.elements) {
      if (!el.name || el.disabled || el.type === "hidden" || el.type === "submit" || el.type === "button") continue;
      if ((el.type === "radio" || el.type === "checkbox") && !el.checked) continue;
      values[el.name] = el.value;
    }
    if (e.submitter?.name) values[e.submitter.name] = e.submitter.value;
    clearScan();
    queue(values);
  }, true);

  // ---- camera scanning: the browser's BarcodeDetector, else the vendored polyfill (no CDN) ----
  const VENDOR = "/static/vendor/barcode-detector/";
  function loadScript(src) {
    return new Promise((resolve, reject) => {
      const s = document.createElement("script");
      s.src = src; s.onload = resolve; s.onerror = () => reject(new Error("could not load " + src));
      document.head.append(s);
    });
  }
  async function detectorClass() {
    if ("BarcodeDetector" in window) return window.BarcodeDetector;
    if (!window.BarcodeDetectionAPI) await loadScript(VENDOR + "ponyfill.js");
    // The WebAssembly reader is served by Stockline (and precached), never fetched from a CDN.
    window.BarcodeDetectionAPI.setZXingModuleOverrides({
      locateFile: (path, prefix) => (path.endsWith(".wasm") ? VENDOR + "zxing_reader.wasm" : prefix + path),
    });
    return window.BarcodeDetectionAPI.BarcodeDetector;
  }
  async function openCamera() {
    const field = scanField();
    if (!field || !navigator.mediaDevices?.getUserMedia) { showError("No camera on this device."); return; }
    const dialog = document.createElement("dialog"), video = document.createElement("video"), button = document.createElement("button");
    dialog.className = "camera";
    video.playsInline = true; video.muted = true;
    button.type = "button"; button.className = "big-btn"; button.textContent = "Close camera";
    dialog.append(video, button);
    document.body.append(dialog);
    let stream, running = true;
    const close = () => { running = false; stream?.getTracks().forEach((t) => t.stop()); dialog.remove(); focusScan(true); };
    button.addEventListener("click", close);
    dialog.showModal();
    try {
      stream = await navigator.mediaDevices.getUserMedia({ video: { facingMode: "environment" } });
      video.srcObject = stream; await video.play();
      const Detector = await detectorClass();
      const detector = new Detector();
      while (running) {
        const codes = await detector.detect(video);
        if (codes.length) { close(); field.value = codes[0].rawValue; field.form.requestSubmit(); return; }
        await new Promise((r) => setTimeout(r, 150));
      }
    } catch (err) { close(); showError("Camera not available: " + err.message); }
  }

  // ---- idle sign-out on shared devices ----
  const idleSeconds = Number(document.body.dataset.idleS || 0);
  if (idleSeconds > 0) {
    let timer;
    const signOut = () => { const form = document.querySelector("form.switch-user"); if (form) offline.signOut(form); };
    const reset = () => { clearTimeout(timer); timer = setTimeout(signOut, idleSeconds * 1000); };
    ["keydown", "pointerdown", "htmx:afterRequest"].forEach((t) => document.addEventListener(t, reset));
    reset();
  }

  // ---- a scan wherever focus is ----------------------------------------------------------------
  // A keyboard-wedge scanner types into whatever has focus. A burst of keystrokes ending in Enter, on
  // average at most data-scan-gap-ms (STOCKLINE_SCAN_KEY_GAP_MS) apart, is a scan: the field it landed
  // in gets back what it held before the burst, and the code goes to the scan field as if scanned there
  // (app.js's queue online, offline.js offline). A person types slower. The average, not each gap,
  // decides: a busy handheld may stall one keystroke of a scan; a pause longer than BREAK starts a
  // new burst.
  const SCAN_LENGTH_MIN = 3;
  const TEXT_ENTRY = "input:not([type=hidden]):not([type=radio]):not([type=checkbox]):not([type=button]):not([type=submit]), select, textarea";
  const scanGapMs = Number(document.body?.dataset.scanGapMs) || 50;
  const burstBreakMs = Math.max(4 * scanGapMs, 200);
  let burst = null;  // {el, saved, code, first, last}
  const onScanScreen = () => scanField()?.getAttribute("form") === "flow" && document.getElementById("flow");
  const savedState = (el) => ({ value: el.value, index: el.selectedIndex });
  function restore(el, saved) {
    if (el.tagName === "SELECT") el.selectedIndex = saved.index;
    else el.value = saved.value;
  }
  function scanFromElsewhere(code) {
    const field = scanField();
    field.value = code;
    // The very keystroke a scan ends with, on the scan field: every handler treats it as a scan.
    field.dispatchEvent(new KeyboardEvent("keydown", { key: "Enter", code: "Enter", bubbles: true, cancelable: true }));
  }
  document.addEventListener("keydown", (e) => {
    if (e.target.id === SCAN_ID || e.isComposing || !onScanScreen()) return;
    const t = e.timeStamp;
    if (e.key === "Enter") {
      const b = burst;
      burst = null;
      if (!b || b.el !== e.target || b.code.length < SCAN_LENGTH_MIN || t - b.last > burstBreakMs) return;
      if ((t - b.first) / b.code.length > scanGapMs) return;  // a person's Enter: the form takes it
      e.preventDefault(); e.stopImmediatePropagation();
      if (b.saved) restore(b.el, b.saved);
      scanFromElsewhere(b.code);
      return;
    }
    if (e.key.length !== 1 || e.ctrlKey || e.altKey || e.metaKey) return;  // Shift and friends do not break a burst
    const typing = e.target.matches?.(TEXT_ENTRY);
    if (!typing && e.key !== " ") {
      // Focus on a button, a radio, a link or nothing: the keystroke goes to the scan field.
      burst = null;
      scanField().focus({ preventScroll: true });
      return;
    }
    if (!burst || burst.el !== e.target || t - burst.last > burstBreakMs) {
      burst = { el: e.target, saved: typing ? savedState(e.target) : null, code: "", first: t, last: t };
    }
    burst.code += e.key;
    burst.last = t;
  }, true);
  // The server validates; a form the browser refused to send would swallow the scan without a word.
  document.addEventListener("htmx:validation:halted", () => showError("That entry was not sent. Scan again."));

  document.addEventListener("keydown", (e) => {
    if (e.key !== "Enter" || e.target.id !== SCAN_ID) return;
    const form = e.target.form;
    if (form?.id === "signin") { e.preventDefault(); document.getElementById("pin")?.focus(); return; }
    if (form?.id === "flow" && offline.owns()) {
      e.preventDefault();
      const code = e.target.value.trim();
      e.target.value = "";
      offline.scanned(code);
      return;
    }
    if (!form?.hasAttribute("hx-post")) return;  // a plain form: let the browser submit it
    e.preventDefault();
    const code = e.target.value.trim();
    e.target.value = "";
    e.target.setAttribute("inputmode", "none");
    if (code) queue({ code });
    else form.requestSubmit();  // Enter on an empty field sends edited quantities
  });

  // For the browser console and the browser tests only (no script of ours reads it): the outbox, the
  // offline screens and the camera's detector.
  window.Stockline = Object.freeze({ outbox, offline, detectorClass });

  if ("serviceWorker" in navigator) navigator.serviceWorker.register("/sw.js").catch(() => {});
  window.addEventListener("DOMContentLoaded", () => { announce(); focusScan(true); });
})();
