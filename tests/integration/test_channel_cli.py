"""`stockline channel ...` as an operator runs it (a real subprocess, SQLite and PostgreSQL)."""

from __future__ import annotations

from backend.domain import channels
from tests.factories import item, warehouse
from tests.integration.test_cli import stockline


async def test_channel_create_prints_the_slug_and_the_channel_takes_signed_webhooks(ledger_db):
    await warehouse("WH1")
    created = stockline(ledger_db, "channel", "create", "--kind", "shopify", "--name", "Acme Store",
                        "--secret", "shpss_0123456789abcdef", "--priority", "10", "--warehouse", "WH1")
    assert created.returncode == 0, created.stderr
    assert created.stdout.strip() == "acme-store"
    again = stockline(ledger_db, "channel", "create", "--kind", "generic", "--name", "Acme Store",
                      "--secret", "another-secret-1")
    assert again.stdout.strip() == "acme-store-2"
    channel = await channels.get_channel("acme-store")
    assert (channel.kind, channel.priority, channel.warehouses) == ("shopify", 10, ("WH1",))
    listed = stockline(ledger_db, "channel", "list")
    assert "acme-store  shopify  priority 10  WH1  /webhooks/shopify/acme-store" in listed.stdout
    assert "shpss_0123456789abcdef" not in listed.stdout + created.stdout


async def test_channel_create_refuses_a_short_secret_and_an_unknown_warehouse(ledger_db):
    short = stockline(ledger_db, "channel", "create", "--kind", "shopify", "--name", "S", "--secret", "abc")
    nowhere = stockline(ledger_db, "channel", "create", "--kind", "shopify", "--name", "S",
                        "--secret", "long-enough-secret", "--warehouse", "NOPE")
    assert short.returncode == 1 and "webhook secret must be 8" in short.stderr
    assert nowhere.returncode == 1 and "NOPE" in nowhere.stderr
    assert await channels.list_channels() == []


async def test_mappings_from_a_csv_and_warehouse_regions(ledger_db, tmp_path):
    await warehouse("WH1")
    await item("MUG")
    stockline(ledger_db, "channel", "create", "--kind", "woocommerce", "--name", "Woo", "--secret", "woo-secret-123")
    csv = tmp_path / "map.csv"
    csv.write_text("channel_sku,sku,dropship\nWOO-MUG,MUG,\nWOO-MUG-DS,MUG,yes\n")
    mapped = stockline(ledger_db, "channel", "mappings", "woo", str(csv))
    region = stockline(ledger_db, "channel", "region", "--warehouse", "WH1", "--country", "de",
                       "--postcode-prefix", "10")
    assert (mapped.returncode, mapped.stdout.strip()) == (0, "set 2 mapping(s)")
    assert region.returncode == 0 and "WH1 serves DE 10 at rank 1" in region.stdout
    line = channels.ChannelLine("1", "WOO-MUG-DS", "", "", 1, 0)
    [resolved] = await channels.resolve_lines((await channels.get_channel("woo")).id, [line])
    assert resolved.dropship is True
