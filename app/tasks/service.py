"""Inbox queries over the task projection (no engine state is read)."""

from __future__ import annotations

import re
from datetime import date, datetime, time, timedelta
from typing import Any, Literal, NamedTuple

from sqlalchemy import or_, select
from sqlalchemy.orm import aliased, defer
from sqlmodel import Session

from app.core.clock import SHANGHAI, SUPPORTED_YEARS
from app.core.errors import InvalidInput
from app.core.i18n import N_, gettext
from app.desk.service import is_copied
from app.engine.forms import public_form
from app.engine.models import ProcessInstance, Task, TaskStatus
from app.org.models import Department, User
from app.org.scope import hidden, may_read_case, works_cases
from app.org.service import Actor
from app.tasks.side import count_open, not_waiting
from app.workdays.calendar import WorkdayCalendar

View = Literal["todo", "done", "initiated"]

STATUS_ZH = {"open": "待办", "completed": "已办", "cancelled": "已取消"}


Sort = Literal["due_at", "-due_at", "created_at", "-created_at"]

# Built once: an alias made per call costs its own column adaptation on every query.
_ASSIGNEE = aliased(User, name="assignee")


def inbox(*, session: Session, actor: Actor, view: View, calendar: WorkdayCalendar, now: datetime,
          process_key: str | None = None, overdue: bool | None = None, sort: Sort | None = None,
          q: str | None = None, received_from: date | None = None, received_to: date | None = None,
          initiator_id: int | None = None, department_id: int | None = None,
          limit: int = 100, offset: int = 0) -> list[dict[str, Any]]:
    """List the tasks of one inbox view for a person, with deadlines counted in working days.

    Filters: process, overdue, a keyword in the matter (subject) or step name, the days (Asia/Shanghai)
    on which the task arrived, both ends included, who started the case and the task's department.
    """
    assignee = _ASSIGNEE
    stmt = (
        select(Task, ProcessInstance, Department, assignee)
        .join(ProcessInstance, ProcessInstance.id == Task.instance_id)
        .outerjoin(Department, Department.id == Task.department_id)
        .outerjoin(assignee, assignee.id == Task.assignee_id)
        .options(defer(ProcessInstance.state))  # the serialized workflow: not shown, often large
        # A designer's trial runs are listed on the trial pages, never in anyone's inbox.
        .where(Task.trial.is_(False))
    )
    if view == "todo":
        stmt = stmt.where(
            Task.status == TaskStatus.open.value, Task.department_id == actor.department_id,
            Task.role.in_(sorted(actor.roles)),
            or_(Task.assignee_id.is_(None), Task.assignee_id == actor.id),
            not_waiting(),  # 补正/加签/委派 pending: the task waits out of the inbox (app/tasks/side.py)
        ).order_by(Task.due_at.is_(None), Task.due_at, Task.id)
    elif view == "done":
        stmt = stmt.where(Task.completed_by_id == actor.id, Task.status == TaskStatus.completed.value) \
            .order_by(Task.completed_at.desc(), Task.id.desc())
    else:
        stmt = stmt.where(ProcessInstance.started_by_id == actor.id).order_by(Task.id.desc())
    if process_key:
        stmt = stmt.where(Task.process_key == process_key)
    if initiator_id is not None:
        stmt = stmt.where(ProcessInstance.started_by_id == initiator_id)
    if department_id is not None:
        stmt = stmt.where(Task.department_id == department_id)
    if q and q.strip():
        word = q.strip()
        stmt = stmt.where(or_(ProcessInstance.subject.contains(word, autoescape=True),
                              Task.name.contains(word, autoescape=True)))
    if received_from is not None:
        stmt = stmt.where(Task.created_at >= datetime.combine(received_from, time(0), SHANGHAI))
    if received_to is not None:
        stmt = stmt.where(Task.created_at < datetime.combine(received_to + timedelta(days=1), time(0), SHANGHAI))
    if overdue is True:
        stmt = stmt.where(Task.status == TaskStatus.open.value, Task.due_at < now, Task.paused_at.is_(None))
    elif overdue is False:
        stmt = stmt.where(or_(Task.due_at.is_(None), Task.due_at >= now, Task.paused_at.is_not(None),
                              Task.status != TaskStatus.open.value))
    if sort:
        column = Task.due_at if sort.endswith("due_at") else Task.created_at
        order = column.desc() if sort.startswith("-") else column.asc()
        stmt = stmt.order_by(None).order_by(column.is_(None), order, Task.id)
    rows = session.execute(stmt.limit(limit).offset(offset)).all()
    return [task_public(t, i, d, u, calendar=calendar, now=now) for t, i, d, u in rows]


