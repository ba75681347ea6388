"""Pages of open lists: the public open-data pages (no login) and the drafting and review pages."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response
from pydantic import ValidationError

from app.catalog.models import FORMATS, UPDATE_CYCLES, CatalogEntry
from app.core.i18n import N_
from app.core.clock import SHANGHAI, clock
from app.core.errors import Conflict, DomainError, NotAuthenticated
from app.deps import RuntimeDep, SessionDep
from app.open_data import flows, service
from app.open_data.models import (DATA_DOMAINS, DATA_FORMATS, OPEN_TYPE_ZH, STATUS_ZH, OpenList, OpenListStatus,
                                  OpenType)
from app.open_data.views import history_page, item_public, open_list_detail, open_list_public, reviews_public
from app.org.service import Actor
from app.web import FormData, PageUser, _redirect, page_user
from app.web.history import earlier_lines
from app.web.render import flash_redirect, render

router = APIRouter(include_in_schema=False)


def optional_user(request: Request, session: SessionDep, rt: RuntimeDep) -> Actor | None:
    """Return the logged-in person when there is one; public pages never ask anyone to log in."""
    if not isinstance(request.session.get("sid"), str):
        return None
    try:
        return page_user(request, session, rt)
    except NotAuthenticated:
        return None


MaybeUser = Annotated[Actor | None, Depends(optional_user)]

COMMON = {"OPEN_TYPE_ZH": OPEN_TYPE_ZH, "STATUS_ZH": STATUS_ZH}


def _year(raw: str) -> int | None:
    return int(raw) if raw.isdigit() and 2000 <= int(raw) <= 2100 else None


# ---- public pages (Art. 20–22): no login ------------------------------------------------------------


@router.get("/open-data", response_class=HTMLResponse)
def public_index(request: Request, session: SessionDep, viewer: MaybeUser, department_code: str = "",
                 year: str = "") -> Response:
    """Show the published open lists by department."""
    rows = service.get_all_published(session=session, department_code=department_code or None, year=_year(year))
    return render(request, "open_data/public_index.html", {
        **COMMON, "lists": [open_list_public(session, lst) for lst, _ in rows],
        "departments": service.published_departments(session=session),
        "years": service.published_years(session=session), "department_code": department_code, "year": year,
    })


@router.get("/open-data/lists/{open_list_id}", response_class=HTMLResponse)
def public_list(request: Request, open_list_id: int, session: SessionDep, viewer: MaybeUser) -> Response:
    """Show one published open list with its items."""
    open_list = service.get_public(session=session, open_list_id=open_list_id)
    current = None
    if open_list.status == OpenListStatus.superseded.value:
        current = service.published(session=session, department_id=open_list.department_id, year=open_list.year)
    return render(request, "open_data/public_list.html", {**COMMON, "l": open_list_public(session, open_list),
                                                          "current": current})


@router.get("/open-data/restricted", response_class=HTMLResponse)
def public_restricted(request: Request, session: SessionDep, viewer: MaybeUser, department_code: str = "",
                      year: str = "", open_type: str = "") -> Response:
    """Show the not-open and conditionally open data with their basis (Art. 20)."""
    rows = service.get_restricted_items(session=session, department_code=department_code or None,
                                        year=_year(year), open_type=open_type or None)
    return render(request, "open_data/public_restricted.html", {
        **COMMON, "rows": [(item_public(i), lst, dept) for i, lst, dept in rows],
        "departments": service.published_departments(session=session),
        "years": service.published_years(session=session), "department_code": department_code, "year": year,
        "open_type": open_type,
    })


# ---- drafting and review ----------------------------------------------------------------------------


@router.get("/open-lists", response_class=HTMLResponse)
def lists_page(request: Request, session: SessionDep, actor: PageUser) -> Response:
    """List my department's open lists and those my authority reviews; start a new one."""
    return _lists_page(request, session, actor)


def _lists_page(request: Request, session: SessionDep, actor: Actor, error: str | None = None,
                status: int = 200) -> Response:
    rows = service.get_all_for_actor(session=session, actor=actor)
    this_year = clock.now().astimezone(SHANGHAI).year
    mine = [(lst, d) for lst, d in rows if lst.department_id == actor.department_id]
    to_review = [(lst, d) for lst, d in rows if lst.department_id != actor.department_id]
    return render(request, "open_data/lists.html", {
        **COMMON, "mine": mine, "to_review": to_review, "error": error,
        "years": [this_year + 1, this_year, this_year - 1], "default_year": this_year + 1,
        "may_create": actor.has_role("clerk"),
    }, status=status)


