"""create_app(settings) -> FastAPI: mounts the API and the pages, static files and error handlers."""

from __future__ import annotations

import logging
from contextlib import asynccontextmanager
from collections.abc import AsyncIterator
from typing import Any

from fastapi import Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from sqlalchemy.exc import DBAPIError, DisconnectionError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.middleware.sessions import SessionMiddleware

from app.core.config import ROOT, Settings, get_settings
from app.core.errors import DomainError
from app.core.i18n import N_
from app.core.limits import BodySizeLimit
from app.core.logs import REQUEST_ID_HEADER, RequestContext, configure_logging
from app.runtime import Runtime, build_runtime

log = logging.getLogger("govflow")

HTTP_CODES = {
    400: ("bad_request", "请求无效"),
    401: ("not_authenticated", "请先登录"),
    403: ("forbidden", "您无权执行此操作"),
    404: ("not_found", "页面或对象不存在"),
    405: ("method_not_allowed", "不支持该请求方法"),
    409: ("conflict", "操作冲突，请刷新后重试"),
    413: ("body_too_large", "请求内容过大"),
    415: ("unsupported_media_type", "不支持的内容类型"),
    429: ("too_many_requests", "请求过于频繁，请稍后再试"),
}


def create_app(settings: Settings | None = None, runtime: Runtime | None = None) -> FastAPI:
    """Build the application for the given settings (or the environment's)."""
    settings = settings or get_settings()
    configure_logging(settings)
    rt = runtime or build_runtime(settings)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        from app.startup import on_startup

        scheduler = on_startup(rt)
        try:
            yield
        finally:
            if scheduler is not None:
                scheduler.shutdown(wait=False)

    from app.deps import sync_demo_clock

    # Demo mode: every request first takes the deployment's clock offset from the database.
    # /docs and /redoc are served below from our own static files: FastAPI's defaults load a CDN.
    app = FastAPI(title="GovFlow 政数流", version="0.1.0", lifespan=lifespan,
                  description="河南省政务数据管理办法流程服务 API", docs_url=None, redoc_url=None,
                  dependencies=[Depends(sync_demo_clock)] if settings.enable_time_travel else None)
    app.state.runtime = rt

    from app.api import build_router
    from app.web import admin as admin_pages
    from app.web import authority as authority_pages
    from app.web import catalog as catalog_pages
    from app.web import designer_migrate as designer_migrate_pages
    from app.web import designer as designer_pages
    from app.web import disputes as dispute_pages
    from app.web import notifications as notification_pages
    from app.web import open_data as open_data_pages
    from app.web import rectification as rectification_pages
    from app.web import usage as usage_pages
    from app.web import router as web_router
    from app.web import supervision as supervision_pages
    from app.web import systems as system_pages

    # First: the probes match before the other routers are looked at (a cold process answers them at once).
    from app.ops import http as ops_http  # /healthz /readyz /metrics
    app.include_router(ops_http.router)
    app.include_router(build_router(settings), prefix="/api")
    app.include_router(web_router)
    app.include_router(catalog_pages.router)
    app.include_router(supervision_pages.router)
    app.include_router(notification_pages.router)
    app.include_router(open_data_pages.router)
    from app.web import reports as report_pages  # Art. 18 yearly evaluation
    app.include_router(report_pages.router)
    from app.web import signing as signing_pages  # /verify (public), signing keys, the printed share reply
    app.include_router(signing_pages.router)
    app.include_router(rectification_pages.router)
    app.include_router(system_pages.router)
    app.include_router(usage_pages.router)
    app.include_router(admin_pages.router)
    app.include_router(dispute_pages.router)
    app.include_router(authority_pages.router)
    from app.web import designer_trials as designer_trial_pages
    app.include_router(designer_trial_pages.router)
    app.include_router(designer_migrate_pages.router)
    app.include_router(designer_pages.router)
    from app.web import task_actions as task_action_pages  # 退回 撤回 加签 委派 代理
    app.include_router(task_action_pages.router)
    from app.web import desk as desk_pages
    app.include_router(desk_pages.router)
    from app.web import language as language_pages

    app.include_router(language_pages.router)
    _mount_api_docs(app)
    static_dir = ROOT / "static"
    static_dir.mkdir(exist_ok=True)
    app.mount("/static", StaticFiles(directory=static_dir), name="static")

    app.add_middleware(SessionMiddleware, secret_key=settings.secret_key, session_cookie="govflow_session",
                       max_age=settings.access_token_minutes * 60, same_site="lax",
                       https_only=settings.environment == "production")
    # Uploads may be larger than JSON bodies; the attachment service enforces its own exact limit.
    upload_limit = settings.attachment_max_bytes + 64 * 1024
    app.add_middleware(BodySizeLimit, max_bytes=settings.max_body_bytes,
                       overrides={"/api/attachments": upload_limit, "/attachments": upload_limit,
                                  "/api/usage/events": settings.usage_batch_max_bytes})
    # Counts and times every answer by route template, the 413s and 500s included (inside RequestContext).
    from app.ops.metrics import RequestMetrics
    app.add_middleware(RequestMetrics, registry=ops_http.metrics_registry(app))
    # Outermost (added last): every response, the 413 above included, carries the request id.
    app.add_middleware(RequestContext)

    app.add_exception_handler(DomainError, _domain_error)  # type: ignore[arg-type]
    app.add_exception_handler(DBAPIError, _database_error)  # type: ignore[arg-type]
    app.add_exception_handler(DisconnectionError, _database_error)  # type: ignore[arg-type]
    app.add_exception_handler(RequestValidationError, _validation_error)  # type: ignore[arg-type]
    app.add_exception_handler(StarletteHTTPException, _http_error)  # type: ignore[arg-type]
    app.add_exception_handler(Exception, _unexpected_error)
    return app


