"""Orders: one lifecycle (`_transitions`) for tablet, API and channel orders, holds, allocation
across warehouses with the reason kept per line, backorders allocated when stock arrives, and the
import of channel deliveries. Orders are rows of the `orders` table that pick lists, cartons and
shipments (backend/domain/fulfillment) work on.
"""

from backend.domain.orders._allocation import DISTANCE_UNKNOWN, LineDecision, LineNeed, Region, WarehouseOption, plan
from backend.domain.orders._commands import (
    NewOrder,
    NewOrderLine,
    OrderChange,
    OrderNote,
    ShipTo,
    cancel_order,
    hold_order,
    place_order,
    release_hold,
)
from backend.domain.orders._continuing import allocate_backorders, continue_mapped_orders
from backend.domain.orders._importing import IMPORT_ACTOR, ImportRun, apply_delivery, import_deliveries
from backend.domain.orders._placing import PlacedLine, Placement, advance, insert_order
from backend.domain.orders._rules import RegionSpec, set_region
from backend.domain.orders._transitions import (
    EVENTS,
    PACKABLE,
    PICKABLE,
    STATUSES,
    TRANSITIONS,
    Event,
    OrderStatus,
    next_status,
    transition,
    transition_many,
)
from backend.domain.orders._views import (
    PAGE_LIMIT_MAX,
    AllocationReason,
    HoldView,
    OrderDetail,
    OrderLineDetail,
    OrderSummary,
    ReservationDetail,
    TimelineEntry,
    UnmappedLine,
    find_order_id,
    get_order_detail,
    list_orders,
    unmapped_lines,
)
from backend.domain.orders._waves import WaveRun, WaveView, build_waves

__all__ = [
    "DISTANCE_UNKNOWN",
    "EVENTS",
    "IMPORT_ACTOR",
    "PACKABLE",
    "PAGE_LIMIT_MAX",
    "PICKABLE",
    "STATUSES",
    "TRANSITIONS",
    "AllocationReason",
    "Event",
    "HoldView",
    "ImportRun",
    "LineDecision",
    "LineNeed",
    "NewOrder",
    "NewOrderLine",
    "OrderChange",
    "OrderDetail",
    "OrderLineDetail",
    "OrderNote",
    "OrderStatus",
    "OrderSummary",
    "PlacedLine",
    "Placement",
    "Region",
    "RegionSpec",
    "ReservationDetail",
    "ShipTo",
    "TimelineEntry",
    "UnmappedLine",
    "WarehouseOption",
    "WaveRun",
    "WaveView",
    "advance",
    "allocate_backorders",
    "apply_delivery",
    "build_waves",
    "cancel_order",
    "continue_mapped_orders",
    "find_order_id",
    "get_order_detail",
    "hold_order",
    "import_deliveries",
    "insert_order",
    "list_orders",
    "next_status",
    "place_order",
    "plan",
    "release_hold",
    "set_region",
    "transition",
    "transition_many",
    "unmapped_lines",
]
