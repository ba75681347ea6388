"""Escalate every overdue task, exactly once, to the supervision queue of its level government."""

from __future__ import annotations

import logging
from collections import defaultdict
from datetime import datetime
from typing import Any

from sqlalchemy import select, tuple_, update
from sqlalchemy.dialects import postgresql, sqlite

from app.audit import service as audit
from app.core.clock import clock
from app.core.faults import crash_point
from app.engine.models import ProcessInstance, Task, TaskStatus
from app.notifications.service import notify
from app.org.models import Role
from app.runtime import Runtime
from app.supervision.models import SupervisionItem
from app.supervision.service import office_of

log = logging.getLogger("govflow.jobs")
BATCH = 500


def escalate_overdue(rt: Runtime, batch: int = BATCH) -> int:
    """Sweep overdue open tasks in batches; each becomes one supervision item. Return how many."""
    total = 0
    after: tuple[datetime, int] | None = None
    offices: dict[int, tuple[int, str] | None] = {}
    while True:
        with rt.db.session() as session:
            now = clock.now()
            stmt = (
                select(Task.id, Task.instance_id, Task.process_key, Task.name, Task.department_id, Task.role,
                       Task.due_at, ProcessInstance.subject)
                .join(ProcessInstance, ProcessInstance.id == Task.instance_id)
                .where(Task.status == TaskStatus.open.value, Task.escalated_at.is_(None),
                       Task.paused_at.is_(None), Task.due_at < now, Task.department_id.is_not(None))
                .order_by(Task.due_at, Task.id).limit(batch)
            )
            if after is not None:
                # Keyset paging: a task that cannot be escalated never blocks the ones after it.
                stmt = stmt.where(tuple_(Task.due_at, Task.id) > tuple_(*after))
            if rt.db.is_postgres:
                # Replicas claim disjoint rows; a crashed replica's claims free up when it dies.
                stmt = stmt.with_for_update(of=Task, skip_locked=True)
            rows = session.execute(stmt).all()
            if not rows:
                break
            after = (rows[-1].due_at, rows[-1].id)
            crash_point("escalate-after-claim")
            calendar = rt.calendar.get(session)
            items: list[dict[str, Any]] = []
            for r in rows:
                office = office_of(session, r.department_id, offices)
                if office is None:
                    log.warning("task %s: no government office above department %s", r.id, r.department_id)
                    continue
                items.append(dict(
                    task_id=r.id, instance_id=r.instance_id, process_key=r.process_key, task_name=r.name,
                    subject=r.subject or "", department_id=r.department_id, office_department_id=office[0],
                    level=office[1], due_at=r.due_at, escalated_at=now,
                    overdue_working_days=max(1, -calendar.working_days_left(r.due_at, now)),
                    state="open", urge_count=0))
            if not items:
                continue
            insert = (postgresql.insert if rt.db.is_postgres else sqlite.insert)(SupervisionItem.__table__)
            # The unique task_id is the record of the effect: a second sweep can never add a second item.
            session.execute(insert.on_conflict_do_nothing(index_elements=["task_id"]), items)
            ids = [i["task_id"] for i in items]
            session.execute(update(Task).where(Task.id.in_(ids)).values(escalated_at=now)
                            .execution_options(synchronize_session=False))
            for i in items:
                audit.append(session, at=now, actor="system", action="task.escalated", entity_type="task",
                             entity_id=i["task_id"], instance_id=i["instance_id"],
                             detail={"task": i["task_name"], "office_department_id": i["office_department_id"],
                                     "overdue_working_days": i["overdue_working_days"]})
            _notify_batch(session, rt, items, {r.id: r.role for r in rows}, now)
            session.commit()
            total += len(items)
    return total


def _notify_batch(session: Any, rt: Runtime, items: list[dict[str, Any]], roles: dict[int, str | None],
                  now: datetime) -> None:
    """Tell each government's supervisors and each owning department, one digest per batch."""
    by_office: dict[int, list[dict[str, Any]]] = defaultdict(list)
    by_department: dict[tuple[int, str], list[dict[str, Any]]] = defaultdict(list)
    for i in items:
        by_office[i["office_department_id"]].append(i)
        role = roles.get(i["task_id"])
        if role:
            by_department[(i["department_id"], role)].append(i)
    first = min(i["task_id"] for i in items)
    for office_id, group in by_office.items():
        notify(session, department_id=office_id, role=Role.supervisor.value, kind="escalated",
               title=f"新增督办事项 {len(group)} 项",
               body="、".join(g["subject"] or g["task_name"] for g in group[:5]) + ("等" if len(group) > 5 else ""),
               link="/supervision", dedupe_key=f"escalated:office:{office_id}:{first}", at=now,
               settings=rt.settings)
    for (department_id, role), group in by_department.items():
        notify(session, department_id=department_id, role=role, kind="escalated",
               title=f"{len(group)} 项任务已超期，已移交本级政府督查督办",
               body="请尽快办理：" + "、".join(g["subject"] or g["task_name"] for g in group[:5]),
               link="/tasks?overdue=1", dedupe_key=f"escalated:dept:{department_id}:{role}:{first}", at=now,
               settings=rt.settings)
