/* Feedback a worker sees, hears and feels: every answer on the handheld, from the server's partials
   (app.js), the outbox's results (outbox.js) or the offline screens (offline.js), goes through here. */

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

// The sound and vibration of an answer of `kind` ("ok", "warn", "error"); the colour and words are on screen.
export function feedback(kind) {
  document.body.dataset.lastFeedback = kind;
  if (kind === "ok") { tone(1320, 70, "sine"); navigator.vibrate?.(40); }
  else if (kind === "warn") { tone(660, 160, "triangle"); navigator.vibrate?.([80, 60, 80]); }
  else if (kind === "error") { tone(220, 220, "square", 2); navigator.vibrate?.([200, 80, 200]); }
}

// Show `text` in the screen's #feedback line as `kind`, with its sound and vibration. Text only:
// whatever the words hold (a code as scanned, a reason from the server) is never markup.
export function tell(kind, text) {
  const fb = document.getElementById("feedback");
  if (fb) { fb.className = `feedback ${kind}`; fb.textContent = text; fb.dataset.feedback = kind; }
  feedback(kind);
  return fb;
}
