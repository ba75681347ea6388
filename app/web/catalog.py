"""Pages of the resource catalog: browse level catalogs, draft and submit versions, review, compare, update duty."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from pydantic import ValidationError
from sqlalchemy import select
from sqlmodel import Session
from starlette.concurrency import run_in_threadpool

from app.catalog import flows, service, spreadsheet, updates, versions, views
from app.catalog.models import (
    CHANGE_ZH,
    FORMATS,
    ITEM_TYPES,
    SHARE_METHOD_ZH,
    SHARE_TYPE_ZH,
    TRIGGER_KIND_ZH,
    UPDATE_CYCLES,
    VERSION_STATUS_ZH,
)
from app.core.clock import SHANGHAI, clock
from app.core.errors import DomainError
from app.core.i18n import N_
from app.deps import RuntimeDep, SessionDep
from app.org.models import LEVEL_ZH, Department, Level, Region
from app.org.service import Actor
from app.web import FormData, PageUser
from app.web.history import earlier_lines
from app.web.render import flash_redirect, render

router = APIRouter(include_in_schema=False)

PAGE_SIZE = 50
BLANK_ITEM_ROWS = 5
CONTEXT = {"SHARE_TYPE_ZH": SHARE_TYPE_ZH, "SHARE_METHOD_ZH": SHARE_METHOD_ZH, "FORMATS": FORMATS,
           "ITEM_TYPES": ITEM_TYPES, "UPDATE_CYCLES": UPDATE_CYCLES, "CHANGE_ZH": CHANGE_ZH,
           "VERSION_STATUS_ZH": VERSION_STATUS_ZH, "LEVEL_ZH": LEVEL_ZH, "TRIGGER_KIND_ZH": TRIGGER_KIND_ZH,
           "FIELD_ZH": flows.FIELD_ZH}


def _ctx(**values: Any) -> dict[str, Any]:
    return {**CONTEXT, **values}


# ---- browse (level catalogs) --------------------------------------------------------------------


@router.get("/catalog", response_class=HTMLResponse)
def browse(request: Request, session: SessionDep, actor: PageUser, share_type: str = "", level: str = "",
           region_code: str = "", department_code: str = "", category: str = "", q: str = "",
           page: str = "1") -> Response:
    """Browse published entries: a level catalog, a region, a department, a category, a share type."""
    filters = {
        "share_type": share_type if share_type in SHARE_TYPE_ZH else None,
        "level": level if level in Level.__members__ else None,
        "region_code": region_code or None, "department_code": department_code or None,
        "category": category.strip() or None, "q": q.strip()[:100] or None,
    }
    number = int(page) if page.isdigit() and int(page) > 0 else 1
    total = service.count_all(session=session, **filters)
    rows = service.get_all(session=session, limit=PAGE_SIZE, offset=(number - 1) * PAGE_SIZE, **filters)
    query = {k: v for k, v in filters.items() if v}
    regions = session.execute(select(Region).where(Region.level.in_(["province", "city"]))
                              .order_by(Region.code)).scalars().all()
    departments = session.execute(select(Department).where(Department.kind.in_(updates.CATALOG_KEEPERS))
                                  .order_by(Department.code)).scalars().all()
    return render(request, "catalog/list.html", _ctx(
        rows=rows, total=total, page=number, pages=max(1, -(-total // PAGE_SIZE)), filters=query,
        query=urlencode(query), regions=regions, departments=departments,
        summary=service.level_summary(session=session)))


# ---- versions -----------------------------------------------------------------------------------


@router.get("/catalog/versions", response_class=HTMLResponse)
def version_list(request: Request, session: SessionDep, actor: PageUser, status: str = "") -> Response:
    """List my department's versions, and for an authority those of its region awaiting review."""
    rows = service.list_versions(session=session, actor=actor, status=status if status in VERSION_STATUS_ZH else None)
    items = views.versions_public(session, rows)
    current = service.open_version_of(session=session, department_id=actor.department_id)
    duties = [views.duty_public(session, d, t, dept)
              for d, t, dept in service.list_duties(session=session, actor=actor, status="open")]
    return render(request, "catalog/versions.html", _ctx(items=items, status=status, current=current,
                                                         duties=duties))


@router.post("/catalog/versions")
def create_version(request: Request, session: SessionDep, actor: PageUser, form: FormData) -> Response:
    """Start a draft from the published catalog."""
    version = versions.create_draft(session, actor, str(form.get("note") or ""))
    return flash_redirect(request, f"/catalog/versions/{version.id}", "已新建草稿，内容为本部门现行目录的副本")


