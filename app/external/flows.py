"""Use cases of external tasks (one commit each, the change and its audit event together).

Workers are systems, not people: they authenticate with a system client holding the scope
`external_task:work` (app/usage) and name themselves with a `worker_id`. The semantics follow Camunda 7's
REST API: fetch-and-lock by topic with a lock duration; only the worker holding an unexpired lock may
complete, report a failure, raise a BPMN error or extend the lock; an expired lock returns the task to the
queue; a failure with retries left makes it fetchable again after the retry timeout; a failure with no
retries left opens an incident that an administrator retries.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator
from sqlalchemy import and_, or_, select
from sqlmodel import Session

from app.audit import service as audit
from app.core.clock import clock
from app.core.errors import Conflict, Forbidden, InvalidInput, NotFound
from app.engine.external import ERROR_CODE, TOPIC
from app.engine.models import InstanceStatus
from app.engine.runner import Runner, check_variables
from app.external.models import MAX_ERROR_DETAILS, MAX_ERROR_MESSAGE, ExternalTask, ExternalTaskStatus
from app.external.topics import require_topic
from app.org.service import Actor
from app.usage.models import SystemClient

MAX_LOCK_MS = 7 * 24 * 3600 * 1000      # a week
MAX_RETRY_TIMEOUT_MS = 30 * 24 * 3600 * 1000
MAX_RETRIES = 1000
WORKER_ID = Field(min_length=1, max_length=128, description="工作者标识（同一系统的各个工作进程各用其一）")


# --- bodies ---------------------------------------------------------------------------------------------

class TopicIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=100, description="主题（BPMN 中的 camunda:topic）")
    lock_duration_ms: int = Field(ge=1, le=MAX_LOCK_MS, description="锁定时长（毫秒）")
    variables: list[str] | None = Field(default=None, max_length=100,
                                        description="只返回这些流程变量（不填：全部）")

    @field_validator("name")
    @classmethod
    def _topic(cls, value: str) -> str:
        if not TOPIC.match(value):
            raise ValueError("主题须以字母开头，由字母、数字和 . _ - 组成，最长 100 个字符")
        return value


class FetchAndLock(BaseModel):
    model_config = ConfigDict(extra="forbid")

    worker_id: str = WORKER_ID
    max_tasks: int = Field(ge=1, le=100, description="本次最多领取的任务数")
    topics: list[TopicIn] = Field(min_length=1, max_length=20, description="领取的主题及其锁定时长")


class CompleteBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    worker_id: str = WORKER_ID
    variables: dict[str, Any] = Field(default_factory=dict, description="带回流程的变量")


class FailureBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    worker_id: str = WORKER_ID
    error_message: str = Field(min_length=1, max_length=MAX_ERROR_MESSAGE, description="失败原因")
    error_details: str | None = Field(default=None, max_length=MAX_ERROR_DETAILS, description="详细信息")
    retries: int = Field(ge=0, le=MAX_RETRIES, description="剩余重试次数；0 表示不再重试，转为故障")
    retry_timeout_ms: int = Field(default=0, ge=0, le=MAX_RETRY_TIMEOUT_MS,
                                  description="多久之后可再次领取（毫秒）")


class BpmnErrorBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    worker_id: str = WORKER_ID
    error_code: str = Field(min_length=1, max_length=100, description="业务错误码（bpmn:error 的 errorCode）")
    error_message: str | None = Field(default=None, max_length=MAX_ERROR_MESSAGE, description="错误说明")
    variables: dict[str, Any] = Field(default_factory=dict, description="带回流程的变量")

    @field_validator("error_code")
    @classmethod
    def _code(cls, value: str) -> str:
        if not ERROR_CODE.match(value):
            raise ValueError("错误码只能由字母、数字和 . _ : - 组成")
        return value


class ExtendLockBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    worker_id: str = WORKER_ID
    new_duration_ms: int = Field(ge=1, le=MAX_LOCK_MS, description="从现在起的新锁定时长（毫秒）")


class RetryBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    retries: int = Field(default=1, ge=1, le=MAX_RETRIES, description="重新给予的重试次数")


# --- helpers --------------------------------------------------------------------------------------------

def _who(client: SystemClient, worker_id: str) -> str:
    return f"{client.code}/{worker_id}"[:200]


def _not_found() -> NotFound:
    return NotFound("外部任务不存在", code="external_task_not_found")


def _fetchable(now: datetime) -> Any:
    return or_(
        and_(ExternalTask.status == ExternalTaskStatus.open.value,
             or_(ExternalTask.next_attempt_at.is_(None), ExternalTask.next_attempt_at <= now)),
        and_(ExternalTask.status == ExternalTaskStatus.locked.value, ExternalTask.locked_until <= now))


def _lock_row(session: Session, task_id: int) -> ExternalTask:
    row = session.execute(select(ExternalTask).where(ExternalTask.id == task_id).with_for_update()
                          .execution_options(populate_existing=True)).scalar_one_or_none()
    if row is None:
        raise _not_found()
    return row


def _check_lock(row: ExternalTask, client: SystemClient, worker_id: str, now: datetime) -> None:
    """Only the worker holding an unexpired lock may act on a task, and only while the task's topic is
    still one of its system's (an administrator may have taken the topic away after the task was locked)."""
    require_topic(client.topics, row.topic)
    if row.status != ExternalTaskStatus.locked.value:
        raise Conflict(f"外部任务 {row.id} 当前未被锁定（{row.status}），请重新领取后再处理",
                       code="external_task_not_locked", extra={"status": row.status})
    if row.locked_by_client_id != client.id or row.worker_id != worker_id:
        raise Conflict(f"外部任务 {row.id} 已被其他工作者锁定，只有持有锁的工作者可以处理",
                       code="external_task_locked_by_other")
    if row.locked_until is None or row.locked_until <= now:
        raise Conflict(f"外部任务 {row.id} 的锁已过期，请重新领取", code="external_task_lock_expired",
                       extra={"locked_until": row.locked_until.isoformat() if row.locked_until else None})


