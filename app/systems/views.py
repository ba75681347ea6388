"""How a new business system is shown (API and pages share this)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlmodel import Session

from app.audit import service as audit
from app.catalog.models import CatalogVersion
from app.core.history_page import PAGE_SIZE
from app.engine.models import Task, TaskStatus
from app.org.models import Department, Role, User
from app.org.service import Actor
from app.supervision.models import STATE_ZH, ItemState, SupervisionItem
from app.systems import service
from app.systems.models import OPEN_STATUSES, STATUS_ZH, BusinessSystem, SystemStatus
from app.tasks.service import deadline_fields
from app.workdays.calendar import WorkdayCalendar

NO_DEADLINE = {"working_days_left": None, "overdue": False, "overdue_working_days": 0, "deadline_label": None}


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def systems_public(session: Session, systems: list[BusinessSystem], *, calendar: WorkdayCalendar,
                   now: datetime) -> list[dict[str, Any]]:
    """Return several systems as lists show them: departments and open steps read once for all."""
    open_ids = {s.instance_id for s in systems if s.status in OPEN_STATUSES and s.instance_id is not None}
    tasks: dict[int, Task] = {}
    if open_ids:
        for t in session.execute(select(Task).where(Task.instance_id.in_(open_ids),
                                                    Task.status == TaskStatus.open.value)
                                 .order_by(Task.id)).scalars():
            tasks[t.instance_id] = t
    ids = {i for s in systems for i in (s.department_id, s.authority_department_id)}
    depts = service.departments_by_id(session=session, ids=ids)
    return [system_public(session, s, None, calendar=calendar, now=now, full=False,
                          loaded=(depts, tasks.get(s.instance_id or 0))) for s in systems]


def system_public(session: Session, system: BusinessSystem, actor: Actor | None = None, *,
                  calendar: WorkdayCalendar, now: datetime, full: bool = True,
                  loaded: tuple[dict[int, Department], Task | None] | None = None) -> dict[str, Any]:
    """Return a system as the API shows it; `full` adds the catalog checklist, supervision and history."""
    if loaded is not None:
        depts, task = loaded
    else:
        depts = service.departments_by_id(session=session, ids={system.department_id,
                                                                  system.authority_department_id})
        task = service.open_task(session, system) if system.status in OPEN_STATUSES else None
    deadline = deadline_fields(task, calendar, now) if task is not None else NO_DEADLINE
    data: dict[str, Any] = {
        "id": system.id, "name": system.name, "purpose": system.purpose,
        "status": system.status, "status_label": STATUS_ZH[SystemStatus(system.status)],
        "open": system.status in OPEN_STATUSES,
        "department_code": depts[system.department_id].code,
        "department_name": depts[system.department_id].name,
        "authority_department_code": depts[system.authority_department_id].code,
        "authority_department_name": depts[system.authority_department_id].name,
        "data_items": [{"name": i.get("name"), "entry_code": i.get("entry_code")}
                       for i in system.data_items or []],
        "contact_name": system.contact_name, "contact_phone": system.contact_phone,
        "instance_id": system.instance_id, "created_at": system.created_at.isoformat(),
        "approval_number": system.approval_number,
        "approval_date": system.approval_date.isoformat() if system.approval_date else None,
        "approving_body": system.approving_body, "catalog_version_id": system.catalog_version_id,
        "approved_at": _iso(system.approved_at), "approved_by": system.approved_by,
        "withdrawn_at": _iso(system.withdrawn_at), "withdrawn_reason": system.withdrawn_reason,
        "due_at": _iso(task.due_at) if task is not None else None,
        "due_provisional": bool(task.due_provisional) if task is not None else False,
        **deadline,
        "current_step": None if task is None else {
            "task_id": task.id, "task_spec": task.task_spec, "name": task.name,
            "department_name": depts[task.department_id].name if task.department_id in depts else None,
            "due_at": _iso(task.due_at), "escalated": task.escalated_at is not None},
    }
    if not full:
        return data
    if system.status == SystemStatus.pending.value:
        check = service.catalog_check(session, system)
        checked = check.version
        data["catalog_check"] = {"passed": check.passed, "code": check.code or None,
                                 "message": check.message or None,
                                 "catalog_version_id": checked.id if checked is not None else None,
                                 "catalog_version_number": checked.number if checked is not None else None,
                                 "missing_items": check.missing, "checklist": check.checklist()}
    else:
        version = session.get(CatalogVersion, system.catalog_version_id) \
            if system.catalog_version_id else None
        data["catalog_check"] = {"passed": system.status == SystemStatus.approved.value, "code": None,
                                 "message": None, "catalog_version_id": system.catalog_version_id,
                                 "catalog_version_number": version.number if version is not None else None,
                                 "missing_items": [], "checklist": []}
    data["supervision"] = supervision_of(session, system, calendar=calendar, now=now)
    data["history"], data["history_next_cursor"] = history_page(session, system)
    if actor is not None:
        clerk = actor.department_id == system.department_id and actor.has_role(Role.clerk.value)
        data["may"] = {"approve": clerk and task is not None, "withdraw": clerk and data["open"]}
    return data


def supervision_of(session: Session, system: BusinessSystem, *, calendar: WorkdayCalendar,
                   now: datetime) -> list[dict[str, Any]]:
    """Return the supervision items the system's overdue step was escalated to."""
    if system.instance_id is None:
        return []
    rows = session.execute(select(SupervisionItem).where(SupervisionItem.instance_id == system.instance_id)
                           .order_by(SupervisionItem.id)).scalars().all()
    offices = service.departments_by_id(session=session, ids={r.office_department_id for r in rows})
    return [{"id": r.id, "state": r.state, "state_label": STATE_ZH[ItemState(r.state)],
             "office_name": offices[r.office_department_id].name
             if r.office_department_id in offices else None,
             "task_name": r.task_name, "due_at": _iso(r.due_at), "escalated_at": _iso(r.escalated_at),
             "overdue_working_days": r.overdue_working_days} for r in rows]


def history_page(session: Session, system: BusinessSystem, cursor: str | None = None,
                 limit: int = PAGE_SIZE) -> tuple[list[dict[str, Any]], str | None]:
    """Return the latest lines of a system's 流转记录 before the cursor, and the cursor to earlier ones."""
    return audit.trail_page(session, system.instance_id, "business_system", system.id or 0, cursor=cursor,
                            limit=limit)


def creator_name(session: Session, system: BusinessSystem) -> str | None:
    """Return who registered the system."""
    user = session.get(User, system.created_by_id)
    return user.display_name if user else None