def _version_context(session: Session, actor: Actor, version_id: int) -> dict[str, Any]:
    version, dept = service.require_visible_version(session=session, version_id=version_id, actor=actor)
    public = views.version_public(session, version, dept, actor=actor,
                                  today=clock.now().astimezone(SHANGHAI).date())
    aids = {a["code"]: a for a in public["review_aids"]["entries"]}
    published = service.list_versions(session=session, actor=actor, department_code=dept.code, status="published")
    from app.audit.service import actor_names

    # People are shown by their display names, never by their usernames.
    public["published_by_name"] = actor_names(session, {version.published_by}).get(
        version.published_by or "", version.published_by) if version.published_by else None
    history, history_next_cursor = views.version_history(session, version)
    return _ctx(v=public, aids=aids, history=history, history_next_cursor=history_next_cursor,
                history_url=f"/catalog/versions/{version_id}/history",
                other_versions=[(o.id, o.number) for o, _ in published if o.id != version.id])


@router.get("/catalog/versions/{version_id}/history", response_class=HTMLResponse)
def version_history(request: Request, version_id: int, session: SessionDep, actor: PageUser,
                    cursor: str | None = None) -> Response:
    """Show the earlier lines of a version's 流转记录 (「更早的记录」)."""
    version, _ = service.require_visible_version(session=session, version_id=version_id, actor=actor)
    lines, next_cursor = views.version_history(session, version, cursor)
    return earlier_lines(request, lines="catalog/_history_lines.html", case=N_("目录版本"), case_id=version_id,
                         part=N_("流转记录"), back_url=f"/catalog/versions/{version_id}#history",
                         context=_ctx(history=lines, history_next_cursor=next_cursor,
                                      history_url=f"/catalog/versions/{version_id}/history"))


@router.get("/catalog/versions/{version_id}", response_class=HTMLResponse)
def version_page(request: Request, version_id: int, session: SessionDep, actor: PageUser) -> Response:
    """Show a version: entries and their changes, review aids, decisions, and the actions open to me."""
    return render(request, "catalog/version.html", _version_context(session, actor, version_id))


def _version_error(request: Request, session: Session, actor: Actor, version_id: int, exc: DomainError,
                   submitted: dict[str, Any] | None = None) -> Response:
    session.rollback()
    if exc.status_code not in (409, 422):
        raise exc
    ctx = _version_context(session, actor, version_id)
    ctx.update({"error": exc.to_detail(), "submitted": submitted or {}})
    return render(request, "catalog/version.html", ctx, status=exc.status_code)


@router.post("/catalog/versions/{version_id}/submit")
def submit_version(request: Request, version_id: int, session: SessionDep, rt: RuntimeDep, actor: PageUser,
                   form: FormData) -> Response:
    """Submit (or resubmit) the version to the data authority."""
    try:
        versions.submit(session, rt.runner, actor, version_id, str(form.get("note") or ""))
    except DomainError as exc:
        return _version_error(request, session, actor, version_id, exc)
    return flash_redirect(request, f"/catalog/versions/{version_id}", "已提交政务数据主管部门审定")


@router.post("/catalog/versions/{version_id}/discard")
def discard_version(request: Request, version_id: int, session: SessionDep, rt: RuntimeDep,
                    actor: PageUser, form: FormData) -> Response:
    """Discard the draft."""
    try:
        versions.discard(session, rt.runner, actor, version_id, str(form.get("reason") or ""))
    except DomainError as exc:
        return _version_error(request, session, actor, version_id, exc)
    return flash_redirect(request, "/catalog/versions", "草稿已作废，现行目录不变")


@router.post("/catalog/versions/{version_id}/review")
def review_version(request: Request, version_id: int, session: SessionDep, rt: RuntimeDep,
                   actor: PageUser, form: FormData) -> Response:
    """Record the authority's decision on each entry: approve, or return with a comment."""
    decisions = []
    for key, value in form.items():
        if key.startswith("decision__") and value:
            code = key.removeprefix("decision__")
            decisions.append({"code": code, "decision": value, "comment": str(form.get(f"comment__{code}") or "")})
    try:
        version = versions.review(session, rt.runner, actor, version_id, decisions, str(form.get("comment") or ""))
    except DomainError as exc:
        return _version_error(request, session, actor, version_id, exc, submitted=form)
    if version.status == "published":
        return flash_redirect(request, f"/catalog/versions/{version_id}", "审定通过，已发布为该部门现行目录")
    return flash_redirect(request, f"/catalog/versions/{version_id}", "已退回部门修改")


