"""WooCommerce's REST API (wc/v3): products and variations with managed stock, the batch endpoints for
stock quantities, order status and an order note with the tracking number.

WooCommerce has no compare-and-set: a quantity is set as it is. What keeps a newer value from being
overwritten is the order in which Stockline learns of sales (the order webhook reserves stock before
the next push), and the drift job, which reads what the shop holds and corrects it.
Authentication is the consumer key and secret as HTTP Basic (WooCommerce accepts it over HTTPS).
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

import msgspec

from backend.domain.channel_sync._api import (
    RemoteLevel,
    SetOutcome,
    ShipmentToConfirm,
    Update,
)
from backend.domain.channel_sync._connections import Connection
from backend.domain.channel_sync._http import ChannelHttp, ChannelRefused, decode

PAGE_MAX = 100
BATCH_MAX = 100  # WooCommerce's limit of objects per batch request
PAGES_MAX = 10_000
FIELDS = "id,sku,type,manage_stock,stock_quantity"


class _Product(msgspec.Struct):
    id: int
    sku: str = ""
    type: str = "simple"
    manage_stock: bool | str = False  # a variation says "parent" when its product manages its stock
    stock_quantity: int | None = None


class _ItemError(msgspec.Struct):
    message: str = ""
    code: str = ""


class _Updated(msgspec.Struct):
    id: int
    stock_quantity: int | None = None
    error: _ItemError | None = None


class _BatchAnswer(msgspec.Struct):
    update: list[_Updated] = []


class _Note(msgspec.Struct):
    id: int
    note: str = ""


def _level(product: _Product, parent: int | None = None) -> RemoteLevel:
    managed = product.manage_stock is True
    remote_id = f"{parent}/{product.id}" if parent else str(product.id)
    return RemoteLevel(remote_id, product.sku.strip(), str(product.id) if parent else "",
                       product.stock_quantity if managed else None)


class WooApi:
    batch_max = BATCH_MAX
    compare_and_set = False

    def __init__(self, connection: Connection, *, deadline: float) -> None:
        self.connection = connection
        self.http = ChannelHttp(f"{connection.api_url}/wp-json/wc/v3", slug=connection.slug,
                                requests_per_s=connection.requests_per_s, deadline=deadline,
                                auth=(connection.api_key, connection.api_secret))
        self.traffic = self.http.traffic

    async def aclose(self) -> None:
        await self.http.aclose()

    async def _pages(self, path: str, params: dict[str, Any]) -> list[_Product]:
        found: list[_Product] = []
        for page in range(1, PAGES_MAX + 1):
            response = await self.http.send("GET", path, params={**params, "per_page": PAGE_MAX, "page": page})
            found += decode(response, list[_Product])
            if page >= int(response.headers.get("x-wp-totalpages") or 1):
                break
        return found

    async def read_levels(self, cursor: str | None) -> tuple[list[RemoteLevel], str | None]:
        page = int(cursor or 1)
        response = await self.http.send("GET", "/products", params={"per_page": PAGE_MAX, "page": page,
                                                                     "_fields": FIELDS})
        levels = []
        for product in decode(response, list[_Product]):
            if product.type == "variable":
                for variation in await self._pages(f"/products/{product.id}/variations", {"_fields": FIELDS}):
                    levels.append(_level(variation, parent=product.id))
            else:
                levels.append(_level(product))
        last = int(response.headers.get("x-wp-totalpages") or 1)
        return levels, str(page + 1) if page < last else None

    async def read_quantities(self, remote_ids: list[str]) -> dict[str, int]:
        found: dict[str, int] = {}
        simple = [r for r in remote_ids if "/" not in r]
        for start in range(0, len(simple), PAGE_MAX):
            chunk = simple[start:start + PAGE_MAX]
            for product in await self._pages("/products", {"include": ",".join(chunk), "_fields": FIELDS}):
                if product.manage_stock is True and product.stock_quantity is not None:
                    found[str(product.id)] = product.stock_quantity
        for remote_id in (r for r in remote_ids if "/" in r):
            parent, variation = remote_id.split("/", 1)
            response = await self.http.send("GET", f"/products/{parent}/variations/{variation}")
            product = decode(response, _Product)
            if product.manage_stock is True and product.stock_quantity is not None:
                found[remote_id] = product.stock_quantity
        return found

    async def set_quantities(self, updates: list[Update]) -> SetOutcome:
        assert len(updates) <= BATCH_MAX
        outcome = SetOutcome()
        by_path: dict[str, list[Update]] = defaultdict(list)
        for update in updates:
            parent = update.remote_id.rpartition("/")[0]
            by_path[f"/products/{parent}/variations/batch" if parent else "/products/batch"].append(update)
        for path, group in by_path.items():
            ids = {int(u.remote_id.rpartition("/")[2]): u for u in group}
            body = {"update": [{"id": pid, "stock_quantity": u.qty} for pid, u in ids.items()]}
            answer = decode(await self.http.send("POST", path, json=body), _BatchAnswer)
            answered = {a.id: a for a in answer.update}
            for pid, update in ids.items():
                got = answered.get(pid)
                if got is None:
                    outcome.refused.append((update, "no answer for it in the batch"))
                elif got.error is not None:
                    outcome.refused.append((update, f"{got.error.code}: {got.error.message}"[:200]))
                else:
                    outcome.accepted.append(update)
        return outcome

    async def confirm_shipment(self, shipment: ShipmentToConfirm) -> str:
        order = f"/orders/{shipment.external_order_id}"
        if shipment.order_complete:  # first: setting a status twice is harmless, and the note below is the marker
            await self.http.send("PUT", order, json={"status": "completed"})
        notes = decode(await self.http.send("GET", f"{order}/notes"), list[_Note])
        for note in notes:
            if shipment.marker in note.note:
                return f"note {note.id}"
        text = f"Shipped with {shipment.carrier}, tracking number {shipment.tracking}. ({shipment.marker})"
        created = decode(await self.http.send("POST", f"{order}/notes", json={"note": text, "customer_note": True}),
                         _Note)
        if not created.id:
            raise ChannelRefused(f"WooCommerce did not keep the note on order {shipment.external_order_id}.")
        return f"note {created.id}"
