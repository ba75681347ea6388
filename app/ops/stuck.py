"""The stuck-instance report (issue 16, 'nothing stuck'): running instances nothing can move on.

A running instance moves on when a person completes one of its open tasks, the scheduler fires its timer
(`next_timer_at`), POST /api/messages delivers a message it awaits (`message_subscription`), or a worker
completes its external task (`external_task` open, locked, or an incident an administrator retries). One with none
of these waits for ever: deploy refuses the waits GovFlow cannot deliver (app/engine/waits.py), so this
should never happen; the job finds the ones that do (a task row lost, a state written by hand, an engine
path nobody foresaw) for the administrators, at /admin/stuck-instances and GET /api/admin/stuck-instances.

Each run reads a bounded batch of running instances by id from where the previous run stopped (`stuck_scan`)
and starts over after the last, so a run costs the same however many instances there are. A stuck instance
gets a row (and one `instance.stuck` audit event, when first found); the row goes when a later pass finds it
moving or ended.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, delete, exists, func, not_, or_, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session

from app.audit import service as audit
from app.core.clock import clock
from app.engine.models import (
    InstanceStatus,
    MessageSubscription,
    ProcessDefinition,
    ProcessInstance,
    Task,
    TaskStatus,
)
from app.external.models import ExternalTask
from app.external.projection import ACTIVE
from app.ops.models import StuckInstance, StuckScan
from app.runtime import Runtime

log = logging.getLogger("govflow.jobs")

BATCH = 500
_ELEMENTS_MAX = 1000


def awaited(instance: Any = ProcessInstance) -> list[ColumnElement[bool]]:
    """What can move a running instance on: any one of these true and it is not stuck.

    An external task counts while a worker may still take it or an administrator may retry its incident.
    """
    return [
        instance.next_timer_at.is_not(None),
        exists().where(Task.instance_id == instance.id, Task.status == TaskStatus.open.value),
        exists().where(MessageSubscription.instance_id == instance.id),
        exists().where(ExternalTask.instance_id == instance.id, ExternalTask.status.in_(ACTIVE)),
    ]


def report_stuck_instances(rt: Runtime, batch: int = BATCH) -> int:
    """Check the next batch of running instances; record those nothing can move on. Return how many are stuck
    in this batch."""
    now = clock.now()
    with rt.db.session() as session:
        after = _claim_scan(rt, session)
        ids = session.execute(
            select(ProcessInstance.id)
            .where(ProcessInstance.status == InstanceStatus.running.value, ProcessInstance.trial.is_(False),
                   ProcessInstance.id > after)
            .order_by(ProcessInstance.id).limit(batch)).scalars().all()
        upper = ids[-1] if len(ids) == batch else None  # None: this batch reaches the last instance
        stuck = session.execute(
            select(ProcessInstance.id, ProcessInstance.process_key, ProcessInstance.updated_at)
            .where(ProcessInstance.id.in_(ids), not_(or_(*awaited())))
            .order_by(ProcessInstance.id)).all() if ids else []
        in_range = [StuckInstance.instance_id > after]
        if upper is not None:
            in_range.append(StuckInstance.instance_id <= upper)
        known = {row.instance_id: row for row in session.execute(select(StuckInstance).where(*in_range)).scalars()}
        stuck_ids = {row.id for row in stuck}
        gone = [instance_id for instance_id in known if instance_id not in stuck_ids]
        if gone:
            session.execute(delete(StuckInstance).where(StuckInstance.instance_id.in_(gone)))
        for instance_id, process_key, updated_at in stuck:
            elements = _elements(rt, session, instance_id)
            row = known.get(instance_id)
            if row is not None:
                row.elements, row.checked_at = elements, now
                session.add(row)
                continue
            session.add(StuckInstance(instance_id=instance_id, process_key=process_key, elements=elements,
                                      since=updated_at, found_at=now, checked_at=now))
            audit.append(session, at=now, actor="system", action="instance.stuck", entity_type="process_instance",
                         entity_id=instance_id, instance_id=instance_id,
                         detail={"process_key": process_key, "elements": elements, "since": updated_at.isoformat()})
        scan = session.get(StuckScan, 1)
        assert scan is not None
        scan.after_id = upper or 0
        if upper is None:
            scan.pass_completed_at = now
        session.add(scan)
        session.commit()
    if stuck:
        log.warning("stuck instances: %s", ", ".join(str(row.id) for row in stuck))
    return len(stuck)


def _claim_scan(rt: Runtime, session: Session) -> int:
    """Lock the sweep's position (replicas take turns) and return the id it goes on after."""
    insert = (postgresql.insert if rt.db.is_postgres else sqlite.insert)(StuckScan.__table__)
    session.execute(insert.values(id=1, after_id=0).on_conflict_do_nothing(index_elements=["id"]))
    stmt = select(StuckScan.after_id).where(StuckScan.id == 1)
    if rt.db.is_postgres:
        stmt = stmt.with_for_update()
    return int(session.execute(stmt).scalar_one())


def _elements(rt: Runtime, session: Session, instance_id: int) -> str:
    """Name where a stuck instance sits, read off its state (never fails the sweep)."""
    instance = session.get(ProcessInstance, instance_id)
    assert instance is not None
    try:
        workflow = rt.runner.restore_workflow(session, instance)
        labels = rt.engine.current_elements(workflow)
    except Exception as exc:  # noqa: BLE001 - a state that cannot be read is itself the finding
        return f"无法读取实例状态：{type(exc).__name__}"[:_ELEMENTS_MAX]
    return ("、".join(labels) if labels else "（没有等待中的步骤）")[:_ELEMENTS_MAX]


def stuck_instances(session: Session, *, limit: int = 100, after: int | None = None) -> dict[str, Any]:
    """The report as administrators read it: the stuck instances by id (keyset `after`), and the sweep's state."""
    query = (select(StuckInstance, ProcessInstance.subject, ProcessInstance.business_ref, ProcessDefinition.name,
                    ProcessDefinition.version)
             .join(ProcessInstance, ProcessInstance.id == StuckInstance.instance_id)
             .join(ProcessDefinition, ProcessDefinition.id == ProcessInstance.definition_id)
             .order_by(StuckInstance.instance_id).limit(limit + 1))
    if after is not None:
        query = query.where(StuckInstance.instance_id > after)
    rows = session.execute(query).all()
    more = len(rows) > limit
    rows = rows[:limit]
    scan = session.get(StuckScan, 1)
    total = session.execute(select(func.count()).select_from(StuckInstance)).scalar_one()
    return {
        "total": total,
        "items": [{"instance_id": row.instance_id, "process_key": row.process_key, "process_name": name,
                   "version": version, "subject": subject, "business_ref": business_ref,
                   "elements": row.elements, "since": row.since.isoformat(), "found_at": row.found_at.isoformat(),
                   "checked_at": row.checked_at.isoformat()}
                  for row, subject, business_ref, name, version in rows],
        "next_after": rows[-1][0].instance_id if more and rows else None,
        "last_pass_completed_at": _iso(scan.pass_completed_at) if scan is not None else None,
    }


def _iso(at: datetime | None) -> str | None:
    return at.isoformat() if at is not None else None
