"""Keep the external_task rows of an instance in step with the engine's waiting external tasks.

Called by the runner after every step, under the instance's lock, in the step's transaction: rows for
newly ready tasks are inserted, open ones whose engine task is gone (instance cancelled, a boundary event
interrupted it, the instance went back to an earlier step) are cancelled. Flushes, never commits.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

from sqlalchemy import select
from sqlmodel import Session

from app.audit import service as audit
from app.engine.external import ReadyExternalTask
from app.engine.models import ProcessInstance
from app.external.models import ExternalTask, ExternalTaskStatus

ACTIVE = (ExternalTaskStatus.open.value, ExternalTaskStatus.locked.value, ExternalTaskStatus.incident.value)


def sync(session: Session, instance: ProcessInstance, ready: Sequence[ReadyExternalTask], now: datetime, *,
         new_instance: bool = False) -> None:
    """Make the instance's open external task rows match the engine's ready external tasks."""
    wanted = {task.id: task for task in ready}
    rows = [] if new_instance else list(session.execute(
        select(ExternalTask).where(ExternalTask.instance_id == instance.id, ExternalTask.status.in_(ACTIVE))
        .with_for_update()).scalars())
    for row in rows:
        if row.spiff_task_id in wanted:
            continue
        was = row.status
        row.status = ExternalTaskStatus.cancelled.value
        row.completed_at, row.locked_until = now, None
        session.add(row)
        audit.append(session, at=now, actor="system", action="external_task.cancelled", entity_type="external_task",
                     entity_id=row.id or 0, instance_id=instance.id,
                     detail={"task": row.name, "element_id": row.element_id, "topic": row.topic, "was": was,
                             "worker_id": row.worker_id})
    known = {row.spiff_task_id for row in rows}
    new = [task for task in ready if task.id not in known]
    if not new:
        session.flush()
        return
    for task in new:
        row = ExternalTask(instance_id=instance.id or 0, process_key=instance.process_key, spiff_task_id=task.id,
                           element_id=task.element[:255], name=task.name[:200], topic=task.topic,
                           status=ExternalTaskStatus.open.value, variables=_json_safe(task.variables),
                           business_ref=instance.business_ref, trial=instance.trial, created_at=now)
        session.add(row)
        session.flush()
        audit.append(session, at=now, actor="system", action="external_task.created", entity_type="external_task",
                     entity_id=row.id or 0, instance_id=instance.id,
                     detail={"task": row.name, "element_id": row.element_id, "topic": row.topic})
    session.flush()


def _json_safe(variables: dict[str, Any]) -> dict[str, Any]:
    """The task's variables as the worker reads them (JSON): dates and instants as ISO text."""
    def default(value: Any) -> Any:
        if isinstance(value, (date, datetime)):
            return value.isoformat()
        if isinstance(value, (set, frozenset, tuple)):
            return list(value)
        return str(value)
    return dict(json.loads(json.dumps(variables, default=default, ensure_ascii=False)))
