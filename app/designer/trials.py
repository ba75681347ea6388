"""Trial runs (试运行): a designer starts a deployed process with chosen variables and acts each task as
any of its candidate roles. A trial's tasks carry `trial`, so no inbox, reminder, notification,
supervision sweep or statistic ever counts them, and no area's business hook runs for them.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlmodel import Session

from app.audit import service as audit
from app.core.clock import clock
from app.core.errors import Conflict, InvalidInput, NotFound
from app.engine.external import ERROR_CODE
from app.engine.models import InstanceStatus, ProcessDefinition, ProcessInstance, Task, TaskStatus
from app.engine.runner import Runner, check_variables
from app.external.models import MAX_ERROR_MESSAGE, ExternalTask, ExternalTaskStatus
from app.org.models import ROLE_ZH, Role, User
from app.org.service import Actor

STATUS_ZH = {InstanceStatus.running.value: "运行中", InstanceStatus.completed.value: "已结束",
             InstanceStatus.cancelled.value: "已放弃"}
LIST_LIMIT = 200


def role_label(role: str) -> str:
    """Return a role as people read it: 审核人（reviewer）."""
    name = ROLE_ZH.get(Role(role)) if role in Role.__members__ else None
    return f"{name}（{role}）" if name else role


def _hidden_instance() -> NotFound:
    return NotFound("试运行实例不存在", code="trial_not_found")


def _hidden_task() -> NotFound:
    return NotFound("试运行任务不存在", code="trial_task_not_found")


def get_trial(*, session: Session, instance_id: int, actor: Actor) -> ProcessInstance:
    """Return a trial run a designer or admin may work, else 404 alike (a real instance is not one)."""
    instance = session.get(ProcessInstance, instance_id)
    if instance is None or not instance.trial or not actor.has_role("designer", "admin"):
        raise _hidden_instance()
    return instance


def open_tasks(*, session: Session, runner: Runner, instance_id: int) -> list[dict[str, Any]]:
    """List a trial's open tasks with the roles each may be acted as and its form."""
    rows = session.execute(select(Task).where(Task.instance_id == instance_id,
                                              Task.status == TaskStatus.open.value).order_by(Task.id)).scalars()
    out = []
    for task in rows:
        roles = runner.candidate_roles(session, task)
        out.append({"id": task.id, "name": task.name, "task_spec": task.task_spec, "form": task.form,
                    "roles": [{"id": r, "name": role_label(r)} for r in roles],
                    "due_at": task.due_at.isoformat() if task.due_at else None})
    return out


def trial_public(*, session: Session, runner: Runner, instance: ProcessInstance,
                 definition: ProcessDefinition | None = None, starter: str | None = None) -> dict[str, Any]:
    """Return a trial run as the API and the pages list it."""
    info = runner.definition(session, instance.definition_id)
    name = definition.name if definition is not None else session.execute(
        select(ProcessDefinition.name).where(ProcessDefinition.id == instance.definition_id)).scalar_one()
    if starter is None and instance.started_by_id is not None:
        starter = session.execute(select(User.display_name).where(User.id == instance.started_by_id)
                                  ).scalar_one_or_none()
    return {
        "id": instance.id, "process_key": instance.process_key, "process_name": name, "version": info.version,
        "status": instance.status, "status_label": STATUS_ZH.get(instance.status, instance.status),
        "started_at": _iso(instance.started_at), "ended_at": _iso(instance.ended_at),
        "next_timer_at": _iso(instance.next_timer_at),
        "started_by": starter, "subject": instance.subject,
        "open_tasks": open_tasks(session=session, runner=runner, instance_id=instance.id or 0),
        "open_external_tasks": open_external_tasks(session=session, instance_id=instance.id or 0),
    }


