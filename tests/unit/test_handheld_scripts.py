"""The handheld's scripts declare what they need (ES modules), the service worker precaches every one of
them and every offline screen, and no script builds markup from strings."""

from __future__ import annotations

import re
from pathlib import Path

from backend.http.floor.pwa import OFFLINE_SCREENS

WEB = Path(__file__).resolve().parents[2] / "web"
STATIC = WEB / "static"
IMPORT = re.compile(r'^\s*import\s+(?:[^"\']+\s+from\s+)?["\'](\.{1,2}/[^"\']+)["\']', re.MULTILINE)
# A string or template literal that opens a tag: `<div`, "<li class=…", '</p>'.
MARKUP_LITERAL = re.compile(r'["\'`]\s*</?[a-z][a-z0-9-]*[\s>/]', re.IGNORECASE)
OUR_MODULES = ("app.js", "feedback.js", "offline.js", "outbox.js", "slots.js", "store.js")


def _page_modules() -> list[str]:
    base = (WEB / "templates" / "floor" / "base.html").read_text()
    return re.findall(r'<script type="module" src="([^"]+)"', base)


def _imports_of(url: str) -> set[str]:
    """`url` and every module it imports, transitively, as /static/... paths."""
    seen: set[str] = set()
    todo = [url]
    while todo:
        current = todo.pop()
        if current in seen:
            continue
        seen.add(current)
        text = (STATIC / current.removeprefix("/static/")).read_text()
        base = current.rsplit("/", 1)[0]
        for relative in IMPORT.findall(text):
            parts = [*base.split("/"), *relative.split("/")]
            resolved: list[str] = []
            for part in parts:
                if part == "..":
                    resolved.pop()
                elif part != ".":
                    resolved.append(part)
            todo.append("/".join(resolved))
    return seen


def _precached() -> set[str]:
    sw = (WEB / "sw.js").read_text()
    modules = re.search(r"const MODULES = \[(.*?)\];", sw, re.DOTALL)
    screens = re.search(r"const SCREENS = \[(.*?)\]", sw, re.DOTALL)
    assert modules and screens
    names = re.findall(r'"([^"]+)"', screens[1])
    return set(re.findall(r'"([^"]+)"', modules[1])) | {f"/offline/screens/{n}" for n in names}


def test_the_page_loads_one_module_and_htmx_no_classic_scripts_of_ours():
    base = (WEB / "templates" / "floor" / "base.html").read_text()
    classic = re.findall(r'<script(?! type="module")[^>]*src="([^"]+)"', base)
    assert classic == ["/static/htmx.min.js"]
    assert _page_modules() == ["/static/app.js"]


def test_every_module_the_pages_import_is_precached_by_the_service_worker():
    needed = set().union(*(_imports_of(url) for url in _page_modules()))
    assert {f"/static/{name}" for name in OUR_MODULES} <= needed  # app.js reaches every script of ours
    assert "/static/vendor/idb/index.js" in needed
    assert needed <= _precached(), needed - _precached()


def test_every_offline_screen_is_precached():
    precached = {p.removeprefix("/offline/screens/") for p in _precached() if p.startswith("/offline/screens/")}
    assert precached == set(OFFLINE_SCREENS)


def test_no_script_of_ours_builds_markup_from_strings():
    for name in OUR_MODULES:
        text = (STATIC / name).read_text()
        assert "innerHTML" not in text and "insertAdjacentHTML" not in text, name
        assert not MARKUP_LITERAL.search(text), (name, MARKUP_LITERAL.search(text))


def test_no_script_of_ours_coordinates_through_a_global():
    for name in OUR_MODULES:
        text = (STATIC / name).read_text()
        reads = re.findall(r"window\.Stockline\??\.", text)
        assert reads == [], name
