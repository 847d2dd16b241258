"""The offline screens are the online screens' templates rendered with empty slots: public, the same for
everyone, with every part the handheld fills present (hidden) and nothing of anyone's data or session."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from backend.http.app import create_app
from backend.http.floor.pwa import OFFLINE_SCREENS


@pytest.fixture
async def client(ledger_db) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(ledger_db, run_jobs=False)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="https://stockline.test") as c:
        yield c


@pytest.mark.parametrize("name", sorted(OFFLINE_SCREENS))
async def test_an_offline_screen_is_its_online_template_with_empty_slots(client, name):
    r = await client.get(f"/offline/screens/{name}")
    assert r.status_code == 200, r.text
    html = r.text
    assert f'data-template="{OFFLINE_SCREENS[name]}"' in html and 'id="flow"' in html and 'id="feedback"' in html
    assert 'id="offline-pending"' in html and 'data-row="pending"' in html  # what was saved offline
    assert "csrf" not in html.lower()  # precached for everyone: no token of a session
    assert 'name="key" value=""' in html


async def test_the_move_screen_has_every_part_the_handheld_fills(client):
    html = (await client.get("/offline/screens/move")).text
    for marker in ('data-slot="from_bin"', 'data-slot="sku"', 'data-step="from_bin"', 'data-part="qty"',
                   'id="qty"', 'name="from_bin"', 'data-part="task-actions"', 'value="cancel"'):
        assert marker in html, marker
    assert 'value="undo"' not in html  # offline there is nothing to take back from the server


async def test_an_unknown_offline_screen_is_not_found(client):
    assert (await client.get("/offline/screens/ship")).status_code == 404
