"""Local stand-ins for the sales channels' APIs — the outside world of the channel sync tests and of
bench/channel_push.py. Real HTTP servers (uvicorn in a thread), so an arq worker in another process
talks to them exactly as it would to a shop.

- `MockShopify`: the Admin GraphQL endpoint (`/admin/api/<version>/graphql.json`, access-token header):
  inventory items with an `available` level at one location, `inventorySetQuantities` with
  `compareQuantity` (all of a request or none of it; COMPARE_QUANTITY_STALE names the quantity), orders
  with fulfillment orders and `fulfillmentCreate` with tracking. It tells the operations apart by their
  names (Stockline's documents are named), it does not parse GraphQL.
- `MockWoo`: the REST API (`/wp-json/wc/v3`, consumer key and secret as Basic auth): products and
  variations with managed stock, paged lists (`X-WP-TotalPages`), the batch endpoints (at most 100 per
  request), orders with status and notes.

Both enforce a rate limit (a token bucket: answer 429 with `Retry-After` when empty; Shopify can answer
its GraphQL `THROTTLED` instead), and take injected faults: `fail_next(500, 503, 429, ...)` answers the
next requests with those statuses, `hang_s` delays every answer.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import dataclasses
import json
import math
import re
import socket
import threading
import time
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs

import uvicorn

Headers = list[tuple[bytes, bytes]]


class RateLimit:
    """A token bucket: `per_s` requests a second on average, bursts of `burst`."""

    def __init__(self, per_s: float, burst: int) -> None:
        self.per_s, self.burst = per_s, burst
        self.tokens, self.at = float(burst), time.monotonic()
        self.lock = threading.Lock()

    def take(self) -> float:
        """0 when a request may go now; else the seconds until one may."""
        with self.lock:
            now = time.monotonic()
            self.tokens = min(self.burst, self.tokens + (now - self.at) * self.per_s)
            self.at = now
            if self.tokens >= 1:
                self.tokens -= 1
                return 0.0
            return (1 - self.tokens) / self.per_s


@dataclass
class Stats:
    requests: int = 0
    throttled: int = 0  # requests answered 429 / THROTTLED
    injected: int = 0  # requests answered with an injected fault
    updates: int = 0  # quantities the channel applied
    update_requests: int = 0  # requests that applied quantities
    stale: int = 0  # quantities refused as stale (compare-and-set)
    fulfillments: int = 0


class MockChannel:
    def __init__(self, *, per_s: float = 50, burst: int = 50) -> None:
        self.limit = RateLimit(per_s, burst)
        self.faults: deque[int] = deque()
        self.hang_s = 0.0
        self.stats = Stats()

    def fail_next(self, *statuses: int) -> None:
        self.faults.extend(statuses)

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        self.stats.requests += 1
        if self.hang_s:
            await asyncio.sleep(self.hang_s)
        headers = {k.decode().lower(): v.decode() for k, v in scope["headers"]}
        status, payload, extra = self.answer(scope["method"], scope["path"], scope["query_string"].decode(),
                                             headers, body)
        raw = json.dumps(payload).encode()
        out: Headers = [(b"content-type", b"application/json"), (b"content-length", str(len(raw)).encode())]
        out += [(k.encode(), v.encode()) for k, v in extra.items()]
        await send({"type": "http.response.start", "status": status, "headers": out})
        await send({"type": "http.response.body", "body": raw})

    def answer(self, method: str, path: str, query: str, headers: dict[str, str],
               body: bytes) -> tuple[int, Any, dict[str, str]]:
        if path.startswith("/_mock/"):  # the harness's own door (a mock served in another process)
            return self.admin(method, path, body)
        if not self.authorized(headers):
            return 401, {"errors": "Invalid API key or access token"}, {}
        wait = self.limit.take()
        if wait:
            throttled = self.throttled(wait)
            if throttled is not None:
                return throttled
        if self.faults:
            self.stats.injected += 1
            status = self.faults.popleft()
            if status == 429:
                self.stats.throttled += 1
                return 429, {"errors": "Too many requests"}, {"retry-after": "1"}
            return status, {"errors": "injected failure"}, {}
        return self.route(method, path, query, body)

    def throttled(self, wait_s: float) -> tuple[int, Any, dict[str, str]] | None:
        self.stats.throttled += 1
        return 429, {"errors": "Exceeded the rate limit"}, {"retry-after": str(max(1, math.ceil(wait_s)))}

    def admin(self, method: str, path: str, body: bytes) -> tuple[int, Any, dict[str, str]]:
        if path == "/_mock/stats":
            return 200, dataclasses.asdict(self.stats), {}
        if path == "/_mock/levels":
            return 200, self.levels(), {}
        if path == "/_mock/seed" and method == "POST":
            data = json.loads(body)
            for sku in data["skus"]:
                self.seed(sku, data.get("qty", 0))
            return 200, {"seeded": len(data["skus"])}, {}
        return 404, {}, {}

    def levels(self) -> dict[str, int | None]:
        raise NotImplementedError

    def seed(self, sku: str, qty: int | None) -> None:
        raise NotImplementedError

    def authorized(self, headers: dict[str, str]) -> bool:
        raise NotImplementedError

    def route(self, method: str, path: str, query: str, body: bytes) -> tuple[int, Any, dict[str, str]]:
        raise NotImplementedError


# --- Shopify ---------------------------------------------------------------------------------------

@dataclass
class ShopItem:
    sku: str
    variant: int
    qty: int | None  # None: not stocked at the location


@dataclass
class ShopOrder:
    remaining: dict[int, int]  # line item id → units not fulfilled yet
    fulfillments: list[dict[str, Any]] = field(default_factory=list)


_OPERATION = re.compile(r"\b(?:query|mutation)\s+(\w+)")
LEVELS_PAGE_MAX = 250
SET_BATCH_MAX = 250


class MockShopify(MockChannel):
    def __init__(self, *, token: str = "shpat_test", location: int = 1, throttle: str = "429", **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.token, self.location = token, f"gid://shopify/Location/{location}"
        self.throttle_style = throttle  # "429" or "graphql" (200 with THROTTLED, as Shopify's GraphQL does)
        self.items: dict[str, ShopItem] = {}
        self.orders: dict[str, ShopOrder] = {}
        self._next = 1

    def add_item(self, sku: str, qty: int | None = 0) -> str:
        gid = f"gid://shopify/InventoryItem/{self._next}"
        self.items[gid] = ShopItem(sku, 90000 + self._next, qty)
        self._next += 1
        return gid

    def item_of(self, sku: str) -> ShopItem:
        return next(i for i in self.items.values() if i.sku == sku)

    def qty(self, sku: str) -> int | None:
        return self.item_of(sku).qty

    def add_order(self, order_id: int, lines: dict[int, int]) -> None:
        self.orders[f"gid://shopify/Order/{order_id}"] = ShopOrder(dict(lines))

    def authorized(self, headers: dict[str, str]) -> bool:
        return headers.get("x-shopify-access-token") == self.token

    def levels(self) -> dict[str, int | None]:
        return {i.sku: i.qty for i in self.items.values()}

    def seed(self, sku: str, qty: int | None) -> None:
        self.add_item(sku, qty)

    def throttled(self, wait_s: float) -> tuple[int, Any, dict[str, str]] | None:
        if self.throttle_style != "graphql":
            return super().throttled(wait_s)
        self.stats.throttled += 1
        cost = {"requestedQueryCost": 10, "throttleStatus": {"maximumAvailable": 1000, "currentlyAvailable": 0,
                                                             "restoreRate": 10 / wait_s}}
        return 200, {"errors": [{"message": "Throttled", "extensions": {"code": "THROTTLED", "cost": cost}}]}, {}

    def route(self, method: str, path: str, query: str, body: bytes) -> tuple[int, Any, dict[str, str]]:
        if method != "POST" or not re.fullmatch(r"/admin/api/[\w-]+/graphql\.json", path):
            return 404, {"errors": "Not Found"}, {}
        request = json.loads(body)
        found = _OPERATION.search(request.get("query", ""))
        handler = getattr(self, f"_op_{found.group(1)}", None) if found else None
        if handler is None:
            return 200, {"errors": [{"message": "unknown operation"}]}, {}
        return 200, {"data": handler(request.get("variables") or {})}, {}

    def _node(self, gid: str, location: str) -> dict[str, Any] | None:
        item = self.items.get(gid)
        if item is None:
            return None
        level = None
        if item.qty is not None and location == self.location:
            level = {"quantities": [{"name": "available", "quantity": item.qty}]}
        return {"id": gid, "sku": item.sku, "variant": {"id": f"gid://shopify/ProductVariant/{item.variant}"},
                "inventoryLevel": level}

    def _op_StocklineLevels(self, v: dict[str, Any]) -> dict[str, Any]:
        ids = list(self.items)
        start = int(v.get("after") or 0)
        first = min(int(v["first"]), LEVELS_PAGE_MAX)
        page = ids[start:start + first]
        more = start + first < len(ids)
        return {"inventoryItems": {"pageInfo": {"hasNextPage": more, "endCursor": str(start + first)},
                                   "nodes": [self._node(g, v["location"]) for g in page]}}

    def _op_StocklineQuantities(self, v: dict[str, Any]) -> dict[str, Any]:
        return {"nodes": [self._node(g, v["location"]) for g in v["ids"]]}

    def _op_StocklineSetQuantities(self, v: dict[str, Any]) -> dict[str, Any]:
        data = v["input"]
        quantities = data["quantities"]
        errors = []
        if len(quantities) > SET_BATCH_MAX:
            errors.append({"code": "INVALID_INPUT", "field": ["input", "quantities"], "message": "too many"})
        for n, q in enumerate(quantities):
            where = ["input", "quantities", str(n)]
            item = self.items.get(q["inventoryItemId"])
            if item is None:
                errors.append({"code": "INVALID_INVENTORY_ITEM", "field": [*where, "inventoryItemId"],
                               "message": "The specified inventory item could not be found."})
            elif q["locationId"] != self.location or item.qty is None:
                errors.append({"code": "ITEM_NOT_STOCKED_AT_LOCATION", "field": [*where, "locationId"],
                               "message": "The specified inventory item is not stocked at the location."})
            elif not data.get("ignoreCompareQuantity") and q.get("compareQuantity") != item.qty:
                self.stats.stale += 1
                errors.append({"code": "COMPARE_QUANTITY_STALE", "field": [*where, "compareQuantity"],
                               "message": "The compareQuantity value does not match persisted value."})
            elif q["quantity"] < 0:
                errors.append({"code": "INVALID_QUANTITY_NEGATIVE", "field": [*where, "quantity"],
                               "message": "The quantity can't be negative."})
        if errors:  # all of it or none of it
            return {"inventorySetQuantities": {"inventoryAdjustmentGroup": None, "userErrors": errors}}
        for q in quantities:
            self.items[q["inventoryItemId"]].qty = q["quantity"]
        self.stats.updates += len(quantities)
        self.stats.update_requests += 1
        group = {"id": f"gid://shopify/InventoryAdjustmentGroup/{self.stats.update_requests}"}
        return {"inventorySetQuantities": {"inventoryAdjustmentGroup": group, "userErrors": []}}

    def _op_StocklineFulfillmentOrders(self, v: dict[str, Any]) -> dict[str, Any]:
        order = self.orders.get(v["id"])
        if order is None:
            return {"order": None}
        number = v["id"].rsplit("/", 1)[1]
        lines = [{"id": f"gid://shopify/FulfillmentOrderLineItem/{line}", "remainingQuantity": left,
                  "lineItem": {"id": f"gid://shopify/LineItem/{line}"}} for line, left in order.remaining.items()]
        status = "OPEN" if any(order.remaining.values()) else "CLOSED"
        return {"order": {"id": v["id"], "fulfillments": order.fulfillments,
                          "fulfillmentOrders": {"nodes": [{"id": f"gid://shopify/FulfillmentOrder/{number}",
                                                           "status": status, "lineItems": {"nodes": lines}}]}}}

    def _op_StocklineFulfil(self, v: dict[str, Any]) -> dict[str, Any]:
        f = v["fulfillment"]
        takes = []
        for group in f["lineItemsByFulfillmentOrder"]:
            number = group["fulfillmentOrderId"].rsplit("/", 1)[1]
            order = self.orders.get(f"gid://shopify/Order/{number}")
            if order is None:
                return {"fulfillmentCreate": {"fulfillment": None, "userErrors": [
                    {"field": ["fulfillment"], "message": "Fulfillment order does not exist."}]}}
            for line in group["fulfillmentOrderLineItems"]:
                line_id = int(line["id"].rsplit("/", 1)[1])
                if order.remaining.get(line_id, 0) < line["quantity"]:
                    return {"fulfillmentCreate": {"fulfillment": None, "userErrors": [
                        {"field": ["fulfillment"], "message": "Invalid fulfillment order line item quantity."}]}}
                takes.append((order, line_id, line["quantity"]))
        for order, line_id, qty in takes:
            order.remaining[line_id] -= qty
        self.stats.fulfillments += 1
        fulfillment = {"id": f"gid://shopify/Fulfillment/{self.stats.fulfillments}", "status": "SUCCESS",
                       "trackingInfo": [{"number": f["trackingInfo"]["number"],
                                         "company": f["trackingInfo"]["company"]}]}
        takes[0][0].fulfillments.append(fulfillment)
        return {"fulfillmentCreate": {"fulfillment": {"id": fulfillment["id"], "status": "SUCCESS"},
                                      "userErrors": []}}


# --- WooCommerce -----------------------------------------------------------------------------------

@dataclass
class WooProduct:
    id: int
    sku: str
    qty: int | None  # None: stock not managed
    parent: int = 0
    variable: bool = False


@dataclass
class WooOrder:
    status: str = "processing"
    notes: list[dict[str, Any]] = field(default_factory=list)


WOO_PAGE_MAX = 100
WOO_BATCH_MAX = 100


class MockWoo(MockChannel):
    def __init__(self, *, key: str = "ck_test", secret: str = "cs_test", **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.auth = "Basic " + base64.b64encode(f"{key}:{secret}".encode()).decode()
        self.products: dict[int, WooProduct] = {}
        self.orders: dict[int, WooOrder] = {}
        self._next = 100

    def add_product(self, sku: str, qty: int | None = 0, *, parent: int = 0) -> int:
        self._next += 1
        self.products[self._next] = WooProduct(self._next, sku, qty, parent)
        if parent:
            self.products[parent].variable = True
        return self._next

    def add_variable(self, sku: str) -> int:
        pid = self.add_product(sku, None)
        self.products[pid].variable = True
        return pid

    def qty(self, sku: str) -> int | None:
        return next(p for p in self.products.values() if p.sku == sku).qty

    def add_order(self, order_id: int) -> None:
        self.orders[order_id] = WooOrder()

    def authorized(self, headers: dict[str, str]) -> bool:
        return headers.get("authorization") == self.auth

    def levels(self) -> dict[str, int | None]:
        return {p.sku: p.qty for p in self.products.values() if not p.variable}

    def seed(self, sku: str, qty: int | None) -> None:
        self.add_product(sku, qty)

    @staticmethod
    def _json(p: WooProduct) -> dict[str, Any]:
        return {"id": p.id, "sku": p.sku, "type": "variable" if p.variable else ("variation" if p.parent else "simple"),
                "manage_stock": p.qty is not None, "stock_quantity": p.qty}

    def _page(self, rows: list[WooProduct], query: dict[str, list[str]]) -> tuple[int, Any, dict[str, str]]:
        per_page = min(int(query.get("per_page", ["10"])[0]), WOO_PAGE_MAX)
        page = int(query.get("page", ["1"])[0])
        pages = max(1, math.ceil(len(rows) / per_page))
        chosen = rows[(page - 1) * per_page:page * per_page]
        return 200, [self._json(p) for p in chosen], {"x-wp-total": str(len(rows)), "x-wp-totalpages": str(pages)}

    def route(self, method: str, path: str, query: str, body: bytes) -> tuple[int, Any, dict[str, str]]:
        q = parse_qs(query)
        rest = path.removeprefix("/wp-json/wc/v3")
        data = json.loads(body) if body else {}
        if method == "GET" and rest == "/products":
            rows = [p for p in self.products.values() if not p.parent]
            if "include" in q:
                wanted = {int(x) for x in q["include"][0].split(",") if x}
                rows = [p for p in rows if p.id in wanted]
            return self._page(rows, q)
        if m := re.fullmatch(r"/products/(\d+)/variations", rest):
            return self._page([p for p in self.products.values() if p.parent == int(m.group(1))], q)
        if m := re.fullmatch(r"/products/(\d+)/variations/(\d+)", rest):
            found = self.products.get(int(m.group(2)))
            return (200, self._json(found), {}) if found else (404, {"code": "woocommerce_rest_invalid_id"}, {})
        if method == "POST" and (m := re.fullmatch(r"/products(?:/(\d+)/variations)?/batch", rest)):
            return self._batch(int(m.group(1) or 0), data.get("update", []))
        if m := re.fullmatch(r"/orders/(\d+)", rest):
            order = self.orders.get(int(m.group(1)))
            if order is None:
                return 404, {"code": "woocommerce_rest_shop_order_invalid_id"}, {}
            if method == "PUT" and "status" in data:
                order.status = data["status"]
            return 200, {"id": int(m.group(1)), "status": order.status}, {}
        if m := re.fullmatch(r"/orders/(\d+)/notes", rest):
            order = self.orders.get(int(m.group(1)))
            if order is None:
                return 404, {"code": "woocommerce_rest_shop_order_invalid_id"}, {}
            if method == "POST":
                note = {"id": 500 + len(order.notes), "note": data["note"], "customer_note": data.get("customer_note")}
                order.notes.append(note)
                return 201, note, {}
            return 200, order.notes, {}
        return 404, {"code": "rest_no_route"}, {}

    def _batch(self, parent: int, updates: list[dict[str, Any]]) -> tuple[int, Any, dict[str, str]]:
        if len(updates) > WOO_BATCH_MAX:
            return 413, {"code": "woocommerce_rest_request_entity_too_large"}, {}
        answered = []
        for u in updates:
            product = self.products.get(int(u["id"]))
            if product is None or product.parent != parent or product.qty is None:
                answered.append({"id": u["id"], "error": {"code": "woocommerce_rest_product_invalid_id",
                                                          "message": "Invalid ID.", "data": {"status": 400}}})
                continue
            product.qty = int(u["stock_quantity"])
            self.stats.updates += 1
            answered.append(self._json(product))
        self.stats.update_requests += 1
        return 200, {"update": answered}, {}


# --- serving ---------------------------------------------------------------------------------------

@contextmanager
def serving(app: MockChannel) -> Iterator[str]:
    """Serve `app` on a free local port in a thread; yields its base URL."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="off", access_log=False))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True, name=f"mock-{port}")
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.01)
    assert server.started, "the mock channel did not start"
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(10)
        sock.close()


def main() -> None:
    """`python tests/channel_mocks.py shopify|woocommerce --port N`: one mock in a process of its own
    (bench/channel_push.py), so its CPU is not counted as Stockline's. `/_mock/stats`, `/_mock/levels` and
    `POST /_mock/seed {"skus": [...], "qty": 0}` drive it from outside."""
    parser = argparse.ArgumentParser()
    parser.add_argument("kind", choices=["shopify", "woocommerce"])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--per-s", type=float, default=50)
    parser.add_argument("--burst", type=int, default=50)
    args = parser.parse_args()
    app: MockChannel = (MockShopify if args.kind == "shopify" else MockWoo)(per_s=args.per_s, burst=args.burst)
    uvicorn.run(app, host="127.0.0.1", port=args.port, log_level="warning", lifespan="off", access_log=False)


if __name__ == "__main__":
    main()