def list_trials(*, session: Session, runner: Runner, actor: Actor, limit: int = LIST_LIMIT
                ) -> list[dict[str, Any]]:
    """List trial runs, newest first (designers and admins)."""
    if not actor.has_role("designer", "admin"):
        return []
    rows = session.execute(
        select(ProcessInstance, ProcessDefinition, User.display_name)
        .join(ProcessDefinition, ProcessDefinition.id == ProcessInstance.definition_id)
        .outerjoin(User, User.id == ProcessInstance.started_by_id)
        .where(ProcessInstance.trial.is_(True))
        .order_by(ProcessInstance.started_at.desc(), ProcessInstance.id.desc()).limit(limit)
    ).all()
    return [trial_public(session=session, runner=runner, instance=i, definition=d, starter=s or "")
            for i, d, s in rows]


def check_role(*, session: Session, runner: Runner, task: Task, role: Any) -> str:
    """Return the role a trial task is acted as; 422 listing the allowed roles if it is not one of them."""
    roles = runner.candidate_roles(session, task)
    if not isinstance(role, str) or role not in roles:
        allowed = "、".join(role_label(r) for r in roles) or "（该任务未设置候选角色）"
        shown = f"“{role[:40]}”" if isinstance(role, str) and role else ""
        raise InvalidInput(f"角色{shown}不能办理任务“{task.name}”，可选角色：{allowed}",
                           code="trial_role_invalid", extra={"roles": roles})
    return role


def complete_as(session: Session, runner: Runner, task_id: int, *, role: Any, data: Any, actor: Actor
                ) -> Task:
    """Act a trial run's task as one of its candidate roles: form and task rules apply as for real work.

    A real task answers 404 like a missing one: a designer never touches real work.
    """
    task = session.get(Task, task_id)
    if task is None or not task.trial or not actor.has_role("designer", "admin"):
        raise _hidden_task()
    locked = runner.lock_task(session, task_id)
    task = locked[0]
    if not task.trial:
        raise _hidden_task()
    chosen = check_role(session=session, runner=runner, task=task, role=role)
    task = runner.complete_task(session, task_id, data, actor, locked=locked, trial_role=chosen)
    session.commit()
    return task


def cancel(session: Session, runner: Runner, instance_id: int, actor: Actor) -> ProcessInstance:
    """Discard (放弃) a running trial run: its open tasks are withdrawn, the run kept as history."""
    get_trial(session=session, instance_id=instance_id, actor=actor)
    instance = runner.cancel(session, instance_id, actor=actor, reason="放弃试运行")
    session.commit()
    return instance


def start(session: Session, runner: Runner, process_key: str, *, variables: Any, version: int | None,
          actor: Actor) -> ProcessInstance:
    """Start a trial run of a deployed process (the newest version unless one is named)."""
    instance = runner.start(session, process_key, variables=variables, actor=actor,
                            subject=f"试运行：{process_key}", trial=True, version=version)
    session.commit()
    return instance


# --- a trial's external tasks: the designer acts as the outside system ----------------------------------

def _hidden_external_task() -> NotFound:
    return NotFound("试运行外部任务不存在", code="trial_external_task_not_found")


def open_external_tasks(*, session: Session, instance_id: int) -> list[dict[str, Any]]:
    """List a trial's waiting external tasks (no worker ever takes a trial's: the designer completes them)."""
    rows = session.execute(select(ExternalTask).where(ExternalTask.instance_id == instance_id,
                                                      ExternalTask.status == ExternalTaskStatus.open.value)
                           .order_by(ExternalTask.id)).scalars()
    return [{"id": row.id, "name": row.name, "topic": row.topic, "element_id": row.element_id,
             "variables": row.variables or {}, "created_at": _iso(row.created_at)} for row in rows]


def check_error_code(value: Any) -> str:
    """A BPMN error code as the worker API accepts it (the errorCode of a bpmn:error)."""
    if not isinstance(value, str) or not value.strip():
        raise InvalidInput("请填写业务错误码（bpmn:error 的 errorCode）", code="error_code_required")
    value = value.strip()
    if len(value) > 100 or not ERROR_CODE.match(value):
        raise InvalidInput("错误码只能由字母、数字和 . _ : - 组成，最长 100 个字符", code="error_code_invalid")
    return value


