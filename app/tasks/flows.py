"""Generic task use cases: claim, unclaim, complete (one commit each)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select, update
from sqlmodel import Session

from app.audit import service as audit
from app.core.clock import clock
from app.core.errors import Conflict, Forbidden, InvalidInput, NotFound
from app.engine.models import ProcessInstance, Task, TaskStatus
from app.engine.runner import Runner
from app.org.models import Department
from app.org.service import Actor, region_covers
from app.workdays.calendar import WorkdayCalendar
from app.workdays.service import paused_working_days, recompute_due


def _load_for_work(session: Session, task_id: int, actor: Actor) -> Task:
    task = session.get(Task, task_id)
    if task is None:
        raise NotFound("任务不存在", code="task_not_found")
    if task.department_id != actor.department_id or (task.role and task.role not in actor.roles):
        raise Forbidden("您不是该任务的办理人", code="task_not_yours")
    if task.status != TaskStatus.open.value:
        raise Conflict("该任务已办结", code="task_closed")
    return task


def claim(session: Session, task_id: int, actor: Actor) -> Task:
    """Take a task of one's department and role so that no colleague works it meanwhile."""
    task = _load_for_work(session, task_id, actor)
    if task.assignee_id == actor.id:
        return task
    result = session.execute(
        update(Task).where(Task.id == task_id, Task.status == TaskStatus.open.value,
                           Task.assignee_id.is_(None)).values(assignee_id=actor.id)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:
        raise Conflict("该任务已被他人签收", code="task_claimed_by_other")
    audit.append(session, at=clock.now(), actor=actor.username, action="task.claimed", entity_type="task",
                 entity_id=task_id, instance_id=task.instance_id, detail={"task": task.name})
    session.commit()
    session.refresh(task)
    return task


def unclaim(session: Session, task_id: int, actor: Actor) -> Task:
    """Give a claimed task back to the department's pool."""
    task = _load_for_work(session, task_id, actor)
    if task.assignee_id is None:
        return task
    if task.assignee_id != actor.id:
        raise Conflict("该任务由他人签收，只有签收人可以退回", code="task_claimed_by_other")
    result = session.execute(
        update(Task).where(Task.id == task_id, Task.status == TaskStatus.open.value,
                           Task.assignee_id == actor.id).values(assignee_id=None)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:
        raise Conflict("任务状态已变化，请刷新", code="task_changed")
    audit.append(session, at=clock.now(), actor=actor.username, action="task.unclaimed", entity_type="task",
                 entity_id=task_id, instance_id=task.instance_id, detail={"task": task.name})
    session.commit()
    session.refresh(task)
    return task


def complete(session: Session, runner: Runner, task_id: int, data: Any, actor: Actor, *,
             locked: tuple[Task, ProcessInstance] | None = None) -> Task:
    """Complete a task with its form data: the instance steps and every effect commits together.

    `locked`: the task and instance runner.lock_task returned in this transaction, if already taken.
    """
    task = runner.complete_task(session, task_id, data, actor, locked=locked)
    session.commit()
    return task


def _may_pause(session: Session, task: Task, actor: Actor) -> bool:
    # An authority reviewer of the task's level or above, or the head of the task's department.
    if actor.has_role("head") and actor.department_id == task.department_id:
        return True
    if not actor.has_role("authority_reviewer") or task.department_id is None:
        return False
    dept = session.get(Department, task.department_id)
    return dept is not None and region_covers(session=session, ancestor_code=actor.region_code,
                                              code=dept.region_code)


def _lock_open_task(session: Session, task_id: int) -> Task:
    task = session.execute(
        select(Task).where(Task.id == task_id).with_for_update().execution_options(populate_existing=True)
    ).scalar_one_or_none()
    if task is None:
        raise NotFound("任务不存在", code="task_not_found")
    if task.status != TaskStatus.open.value:
        raise Conflict("该任务已办结", code="task_closed")
    return task


def pause(session: Session, task_id: int, actor: Actor, reason: str) -> Task:
    """Pause a task's deadline (挂起), e.g. while the applicant supplements material."""
    task = _lock_open_task(session, task_id)
    if not _may_pause(session, task, actor):
        raise Forbidden("只有主管部门审核员或本部门负责人可以挂起任务", code="pause_forbidden")
    if task.paused_at is not None:
        raise Conflict("该任务已挂起", code="task_already_paused")
    now = clock.now()
    if task.due_at is not None and task.due_at < now:
        raise Conflict("任务已超期，不能挂起", code="task_overdue")
    reason = reason.strip()
    if len(reason) < 2:
        raise InvalidInput("请填写挂起原因", code="pause_reason_required")
    task.paused_at = now
    task.pause_reason = reason[:500]
    session.add(task)
    audit.append(session, at=now, actor=actor.username, action="task.paused", entity_type="task",
                 entity_id=task_id, instance_id=task.instance_id, detail={"task": task.name, "reason": reason})
    session.commit()
    return task


def resume(session: Session, task_id: int, actor: Actor, calendar: WorkdayCalendar) -> Task:
    """Resume a paused task: its deadline moves by the working days the pause covered."""
    task = _lock_open_task(session, task_id)
    if not _may_pause(session, task, actor):
        raise Forbidden("只有主管部门审核员或本部门负责人可以恢复任务", code="pause_forbidden")
    if task.paused_at is None:
        raise Conflict("该任务未挂起", code="task_not_paused")
    now = clock.now()
    shift = paused_working_days(calendar, task.paused_at, now)
    old_due = task.due_at
    if task.due_working_days is not None:
        task.paused_working_days += shift
        due = recompute_due(calendar, task.created_at, task.due_working_days, task.paused_working_days)
        task.due_at, task.due_provisional = due.due_at, due.provisional
    session.add(task)
    audit.append(session, at=now, actor=actor.username, action="task.resumed", entity_type="task",
                 entity_id=task_id, instance_id=task.instance_id,
                 detail={"task": task.name, "paused_since": task.paused_at.isoformat(),
                         "working_days_added": shift, "due_before": old_due.isoformat() if old_due else None,
                         "due_after": task.due_at.isoformat() if task.due_at else None})
    task.paused_at = None
    task.pause_reason = None
    session.commit()
    return task
