"""A channel account's connection to the channel's API: base URL, credentials, the Shopify location
stock is set at, requests per second, and the stock rule (safety buffer, share of stock).

The base URL is a setting (not a constant in the client) so a test, a staging shop or a proxy can stand
in for the channel. Credentials are stored as given (the API needs them), never shown or logged after
they are set. One lease per channel (`claim_channel`) keeps two workers from syncing it at the same time.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any
from urllib.parse import urlsplit

import msgspec

from backend import db
from backend.domain.auth import audit
from backend.domain.auth.audit import Actor
from backend.domain.channel_sync._ats import StockRule
from backend.domain.channels import get_channel
from backend.domain.errors import InvalidInput

URL_LENGTH_MAX = 300
CREDENTIAL_LENGTH_MAX = 300
REQUESTS_PER_S_MAX = 1000
SYNC_KINDS = ("shopify", "woocommerce")
_ONE_LINE = r"^[^\x00-\x1f\x7f]*$"  # no control characters (PostgreSQL cannot store NUL)

Credential = Annotated[str, msgspec.Meta(max_length=CREDENTIAL_LENGTH_MAX, pattern=_ONE_LINE)]


class ConnectionSpec(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    api_url: Annotated[str, msgspec.Meta(max_length=URL_LENGTH_MAX)]
    api_key: Credential = ""  # Shopify: the Admin API access token; WooCommerce: the consumer key
    api_secret: Credential = ""  # WooCommerce: the consumer secret
    location: Credential = ""  # Shopify: the location id stock is set at (gid://shopify/Location/… or the number)
    requests_per_s: int = 2
    buffer_units: int = 0
    buffer_pct: int = 0
    share_pct: int = 100
    push_stock: bool = True
    confirm_shipments: bool = True


@dataclass(frozen=True, slots=True)
class Connection:
    """What the sync jobs need (credentials included: never render or log this)."""

    channel_id: int
    slug: str
    kind: str
    api_url: str
    api_key: str
    api_secret: str
    location_ref: str
    requests_per_s: int
    rule: StockRule
    push_stock: bool
    confirm_shipments: bool
    listed_at: datetime | None

    def __repr__(self) -> str:  # never print the credentials
        return f"Connection({self.slug!r}, {self.kind}, {self.api_url!r})"


def _check(kind: str, spec: ConnectionSpec) -> str:
    try:  # the struct's own bounds, also when it was built in Python (the CLI)
        msgspec.convert(msgspec.to_builtins(spec), ConnectionSpec)
    except msgspec.ValidationError as exc:
        raise InvalidInput(f"Connection settings: {exc}") from exc
    if kind not in SYNC_KINDS:
        raise InvalidInput(f"Stock and shipments are sent to {' and '.join(SYNC_KINDS)} channels; this one is {kind}.")
    url = spec.api_url.strip().rstrip("/")
    parts = urlsplit(url)
    if parts.scheme not in ("https", "http") or not parts.netloc or parts.query or parts.fragment:
        raise InvalidInput("The API address is the shop's base URL, e.g. https://my-shop.myshopify.com.")
    if kind == "shopify" and not (spec.api_key and spec.location):
        raise InvalidInput("A Shopify connection needs the Admin API access token and the location id.")
    if kind == "woocommerce" and not (spec.api_key and spec.api_secret):
        raise InvalidInput("A WooCommerce connection needs the REST API consumer key and consumer secret.")
    if not 1 <= spec.requests_per_s <= REQUESTS_PER_S_MAX:
        raise InvalidInput(f"Requests per second must be 1–{REQUESTS_PER_S_MAX}.")
    if spec.buffer_units < 0 or not 0 <= spec.buffer_pct <= 100 or not 0 <= spec.share_pct <= 100:
        raise InvalidInput("The buffer is 0 or more units or 0–100 %; the share is 0–100 %.")
    if spec.buffer_units and spec.buffer_pct:
        raise InvalidInput("Give the safety buffer in units or in %, not both.")
    return url


def _location(kind: str, location: str) -> str:
    location = location.strip()
    if kind == "shopify" and location.isdigit():
        return f"gid://shopify/Location/{location}"
    return location


async def connect_channel(slug: str, spec: ConnectionSpec, actor: Actor) -> Connection:
    """Set (or replace) how Stockline reaches the channel's API and what it offers there."""

    async def work() -> Connection:
        channel = await get_channel(slug)
        url = _check(channel.kind, spec)
        now = datetime.now(UTC)
        await db.fetch(
            "INSERT INTO channel_connections (channel_id, api_url, api_key, api_secret, location_ref, requests_per_s,"
            " buffer_units, buffer_pct, share_pct, push_stock, confirm_shipments, created_at, updated_at)"
            " VALUES ({}, {}, {}, {}, {}, {}, {}, {}, {}, {}, {}, {}, {}) ON CONFLICT (channel_id) DO UPDATE SET"
            " api_url = excluded.api_url, api_key = excluded.api_key, api_secret = excluded.api_secret,"
            " location_ref = excluded.location_ref, requests_per_s = excluded.requests_per_s,"
            " buffer_units = excluded.buffer_units, buffer_pct = excluded.buffer_pct, share_pct = excluded.share_pct,"
            " push_stock = excluded.push_stock, confirm_shipments = excluded.confirm_shipments,"
            " updated_at = excluded.updated_at",
            channel.id, url, spec.api_key.strip(), spec.api_secret.strip(), _location(channel.kind, spec.location),
            spec.requests_per_s, spec.buffer_units, spec.buffer_pct, spec.share_pct, spec.push_stock,
            spec.confirm_shipments, now, now)
        shown = {**msgspec.to_builtins(spec), "api_url": url, "api_key": "(set)", "api_secret": "(set)"}
        await audit.record(actor, "channel.connect", "channel", channel.id, None, shown)
        found = await connection_of(channel.id)
        assert found is not None
        return found

    return await db.run_in_transaction(work)


