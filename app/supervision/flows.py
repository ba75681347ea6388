"""Use cases of the supervision queue: urge, close, and close by itself when the task is done."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import case, update
from sqlmodel import Session

from app.audit import service as audit
from app.core.clock import clock
from app.core.config import Settings
from app.core.errors import Conflict, InvalidInput
from app.engine.hooks import hooks
from app.engine.models import Task, TaskStatus
from app.notifications.service import notify
from app.org.service import Actor
from app.supervision import service
from app.supervision.models import DECISION_ZH, ItemState, SupervisionDecision, SupervisionItem


def urge(session: Session, actor: Actor, item_id: int, note: str, settings: Settings) -> SupervisionItem:
    """Urge (催办) the department that owns an overdue task: it is notified and the urge recorded."""
    item = service.get_visible(session, actor, item_id)
    if item.state != ItemState.open.value:
        raise Conflict("督办事项已办结，无需催办", code="supervision_item_closed")
    note = note.strip()
    now = clock.now()
    item.urge_count += 1
    item.last_urged_at = now
    session.add(item)
    task = session.get(Task, item.task_id)
    assert task is not None
    notify(session, department_id=item.department_id, role=task.role,
           user_ids=[task.assignee_id] if task.assignee_id else None, kind="urged",
           title=f"督办催办：{item.task_name}",
           body=f"“{item.subject or item.task_name}”已超期并列入督办，请尽快办理。{('督查意见：' + note) if note else ''}",
           link=f"/tasks/{item.task_id}", dedupe_key=f"urge:{item.id}:{item.urge_count}", at=now,
           settings=settings)
    audit.append(session, at=now, actor=actor.username, action="supervision.urged",
                 entity_type="supervision_item", entity_id=item.id, instance_id=item.instance_id,
                 detail={"task_id": item.task_id, "note": note, "urge_count": item.urge_count})
    session.commit()
    return item


def close(session: Session, actor: Actor, item_id: int, note: str) -> SupervisionItem:
    """Close (办结) an item with a note; the record is kept for assessment."""
    item = service.get_visible(session, actor, item_id)
    if item.state != ItemState.open.value:
        raise Conflict("督办事项已办结", code="supervision_item_closed")
    note = note.strip()
    if len(note) < 2:
        raise InvalidInput("请填写办结说明", code="close_note_required")
    now = clock.now()
    item.state = ItemState.closed.value
    item.closed_at = now
    item.closed_by = actor.username
    item.close_reason = "closed_by_supervisor"
    item.close_note = note[:1000]
    session.add(item)
    audit.append(session, at=now, actor=actor.username, action="supervision.closed",
                 entity_type="supervision_item", entity_id=item.id, instance_id=item.instance_id,
                 detail={"task_id": item.task_id, "note": note})
    session.commit()
    return item


def decide(session: Session, actor: Actor, item_id: int, decision: str, note: str,
           settings: Settings) -> SupervisionItem:
    """Record the supervisor's decision (督办决定) on an item and tell the department that owns the task."""
    item = service.get_visible(session, actor, item_id)
    if item.decision is not None:
        raise Conflict("该督办事项已作出督办决定", code="supervision_item_decided")
    if item.close_reason == "closed_by_supervisor":
        raise Conflict("督办事项已办结", code="supervision_item_closed")
    if decision not in DECISION_ZH:
        raise InvalidInput(f"督办决定必须是以下之一：{'、'.join(DECISION_ZH.values())}",
                           code="supervision_decision_invalid", extra={"decisions": list(DECISION_ZH)})
    note = note.strip()
    label = DECISION_ZH[SupervisionDecision(decision)]
    now = clock.now()
    item.decision, item.decision_note = decision, note[:1000] or None
    item.decided_at, item.decided_by = now, actor.username
    session.add(item)
    task = session.get(Task, item.task_id)
    assert task is not None
    notify(session, department_id=item.department_id, role=task.role, kind="urged",
           title=f"督办决定：{label}", body=f"“{item.subject or item.task_name}”已纳入本级人民政府督查督办，"
           f"督办决定：{label}。{('督查意见：' + note) if note else ''}",
           link=f"/tasks/{item.task_id}", dedupe_key=f"decided:{item.id}", at=now, settings=settings)
    audit.append(session, at=now, actor=actor.username, action="supervision.decided",
                 entity_type="supervision_item", entity_id=item.id, instance_id=item.instance_id,
                 detail={"task_id": item.task_id, "decision": decision, "decision_label": label, "note": note})
    session.commit()
    return item


@hooks.on_task_closed
def close_when_task_done(*, session: Session, task: Task, at: datetime) -> None:
    """Close the task's supervision item, if any, when the task is done: the record stays."""
    if task.escalated_at is None:
        return  # never escalated: no item to close (the common case, kept free of queries)
    # A task the process withdrew (e.g. a negotiation reply when the dispute went to the authority) is not
    # a duty performed: its item says so.
    reason = "task_cancelled" if task.status == TaskStatus.cancelled else "task_done"
    result = session.execute(
        update(SupervisionItem)
        .where(SupervisionItem.task_id == task.id, SupervisionItem.task_done_at.is_(None))
        .values(task_done_at=at,
                state=ItemState.closed.value,
                closed_at=case((SupervisionItem.state == ItemState.open.value, at), else_=SupervisionItem.closed_at),
                closed_by=case((SupervisionItem.state == ItemState.open.value, "system"),
                               else_=SupervisionItem.closed_by),
                close_reason=case((SupervisionItem.state == ItemState.open.value, reason),
                                  else_=SupervisionItem.close_reason))
        .execution_options(synchronize_session=False)
    )
    if result.rowcount:
        audit.append(session, at=at, actor="system", action="supervision.task_done", entity_type="task",
                     entity_id=task.id, instance_id=task.instance_id,
                     detail={"task_id": task.id, "reason": reason})
