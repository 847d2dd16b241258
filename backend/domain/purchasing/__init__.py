"""Purchasing: suppliers and the items they sell us, purchase orders from draft to closed, and what
has arrived against them (read from the ledger's receipts, never stored beside it).

Replenishment (backend/domain/replenishment) reads `supplier_items`, `on_order` and
`lead_time_observations`, and turns approved suggestions into drafts with `create_draft_orders`.
The receiving code calls `check_po_receipt` / `settle_po_receipt` around a receipt's postings.
"""

from backend.domain.purchasing._orders import (
    DRAFT_ORDERS_MAX,
    PO_LINES_MAX,
    DraftLine,
    DraftOrder,
    PoLineView,
    PurchaseOrderView,
    UnknownPurchaseOrder,
    cancel_order,
    close_order,
    create_draft_orders,
    find_order_by_number,
    get_order,
    list_orders,
    po_number,
    send_order,
)
from backend.domain.purchasing._receipts import (
    PurchaseOrderMismatch,
    check_po_receipt,
    po_number_of,
    settle_po_receipt,
)
from backend.domain.purchasing._received import (
    LeadTimeObservation,
    LineReceipts,
    lead_time_observations,
    line_receipts,
    on_order,
)
from backend.domain.purchasing._status import (
    CANCELLABLE,
    CLOSABLE,
    OPEN,
    PO_STATUSES,
    RECEIVABLE,
    TRANSITIONS,
    PoEvent,
    PoStatus,
    next_status,
    status_words,
)
from backend.domain.purchasing._suppliers import (
    NewSupplier,
    SupplierItemSpec,
    SupplierItemView,
    SupplierSpec,
    SupplierView,
    UnknownSupplier,
    create_supplier,
    find_supplier,
    get_supplier,
    link_supplier_item,
    list_suppliers,
    supplier_items,
    update_supplier,
)

__all__ = [
    "CANCELLABLE", "CLOSABLE", "DRAFT_ORDERS_MAX", "OPEN", "PO_LINES_MAX", "PO_STATUSES", "RECEIVABLE",
    "TRANSITIONS", "DraftLine", "DraftOrder", "LeadTimeObservation", "LineReceipts", "NewSupplier", "PoEvent",
    "PoLineView", "PoStatus", "PurchaseOrderMismatch", "PurchaseOrderView", "SupplierItemSpec", "SupplierItemView",
    "SupplierSpec", "SupplierView", "UnknownPurchaseOrder", "UnknownSupplier", "cancel_order", "check_po_receipt",
    "close_order", "create_draft_orders", "create_supplier", "find_order_by_number", "find_supplier", "get_order",
    "get_supplier", "lead_time_observations", "line_receipts", "link_supplier_item", "list_orders", "list_suppliers",
    "next_status", "on_order", "po_number", "po_number_of", "send_order", "settle_po_receipt", "status_words",
    "supplier_items", "update_supplier",
]