def check_received_range(received_from: date | None, received_to: date | None) -> None:
    """Refuse a received-date range that ends before it starts, or lies outside the calendar's years."""
    for day, field in ((received_from, "到达日期起"), (received_to, "到达日期止")):
        if day is not None and day.year not in SUPPORTED_YEARS:
            raise InvalidInput(f"{field}必须在 {SUPPORTED_YEARS[0]}–{SUPPORTED_YEARS[-1]} 年之间",
                               code="time_out_of_range")
    if received_from and received_to and received_to < received_from:
        raise InvalidInput("到达日期止不能早于到达日期起", code="received_range_invalid")


def count_todo(*, session: Session, actor: Actor) -> int:
    """Count the tasks a person may work now."""
    from sqlalchemy import func

    return int(session.execute(
        select(func.count()).select_from(Task).where(
            Task.status == TaskStatus.open.value, Task.trial.is_(False), Task.department_id == actor.department_id,
            Task.role.in_(sorted(actor.roles)),
            or_(Task.assignee_id.is_(None), Task.assignee_id == actor.id), not_waiting())
    ).scalar_one()) + count_open(session, actor)


def count_done(*, session: Session, actor: Actor) -> int:
    """Count the tasks a person completed (已办)."""
    from sqlalchemy import func

    return int(session.execute(select(func.count()).select_from(Task).where(
        Task.completed_by_id == actor.id, Task.status == TaskStatus.completed.value, Task.trial.is_(False))
    ).scalar_one())


def count_initiated(*, session: Session, actor: Actor) -> int:
    """Count the rows of 我发起的 (the tasks of the cases a person started)."""
    from sqlalchemy import func

    return int(session.execute(select(func.count()).select_from(Task)
                               .join(ProcessInstance, ProcessInstance.id == Task.instance_id).where(
        ProcessInstance.started_by_id == actor.id, Task.trial.is_(False))).scalar_one())


def instance_departments(*, session: Session, instance: ProcessInstance) -> set[int | None]:
    """Return the departments an instance concerns: the one that started it and those its tasks went to."""
    tasks = session.execute(select(Task.department_id).where(Task.instance_id == instance.id)).scalars().all()
    return {instance.department_id, *tasks}


def may_read_instance(*, session: Session, instance: ProcessInstance, actor: Actor,
                      known_departments: tuple[int | None, ...] = ()) -> bool:
    """Tell whether a person may read an instance: a case by its departments' lines (app.org.scope);
    a trial run by designers, its starter and admins only (it is nobody's case and no staff's work);
    an instance with no business object otherwise (started by code) by its starter, the staff its tasks
    went to and admins."""
    if instance.trial:
        return actor.has_role("designer", "admin") or instance.started_by_id == actor.id
    # Every rule below only grows with the departments: when those already known (the starting one,
    # and a task's the caller holds) let the person read, the others need not be read.
    known = {instance.department_id, *known_departments}
    if actor.has_role("admin") or (works_cases(actor) and actor.department_id is not None
                                   and actor.department_id in known):
        return True
    departments = instance_departments(session=session, instance=instance)
    if instance.business_ref is None:
        seen = (actor.has_role("admin") or instance.started_by_id == actor.id
                or (works_cases(actor) and actor.department_id in departments))
    else:
        seen = may_read_case(session=session, actor=actor, parties=departments)
    # A person the case was copied to (抄送) reads that case, and nothing more.
    return seen or is_copied(session=session, instance_id=instance.id or 0, user_id=actor.id)


def get_visible_instance(*, session: Session, instance_id: int, actor: Actor) -> ProcessInstance:
    """Return an instance the person may read, or 404 alike for a missing or hidden one."""
    instance = session.get(ProcessInstance, instance_id)
    if instance is None or not may_read_instance(session=session, instance=instance, actor=actor):
        raise hidden("流程实例不存在", code="instance_not_found")
    return instance


def get_visible(*, session: Session, task_id: int, actor: Actor) -> tuple[Task, ProcessInstance]:
    """Return a task the person may see (whoever may read its instance), or 404 alike for a missing or hidden one."""
    task = session.get(Task, task_id)
    instance = session.get(ProcessInstance, task.instance_id) if task is not None else None
    if task is None or instance is None or not may_read_instance(session=session, instance=instance, actor=actor,
                                                                 known_departments=(task.department_id,)):
        raise hidden("任务不存在", code="task_not_found")
    return task, instance


