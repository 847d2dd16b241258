"""Tablet: import a catalogue CSV (it runs as a job; the page polls its progress) and export CSVs."""

from __future__ import annotations

from litestar import get, post
from litestar.datastructures import UploadFile
from litestar.params import FromPath
from litestar.response import Redirect, Stream, Template

from backend.domain import imports
from backend.domain.errors import InvalidInput
from backend.http.connection import AppRequest, settings_of
from backend.http.errors import NotFound
from backend.http.session import actor, requires
from jobs.imports import launch

# The upload limit of this one route (the app's default is 10 MB); the file itself is checked against
# imports.FILE_BYTES_MAX, with a message, after it arrives.
UPLOAD_BYTES_MAX = imports.FILE_BYTES_MAX + 64 * 1024


async def _page(request: AppRequest, run: imports.ImportRunView | None = None) -> Template:
    # The run shown above polls itself; listed again below it would keep its first status.
    runs = [r for r in await imports.recent_runs() if run is None or r.id != run.id]
    context = {"title": "Import / export", "run": run, "runs": runs, "kinds": imports.KINDS,
               "export_kinds": imports.EXPORT_KINDS, "columns": imports.COLUMNS}
    return Template(template_name="tablet/imports.html", context=context, headers={"Vary": "HX-Request"})


@get("/tablet/import", name="tablet_import", guards=[requires("catalog_manage")])
async def import_page(request: AppRequest) -> Template:
    return await _page(request)


@post("/tablet/import", name="tablet_import_start", guards=[requires("catalog_manage")],
      request_max_body_size=UPLOAD_BYTES_MAX)
async def start_import(request: AppRequest) -> Redirect:
    form = await request.form()
    upload = form.get("file")
    if not isinstance(upload, UploadFile) or not upload.filename:
        raise InvalidInput("Choose a CSV file to import.")
    content = await upload.read()
    kind = str(form.get("kind") or "") or None
    if kind is not None and kind not in imports.KINDS:
        raise InvalidInput(f"A catalogue file is one of {', '.join(imports.KINDS)}.")
    run_id = await imports.start_run(content, kind, upload.filename, actor(request))
    await launch(settings_of(request), run_id, actor(request))
    return Redirect(path=request.app.route_reverse("tablet_import_run", run_id=run_id), status_code=303)


@get("/tablet/import/{run_id:int}", name="tablet_import_run", guards=[requires("catalog_manage")])
async def import_run(request: AppRequest, run_id: FromPath[int]) -> Template:
    try:
        run = await imports.get_run(run_id)
    except imports.UnknownImport as exc:
        raise NotFound(exc.message) from exc
    if request.headers.get("hx-request") and not request.headers.get("hx-boosted"):
        return Template(template_name="tablet/_import_run.html", context={"run": run}, headers={"Vary": "HX-Request"})
    return await _page(request, run)


@get("/tablet/export/{kind:str}", name="tablet_export", guards=[requires("catalog_manage")])
async def export(kind: FromPath[str]) -> Stream:
    if kind not in imports.EXPORT_KINDS:
        raise NotFound(f"There is no {kind!r} export; choose one of {', '.join(imports.EXPORT_KINDS)}.")
    return Stream(imports.export_csv(kind), media_type="text/csv; charset=utf-8",
                  headers={"Content-Disposition": f'attachment; filename="stockline-{kind}.csv"'})


ROUTES = [import_page, start_import, import_run, export]