_SELECT = ("SELECT cc.channel_id, c.slug, c.kind, cc.api_url, cc.api_key, cc.api_secret, cc.location_ref,"
           " cc.requests_per_s, cc.buffer_units, cc.buffer_pct, cc.share_pct, cc.push_stock, cc.confirm_shipments,"
           " cc.listed_at FROM channel_connections cc JOIN channels c ON c.id = cc.channel_id")


def _connection(row: dict[str, Any]) -> Connection:
    rule = StockRule(int(row["buffer_units"]), int(row["buffer_pct"]), int(row["share_pct"]))
    return Connection(int(row["channel_id"]), row["slug"], row["kind"], row["api_url"], row["api_key"],
                      row["api_secret"], row["location_ref"], int(row["requests_per_s"]), rule,
                      bool(row["push_stock"]), bool(row["confirm_shipments"]), row["listed_at"])


async def connection_of(channel_id: int) -> Connection | None:
    row = await db.fetch_one(f"{_SELECT} WHERE cc.channel_id = {{}}", channel_id)
    return _connection(row) if row else None


async def active_connections(*, pushing: bool = False, confirming: bool = False) -> list[Connection]:
    where = " WHERE c.active"
    where += " AND cc.push_stock" if pushing else ""
    where += " AND cc.confirm_shipments" if confirming else ""
    return [_connection(r) for r in await db.fetch(f"{_SELECT}{where} ORDER BY c.priority, c.id")]


async def claim_channel(channel_id: int, owner: str, lease_s: float) -> bool:
    """Take (or extend) the channel's sync lease; False while another run holds it."""
    now = datetime.now(UTC)
    rows = await db.fetch(
        "UPDATE channel_connections SET lease_owner = {}, lease_until = {} WHERE channel_id = {}"
        " AND (lease_until IS NULL OR lease_until < {} OR lease_owner = {}) RETURNING channel_id",
        owner, now + timedelta(seconds=lease_s), channel_id, now, owner)
    return bool(rows)


async def release_channel(channel_id: int, owner: str) -> None:
    await db.fetch("UPDATE channel_connections SET lease_owner = '', lease_until = NULL"
                   " WHERE channel_id = {} AND lease_owner = {}", channel_id, owner)


async def stamp(channel_id: int, column: str) -> None:
    """Remember when the channel was last listed / pushed / checked."""
    assert column in ("listed_at", "pushed_at", "checked_at")
    await db.fetch(f"UPDATE channel_connections SET {column} = {{}} WHERE channel_id = {{}}", datetime.now(UTC),
                   channel_id)
