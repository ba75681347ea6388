"""Inbox queries over the task projection (no engine state is read)."""

from __future__ import annotations

import re
from datetime import date, datetime, time, timedelta
from typing import Any, Literal, NamedTuple

from sqlalchemy import ColumnElement, Select, Text, and_, bindparam, cast, false, literal_column, null, or_, select, tuple_
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
from app.tasks import paging
from app.tasks.side import not_waiting
from app.tasks.side import open_query as side_open_query
from app.workdays.calendar import WorkdayCalendar

View = Literal["todo", "done", "initiated"]

STATUS_ZH = {"open": "待办", "completed": "已办", "cancelled": "已取消"}


Sort = Literal["due_at", "-due_at", "created_at", "-created_at"]

# Built once: an alias made per call costs its own column adaptation on every query.
_ASSIGNEE = aliased(User, name="assignee")

# Written as literals, not bound parameters, so that SQLite sees the partial indexes' predicates
# (ix_task_todo_*, ix_task_done: app/tasks/models.py) in the query and may use them.
_OPEN = Task.status == literal_column("'open'")
_COMPLETED = Task.status == literal_column("'completed'")
_NOT_TRIAL = Task.trial == false()


class _Order(NamedTuple):
    """How a list is sorted: by one column (rows without a value last), then by id in the same direction."""

    column: Any
    desc: bool
    kind: type  # of the column's values: datetime or int (the cursor's value)
    nullable: bool = True


def _order(view: str, sort: Sort | None) -> _Order:
    if sort:
        due = sort.endswith("due_at")
        return _Order(Task.due_at if due else Task.created_at, sort.startswith("-"), datetime, nullable=due)
    if view == "done":
        return _Order(Task.completed_at, True, datetime)
    if view == "initiated":
        # Cases newest first, each case's tasks newest first: served by the initiator's cases in id order.
        return _Order(Task.instance_id, True, int, nullable=False)
    return _Order(Task.due_at, False, datetime)  # todo and deputy: deadline order


class Page(NamedTuple):
    """One page of a task list and the cursor of the next one (None on the last page)."""

    items: list[dict[str, Any]]
    next_cursor: str | None


def _audiences(view: str, actor: Actor) -> list[list[ColumnElement[bool]]]:
    """The WHERE of a view, one per index range it reads: 待办 reads one range per role (merged in order)."""
    if view in ("todo", "deputy"):
        return [[_OPEN, _NOT_TRIAL, Task.department_id == actor.department_id, Task.role == role,
                 or_(Task.assignee_id.is_(None), Task.assignee_id == actor.id),
                 not_waiting()]  # 补正/加签/委派 pending: the task waits out of the inbox (app/tasks/side.py)
                for role in sorted(actor.roles)]
    if view == "done":
        return [[Task.completed_by_id == actor.id, _COMPLETED, _NOT_TRIAL]]
    return [[Task.initiator_id == actor.id, _NOT_TRIAL]]


def _filters(*, now: datetime, process_key: str | None, overdue: bool | None, q: str | None,
             received_from: date | None, received_to: date | None, initiator_id: int | None,
             department_id: int | None) -> list[ColumnElement[bool]]:
    out: list[ColumnElement[bool]] = []
    if process_key:
        out.append(Task.process_key == process_key)
    if initiator_id is not None:
        out.append(Task.initiator_id == initiator_id)
    if department_id is not None:
        out.append(Task.department_id == department_id)
    if q and q.strip():
        word = q.strip()
        out.append(or_(ProcessInstance.subject.contains(word, autoescape=True),
                       Task.name.contains(word, autoescape=True)))
    if received_from is not None:
        out.append(Task.created_at >= datetime.combine(received_from, time(0), SHANGHAI))
    if received_to is not None:
        out.append(Task.created_at < datetime.combine(received_to + timedelta(days=1), time(0), SHANGHAI))
    if overdue is True:
        out.append(and_(Task.status == TaskStatus.open.value, Task.due_at < now, Task.paused_at.is_(None)))
    elif overdue is False:
        out.append(or_(Task.due_at.is_(None), Task.due_at >= now, Task.paused_at.is_not(None),
                       Task.status != TaskStatus.open.value))
    return out


def _needs_instance(q: str | None) -> bool:
    # Only the keyword reads the case (its subject); who started it is on the task (initiator_id).
    return bool(q and q.strip())


