"""Run process instances against the database: deploy, start, complete, fire timers, project.

The runner flushes and never commits: the calling flow commits the state change and its audit
events together.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, time
from pathlib import Path
from typing import Any
from uuid import uuid4

from sqlalchemy import bindparam, func, insert, inspect, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import make_transient_to_detached
from sqlalchemy.orm.attributes import set_committed_value
from sqlalchemy.orm.exc import StaleDataError
from SpiffWorkflow.exceptions import WorkflowException
from sqlmodel import Session

from app.audit import service as audit
from app.core.clock import SHANGHAI, clock
from app.core.errors import Conflict, Forbidden, InvalidInput, NotFound
from app.engine import forms
from app.engine.bpmn import DeployedProcess, called_processes, describe, parse_xml
from app.engine.core import Called, Engine, MigrationPlan, ReadyTask
from app.engine.errors import BpmnRejected, MigrationRefused
from app.engine.external import ReadyExternalTask
from app.engine.hooks import hooks
from app.engine.models import (
    InstanceStatus,
    MessageSubscription,
    ProcessDefinition,
    ProcessInstance,
    Task,
    TaskStatus,
)
from app.org.models import Department, User, UserRole
from app.org.service import Actor
from app.workdays.service import DeadlinePolicy, check_due

# Sessions of a request hold a handful of objects; a long batch session is not scanned.
_SCAN_LIMIT = 64
_TASK = Task.__table__  # type: ignore[attr-defined]
_INSTANCE = ProcessInstance.__table__  # type: ignore[attr-defined]
# The hot path's statements, built once: SQLAlchemy memoizes a statement's cache key, so a prebuilt one
# skips both building the statement and keying it on every request (issue 12: a measurable share of a
# request was spent constructing these).
_LATEST_ID = (select(ProcessDefinition.id).where(ProcessDefinition.process_key == bindparam("process_key"))
              .order_by(ProcessDefinition.version.desc()).limit(1))
_LOCK_TASK_INSTANCE = (
    select(ProcessInstance)
    .where(ProcessInstance.id == select(Task.instance_id).where(Task.id == bindparam("task_id")).scalar_subquery())
    .with_for_update().execution_options(populate_existing=True))
_TASK_BY_ID = select(Task).where(Task.id == bindparam("task_id")).execution_options(populate_existing=True)
_LOCK_INSTANCE = (select(ProcessInstance).where(ProcessInstance.id == bindparam("instance_id"))
                  .with_for_update().execution_options(populate_existing=True))
_OPEN_TASKS = select(Task).where(Task.instance_id == bindparam("instance_id"), Task.status == TaskStatus.open.value)
# A new task row: one Core INSERT ... RETURNING id (the ORM's unit of work around it cost more than the
# statement); the Task object handed to the hooks is built the same way and never enters the session.
_INSERT_TASK = insert(_TASK).returning(_TASK.c.id)
_TASK_COLUMNS = tuple(c.key for c in _TASK.columns if c.key != "id")
_COMPLETE_TASK = (update(_TASK).where(_TASK.c.id == bindparam("task_id"))
                  .values(status=bindparam("status"), completed_at=bindparam("completed_at"),
                          completed_by_id=bindparam("completed_by_id"), assignee_id=bindparam("assignee_id"),
                          data=bindparam("data", type_=_TASK.c.data.type)))
# What a step changes on its instance, written under the optimistic version check in one Core UPDATE.
_STEPPED = ("status", "ended_at", "next_timer_at", "state", "updated_at")
_SAVE_STEP = (update(_INSTANCE)
              .where(_INSTANCE.c.id == bindparam("instance_id"), _INSTANCE.c.lock_version == bindparam("old_version"))
              .values(lock_version=bindparam("new_version"),
                      **{key: bindparam(key, type_=_INSTANCE.c[key].type) for key in _STEPPED}))
_INSTANCE_COLUMNS = tuple(c.key for c in _INSTANCE.columns if c.key != "id")
_INSERT_INSTANCE = insert(_INSTANCE).returning(_INSTANCE.c.id)
# Called with (session, process_key, instance_id) after the runner opened or closed a task row with a Core
# statement above, which no flush sees: what the flush listeners keep in step with tasks (the authority
# console's next deadline, app/authority/next_due.py) registers here too.
CORE_TASK_WRITES: list[Callable[[Session, str, int], None]] = []


def _core_task_written(session: Session, task: Task) -> None:
    for listener in CORE_TASK_WRITES:
        listener(session, task.process_key, task.instance_id)


def actor_name(actor: Actor | str) -> str:
    """Return the name the audit trail records for an actor."""
    return actor if isinstance(actor, str) else actor.username


def may_work(task: Task, actor: Actor) -> bool:
    """Tell whether a person may work a task: its department and role, and not claimed by another."""
    if task.department_id != actor.department_id or (task.role and task.role not in actor.roles):
        return False
    return task.assignee_id in (None, actor.id)


@dataclass(frozen=True)
class Step:
    """What one engine step decided, read off the workflow before its state is serialized."""

    ready: list[ReadyTask]
    completed: bool
    variables: dict[str, Any] | None  # for the process's after-step hook (None: it has none)
    messages: tuple[str, ...] = ()  # the messages the instance waits for now
    external: tuple[ReadyExternalTask, ...] = ()  # the external tasks waiting for a worker now


@dataclass(frozen=True)
class DefinitionInfo:
    """What the runner needs of a deployed version; rows never change, so it is cached for good."""

    id: int
    process_key: str
    version: int
    content_hash: str
    meta: dict[str, Any]


# Session.info key: the runtime's cache of DefinitionInfo by definition id (app.runtime puts it there),
# so that the areas' hooks read a definition's metadata as the runner does, without a query.
DEFINITIONS_INFO = "engine_definitions"


def definition_info(session: Session, definition_id: int,
                    cache: dict[int, DefinitionInfo] | None = None) -> DefinitionInfo:
    """Return a deployed version's metadata, cached for good (definitions are immutable rows)."""
    if cache is None:
        cache = session.info.get(DEFINITIONS_INFO)
    info = cache.get(definition_id) if cache is not None else None
    if info is None:
        row = session.execute(
            select(ProcessDefinition.id, ProcessDefinition.process_key, ProcessDefinition.version,
                   ProcessDefinition.content_hash, ProcessDefinition.meta)
            .where(ProcessDefinition.id == definition_id)
        ).one_or_none()
        if row is None:
            raise NotFound("流程定义不存在", code="definition_not_found")
        info = DefinitionInfo(*row)
        if cache is not None:
            cache[definition_id] = info
    return info


