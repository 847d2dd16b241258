"""Helpers for the floor-trust browser tests: a person's typing (slower than a scanner), the sounds
and buzzes a screen makes, and the answer every scan must get."""

from __future__ import annotations

from playwright.sync_api import Page, expect

from tests.e2e.conftest import feedback

PERSON_KEY_DELAY_MS = 250  # a gloved person typing: far slower than STOCKLINE_SCAN_KEY_GAP_MS (50)

# The platform's vibration and audio APIs are recorded (the browser's, not ours): the screen beeps and
# buzzes for every answer. `__tones` holds one frequency per oscillator started.
RECORD_FEEDBACK = """
window.__buzz = []; window.__tones = [];
navigator.vibrate = (pattern) => { window.__buzz.push(pattern); return true; };
const realOsc = AudioContext.prototype.createOscillator;
AudioContext.prototype.createOscillator = function () {
  const osc = realOsc.call(this);
  const start = osc.start.bind(osc);
  osc.start = (...args) => { window.__tones.push(osc.frequency.value); return start(...args); };
  return osc;
};
"""
TONES = {"ok": 1320, "warn": 660, "error": 220}
BUZZ = {"ok": 40, "warn": [80, 60, 80], "error": [200, 80, 200]}


def record_feedback(page: Page) -> None:
    page.add_init_script(RECORD_FEEDBACK)


def buzzes(page: Page) -> int:
    return page.evaluate("window.__buzz.length")


def person_types(page: Page, selector: str, text: str) -> None:
    """A person taps a field and types into it (slowly, as gloved hands do); focus stays there."""
    field = page.locator(selector)
    field.tap()
    field.press("Control+a")
    page.keyboard.type(text, delay=PERSON_KEY_DELAY_MS)


def answered(page: Page, kind: str, text: str | None = None, *, after: int) -> None:
    """The last scan got an answer of `kind`, seen (#feedback), heard (its tone) and felt (a buzz):
    `after` is the number of buzzes before that scan."""
    if text is not None:
        expect(feedback(page)).to_contain_text(text)
    expect(feedback(page)).to_have_attribute("data-feedback", kind)
    page.wait_for_function(f"window.__buzz.length > {after}")
    assert page.evaluate("window.__buzz")[-1] == BUZZ[kind]
    assert page.evaluate("window.__tones")[-1] == TONES[kind]