def _page_keys(session: Session, wheres: list[list[ColumnElement[bool]]], join_instance: bool, order: _Order,
               cursor: paging.Cursor | None, want: int) -> list[paging.Cursor]:
    """Return the sort keys of the next `want` rows after the cursor, reading about `want` index entries per range.

    The rows with a sort value come first (branch 0, in the column's order), then those without one
    (branch 1, in id order): two plain index ranges instead of an expression sort no index serves.
    """
    col, desc = order.column, order.desc
    out: list[paging.Cursor] = []
    branches = (0, 1) if order.nullable else (0,)
    for branch in (branches if cursor is None or cursor.branch == 0 else (1,)):
        found: list[paging.Cursor] = []
        for where in wheres:
            stmt = select(col, Task.id).select_from(Task)
            if join_instance:
                stmt = stmt.join(ProcessInstance, ProcessInstance.id == Task.instance_id)
            stmt = stmt.where(*where)
            if branch == 0:
                stmt = stmt.where(col.is_not(None)) if order.nullable else stmt
                if cursor is not None:
                    key, bound = tuple_(col, Task.id), tuple_(bindparam(None, cursor.value, type_=col.type),
                                                              bindparam(None, cursor.id, type_=Task.id.type))
                    stmt = stmt.where(key < bound if desc else key > bound)
                ordering = (col.desc(), Task.id.desc()) if desc else (col.asc(), Task.id.asc())
            else:
                stmt = stmt.where(col.is_(None))
                if cursor is not None and cursor.branch == 1:
                    stmt = stmt.where(Task.id < cursor.id if desc else Task.id > cursor.id)
                ordering = (Task.id.desc(),) if desc else (Task.id.asc(),)
            found += [paging.Cursor(branch, v, i) for v, i in
                      session.execute(stmt.order_by(*ordering).limit(want - len(out))).all()]
        found.sort(key=lambda c: (c.value, c.id) if branch == 0 else c.id, reverse=desc)
        out += found[:want - len(out)]
        if len(out) >= want:
            break
    return out


def _load_rows(session: Session, ids: list[int], calendar: WorkdayCalendar, now: datetime, form_text: bool = False
               ) -> dict[int, dict[str, Any]]:
    """Return the list items of some tasks by id: the columns a list shows, never the form or data JSON.

    With `form_text`, each item also holds its form as the stored JSON text (`form_json`, not parsed here):
    the inbox page decides from it which rows may be batch-completed.
    """
    if not ids:
        return {}
    assignee = _ASSIGNEE
    rows = session.execute(
        select(Task, ProcessInstance.subject, Department.code, Department.name, assignee.username,
               assignee.display_name, cast(Task.form, Text) if form_text else null())
        .join(ProcessInstance, ProcessInstance.id == Task.instance_id)
        .outerjoin(Department, Department.id == Task.department_id)
        .outerjoin(assignee, assignee.id == Task.assignee_id)
        .options(defer(Task.form), defer(Task.data))
        .where(Task.id.in_(ids))).all()
    out = {}
    for t, subject, code, name, user, display, form in rows:
        out[t.id] = task_public(t, subject, _DepartmentName(code, name) if code is not None else None,
                                _UserName(user, display) if user is not None else None,
                                calendar=calendar, now=now, full=False)
        if form_text:
            out[t.id]["form_json"] = form
    return out


def inbox(*, session: Session, actor: Actor, view: View, calendar: WorkdayCalendar, now: datetime,
          process_key: str | None = None, overdue: bool | None = None, sort: Sort | None = None,
          q: str | None = None, received_from: date | None = None, received_to: date | None = None,
          initiator_id: int | None = None, department_id: int | None = None,
          limit: int = 100, offset: int = 0, cursor: str | None = None, form_text: bool = False) -> Page:
    """List one page of an inbox view for a person, with deadlines counted in working days.

    Filters: process, overdue, a keyword in the matter (subject) or step name, the days (Asia/Shanghai)
    on which the task arrived, both ends included, who started the case and the task's department.
    Pages follow `cursor` (the previous page's next_cursor); `offset` is still honoured for old clients.
    `form_text`: each item also carries its form's stored JSON text (`form_json`), for the page's batch.
    """
    return _list(session=session, audiences=[(actor, None)], view=view, calendar=calendar, now=now,
                 sort=sort, limit=limit, offset=offset, cursor=cursor, form_text=form_text,
                 filters=_filters(now=now, process_key=process_key, overdue=overdue, q=q,
                                  received_from=received_from, received_to=received_to,
                                  initiator_id=initiator_id, department_id=department_id),
                 join_instance=_needs_instance(q))


def deputy_inbox(*, session: Session, principals: list[tuple[Actor, str]], calendar: WorkdayCalendar,
                 now: datetime, limit: int = 100, cursor: str | None = None) -> Page:
    """List one page of the tasks a deputy may work for their principals (代理), in deadline order.

    Each item names whose task it is (`on_behalf_of_name`).
    """
    return _list(session=session, audiences=principals, view="deputy", calendar=calendar, now=now, sort=None,
                 limit=limit, offset=0, cursor=cursor, filters=[], join_instance=False)


