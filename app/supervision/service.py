"""Queries of the supervision queue (flush, never commit)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, case, func, select, true
from sqlmodel import Session

from app.core.errors import Forbidden
from app.org.models import Department, DepartmentKind, Region
from app.org.scope import hidden
from app.org.service import Actor
from app.supervision.models import CLOSE_REASON_ZH, STATE_ZH, ItemState, SupervisionItem
from app.workdays.calendar import WorkdayCalendar


def office_of(session: Session, department_id: int, cache: dict[int, tuple[int, str] | None] | None = None
              ) -> tuple[int, str] | None:
    """Return (government office id, level) for a department: its own region's office, else the nearest above."""
    if cache is not None and department_id in cache:
        return cache[department_id]
    dept = session.get(Department, department_id)
    found: tuple[int, str] | None = None
    region_code = dept.region_code if dept else None
    for _ in range(6):
        if region_code is None:
            break
        region = session.get(Region, region_code)
        if region is None:
            break
        office_id = session.execute(
            select(Department.id).where(Department.region_code == region_code,
                                        Department.kind == DepartmentKind.government_office.value,
                                        Department.is_active.is_(True)).order_by(Department.id).limit(1)
        ).scalar_one_or_none()
        if office_id is not None:
            found = (office_id, region.level)
            break
        region_code = region.parent_code
    if cache is not None:
        cache[department_id] = found
    return found


def scope(actor: Actor) -> ColumnElement[bool]:
    """Return the condition on items a person may see: a supervisor their office's, an admin all."""
    if actor.has_role("admin"):
        return true()
    if actor.has_role("supervisor"):
        return SupervisionItem.office_department_id == actor.department_id
    raise Forbidden("只有督查员可以查看督办事项", code="supervisor_required")


def list_items(session: Session, actor: Actor, *, calendar: WorkdayCalendar, now: datetime,
               department_code: str | None = None, process_key: str | None = None,
               min_overdue_days: int | None = None, state: str | None = None,
               limit: int = 200, offset: int = 0) -> list[dict[str, Any]]:
    """List the items of a supervisor's government, filtered; overdue days counted up to now (or done)."""
    stmt = (select(SupervisionItem, Department).join(Department, Department.id == SupervisionItem.department_id)
            .where(scope(actor)))
    if department_code:
        stmt = stmt.where(Department.code == department_code)
    if process_key:
        stmt = stmt.where(SupervisionItem.process_key == process_key)
    if state:
        stmt = stmt.where(SupervisionItem.state == state)
    if min_overdue_days:
        stmt = stmt.where(SupervisionItem.overdue_working_days >= min_overdue_days)
    rows = session.execute(stmt.order_by(SupervisionItem.state.desc(), SupervisionItem.due_at,
                                         SupervisionItem.id).limit(limit).offset(offset)).all()
    offices = _names(session, {item.office_department_id for item, _ in rows})
    return [item_public(item, dept, offices.get(item.office_department_id, ""), calendar, now) for item, dept in rows]


def get_visible(session: Session, actor: Actor, item_id: int) -> SupervisionItem:
    """Return one item the person may act on: their supervision office's (an admin: any), else 404 alike."""
    item = session.get(SupervisionItem, item_id)
    if item is None or not (actor.has_role("admin") or (
            actor.has_role("supervisor") and item.office_department_id == actor.department_id)):
        raise hidden("督办事项不存在", code="supervision_item_not_found")
    return item


def item_public(item: SupervisionItem, dept: Department, office_name: str, calendar: WorkdayCalendar,
                now: datetime) -> dict[str, Any]:
    """Return an item as the API and pages show it."""
    end = item.task_done_at or now
    overdue_now = max(item.overdue_working_days, -calendar.working_days_left(item.due_at, end))
    return {
        "id": item.id, "task_id": item.task_id, "instance_id": item.instance_id,
        "process_key": item.process_key, "task_name": item.task_name, "subject": item.subject,
        "department_code": dept.code, "department_name": dept.name,
        "government_office": office_name, "office_department_id": item.office_department_id,
        "level": item.level, "due_at": item.due_at.isoformat(), "escalated_at": item.escalated_at.isoformat(),
        "overdue_working_days_at_escalation": item.overdue_working_days,
        "overdue_working_days": overdue_now,
        "state": item.state, "state_label": STATE_ZH[ItemState(item.state)],
        "urge_count": item.urge_count,
        "last_urged_at": item.last_urged_at.isoformat() if item.last_urged_at else None,
        "task_done_at": item.task_done_at.isoformat() if item.task_done_at else None,
        "closed_at": item.closed_at.isoformat() if item.closed_at else None, "closed_by": item.closed_by,
        "close_reason": item.close_reason, "close_reason_label": CLOSE_REASON_ZH.get(item.close_reason or ""),
        "close_note": item.close_note,
    }


def stats(session: Session, actor: Actor) -> list[dict[str, Any]]:
    """Count per department, for performance assessment (Art. 6): escalated, open, closed, urged, overdue days."""
    item = SupervisionItem
    stmt = (
        select(Department.code, Department.name, func.count(item.id),
               func.sum(case((item.state == ItemState.open.value, 1), else_=0)),
               func.sum(case((item.task_done_at.is_not(None), 1), else_=0)),
               func.sum(item.urge_count), func.avg(item.overdue_working_days),
               func.max(item.overdue_working_days))
        .join(item, item.department_id == Department.id)
        .where(scope(actor))
        .group_by(Department.code, Department.name).order_by(func.count(item.id).desc(), Department.code)
    )
    return [{"department_code": code, "department_name": name, "escalated": int(total),
             "open": int(open_ or 0), "closed": int(total) - int(open_ or 0), "task_done": int(done or 0),
             "urges": int(urges or 0), "avg_overdue_working_days": round(float(avg or 0), 1),
             "max_overdue_working_days": int(mx or 0)}
            for code, name, total, open_, done, urges, avg, mx in session.execute(stmt).all()]


def _names(session: Session, ids: set[int]) -> dict[int, str]:
    if not ids:
        return {}
    return dict(session.execute(select(Department.id, Department.name).where(Department.id.in_(ids))).all())