def _lock_for_step(session: Session, runner: Runner, client: SystemClient, task_id: int, worker_id: str
                   ) -> tuple[ExternalTask, Any, datetime]:
    """Lock the task's instance, then the task (the runner's order), and check the worker's lock."""
    instance_id = session.execute(select(ExternalTask.instance_id).where(ExternalTask.id == task_id)
                                  ).scalar_one_or_none()
    if instance_id is None:
        raise _not_found()
    instance = runner.lock_instance(session, instance_id)
    row = _lock_row(session, task_id)
    now = clock.now()
    _check_lock(row, client, worker_id, now)
    if instance.status != InstanceStatus.running.value:  # the projection cancels its rows; defensive
        raise Conflict("流程已结束，外部任务不能再处理", code="instance_not_running")
    return row, instance, now


# --- worker use cases -----------------------------------------------------------------------------------

def fetch_and_lock(session: Session, client: SystemClient, body: FetchAndLock) -> list[tuple[ExternalTask, list[str] | None]]:
    """Lock up to max_tasks fetchable tasks of the topics for the worker; return them with their variable filter.

    Every topic asked for must be one the worker's system may work (its `topics`), else 403
    `topic_not_allowed` and nothing is locked.

    PostgreSQL: `SELECT … FOR UPDATE SKIP LOCKED`, so concurrent fetches on any number of replicas never
    hand one task to two workers (a row another fetch is locking is skipped, not waited for). SQLite:
    the write transaction is the database's only writer (BEGIN IMMEDIATE), which serializes fetches.
    """
    now = clock.now()
    locked: list[tuple[ExternalTask, list[str] | None]] = []
    seen: set[str] = set()
    for topic in body.topics:
        if topic.name in seen:
            raise InvalidInput(f"主题“{topic.name}”重复", code="topic_repeated")
        seen.add(topic.name)
    for topic in body.topics:
        require_topic(client.topics, topic.name)  # all of them, before anything is locked
    for topic in body.topics:
        room = body.max_tasks - len(locked)
        if room <= 0:
            break
        rows = session.execute(
            select(ExternalTask).where(ExternalTask.topic == topic.name, ExternalTask.trial.is_(False),
                                       _fetchable(now))
            .order_by(ExternalTask.id).limit(room)
            .with_for_update(skip_locked=True).execution_options(populate_existing=True)).scalars().all()
        until = now + timedelta(milliseconds=topic.lock_duration_ms)
        for row in rows:
            previous = row.worker_id if row.status == ExternalTaskStatus.locked.value else None
            row.status = ExternalTaskStatus.locked.value
            row.worker_id, row.locked_by_client_id, row.locked_until = body.worker_id, client.id, until
            row.attempts += 1
            session.add(row)
            audit.append(session, at=now, actor=_who(client, body.worker_id), action="external_task.locked",
                         entity_type="external_task", entity_id=row.id or 0, instance_id=row.instance_id,
                         detail={"task": row.name, "topic": row.topic, "client": client.code,
                                 "worker_id": body.worker_id, "locked_until": until.isoformat(),
                                 **({"lock_expired_of": previous} if previous else {})})
            locked.append((row, topic.variables))
    session.commit()
    return locked


def complete(session: Session, runner: Runner, client: SystemClient, task_id: int, body: CompleteBody
             ) -> ExternalTask:
    """Complete a locked task with the worker's variables and run its instance on."""
    check_variables(body.variables)
    row, instance, now = _lock_for_step(session, runner, client, task_id, body.worker_id)
    row.status = ExternalTaskStatus.completed.value
    row.completed_at, row.completed_by, row.locked_until = now, _who(client, body.worker_id), None
    session.add(row)
    session.flush()
    audit.append(session, at=now, actor=_who(client, body.worker_id), action="external_task.completed",
                 entity_type="external_task", entity_id=row.id or 0, instance_id=row.instance_id,
                 detail={"task": row.name, "topic": row.topic, "client": client.code, "worker_id": body.worker_id,
                         "variables": body.variables})
    runner.run_external(session, instance, lambda engine, wf: engine.complete_external_task(
        wf, row.spiff_task_id, body.variables), actor=_who(client, body.worker_id))
    session.commit()
    return row


