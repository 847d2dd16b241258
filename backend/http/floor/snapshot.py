"""GET the offline snapshot: the handheld keeps it in IndexedDB and resolves scans from it when the
server cannot be reached. Compressed here (it is the one large JSON a handheld downloads)."""

from __future__ import annotations

import gzip

import msgspec
from litestar import Response, get

from backend.domain.offline.snapshot import build_snapshot
from backend.http.connection import AppRequest
from backend.http.session import requires

GZIP_LEVEL = 6


@get("/floor/snapshot.json", name="floor_snapshot", guards=[requires("lookup")], include_in_schema=False)
async def snapshot(request: AppRequest) -> Response[bytes]:
    body = msgspec.json.encode(await build_snapshot())
    # Private and never stored by a shared cache: it lists the open work of the floor.
    headers = {"Cache-Control": "private, no-store", "Vary": "Accept-Encoding"}
    # The app's compression middleware gzips large responses; compress here only if it is not configured
    # (compressing twice would hand the device gzip inside gzip).
    if request.app.compression_config is None and "gzip" in request.headers.get("accept-encoding", ""):
        body = gzip.compress(body, compresslevel=GZIP_LEVEL)
        headers["Content-Encoding"] = "gzip"
    return Response(body, media_type="application/json", headers=headers)


ROUTES = [snapshot]
