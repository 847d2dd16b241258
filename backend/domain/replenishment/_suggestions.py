"""Suggestions as a planner sees them, a changed quantity, and approval: approved purchases become
draft purchase orders, one per supplier and receiving warehouse (`purchasing.create_draft_orders`),
once per idempotency key; an approved transfer is the planner's instruction to move the stock."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Literal

import msgspec

from backend import db
from backend.domain import purchasing
from backend.domain.auth import audit
from backend.domain.errors import Conflict, InvalidInput, UnknownReference
from backend.domain.idempotency import derived_key, run_once
from backend.domain.quantities import QTY_MAX

SuggestionKind = Literal["purchase", "transfer"]
SuggestionStatus = Literal["open", "approved"]
APPROVE_MAX = 500
LIST_ROWS_MAX = 500


class UnknownSuggestion(UnknownReference):
    code = "unknown_suggestion"

    def __init__(self, suggestion_id: int) -> None:
        super().__init__(f"No replenishment suggestion #{suggestion_id}.")


class SuggestionView(msgspec.Struct, frozen=True):
    id: int
    kind: SuggestionKind
    status: SuggestionStatus
    item_id: int
    sku: str
    item_name: str
    warehouse_id: int
    warehouse_code: str
    from_warehouse_code: str | None
    supplier_id: int | None
    supplier_code: str | None
    qty_suggested: int
    qty: int
    need: int
    policy_kind: str
    policy_default: bool
    service_level: float
    demand_daily: float
    demand_sd: float
    lead_days: float
    lead_sd: float
    lead_observed: int
    review_days: int
    z: float
    safety_stock: float
    reorder_point: float
    order_up_to: float
    available: int
    on_order: int
    moq: int
    case_pack: int
    forecast_method: str
    forecast_mae: float | None
    forecast_bias: float | None
    candidate_mae: float | None
    naive_mae: float | None
    purchase_order_id: int | None
    purchase_order_number: str | None
    computed_at: datetime


_SELECT = (
    "SELECT s.id, s.kind, s.status, s.item_id, i.sku, i.name AS item_name, s.warehouse_id, w.code AS warehouse_code,"
    " f.code AS from_warehouse_code, s.supplier_id, sp.code AS supplier_code, s.qty_suggested, s.qty, s.need,"
    " s.policy_kind, s.policy_default, s.service_level, s.demand_daily, s.demand_sd, s.lead_days, s.lead_sd,"
    " s.lead_observed, s.review_days, s.z, s.safety_stock, s.reorder_point, s.order_up_to, s.available, s.on_order,"
    " s.moq, s.case_pack, s.forecast_method, s.forecast_mae, s.forecast_bias, s.candidate_mae, s.naive_mae,"
    " s.purchase_order_id, po.number AS purchase_order_number, s.computed_at"
    " FROM replenishment_suggestions s JOIN items i ON i.id = s.item_id JOIN locations w ON w.id = s.warehouse_id"
    " LEFT JOIN locations f ON f.id = s.from_warehouse_id LEFT JOIN suppliers sp ON sp.id = s.supplier_id"
    " LEFT JOIN purchase_orders po ON po.id = s.purchase_order_id"
)


async def _views(where: str, *args: Any, limit: int = LIST_ROWS_MAX) -> list[SuggestionView]:
    rows = await db.fetch(f"{_SELECT} WHERE {where} ORDER BY s.kind, sp.code, w.code, i.sku_key, s.id LIMIT {{}}",
                          *args, limit)
    return msgspec.convert(rows, list[SuggestionView], strict=False)


async def list_suggestions(*, status: str = "open", kind: str = "", warehouse: str = "", supplier: str = "",
                           sku: str = "", limit: int = LIST_ROWS_MAX) -> list[SuggestionView]:
    """Suggestions by status, optionally one kind, warehouse code, supplier code or SKU (prefix)."""
    if status not in ("open", "approved"):
        raise InvalidInput("Status is open or approved.")
    if kind not in ("", "purchase", "transfer"):
        raise InvalidInput("Kind is purchase, transfer or empty.")
    where, args = ["s.status = {}"], [status]
    if kind:
        where.append("s.kind = {}")
        args.append(kind)
    if warehouse.strip():
        where.append("w.code_key = {}")
        args.append(warehouse.strip().casefold())
    if supplier.strip():
        where.append("sp.code = {}")
        args.append(supplier.strip().upper())
    if sku.strip():
        where.append("i.sku_key LIKE {}")
        args.append(sku.strip().casefold().replace("%", "").replace("_", "") + "%")
    return await _views(" AND ".join(where), *args, limit=max(1, min(limit, LIST_ROWS_MAX)))


async def get_suggestion(suggestion_id: int) -> SuggestionView:
    found = await _views("s.id = {}", suggestion_id, limit=1)
    if not found:
        raise UnknownSuggestion(suggestion_id)
    return found[0]


async def set_quantity(suggestion_id: int, qty: int, *, actor: audit.Actor) -> SuggestionView:
    """A planner's own quantity for an open suggestion. A purchase is kept at the MOQ and whole case
    packs (the supplier would refuse anything else), so a quantity between is refused with the nearest."""
    if isinstance(qty, bool) or not isinstance(qty, int) or qty < 1 or qty > QTY_MAX:
        raise InvalidInput(f"Quantity must be a whole number from 1 to {QTY_MAX:,}.")
    current = await get_suggestion(suggestion_id)
    if current.status != "open":
        raise Conflict(f"Suggestion #{suggestion_id} is already {current.status}.")
    if current.kind == "purchase":
        if qty < current.moq:
            raise InvalidInput(f"{current.sku}: the minimum order is {current.moq}.")
        if qty % current.case_pack:
            low = qty // current.case_pack * current.case_pack
            options = " or ".join(str(q) for q in (low, low + current.case_pack) if q >= current.moq)
            raise InvalidInput(f"{current.sku} comes in cases of {current.case_pack}: order {options}.")

    async def work() -> None:
        updated = await db.fetch("UPDATE replenishment_suggestions SET qty = {} WHERE id = {} AND status = 'open'"
                                 " RETURNING id", qty, suggestion_id)
        if not updated:
            raise Conflict(f"Suggestion #{suggestion_id} changed meanwhile (a new run or an approval): look again.")

    await db.run_in_transaction(work)
    return await get_suggestion(suggestion_id)


class Approval(msgspec.Struct, frozen=True):
    approved: int
    purchase_order_ids: list[int]
    transfers: int


async def approve(suggestion_ids: list[int], *, actor: audit.Actor, key: str) -> Approval:
    """Approve open suggestions: purchases become draft purchase orders grouped by supplier and
    warehouse, all in one transaction, once per key (a retry returns the same orders)."""
    ids = sorted(set(suggestion_ids))
    if not 1 <= len(ids) <= APPROVE_MAX:
        raise InvalidInput(f"Select 1–{APPROVE_MAX} suggestions to approve.")

    async def work() -> Approval:
        marks = ", ".join("{}" for _ in ids)
        chosen = await _views(f"s.id IN ({marks})", *ids)
        missing = sorted(set(ids) - {s.id for s in chosen})
        if missing:
            raise UnknownSuggestion(missing[0])
        done = [s for s in chosen if s.status != "open"]
        if done:
            raise Conflict(f"Suggestion #{done[0].id} ({done[0].sku}) is already approved: reload the list.")
        unsupplied = [s for s in chosen if s.kind == "purchase" and s.supplier_id is None]
        if unsupplied:
            raise InvalidInput(f"{unsupplied[0].sku} has no supplier: link it to a supplier first.")
        orders = _draft_orders([s for s in chosen if s.kind == "purchase"])
        po_ids = await purchasing.create_draft_orders(orders, actor=actor, key=derived_key(key, "po")) if orders else []
        po_of = {(o.supplier_id, o.warehouse_id): po for o, po in zip(orders, po_ids, strict=True)}
        now = datetime.now(UTC)
        for s in chosen:
            po = po_of.get((s.supplier_id or 0, s.warehouse_id)) if s.kind == "purchase" else None
            updated = await db.fetch(
                "UPDATE replenishment_suggestions SET status = 'approved', approved_at = {}, approved_by = {},"
                " purchase_order_id = {} WHERE id = {} AND status = 'open' RETURNING id",
                now, actor.label, po, s.id)
            if not updated:
                raise Conflict(f"Suggestion #{s.id} changed meanwhile: reload the list.")
        return Approval(len(chosen), po_ids, sum(1 for s in chosen if s.kind == "transfer"))

    async def again(stored: Any) -> Approval:
        return msgspec.convert(stored, Approval)

    return await run_once("ReplenishmentApproval", {"ids": ids}, key=key, actor=actor.label, work=work, replay=again)


def _draft_orders(purchases: list[SuggestionView]) -> list[purchasing.DraftOrder]:
    grouped: dict[tuple[int, int], list[purchasing.DraftLine]] = {}
    for s in purchases:
        assert s.supplier_id is not None
        grouped.setdefault((s.supplier_id, s.warehouse_id), []).append(purchasing.DraftLine(item_id=s.item_id,
                                                                                            qty=s.qty))
    return [purchasing.DraftOrder(supplier_id=sup, warehouse_id=wh, lines=lines,
                                  note="From replenishment suggestions")
            for (sup, wh), lines in sorted(grouped.items())]