@router.post("/open-lists")
def create_list(request: Request, session: SessionDep, actor: PageUser, form: FormData) -> Response:
    """Start my department's open list of a year."""
    try:
        body = flows.OpenListCreate.model_validate({"year": form.get("year") or None, "note": form.get("note")})
        created = flows.create_list(session, actor, body)
    except Conflict as exc:
        session.rollback()
        if exc.extra.get("open_list_id"):
            return flash_redirect(request, f"/open-lists/{exc.extra['open_list_id']}", exc.message_zh)
        raise
    except (ValidationError, DomainError) as exc:
        session.rollback()
        if isinstance(exc, DomainError) and exc.status_code != 422:
            raise
        return _lists_page(request, session, actor, _message(exc), status=422)
    return _redirect(f"/open-lists/{created.id}")


def _detail_context(session: SessionDep, actor: Actor, open_list: OpenList) -> dict[str, Any]:
    data = open_list_detail(session, open_list, actor)
    listed = {i["entry_code"] for i in data["items"]}
    candidates = [e for e in service.own_entries(session=session, department_id=open_list.department_id)
                  if e.code not in listed] if data["may_edit"] else []
    # A published list is public, its review process is not: the diagram only for those who may read the
    # case outside publication (the instance's own readers), never a "no access" box for everyone else.
    show_diagram = service.may_read(session=session, open_list=open_list, actor=actor)
    return {**COMMON, "l": data, "candidates": candidates, "show_diagram": show_diagram,
            "DECISION": {"approve": N_("审查通过，予以公布"), "return": N_("退回修改")}}


@router.get("/open-lists/{open_list_id}", response_class=HTMLResponse)
def detail_page(request: Request, open_list_id: int, session: SessionDep, actor: PageUser) -> Response:
    """Show a list: its items, what the reviewer said about each, and the actions open to me."""
    open_list = service.get_visible(session=session, open_list_id=open_list_id, actor=actor)
    return render(request, "open_data/detail.html", _detail_context(session, actor, open_list))


@router.get("/open-lists/{open_list_id}/history", response_class=HTMLResponse)
def list_history(request: Request, open_list_id: int, session: SessionDep, actor: PageUser,
                 cursor: str | None = None) -> Response:
    """Show the earlier lines of a list's 流转记录 (「更早的记录」)."""
    open_list = service.get_visible(session=session, open_list_id=open_list_id, actor=actor)
    lines, next_cursor = history_page(session, open_list, cursor)
    return earlier_lines(request, lines="open_data/_history_lines.html", case=N_("开放清单"),
                         case_id=open_list_id, part=N_("流转记录"), back_url=f"/open-lists/{open_list_id}#history",
                         context={**COMMON, "history": lines, "history_next_cursor": next_cursor,
                                  "history_url": f"/open-lists/{open_list_id}/history"})


@router.get("/open-lists/{open_list_id}/reviews", response_class=HTMLResponse)
def list_reviews(request: Request, open_list_id: int, session: SessionDep, actor: PageUser,
                 cursor: str | None = None) -> Response:
    """Show the earlier review rounds of a list with their comments (「更早的记录」)."""
    open_list = service.get_visible(session=session, open_list_id=open_list_id, actor=actor)
    rows, next_cursor = reviews_public(session, open_list, cursor)
    names = service.item_names(session=session, open_list_id=open_list_id,
                               codes={code for r in rows for code in r["item_comments"]})
    return earlier_lines(request, lines="open_data/_review_rounds.html", case=N_("开放清单"),
                         case_id=open_list_id, part=N_("审查意见"), back_url=f"/open-lists/{open_list_id}#reviews",
                         context={**COMMON, "reviews": rows, "reviews_next_cursor": next_cursor, "item_names": names,
                                  "reviews_url": f"/open-lists/{open_list_id}/reviews", "plain_lines": True})


