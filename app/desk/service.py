"""Queries of the approval desk: copies, urges, phrases, saved filters, comments, people, the approval sheet."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any
from urllib.parse import parse_qsl, urlencode

from sqlalchemy import Select, false, literal_column, or_, select, union
from sqlmodel import Session

from app.core.clock import SHANGHAI
from app.tasks.paging import Cursor, capped_count, decode, encode
from app.desk.models import CaseCopy, Phrase, SavedFilter, TaskComment
from app.engine.models import ProcessDefinition, ProcessInstance, Task, TaskStatus
from app.org.models import Department, User
from app.org.service import Actor
from app.workdays.calendar import WorkdayCalendar

DEFAULT_PHRASES = ("同意。", "拟同意，请领导审批。", "材料不全，请补正。")

# Form fields a batch fills: a field may say so with the extension property `batch`
# ("decision" or "opinion"); without it, the form's only single-choice enum is the decision and a
# string field named opinion/comment is the opinion. Any other required field makes the task unfit.
OPINION_IDS = ("opinion", "comment", "remark")

# Query keys a saved filter may hold (the inbox's own filters, nothing else).
FILTER_KEYS = ("view", "process_key", "q", "received_from", "received_to", "overdue", "sort", "initiator_id",
               "department_id", "read")


def is_copied(*, session: Session, instance_id: int, user_id: int) -> bool:
    """Tell whether a case was copied to a person (who may then read it)."""
    return session.execute(select(CaseCopy.id).where(CaseCopy.instance_id == instance_id,
                                                     CaseCopy.user_id == user_id)).first() is not None


def unread_copies_query(actor: Actor) -> Select[Any]:
    """Return the ids of the copies a person has not read (what count_unread_copies counts)."""
    return select(CaseCopy.id).where(CaseCopy.user_id == actor.id, CaseCopy.read_at.is_(None))


def count_unread_copies(*, session: Session, actor: Actor) -> int:
    """Count the copies a person has not read (待阅), up to COUNT_CAP (100: shown as "99+")."""
    return capped_count(session, unread_copies_query(actor))


def copies_for(*, session: Session, actor: Actor, read: bool | None = None, limit: int = 100,
               offset: int = 0, cursor: str | None = None) -> tuple[list[dict[str, Any]], str | None]:
    """List one page of the cases copied to a person, newest first, and the next page's cursor.

    `read` keeps only 已阅 (True) or 待阅 (False).
    """
    after = decode(f"cc:{read}", cursor, value_kind=int)
    sender = User.__table__.alias("sender")
    stmt = (select(CaseCopy, ProcessInstance.subject, ProcessInstance.process_key, ProcessInstance.status,
                   sender.c.display_name, Task.name)
            .join(ProcessInstance, ProcessInstance.id == CaseCopy.instance_id)
            .outerjoin(sender, sender.c.id == CaseCopy.sent_by_id)
            .outerjoin(Task, Task.id == CaseCopy.task_id)
            .where(CaseCopy.user_id == actor.id))
    if read is True:
        stmt = stmt.where(CaseCopy.read_at.is_not(None))
    elif read is False:
        stmt = stmt.where(CaseCopy.read_at.is_(None))
    if after is not None:
        stmt = stmt.where(CaseCopy.id < after.id)
    rows = session.execute(stmt.order_by(CaseCopy.id.desc()).limit(limit + 1).offset(offset)).all()
    more, rows = len(rows) > limit, rows[:limit]
    links = case_links(session=session, instance_ids={copy.instance_id for copy, *_ in rows})
    out = []
    for copy, subject, process_key, status, sender_name, step in rows:
        out.append({"id": copy.id, "instance_id": copy.instance_id, "subject": subject, "process_key": process_key,
                    "instance_status": status, "sent_by_name": sender_name or (f"{step}环节自动抄送" if step else "系统"),
                    "note": copy.note, "created_at": copy.created_at.isoformat(),
                    "read": copy.read_at is not None, "read_at": copy.read_at.isoformat() if copy.read_at else None,
                    "link": links[copy.instance_id]})
    next_cursor = encode(f"cc:{read}", Cursor(0, rows[-1][0].id, rows[-1][0].id)) if more and rows else None
    return out, next_cursor


def case_link(*, session: Session, instance_id: int) -> str:
    """Return the page of a case: its open task (else its latest task), or its approval sheet."""
    return case_links(session=session, instance_ids={instance_id})[instance_id]


def case_links(*, session: Session, instance_ids: set[int]) -> dict[int, str]:
    """Return the page of each case (see case_link), in one query for a whole list."""
    best: dict[int, tuple[bool, int]] = {}
    if instance_ids:
        for instance_id, task_id, status in session.execute(
                select(Task.instance_id, Task.id, Task.status).where(Task.instance_id.in_(instance_ids))):
            rank = (status == TaskStatus.open.value, task_id)
            if instance_id not in best or rank > best[instance_id]:
                best[instance_id] = rank
    return {i: f"/tasks/{best[i][1]}" if i in best else f"/instances/{i}/print" for i in instance_ids}


def copy_recipients(*, session: Session, instance_id: int) -> list[dict[str, Any]]:
    """List who a case was copied to and whether they read it."""
    rows = session.execute(select(CaseCopy, User.display_name).join(User, User.id == CaseCopy.user_id)
                           .where(CaseCopy.instance_id == instance_id).order_by(CaseCopy.id)).all()
    return [{"name": name, "read": c.read_at is not None, "read_at": c.read_at.isoformat() if c.read_at else None}
            for c, name in rows]


def people(*, session: Session) -> list[dict[str, Any]]:
    """List active people grouped by department (for the pickers), departments by code, people by name."""
    rows = session.execute(select(User.id, User.display_name, Department.id, Department.name)
                           .join(Department, Department.id == User.department_id)
                           .where(User.is_active.is_(True))
                           .order_by(Department.code, User.display_name)).all()
    groups: dict[int, dict[str, Any]] = {}
    for uid, name, dept_id, dept_name in rows:
        groups.setdefault(dept_id, {"department_id": dept_id, "department_name": dept_name, "people": []})
        groups[dept_id]["people"].append({"id": uid, "name": name})
    return list(groups.values())


def departments(*, session: Session) -> list[tuple[int, str]]:
    """List (id, name) of every department, by code."""
    return [(i, n) for i, n in session.execute(select(Department.id, Department.name).order_by(Department.code))]


# How many of the latest open tasks of the department and of a person's completed tasks the initiator picker
# reads: a picker of thousands of names helps nobody, and reading every task of a department at each page
# view cost a second at a million tasks.
PICKER_SCAN = 500


def initiators(*, session: Session, actor: Actor, selected: int | None = None) -> list[tuple[int, str]]:
    """List (id, name) of the people who started the cases in a person's 待办 and 已办 (the initiator picker).

    It reads at most PICKER_SCAN open tasks of the department (deadline order) and the person's PICKER_SCAN
    latest completed ones; the person selected now is always offered.
    """
    open_ = Task.status == literal_column("'open'")
    # One statement: the two scans as subqueries, so their ids never travel to Python and back as parameters.
    latest_open = (select(Task.instance_id).where(open_, Task.trial == false(), Task.department_id == actor.department_id)
                   .limit(PICKER_SCAN).subquery())
    latest_done = (select(Task.instance_id).where(Task.completed_by_id == actor.id,
                                                  Task.status == literal_column("'completed'"), Task.trial == false())
                   .order_by(Task.completed_at.desc(), Task.id.desc()).limit(PICKER_SCAN).subquery())
    instance_ids = union(select(latest_open.c.instance_id), select(latest_done.c.instance_id)).subquery()
    starters = select(ProcessInstance.started_by_id).where(ProcessInstance.id.in_(select(instance_ids.c.instance_id)))
    return [(i, n) for i, n in session.execute(
        select(User.id, User.display_name).where(or_(User.id.in_(starters), User.id == (selected or 0)))
        .order_by(User.display_name))]


def phrases(*, session: Session, actor: Actor) -> list[Phrase]:
    """Return a person's saved phrases, in their order."""
    return list(session.execute(select(Phrase).where(Phrase.owner_id == actor.id)
                                .order_by(Phrase.position, Phrase.id)).scalars().all())


