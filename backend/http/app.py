"""Litestar app factory: thin controllers over the domain, one error mapper, DB pool in the lifespan."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from litestar import Litestar, Router
from litestar.config.compression import CompressionConfig
from litestar.config.csrf import CSRFConfig
from litestar.datastructures import State
from litestar.openapi import OpenAPIConfig
from litestar.openapi.plugins import SwaggerRenderPlugin
from litestar.openapi.spec import Components, SecurityScheme
from litestar.plugins.jinja import JinjaTemplateEngine
from litestar.static_files import create_static_files_router
from litestar.template import TemplateConfig

from backend import db
from backend.http import (
    health,
    observe,
    sync_routes,
    tablet,
    tablet_imports,
    tablet_jobs,
    tablet_orders,
    tablet_purchasing,
    tablet_replenishment,
    webhooks,
)
from backend.http.app_paths import WEB_DIR
from backend.http.boundary import check_request
from backend.http.controllers.api import (
    ItemController,
    LocationController,
    MovementController,
    ReservationController,
    StockController,
    resolve_barcode,
)
from backend.http.controllers.commands import COMMAND_ROUTES
from backend.http.controllers.orders_api import ChannelController, OrderController
from backend.http.controllers.purchasing_api import PurchaseOrderController, SupplierController
from backend.http.errors import EXCEPTION_HANDLERS
from backend.http.floor import auth_pages, counting, fulfil, pwa, stock
from backend.http.static_assets import MinifiedFiles
from backend.logging import configure_logging
from backend.settings import Settings
from jobs.dispatch import STATE_KEY, start_order_import
from jobs.inprocess import InProcessJobs

# Below ~500 B gzip saves less than its header costs; level 6 is zlib's default: nearly level 9's size
# for a fraction of its CPU, which matters because every scan response is compressed afresh.
COMPRESS_MIN_BYTES = 500
GZIP_LEVEL = 6


# The docs page loads Swagger UI from our own /static (vendored from npm by scripts/vendor-assets.mjs), not
# from a CDN: it renders on a warehouse network with no way out.
_SWAGGER = "/static/vendor/swagger-ui"
_API_DOCS_PAGE = SwaggerRenderPlugin(
    js_url=f"{_SWAGGER}/swagger-ui-bundle.js", css_url=f"{_SWAGGER}/swagger-ui.css",
    standalone_preset_js_url=f"{_SWAGGER}/swagger-ui-standalone-preset.js",
    favicon="<link rel='icon' type='image/png' href='/static/icons/icon-192.png'>", path=["/", "/swagger"],
)


def create_app(settings: Settings | None = None, *, run_jobs: bool | None = None) -> Litestar:
    settings = settings or Settings.from_env()
    configure_logging(settings.log_level, settings.log_format)
    jobs = InProcessJobs(settings) if (run_jobs if run_jobs is not None else settings.redis_url is None) else None

    @asynccontextmanager
    async def lifespan(app_: Litestar) -> AsyncIterator[None]:
        await db.connect(settings)
        if jobs:
            jobs.start()
        # Channel deliveries are imported by a job: arq with Redis, a loop in this process without.
        order_import = app_.state[STATE_KEY] = await start_order_import(settings, in_process=jobs is not None)
        try:
            yield
        finally:
            if order_import:
                await order_import.stop()
            if jobs:
                await jobs.stop()
            await db.disconnect()

    api = Router(
        path="/api/v1",
        route_handlers=[
            ItemController, LocationController, StockController, MovementController, ReservationController,
            resolve_barcode, *COMMAND_ROUTES, OrderController, ChannelController, SupplierController,
            PurchaseOrderController,
        ],
        include_in_schema=True,  # the OpenAPI document is the API's: screens and sync stay out of it
        security=[{"bearer": []}],
    )
    app = Litestar(
        route_handlers=[
            api, *health.ROUTES, *webhooks.ROUTES, *tablet_orders.ROUTES,
            *observe.metrics_routes(settings.metrics_enabled), *auth_pages.ROUTES, *stock.ROUTES, *fulfil.ROUTES,
            *counting.ROUTES, *tablet.ROUTES, *tablet_imports.ROUTES, *tablet_jobs.ROUTES, *tablet_purchasing.ROUTES,
            *tablet_replenishment.ROUTES, *sync_routes.ROUTES, *pwa.ROUTES,
            create_static_files_router(path="/static", directories=[WEB_DIR / "static"], include_in_schema=False,
                                       file_system=MinifiedFiles()),
        ],
        lifespan=[lifespan],
        state=State({"settings": settings}),
        include_in_schema=False,
        before_request=check_request,  # NUL, id ranges, strict JSON bodies: backend/http/boundary.py
        # Screens use cookie sessions, so every form and htmx POST carries a CSRF token; the JSON API
        # uses bearer tokens (no ambient credentials), so it is excluded; channel webhooks are signed (HMAC).
        csrf_config=CSRFConfig(secret=settings.csrf_secret(), cookie_secure=settings.cookies_secure,
                               cookie_samesite="strict", exclude=["^/api/", "^/webhooks/"]),
        compression_config=CompressionConfig(backend="gzip", minimum_size=COMPRESS_MIN_BYTES,
                                             gzip_compress_level=GZIP_LEVEL),
        exception_handlers=EXCEPTION_HANDLERS,  # type: ignore[arg-type]
        template_config=TemplateConfig(directory=WEB_DIR / "templates", engine=JinjaTemplateEngine),
        openapi_config=OpenAPIConfig(
            title="Stockline API",
            version="1",
            path="/api/v1/schema",
            components=Components(
                security_schemes={"bearer": SecurityScheme(type="http", scheme="bearer", description="stl_ token")}
            ),
            render_plugins=[_API_DOCS_PAGE],
        ),
        debug=False,
        logging_config=None,  # backend/logging.py configures the standard library's logging (text or JSON)
    )
    return observe.install(app)