def _rerender_detail(request: Request, session: SessionDep, actor: Actor, open_list_id: int,
                     exc: ValidationError | DomainError, submitted: dict[str, Any]) -> Response:
    session.rollback()
    if isinstance(exc, DomainError) and exc.status_code != 422:
        raise exc
    open_list = service.get_visible(session=session, open_list_id=open_list_id, actor=actor)
    ctx = _detail_context(session, actor, open_list)
    ctx.update({"error": _message(exc), "error_detail": exc.to_detail() if isinstance(exc, DomainError) else None,
                "submitted": submitted})
    return render(request, "open_data/detail.html", ctx, status=422)


@router.post("/open-lists/{open_list_id}/submit")
def submit(request: Request, open_list_id: int, session: SessionDep, rt: RuntimeDep, actor: PageUser,
           form: FormData) -> Response:
    """Send the list for review, or resubmit it after revision."""
    try:
        body = flows.OpenListSubmit.model_validate({"note": form.get("note")})
        flows.submit(session, rt.runner, actor, open_list_id, body)
    except (ValidationError, DomainError) as exc:
        return _rerender_detail(request, session, actor, open_list_id, exc, form)
    return flash_redirect(request, f"/open-lists/{open_list_id}", "已提交政务数据主管部门审查")


@router.post("/open-lists/{open_list_id}/review")
def review(request: Request, open_list_id: int, session: SessionDep, rt: RuntimeDep, actor: PageUser,
           form: FormData) -> Response:
    """Record the authority's review: publish, or return with comments per item."""
    prefix = "item_comment:"
    item_comments = {k.removeprefix(prefix): str(v) for k, v in form.items()
                     if k.startswith(prefix) and str(v).strip()}
    try:
        body = flows.OpenListReviewBody.model_validate({"decision": form.get("decision") or None,
                                                        "comment": form.get("comment"),
                                                        "item_comments": item_comments})
        result = flows.review(session, rt.runner, actor, open_list_id, body)
    except (ValidationError, DomainError) as exc:
        return _rerender_detail(request, session, actor, open_list_id, exc, form)
    done = N_("已审查通过并公布") if result.status == OpenListStatus.published.value else N_("已退回部门修改")
    return flash_redirect(request, f"/open-lists/{open_list_id}", done)


@router.post("/open-lists/{open_list_id}/discard")
def discard(request: Request, open_list_id: int, session: SessionDep, actor: PageUser,
            form: FormData) -> Response:
    """Void a draft that was never submitted."""
    flows.discard(session, actor, open_list_id)
    return flash_redirect(request, "/open-lists", "草稿已作废")


def _item_form(request: Request, open_list: OpenList, entry: CatalogEntry, values: dict[str, Any], *,
               editing: bool, error: str | None = None, status: int = 200) -> Response:
    return render(request, "open_data/item_form.html", {
        **COMMON, "open_list": open_list, "entry": entry, "values": values, "editing": editing, "error": error,
        "DATA_DOMAINS": DATA_DOMAINS, "DATA_FORMATS": tuple(dict.fromkeys(DATA_FORMATS + FORMATS)),
        "UPDATE_CYCLES": UPDATE_CYCLES, "OpenType": OpenType,
    }, status=status)


def _editable_list(session: SessionDep, actor: Actor, open_list_id: int) -> OpenList:
    open_list = service.get_visible(session=session, open_list_id=open_list_id, actor=actor)
    flows.require_clerk_of(actor, open_list)
    return open_list


@router.get("/open-lists/{open_list_id}/items/new", response_class=HTMLResponse)
def new_item(request: Request, open_list_id: int, session: SessionDep, actor: PageUser,
             entry_code: str = "") -> Response:
    """Show the item form for one of my department's catalog entries, filled from the catalog."""
    open_list = _editable_list(session, actor, open_list_id)
    entry = service.own_published_entry(session=session, department_id=open_list.department_id,
                                        entry_code=entry_code)
    values = {"entry_code": entry.code, "summary": entry.summary, "data_format": entry.format,
              "update_frequency": entry.update_cycle, "data_items": [i["name"] for i in entry.items],
              "open_type": "", "data_domain": ""}
    return _item_form(request, open_list, entry, values, editing=False)


