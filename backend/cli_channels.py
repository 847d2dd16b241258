"""`stockline channel ...`: connect a sales channel, map its SKUs from a CSV, say which warehouses
are near which destinations. Registered on the main group by backend/cli.py."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TypeVar

import click

from backend.domain.auth.audit import Actor

CLI = Actor("system:cli")
T = TypeVar("T")


def _run(work: Callable[[], Awaitable[T]]) -> T:
    from backend.cli import _with_db
    from backend.domain.errors import DomainError

    try:
        return _with_db(work)
    except DomainError as exc:
        raise click.ClickException(exc.message) from exc


@click.group(help="Sales channels: Shopify, WooCommerce or Stockline's generic webhook format.")
def channel() -> None:
    pass


@channel.command("create", help="Create a channel account and print its slug (its webhooks post to"
                                " /webhooks/KIND/SLUG).")
@click.option("--kind", required=True, type=click.Choice(["shopify", "woocommerce", "generic"]))
@click.option("--name", required=True, help="Shown on the tablet; the slug is made from it.")
@click.option("--secret", prompt=True, hide_input=True,
              help="The webhook signing secret from the channel's settings (asked for when not given).")
@click.option("--priority", default=100, show_default=True, type=int,
              help="Lower is served first when orders of several channels want the same stock.")
@click.option("--warehouse", "warehouses", multiple=True, help="A warehouse that ships its orders, nearest first"
                                                                 " (repeat; none = any warehouse).")
@click.option("--no-split", is_flag=True, help="Never split an order across warehouses.")
@click.option("--hold-over-cents", default=0, type=int, help="Hold orders worth more than this (0 = never).")
def channel_create(kind: str, name: str, secret: str, priority: int, warehouses: tuple[str, ...], no_split: bool,
                   hold_over_cents: int) -> None:
    from backend.domain.channels import NewChannel, create_channel

    spec = NewChannel(kind=kind, name=name, secret=secret, priority=priority,  # type: ignore[arg-type]
                      warehouses=list(warehouses), allow_split=not no_split, hold_value_over_cents=hold_over_cents)
    created = _run(lambda: create_channel(spec, CLI))
    click.echo(created.slug)


@channel.command("list", help="Channel accounts (secrets are never shown).")
def channel_list() -> None:
    from backend.domain.channels import list_channels

    for c in _run(list_channels):
        where = ", ".join(c.warehouses) or "any warehouse"
        click.echo(f"{c.slug}  {c.kind}  priority {c.priority}  {where}  /webhooks/{c.kind}/{c.slug}")


@channel.command("mappings", help="Set SKU mappings from a CSV: channel_sku (or variant_id / product_id), sku,"
                                  " dropship.")
@click.argument("slug")
@click.argument("csv_file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def channel_mappings(slug: str, csv_file: Path) -> None:
    from backend.domain.channels import parse_mappings_csv, set_mappings
    from backend.domain.errors import DomainError

    try:
        specs = parse_mappings_csv(csv_file.read_bytes())
    except DomainError as exc:
        raise click.ClickException(exc.message) from exc
    click.echo(f"set {_run(lambda: set_mappings(slug, specs, CLI))} mapping(s)")


@channel.command("region", help="A warehouse serves destinations in COUNTRY (postcodes starting with the prefix)"
                                " at RANK: lower is nearer. Allocation ships from the nearest warehouse.")
@click.option("--warehouse", required=True)
@click.option("--country", required=True, help="Two-letter code, e.g. US.")
@click.option("--postcode-prefix", default="", help="Empty = the whole country.")
@click.option("--rank", default=1, show_default=True, type=int)
def channel_region(warehouse: str, country: str, postcode_prefix: str, rank: int) -> None:
    from backend.domain.orders import RegionSpec, set_region

    _run(lambda: set_region(RegionSpec(warehouse, country, postcode_prefix, rank), CLI))
    click.echo(f"{warehouse} serves {country.upper()} {postcode_prefix or '(all)'} at rank {rank}")


def _buffer(value: str) -> tuple[int, int]:
    """'5' → 5 units; '10%' → 10 %."""
    text = value.strip()
    try:
        return (0, int(text[:-1])) if text.endswith("%") else (int(text or 0), 0)
    except ValueError as exc:
        raise click.BadParameter("give units (5) or a percentage (10%)") from exc


@channel.command("connect", help="Say how Stockline reaches the channel's API (stock levels and shipments are sent"
                                 " there) and what it offers: a safety buffer and a share of stock.")
@click.argument("slug")
@click.option("--url", required=True, help="The shop's base URL, e.g. https://my-shop.myshopify.com.")
@click.option("--key", prompt=True, hide_input=True,
              help="Shopify: the Admin API access token. WooCommerce: the REST consumer key.")
@click.option("--secret", default="", help="WooCommerce: the REST consumer secret.")
@click.option("--location", default="", help="Shopify: the location id stock is set at.")
@click.option("--rate", default=2, show_default=True, type=int, help="Requests per second at most.")
@click.option("--buffer", "buffer_", default="0", show_default=True,
              help="Units (5) or a percentage (10%) of available stock never offered.")
@click.option("--share", default=100, show_default=True, type=int, help="Offer at most this % of available stock.")
@click.option("--no-push", is_flag=True, help="Do not send stock levels.")
@click.option("--no-confirm", is_flag=True, help="Do not confirm shipments.")
def channel_connect(slug: str, url: str, key: str, secret: str, location: str, rate: int, buffer_: str, share: int,
                    no_push: bool, no_confirm: bool) -> None:
    from backend.domain.channel_sync import ConnectionSpec, connect_channel

    units, pct = _buffer(buffer_)
    spec = ConnectionSpec(api_url=url, api_key=key, api_secret=secret, location=location, requests_per_s=rate,
                          buffer_units=units, buffer_pct=pct, share_pct=share, push_stock=not no_push,
                          confirm_shipments=not no_confirm)
    connection = _run(lambda: connect_channel(slug, spec, CLI))
    click.echo(f"{connection.slug} → {connection.api_url}: {connection.rule.describe()}, at most {rate} requests/s")
