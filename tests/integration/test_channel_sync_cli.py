"""Connecting a channel's API from the command line, running a job by hand, and the Jobs screen's
channel section, as an operator and a manager see them."""

from __future__ import annotations

from backend.domain import channel_sync
from backend.http.app import create_app
from tests.channel_mocks import MockShopify, serving
from tests.channel_support import make_channel
from tests.factories import item, receive, warehouse
from tests.integration.test_cli import stockline
from tests.sync_support import csrf_client, sign_in


async def test_channel_connect_sets_the_api_and_the_stock_rule_without_echoing_credentials(ledger_db):
    shop = await make_channel("shopify", "Acme")
    done = stockline(ledger_db, "channel", "connect", shop.slug, "--url", "https://acme.myshopify.com/",
                     "--key", "shpat_secret_token", "--location", "123", "--rate", "4", "--buffer", "10%",
                     "--share", "80")
    assert done.returncode == 0, done.stderr
    assert "acme → https://acme.myshopify.com: keep 10 % back, offer at most 80 %" in done.stdout
    assert "shpat_secret_token" not in done.stdout + done.stderr
    [connection] = await channel_sync.active_connections()
    assert (connection.location_ref, connection.requests_per_s) == ("gid://shopify/Location/123", 4)
    assert "shpat_secret_token" not in repr(connection)


async def test_channel_connect_refuses_what_cannot_work(ledger_db):
    shop = await make_channel("shopify", "Acme")
    generic = await make_channel("generic", "Hub")
    no_location = stockline(ledger_db, "channel", "connect", shop.slug, "--url", "https://a.example", "--key", "t")
    both = stockline(ledger_db, "channel", "connect", shop.slug, "--url", "https://a.example", "--key", "t",
                     "--location", "1", "--buffer", "5", "--share", "101")
    not_a_url = stockline(ledger_db, "channel", "connect", shop.slug, "--url", "acme", "--key", "t", "--location", "1")
    hub = stockline(ledger_db, "channel", "connect", generic.slug, "--url", "https://h.example", "--key", "t")
    assert no_location.returncode == 1 and "location id" in no_location.stderr
    assert both.returncode == 1 and "share is 0–100" in both.stderr
    assert not_a_url.returncode == 1 and "base URL" in not_a_url.stderr
    assert hub.returncode == 1 and "this one is generic" in hub.stderr
    assert await channel_sync.active_connections() == []


async def test_jobs_run_pushes_now_and_the_jobs_screen_shows_the_channel(ledger_db):
    bins = await warehouse()
    await item("MUG")
    await receive("MUG", 3, bins[0])
    mock = MockShopify()
    mock.add_item("MUG", qty=0)
    mock.add_item("NOT-OURS", qty=1)
    with serving(mock) as url:
        shop = await make_channel("shopify", "Shop")
        stockline(ledger_db, "channel", "connect", shop.slug, "--url", url, "--key", mock.token, "--location", "1",
                  "--buffer", "1")
        ran = stockline(ledger_db, "jobs", "run", "push_channel_stock")
    assert ran.returncode == 0, ran.stderr
    assert "'accepted': 1" in ran.stdout and mock.qty("MUG") == 2
    listed = stockline(ledger_db, "jobs", "list")
    assert "push_channel_stock  try 1  done" in listed.stdout
    app = create_app(ledger_db, run_jobs=False)
    async with csrf_client(app) as client:
        await sign_in(client, "manager")
        page = await client.get("/tablet/jobs")
    assert page.status_code == 200 and "Channel sync" in page.text
    assert 'data-channel="shop"' in page.text and "keep 1 back" in page.text
    assert "1 without a Stockline item" in page.text and "Push stock to channels" in page.text
