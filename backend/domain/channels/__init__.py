"""Sales channels: accounts (Shopify, WooCommerce, Stockline's generic format), SKU mappings, and
webhook deliveries — verified over the raw body, stored once, answered at once. Turning deliveries
into orders is the orders area's import (`backend.domain.orders.import_deliveries`), run as a job.
"""

from backend.domain.channels._accounts import (
    ChannelView,
    NewChannel,
    create_channel,
    find_channel,
    get_channel,
    get_channel_by_id,
    list_channels,
    slug_of,
)
from backend.domain.channels._deliveries import (
    WEBHOOK_BODY_BYTES_MAX,
    DeliveryView,
    Outcome,
    PendingDelivery,
    claim_delivery,
    finish_delivery,
    pending_deliveries,
    receive_webhook,
    wake_waiting,
    webhook_log,
)
from backend.domain.channels._mappings import (
    MappingBatch,
    MappingSpec,
    Resolved,
    parse_mappings_csv,
    resolve_lines,
    set_mappings,
)
from backend.domain.channels._payloads import ChannelEvent, ChannelLine, ChannelOrder, ChannelRefund
from backend.domain.channels._signatures import KINDS, ChannelKind, base64_signature, generic_signature, verify

__all__ = [
    "KINDS",
    "WEBHOOK_BODY_BYTES_MAX",
    "ChannelEvent",
    "ChannelKind",
    "ChannelLine",
    "ChannelOrder",
    "ChannelRefund",
    "ChannelView",
    "DeliveryView",
    "MappingBatch",
    "MappingSpec",
    "NewChannel",
    "Outcome",
    "PendingDelivery",
    "Resolved",
    "base64_signature",
    "claim_delivery",
    "create_channel",
    "find_channel",
    "finish_delivery",
    "generic_signature",
    "get_channel",
    "get_channel_by_id",
    "list_channels",
    "parse_mappings_csv",
    "pending_deliveries",
    "receive_webhook",
    "resolve_lines",
    "set_mappings",
    "slug_of",
    "verify",
    "wake_waiting",
    "webhook_log",
]
