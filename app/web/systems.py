"""Pages of new business systems (新建业务系统, Art. 7): list, register, the case with its catalog checklist,
record the project approval (立项), withdraw. Plain forms (no JavaScript); a refused form comes back with
what was typed and the reason."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from pydantic import BaseModel, ValidationError
from sqlmodel import Session

from app.core.clock import clock
from app.core.errors import DomainError, Forbidden, InvalidInput
from app.core.i18n import N_
from app.deps import RuntimeDep, SessionDep
from app.org.models import Role
from app.org.service import Actor
from app.runtime import Runtime
from app.systems import flows, service
from app.systems.views import history_page, system_public, systems_public
from app.web import FormData, PageUser
from app.web.history import earlier_lines
from app.web.render import flash_redirect, render

PAGE_SIZE = 50
# Rows of data items the register form offers (no script needed; empty rows are ignored).
FORM_ROWS = 12

router = APIRouter(include_in_schema=False)

FIELD_ZH = {"name": "系统名称", "purpose": "建设目的和主要功能", "data_items": "采集的数据项",
            "contact_name": "联系人", "contact_phone": "联系电话", "approval_number": "立项批复文号",
            "approval_date": "立项批复日期", "approving_body": "审批机关", "reason": "撤回理由"}


def _parse(model: type[BaseModel], data: dict[str, Any]) -> Any:
    from app.main import _zh_validation

    try:
        return model.model_validate(data)
    except ValidationError as exc:
        parts = []
        for err in exc.errors():
            field = str(next(iter(err.get("loc", ())), ""))
            parts.append(f"{FIELD_ZH.get(field, field)}：{_zh_validation(dict(err))}")
        raise InvalidInput("；".join(parts), code="invalid_input") from None


def _list(value: Any) -> list[str]:
    return value if isinstance(value, list) else [value] if isinstance(value, str) else []


def _items_of_form(form: dict[str, Any]) -> list[dict[str, Any]]:
    names, codes = _list(form.get("item_name")), _list(form.get("item_entry"))
    rows = []
    for i, name in enumerate(names):
        code = codes[i] if i < len(codes) else ""
        if name.strip():
            rows.append({"name": name, "entry_code": code or None})
    return rows


def _may_register(actor: Actor) -> bool:
    return actor.has_role(Role.clerk.value)


@router.get("/systems", response_class=HTMLResponse)
def systems_page(request: Request, session: SessionDep, rt: RuntimeDep, actor: PageUser, status: str = "open",
                 cursor: str = "") -> Response:
    """List one page of the systems my department registered (an authority: of the departments it reviews; a
    supervisor: of my level); 下一页 carries the cursor."""
    status = status if status in ("open", "closed", "all") else "open"
    rows, next_cursor = service.get_all_for_actor(session=session, actor=actor,
                                                  status=None if status == "all" else status, limit=PAGE_SIZE,
                                                  cursor=cursor or None)
    items = systems_public(session, rows, calendar=rt.calendar.get(session), now=clock.now())
    filters = {"status": status} if status != "open" else {}
    return render(request, "systems/list.html", {
        "rows": items, "status": status, "may_register": _may_register(actor),
        "next_url": "/systems?" + urlencode({**filters, "cursor": next_cursor}) if next_cursor else None,
        "first_url": ("/systems" + (f"?{urlencode(filters)}" if filters else "")) if cursor else None})


def _new_context(session: Session, actor: Actor, values: dict[str, Any]) -> dict[str, Any]:
    items = list(values.get("data_items") or [])
    rows = items + [{"name": "", "entry_code": None}] * max(0, FORM_ROWS - len(items))
    return {"entries": service.department_entries(session=session, department_id=actor.department_id),
            "values": values, "rows": rows}


@router.get("/systems/new", response_class=HTMLResponse)
def new_system(request: Request, session: SessionDep, actor: PageUser) -> Response:
    """Show the register form: name, purpose, the data items (linked to my catalog's entries), contact."""
    if not _may_register(actor):
        raise Forbidden("只有本部门经办人可以登记新建业务系统", code="clerk_required")
    return render(request, "systems/new.html", _new_context(session, actor, {}))


@router.post("/systems")
def create_system(request: Request, session: SessionDep, rt: RuntimeDep, actor: PageUser,
                  form: FormData) -> Response:
    """Register a system from the form."""
    values = {k: form.get(k, "") for k in ("name", "purpose", "contact_name", "contact_phone")}
    values["data_items"] = _items_of_form(form)
    try:
        system = flows.register(session, rt.runner, actor, _parse(flows.SystemCreate, values))
    except DomainError as exc:
        session.rollback()
        if exc.status_code != 422:
            raise
        ctx = _new_context(session, actor, values)
        ctx["error"] = exc.to_detail()
        return render(request, "systems/new.html", ctx, status=422)
    return flash_redirect(request, f"/systems/{system.id}", "业务系统“{name}”已登记", name=system.name)


def _context(session: Session, rt: Runtime, actor: Actor, system_id: int) -> dict[str, Any]:
    system = service.get_visible(session=session, system_id=system_id, actor=actor)
    s = system_public(session, system, actor, calendar=rt.calendar.get(session), now=clock.now())
    return {"s": s, "history": s["history"], "history_next_cursor": s["history_next_cursor"],
            "history_url": f"/systems/{system_id}/history"}


@router.get("/systems/{system_id}", response_class=HTMLResponse)
def system_page(request: Request, system_id: int, session: SessionDep, rt: RuntimeDep,
                actor: PageUser) -> Response:
    """Show the case: the system, its data, the Art. 7 checklist, the 立项 form, supervision and history."""
    return render(request, "systems/detail.html", _context(session, rt, actor, system_id))


@router.get("/systems/{system_id}/history", response_class=HTMLResponse)
def system_history(request: Request, system_id: int, session: SessionDep, actor: PageUser,
                   cursor: str | None = None) -> Response:
    """Show the earlier lines of a system's 流转记录 (「更早的记录」)."""
    system = service.get_visible(session=session, system_id=system_id, actor=actor)
    lines, next_cursor = history_page(session, system, cursor)
    return earlier_lines(request, lines="_history_lines.html", case=N_("新建业务系统"), case_id=system_id,
                         part=N_("流转记录"), back_url=f"/systems/{system_id}#history",
                         context={"history": lines, "history_next_cursor": next_cursor,
                                  "history_url": f"/systems/{system_id}/history"})


def _act(request: Request, session: Session, rt: Runtime, actor: Actor, system_id: int, run: Any, flash: str,
         submitted: dict[str, Any]) -> Response:
    """Run one action; a refusal re-shows the case with the reason (and the checklist) and what was typed."""
    try:
        run()
    except DomainError as exc:
        session.rollback()
        if exc.status_code not in (409, 422):
            raise
        ctx = _context(session, rt, actor, system_id)
        ctx.update({"error": exc.to_detail(), "submitted": submitted})
        return render(request, "systems/detail.html", ctx, status=exc.status_code)
    return flash_redirect(request, f"/systems/{system_id}", flash)


@router.post("/systems/{system_id}/approval")
def record_approval(request: Request, system_id: int, session: SessionDep, rt: RuntimeDep, actor: PageUser,
                    form: FormData) -> Response:
    """Record the project approval (立项) from the form."""
    def run() -> None:
        body = _parse(flows.ApprovalBody, {k: form.get(k, "") for k in
                                           ("approval_number", "approval_date", "approving_body")})
        flows.record_approval(session, rt.runner, actor, system_id, body)
    return _act(request, session, rt, actor, system_id, run, N_("立项已登记"), form)


@router.post("/systems/{system_id}/withdraw")
def withdraw(request: Request, system_id: int, session: SessionDep, rt: RuntimeDep, actor: PageUser,
             form: FormData) -> Response:
    """Withdraw the registration with a reason."""
    def run() -> None:
        body = _parse(flows.WithdrawBody, {"reason": form.get("reason", "")})
        flows.withdraw(session, rt.runner, actor, system_id, body)
    return _act(request, session, rt, actor, system_id, run, N_("业务系统登记已撤回"), form)
