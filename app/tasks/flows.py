"""Generic task use cases: claim, unclaim, complete (one commit each)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import update
from sqlmodel import Session

from app.audit import service as audit
from app.core.clock import clock
from app.core.errors import Conflict, Forbidden, NotFound
from app.engine.models import Task, TaskStatus
from app.engine.runner import Runner
from app.org.service import Actor


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


def complete(session: Session, runner: Runner, task_id: int, data: Any, actor: Actor) -> Task:
    """Complete a task with its form data: the instance steps and every effect commits together."""
    task = runner.complete_task(session, task_id, data, actor)
    session.commit()
    return task