def _lock_external(session: Session, runner: Runner, instance_id: int, external_task_id: int, actor: Actor
                   ) -> tuple[ExternalTask, ProcessInstance]:
    """Lock a trial's instance, then its open external task (the runner's order); 404 for anything else.

    A real instance's external task answers like a missing one: a designer never acts for a real system.
    """
    get_trial(session=session, instance_id=instance_id, actor=actor)
    instance = runner.lock_instance(session, instance_id)
    row = session.execute(select(ExternalTask).where(ExternalTask.id == external_task_id).with_for_update()
                          .execution_options(populate_existing=True)).scalar_one_or_none()
    if row is None or row.instance_id != instance_id or not row.trial or not instance.trial:
        raise _hidden_external_task()
    if row.status != ExternalTaskStatus.open.value or instance.status != InstanceStatus.running.value:
        raise Conflict(f"外部任务“{row.name}”已处理或已撤回", code="trial_external_task_closed",
                       extra={"status": row.status})
    return row, instance


def complete_external(session: Session, runner: Runner, instance_id: int, external_task_id: int, *,
                      variables: Any, actor: Actor) -> ExternalTask:
    """Act as the outside system: complete a trial's external task with variables, as a worker would.

    The engine path and the audit event are the worker API's (app/external/flows.py), the actor being the
    designer and the event's detail saying `trial`."""
    row, instance = _lock_external(session, runner, instance_id, external_task_id, actor)
    check_variables(variables)
    now = clock.now()
    row.status = ExternalTaskStatus.completed.value
    row.completed_at, row.completed_by = now, actor.username
    session.add(row)
    session.flush()
    audit.append(session, at=now, actor=actor.username, action="external_task.completed",
                 entity_type="external_task", entity_id=row.id or 0, instance_id=row.instance_id,
                 detail={"task": row.name, "topic": row.topic, "variables": variables, "trial": True})
    runner.run_external(session, instance, lambda engine, wf: engine.complete_external_task(
        wf, row.spiff_task_id, variables), actor=actor)
    session.commit()
    return row


def external_error(session: Session, runner: Runner, instance_id: int, external_task_id: int, *,
                   error_code: Any, error_message: Any = None, variables: Any = None, actor: Actor
                   ) -> ExternalTask:
    """Act as the outside system: raise a BPMN error on a trial's external task.

    The error boundary event catching the code takes the trial on; one nothing catches is refused
    (422 `bpmn_error_uncaught`) and changes nothing."""
    row, instance = _lock_external(session, runner, instance_id, external_task_id, actor)
    code = check_error_code(error_code)
    message = str(error_message or "").strip()
    if len(message) > MAX_ERROR_MESSAGE:
        raise InvalidInput(f"错误说明最长 {MAX_ERROR_MESSAGE} 个字符", code="error_message_too_long")
    values = {} if variables is None else variables
    check_variables(values)
    now = clock.now()
    row.status = ExternalTaskStatus.completed.value
    row.completed_at, row.completed_by = now, actor.username
    row.error_message = (f"BPMN 错误 {code}" + (f"：{message}" if message else ""))[:MAX_ERROR_MESSAGE]
    session.add(row)
    session.flush()
    audit.append(session, at=now, actor=actor.username, action="external_task.bpmn_error",
                 entity_type="external_task", entity_id=row.id or 0, instance_id=row.instance_id,
                 detail={"task": row.name, "topic": row.topic, "error_code": code, "error_message": message or None,
                         "variables": values, "trial": True})
    runner.run_external(session, instance, lambda engine, wf: engine.external_task_error(
        wf, row.spiff_task_id, code, message, values), actor=actor)
    session.commit()
    return row


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None