def phrase_texts(*, session: Session, actor: Actor) -> list[str]:
    """Return the texts offered as one-click opinions: a person's own, or the defaults when they have none."""
    own = [p.text for p in phrases(session=session, actor=actor)]
    return own or list(DEFAULT_PHRASES)


def phrase_public(row: Phrase) -> dict[str, Any]:
    """Return a phrase as the API shows it."""
    return {"id": row.id, "text": row.text, "position": row.position}


def saved_filters(*, session: Session, actor: Actor) -> list[SavedFilter]:
    """Return a person's own filters and those shared with their department."""
    return list(session.execute(select(SavedFilter).where(or_(
        SavedFilter.owner_id == actor.id, SavedFilter.department_id == actor.department_id))
        .order_by(SavedFilter.department_id.is_not(None), SavedFilter.name, SavedFilter.id)).scalars().all())


def filter_public(row: SavedFilter, actor: Actor) -> dict[str, Any]:
    """Return a saved filter as the API and pages show it."""
    return {"id": row.id, "name": row.name, "query": row.query, "shared": row.department_id is not None,
            "mine": row.owner_id == actor.id, "url": f"/tasks?{row.query}"}


def clean_query(raw: str) -> str:
    """Keep only the inbox's filter keys of a query string (a saved filter cannot carry anything else)."""
    pairs = [(k, v[:100]) for k, v in parse_qsl(raw.lstrip("?"), keep_blank_values=False) if k in FILTER_KEYS]
    return urlencode(pairs)


