/* Stockline handheld behaviour: always-focused scan field, feedback you can see, hear and feel,
   htmx error swaps, keypad/camera entry, idle sign-out, service worker. No framework, no CDN. */
(() => {
  "use strict";
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

  // ---- feedback: colour + text are in the partial; add sound and vibration ----
  let audio;
  function tone(freq, ms, type, repeat) {
    try {
      audio = audio || new (window.AudioContext || window.webkitAudioContext)();
      for (let i = 0; i < (repeat || 1); i++) {
        const osc = audio.createOscillator(), gain = audio.createGain();
        const start = audio.currentTime + i * (ms / 1000 + 0.06);
        osc.type = type; osc.frequency.value = freq; gain.gain.value = 0.25;
        osc.connect(gain).connect(audio.destination);
        osc.start(start); osc.stop(start + ms / 1000);
      }
    } catch (_) { /* no audio device: visible feedback still shows */ }
  }
  function feedback(kind) {
    document.body.dataset.lastFeedback = kind;
    if (kind === "ok") { tone(1320, 70, "sine"); navigator.vibrate?.(40); }
    else if (kind === "warn") { tone(660, 160, "triangle"); navigator.vibrate?.([80, 60, 80]); }
    else if (kind === "error") { tone(220, 220, "square", 2); navigator.vibrate?.([200, 80, 200]); }
  }
  function announce() {
    const fb = document.getElementById("feedback");
    if (fb && fb.dataset.feedback) feedback(fb.dataset.feedback);
  }
  function showError(message) {
    const fb = document.getElementById("feedback");
    if (!fb) return;
    fb.className = "feedback error"; fb.textContent = message; fb.dataset.feedback = "error";
    feedback("error");
  }

  // One answer per response, even when htmx settles several elements (the form and the prompt).
  let announcedXhr = null;
  document.addEventListener("htmx:afterSettle", (e) => {
    if (e.detail.xhr && e.detail.xhr === announcedXhr) return;
    announcedXhr = e.detail.xhr;
    announce(); focusScan(true);
  });
  document.addEventListener("htmx:sendError", () => showError("No connection to the server. Try again."));
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
  // After a keypad/OK entry is sent, clear the field and put the soft keyboard away again.
  document.addEventListener("submit", () => setTimeout(() => {
    const el = scanField();
    if (el) { el.value = ""; el.setAttribute("inputmode", "none"); }
  }, 0));

  // ---- scans are queued: a wedge scanner may scan again before the last scan's answer is back ----
  const pending = [];
  let inFlight = false;
  function sendNextScan() {
    const form = document.getElementById("flow");
    if (inFlight || !pending.length || !form) return;
    inFlight = true;
    const code = pending.shift();
    htmx.ajax("POST", form.getAttribute("hx-post"), { source: form, values: { code }, target: form, swap: "outerHTML" })
      .catch(() => showError("No connection to the server. Scan again."))
      .finally(() => { inFlight = false; sendNextScan(); });
  }

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
    const dialog = document.createElement("dialog");
    dialog.className = "camera";
    dialog.innerHTML = '<video playsinline muted></video><button type="button" class="big-btn">Close camera</button>';
    document.body.append(dialog);
    const video = dialog.querySelector("video");
    let stream, running = true;
    const close = () => { running = false; stream?.getTracks().forEach((t) => t.stop()); dialog.remove(); focusScan(true); };
    dialog.querySelector("button").addEventListener("click", close);
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
    const signOut = () => document.querySelector("form.switch-user")?.submit();
    const reset = () => { clearTimeout(timer); timer = setTimeout(signOut, idleSeconds * 1000); };
    ["keydown", "pointerdown", "htmx:afterRequest"].forEach((t) => document.addEventListener(t, reset));
    reset();
  }

  document.addEventListener("keydown", (e) => {
    if (e.key !== "Enter" || e.target.id !== SCAN_ID) return;
    const form = e.target.form;
    if (form?.id === "signin") { e.preventDefault(); document.getElementById("pin")?.focus(); return; }
    if (!form?.hasAttribute("hx-post")) return;  // a plain form: let the browser submit it
    e.preventDefault();
    const code = e.target.value.trim();
    e.target.value = "";
    e.target.setAttribute("inputmode", "none");
    if (code) { pending.push(code); sendNextScan(); }
    else if (!inFlight) form.requestSubmit();  // Enter on an empty field sends edited quantities
  });

  window.Stockline = { detectorClass };  // used by the camera dialog, and by the browser tests

  if ("serviceWorker" in navigator) navigator.serviceWorker.register("/sw.js").catch(() => {});
  window.addEventListener("DOMContentLoaded", () => { announce(); focusScan(true); });
})();
