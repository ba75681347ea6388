"""Inbox queries over the task projection (no engine state is read)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from sqlalchemy import or_, select
from sqlalchemy.orm import aliased
from sqlmodel import Session

from app.core.errors import Forbidden, NotFound
from app.engine.forms import public_form
from app.engine.models import ProcessInstance, Task, TaskStatus
from app.org.models import Department, User
from app.org.service import Actor

View = Literal["todo", "done", "initiated"]

STATUS_ZH = {"open": "待办", "completed": "已办", "cancelled": "已取消"}


def inbox(*, session: Session, actor: Actor, view: View, process_key: str | None = None,
          limit: int = 100, offset: int = 0) -> list[dict[str, Any]]:
    """List the tasks of one inbox view for a person."""
    assignee = aliased(User)
    stmt = (
        select(Task, ProcessInstance, Department, assignee)
        .join(ProcessInstance, ProcessInstance.id == Task.instance_id)
        .outerjoin(Department, Department.id == Task.department_id)
        .outerjoin(assignee, assignee.id == Task.assignee_id)
    )
    if view == "todo":
        stmt = stmt.where(
            Task.status == TaskStatus.open.value, Task.department_id == actor.department_id,
            Task.role.in_(sorted(actor.roles)),
            or_(Task.assignee_id.is_(None), Task.assignee_id == actor.id),
        ).order_by(Task.due_at.is_(None), Task.due_at, Task.id)
    elif view == "done":
        stmt = stmt.where(Task.completed_by_id == actor.id, Task.status == TaskStatus.completed.value) \
            .order_by(Task.completed_at.desc(), Task.id.desc())
    else:
        stmt = stmt.where(ProcessInstance.started_by_id == actor.id).order_by(Task.id.desc())
    if process_key:
        stmt = stmt.where(Task.process_key == process_key)
    rows = session.execute(stmt.limit(limit).offset(offset)).all()
    return [task_public(t, i, d, u) for t, i, d, u in rows]


def count_todo(*, session: Session, actor: Actor) -> int:
    """Count the tasks a person may work now."""
    from sqlalchemy import func

    return int(session.execute(
        select(func.count()).select_from(Task).where(
            Task.status == TaskStatus.open.value, Task.department_id == actor.department_id,
            Task.role.in_(sorted(actor.roles)),
            or_(Task.assignee_id.is_(None), Task.assignee_id == actor.id))
    ).scalar_one())


def get_visible(*, session: Session, task_id: int, actor: Actor) -> tuple[Task, ProcessInstance]:
    """Return a task the person may see: their department's, one of their own instances', or as admin."""
    task = session.get(Task, task_id)
    if task is None:
        raise NotFound("任务不存在", code="task_not_found")
    instance = session.get(ProcessInstance, task.instance_id)
    assert instance is not None
    if (task.department_id == actor.department_id or instance.started_by_id == actor.id
            or instance.department_id == actor.department_id or actor.has_role("admin")):
        return task, instance
    raise Forbidden("您无权查看该任务", code="task_forbidden")


def task_public(task: Task, instance: ProcessInstance, department: Department | None,
                assignee: User | None) -> dict[str, Any]:
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
        "form": public_form(task.form), "data": task.data,
    }


def load_public(*, session: Session, task: Task, instance: ProcessInstance) -> dict[str, Any]:
    """Return one task with its department and assignee resolved."""
    dept = session.get(Department, task.department_id) if task.department_id else None
    user = session.get(User, task.assignee_id) if task.assignee_id else None
    return task_public(task, instance, dept, user)


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None
