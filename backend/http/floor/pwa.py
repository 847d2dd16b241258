"""Installable app: manifest, service worker (served from / so its scope covers the app), offline page."""

from __future__ import annotations

from litestar import get
from litestar.response import File, Template

from backend.http.app_paths import WEB_DIR

NO_CACHE = {"Cache-Control": "no-cache"}


@get("/sw.js", name="service_worker", include_in_schema=False)
async def service_worker() -> File:
    return File(WEB_DIR / "sw.js", media_type="text/javascript", content_disposition_type="inline",
                headers={**NO_CACHE, "Service-Worker-Allowed": "/"})


@get("/manifest.webmanifest", name="manifest", include_in_schema=False)
async def manifest() -> File:
    return File(WEB_DIR / "static" / "manifest.webmanifest", media_type="application/manifest+json",
                content_disposition_type="inline", headers=NO_CACHE)


@get("/offline", name="offline", include_in_schema=False)
async def offline() -> Template:
    return Template(template_name="offline.html", context={"title": "Offline"})


ROUTES = [service_worker, manifest, offline]
