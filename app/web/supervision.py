"""Pages of the supervision queue (督查督办) for a government's supervisors."""

from __future__ import annotations

from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy import select

from app.core.clock import clock
from app.deps import RuntimeDep, SessionDep
from app.engine.models import ProcessInstance
from app.supervision import flows, service
from app.web import FormData, PageUser
from app.web.render import case_link, flash_redirect, render

router = APIRouter(include_in_schema=False)

PAGE_SIZE = 50


@router.get("/supervision", response_class=HTMLResponse)
def items(request: Request, session: SessionDep, rt: RuntimeDep, actor: PageUser, state: str = "open",
          department_code: str = "", min_overdue_days: str = "", cursor: str = "") -> Response:
    """List one page of my government's supervision items with filters; 下一页 carries the cursor."""
    min_days = int(min_overdue_days) if min_overdue_days.isdigit() and len(min_overdue_days) < 6 else None
    rows, next_cursor = service.list_items(
        session, actor, calendar=rt.calendar.get(session), now=clock.now(), department_code=department_code or None,
        min_overdue_days=min_days, state=state if state in ("open", "closed") else None, limit=PAGE_SIZE,
        cursor=cursor or None)
    filters = {k: v for k, v in (("state", state), ("department_code", department_code),
                                 ("min_overdue_days", min_overdue_days)) if v}
    # Each item links to its case's own page (the case's read rules still decide what opens there).
    refs = dict(session.execute(select(ProcessInstance.id, ProcessInstance.business_ref).where(
        ProcessInstance.id.in_({r["instance_id"] for r in rows}))).all()) if rows else {}
    for row in rows:
        row["case_link"] = case_link(refs.get(row["instance_id"]))
        # The case's number as its page names it, e.g. 共享申请 #12 (a person quotes it on the phone).
        row["case_number"] = f"{row['case_link'][1]} #{row['case_link'][0].rsplit('/', 1)[-1]}" \
            if row["case_link"] else None
    return render(request, "supervision/list.html", {
        "rows": rows, "state": state, "department_code": department_code, "min_overdue_days": min_overdue_days,
        "next_url": "/supervision?" + urlencode({**filters, "cursor": next_cursor}) if next_cursor else None,
        "first_url": ("/supervision?" + urlencode(filters)) if cursor else None})


@router.post("/supervision/{item_id}/urge")
def urge(request: Request, item_id: int, session: SessionDep, rt: RuntimeDep, actor: PageUser,
         form: FormData) -> Response:
    """Urge the owning department."""
    flows.urge(session, actor, item_id, str(form.get("note", "")), rt.settings)
    return flash_redirect(request, "/supervision", "已催办，相关部门已收到通知")


@router.post("/supervision/{item_id}/close")
def close(request: Request, item_id: int, session: SessionDep, actor: PageUser, form: FormData) -> Response:
    """Close an item with a note."""
    flows.close(session, actor, item_id, str(form.get("note", "")))
    return flash_redirect(request, "/supervision", "督办事项已办结")


@router.get("/supervision/stats", response_class=HTMLResponse)
def stats(request: Request, session: SessionDep, actor: PageUser) -> Response:
    """Per-department statistics for performance assessment."""
    return render(request, "supervision/stats.html", {"rows": service.stats(session, actor)})
