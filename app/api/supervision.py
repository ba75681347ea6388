"""The supervision queue (督查督办) of a level government, and the scheduler's jobs."""

import csv
import io
from typing import Any, Literal

from fastapi import APIRouter, Query
from fastapi.responses import Response
from pydantic import BaseModel, Field

from app.core.cells import safe_cell
from app.core.clock import clock
from app.core.errors import NotFound
from app.deps import AdminUser, CurrentUser, RuntimeDep, SessionDep
from app.scheduler.setup import JOBS, run_job
from app.supervision import flows, service
from app.supervision.models import SupervisionItem, decision_public

router = APIRouter(tags=["supervision"])


def _one(session: SessionDep, rt: RuntimeDep, item: SupervisionItem) -> dict[str, Any]:
    from app.org.models import Department

    dept = session.get(Department, item.department_id)
    office = session.get(Department, item.office_department_id)
    assert dept is not None and office is not None
    return {**service.item_public(item, dept, office.name, rt.calendar.get(session), clock.now()),
            **decision_public(item)}


@router.get("/supervision/items")
def list_items(session: SessionDep, rt: RuntimeDep, actor: CurrentUser, department_code: str | None = None,
               process_key: str | None = None, min_overdue_days: int | None = Query(None, ge=1),
               state: Literal["open", "closed"] | None = None, limit: int = Query(200, ge=1, le=1000),
               offset: int = Query(0, ge=0), cursor: str | None = None) -> dict[str, Any]:
    """List my government's supervision items, filtered by department, process, overdue days and state.

    Open items first, each state by deadline; `next_cursor` (null on the last page) gives the next page as
    `cursor`."""
    items, next_cursor = service.list_items(
        session, actor, calendar=rt.calendar.get(session), now=clock.now(), department_code=department_code,
        process_key=process_key, min_overdue_days=min_overdue_days, state=state, limit=limit, offset=offset,
        cursor=cursor)
    return {"items": items, "count": len(items), "next_cursor": next_cursor}


class NoteBody(BaseModel):
    note: str = Field(default="", max_length=1000)


@router.post("/supervision/items/{item_id}/urge")
def urge(item_id: int, body: NoteBody, session: SessionDep, rt: RuntimeDep, actor: CurrentUser) -> dict[str, Any]:
    """Urge (催办) the owning department; it is notified and the urge recorded."""
    return _one(session, rt, flows.urge(session, actor, item_id, body.note, rt.settings))


@router.post("/supervision/items/{item_id}/close")
def close(item_id: int, body: NoteBody, session: SessionDep, rt: RuntimeDep, actor: CurrentUser) -> dict[str, Any]:
    """Close (办结) an item with a note."""
    return _one(session, rt, flows.close(session, actor, item_id, body.note))


class DecisionBody(BaseModel):
    decision: str = Field(max_length=32)
    note: str = Field(default="", max_length=1000)


@router.post("/supervision/items/{item_id}/decide")
def decide(item_id: int, body: DecisionBody, session: SessionDep, rt: RuntimeDep,
           actor: CurrentUser) -> dict[str, Any]:
    """Record the supervisor's decision (督办决定: order_to_correct 责令改正 | refer_for_sanction); the department is told."""
    return _one(session, rt, flows.decide(session, actor, item_id, body.decision, body.note, rt.settings))


@router.get("/supervision/stats")
def stats(session: SessionDep, actor: CurrentUser) -> list[dict[str, Any]]:
    """Per-department statistics for performance assessment (Art. 6)."""
    return service.stats(session, actor)


STATS_HEADER = {"department_code": "部门代码", "department_name": "部门名称", "escalated": "督办事项数",
                "open": "督办中", "closed": "已办结", "task_done": "任务已办理", "urges": "催办次数",
                "avg_overdue_working_days": "平均超期工作日", "max_overdue_working_days": "最长超期工作日"}


@router.get("/supervision/stats.csv")
def stats_csv(session: SessionDep, actor: CurrentUser) -> Response:
    """Export the statistics as CSV (UTF-8 with BOM, so Excel opens the Chinese correctly)."""
    rows = service.stats(session, actor)
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=list(STATS_HEADER))
    buf.write(",".join(STATS_HEADER.values()) + "\r\n")
    # Department names and codes are typed by people: a leading = + - @ must not run in Excel (CSV injection).
    writer.writerows({k: safe_cell(v) for k, v in row.items()} for row in rows)
    return Response("\ufeff" + buf.getvalue(), media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": "attachment; filename=supervision-stats.csv"})


@router.post("/admin/jobs/{job_id}/run")
def run(job_id: str, session: SessionDep, rt: RuntimeDep, actor: AdminUser) -> dict[str, Any]:
    """Run a scheduler job now (deterministic demos and tests)."""
    if job_id not in JOBS:
        raise NotFound(f"没有名为“{job_id}”的定时任务", code="job_not_found", extra={"jobs": sorted(JOBS)})
    # Jobs open their own transactions; end this request's first (SQLite has one writer at a time).
    session.rollback()
    return {"job_id": job_id, "result": run_job(rt, job_id)}
