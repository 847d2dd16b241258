"""Installable app: manifest, service worker (served from / so its scope covers the app), offline page.

The service worker's cache version is the content hash of the static assets and of sw.js itself,
injected when sw.js is served: any change to a precached file changes sw.js, so browsers install
the new worker and refetch the shell. Nobody bumps a version by hand.
"""

from __future__ import annotations

import hashlib
from functools import lru_cache
from pathlib import Path

from litestar import get
from litestar.response import File, Response, Template

from backend.http.app_paths import WEB_DIR
from backend.http.floor import snapshot

NO_CACHE = {"Cache-Control": "no-cache"}
SW_PATH = WEB_DIR / "sw.js"
STATIC_DIR = WEB_DIR / "static"
VERSION_PLACEHOLDER = "__ASSET_HASH__"
VERSION_LENGTH = 16


def _asset_files() -> list[Path]:
    return sorted([SW_PATH, *(p for p in STATIC_DIR.rglob("*") if p.is_file())])


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


ROUTES = [service_worker, manifest, offline, *snapshot.ROUTES]
