"""Offline sync over HTTP: the handheld's outbox drains into POST /sync/txns (sync/, the adapter);
managers watch devices and gaps (the inbox) and resolve exceptions (backend/domain/scan_exceptions)
on /tablet/devices. Protocol: docs/offline-protocol.md.

The outbox is a fetch() client holding the floor session cookie (and the CSRF header), so errors
on /sync/ are JSON (backend/http/errors.py). Per-envelope results are always 200: only a batch
that cannot be read (422) or a reused txn_id (422) is refused as a whole.
"""

from __future__ import annotations

from typing import Annotated, Any

import msgspec
from litestar import get, post
from litestar.params import FromPath, JSONBody
from litestar.response import Template

from backend import metrics
from backend.domain import counts, scan_exceptions
from backend.domain.auth import devices as handhelds
from backend.domain.auth.permissions import allows
from backend.domain.bounds import Count32
from backend.domain.errors import UnknownReference
from backend.http.connection import AppRequest
from backend.http.errors import NotFound
from backend.http.floor.common import floor_key, new_key
from backend.http.session import actor, requires, session_of
from sync import inbox
from sync.envelopes import KINDS, DeviceId
from sync.replay import SYNC_BATCH_MAX, TxnResult, apply_batch


class SyncBatch(msgspec.Struct, forbid_unknown_fields=True):
    device_id: DeviceId
    # Validated one by one: a malformed envelope is `rejected`, not the batch.
    envelopes: Annotated[list[Any], msgspec.Meta(max_length=SYNC_BATCH_MAX)]
    pending: Count32 = 0  # unsent scans the device reports (for the managers' view; INTEGER columns)
    failed: Count32 = 0


class SyncResults(msgspec.Struct):
    results: list[TxnResult]


@post("/sync/txns", name="sync_txns", guards=[requires("lookup")], status_code=200)
async def sync_txns(request: AppRequest, data: JSONBody[SyncBatch]) -> SyncResults:
    """Any signed-in floor user may relay the outbox of the device they signed in on (403 for another
    device's batch); each envelope is authorized as its own user."""
    session = session_of(request)
    results = await apply_batch(data.device_id, data.envelopes, session.user, session_device=session.device_id,
                                pending_reported=data.pending, failed_reported=data.failed,
                                thresholds=counts.Thresholds.from_settings(request.app.state.settings))
    _count(data.envelopes, results)
    return SyncResults(results)


def _count(envelopes: list[Any], results: list[TxnResult]) -> None:
    """Metrics: each envelope's final status; applied scans by kind (each applied in its own committed
    transaction before apply_batch returns)."""
    kinds = {e.get("txn_id"): e.get("kind") for e in envelopes if isinstance(e, dict)}
    for r in results:
        kind = kinds.get(r.txn_id)
        metrics.sync_answered(r.status, kind if kind in KINDS else "other")  # a bounded label set


async def _devices_page(request: AppRequest, **extra: Any) -> Template:
    context = {"title": "Devices", "key": new_key(), "devices": await inbox.devices_overview(),
               "enrolled": await handhelds.list_devices(),
               "can_revoke": allows(session_of(request).user.role, "devices_manage"),
               "gaps": await inbox.open_gaps(), "exceptions": await scan_exceptions.open_exceptions(), **extra}
    return Template(template_name="tablet/devices.html", context=context, headers={"Vary": "HX-Request"})


@get("/tablet/devices", name="tablet_devices", guards=[requires("approvals_view")])
async def devices(request: AppRequest) -> Template:
    return await _devices_page(request)


@post("/tablet/devices/exceptions/{exception_id:int}/resolve", name="tablet_sync_exception_resolve",
      guards=[requires("approve")])
async def resolve(request: AppRequest, exception_id: FromPath[int]) -> Template:
    form = await request.form()
    key = floor_key(request, str(form.get("key") or new_key()))
    resolved = await scan_exceptions.resolve_exception(exception_id, key, actor(request),
                                                       note=str(form.get("note") or ""))
    return await _devices_page(request, ok=f"Exception #{resolved.id} ({resolved.sku or resolved.kind}) resolved.")


@post("/tablet/devices/{device_id:str}/revoke", name="tablet_device_revoke", guards=[requires("devices_manage")])
async def revoke(request: AppRequest, device_id: FromPath[str]) -> Template:
    """A lost or retired scanner: signed out now, and its scans are refused until it is signed in afresh."""
    try:
        revoked = await handhelds.revoke(device_id, actor(request))
    except UnknownReference as exc:
        raise NotFound(exc.message) from exc  # named in the path
    return await _devices_page(request,
                               ok=f"Scanner {revoked.id} revoked: it is signed out and must be signed in again.")


ROUTES = [sync_txns, devices, resolve, revoke]