def bpmn_error(session: Session, runner: Runner, client: SystemClient, task_id: int, body: BpmnErrorBody
               ) -> ExternalTask:
    """Raise a BPMN error on a locked task: the error boundary event that catches it takes the instance on.

    An error no boundary event catches is refused (422) and changes nothing."""
    check_variables(body.variables)
    row, instance, now = _lock_for_step(session, runner, client, task_id, body.worker_id)
    row.status = ExternalTaskStatus.completed.value
    row.completed_at, row.completed_by, row.locked_until = now, _who(client, body.worker_id), None
    row.error_message = f"BPMN 错误 {body.error_code}" + (f"：{body.error_message}" if body.error_message else "")
    row.error_message = row.error_message[:MAX_ERROR_MESSAGE]
    session.add(row)
    session.flush()
    audit.append(session, at=now, actor=_who(client, body.worker_id), action="external_task.bpmn_error",
                 entity_type="external_task", entity_id=row.id or 0, instance_id=row.instance_id,
                 detail={"task": row.name, "topic": row.topic, "client": client.code, "worker_id": body.worker_id,
                         "error_code": body.error_code, "error_message": body.error_message,
                         "variables": body.variables})
    runner.run_external(session, instance, lambda engine, wf: engine.external_task_error(
        wf, row.spiff_task_id, body.error_code, body.error_message or "", body.variables),
        actor=_who(client, body.worker_id))
    session.commit()
    return row


def failure(session: Session, client: SystemClient, task_id: int, body: FailureBody) -> ExternalTask:
    """Record a worker's failure: fetchable again after the retry timeout, or an incident when no retries are left."""
    row = _lock_row(session, task_id)
    now = clock.now()
    _check_lock(row, client, body.worker_id, now)
    row.retries = body.retries
    row.error_message = body.error_message
    row.error_details = body.error_details
    row.locked_until = None
    who = _who(client, body.worker_id)
    detail = {"task": row.name, "topic": row.topic, "client": client.code, "worker_id": body.worker_id,
              "error_message": body.error_message, "retries": body.retries}
    if body.retries > 0:
        row.status = ExternalTaskStatus.open.value
        row.next_attempt_at = now + timedelta(milliseconds=body.retry_timeout_ms) if body.retry_timeout_ms else None
        action = "external_task.failed"
        detail["next_attempt_at"] = row.next_attempt_at.isoformat() if row.next_attempt_at else None
    else:
        row.status = ExternalTaskStatus.incident.value
        row.next_attempt_at = None
        row.incident_at, row.incident_by = now, who
        row.resolved_at = row.resolved_by = None
        action = "external_task.incident_opened"
    session.add(row)
    audit.append(session, at=now, actor=who, action=action, entity_type="external_task", entity_id=row.id or 0,
                 instance_id=row.instance_id, detail=detail)
    session.commit()
    return row


def extend_lock(session: Session, client: SystemClient, task_id: int, body: ExtendLockBody) -> ExternalTask:
    """Extend the worker's lock to `new_duration_ms` from now."""
    row = _lock_row(session, task_id)
    now = clock.now()
    _check_lock(row, client, body.worker_id, now)
    row.locked_until = now + timedelta(milliseconds=body.new_duration_ms)
    session.add(row)
    audit.append(session, at=now, actor=_who(client, body.worker_id), action="external_task.lock_extended",
                 entity_type="external_task", entity_id=row.id or 0, instance_id=row.instance_id,
                 detail={"task": row.name, "topic": row.topic, "client": client.code, "worker_id": body.worker_id,
                         "locked_until": row.locked_until.isoformat()})
    session.commit()
    return row


# --- administrators -------------------------------------------------------------------------------------

def require_admin(actor: Actor) -> None:
    if not actor.has_role("admin"):
        raise Forbidden("只有系统管理员可以处理外部任务故障", code="admin_required")


def retry_incident(session: Session, actor: Actor, task_id: int, retries: int) -> ExternalTask:
    """Give an incident's task new retries: it is fetchable again at once."""
    require_admin(actor)
    row = session.execute(select(ExternalTask).where(ExternalTask.id == task_id).with_for_update()
                          .execution_options(populate_existing=True)).scalar_one_or_none()
    if row is None:
        raise NotFound("故障不存在", code="incident_not_found")
    if row.status != ExternalTaskStatus.incident.value:
        raise Conflict("该外部任务不处于故障状态，无需重试", code="incident_not_open", extra={"status": row.status})
    now = clock.now()
    row.status = ExternalTaskStatus.open.value
    row.retries, row.next_attempt_at = retries, None
    row.worker_id = row.locked_until = row.locked_by_client_id = None
    row.resolved_at, row.resolved_by = now, actor.username
    session.add(row)
    audit.append(session, at=now, actor=actor.username, action="external_task.retried", entity_type="external_task",
                 entity_id=row.id or 0, instance_id=row.instance_id,
                 detail={"task": row.name, "topic": row.topic, "retries": retries,
                         "error_message": row.error_message})
    session.commit()
    return row
