"""How a rectification notice is shown (API and pages share this)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlmodel import Session

from app.attachments import service as attachments
from app.audit import service as audit
from app.core.clock import SHANGHAI
from app.core.history_page import PAGE_SIZE, decode_cursor
from app.engine.runner import may_work
from app.engine.models import Task, TaskStatus
from app.org.models import Department, User
from app.org.service import Actor
from app.rectification import service
from app.rectification.models import (
    ART29_ITEMS,
    DECISION_ZH,
    GROUND_ZH,
    KIND_ZH,
    OPEN_STATUSES,
    STATUS_ZH,
    ExemptionGround,
    NoticeStatus,
    RectificationNotice,
    RectificationSubmission,
    SubmissionDecision,
    SubmissionKind,
    item_label,
)
from app.signing import documents as signed_documents
from app.signing.models import DocType
from app.supervision import service as supervision_service
from app.supervision.models import CLOSE_REASON_ZH, STATE_ZH, ItemState, decision_public
from app.tasks.service import deadline_fields
from app.workdays.calendar import WorkdayCalendar

STEP_ZH = {"rectify": "被通知部门整改并报告", "verify": "主管部门核验整改情况", "decide_exemption": "主管部门审查免责申请"}


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def date_zh(at: datetime | None) -> str:
    """Return a date as official documents write it: 2026年11月2日 (Asia/Shanghai)."""
    if at is None:
        return ""
    local = at.astimezone(SHANGHAI)
    return f"{local.year}年{local.month}月{local.day}日"


def notices_public(session: Session, notices: list[RectificationNotice], actor: Actor | None = None, *,
                   calendar: WorkdayCalendar, now: datetime) -> list[dict[str, Any]]:
    """Return several notices as lists show them: their departments, issuers and open steps read once."""
    open_ids = {n.instance_id for n in notices if n.status in OPEN_STATUSES and n.instance_id is not None}
    tasks: dict[int, Task] = {}
    if open_ids:
        for t in session.execute(select(Task).where(Task.instance_id.in_(open_ids),
                                                    Task.status == TaskStatus.open.value)
                                 .order_by(Task.id)).scalars():
            tasks[t.instance_id] = t  # the latest open task of each instance, as open_task() picks it
    depts = service.departments_by_id(session=session, ids={i for n in notices for i in (
        n.department_id, n.authority_department_id)})
    users = {u.id: u for u in session.execute(select(User).where(
        User.id.in_({n.issued_by_id for n in notices}))).scalars()} if notices else {}
    return [notice_public(session, n, actor, calendar=calendar, now=now, full=False,
                          loaded=(depts, users.get(n.issued_by_id), tasks.get(n.instance_id or 0)
                                  if n.status in OPEN_STATUSES else None)) for n in notices]


def notice_public(session: Session, notice: RectificationNotice, actor: Actor | None = None, *,
                  calendar: WorkdayCalendar, now: datetime, full: bool = True,
                  loaded: tuple[dict[int, Department], User | None, Task | None] | None = None) -> dict[str, Any]:
    """Return a notice as the API shows it; `full` adds reports, supervision, attachments and history.

    `loaded` is what a list read for all its rows at once: (departments, issuer, open task)."""
    if loaded is not None:
        depts, issuer, task = loaded
    else:
        depts = service.departments_by_id(session=session, ids={notice.department_id,
                                                                  notice.authority_department_id})
        issuer = session.get(User, notice.issued_by_id)
        task = service.open_task(session, notice) if notice.status in OPEN_STATUSES else None
    rectify = task if task is not None and task.task_spec == "rectify" else None
    due_at = rectify.due_at if rectify is not None and rectify.due_at else notice.due_at
    deadline = deadline_fields(rectify, calendar, now) if rectify is not None else {
        "working_days_left": None, "overdue": False, "overdue_working_days": 0, "deadline_label": None}
    data: dict[str, Any] = {
        "id": notice.id, "number": notice.number, "status": notice.status,
        "status_label": STATUS_ZH[NoticeStatus(notice.status)], "open": notice.status in OPEN_STATUSES,
        "authority_department_code": depts[notice.authority_department_id].code,
        "authority_department_name": depts[notice.authority_department_id].name,
        "department_code": depts[notice.department_id].code, "department_name": depts[notice.department_id].name,
        "article_item": notice.article_item, "article_item_label": item_label(notice.article_item),
        "article_item_text": ART29_ITEMS[notice.article_item],
        "facts": notice.facts, "requirements": notice.requirements,
        "deadline_working_days": notice.deadline_working_days, "issued_due_at": _iso(notice.issued_due_at),
        "round_working_days": notice.round_working_days, "due_at": _iso(due_at),
        "due_provisional": rectify.due_provisional if rectify is not None else notice.due_provisional,
        **deadline, "round": notice.round,
        "issued_by": issuer.display_name if issuer else None, "issued_at": notice.issued_at.isoformat(),
        "closed_at": _iso(notice.closed_at), "withdrawn_reason": notice.withdrawn_reason,
        "instance_id": notice.instance_id, "year": notice.year, "seq": notice.seq,
        "current_step": None if task is None else {
            "task_id": task.id, "task_spec": task.task_spec, "name": task.name,
            "label": STEP_ZH.get(task.task_spec, task.name),
            "department_name": depts[task.department_id].name if task.department_id in depts else None,
            "due_at": _iso(task.due_at), "escalated": task.escalated_at is not None},
    }
    if not full:
        return data
    # Art. 26: the signed 整改通知书 (number, verification code, algorithm, key), when signing was on.
    data["signature"] = signed_documents.block(session, DocType.rectification_notice, notice.id or 0)
    party = actor is None or service.is_party(actor, notice) or actor.has_role("admin")
    files = {a.id: a for a in service.attachments_of(session, notice.id or 0)} if party else {}
    data.update(submissions_public(session, notice, files=files))
    data["attachments_visible"] = party
    data["attachments"] = [attachments.public(a) for a in files.values()]
    data.update(supervision_of(session, notice, calendar=calendar, now=now))
    data["history"], data["history_next_cursor"] = history_page(session, notice)
    if actor is not None:
        data["may"] = permissions(session, notice, actor, task)
    return data


def history_page(session: Session, notice: RectificationNotice, cursor: str | None = None,
                 limit: int = PAGE_SIZE) -> tuple[list[dict[str, Any]], str | None]:
    """Return the latest lines of a notice's 流转记录 before the cursor, and the cursor to earlier ones."""
    return audit.trail_page(session, notice.instance_id, service.OWNER_TYPE, notice.id or 0, cursor=cursor,
                            limit=limit)


