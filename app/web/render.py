"""Template rendering shared by the pages, and the readable error page."""

from __future__ import annotations

from datetime import datetime
from functools import lru_cache
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from jinja2 import pass_context
from markupsafe import Markup, escape

from app.audit.labels import ACTION_ZH, DECISION_VALUE_ZH
from app.core.clock import SHANGHAI
from app.core.config import ROOT
from app.core.i18n import (DEFAULT_LANGUAGE, HTML_LANG, LANGUAGE_NAMES, LANGUAGES, current_language,
                           format_local, from_accept_language, gettext, label, ngettext, normalize)
from app.core.security import new_csrf_token

templates = Jinja2Templates(directory=str(ROOT / "templates"))
templates.env.add_extension("jinja2.ext.i18n")
# `_()`, `gettext` and `{% trans %}` translate into the language of the page being rendered (newstyle:
# autoescaped, with %(name)s placeholders). Chinese is the msgid, so an untranslated text stays Chinese.
templates.env.install_gettext_callables(gettext=lambda message: gettext(message),  # type: ignore[attr-defined]
                                        ngettext=lambda s, p, n: ngettext(s, p, n), newstyle=True)
templates.env.globals["label"] = label
templates.env.globals["LANGUAGE_NAMES"] = LANGUAGE_NAMES


def role_labels(roles: Any) -> str:
    """Return a person's role names in the page's language (ROLE_ZH order by role code)."""
    from app.org.models import ROLE_ZH

    separator = ", " if current_language.get() == "en" else "、"
    return separator.join(label(ROLE_ZH, r) for r in sorted(roles) if r in ROLE_ZH)


templates.env.globals["role_labels"] = role_labels
# The cookie that keeps the choice of a visitor who is not logged in (the login page).
LANGUAGE_COOKIE = "govflow_lang"


def _local(value: Any, fmt: str = "%Y-%m-%d %H:%M") -> str:
    if value is None or value == "":
        return ""
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value)
        except ValueError:
            return value
    return format_local(value.astimezone(SHANGHAI), fmt)


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


def _deadline(label: str | None) -> str:
    """The `deadline` filter: a task's deadline label (剩余3个工作日, …) in the page's language."""
    return _deadline_in(label, current_language.get())


@lru_cache(maxsize=1024)
def _deadline_in(label: str | None, language: str) -> str:
    # A list repeats a few labels (剩余3个工作日 …) on every row: each is matched and translated once.
    from app.tasks.service import deadline_text
    return deadline_text(label)  # in the current language, which is `language`


def options(choices: Any, selected: Any = None) -> Markup:
    """The `<option>`s of a picker: a template loop over a province's hundreds of departments cost more than
    the rest of the inbox page, so the list is built in one pass, once per distinct list of choices."""
    html = _options_html(tuple((value, name) for value, name in choices))
    if selected is not None and selected != "":
        mark = f'<option value="{escape(selected)}">'
        html = html.replace(mark, mark[:-1] + " selected>", 1)
    return Markup(html)


@lru_cache(maxsize=64)
def _options_html(choices: tuple[tuple[Any, Any], ...]) -> str:
    return "".join(f'<option value="{escape(value)}">{escape(name)}</option>' for value, name in choices)


templates.env.globals["options"] = options


templates.env.filters["deadline"] = _deadline

# Histories name each audit action from the one registry (app/audit/labels.py).
templates.env.globals["ACTION_ZH"] = ACTION_ZH
templates.env.globals["DECISION_VALUE_ZH"] = DECISION_VALUE_ZH  # a form's answer, never its raw value

@pass_context
def person(context: Any, username: str | None) -> str:
    """Return the display name of the user an audit-style field records by username (the name itself if
    unknown, e.g. a removed account); one query per name per request, on the request's own session."""
    if not username:
        return ""
    request = context.get("request")
    state = getattr(request, "state", None)
    names: dict[str, str] = getattr(state, "person_names", None) or {}
    if username not in names:
        session = getattr(state, "db_session", None)
        found = None
        if session is not None:
            from sqlalchemy import select

            from app.org.models import User
            found = session.execute(select(User.display_name).where(User.username == username)).scalar_one_or_none()
        names[username] = found or username
        if state is not None:
            state.person_names = names
    return names[username]


templates.env.globals["person"] = person

