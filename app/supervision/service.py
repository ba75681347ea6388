"""Queries of the supervision queue (flush, never commit)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, case, func, select, true
from sqlmodel import Session

from app.core import keyset
from app.core.errors import Forbidden
from app.core.history_page import PAGE_SIZE, decode_cursor, page_of
from app.org.models import Department, DepartmentKind, Region
from app.org.scope import hidden
from app.org.service import Actor
from app.supervision.models import CLOSE_REASON_ZH, STATE_ZH, ItemState, SupervisionItem, decision_public
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


LIST_KEY = (str, datetime, int)  # the cursor of the queue: (state, due_at, id)
STATE_ORDER = (ItemState.open.value, ItemState.closed.value)  # open items first, as the queue shows them


def list_items(session: Session, actor: Actor, *, calendar: WorkdayCalendar, now: datetime,
               department_code: str | None = None, process_key: str | None = None,
               min_overdue_days: int | None = None, state: str | None = None,
               limit: int = 200, offset: int = 0, cursor: str | None = None
               ) -> tuple[list[dict[str, Any]], str | None]:
    """List one page of a supervisor's queue, filtered, open items first by deadline; and the next cursor.

    Each state is read from the index (office, state, due_at, id) in its order, so a page costs the same
    at any depth of the queue; `offset` is still honoured for old callers.
    """
    key = keyset.decode(cursor, LIST_KEY)
    if key is not None and key[0] not in STATE_ORDER:
        raise keyset.CursorInvalid()
    base = (select(SupervisionItem, Department).join(Department, Department.id == SupervisionItem.department_id)
            .where(scope(actor)))
    if department_code:
        base = base.where(SupervisionItem.department_id.in_(
            select(Department.id).where(Department.code == department_code).scalar_subquery()))
    if process_key:
        base = base.where(SupervisionItem.process_key == process_key)
    if min_overdue_days:
        base = base.where(SupervisionItem.overdue_working_days >= min_overdue_days)
    states = [state] if state else list(STATE_ORDER)
    if key is not None:
        states = [s for s in states if STATE_ORDER.index(s) >= STATE_ORDER.index(key[0])]
    rows: list[Any] = []
    skip = offset
    for s in states:
        want = limit + 1 - len(rows)
        if want <= 0:
            break
        stmt = base.where(SupervisionItem.state == s)
        if key is not None and s == key[0]:
            stmt = stmt.where(keyset.after((SupervisionItem.due_at, SupervisionItem.id), key[1:]))
        if skip and s != states[-1]:
            # Old offset paging: count what this state holds to skip across the states (the last state
            # takes the rest of the offset in SQL, which refuses an out-of-range number as before).
            held = int(session.execute(select(func.count()).select_from(stmt.subquery())).scalar_one())
            if held <= skip:
                skip -= held
                continue
        found = session.execute(stmt.order_by(SupervisionItem.due_at, SupervisionItem.id)
                                .limit(want).offset(skip)).all()
        skip = 0
        rows.extend(found)
    shown, next_cursor = keyset.page(rows, limit, lambda r: (r[0].state, r[0].due_at, r[0].id))
    offices = _names(session, {item.office_department_id for item, _ in shown})
    return [{**item_public(item, dept, offices.get(item.office_department_id, ""), calendar, now),
             **decision_public(item)} for item, dept in shown], next_cursor


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


CASE_ITEMS_CURSOR = "supervision_items"


def items_of_case(session: Session, instance_id: int, cursor: str | None = None, limit: int = PAGE_SIZE
                  ) -> tuple[list[SupervisionItem], str | None]:
    """Return the latest `limit` supervision items of a case (its instance) before the cursor, oldest
    first, with the cursor to the earlier ones (None when these are the first)."""
    before = decode_cursor(cursor, CASE_ITEMS_CURSOR)
    stmt = select(SupervisionItem).where(SupervisionItem.instance_id == instance_id)
    if before is not None:
        stmt = stmt.where(SupervisionItem.id < before)
    rows = session.execute(stmt.order_by(SupervisionItem.id.desc()).limit(limit + 1)).scalars().all()
    return page_of(rows, kind=CASE_ITEMS_CURSOR, limit=limit, key=lambda r: r.id)


def awaits_decision_of(session: Session, instance_id: int, office_department_id: int) -> bool:
    """Tell whether a case has a supervision item of this office without a decision yet (on any page)."""
    return session.execute(select(SupervisionItem.id).where(
        SupervisionItem.instance_id == instance_id, SupervisionItem.office_department_id == office_department_id,
        SupervisionItem.decision.is_(None)).limit(1)).first() is not None