def submissions_public(session: Session, notice: RectificationNotice, cursor: str | None = None,
                       limit: int = PAGE_SIZE, *, files: dict[int | None, Any] | None = None,
                       actor: Actor | None = None) -> dict[str, Any]:
    """Return the notice's reports and exemption claims with their decisions: the latest `limit` before the
    cursor, oldest first (`submissions`), and the cursor to the earlier ones (`submissions_next_cursor`).

    `files`: the notice's attachments by id when the caller has read them; else those the page's rows
    carry are read, and only for a party to the case (an `actor` that is not one sees none)."""
    rows, next_cursor = service.submissions_page(session, notice.id or 0, cursor, limit)
    if files is None:
        wanted = {i for r in rows for i in r.attachment_ids}
        files = {}
        if wanted and (actor is None or service.is_party(actor, notice) or actor.has_role("admin")):
            files = {a.id: a for a in service.attachments_of(session, notice.id or 0, ids=wanted)}
    user_ids = {i for r in rows for i in (r.submitted_by_id, r.decided_by_id) if i is not None}
    users = {u.id: u for u in session.execute(select(User).where(User.id.in_(user_ids))).scalars()} \
        if user_ids else {}
    return {"submissions": [_submission(r, files, users) for r in rows], "submissions_next_cursor": next_cursor}