@router.post("/catalog/versions/{version_id}/import")
async def import_version(request: Request, version_id: int, session: SessionDep, actor: PageUser,
                         form: FormData) -> Response:
    """Import a spreadsheet into the version: all rows or none."""
    upload = (await request.form()).get("file")
    content = await upload.read() if upload is not None and hasattr(upload, "read") else b""
    filename = getattr(upload, "filename", "") or ""
    try:
        result = await run_in_threadpool(versions.import_spreadsheet, session, actor, version_id, content,
                                         filename, replace=form.get("replace") in ("1", "true", "on"))
    except DomainError as exc:
        return _version_error(request, session, actor, version_id, exc)
    counts = {k: result[k] for k in ("entries", "added", "changed", "unchanged", "withdrawn")}
    if result["warnings"]:
        return flash_redirect(request, f"/catalog/versions/{version_id}",
                              "已导入 {entries} 个条目：新增 {added}，变更 {changed}，未变更 {unchanged}，撤销 {withdrawn}"
                              "；另有 {warnings} 条第十五条提示，提交前须改正", warnings=len(result["warnings"]), **counts)
    return flash_redirect(request, f"/catalog/versions/{version_id}",
                          "已导入 {entries} 个条目：新增 {added}，变更 {changed}，未变更 {unchanged}，撤销 {withdrawn}",
                          **counts)


@router.post("/catalog/versions/{version_id}/entries/{entry_code:path}/withdraw")
def withdraw_entry(request: Request, version_id: int, entry_code: str, session: SessionDep,
                   actor: PageUser, form: FormData) -> Response:
    """Withdraw a published entry in this version."""
    try:
        versions.withdraw_entry(session, actor, version_id, entry_code)
    except DomainError as exc:
        return _version_error(request, session, actor, version_id, exc)
    return flash_redirect(request, f"/catalog/versions/{version_id}", f"已将 {entry_code} 标记为撤销")


@router.post("/catalog/versions/{version_id}/entries/{entry_code:path}/restore")
def restore_entry(request: Request, version_id: int, entry_code: str, session: SessionDep,
                  actor: PageUser, form: FormData) -> Response:
    """Undo the change or withdrawal of an entry."""
    try:
        versions.restore_entry(session, actor, version_id, entry_code)
    except DomainError as exc:
        return _version_error(request, session, actor, version_id, exc)
    return flash_redirect(request, f"/catalog/versions/{version_id}", f"已将 {entry_code} 恢复为现行内容")


@router.post("/catalog/versions/{version_id}/entries/{entry_code:path}/remove")
def remove_entry(request: Request, version_id: int, entry_code: str, session: SessionDep,
                 actor: PageUser, form: FormData) -> Response:
    """Delete an entry added in this version."""
    try:
        versions.remove_entry(session, actor, version_id, entry_code)
    except DomainError as exc:
        return _version_error(request, session, actor, version_id, exc)
    return flash_redirect(request, f"/catalog/versions/{version_id}", f"已删除新增条目 {entry_code}")


# ---- entry form ---------------------------------------------------------------------------------


def _form_values(data: dict[str, Any]) -> dict[str, Any]:
    """Turn stored entry data into the form's values."""
    return {**data, "items": list(data.get("items") or [])}


def _entry_from_form(form: dict[str, Any]) -> dict[str, Any]:
    def as_list(key: str) -> list[str]:
        value = form.get(key) or []
        return [value] if isinstance(value, str) else list(value)

    names, types, lengths, notes = (as_list(k) for k in ("item_name", "item_type", "item_length", "item_note"))
    items = []
    for i, name in enumerate(names):
        if not name.strip():
            continue
        length = lengths[i].strip() if i < len(lengths) else ""
        items.append({"name": name.strip(), "type": types[i] if i < len(types) else "字符型",
                      "length": int(length) if length.isdigit() else (length or None),
                      "note": (notes[i].strip() if i < len(notes) else "") or None})
    return {
        "code": str(form.get("code") or "").strip(), "name": str(form.get("name") or "").strip(),
        "summary": str(form.get("summary") or "").strip(), "category": str(form.get("category") or "").strip() or None,
        "format": form.get("format") or "", "share_type": form.get("share_type") or "",
        "share_conditions": str(form.get("share_conditions") or "").strip() or None,
        "share_methods": as_list("share_methods"), "legal_basis": str(form.get("legal_basis") or "").strip() or None,
        "open_to_public": form.get("open_to_public") in ("1", "true", "on"),
        "open_conditions": str(form.get("open_conditions") or "").strip() or None,
        "update_cycle": form.get("update_cycle") or "", "classification": form.get("classification") or "非涉密",
        "items": items,
    }