# The wordings of deadline_fields' label, for the reader's language (the `deadline` filter of the pages).
_DEADLINE_WORDS = (
    (re.compile(r"已挂起（期限暂停计算）"), N_("已挂起（期限暂停计算）")),
    (re.compile(r"超期(?P<n>\d+)个工作日办结"), N_("超期{n}个工作日办结")),
    (re.compile(r"按期办结"), N_("按期办结")),
    (re.compile(r"已超期(?P<n>\d+)个工作日"), N_("已超期{n}个工作日")),
    (re.compile(r"今日到期"), N_("今日到期")),
    (re.compile(r"剩余(?P<n>\d+)个工作日"), N_("剩余{n}个工作日")),
)


def deadline_text(label: str | None) -> str:
    """Return a deadline label of deadline_fields (Chinese, as the API gives it) in the page's language."""
    if not label:
        return label or ""
    core, provisional = (label[:-len("（暂定）")], True) if label.endswith("（暂定）") else (label, False)
    for pattern, words in _DEADLINE_WORDS:
        if match := pattern.fullmatch(core):
            text = gettext(words).format(**match.groupdict())
            return text + gettext("（暂定）") if provisional else text
    return label


def deadline_fields(task: Task, calendar: WorkdayCalendar, now: datetime) -> dict[str, Any]:
    """Return the working days left or overdue of a task, as users read them (剩余/已超期N个工作日).

    "Left" counts the working days after today up to the due date: a request received today with a
    5-working-day limit shows 剩余5个工作日, the last day shows 今日到期.
    """
    if task.due_at is None:
        return {"working_days_left": None, "overdue": False, "overdue_working_days": 0, "deadline_label": None}
    open_ = task.status == TaskStatus.open.value
    end = now if open_ else (task.completed_at or now)
    signed = calendar.working_days_left(task.due_at, end)  # < 0: overdue by that many working days
    overdue = signed < 0 and task.paused_at is None
    left = calendar.working_days_between(end, task.due_at) if signed >= 0 else signed
    if task.paused_at is not None:
        label = "已挂起（期限暂停计算）"
    elif not open_:
        label = f"超期{-signed}个工作日办结" if signed < 0 else "按期办结"
    elif overdue:
        label = f"已超期{-signed}个工作日"
    elif left == 0:
        label = "今日到期"
    else:
        label = f"剩余{left}个工作日"
    if task.due_provisional:
        label += "（暂定）"
    return {"working_days_left": left if open_ else None, "overdue": overdue and open_,
            "overdue_working_days": max(0, -signed), "deadline_label": label}


class _DepartmentName(NamedTuple):
    code: str
    name: str


class _UserName(NamedTuple):
    username: str
    display_name: str


def task_public(task: Task, instance: ProcessInstance, department: Department | _DepartmentName | None,
                assignee: User | _UserName | None, *, calendar: WorkdayCalendar, now: datetime) -> dict[str, Any]:
    """Return a task as the API lists it."""
    return {
        "id": task.id, "name": task.name, "process_key": task.process_key, "instance_id": task.instance_id,
        "subject": instance.subject, "task_spec": task.task_spec,
        "department_code": department.code if department else None,
        "department_name": department.name if department else None,
        "role": task.role, "assignee": assignee.username if assignee else None,
        "assignee_name": assignee.display_name if assignee else None,
        "status": task.status, "created_at": _iso(task.created_at), "due_at": _iso(task.due_at),
        "due_provisional": task.due_provisional, "completed_at": _iso(task.completed_at),
        "due_rule": task.due_rule, "due_from": task.due_from.isoformat() if task.due_from else None,
        "paused": task.paused_at is not None,
        "paused_at": _iso(task.paused_at), "pause_reason": task.pause_reason,
        "escalated": task.escalated_at is not None,
        **deadline_fields(task, calendar, now),
        "form": public_form(task.form), "data": task.data,
    }


def load_public(*, session: Session, task: Task, instance: ProcessInstance, calendar: WorkdayCalendar,
                now: datetime, actor: Actor | None = None) -> dict[str, Any]:
    """Return one task with its department and assignee resolved.

    Given the acting person, their own department and name are taken from them rather than read
    (after the commit of the task's work, a read would open a second transaction).
    """
    dept: Department | _DepartmentName | None = None
    user: User | _UserName | None = None
    if task.department_id:
        if actor is not None and task.department_id == actor.department_id:
            dept = _DepartmentName(actor.department_code, actor.department_name)
        else:
            dept = session.get(Department, task.department_id)
    if task.assignee_id:
        if actor is not None and task.assignee_id == actor.id:
            user = _UserName(actor.username, actor.display_name)
        else:
            user = session.get(User, task.assignee_id)
    return task_public(task, instance, dept, user, calendar=calendar, now=now)


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None
