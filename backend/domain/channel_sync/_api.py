"""What the sync needs from a channel's API, whatever the channel: read its stock levels page by page,
read a few quantities, set quantities in batches (compare-and-set where the channel has it), and
confirm a shipment. `api_for` picks the Shopify or WooCommerce client for a connection."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

from backend.domain.channel_sync._connections import Connection
from backend.domain.channel_sync._http import Traffic


@dataclass(frozen=True, slots=True)
class RemoteLevel:
    """One of the channel's stocked SKUs as the channel lists it."""

    remote_id: str  # Shopify: the InventoryItem id; WooCommerce: product id, or parent/variation
    sku: str
    variant_ref: str  # the channel's variant id (matches `variant:<id>` SKU mappings)
    qty: int | None  # None: the channel does not track stock of it here (not stocked at the location)


@dataclass(frozen=True, slots=True)
class Update:
    listing_id: int
    remote_id: str
    qty: int
    compare: int | None  # what the channel should hold now; a channel with compare-and-set refuses otherwise


@dataclass(slots=True)
class SetOutcome:
    accepted: list[Update] = field(default_factory=list)
    stale: list[Update] = field(default_factory=list)  # the channel held something else: read, sent next run
    refused: list[tuple[Update, str]] = field(default_factory=list)  # the channel will not take it (reason)


@dataclass(frozen=True, slots=True)
class ShipmentToConfirm:
    shipment_id: int
    order_ref: str
    external_order_id: str  # the channel's order id
    carrier: str
    tracking: str
    lines: tuple[tuple[str, int], ...]  # (the channel's line id, units) in this shipment
    order_complete: bool  # every unit of the order has shipped

    @property
    def marker(self) -> str:
        """Written into the channel's record, so a retry finds the confirmation it already made."""
        return f"Stockline shipment {self.shipment_id}"


class ChannelApi(Protocol):
    batch_max: int
    compare_and_set: bool
    traffic: Traffic

    async def read_levels(self, cursor: str | None) -> tuple[list[RemoteLevel], str | None]: ...
    async def read_quantities(self, remote_ids: list[str]) -> dict[str, int]: ...
    async def set_quantities(self, updates: list[Update]) -> SetOutcome: ...
    async def confirm_shipment(self, shipment: ShipmentToConfirm) -> str: ...
    async def aclose(self) -> None: ...


def api_for(connection: Connection, *, deadline: float) -> ChannelApi:
    if connection.kind == "shopify":
        from backend.domain.channel_sync._shopify import ShopifyApi

        return ShopifyApi(connection, deadline=deadline)
    if connection.kind == "woocommerce":
        from backend.domain.channel_sync._woo import WooApi

        return WooApi(connection, deadline=deadline)
    raise AssertionError(f"no API client for {connection.kind}")
