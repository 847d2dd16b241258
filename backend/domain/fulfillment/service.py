"""Fulfillment's public surface: commands and queries callers (HTTP, jobs, channel imports) use.

Every command takes an idempotency `key` and the `actor`, runs in one transaction, posts stock
changes only through the ledger and writes one audit row. A retry with the same key returns
the current state and posts nothing.

Flow: create_manual_order (reserve, backorder the rest) → create_pick_list (walk order) →
confirm_pick / short_pick (stock to staging) → start_carton, pack_scan, finish_carton (no stock
moves) → confirm_shipment (staging → customer).
"""

from __future__ import annotations

from backend.domain.fulfillment.cartons import (
    CancelledCarton,
    PackLine,
    PackView,
    cancel_carton,
    carton_for_order,
    open_cartons,
    pack_view,
    shipping_blockers,
    unpack,
)
from backend.domain.fulfillment.documents import (
    CartonLabel,
    PackingSlip,
    carton_label_pdf,
    carton_label_zpl,
    packing_slip_pdf,
)
from backend.domain.fulfillment.orders import NewManualOrder, OrderLineSpec, create_manual_order
from backend.domain.fulfillment.packing import finish_carton, pack_scan, start_carton
from backend.domain.fulfillment.picking import check_pick, confirm_pick, create_pick_list, short_pick
from backend.domain.fulfillment.queries import (
    CartonView,
    OrderView,
    PickLineView,
    PickListSummary,
    PickListView,
    ShipmentView,
    ShortPickView,
    carton_label,
    find_carton_by_code,
    find_order,
    get_carton,
    get_order,
    get_pick_list,
    get_shipment,
    list_open_pick_lists,
    next_pick_line,
    open_pick_list_for,
    packing_slip,
    short_picks,
)
from backend.domain.fulfillment.rules import SHORT_REASONS
from backend.domain.fulfillment.shipping import confirm_shipment

__all__ = [
    "SHORT_REASONS",
    "CancelledCarton",
    "CartonLabel",
    "CartonView",
    "NewManualOrder",
    "OrderLineSpec",
    "OrderView",
    "PackLine",
    "PackView",
    "PackingSlip",
    "PickLineView",
    "PickListSummary",
    "PickListView",
    "ShipmentView",
    "ShortPickView",
    "cancel_carton",
    "carton_for_order",
    "carton_label",
    "carton_label_pdf",
    "carton_label_zpl",
    "check_pick",
    "confirm_pick",
    "confirm_shipment",
    "create_manual_order",
    "create_pick_list",
    "find_carton_by_code",
    "find_order",
    "finish_carton",
    "get_carton",
    "get_order",
    "get_pick_list",
    "get_shipment",
    "list_open_pick_lists",
    "next_pick_line",
    "open_cartons",
    "open_pick_list_for",
    "pack_scan",
    "pack_view",
    "packing_slip",
    "packing_slip_pdf",
    "shipping_blockers",
    "short_pick",
    "short_picks",
    "start_carton",
    "unpack",
]