def _list(*, session: Session, audiences: list[tuple[Actor, str | None]], view: str, calendar: WorkdayCalendar,
          now: datetime, sort: Sort | None, limit: int, offset: int, cursor: str | None,
          filters: list[ColumnElement[bool]], join_instance: bool, form_text: bool = False) -> Page:
    order = _order(view, sort)
    list_name = f"{view}:{sort or ''}"
    after = paging.decode(list_name, cursor, value_kind=order.kind)
    if after is not None and after.branch == 1 and not order.nullable:
        raise paging.invalid()
    wheres: list[list[ColumnElement[bool]]] = []
    owner_of: list[str | None] = []
    for actor, name in audiences:
        for where in _audiences(view, actor):
            wheres.append([*where, *filters])
            owner_of.append(name)
    if not wheres:
        return Page([], None)
    # An offset (old clients) skips rows first: it costs what it skips, as it always did.
    keys = _page_keys(session, wheres, join_instance, order, after, offset + limit + 1)[offset:]
    more = len(keys) > limit
    keys = keys[:limit]
    rows = _load_rows(session, [k.id for k in keys], calendar, now, form_text)
    items = [rows[k.id] for k in keys if k.id in rows]
    if len(audiences) > 1 or audiences[0][1] is not None:
        _name_principals(session, items, audiences)
    return Page(items, paging.encode(list_name, keys[-1]) if more and keys else None)


def _name_principals(session: Session, items: list[dict[str, Any]], audiences: list[tuple[Actor, str | None]]
                     ) -> None:
    # A task belongs to the principal whose department, role and (if claimed) person it matches.
    for item in items:
        item["on_behalf_of_name"] = next(
            (name for actor, name in audiences
             if item["department_code"] == actor.department_code and item["role"] in actor.roles
             and item["assignee"] in (None, actor.username)), None)


def check_received_range(received_from: date | None, received_to: date | None) -> None:
    """Refuse a received-date range that ends before it starts, or lies outside the calendar's years."""
    for day, field in ((received_from, "到达日期起"), (received_to, "到达日期止")):
        if day is not None and day.year not in SUPPORTED_YEARS:
            raise InvalidInput(f"{field}必须在 {SUPPORTED_YEARS[0]}–{SUPPORTED_YEARS[-1]} 年之间",
                               code="time_out_of_range")
    if received_from and received_to and received_to < received_from:
        raise InvalidInput("到达日期止不能早于到达日期起", code="received_range_invalid")


def todo_queries(actor: Actor) -> list[Select[Any]]:
    """Return what 待办 counts: the open tasks a person may work now (if they hold a role), then their side
    tasks (always the last query)."""
    queries = [side_open_query(actor)]
    if actor.roles:
        queries.insert(0, select(Task.id).where(
            _OPEN, _NOT_TRIAL, Task.department_id == actor.department_id, Task.role.in_(sorted(actor.roles)),
            or_(Task.assignee_id.is_(None), Task.assignee_id == actor.id), not_waiting()))
    return queries


def todo_total(counts: list[int]) -> int:
    """Return the 待办 badge from the capped counts of todo_queries, up to paging.COUNT_CAP."""
    return min(paging.COUNT_CAP, sum(counts))


def count_todo(*, session: Session, actor: Actor) -> int:
    """Count the tasks a person may work now, side tasks included, up to paging.COUNT_CAP (100: "99+")."""
    return todo_total(paging.capped_counts(session, *todo_queries(actor)))


def done_query(actor: Actor) -> Select[Any]:
    """Return the ids of the tasks a person completed (已办)."""
    return select(Task.id).where(Task.completed_by_id == actor.id, _COMPLETED, _NOT_TRIAL)


def initiated_query(actor: Actor) -> Select[Any]:
    """Return the ids of the rows of 我发起的 (the tasks of the cases a person started)."""
    return select(Task.id).where(Task.initiator_id == actor.id, _NOT_TRIAL)


def count_done(*, session: Session, actor: Actor) -> int:
    """Count the tasks a person completed (已办), up to paging.COUNT_CAP."""
    return paging.capped_count(session, done_query(actor))


def count_initiated(*, session: Session, actor: Actor) -> int:
    """Count the rows of 我发起的 (the tasks of the cases a person started), up to paging.COUNT_CAP."""
    return paging.capped_count(session, initiated_query(actor))


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


def task_public(task: Task, subject: str | None, department: Department | _DepartmentName | None,
                assignee: User | _UserName | None, *, calendar: WorkdayCalendar, now: datetime,
                full: bool = True) -> dict[str, Any]:
    """Return a task as the API shows it: in full (its form and data) alone, without them in lists."""
    item = {
        "id": task.id, "name": task.name, "process_key": task.process_key, "instance_id": task.instance_id,
        "subject": subject, "task_spec": task.task_spec,
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
    }
    if full:
        item.update(form=public_form(task.form), data=task.data)
    return item


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
    return task_public(task, instance.subject, dept, user, calendar=calendar, now=now)


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None