class Runner:
    """The engine facade bound to the database rows of definitions, instances and tasks."""

    def __init__(self, engine: Engine, deadlines: DeadlinePolicy | None = None,
                 definitions: dict[int, DefinitionInfo] | None = None) -> None:
        self.engine = engine
        self.deadlines = deadlines
        # Shared with the runtime's sessions (DEFINITIONS_INFO) when given.
        self._definitions: dict[int, DefinitionInfo] = {} if definitions is None else definitions

    def definition(self, session: Session, definition_id: int) -> DefinitionInfo:
        """Return a deployed version's metadata (cached: definitions are immutable rows)."""
        return definition_info(session, definition_id, self._definitions)

    def _xml_loader(self, session: Session, definition_id: int) -> Callable[[], bytes]:
        def load() -> bytes:
            return bytes(session.execute(
                select(ProcessDefinition.bpmn_xml).where(ProcessDefinition.id == definition_id)
            ).scalar_one())
        return load

    def called(self, session: Session, info: DefinitionInfo) -> Called | None:
        """Return the callee versions a definition was deployed against, for the engine (None: it calls none)."""
        pins = info.meta.get("called") or {}
        return {key: (pin["content_hash"], self._xml_loader(session, int(pin["definition_id"])))
                for key, pin in pins.items()} or None

    def _restore(self, session: Session, instance: ProcessInstance) -> tuple[DefinitionInfo, Any]:
        info = self.definition(session, instance.definition_id)
        workflow = self.engine.restore(instance.state, info.content_hash,
                                       self._xml_loader(session, info.id), self.called(session, info))
        return info, workflow

    def restore_workflow(self, session: Session, instance: ProcessInstance) -> Any:
        """Rebuild an instance's workflow on its definition version (and the callee versions it is pinned to)."""
        return self._restore(session, instance)[1]

    def _resolve_called(self, session: Session, xml: bytes) -> tuple[dict[str, dict[str, Any]], dict[str, bytes]]:
        """Pin the processes a file's call activities name to their newest deployed versions.

        A callee brings the versions it was itself deployed against. Returns (pins for the caller's meta,
        BPMN bytes by process key); a callee that is not deployed is left out (the lint names it).
        """
        pins: dict[str, dict[str, Any]] = {}
        xmls: dict[str, bytes] = {}
        todo: list[tuple[str, int | None]] = [(key, None) for key in called_processes(parse_xml(xml))]
        while todo:
            key, definition_id = todo.pop(0)
            query = select(ProcessDefinition.id, ProcessDefinition.version, ProcessDefinition.content_hash,
                           ProcessDefinition.meta, ProcessDefinition.bpmn_xml)
            query = query.where(ProcessDefinition.id == definition_id) if definition_id is not None else \
                query.where(ProcessDefinition.process_key == key).order_by(ProcessDefinition.version.desc()).limit(1)
            row = session.execute(query).one_or_none()
            if row is None:
                continue
            if key in pins:
                if pins[key]["content_hash"] != row.content_hash:
                    raise BpmnRejected([(None, f"流程“{key}”在调用链中被以不同版本（第 {pins[key]['version']} 版"
                                               f"与第 {row.version} 版）调用，请先以最新版本重新部署调用它的流程",
                                         "call_target")])
                continue
            pins[key] = {"definition_id": row.id, "version": row.version, "content_hash": row.content_hash}
            xmls[key] = bytes(row.bpmn_xml)
            todo.extend((sub_key, int(pin["definition_id"])) for sub_key, pin in (row.meta.get("called") or {}).items())
        return pins, xmls

    # ---- definitions -------------------------------------------------------------------------

    def check(self, xml: bytes, session: Session | None = None) -> DeployedProcess:
        """Lint a BPMN file as every deploy path does (deadlines too); raise BpmnRejected listing each problem.

        With a session, the processes its call activities name must be deployed (they are compiled in);
        without one, only the file itself is checked.
        """
        described = describe(xml, self._resolve_called(session, xml)[1] if session is not None else None)
        if self.deadlines is not None:
            problems = [(spec, msg) for spec, meta in described.user_tasks.items()
                        if (msg := check_due(dataclasses.asdict(meta), self.deadlines.settings))]
            if problems:
                raise BpmnRejected([(spec, f"用户任务“{spec}”：{msg}", "deadline") for spec, msg in problems])
        return described

    def deploy(self, session: Session, xml: bytes, *, filename: str | None, actor: Actor | str
               ) -> tuple[ProcessDefinition, bool]:
        """Store a BPMN file as a new version unless the same content is already deployed (start-up)."""
        described = self.check(xml, session)
        existing = session.execute(
            select(ProcessDefinition).where(ProcessDefinition.process_key == described.process_key,
                                            ProcessDefinition.content_hash == described.content_hash)
            .order_by(ProcessDefinition.version.desc()).limit(1)
        ).scalar_one_or_none()
        if existing is not None:
            return existing, False
        return self._insert(session, described, xml, filename=filename, actor=actor), True

    def deploy_new_version(self, session: Session, xml: bytes, *, filename: str | None, actor: Actor | str,
                           approved_by: str | None = None, detail: dict[str, Any] | None = None
                           ) -> ProcessDefinition:
        """Store a BPMN file as the process's next version, even if an older version had the same bytes.

        That is how a rollback deploys an earlier version again; only a file equal to the newest version
        is refused (it would change nothing).
        """
        described = self.check(xml, session)
        latest_hash = session.execute(
            select(ProcessDefinition.content_hash).where(ProcessDefinition.process_key == described.process_key)
            .order_by(ProcessDefinition.version.desc()).limit(1)
        ).scalar_one_or_none()
        if latest_hash == described.content_hash:
            raise Conflict(f"流程“{described.process_key}”的最新版本与此文件完全相同，无需再次部署",
                           code="same_as_latest")
        return self._insert(session, described, xml, filename=filename, actor=actor, approved_by=approved_by,
                            detail=detail)

    def _insert(self, session: Session, described: DeployedProcess, xml: bytes, *, filename: str | None,
                actor: Actor | str, approved_by: str | None = None, detail: dict[str, Any] | None = None
                ) -> ProcessDefinition:
        version = (session.execute(
            select(func.max(ProcessDefinition.version)).where(
                ProcessDefinition.process_key == described.process_key)
        ).scalar() or 0) + 1
        now = clock.now()
        definition = ProcessDefinition(
            process_key=described.process_key, name=(described.name or described.process_key)[:200],
            version=version, content_hash=described.content_hash, bpmn_xml=xml, filename=filename,
            meta={**_meta(described), **({"called": pins} if (pins := self._resolve_called(session, xml)[0]) else {})},
            deployed_by=actor_name(actor), deployed_at=now, approved_by=approved_by,
        )
        session.add(definition)
        try:
            session.flush()
        except IntegrityError:
            # Another deploy of the same process took this version number in a concurrent transaction.
            raise Conflict(f"流程“{described.process_key}”刚刚部署了新版本，请刷新后重试",
                           code="version_conflict") from None
        audit.append(session, at=now, actor=approved_by or actor_name(actor), action="process.deployed",
                     entity_type="process_definition", entity_id=f"{definition.process_key}:{version}",
                     detail={"content_hash": definition.content_hash, "filename": filename,
                             "deployed_by": actor_name(actor), "approved_by": approved_by, **(detail or {})})
        return definition

    def deploy_directory(self, session: Session, directory: Path, *, actor: Actor | str = "system"
                         ) -> list[ProcessDefinition]:
        """Deploy every .bpmn file of a directory (same content keeps its version)."""
        return [self.deploy(session, path.read_bytes(), filename=path.name, actor=actor)[0]
                for path in sorted(directory.glob("*.bpmn"))]

    def version(self, session: Session, process_key: str, version: int) -> DefinitionInfo:
        """Return one deployed version of a process or raise NotFound."""
        definition_id = session.execute(
            select(ProcessDefinition.id).where(ProcessDefinition.process_key == process_key,
                                               ProcessDefinition.version == version)
        ).scalar_one_or_none()
        if definition_id is None:
            raise NotFound(f"流程“{process_key}”没有第 {version} 版", code="process_version_not_found")
        return self.definition(session, definition_id)

    def latest(self, session: Session, process_key: str) -> DefinitionInfo:
        """Return the newest version of a process or raise NotFound."""
        definition_id = session.execute(_LATEST_ID, {"process_key": process_key}).scalar_one_or_none()
        if definition_id is None:
            raise NotFound(f"流程“{process_key}”未部署", code="process_not_found")
        return self.definition(session, definition_id)

    # ---- instances ---------------------------------------------------------------------------

    def start(self, session: Session, process_key: str, *, variables: dict[str, Any],
              actor: Actor | str, subject: str = "", business_ref: str | None = None,
              department_id: int | None = None, trial: bool = False, version: int | None = None
              ) -> ProcessInstance:
        """Start a process (its newest version unless one is named), step it, store it and project its tasks.

        A trial run (`trial`) is a designer's: its tasks reach no inbox and no business hook runs for it.
        """
        definition = self.latest(session, process_key) if version is None else \
            self.version(session, process_key, version)
        _check_variables(variables)
        initiator = definition.meta.get("initiator")
        if initiator:
            # camunda:initiator: the starter's username, never what the caller sent under that name;
            # a system start leaves it unset (a task designated by it then answers task_assignee_missing).
            variables = {k: v for k, v in variables.items() if k != initiator}
            if not isinstance(actor, str):
                variables[initiator] = actor.username
        workflow = self.engine.start(definition.content_hash, self._xml_loader(session, definition.id),
                                     variables, self.called(session, definition))
        now = clock.now()
        instance = ProcessInstance(
            definition_id=definition.id, process_key=process_key, status=InstanceStatus.running.value,
            state="", subject=subject[:300], business_ref=business_ref,
            started_by_id=None if isinstance(actor, str) else actor.id,
            department_id=department_id if department_id is not None else
            (None if isinstance(actor, str) else actor.department_id),
            started_at=now, updated_at=now, trial=trial,
        )
        # The row is inserted with its state, status and timer already set: one INSERT, no UPDATE.
        step = self._advance(instance, workflow, now)
        # Core INSERT, then the object joins the session as the persistent row it now is (no unit of work).
        instance.lock_version = 1  # what the ORM's version counter starts at
        instance.id = session.execute(
            _INSERT_INSTANCE, {k: getattr(instance, k) for k in _INSTANCE_COLUMNS}).scalar_one()
        make_transient_to_detached(instance)
        session.add(instance)
        audit.append(session, at=now, actor=actor_name(actor), action="instance.started",
                     entity_type="process_instance", entity_id=instance.id, instance_id=instance.id,
                     detail={"process_key": process_key, "version": definition.version, "subject": subject,
                             **({"trial": True} if trial else {})})
        self._after_step(session, instance, definition, step, actor, now, new_instance=True)
        session.flush()
        return instance

    def lock_instance(self, session: Session, instance_id: int) -> ProcessInstance:
        """Load an instance under a row lock (PostgreSQL; SQLite holds the write lock already)."""
        instance = session.execute(_LOCK_INSTANCE, {"instance_id": instance_id}).scalar_one_or_none()
        if instance is None:
            raise NotFound("流程实例不存在", code="instance_not_found")
        return instance

    def lock_task(self, session: Session, task_id: int) -> tuple[Task, ProcessInstance]:
        """Lock a task's instance, then load the task: both as they are under the lock."""
        instance = session.execute(_LOCK_TASK_INSTANCE, {"task_id": task_id}).scalar_one_or_none()
        if instance is None:
            raise NotFound("任务不存在", code="task_not_found")
        task = session.execute(_TASK_BY_ID, {"task_id": task_id}).scalar_one()
        return task, instance

    def candidate_roles(self, session: Session, task: Task) -> list[str]:
        """Return the roles that may work a task (its camunda:candidateGroups), its projected role at least."""
        instance_definition = session.execute(
            select(ProcessInstance.definition_id).where(ProcessInstance.id == task.instance_id)).scalar_one()
        meta = self.definition(session, instance_definition).meta.get("user_tasks", {}).get(task.task_spec, {})
        roles = [str(r) for r in meta.get("candidate_groups") or []]
        return roles or ([task.role] if task.role else [])

    def complete_task(self, session: Session, task_id: int, data: Any, actor: Actor, *,
                      locked: tuple[Task, ProcessInstance] | None = None, trial_role: str | None = None) -> Task:
        """Check and complete one human task, step the instance, save it and re-project.

        `locked` is what lock_task returned for this task in the current transaction, if the caller
        already took the lock (to check visibility first); otherwise the lock is taken here.
        `trial_role`: a designer acts a trial run's task as this role (checked by the caller: the task
        is a trial's and the role one of its candidates); department and claim do not apply.
        """
        task, instance = locked if locked is not None else self.lock_task(session, task_id)
        if task.status != TaskStatus.open.value:
            raise Conflict("该任务已办结，不能重复提交", code="task_closed")
        if trial_role is None:
            if task.department_id != actor.department_id or (task.role and task.role not in actor.roles):
                raise Forbidden("您不是该任务的办理人", code="task_not_yours")
            if task.assignee_id not in (None, actor.id):
                raise Conflict("该任务已被他人签收", code="task_claimed_by_other")
        elif not task.trial:
            raise NotFound("任务不存在", code="task_not_found")
        clean = forms.validate(task.form, data)
        validator = hooks.validators.get((task.process_key, task.task_spec))
        if validator is not None:
            clean = validator(session=session, instance=instance, task=task, data=clean, actor=actor)
        definition, workflow = self._restore(session, instance)
        self.engine.complete_user_task(workflow, task.spiff_task_id, clean)
        now = clock.now()
        closed = {"status": TaskStatus.completed.value, "completed_at": now, "completed_by_id": actor.id,
                  "assignee_id": actor.id, "data": clean}
        # One Core UPDATE (the instance lock is held); the loaded object is told these are the row's values.
        session.execute(_COMPLETE_TASK, {"task_id": task.id, **closed})
        for key, value in closed.items():
            set_committed_value(task, key, value)
        _core_task_written(session, task)
        _task_closed(session, task, now)
        trial = {"trial": True, "as_role": trial_role} if trial_role is not None else {}
        audit.append(session, at=now, actor=actor.username, action="task.completed", entity_type="task",
                     entity_id=task.id, instance_id=instance.id,
                     detail={"task": task.name, "task_spec": task.task_spec, "data": clean, **trial})
        self._step(session, instance, definition, workflow, actor, now)
        return task

    def fire_timers(self, session: Session, instance_id: int, *, actor: Actor | str = "system") -> bool:
        """Fire the due timers of one instance; return whether anything was due."""
        instance = self.lock_instance(session, instance_id)
        now = clock.now()
        if instance.status != InstanceStatus.running.value or instance.next_timer_at is None \
                or instance.next_timer_at > now:
            return False
        definition, workflow = self._restore(session, instance)
        self.engine.fire_timers(workflow, now)
        audit.append(session, at=now, actor=actor_name(actor), action="timer.fired",
                     entity_type="process_instance", entity_id=instance.id, instance_id=instance.id,
                     detail={"due": instance.next_timer_at.isoformat()})
        self._step(session, instance, definition, workflow, actor, now)
        return True

    def cancel(self, session: Session, instance_id: int, *, actor: Actor | str, reason: str) -> ProcessInstance:
        """Cancel a running instance and its open tasks."""
        instance = self.lock_instance(session, instance_id)
        if instance.status != InstanceStatus.running.value:
            raise Conflict("流程已结束，不能撤销", code="instance_not_running")
        definition, workflow = self._restore(session, instance)
        self.engine.cancel(workflow)
        now = clock.now()
        audit.append(session, at=now, actor=actor_name(actor), action="instance.cancelled",
                     entity_type="process_instance", entity_id=instance.id, instance_id=instance.id,
                     detail={"reason": reason})
        self._project(session, instance, definition, self.engine.ready_user_tasks(workflow), now)
        self._subscribe(session, instance, definition, ())
        self._project_external(session, instance, definition, (), now)
        instance.status = InstanceStatus.cancelled.value
        instance.ended_at = now
        instance.next_timer_at = None
        self._save(session, instance, workflow, now)
        return instance

    # ---- going back (退回, 撤回) -----------------------------------------------------------------

    def returnable_steps(self, session: Session, instance: ProcessInstance, task: Task | None = None
                         ) -> list[tuple[str, str]]:
        """Return (element id, name) of the earlier user-task steps the instance can go back to.

        Given an open task, only the steps on its way (resetting withdraws it); the designer may forbid
        returning from a step with the extension property allow_return="false".
        """
        if instance.status != InstanceStatus.running.value:
            return []
        info, workflow = self._restore(session, instance)
        if task is not None and not self.may_return_from(info, task.task_spec):
            return []
        return self.engine.returnable_steps(workflow, task.spiff_task_id if task is not None else None)

    @staticmethod
    def may_return_from(info: DefinitionInfo, task_spec: str) -> bool:
        """Tell whether the designer allows 退回 from a step (camunda:properties allow_return)."""
        props = (info.meta.get("user_tasks", {}).get(task_spec, {}).get("properties") or {})
        return str(props.get("allow_return", "true")).strip().lower() not in ("false", "0", "no")

    def reset_instance(self, session: Session, instance: ProcessInstance, element_id: str, actor: Actor | str,
                       *, from_task: Task | None = None) -> None:
        """Reopen an earlier step of a locked instance and re-project: rows no longer ready are cancelled
        and the reopened step gets a new row (deadline counted from now). Flushes, never commits."""
        if instance.status != InstanceStatus.running.value:
            raise Conflict("流程已结束，不能回到之前的步骤", code="instance_not_running")
        definition, workflow = self._restore(session, instance)
        steps = dict(self.engine.returnable_steps(workflow, from_task.spiff_task_id if from_task else None))
        if element_id not in steps:
            raise Conflict("流程无法回到所选步骤（该步骤不在本任务之前，或其记录已归档）", code="step_not_returnable")
        reopened = self.engine.reset_to(workflow, element_id, from_task.spiff_task_id if from_task else None)
        # The first pass's row of the reopened step stays as history under a fresh key: the engine task
        # keeps its id, and its new open row takes that id (unique per instance).
        session.execute(update(Task).where(Task.instance_id == instance.id, Task.spiff_task_id == reopened)
                        .values(spiff_task_id=str(uuid4())).execution_options(synchronize_session="fetch"))
        self._step(session, instance, definition, workflow, actor, clock.now())

    # ---- migration ---------------------------------------------------------------------------

    def migration_check(self, session: Session, instance: ProcessInstance, to: DefinitionInfo
                        ) -> tuple[list[str], list[str]]:
        """Return (the steps an instance is at, why it cannot move to `to` in Chinese: empty if it can)."""
        workflow, _, problems = self._plan_migration(session, instance, to)
        return self.engine.current_steps(workflow), problems

    def migrate(self, session: Session, instance_id: int, to: DefinitionInfo, *, actor: Actor | str
                ) -> DefinitionInfo:
        """Move a running instance of an older version onto `to` under its lock; return the old version.

        Open task rows whose engine task survives keep their row (id, claim, deadline); rows whose
        task is gone are cancelled and new ready tasks get rows, as after any step. Hooks of the
        process do not run: nothing was decided, only the definition under the instance changed.
        """
        instance = self.lock_instance(session, instance_id)
        if instance.process_key != to.process_key:
            raise NotFound("流程实例不存在", code="instance_not_found")
        if instance.status != InstanceStatus.running.value:
            raise MigrationRefused("流程已结束，无需迁移", code="instance_not_running")
        current = self.definition(session, instance.definition_id)
        if current.version >= to.version:
            raise MigrationRefused(f"实例已在版本 {current.version} 上，不能迁移到版本 {to.version}",
                                   code="instance_not_older")
        workflow, plan, problems = self._plan_migration(session, instance, to)
        if problems:
            raise MigrationRefused("；".join(problems), code="instance_not_movable")
        loader = self._xml_loader(session, to.id)
        try:
            self.engine.migrate(workflow, plan)
            state = self.engine.dump(workflow)
            # Prove the new state restores on the new version before anything is written.
            moved = self.engine.restore(state, to.content_hash, loader, self.called(session, to))
        except (WorkflowException, KeyError, ValueError, TypeError, AttributeError) as exc:
            raise MigrationRefused(f"实例无法对应到新版本：{type(exc).__name__}: {exc}",
                                   code="migration_failed") from exc
        now = clock.now()
        instance.definition_id = to.id
        instance.state = state
        instance.next_timer_at = self.engine.next_timer_at(moved)
        instance.updated_at = now
        self._flush_instance(session, instance)
        audit.append(session, at=now, actor=actor_name(actor), action="instance.migrated",
                     entity_type="process_instance", entity_id=instance.id, instance_id=instance.id,
                     detail={"process_key": instance.process_key, "from_version": current.version,
                             "to_version": to.version, "content_hash": to.content_hash})
        self._project(session, instance, to, self.engine.ready_user_tasks(moved), now)
        self._subscribe(session, instance, current, self.engine.waiting_messages(moved), force=True)
        self._project_external(session, instance, to, self.engine.ready_external_tasks(moved), now, force=True)
        self._flush_instance(session, instance)
        return current

    def _plan_migration(self, session: Session, instance: ProcessInstance, to: DefinitionInfo
                        ) -> tuple[Any, MigrationPlan, list[str]]:
        try:
            current, workflow = self._restore(session, instance)
            plan = self.engine.plan_migration(workflow, to.content_hash, self._xml_loader(session, to.id),
                                              self.called(session, to))
        except (WorkflowException, KeyError, ValueError, TypeError, AttributeError) as exc:
            raise MigrationRefused(f"无法读取实例或比较新版本：{type(exc).__name__}: {exc}",
                                   code="migration_failed") from exc
        problems = [problem.message for problem in plan.problems]
        named = {problem.element for problem in plan.problems}
        # What the open task rows were projected from (role, deadline, form, department) is read
        # at deploy, not part of the spec: a change there would leave the kept row out of step.
        old_metas = current.meta.get("user_tasks", {})
        new_metas = to.meta.get("user_tasks", {})
        for ready in self.engine.ready_user_tasks(workflow):
            if ready.task_spec in named:
                continue
            old, new = old_metas.get(ready.task_spec, {}), new_metas.get(ready.task_spec, {})
            changed = [label for key, label in _PROJECTED_META if old.get(key) != new.get(key)]
            if changed:
                named.add(ready.task_spec)
                problems.append(f"当前所在步骤 {ready.name}（{ready.task_spec}）的"
                                f"{'、'.join(changed)}在新版本中已变更")
        return workflow, plan, problems

    def variables(self, session: Session, instance: ProcessInstance) -> dict[str, Any]:
        """Return an instance's process variables (deserializes: not for lists)."""
        _, workflow = self._restore(session, instance)
        return self.engine.data(workflow)

    # ---- internals ---------------------------------------------------------------------------

    def _advance(self, instance: ProcessInstance, workflow: Any, now: datetime) -> Step:
        """Read what the step decided, then set the instance's state, status and timer.

        Everything is read off the workflow before it is serialized (serializing prunes finished
        history), and the instance row gets all its changes at once: one INSERT or UPDATE.
        """
        handler = None if instance.trial else hooks.step_handlers.get(instance.process_key)
        step = Step(ready=self.engine.ready_user_tasks(workflow), completed=self.engine.is_completed(workflow),
                    variables=self.engine.data(workflow) if handler is not None else None,
                    messages=tuple(self.engine.waiting_messages(workflow)),
                    external=tuple(self.engine.ready_external_tasks(workflow)))
        if step.completed:
            instance.status = InstanceStatus.completed.value
            instance.ended_at = now
        instance.next_timer_at = self.engine.next_timer_at(workflow)
        instance.state = self.engine.dump(workflow)
        instance.updated_at = now
        return step

    def _step(self, session: Session, instance: ProcessInstance, definition: DefinitionInfo,
              workflow: Any, actor: Actor | str, now: datetime) -> None:
        """Save a stepped instance under the version check, then project its tasks and run its hooks."""
        step = self._advance(instance, workflow, now)
        self._write_step(session, instance)
        self._after_step(session, instance, definition, step, actor, now)
        self._flush_instance(session, instance)  # a hook may have changed the instance too

    def _after_step(self, session: Session, instance: ProcessInstance, definition: DefinitionInfo,
                    step: Step, actor: Actor | str, now: datetime, *, new_instance: bool = False) -> None:
        self._project(session, instance, definition, step.ready, now, new_instance=new_instance)
        self._subscribe(session, instance, definition, step.messages, new_instance=new_instance)
        self._project_external(session, instance, definition, step.external, now, new_instance=new_instance)
        if step.completed:
            audit.append(session, at=now, actor=actor_name(actor), action="instance.completed",
                         entity_type="process_instance", entity_id=instance.id, instance_id=instance.id,
                         detail={"process_key": instance.process_key})
        # A trial run has no business object: the areas' hooks record nothing for it.
        handler = None if instance.trial else hooks.step_handlers.get(instance.process_key)
        if handler is not None:
            variables = step.variables if step.variables is not None else {}
            handler(session=session, instance=instance, variables=variables, actor=actor)

    def _subscribe(self, session: Session, instance: ProcessInstance, definition: DefinitionInfo,
                   messages: Any, *, new_instance: bool = False, force: bool = False) -> None:
        """Make the instance's message subscriptions match the messages it waits for now.

        Definitions without message events skip the query (`force`: the instance moved versions).
        """
        if not force and not definition.meta.get("has_messages"):
            return
        wanted = set(messages) if instance.status == InstanceStatus.running.value else set()
        # A collaboration's pools message each other inside the instance: no outside sender may deliver those.
        wanted -= set(definition.meta.get("internal_messages") or ())
        rows = [] if new_instance else session.execute(
            select(MessageSubscription).where(MessageSubscription.instance_id == instance.id)).scalars().all()
        for row in rows:
            if row.message_name not in wanted:
                session.delete(row)
        present = {row.message_name for row in rows}
        for name in sorted(wanted - present):
            session.add(MessageSubscription(instance_id=instance.id, message_name=name[:128],
                                            created_at=clock.now()))
        session.flush()

    @staticmethod
    def _project_external(session: Session, instance: ProcessInstance, definition: DefinitionInfo,
                          ready: Any, now: datetime, *, new_instance: bool = False, force: bool = False) -> None:
        """Make the instance's external task rows match the engine's (app/external/projection.py).

        Definitions without external tasks skip the query (`force`: the instance moved versions).
        """
        if not (ready or force or definition.meta.get("has_external_tasks")):
            return
        from app.external.projection import sync
        sync(session, instance, ready, now, new_instance=new_instance)

    def waiting_instance(self, session: Session, message: str, *, instance_id: int | None = None,
                         business_ref: str | None = None) -> int:
        """Return the one running instance that waits for a message, by instance id or business reference.

        A business reference finds no designer's trial run. NotFound when none waits, Conflict when
        several do (the sender must then name the instance).
        """
        query = (select(MessageSubscription.instance_id)
                 .join(ProcessInstance, ProcessInstance.id == MessageSubscription.instance_id)
                 .where(MessageSubscription.message_name == message,
                        ProcessInstance.status == InstanceStatus.running.value))
        if instance_id is not None:
            query = query.where(ProcessInstance.id == instance_id)
        if business_ref is not None:
            query = query.where(ProcessInstance.business_ref == business_ref, ProcessInstance.trial.is_(False))
        ids = session.execute(query.distinct().order_by(MessageSubscription.instance_id).limit(11)).scalars().all()
        if not ids:
            raise NotFound(f"没有流程实例在等待消息“{message}”", code="no_waiting_instance")
        if len(ids) > 1:
            count = "10 个以上" if len(ids) > 10 else f"{len(ids)} 个"
            raise Conflict(f"有{count}流程实例在等待消息“{message}”，请用 instance_id 指明投递给哪一个",
                           code="message_ambiguous", extra={"instance_ids": ids[:10]})
        return int(ids[0])

    def deliver_message(self, session: Session, instance_id: int, message: str, variables: Any,
                        actor: Actor | str) -> ProcessInstance:
        """Deliver a message with variables to a waiting instance under its lock, step it and re-project."""
        _check_variables(variables)
        instance = self.lock_instance(session, instance_id)
        if instance.status != InstanceStatus.running.value:
            raise NotFound(f"没有流程实例在等待消息“{message}”", code="no_waiting_instance")
        definition, workflow = self._restore(session, instance)
        if not self.engine.deliver_message(workflow, message, variables):
            raise NotFound(f"没有流程实例在等待消息“{message}”", code="no_waiting_instance")
        now = clock.now()
        audit.append(session, at=now, actor=actor_name(actor), action="message.delivered",
                     entity_type="process_instance", entity_id=instance.id, instance_id=instance.id,
                     detail={"message": message, "variables": variables, "business_ref": instance.business_ref})
        self._step(session, instance, definition, workflow, actor, now)
        return instance

    def run_external(self, session: Session, instance: ProcessInstance, action: Callable[[Engine, Any], None], *,
                     actor: Actor | str) -> None:
        """Restore a locked running instance, let `action(engine, workflow)` act on one of its external tasks
        (complete it, raise a BPMN error) and step it: save, project, hooks (app/external/flows.py)."""
        definition, workflow = self._restore(session, instance)
        action(self.engine, workflow)
        self._step(session, instance, definition, workflow, actor, clock.now())

    def _project(self, session: Session, instance: ProcessInstance, definition: DefinitionInfo,
                 ready_tasks: list[ReadyTask], now: datetime, *, new_instance: bool = False) -> None:
        """Make the open task rows match the engine's ready user tasks."""
        ready = {t.id: t for t in ready_tasks}
        # An instance inserted in this step has no task rows yet.
        open_rows = [] if new_instance else session.execute(
            _OPEN_TASKS, {"instance_id": instance.id}).scalars().all()
        for row in open_rows:
            if row.spiff_task_id not in ready:
                # Withdrawn by the engine (boundary timer, cancel): history keeps the row.
                row.status = TaskStatus.cancelled.value
                row.completed_at = now
                session.add(row)
                _task_closed(session, row, now)
                audit.append(session, at=now, actor="system", action="task.cancelled", entity_type="task",
                             entity_id=row.id, instance_id=instance.id,
                             detail={"task": row.name, "task_spec": row.task_spec, "role": row.role,
                                     "department_id": row.department_id})
        known = {row.spiff_task_id for row in open_rows}
        metas = definition.meta.get("user_tasks", {})
        for ready_task in ready.values():
            if ready_task.id in known:
                continue
            meta = metas.get(ready_task.task_spec, {})
            variables = ready_task.data
            department_id = self._task_department(session, instance, meta, variables)
            groups = meta.get("candidate_groups") or []
            assignee_id, role, assignee_name = None, groups[0] if groups else None, None
            designated = _designated_assignee(session, meta, variables)
            if designated is not None:
                # A multi-instance task's instance goes to the person its element variable names.
                assignee_id, department_id, role, assignee_name = designated
            due_from = self._due_from(meta, variables)
            start = datetime.combine(due_from, time(0), SHANGHAI) if due_from is not None else now
            due = self.deadlines.for_task(session, meta, start) if self.deadlines else None
            row = Task(
                instance_id=instance.id, process_key=instance.process_key, spiff_task_id=ready_task.id,
                task_spec=ready_task.task_spec, name=ready_task.name or meta.get("name") or ready_task.task_spec,
                department_id=department_id, role=role, assignee_id=assignee_id,
                status=TaskStatus.open.value,
                due_rule=due[0].text if due else None, due_working_days=due[0].working_days if due else None,
                due_at=due[1].due_at if due else None, due_provisional=due[1].provisional if due else False,
                due_from=due_from if due else None,
                form=forms.resolve_form(meta.get("form") or [], variables), created_at=now,
                trial=instance.trial, initiator_id=instance.started_by_id,
            )
            row.id = session.execute(_INSERT_TASK, {k: getattr(row, k) for k in _TASK_COLUMNS}).scalar_one()
            _core_task_written(session, row)
            audit.append(session, at=now, actor="system", action="task.created", entity_type="task",
                         entity_id=row.id, instance_id=instance.id,
                         detail={"task": row.name, "task_spec": row.task_spec, "role": row.role,
                                 "department_id": department_id,
                                 "due_at": row.due_at.isoformat() if row.due_at else None,
                                 "due_rule": row.due_rule,
                                 "due_from": row.due_from.isoformat() if row.due_from else None,
                                 **({"assignee_id": assignee_id, "assignee_name": assignee_name}
                                    if assignee_id is not None else {})})
            _task_opened(session, row, instance, now)

    @staticmethod
    def _due_from(meta: dict[str, Any], variables: dict[str, Any]) -> date | None:
        # Extension property `due_from` names the variable holding the ISO day a deadline counts from
        # when it is not the task's arrival (Art. 9: the day the law was revised, 之日起).
        variable = (meta.get("properties") or {}).get("due_from")
        if not variable:
            return None
        raw = variables.get(variable)
        if isinstance(raw, str):
            try:
                return date.fromisoformat(raw)
            except ValueError:
                pass
        raise InvalidInput(f"流程变量“{variable}”未给出期限起算日期（YYYY-MM-DD）", code="task_due_from_missing")

    def _task_department(self, session: Session, instance: ProcessInstance, meta: dict[str, Any],
                         variables: dict[str, Any]) -> int | None:
        # Extension property `department` names the variable holding the owning department's code;
        # without it the task belongs to the department that started the instance.
        variable = (meta.get("properties") or {}).get("department")
        if not variable:
            return instance.department_id
        code = variables.get(variable)
        if not isinstance(code, str):
            raise InvalidInput(f"流程变量“{variable}”未给出任务所属部门", code="task_department_missing")
        # The flow that started or stepped the instance has often just read that department (codes
        # never change). Loaded values only: an expired object is not refreshed here.
        if len(session.identity_map) <= _SCAN_LIMIT and not session.deleted:
            for obj in session.identity_map.values():
                if type(obj) is Department:
                    loaded = vars(obj)
                    if loaded.get("code") == code and loaded.get("id") is not None:
                        return int(loaded["id"])
        dept_id = session.execute(select(Department.id).where(Department.code == code)).scalar_one_or_none()
        if dept_id is None:
            raise InvalidInput(f"任务所属部门“{code}”不存在", code="task_department_unknown")
        return dept_id

    def _save(self, session: Session, instance: ProcessInstance, workflow: Any, now: datetime) -> None:
        """Write the state under the version check: a lost race is a 409, never a corrupt instance."""
        instance.state = self.engine.dump(workflow)
        instance.updated_at = now
        self._flush_instance(session, instance)

    @staticmethod
    def _write_step(session: Session, instance: ProcessInstance) -> None:
        """Write what a step changed on a loaded instance in one Core UPDATE under the version check.

        The ORM is then told these are the row's values (and its new version), so a later flush writes
        only what else changed, still checking the version: a lost race is a 409 either way.
        """
        state = inspect(instance)
        if not state.persistent:
            Runner._flush_instance(session, instance)
            return
        old = instance.lock_version
        values = {key: getattr(instance, key) for key in _STEPPED}
        # Not autoflushed first: the ORM would write these same changes itself, bumping the version.
        with session.no_autoflush:
            result = session.execute(_SAVE_STEP, {"instance_id": instance.id, "old_version": old,
                                                  "new_version": old + 1, **values})
        if result.rowcount != 1:
            raise Conflict("该流程刚被他人处理，请刷新后重试", code="instance_changed")
        for key, value in values.items():
            set_committed_value(instance, key, value)
        set_committed_value(instance, "lock_version", old + 1)

    @staticmethod
    def _flush_instance(session: Session, instance: ProcessInstance) -> None:
        """Flush under the instance's version check: a lost race is a 409, never a corrupt instance."""
        session.add(instance)
        try:
            session.flush()
        except StaleDataError:
            raise Conflict("该流程刚被他人处理，请刷新后重试", code="instance_changed") from None