def _validation_message(exc: ValidationError) -> str:
    from app.main import _zh_validation

    parts = []
    for err in exc.errors():
        loc = [str(p) for p in err.get("loc", ())]
        label = flows.FIELD_ZH.get(loc[0], loc[0]) if loc else ""
        if loc[:1] == ["items"] and len(loc) > 1 and loc[1].isdigit():
            label = f"第 {int(loc[1]) + 1} 个信息项"
        message = _zh_validation(dict(err))
        parts.append(f"{label}：{message}" if label else message)
    return "；".join(parts)


def _entry_form(request: Request, session: Session, actor: Actor, version_id: int, values: dict[str, Any],
                editing: str | None, error: str | None = None, status: int = 200) -> Response:
    version, dept = service.require_visible_version(session=session, version_id=version_id, actor=actor)
    return render(request, "catalog/entry_form.html", _ctx(
        version=views.version_public(session, version, dept, with_entries=False), values=values, editing=editing,
        error=error, blank_rows=BLANK_ITEM_ROWS), status=status)


@router.get("/catalog/versions/{version_id}/entries/new", response_class=HTMLResponse)
def new_entry(request: Request, version_id: int, session: SessionDep, actor: PageUser) -> Response:
    """Show the form for a new entry."""
    return _entry_form(request, session, actor, version_id, {"items": [], "classification": "非涉密"}, None)


@router.get("/catalog/versions/{version_id}/entries/{entry_code:path}/edit", response_class=HTMLResponse)
def edit_entry(request: Request, version_id: int, entry_code: str, session: SessionDep, actor: PageUser) -> Response:
    """Show the form for changing an entry."""
    service.require_visible_version(session=session, version_id=version_id, actor=actor)
    row = service.require_version_entry(session=session, version_id=version_id, code=entry_code)
    return _entry_form(request, session, actor, version_id, _form_values(row.data), entry_code)


@router.post("/catalog/versions/{version_id}/entries")
def save_entry(request: Request, version_id: int, session: SessionDep, actor: PageUser,
               form: FormData) -> Response:
    """Add an entry, or save the changes of one (`editing` names its code)."""
    editing = str(form.get("editing") or "") or None
    values = _entry_from_form(form)
    try:
        body = flows.CatalogEntryCreate.model_validate(values)
        if editing:
            versions.update_entry(session, actor, version_id, editing, body)
        else:
            versions.add_entry(session, actor, version_id, body)
    except (ValidationError, DomainError) as exc:
        session.rollback()
        if isinstance(exc, DomainError) and exc.status_code not in (409, 422):
            raise
        message = exc.message_zh if isinstance(exc, DomainError) else _validation_message(exc)
        return _entry_form(request, session, actor, version_id, values, editing, message, status=422)
    return flash_redirect(request, f"/catalog/versions/{version_id}", f"已保存条目 {values['code']}")


# ---- comparison ---------------------------------------------------------------------------------


@router.get("/catalog/compare", response_class=HTMLResponse)
def compare_page(request: Request, session: SessionDep, actor: PageUser, from_version_id: int,
                 to_version_id: int) -> Response:
    """Compare two versions: added, changed field by field, withdrawn."""
    before, before_dept = service.require_visible_version(session=session, version_id=from_version_id, actor=actor)
    after, after_dept = service.require_visible_version(session=session, version_id=to_version_id, actor=actor)
    return render(request, "catalog/compare.html", _ctx(
        title=N_("%(before)s第%(before_number)s版 → %(after)s第%(after_number)s版"),
        title_params={"before": before_dept.name, "before_number": before.number, "after": after_dept.name,
                      "after_number": after.number},
        back=f"/catalog/versions/{after.id}", diff=versions.compare_versions(session, before, after)))