# Where the page of a process's business object lives, by the instance's business_ref prefix.
BUSINESS_PAGES = {
    "open_list:": ("/open-lists/{id}", "开放清单"),
    "catalog_version:": ("/catalog/versions/{id}", "目录版本"),
    "dispute:": ("/disputes/{id}", "共享争议"),
    "rectification_notice:": ("/rectification-notices/{id}", "整改通知"),
    "business_system:": ("/systems/{id}", "新建业务系统"),
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


def flash_redirect(request: Request, url: str, message: str, **params: Any) -> RedirectResponse:
    """Redirect (303) after an action; the banner message waits in the page session for the next page.

    Never in the URL: a link must not make GovFlow's own banner say what its author wants, and a
    reload must not repeat it.
    The message is Chinese, translated when shown; with params it is a template (`"整改通知 {number} 已发出"`,
    number=...) filled after translation, so the English catalog holds one entry for every number.
    """
    request.session["flash"] = [message, {k: str(v) for k, v in params.items()}] if params else message
    return RedirectResponse(url, status_code=303)


def _flash_text(raw: Any) -> str | None:
    """Return the pending flash message in the page's language."""
    if isinstance(raw, list) and len(raw) == 2 and isinstance(raw[1], dict):
        try:
            # A value that is itself a label (a job's Chinese name) reads in the page's language too.
            return gettext(str(raw[0])).format(**{k: gettext(v) if v else v for k, v in raw[1].items()})
        except (KeyError, IndexError, ValueError):
            return str(raw[0]).format_map(raw[1])
    return gettext(raw) if isinstance(raw, str) and raw else raw


def language_of(request: Request, user: Any = None) -> str:
    """Return the page language: the user's own setting, else the visitor's cookie or browser, else Chinese."""
    if user is not None and getattr(user, "language", None) in LANGUAGES:
        return str(user.language)
    return (normalize(request.cookies.get(LANGUAGE_COOKIE))
            or from_accept_language(request.headers.get("accept-language")) or DEFAULT_LANGUAGE)


def render(request: Request, name: str, context: dict[str, Any] | None = None, status: int = 200) -> HTMLResponse:
    """Render a page with the common context (user, CSRF token, todo count, the pending flash message)."""
    ctx = {"request": request, "csrf_token": csrf_token(request), "user": None, "todo_count": 0,
           "unread_notifications": 0, "calendar_notice": None,
           # Shown once: taking it out of the session is what keeps a reload from showing it again.
           "flash": request.session.pop("flash", None)}
    ctx.update(getattr(request.state, "page_context", {}))
    ctx.update(context or {})
    language = language_of(request, ctx.get("user"))
    current_language.set(language)  # the template's gettext and `local` read it while rendering below
    ctx.update({"language": language, "html_lang": HTML_LANG[language], "flash": _flash_text(ctx["flash"])})
    return templates.TemplateResponse(request, name, ctx, status_code=status)


ERROR_TITLES = {400: "请求无效", 401: "请先登录", 403: "无权访问", 404: "未找到", 409: "操作冲突",
                413: "内容过大", 422: "提交的数据有误", 429: "请稍后再试", 500: "系统错误",
                503: "服务暂不可用"}


def render_error(request: Request, status: int, detail: dict[str, Any],
                 headers: dict[str, str] | None = None) -> Response:
    """Render a readable error page in Chinese with the stable code."""
    if status == 401 and request.method == "GET":
        return RedirectResponse(f"/login?next={request.url.path}", status_code=303)
    if "session" not in request.scope:
        request_id = detail.get("request_id")
        quote = f"<p>请求编号：<code>{escape(str(request_id))}</code>（联系管理员时请提供）</p>" if request_id else ""
        return HTMLResponse(f"<h1>{ERROR_TITLES.get(status, '错误')}</h1><p>{detail.get('message')}</p>{quote}",
                            status_code=status, headers=headers)
    language = language_of(request, getattr(request.state, "page_context", {}).get("user"))
    current_language.set(language)
    message = detail.get("message")
    detail = {**detail, "message": gettext(message) if isinstance(message, str) and message else message}
    response = render(request, "error.html",
                      {"status": status, "title": gettext(ERROR_TITLES.get(status, "错误")), "detail": detail}, status)
    response.headers.update(headers or {})
    return response