def designated(session: Session, task: Task) -> bool:
    """Tell whether a task row is a multi-instance task's instance designated to one person (会签人)."""
    meta = session.execute(
        select(ProcessDefinition.meta).join(ProcessInstance, ProcessInstance.definition_id == ProcessDefinition.id)
        .where(ProcessInstance.id == task.instance_id)).scalar_one_or_none() or {}
    task_meta = (meta.get("user_tasks") or {}).get(task.task_spec) or {}
    mi = task_meta.get("multi_instance") or task_meta.get("assignee_from") or {}
    return bool(mi.get("assignee_variable") or mi.get("assignee_username"))


def _designated_assignee(session: Session, meta: dict[str, Any], variables: dict[str, Any]
                         ) -> tuple[int, int, str | None, str] | None:
    """Return (user id, department id, role, display name) of the person a multi-instance task's instance is for.

    The task says so with `camunda:assignee` naming its element variable (a plain name, not JUEL); the
    variable holds a username. The whole collection is checked when an instance opens, so a bad name
    is refused before anyone has signed, not when a sequential 会签 reaches it.
    """
    # A 会签 instance, or a task inside a multi-instance subprocess naming that loop's element variable.
    mi = meta.get("multi_instance") or meta.get("assignee_from") or {}
    variable = mi.get("assignee_variable")
    if mi.get("assignee_username"):
        variable, variables = "", {"": mi["assignee_username"]}  # a literal camunda:assignee="zhangsan"
    if variable is None:
        return None
    username = variables.get(variable)
    if username is None and not mi.get("collection"):
        raise InvalidInput(f"流程变量“{variable}”未给出该任务的办理人（用户名）", code="task_assignee_missing",
                           extra={"variable": variable})
    collection = variables.get(mi.get("collection") or "")
    names = collection if isinstance(collection, list) else [username]
    if not all(isinstance(name, str) and name for name in names) or not isinstance(username, str):
        raise InvalidInput(f"流程变量“{mi.get('collection') or variable}”须是用户名列表",
                           code="task_assignee_invalid")
    users = {row.username: row for row in session.execute(
        select(User.id, User.username, User.display_name, User.department_id, User.is_active)
        .where(User.username.in_(sorted(set(names))))).all()}
    unknown = [name for name in dict.fromkeys(names) if name not in users]
    if unknown:
        raise InvalidInput(f"指定的办理人不存在：{'、'.join(unknown)}", code="task_assignee_unknown",
                           extra={"usernames": unknown})
    inactive = [users[name].display_name for name in dict.fromkeys(names) if not users[name].is_active]
    if inactive:
        raise InvalidInput(f"指定的办理人已停用：{'、'.join(inactive)}", code="task_assignee_inactive")
    user = users[username]
    groups = [str(g) for g in meta.get("candidate_groups") or []]
    if not groups:
        return user.id, user.department_id, None, user.display_name
    held: dict[int, set[str]] = {}
    for user_id, role_name in session.execute(
            select(UserRole.user_id, UserRole.role).where(UserRole.user_id.in_([u.id for u in users.values()]),
                                                          UserRole.role.in_(groups))).all():
        held.setdefault(user_id, set()).add(role_name)
    lacking = [users[name].display_name for name in dict.fromkeys(names) if not held.get(users[name].id)]
    if lacking:
        raise InvalidInput(f"指定的办理人没有办理该任务的角色：{'、'.join(lacking)}",
                           code="task_assignee_no_role")
    role = next(g for g in groups if g in held[user.id])
    return user.id, user.department_id, role, user.display_name


