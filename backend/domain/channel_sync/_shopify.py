"""Shopify's Admin GraphQL API (version API_VERSION): stock levels at the connection's location,
`inventorySetQuantities` with `compareQuantity` (compare-and-set), and fulfillments with tracking.

`inventorySetQuantities` applies all of a batch or none of it: when some quantities are refused (their
`compareQuantity` is stale: the channel sold or someone edited meanwhile) the rest is sent again without
them, and the stale ones are read back so the next run compares against what the channel holds.
Shopify's own rate limit answers 200 with a `THROTTLED` error (and a cost to wait for); a proxy in front
may answer 429: both hold the client back.
"""

from __future__ import annotations

from typing import Any, Generic, TypeVar

import msgspec

from backend.domain.channel_sync._api import (
    RemoteLevel,
    SetOutcome,
    ShipmentToConfirm,
    Update,
)
from backend.domain.channel_sync._connections import Connection
from backend.domain.channel_sync._http import (
    REQUEST_TRIES_MAX,
    ChannelHttp,
    ChannelRefused,
    ChannelUnavailable,
    decode,
)

API_VERSION = "2025-07"
LEVELS_PAGE_MAX = 250
SET_BATCH_MAX = 250  # quantities per inventorySetQuantities
RESEND_ROUNDS_MAX = 3
THROTTLE_WAIT_S_DEFAULT = 1.0
T = TypeVar("T")

LEVELS = """query StocklineLevels($first: Int!, $after: String, $location: ID!) {
  inventoryItems(first: $first, after: $after) {
    pageInfo { hasNextPage endCursor }
    nodes { id sku variant { id }
      inventoryLevel(locationId: $location) { quantities(names: ["available"]) { name quantity } } }
  }
}"""

QUANTITIES = """query StocklineQuantities($ids: [ID!]!, $location: ID!) {
  nodes(ids: $ids) { ... on InventoryItem { id
    inventoryLevel(locationId: $location) { quantities(names: ["available"]) { name quantity } } } }
}"""

SET_QUANTITIES = """mutation StocklineSetQuantities($input: InventorySetQuantitiesInput!) {
  inventorySetQuantities(input: $input) { inventoryAdjustmentGroup { id } userErrors { code field message } }
}"""

FULFILLMENT_ORDERS = """query StocklineFulfillmentOrders($id: ID!) {
  order(id: $id) { id
    fulfillments(first: 50) { id trackingInfo { number } }
    fulfillmentOrders(first: 20) { nodes { id status
      lineItems(first: 250) { nodes { id remainingQuantity lineItem { id } } } } } }
}"""

FULFIL = """mutation StocklineFulfil($fulfillment: FulfillmentInput!) {
  fulfillmentCreate(fulfillment: $fulfillment) { fulfillment { id status } userErrors { field message } }
}"""


# --- answers, typed -------------------------------------------------------------------------------

class _Error(msgspec.Struct):
    message: str
    extensions: dict[str, Any] = {}


class _Answer(msgspec.Struct, Generic[T]):
    data: T | None = None
    errors: list[_Error] = []


class _Quantity(msgspec.Struct):
    name: str
    quantity: int


class _Level(msgspec.Struct):
    quantities: list[_Quantity]


class _Ref(msgspec.Struct):
    id: str


class _Item(msgspec.Struct):
    id: str
    sku: str | None = None
    variant: _Ref | None = None
    inventoryLevel: _Level | None = None


class _PageInfo(msgspec.Struct):
    hasNextPage: bool
    endCursor: str | None = None


class _Items(msgspec.Struct):
    pageInfo: _PageInfo
    nodes: list[_Item]


class _LevelsData(msgspec.Struct):
    inventoryItems: _Items


class _NodesData(msgspec.Struct):
    nodes: list[_Item | None]


class _UserError(msgspec.Struct):
    message: str
    field: list[str] | None = None
    code: str | None = None


class _SetPayload(msgspec.Struct):
    userErrors: list[_UserError]


class _SetData(msgspec.Struct):
    inventorySetQuantities: _SetPayload


class _Tracking(msgspec.Struct):
    number: str | None = None