def comments(*, session: Session, instance_id: int) -> list[dict[str, Any]]:
    """List a case's comments, oldest first, with their authors' names and steps."""
    rows = session.execute(select(TaskComment, User.display_name, Task.name)
                           .join(User, User.id == TaskComment.author_id)
                           .outerjoin(Task, Task.id == TaskComment.task_id)
                           .where(TaskComment.instance_id == instance_id).order_by(TaskComment.id)).all()
    return [{"id": c.id, "body": c.body, "author_name": name, "task": step, "task_id": c.task_id,
             "created_at": c.created_at.isoformat()} for c, name, step in rows]


def batch_fields(form: list[dict[str, Any]], *, validated: bool = False
                 ) -> tuple[dict[str, Any], dict[str, Any] | None] | None:
    """Return (decision field, opinion field) of a form a batch may fill, or None when it cannot.

    The rule (documented in docs/desk.md): a field whose extension property `batch` is "decision" or
    "opinion" says so; otherwise the decision is the form's only single-choice enum and the opinion the
    string field named opinion/comment/remark. Every other required field makes the task unfit, and so
    does `batch="false"` on any field. A task whose process registers a business validator (`validated`:
    it may demand more fields depending on the decision, as the share review does) is fit only when its
    form marks its decision field with the `batch` property.
    """
    def prop(f: dict[str, Any]) -> str:
        return str((f.get("properties") or {}).get("batch") or "")

    if any(prop(f) == "false" for f in form):
        return None
    if validated and not any(prop(f) == "decision" for f in form):
        return None
    decision = next((f for f in form if prop(f) == "decision"), None)
    if decision is None:
        enums = [f for f in form if f.get("type") == "enum" and not _multiple(f)]
        decision = enums[0] if len(enums) == 1 else None
    if decision is None or not decision.get("options"):
        return None
    opinion = next((f for f in form if prop(f) == "opinion"), None) or next(
        (f for f in form if f.get("type") == "string" and f["id"] in OPINION_IDS), None)
    for f in form:
        if f is not decision and f is not opinion and f.get("required"):
            return None
    return decision, opinion


def _multiple(field: dict[str, Any]) -> bool:
    from app.engine.forms import public_form

    return bool(public_form([field])[0]["multiple"])


def urge_day(calendar: WorkdayCalendar, now: datetime) -> date:
    """Return the working day an urge at `now` counts for: today, or the next working day off hours."""
    day = now.astimezone(SHANGHAI).date()
    while not calendar.is_working_day_or_guess(day)[0]:
        day += timedelta(days=1)
    return day


def next_working_day(calendar: WorkdayCalendar, day: date) -> date:
    """Return the first working day after `day`."""
    day += timedelta(days=1)
    while not calendar.is_working_day_or_guess(day)[0]:
        day += timedelta(days=1)
    return day


def approval_sheet(*, session: Session, instance: ProcessInstance) -> dict[str, Any]:
    """Return what the 审批单 prints: the case, its process and initiator, and each step with its signer."""
    definition = session.get(ProcessDefinition, instance.definition_id)
    starter = session.get(User, instance.started_by_id) if instance.started_by_id else None
    dept = session.get(Department, instance.department_id) if instance.department_id else None
    signer = User.__table__.alias("signer")
    rows = session.execute(select(Task, signer.c.display_name, Department.name)
                           .outerjoin(signer, signer.c.id == Task.completed_by_id)
                           .outerjoin(Department, Department.id == Task.department_id)
                           .where(Task.instance_id == instance.id).order_by(Task.created_at, Task.id)).all()
    steps = []
    for task, signer_name, dept_name in rows:
        labels = {f["id"]: f for f in task.form}
        data = task.data or {}
        decision = opinion = ""
        fields = batch_fields(task.form)
        for fid, value in data.items():
            field = labels.get(fid)
            if field is None or value in (None, "", []):
                continue
            if field.get("type") == "enum" and not decision:
                options = {o[0]: o[1] for o in field.get("options") or []}
                decision = options.get(str(value), str(value))
            elif field.get("type") == "string" and (fields is None or fields[1] is None or fields[1]["id"] == fid
                                                     or fid in OPINION_IDS):
                opinion = f"{opinion}；{field['label']}：{value}" if opinion else (
                    str(value) if fid in OPINION_IDS or (fields and fields[1] and fields[1]["id"] == fid)
                    else f"{field['label']}：{value}")
        steps.append({"name": task.name, "department": dept_name, "status": task.status,
                      "signer": signer_name, "decision": decision, "opinion": opinion,
                      "completed_at": task.completed_at, "created_at": task.created_at})
    return {"instance": instance, "process_name": definition.name if definition else instance.process_key,
            "initiator": starter.display_name if starter else "系统", "department": dept.name if dept else "",
            "steps": steps}
