"""Installable app: manifest, service worker (served from / so its scope covers the app), offline page,
and the offline screens: each handheld screen's own template rendered with its slots empty (`shell`),
which the service worker precaches and offline.js fills from the snapshot on the scanner.

The service worker's cache version is the content hash of the static assets and of sw.js itself,
injected when sw.js is served: any change to a precached file changes sw.js, so browsers install
the new worker and refetch the shell. Nobody bumps a version by hand.
"""

from __future__ import annotations

import hashlib
from functools import lru_cache
from pathlib import Path
from typing import Any

from litestar import get
from litestar.exceptions import NotFoundException
from litestar.params import FromPath
from litestar.response import File, Response, Template

from backend.http.app_paths import WEB_DIR
from backend.http.floor import snapshot

NO_CACHE = {"Cache-Control": "no-cache"}
SW_PATH = WEB_DIR / "sw.js"
STATIC_DIR = WEB_DIR / "static"
TEMPLATES_DIR = WEB_DIR / "templates"
VERSION_PLACEHOLDER = "__ASSET_HASH__"
VERSION_LENGTH = 16


def _asset_files() -> list[Path]:
    # The precached pages and offline screens are rendered from these: a changed one is a new worker.
    templates = [TEMPLATES_DIR / "offline.html", *(TEMPLATES_DIR / "floor").glob("*.html")]
    return sorted([SW_PATH, *(p for p in STATIC_DIR.rglob("*") if p.is_file()), *templates])


@lru_cache(maxsize=4)
def _hash_of(stamp: tuple[tuple[str, int, int], ...]) -> str:
    digest = hashlib.sha256()
    for name, _, _ in stamp:
        digest.update(name.encode())
        digest.update(Path(name).read_bytes())
    return digest.hexdigest()[:VERSION_LENGTH]


def asset_hash() -> str:
    """Content hash of the assets; recomputed only when a file's size or mtime changes."""
    stamp = tuple((str(p), p.stat().st_mtime_ns, p.stat().st_size) for p in _asset_files())
    return _hash_of(stamp)


@get("/sw.js", name="service_worker", include_in_schema=False)
async def service_worker() -> Response[str]:
    script = SW_PATH.read_text().replace(VERSION_PLACEHOLDER, asset_hash())
    return Response(script, media_type="text/javascript", headers={**NO_CACHE, "Service-Worker-Allowed": "/"})


@get("/manifest.webmanifest", name="manifest", include_in_schema=False)
async def manifest() -> File:
    return File(WEB_DIR / "static" / "manifest.webmanifest", media_type="application/manifest+json",
                content_disposition_type="inline", headers=NO_CACHE)


@get("/offline", name="offline", include_in_schema=False)
async def offline() -> Template:
    return Template(template_name="offline.html", context={"title": "Offline"})


# The screens a picker needs offline (docs/offline-protocol.md), by the name offline.js asks for.
OFFLINE_SCREENS = {
    "lookup": "floor/lookup.html",
    "receive": "floor/receive.html",
    "move": "floor/move.html",
    "pick-lists": "floor/pick_lists.html",
    "pick": "floor/pick.html",
    "count": "floor/count.html",
}
# What a screen's template is given in the shell: no state, no item, no line, no task. The templates
# render every part the handheld may fill (hidden) and nothing of any person or of the stock.
_SHELL_CONTEXT: dict[str, Any] = {
    "shell": True, "s": {}, "key": "", "done": False, "undo": "", "cancellable": False, "envelope": None,
    "oob_prompt": False, "item": None, "location": None, "rows": [], "view": None, "tasks": [],
    "line": None, "pick_list_id": 0, "reasons": [], "lists": [],
}


@get("/offline/screens/{screen:str}", name="offline_screen", include_in_schema=False)
async def offline_screen(screen: FromPath[str]) -> Template:
    """One handheld screen's form, from the template the online screen uses, with empty slots. Public
    and the same for everyone (it holds no data), so the service worker can precache it before anyone
    signs in; a new template is a new asset hash, so a changed screen is fetched again."""
    template = OFFLINE_SCREENS.get(screen)
    if template is None:
        raise NotFoundException(f"No offline screen {screen!r}.")
    return Template(template_name=template, context={**_SHELL_CONTEXT, "partial": template}, headers=NO_CACHE)


ROUTES = [service_worker, manifest, offline, offline_screen, *snapshot.ROUTES]