class _Fulfillment(msgspec.Struct):
    id: str
    trackingInfo: list[_Tracking] = []


class _FoLine(msgspec.Struct):
    id: str
    remainingQuantity: int
    lineItem: _Ref


class _FoLines(msgspec.Struct):
    nodes: list[_FoLine]


class _FulfillmentOrder(msgspec.Struct):
    id: str
    status: str
    lineItems: _FoLines


class _FulfillmentOrders(msgspec.Struct):
    nodes: list[_FulfillmentOrder]


class _Order(msgspec.Struct):
    id: str
    fulfillments: list[_Fulfillment]
    fulfillmentOrders: _FulfillmentOrders


class _OrderData(msgspec.Struct):
    order: _Order | None


class _FulfilPayload(msgspec.Struct):
    userErrors: list[_UserError]
    fulfillment: _Ref | None = None


class _FulfilData(msgspec.Struct):
    fulfillmentCreate: _FulfilPayload


def _available(level: _Level | None) -> int | None:
    if level is None:
        return None
    return next((q.quantity for q in level.quantities if q.name == "available"), None)


def _throttle_wait_s(error: _Error) -> float:
    cost = error.extensions.get("cost") or {}
    status = cost.get("throttleStatus") or {}
    try:
        missing = float(cost.get("requestedQueryCost", 0)) - float(status.get("currentlyAvailable", 0))
        return max(THROTTLE_WAIT_S_DEFAULT, missing / float(status.get("restoreRate") or 1))
    except (TypeError, ValueError):
        return THROTTLE_WAIT_S_DEFAULT


def _gid(kind: str, ref: str) -> str:
    return ref if ref.startswith("gid://") else f"gid://shopify/{kind}/{ref}"