def _task_closed(session: Session, task: Task, at: datetime) -> None:
    """Run the areas' task-closed handlers, except for a trial run's task (no business effect)."""
    if task.trial:
        return
    for handler in hooks.task_closed:
        handler(session=session, task=task, at=at)


def _task_opened(session: Session, task: Task, instance: ProcessInstance, at: datetime) -> None:
    """Run the areas' task-opened handlers (notifications, copies), except for a trial run's task."""
    if task.trial:
        return
    for handler in hooks.task_opened:
        handler(session=session, task=task, instance=instance, at=at)


_PROJECTED_META = (("candidate_groups", "办理角色"), ("due_date", "办理期限"), ("form", "表单"),
                   ("properties", "扩展属性"))


def _meta(described: DeployedProcess) -> dict[str, Any]:
    raw = dataclasses.asdict(described)
    return json.loads(json.dumps({"name": raw["name"], "has_timers": raw["has_timers"],
                                  "user_tasks": raw["user_tasks"],
                                  **({"has_messages": True} if raw["has_messages"] else {}),
                                  **({"internal_messages": raw["internal_messages"]}
                                     if raw["internal_messages"] else {}),
                                  **({"has_external_tasks": True} if raw["has_external_tasks"] else {}),
                                  **({"initiator": raw["initiator"]} if raw["initiator"] else {})},
                                 default=list))


def _check_variables(variables: Any) -> None:
    if not isinstance(variables, dict):
        raise InvalidInput("流程变量必须是对象", code="variables_not_object")
    bad = [k for k in variables if not isinstance(k, str) or not k.isidentifier() or k in forms.RESERVED_KEYS]
    if bad:
        raise InvalidInput(f"流程变量名无效：{'、'.join(map(str, bad))}", code="variable_name_invalid")
    try:
        json.dumps(variables)
    except (TypeError, ValueError):
        raise InvalidInput("流程变量必须可表示为 JSON", code="variables_not_json") from None


# The message API's checks of variables, for the other ways variables come in from outside (external tasks).
check_variables = _check_variables
