"""Responses are gzip-compressed when the client accepts it and they are big enough to gain from it."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from backend.http.app import COMPRESS_MIN_BYTES, create_app
from backend.settings import Settings


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(Settings(secret="test-secret"), run_jobs=False)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="https://stockline.test") as c:
        yield c


@pytest.mark.parametrize("path", ["/static/htmx.min.js", "/signin"])
async def test_pages_and_assets_are_sent_gzipped(client, path):
    r = await client.get(path, headers={"Accept-Encoding": "gzip, deflate, br"})
    assert r.status_code == 200
    assert r.headers["content-encoding"] == "gzip"
    assert int(r.headers["content-length"]) < len(r.content)  # what crossed the wire is the smaller body
    assert "accept-encoding" in r.headers.get("vary", "").lower()


async def test_small_responses_and_clients_without_gzip_get_plain_bodies(client):
    small = await client.get("/healthz", headers={"Accept-Encoding": "gzip"})
    assert len(small.content) < COMPRESS_MIN_BYTES and "content-encoding" not in small.headers
    plain = await client.get("/static/htmx.min.js", headers={"Accept-Encoding": "identity"})
    assert "content-encoding" not in plain.headers and len(plain.content) > COMPRESS_MIN_BYTES