def _wants_html(request: Request) -> bool:
    return not request.url.path.startswith("/api") and not request.url.path.startswith("/docs")


def _error_response(request: Request, status: int, detail: dict[str, Any],
                    headers: dict[str, str] | None = None) -> Response:
    # The server's request id (app/core/logs.py), never text taken from the URL: a clerk quotes it to
    # the administrator, who finds the request's log lines by it.
    request_id = getattr(request.state, "request_id", None)
    if request_id:
        detail = {**detail, "request_id": request_id}
        # The 500 handler answers outside the request-id middleware: the header is set here too.
        headers = {**(headers or {}), REQUEST_ID_HEADER: request_id}
    if _wants_html(request):
        from app.web.render import render_error

        return render_error(request, status, detail, headers)
    return JSONResponse({"detail": detail}, status_code=status, headers=headers)


async def _domain_error(request: Request, exc: DomainError) -> Response:
    return _error_response(request, exc.status_code, exc.to_detail(), exc.headers())


async def _validation_error(request: Request, exc: RequestValidationError) -> Response:
    errors = []
    for err in exc.errors():
        if err.get("type") == "json_invalid":
            return _error_response(request, 400, {"code": "malformed_json", "message": "请求体不是有效的 JSON",
                                                  "message_en": "Malformed JSON body"})
        loc = ".".join(str(p) for p in err.get("loc", ()) if p not in ("body", "query", "path", "form"))
        errors.append({"field": loc, "message": _zh_validation(err), "type": err.get("type")})
    message = "提交的数据不符合要求：" + "；".join(f"{e['field']}：{e['message']}" if e["field"] else e["message"]
                                                  for e in errors)
    return _error_response(request, 422, {"code": "invalid_input", "message": message, "errors": errors})


