"""Use cases of the approval desk (one commit each): copy, mark read, urge, phrases, filters, comments,
attachments, batch completion; and the step hook that copies a completed task's case (cc_roles)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, BinaryIO

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from app.attachments import service as attachments
from app.audit import service as audit
from app.core.clock import clock
from app.core.config import Settings
from app.core.errors import Conflict, DomainError, Forbidden, InvalidInput, NotFound
from app.desk import service
from app.desk.models import CaseCopy, Phrase, SavedFilter, TaskComment, TaskUrge
from app.engine.hooks import hooks
from app.engine.models import ProcessInstance, Task, TaskStatus
from app.engine.runner import Runner, definition_info
from app.notifications.service import notify
from app.org.models import User, UserRole
from app.org.service import Actor
from app.tasks import service as task_service
from app.workdays.calendar import WorkdayCalendar

MAX_PHRASES = 30
MAX_FILTERS = 30
ATTACHMENT_OWNER = "case"  # attachments of a case (a process instance), any step


class UrgeTooSoon(Conflict):
    code = "urge_too_soon"


def _weekday_zh(day: Any) -> str:
    return f"{day.month}月{day.day}日（星期{'一二三四五六日'[day.weekday()]}）"


# ----------------------------------------------------------------------------- 抄送

def copy_case(session: Session, actor: Actor, instance_id: int, user_ids: list[int], note: str = "") -> list[str]:
    """Copy a case the person may read to colleagues (抄送); return the names newly copied. Audited, notified."""
    instance = task_service.get_visible_instance(session=session, instance_id=instance_id, actor=actor)
    if instance.trial:
        raise InvalidInput("试运行的流程实例不能抄送", code="copy_trial")
    wanted = sorted({int(u) for u in user_ids})
    if not wanted:
        raise InvalidInput("请至少选择一位抄送人", code="copy_recipients_required")
    if len(wanted) > 50:
        raise InvalidInput("一次最多抄送50人", code="copy_too_many")
    users = session.execute(select(User).where(User.id.in_(wanted), User.is_active.is_(True))).scalars().all()
    if len(users) != len(wanted):
        raise InvalidInput("抄送人不存在或已停用", code="copy_recipient_unknown")
    note = note.strip()[:500]
    return _copy(session, instance, [u for u in users if u.id != actor.id], sent_by=actor, task=None, note=note,
                 commit=True)


def _copy(session: Session, instance: ProcessInstance, users: list[User], *, sent_by: Actor | None,
          task: Task | None, note: str, commit: bool) -> list[str]:
    existing = set(session.execute(select(CaseCopy.user_id).where(CaseCopy.instance_id == instance.id)).scalars())
    fresh = [u for u in users if u.id not in existing]
    if not fresh:
        return []
    now = clock.now()
    for u in fresh:
        session.add(CaseCopy(instance_id=instance.id, user_id=u.id, sent_by_id=sent_by.id if sent_by else None,
                             task_id=task.id if task else None, note=note or None, created_at=now))
    session.flush()
    names = [u.display_name for u in fresh]
    who = sent_by.display_name if sent_by else f"“{task.name if task else ''}”环节"
    audit.append(session, at=now, actor=sent_by.username if sent_by else "system", action="case.copied",
                 entity_type="process_instance", entity_id=instance.id or 0, instance_id=instance.id,
                 detail={"to": [u.username for u in fresh], "to_names": names, "note": note,
                         **({"task": task.name} if task else {})})
    subject = instance.subject or instance.process_key
    notify(session, user_ids=[u.id for u in fresh], kind="case_copied", title=f"抄送：{subject}",
           body=f"{who}将“{subject}”抄送给您。{('附言：' + note) if note else ''}",
           link=service.case_link(session=session, instance_id=instance.id or 0),
           dedupe_key=f"copied:{instance.id}", at=now)
    if commit:
        session.commit()
    return names


def _copy_roles_on_close(*, session: Session, task: Task, at: datetime) -> None:
    """Copy the case when a task with the extension property cc_roles is completed (not when withdrawn).

    The copy goes to the active users of the task's department who hold one of the listed roles.
    """
    if task.status != TaskStatus.completed.value:
        return
    instance = session.get(ProcessInstance, task.instance_id)
    if instance is None:
        return
    # The cached metadata: the definition row also holds the BPMN file, read for nothing here.
    meta = (definition_info(session, instance.definition_id).meta.get("user_tasks") or {}).get(task.task_spec) or {}
    roles = [r.strip() for r in str((meta.get("properties") or {}).get("cc_roles") or "").split(",") if r.strip()]
    if not roles or task.department_id is None:
        return
    users = list(session.execute(
        select(User).join(UserRole, UserRole.user_id == User.id)
        .where(User.department_id == task.department_id, User.is_active.is_(True), UserRole.role.in_(roles))
        .distinct()).scalars().all())
    _copy(session, instance, [u for u in users if u.id != task.completed_by_id], sent_by=None, task=task,
          note="", commit=False)


hooks.on_task_closed(_copy_roles_on_close)


def has_unread_copy(session: Session, actor: Actor, instance_id: int) -> bool:
    """Tell whether the person holds a copy of the instance not yet 已阅 (a read: no lock taken)."""
    return session.execute(select(CaseCopy.id).where(
        CaseCopy.user_id == actor.id, CaseCopy.instance_id == instance_id, CaseCopy.read_at.is_(None)
    ).limit(1)).first() is not None


def mark_read(session: Session, actor: Actor, *, copy_id: int | None = None, instance_id: int | None = None,
              commit: bool = True) -> bool:
    """Mark a copy 已阅 (by its id, or the person's copy of an instance); return whether it changed."""
    stmt = select(CaseCopy).where(CaseCopy.user_id == actor.id)
    stmt = stmt.where(CaseCopy.id == copy_id) if copy_id is not None else stmt.where(CaseCopy.instance_id == instance_id)
    row = session.execute(stmt).scalar_one_or_none()
    if row is None:
        if copy_id is not None:
            raise NotFound("抄送记录不存在", code="copy_not_found")
        return False
    if row.read_at is not None:
        return False
    now = clock.now()
    row.read_at = now
    session.add(row)
    audit.append(session, at=now, actor=actor.username, action="case.copy_read", entity_type="process_instance",
                 entity_id=row.instance_id, instance_id=row.instance_id, detail={})
    if commit:
        session.commit()
    return True


# ----------------------------------------------------------------------------- 催办

def urge(session: Session, actor: Actor, calendar: WorkdayCalendar, task_id: int) -> dict[str, Any]:
    """催办: the applicant reminds the holder of an open task of their case, once per working day per task."""
    task, instance = task_service.get_visible(session=session, task_id=task_id, actor=actor)
    if instance.started_by_id != actor.id:
        raise Forbidden("只有本事项的发起人可以催办", code="urge_forbidden")
    if task.status != TaskStatus.open.value:
        raise Conflict("该任务已办结，无需催办", code="task_closed")
    now = clock.now()
    day = service.urge_day(calendar, now)
    too_soon = UrgeTooSoon(
        f"今日已催办过该任务，请于{_weekday_zh(service.next_working_day(calendar, day))}再催办",
        extra={"next_allowed": service.next_working_day(calendar, day).isoformat()})
    if session.execute(select(TaskUrge.id).where(TaskUrge.task_id == task.id, TaskUrge.working_day == day)).first():
        raise too_soon
    try:
        with session.begin_nested():
            session.add(TaskUrge(task_id=task.id or 0, user_id=actor.id, working_day=day, created_at=now))
            session.flush()
    except IntegrityError:
        raise too_soon from None  # a concurrent urge of the same day won
    subject = instance.subject or task.name
    audit.append(session, at=now, actor=actor.username, action="task.urged", entity_type="task",
                 entity_id=task.id or 0, instance_id=instance.id, detail={"task": task.name})
    link = f"/tasks/{task.id}"
    title, body = f"催办：{task.name}", f"{actor.display_name}催办“{subject}”的“{task.name}”环节，请尽快办理。"
    key = f"urged:{task.id}:{day.isoformat()}"
    if task.assignee_id is not None:
        notify(session, user_ids=[task.assignee_id], kind="task_urged", title=title, body=body, link=link,
               dedupe_key=key, at=now)
    else:
        notify(session, department_id=task.department_id, role=task.role, kind="task_urged", title=title,
               body=body, link=link, dedupe_key=key, at=now)
    session.commit()
    return {"task_id": task.id, "working_day": day.isoformat(),
            "next_allowed": service.next_working_day(calendar, day).isoformat()}


def may_urge(session: Session, actor: Actor, task: Task, instance: ProcessInstance) -> bool:
    """Tell whether the 催办 button is offered: the applicant, on an open task of their case."""
    return instance.started_by_id == actor.id and task.status == TaskStatus.open.value and not instance.trial


# ----------------------------------------------------------------------------- 常用意见

def _clean_phrase(text: str) -> str:
    text = " ".join(text.split())
    if not text:
        raise InvalidInput("常用意见不能为空", code="phrase_empty")
    if len(text) > 200:
        raise InvalidInput("常用意见不能超过200个字", code="phrase_too_long")
    return text


def add_phrase(session: Session, actor: Actor, text: str) -> Phrase:
    """Save a phrase at the end of a person's list."""
    text = _clean_phrase(text)
    mine = service.phrases(session=session, actor=actor)
    if len(mine) >= MAX_PHRASES:
        raise InvalidInput(f"常用意见最多保存{MAX_PHRASES}条", code="phrase_limit")
    if any(p.text == text for p in mine):
        raise Conflict("已有相同的常用意见", code="phrase_duplicate")
    row = Phrase(owner_id=actor.id, text=text, position=(max((p.position for p in mine), default=0) + 1),
                 created_at=clock.now())
    session.add(row)
    session.commit()
    return row


def _own_phrase(session: Session, actor: Actor, phrase_id: int) -> Phrase:
    row = session.get(Phrase, phrase_id)
    if row is None or row.owner_id != actor.id:
        raise NotFound("常用意见不存在", code="phrase_not_found")
    return row


def update_phrase(session: Session, actor: Actor, phrase_id: int, text: str | None = None,
                  position: int | None = None) -> Phrase:
    """Change a phrase's text or place."""
    row = _own_phrase(session, actor, phrase_id)
    if text is not None:
        row.text = _clean_phrase(text)
    if position is not None:
        row.position = position
    session.add(row)
    session.commit()
    return row


def delete_phrase(session: Session, actor: Actor, phrase_id: int) -> None:
    """Delete one of a person's phrases."""
    session.delete(_own_phrase(session, actor, phrase_id))
    session.commit()


# ----------------------------------------------------------------------------- saved filters

def save_filter(session: Session, actor: Actor, name: str, query: str, shared: bool = False) -> SavedFilter:
    """Save an inbox filter under a name, for oneself or (shared) for one's department."""
    name = " ".join(name.split())
    if not name or len(name) > 50:
        raise InvalidInput("请填写筛选名称（不超过50个字）", code="filter_name_invalid")
    clean = service.clean_query(query)
    if not clean:
        raise InvalidInput("没有可保存的筛选条件", code="filter_query_empty")
    count = len([f for f in service.saved_filters(session=session, actor=actor) if f.owner_id == actor.id])
    if count >= MAX_FILTERS:
        raise InvalidInput(f"最多保存{MAX_FILTERS}个筛选", code="filter_limit")
    row = SavedFilter(owner_id=actor.id, department_id=actor.department_id if shared else None, name=name,
                      query=clean, created_at=clock.now())
    session.add(row)
    session.commit()
    return row


def delete_filter(session: Session, actor: Actor, filter_id: int) -> None:
    """Delete a filter one saved (a department's shared filter only by its author)."""
    row = session.get(SavedFilter, filter_id)
    if row is None or (row.owner_id != actor.id and row.department_id != actor.department_id):
        raise NotFound("筛选不存在", code="filter_not_found")
    if row.owner_id != actor.id:
        raise Forbidden("只有保存该筛选的人可以删除", code="filter_not_yours")
    session.delete(row)
    session.commit()


# ----------------------------------------------------------------------------- comments and attachments

def comment(session: Session, actor: Actor, task_id: int, body: str) -> TaskComment:
    """Comment on the case of a task one may read; a line in its history."""
    task, instance = task_service.get_visible(session=session, task_id=task_id, actor=actor)
    body = body.strip()
    if not body:
        raise InvalidInput("评论内容不能为空", code="comment_empty")
    if len(body) > 2000:
        raise InvalidInput("评论不能超过2000个字", code="comment_too_long")
    if "\x00" in body:
        raise InvalidInput("评论中不能包含空字符（U+0000）", code="nul_character")
    now = clock.now()
    row = TaskComment(instance_id=instance.id or 0, task_id=task.id, author_id=actor.id, body=body, created_at=now)
    session.add(row)
    session.flush()
    audit.append(session, at=now, actor=actor.username, action="case.commented", entity_type="process_instance",
                 entity_id=instance.id or 0, instance_id=instance.id,
                 detail={"task": task.name, "comment_id": row.id, "comment": body[:200]})
    session.commit()
    return row


@attachments.register_owner(ATTACHMENT_OWNER)
def _may_touch_case_files(session: Session, actor: Actor, instance_id: int) -> bool:
    instance = session.get(ProcessInstance, instance_id)
    return instance is not None and not instance.trial and task_service.may_read_instance(
        session=session, instance=instance, actor=actor)


def attach(session: Session, settings: Settings, actor: Actor, task_id: int, filename: str, stream: BinaryIO,
           note: str | None = None) -> Any:
    """Attach a file to the case of a task one may read (size and type limits of app.attachments)."""
    task, instance = task_service.get_visible(session=session, task_id=task_id, actor=actor)
    row = attachments.store(session, settings, actor, owner_type=ATTACHMENT_OWNER, owner_id=instance.id or 0,
                            filename=filename, stream=stream, note=note)
    # The store's own event names the file; this one puts it in the case's 流转记录.
    audit.append(session, at=row.uploaded_at, actor=actor.username, action="case.attachment_added",
                 entity_type="process_instance", entity_id=instance.id or 0, instance_id=instance.id,
                 detail={"task": task.name, "attachment_id": row.id, "filename": row.filename})
    session.commit()
    return row


def case_attachments(session: Session, instance_id: int) -> list[dict[str, Any]]:
    """List a case's attachments with the uploaders' names."""
    rows = attachments.list_for(session, ATTACHMENT_OWNER, instance_id)
    names = dict(session.execute(select(User.id, User.display_name).where(
        User.id.in_({r.uploaded_by_id for r in rows}))).all()) if rows else {}
    return [{**attachments.public(r), "uploaded_by_name": names.get(r.uploaded_by_id, "")} for r in rows]


# ----------------------------------------------------------------------------- 批量办理

def batch_complete(session: Session, runner: Runner, actor: Actor, task_ids: list[int], decision: str,
                   opinion: str) -> list[dict[str, Any]]:
    """Complete several tasks with one decision and opinion, each in its own transaction through the runner.

    Returns one result per task: ok, or the reason it was not completed (the others go on).
    """
    ids = list(dict.fromkeys(int(t) for t in task_ids))
    if not ids:
        raise InvalidInput("请勾选要办理的任务", code="batch_empty")
    if len(ids) > 100:
        raise InvalidInput("一次最多批量办理100个任务", code="batch_too_many")
    if not decision:
        raise InvalidInput("请选择审批结论", code="batch_decision_required")
    results: list[dict[str, Any]] = []
    for task_id in ids:
        name = subject = ""
        try:
            # Visibility first: a hidden task answers like a missing one, its name and form unread.
            locked = runner.lock_task(session, task_id)
            task, instance = task_service.get_visible(session=session, task_id=task_id, actor=actor)
            name, subject = task.name, instance.subject
            data = _batch_data(task, decision, opinion)
            runner.complete_task(session, task_id, data, actor, locked=locked)
            session.commit()
            results.append({"task_id": task_id, "name": name, "subject": subject, "ok": True, "reason": None})
        except DomainError as exc:
            session.rollback()
            reason = exc.message_zh
            errors = exc.to_detail().get("errors")
            if errors:
                reason += "：" + "；".join(str(e.get("message")) for e in errors)
            results.append({"task_id": task_id, "name": name, "subject": subject, "ok": False, "reason": reason,
                            "code": exc.code})
    return results


def _batch_data(task: Task, decision: str, opinion: str) -> dict[str, Any]:
    fields = service.batch_fields(task.form, validated=(task.process_key, task.task_spec) in hooks.validators)
    if fields is None:
        raise InvalidInput("该任务须逐件办理（表单有其他必填项，或按结论需填写更多内容）", code="batch_unfit")
    decision_field, opinion_field = fields
    options = {o[0]: o[1] for o in decision_field.get("options") or []}
    if decision not in options:
        raise InvalidInput("该任务的审批结论中没有所选的选项，请逐件办理", code="batch_decision_unknown")
    data: dict[str, Any] = {decision_field["id"]: decision}
    if opinion_field is not None and opinion.strip():
        data[opinion_field["id"]] = opinion.strip()
    return data
