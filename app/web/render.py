"""Template rendering shared by the pages, and the readable error page."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates

from app.audit.labels import ACTION_ZH, DECISION_VALUE_ZH
from app.core.clock import SHANGHAI
from app.core.config import ROOT
from app.core.security import new_csrf_token

templates = Jinja2Templates(directory=str(ROOT / "templates"))


def _local(value: Any, fmt: str = "%Y-%m-%d %H:%M") -> str:
    if value is None or value == "":
        return ""
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value)
        except ValueError:
            return value
    return value.astimezone(SHANGHAI).strftime(fmt)


templates.env.filters["local"] = _local

# Marks that end or break a sentence, Chinese and ASCII: text a person typed often ends with one.
SENTENCE_MARKS = "。；，！？.;,!?"
_STRONG_ENDS = "。！？!?"


def end_with(text: Any, mark: str) -> str:
    """Return text ending with mark, without doubling the punctuation a person already typed.

    "理由。" + "；" gives "理由；" (the sentence goes on), "理由。" + "。" gives "理由。", and a text that
    ends with "！" or "？" keeps it where a full stop is wanted. Blank text stays blank.
    """
    body = "" if text is None else str(text).rstrip()
    if not body:
        return ""
    if mark == "。" and body[-1] in _STRONG_ENDS:
        return body
    return body.rstrip(SENTENCE_MARKS + " \t\u3000") + mark


templates.env.filters["end_with"] = end_with

# Histories name each audit action from the one registry (app/audit/labels.py).
templates.env.globals["ACTION_ZH"] = ACTION_ZH
templates.env.globals["DECISION_VALUE_ZH"] = DECISION_VALUE_ZH  # a form's answer, never its raw value

# Where the page of a process's business object lives, by the instance's business_ref prefix.
BUSINESS_PAGES = {
    "open_list:": ("/open-lists/{id}", "开放清单"),
    "catalog_version:": ("/catalog/versions/{id}", "目录版本"),
    "dispute:": ("/disputes/{id}", "共享争议"),
    "rectification_notice:": ("/rectification-notices/{id}", "整改通知"),
}


def business_link(business_ref: str | None) -> tuple[str, str] | None:
    """Return (url, label) of the page where a process's business object is worked, if it has one."""
    for prefix, (pattern, label) in BUSINESS_PAGES.items():
        if business_ref and business_ref.startswith(prefix):
            return pattern.format(id=business_ref.removeprefix(prefix)), label
    return None


def case_link(business_ref: str | None) -> tuple[str, str] | None:
    """Return (url, label) of a process's case page, share requests included (their page is read-only:
    a share request is worked on its task page, so business_link leaves it out)."""
    from app.sharing.service import BUSINESS_PREFIX

    if business_ref and business_ref.startswith(BUSINESS_PREFIX):
        return f"/share-requests/{business_ref.removeprefix(BUSINESS_PREFIX)}", "共享申请"
    return business_link(business_ref)


def csrf_token(request: Request) -> str:
    """Return the page session's CSRF token, creating it on first use."""
    token = request.session.get("csrf")
    if not token:
        token = new_csrf_token()
        request.session["csrf"] = token
    return str(token)


def flash_redirect(request: Request, url: str, message: str) -> RedirectResponse:
    """Redirect (303) after an action; the banner message waits in the page session for the next page.

    Never in the URL: a link must not make GovFlow's own banner say what its author wants, and a
    reload must not repeat it.
    """
    request.session["flash"] = message
    return RedirectResponse(url, status_code=303)


def render(request: Request, name: str, context: dict[str, Any] | None = None, status: int = 200) -> HTMLResponse:
    """Render a page with the common context (user, CSRF token, todo count, the pending flash message)."""
    ctx = {"request": request, "csrf_token": csrf_token(request), "user": None, "todo_count": 0,
           "unread_notifications": 0, "calendar_notice": None,
           # Shown once: taking it out of the session is what keeps a reload from showing it again.
           "flash": request.session.pop("flash", None)}
    ctx.update(getattr(request.state, "page_context", {}))
    ctx.update(context or {})
    return templates.TemplateResponse(request, name, ctx, status_code=status)


ERROR_TITLES = {400: "请求无效", 401: "请先登录", 403: "无权访问", 404: "未找到", 409: "操作冲突",
                413: "内容过大", 422: "提交的数据有误", 429: "请稍后再试", 500: "系统错误"}


def render_error(request: Request, status: int, detail: dict[str, Any],
                 headers: dict[str, str] | None = None) -> Response:
    """Render a readable error page in Chinese with the stable code."""
    if status == 401 and request.method == "GET":
        return RedirectResponse(f"/login?next={request.url.path}", status_code=303)
    if "session" not in request.scope:
        return HTMLResponse(f"<h1>{ERROR_TITLES.get(status, '错误')}</h1><p>{detail.get('message')}</p>",
                            status_code=status)
    response = render(request, "error.html",
                      {"status": status, "title": ERROR_TITLES.get(status, "错误"), "detail": detail}, status)
    response.headers.update(headers or {})
    return response