class ShopifyApi:
    batch_max = SET_BATCH_MAX
    compare_and_set = True

    def __init__(self, connection: Connection, *, deadline: float) -> None:
        self.connection = connection
        self.location = connection.location_ref
        self.http = ChannelHttp(
            f"{connection.api_url}/admin/api/{API_VERSION}", slug=connection.slug,
            requests_per_s=connection.requests_per_s, deadline=deadline,
            headers={"X-Shopify-Access-Token": connection.api_key, "Content-Type": "application/json"})
        self.traffic = self.http.traffic

    async def aclose(self) -> None:
        await self.http.aclose()

    async def _graphql(self, document: str, variables: dict[str, Any], shape: type[T]) -> T:
        for _ in range(REQUEST_TRIES_MAX):
            response = await self.http.send("POST", "/graphql.json", json={"query": document, "variables": variables})
            # msgspec validates against the caller's shape at run time; mypy cannot take a variable as a type.
            answer: _Answer[T] = decode(response, _Answer[shape])  # type: ignore[valid-type]
            throttled = [e for e in answer.errors if e.extensions.get("code") == "THROTTLED"]
            if throttled:
                self.http.throttled(_throttle_wait_s(throttled[0]))
                continue
            if answer.errors or answer.data is None:
                raise ChannelRefused(f"{self.connection.slug}: " + "; ".join(e.message for e in answer.errors)[:300])
            return answer.data
        raise ChannelUnavailable(f"{self.connection.slug} stayed throttled for {REQUEST_TRIES_MAX} tries")

    async def read_levels(self, cursor: str | None) -> tuple[list[RemoteLevel], str | None]:
        data = await self._graphql(LEVELS, {"first": LEVELS_PAGE_MAX, "after": cursor, "location": self.location},
                                   _LevelsData)
        page = data.inventoryItems
        levels = [RemoteLevel(n.id, (n.sku or "").strip(), n.variant.id.rsplit("/", 1)[-1] if n.variant else "",
                              _available(n.inventoryLevel)) for n in page.nodes]
        return levels, page.pageInfo.endCursor if page.pageInfo.hasNextPage else None

    async def read_quantities(self, remote_ids: list[str]) -> dict[str, int]:
        found: dict[str, int] = {}
        for start in range(0, len(remote_ids), LEVELS_PAGE_MAX):
            ids = remote_ids[start:start + LEVELS_PAGE_MAX]
            data = await self._graphql(QUANTITIES, {"ids": ids, "location": self.location}, _NodesData)
            for node in data.nodes:
                qty = _available(node.inventoryLevel) if node else None
                if node is not None and qty is not None:
                    found[node.id] = qty
        return found

    async def set_quantities(self, updates: list[Update]) -> SetOutcome:
        assert len(updates) <= SET_BATCH_MAX
        outcome, pending = SetOutcome(), list(updates)
        for _ in range(RESEND_ROUNDS_MAX):
            if not pending:
                break
            errors = await self._set(pending)
            if not errors:
                outcome.accepted.extend(pending)
                return outcome
            pending = self._sort_out(pending, errors, outcome)
        outcome.stale.extend(pending)  # refused round after round: read back, sent again next run
        return outcome

    async def _set(self, updates: list[Update]) -> list[_UserError]:
        quantities = [{"inventoryItemId": u.remote_id, "locationId": self.location, "quantity": u.qty,
                       "compareQuantity": u.compare} for u in updates]
        variables = {"input": {"name": "available", "reason": "correction", "quantities": quantities,
                               "referenceDocumentUri": f"stockline://channel-push/{self.connection.slug}"}}
        data = await self._graphql(SET_QUANTITIES, variables, _SetData)
        return data.inventorySetQuantities.userErrors

    @staticmethod
    def _sort_out(pending: list[Update], errors: list[_UserError], outcome: SetOutcome) -> list[Update]:
        """Nothing of the batch was applied: set the named quantities aside, return the rest to resend."""
        named: dict[int, _UserError] = {}
        for error in errors:
            field = error.field or []
            if len(field) >= 3 and field[1] == "quantities" and field[2].isdigit() and int(field[2]) < len(pending):
                named[int(field[2])] = error
        if not named:  # an error about the whole request: it will not pass by sending it again
            raise ChannelRefused("; ".join(e.message for e in errors)[:300])
        for index, error in sorted(named.items()):
            if error.code == "COMPARE_QUANTITY_STALE":
                outcome.stale.append(pending[index])
            else:
                outcome.refused.append((pending[index], f"{error.code or 'refused'}: {error.message}"[:200]))
        return [u for n, u in enumerate(pending) if n not in named]

    async def confirm_shipment(self, shipment: ShipmentToConfirm) -> str:
        data = await self._graphql(FULFILLMENT_ORDERS, {"id": _gid("Order", shipment.external_order_id)}, _OrderData)
        order = data.order
        if order is None:
            raise ChannelRefused(f"Shopify has no order {shipment.external_order_id} (order {shipment.order_ref}).")
        for done in order.fulfillments:
            if any(t.number == shipment.tracking for t in done.trackingInfo):
                return done.id  # confirmed before (an earlier try whose answer was lost)
        wanted = {_gid("LineItem", ref): qty for ref, qty in shipment.lines if ref}
        by_order: list[dict[str, Any]] = []
        for fo in order.fulfillmentOrders.nodes:
            if fo.status not in ("OPEN", "IN_PROGRESS"):
                continue
            take = []
            for line in fo.lineItems.nodes:
                qty = min(line.remainingQuantity, wanted.get(line.lineItem.id, 0))
                if qty > 0:
                    take.append({"id": line.id, "quantity": qty})
                    wanted[line.lineItem.id] -= qty
            if take:
                by_order.append({"fulfillmentOrderId": fo.id, "fulfillmentOrderLineItems": take})
        if not by_order:
            return "already fulfilled on Shopify"
        fulfillment = {"lineItemsByFulfillmentOrder": by_order, "notifyCustomer": True,
                       "trackingInfo": {"company": shipment.carrier, "number": shipment.tracking}}
        created = (await self._graphql(FULFIL, {"fulfillment": fulfillment}, _FulfilData)).fulfillmentCreate
        if created.userErrors or created.fulfillment is None:
            raise ChannelRefused("Shopify refused the fulfillment: "
                                 + "; ".join(e.message for e in created.userErrors)[:300])
        return created.fulfillment.id
