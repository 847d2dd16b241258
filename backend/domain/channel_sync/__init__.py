"""Stock levels and shipments sent to sales channels (Shopify's GraphQL Admin API, WooCommerce's REST
API): a channel account's connection settings, available-to-sell per channel (buffer, share, kits),
the push of what changed, the drift check, and shipment confirmations retried until accepted.
Jobs run these (`jobs/channels.py`); nothing here acts on a request or a webhook directly."""

from backend.domain.channel_sync._api import RemoteLevel, ShipmentToConfirm, Update
from backend.domain.channel_sync._ats import (
    ListingStock,
    StockRule,
    available_to_sell,
    listing_availability,
)
from backend.domain.channel_sync._connections import (
    Connection,
    ConnectionSpec,
    active_connections,
    connect_channel,
    connection_of,
)
from backend.domain.channel_sync._http import ChannelRefused, ChannelUnavailable
from backend.domain.channel_sync._overview import SyncOverview, sync_overview
from backend.domain.channel_sync._push import (
    ChannelRun,
    SyncReport,
    check_stock,
    push_stock,
)
from backend.domain.channel_sync._shipments import ConfirmReport, confirm_shipments

__all__ = [
    "ChannelRefused",
    "ChannelRun",
    "ChannelUnavailable",
    "ConfirmReport",
    "Connection",
    "ConnectionSpec",
    "ListingStock",
    "RemoteLevel",
    "ShipmentToConfirm",
    "StockRule",
    "SyncOverview",
    "SyncReport",
    "Update",
    "active_connections",
    "available_to_sell",
    "check_stock",
    "confirm_shipments",
    "connect_channel",
    "connection_of",
    "listing_availability",
    "push_stock",
    "sync_overview",
]