def _zh_validation(err: dict[str, Any]) -> str:
    typ = str(err.get("type", ""))
    ctx = err.get("ctx") or {}
    table = {
        "missing": "必填", "string_too_short": f"长度不能少于 {ctx.get('min_length')}",
        "string_too_long": f"长度不能超过 {ctx.get('max_length')}", "too_short": "不能为空",
        "too_long": f"数量不能超过 {ctx.get('max_length')}",
        "enum": f"必须是以下之一：{ctx.get('expected')}", "literal_error": f"必须是以下之一：{ctx.get('expected')}",
        "int_parsing": "必须是整数", "int_type": "必须是整数", "date_from_datetime_parsing": "必须是 YYYY-MM-DD 日期",
        "date_parsing": "必须是 YYYY-MM-DD 日期", "date_type": "必须是日期", "string_type": "必须是文本",
        "bool_parsing": "必须是布尔值", "list_type": "必须是列表", "dict_type": "必须是对象",
        "model_attributes_type": "必须是对象", "extra_forbidden": "不允许的字段",
        "greater_than_equal": f"不能小于 {ctx.get('ge')}", "less_than_equal": f"不能大于 {ctx.get('le')}",
        "greater_than": f"必须大于 {ctx.get('gt')}", "less_than": f"必须小于 {ctx.get('lt')}",
        "int_from_float": "必须是整数", "int_parsing_size": "数值超出允许范围", "finite_number": "必须是有限的数值",
        "float_parsing": "必须是数字", "float_type": "必须是数字", "bool_type": "必须是布尔值",
        "date_from_datetime_inexact": "必须是 YYYY-MM-DD 日期", "datetime_type": "必须是日期时间",
        "datetime_parsing": "必须是日期时间，例如 2026-09-30T15:00:00+08:00",
        "datetime_from_date_parsing": "必须是日期时间，例如 2026-09-30T15:00:00+08:00",
        "timezone_aware": "必须带时区", "string_pattern_mismatch": "格式不正确",
    }
    if typ == "value_error":
        return str(ctx.get("error") or err.get("msg", "值无效")).removeprefix("Value error, ")
    return table.get(typ, str(err.get("msg", "值无效")))


async def _http_error(request: Request, exc: StarletteHTTPException) -> Response:
    code, message = HTTP_CODES.get(exc.status_code, ("http_error", "请求无法处理"))
    return _error_response(request, exc.status_code, {"code": code, "message": message},
                           getattr(exc, "headers", None))


async def _database_error(request: Request, exc: Exception) -> Response:
    """The database cannot be reached (down, restarting, refusing connections): 503, not a traceback."""
    from app.core.db import database_unavailable

    if not database_unavailable(exc):
        raise exc  # any other database error is a bug: the 500 handler logs it
    reason = (str(getattr(exc, "orig", None) or exc).strip().splitlines() or [""])[0][:300]
    log.warning("database unavailable on %s %s: %s: %s", request.method, request.url.path,
                type(exc).__name__, reason)
    detail = {"code": "database_unavailable", "message": N_("系统暂时无法访问数据库，请稍后再试"),
              "message_en": "The database cannot be reached; please try again later"}
    return _error_response(request, 503, detail, {"Retry-After": "5"})


async def _unexpected_error(request: Request, exc: Exception) -> Response:
    # Outside the request-id middleware (and its context variable): the id is named here.
    log.exception("unexpected error on %s %s", request.method, request.url.path,
                  extra={"request_id": getattr(request.state, "request_id", None)})
    return _error_response(request, 500, {"code": "internal_error", "message": "系统内部错误，已记录，请联系管理员"})


def _mount_api_docs(app: FastAPI) -> None:
    """Serve Swagger UI (/docs) and ReDoc (/redoc) from static/vendor/apidocs: no request leaves the intranet."""
    from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html, get_swagger_ui_oauth2_redirect_html
    from fastapi.responses import HTMLResponse

    assets = "/static/vendor/apidocs"
    openapi_url = app.openapi_url or "/openapi.json"
    redirect_url = "/docs/oauth2-redirect"

    @app.get("/docs", include_in_schema=False)
    def swagger_ui() -> HTMLResponse:
        return get_swagger_ui_html(openapi_url=openapi_url, title=f"{app.title} · API 文档",
                                   swagger_js_url=f"{assets}/swagger-ui-bundle.js",
                                   swagger_css_url=f"{assets}/swagger-ui.css",
                                   swagger_favicon_url=f"{assets}/favicon-32x32.png",
                                   oauth2_redirect_url=redirect_url,
                                   swagger_ui_parameters={"docExpansion": "none"})

    @app.get(redirect_url, include_in_schema=False)
    def swagger_ui_redirect() -> HTMLResponse:
        return get_swagger_ui_oauth2_redirect_html()

    @app.get("/redoc", include_in_schema=False)
    def redoc() -> HTMLResponse:
        return get_redoc_html(openapi_url=openapi_url, title=f"{app.title} · API 文档",
                              redoc_js_url=f"{assets}/redoc.standalone.js",
                              redoc_favicon_url=f"{assets}/favicon-32x32.png", with_google_fonts=False)