def _submission(s: RectificationSubmission, files: dict[int | None, Any], users: dict[int | None, User]
                ) -> dict[str, Any]:
    by = users.get(s.submitted_by_id)
    decider = users.get(s.decided_by_id) if s.decided_by_id else None
    return {
        "id": s.id, "round": s.round, "kind": s.kind, "kind_label": KIND_ZH[SubmissionKind(s.kind)],
        "text": s.text, "ground": s.ground,
        "ground_label": GROUND_ZH[ExemptionGround(s.ground)] if s.ground else None,
        "attachments": [attachments.public(files[i]) for i in s.attachment_ids if i in files],
        "attachment_ids": s.attachment_ids,
        "submitted_by": by.display_name if by else None, "submitted_at": s.submitted_at.isoformat(),
        "decision": s.decision, "decision_label": DECISION_ZH[SubmissionDecision(s.decision)] if s.decision else None,
        "decision_reason": s.decision_reason, "new_deadline_working_days": s.new_deadline_working_days,
        "decided_by": decider.display_name if decider else None, "decided_at": _iso(s.decided_at),
    }


def supervision_of(session: Session, notice: RectificationNotice, cursor: str | None = None,
                   limit: int = PAGE_SIZE, *, calendar: WorkdayCalendar, now: datetime) -> dict[str, Any]:
    """Return the supervision items (督查督办) the case's overdue rounds produced, with the decisions: the
    latest `limit` before the cursor, oldest first (`supervision`), and the cursor to the earlier ones
    (`supervision_next_cursor`)."""
    if notice.instance_id is None:
        decode_cursor(cursor, supervision_service.CASE_ITEMS_CURSOR)  # a forged one is still refused
        return {"supervision": [], "supervision_next_cursor": None}
    rows, next_cursor = supervision_service.items_of_case(session, notice.instance_id, cursor, limit)
    offices = service.departments_by_id(session=session, ids={r.office_department_id for r in rows})
    out = []
    for item in rows:
        end = item.task_done_at or now
        out.append({
            "id": item.id, "task_id": item.task_id, "task_name": item.task_name,
            "government_office": offices[item.office_department_id].name,
            "office_department_id": item.office_department_id, "level": item.level,
            "due_at": item.due_at.isoformat(), "escalated_at": item.escalated_at.isoformat(),
            "overdue_working_days": max(item.overdue_working_days, -calendar.working_days_left(item.due_at, end)),
            "state": item.state, "state_label": STATE_ZH[ItemState(item.state)], "urge_count": item.urge_count,
            "close_reason_label": CLOSE_REASON_ZH.get(item.close_reason or ""), **decision_public(item),
        })
    return {"supervision": out, "supervision_next_cursor": next_cursor}


def permissions(session: Session, notice: RectificationNotice, actor: Actor, task: Any) -> dict[str, bool]:
    """Tell which actions the person may take on the notice now (pages show only those)."""
    spec = task.task_spec if task is not None else None
    workable = task is not None and may_work(task, actor)
    is_open = notice.status in OPEN_STATUSES
    return {
        "report": spec == "rectify" and workable, "claim_exemption": spec == "rectify" and workable,
        "verify": spec == "verify" and workable, "decide_exemption": spec == "decide_exemption" and workable,
        "withdraw": is_open and actor.department_id == notice.authority_department_id
        and actor.has_role("authority_reviewer"),
        "upload": is_open and service.is_party(actor, notice),
        # Any item of the supervisor's office still without a decision, also on an earlier page.
        "supervise": actor.has_role("supervisor") and notice.instance_id is not None
        and supervision_service.awaits_decision_of(session, notice.instance_id, actor.department_id),
    }


def article_items() -> list[dict[str, Any]]:
    """Return Art. 29 (1)–(6) as the forms and the API list them."""
    return [{"item": n, "label": item_label(n), "text": text} for n, text in ART29_ITEMS.items()]


def exemption_grounds() -> list[dict[str, str]]:
    """Return the Art. 30 grounds a department may claim."""
    return [{"ground": g.value, "label": label} for g, label in GROUND_ZH.items()]
