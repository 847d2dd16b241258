"""Tablet: replenishment suggestions for a planner. The list (filters by kind, warehouse, supplier and
SKU) with the numbers behind each quantity and the forecast's back-test error; change a quantity,
approve the selected ones (purchases become draft purchase orders per supplier), run the job now."""

from __future__ import annotations

from typing import Any

from litestar import Request, get, post
from litestar.params import FromPath, FromQuery
from litestar.response import Redirect, Template

from backend.domain import replenishment
from backend.domain.errors import InvalidInput
from backend.http.floor.common import floor_key, new_key
from backend.http.session import actor, requires
from jobs.runs import start_job

REPLENISH_JOB = "replenish"


def _filters(kind: str, warehouse: str, supplier: str, sku: str, status: str) -> dict[str, str]:
    return {"kind": kind, "warehouse": warehouse.strip(), "supplier": supplier.strip(), "sku": sku.strip(),
            "status": status or "open"}


async def _page(request: Request[Any, Any, Any], f: dict[str, str], **extra: Any) -> Template:
    if not _partial_only(request) or extra:
        extra = {"policies": await replenishment.list_policies(), "kinds": replenishment.POLICY_KINDS, **extra}
    rows = await replenishment.list_suggestions(kind=f["kind"], warehouse=f["warehouse"], supplier=f["supplier"],
                                                sku=f["sku"], status=f["status"])
    context = {"title": "Replenishment", "rows": rows, "f": f, "key": new_key(), "policy_key": new_key(), **extra}
    return Template(template_name="tablet/_suggestion_rows.html" if "policies" not in extra else
                    "tablet/replenishment.html", context=context, headers={"Vary": "HX-Request"})


def _partial_only(request: Request[Any, Any, Any]) -> bool:
    return bool(request.headers.get("hx-request")) and not request.headers.get("hx-boosted")


@get("/tablet/replenishment", name="tablet_replenishment", guards=[requires("purchasing_manage")])
async def suggestions_page(request: Request[Any, Any, Any], kind: FromQuery[str] = "", warehouse: FromQuery[str] = "",
                           supplier: FromQuery[str] = "", sku: FromQuery[str] = "",
                           status: FromQuery[str] = "") -> Template:
    return await _page(request, _filters(kind, warehouse, supplier, sku, status))


@post("/tablet/replenishment/{suggestion_id:int}/qty", name="tablet_suggestion_qty",
      guards=[requires("purchasing_manage")])
async def change_qty(request: Request[Any, Any, Any], suggestion_id: FromPath[int]) -> Template:
    form = await request.form()
    text = str(form.get("qty") or "").strip()
    if not text.isdigit():
        raise InvalidInput("Quantity is a whole number.")
    changed = await replenishment.set_quantity(suggestion_id, int(text), actor=actor(request))
    ok = f"{changed.sku} for {changed.warehouse_code}: {changed.qty} set."
    if request.headers.get("hx-request"):
        return Template(template_name="tablet/_suggestion_saved.html", context={"s": changed, "ok": ok})
    return await _page(request, _filters("", "", "", "", "open"), ok=ok)


@post("/tablet/replenishment/approve", name="tablet_suggestions_approve",
      guards=[requires("purchasing_manage")])
async def approve_selected(request: Request[Any, Any, Any]) -> Template:
    form = await request.form()
    picked = [str(v) for v in form.getall("id")] if "id" in form else []
    if not picked or not all(v.isdigit() for v in picked):
        raise InvalidInput("Tick the suggestions to approve first.")
    done = await replenishment.approve([int(v) for v in picked], actor=actor(request),
                                       key=floor_key(request, str(form.get("key") or new_key())))
    words = f"{done.approved} suggestion(s) approved"
    if done.purchase_order_ids:
        words += f"; {len(done.purchase_order_ids)} draft purchase order(s) made"
    if done.transfers:
        words += f"; {done.transfers} transfer(s) to move"
    return await _page(request, _filters("", "", "", "", "open"), ok=words + ".", approved=done)


def _number(form: Any, name: str, what: str, default: str) -> float:
    text = str(form.get(name) or default).strip()
    try:
        return float(text)
    except ValueError:
        raise InvalidInput(f"{what} is a number.") from None


@post("/tablet/replenishment/policies", name="tablet_replenishment_policy",
      guards=[requires("purchasing_manage")])
async def set_policy(request: Request[Any, Any, Any]) -> Template:
    form = await request.form()
    level_pct = _number(form, "service_level_pct", "Service level", "95")
    counts = {name: _number(form, name, what, "0") for name, what in
              (("review_days", "Review days"), ("min_qty", "Min"), ("max_qty", "Max"))}
    if any(v != int(v) for v in counts.values()):
        raise InvalidInput("Review days, min and max are whole numbers.")
    done = await replenishment.set_policy_by_codes(
        str(form.get("sku") or ""), str(form.get("warehouse") or ""), kind=str(form.get("kind") or ""),
        service_level=level_pct / 100, review_days=int(counts["review_days"]), min_qty=int(counts["min_qty"]),
        max_qty=int(counts["max_qty"]), actor=actor(request),
        key=floor_key(request, str(form.get("key") or new_key())))
    ok = f"Policy for {done.sku} in {done.warehouse_code} set: {done.kind}. It counts from the next run."
    return await _page(request, _filters("", "", "", "", "open"), ok=ok)


@post("/tablet/replenishment/run", name="tablet_replenishment_run", guards=[requires("jobs_manage")])
async def run_now(request: Request[Any, Any, Any]) -> Redirect:
    run_id = await start_job(request.app.state.settings, REPLENISH_JOB, actor(request))
    return Redirect(path=request.app.route_reverse("tablet_job_run", run_id=run_id), status_code=303)


ROUTES = [suggestions_page, change_qty, approve_selected, set_policy, run_now]