@router.get("/catalog/versions/{version_id}/changes", response_class=HTMLResponse)
def changes_page(request: Request, version_id: int, session: SessionDep, actor: PageUser) -> Response:
    """Compare a version with the catalog it started from."""
    version, dept = service.require_visible_version(session=session, version_id=version_id, actor=actor)
    return render(request, "catalog/compare.html", _ctx(
        title=N_("%(department)s第%(number)s版相对原目录的变化"),
        title_params={"department": dept.name, "number": version.number}, back=f"/catalog/versions/{version.id}",
        diff=versions.changes_of(session, version)))


# ---- update duty (Art. 9) -----------------------------------------------------------------------


def _updates_context(session: Session, actor: Actor) -> dict[str, Any]:
    duties = [views.duty_public(session, d, t, dept) for d, t, dept in service.list_duties(session=session, actor=actor)]
    may_record = actor.has_role("authority_reviewer", "admin")
    departments = []
    if may_record:
        regions = None if actor.has_role("admin") else set(service.regions_under(session=session, code=actor.region_code))
        departments = [d for d in session.execute(select(Department).where(
            Department.is_active.is_(True), Department.kind.in_(updates.CATALOG_KEEPERS))
            .order_by(Department.code)).scalars() if regions is None or d.region_code in regions]
    return _ctx(duties=duties, may_record=may_record, departments=departments,
                today=clock.now().astimezone(SHANGHAI).date().isoformat())


@router.get("/catalog/updates", response_class=HTMLResponse)
def updates_page(request: Request, session: SessionDep, actor: PageUser) -> Response:
    """List catalog update duties; the authority records a new trigger here."""
    return render(request, "catalog/updates.html", _updates_context(session, actor))


@router.post("/catalog/updates")
def record_trigger(request: Request, session: SessionDep, rt: RuntimeDep, actor: PageUser,
                   form: FormData) -> Response:
    """Record a law revised or functions changed for the chosen departments."""
    codes = form.get("department_codes") or []
    values = {**form, "department_codes": [codes] if isinstance(codes, str) else codes}
    try:
        body = updates.UpdateTriggerCreate.model_validate(values)
        _, duties = updates.record_trigger(session, rt.runner, actor, body)
    except (ValidationError, DomainError) as exc:
        session.rollback()
        if isinstance(exc, DomainError) and exc.status_code not in (409, 422):
            raise
        message = exc.message_zh if isinstance(exc, DomainError) else _trigger_message(exc)
        ctx = _updates_context(session, actor)
        ctx.update({"error": message, "values": values})
        return render(request, "catalog/updates.html", ctx, status=422)
    due = updates.duty_due_at(session, duties[0]) if duties else None
    params = {"count": len(duties), "start": body.effective_on.isoformat(),
              "days": rt.settings.catalog_update_working_days}
    if due is None:
        return flash_redirect(request, "/catalog/updates", "已登记，{count} 个部门收到“提交更新后的目录”任务：自 {start} "
                              "（发生之日，不计入）起 {days} 个工作日", **params)
    if due < clock.now():
        return flash_redirect(request, "/catalog/updates", "已登记，{count} 个部门收到“提交更新后的目录”任务：自 {start} "
                              "（发生之日，不计入）起 {days} 个工作日，期限至 {due}。登记时已超期：任务即列为超期，"
                              "下一次超期巡查（每分钟）将其列入督办", due=due.astimezone(SHANGHAI).date().isoformat(),
                              **params)
    return flash_redirect(request, "/catalog/updates", "已登记，{count} 个部门收到“提交更新后的目录”任务：自 {start} "
                          "（发生之日，不计入）起 {days} 个工作日，期限至 {due}",
                          due=due.astimezone(SHANGHAI).date().isoformat(), **params)


def _trigger_message(exc: ValidationError) -> str:
    from app.main import _zh_validation

    labels = {"kind": "事由", "document_number": "文号", "document_date": "文件日期", "effective_on": "发生日期",
              "summary": "内容摘要",
              "department_codes": "部门"}
    return "；".join(f"{labels.get(str(e['loc'][0]), e['loc'][0]) if e.get('loc') else ''}：{_zh_validation(dict(e))}"
                    for e in exc.errors())


# ---- spreadsheets (download links reuse the API, which accepts the page session) ---------------

TEMPLATE_LINKS = {"xlsx": "/api/catalog/template?format=xlsx", "csv": "/api/catalog/template?format=csv"}
CONTEXT["TEMPLATE_LINKS"] = TEMPLATE_LINKS
CONTEXT["REQUIRED_HEADERS"] = spreadsheet.REQUIRED_HEADERS