@router.get("/open-lists/{open_list_id}/items/edit", response_class=HTMLResponse)
def edit_item(request: Request, open_list_id: int, session: SessionDep, actor: PageUser,
              entry_code: str = "") -> Response:
    """Show the item form with the item's current values."""
    open_list = _editable_list(session, actor, open_list_id)
    item = flows.require_item(session, open_list_id, entry_code)
    entry = session.get(CatalogEntry, item.entry_id)
    assert entry is not None
    latest = service.latest_review(session=session, open_list_id=open_list_id)
    comment = (latest.item_comments or {}).get(item.entry_code) if latest else None
    return _item_form(request, open_list, entry, {**item_public(item), "review_comment": comment}, editing=True)


def _item_values(form: dict[str, Any]) -> dict[str, Any]:
    items = form.get("data_items") or []
    return {**form, "data_items": [items] if isinstance(items, str) else list(items)}


@router.post("/open-lists/{open_list_id}/items")
def add_item(request: Request, open_list_id: int, session: SessionDep, actor: PageUser,
             form: FormData) -> Response:
    """Add an item from the form; errors re-show the form with what was typed."""
    values = _item_values(form)
    try:
        flows.add_item(session, actor, open_list_id, flows.OpenListItemCreate.model_validate(values))
    except (ValidationError, DomainError) as exc:
        return _rerender_item(request, session, actor, open_list_id, values, exc, editing=False)
    return flash_redirect(request, f"/open-lists/{open_list_id}", "已列入开放清单")


@router.post("/open-lists/{open_list_id}/items/update")
def update_item(request: Request, open_list_id: int, session: SessionDep, actor: PageUser,
                form: FormData) -> Response:
    """Save an item's attributes."""
    values = _item_values(form)
    try:
        flows.update_item(session, actor, open_list_id, str(values.get("entry_code", "")),
                          flows.OpenListItemFields.model_validate(values))
    except (ValidationError, DomainError) as exc:
        return _rerender_item(request, session, actor, open_list_id, values, exc, editing=True)
    return flash_redirect(request, f"/open-lists/{open_list_id}", "已保存")


@router.post("/open-lists/{open_list_id}/items/delete")
def delete_item(request: Request, open_list_id: int, session: SessionDep, actor: PageUser,
                form: FormData) -> Response:
    """Take an item off the list."""
    flows.remove_item(session, actor, open_list_id, str(form.get("entry_code", "")))
    return flash_redirect(request, f"/open-lists/{open_list_id}", "已从清单中移除")


def _rerender_item(request: Request, session: SessionDep, actor: Actor, open_list_id: int,
                   values: dict[str, Any], exc: ValidationError | DomainError, *, editing: bool) -> Response:
    session.rollback()
    if isinstance(exc, DomainError) and exc.status_code != 422:
        raise exc
    open_list = _editable_list(session, actor, open_list_id)
    code = str(values.get("entry_code", ""))
    entry = service.own_published_entry(session=session, department_id=open_list.department_id, entry_code=code) \
        if not (isinstance(exc, DomainError) and exc.code in ("entry_obtained_by_sharing", "entry_not_own",
                                                                  "entry_not_found", "entry_not_published")) \
        else None
    if entry is None:
        # The entry itself cannot be listed: say why on the list page rather than on an item form.
        return _rerender_detail(request, session, actor, open_list_id, exc, {})
    return _item_form(request, open_list, entry, values, editing=editing, error=_message(exc), status=422)


FIELD_ZH = {"year": "年度", "note": "说明", "entry_code": "目录条目", "data_domain": "数据领域", "summary": "数据摘要",
            "data_items": "数据项", "data_format": "数据格式", "open_type": "开放类型", "open_conditions": "开放条件",
            "basis": "法律法规依据", "update_frequency": "更新频度", "decision": "审查结论", "comment": "审查意见",
            "item_comments": "逐项意见"}


def _message(exc: ValidationError | DomainError) -> str:
    if isinstance(exc, DomainError):
        return exc.message_zh
    from app.main import _zh_validation

    parts = []
    for err in exc.errors():
        loc = [str(p) for p in err.get("loc", ())]
        field = FIELD_ZH.get(loc[0], loc[0]) if loc else ""
        text = _zh_validation(dict(err))
        if err.get("type") == "enum" and loc and loc[0] == "open_type":
            text = f"必须是以下之一：{'、'.join(OPEN_TYPE_ZH.values())}"
        if err.get("type") == "literal_error" and loc and loc[0] == "decision":
            text = "请选择“审查通过”或“退回修改”"
        parts.append(f"{field}：{text}" if field else text)
    return "；".join(parts)
