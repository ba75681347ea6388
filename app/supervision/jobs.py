"""Escalate every overdue task, exactly once, to the supervision queue of its level government."""

from __future__ import annotations

import json
import logging
from collections import defaultdict
from datetime import date, datetime
from typing import Any

from sqlalchemy import select, text, tuple_, update
from sqlalchemy.dialects import sqlite

from app.audit import service as audit
from app.core.clock import SHANGHAI, clock
from app.core.faults import crash_point
from app.engine.models import ProcessInstance, Task, TaskStatus
from app.notifications.service import notify_many
from app.org.models import Role
from app.runtime import Runtime
from app.supervision.models import ItemState, SupervisionItem
from app.supervision.service import office_of

log = logging.getLogger("govflow.jobs")
# Tasks claimed, escalated and committed together. On PostgreSQL each batch sends one digest per office
# and per owning department (a few statements each) whatever its size, so large batches keep a backlog
# sweep fast; the claimed tasks stay locked (SKIP LOCKED: other replicas pass them by) until the batch
# commits, a few seconds. On SQLite a transaction holds the database's one write lock: short batches
# let the web process write in between.
BATCH = 10000
SQLITE_BATCH = 500

# PostgreSQL: the batch's items in one INSERT from one JSON document, its tasks marked in one UPDATE.
_ITEM_COLUMNS = {"task_id": "integer", "instance_id": "integer", "process_key": "varchar",
                 "task_name": "varchar", "subject": "varchar", "department_id": "integer",
                 "office_department_id": "integer", "level": "varchar", "due_at": "timestamptz",
                 "overdue_working_days": "integer"}
_PG_INSERT_ITEMS = text(
    f"INSERT INTO {SupervisionItem.__tablename__} ({', '.join(_ITEM_COLUMNS)}, escalated_at, state, "
    f"urge_count) SELECT {', '.join(_ITEM_COLUMNS)}, CAST(:now AS timestamptz), :state, 0 "
    "FROM json_to_recordset(CAST(:items AS json)) AS i("
    + ", ".join(f"{c} {t}" for c, t in _ITEM_COLUMNS.items()) + ") ON CONFLICT (task_id) DO NOTHING")
_PG_MARK_ESCALATED = text(f"UPDATE {Task.__tablename__} SET escalated_at = CAST(:now AS timestamptz) "
                          "WHERE id = ANY(CAST(:ids AS integer[]))")


def escalate_overdue(rt: Runtime, batch: int | None = None) -> int:
    """Sweep overdue open tasks in batches; each becomes one supervision item. Return how many."""
    batch = batch or (BATCH if rt.db.is_postgres else SQLITE_BATCH)
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
                # A trial run's overdue task is nobody's duty: it never reaches supervision.
                .where(Task.status == TaskStatus.open.value, Task.escalated_at.is_(None), Task.trial.is_(False),
                       Task.paused_at.is_(None), Task.due_at < now, Task.department_id.is_not(None))
                .order_by(Task.due_at, Task.id).limit(batch)
            )
            if after is not None:
                # Keyset paging: a task that cannot be escalated never blocks the ones after it.
                stmt = stmt.where(tuple_(Task.due_at, Task.id) > tuple_(*after))
            if rt.db.is_postgres:
                # Replicas claim disjoint rows; a crashed replica's claims free up when it dies. The
                # instance is key-share locked in the same claim: the supervision item's foreign key needs
                # that lock, and taken later (at the INSERT) it would wait for a timer or a user holding
                # the instance while they wait for this claim's task row - a deadlock (seen with two
                # schedulers, tests/ops/test_replicas.py). An instance being worked is skipped this
                # sweep and escalated by the next one.
                stmt = stmt.with_for_update(of=Task, skip_locked=True).suffix_with(
                    f"FOR KEY SHARE OF {ProcessInstance.__tablename__} SKIP LOCKED")
            rows = session.execute(stmt).all()
            if not rows:
                break
            after = (rows[-1].due_at, rows[-1].id)
            crash_point("escalate-after-claim")
            calendar = rt.calendar.get(session)
            items: list[dict[str, Any]] = []
            # Every claimed task is overdue (due_at < now), so its overdue days depend on its due date only.
            overdue_days: dict[date, int] = {}
            for r in rows:
                office = office_of(session, r.department_id, offices)
                if office is None:
                    log.warning("task %s: no government office above department %s", r.id, r.department_id)
                    continue
                due_day = r.due_at.astimezone(SHANGHAI).date()
                days = overdue_days.get(due_day)
                if days is None:
                    days = overdue_days[due_day] = max(1, -calendar.working_days_left(r.due_at, now))
                items.append(dict(
                    task_id=r.id, instance_id=r.instance_id, process_key=r.process_key, task_name=r.name,
                    subject=r.subject or "", department_id=r.department_id, office_department_id=office[0],
                    level=office[1], due_at=r.due_at, overdue_working_days=days))
            if not items:
                continue
            ids = [i["task_id"] for i in items]
            # The unique task_id is the record of the effect: a second sweep can never add a second item.
            if rt.db.is_postgres:
                # One statement per batch, whatever its size (an executemany is a statement per row).
                session.execute(_PG_INSERT_ITEMS, {"items": json.dumps(items, default=datetime.isoformat),
                                                   "now": now, "state": ItemState.open.value})
                session.execute(_PG_MARK_ESCALATED, {"ids": ids, "now": now})
            else:
                fixed = {"escalated_at": now, "state": ItemState.open.value, "urge_count": 0}
                session.execute(sqlite.insert(SupervisionItem.__table__).on_conflict_do_nothing(
                    index_elements=["task_id"]), [i | fixed for i in items])
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
    notes: list[dict[str, Any]] = []
    for office_id, group in by_office.items():
        notes.append(dict(
            department_id=office_id, role=Role.supervisor.value, kind="escalated",
            title=f"新增督办事项 {len(group)} 项",
            body="、".join(g["subject"] or g["task_name"] for g in group[:5]) + ("等" if len(group) > 5 else ""),
            link="/supervision", dedupe_key=f"escalated:office:{office_id}:{first}", at=now))
    for (department_id, role), group in by_department.items():
        notes.append(dict(
            department_id=department_id, role=role, kind="escalated",
            title=f"{len(group)} 项任务已超期，已移交本级政府督查督办",
            body="请尽快办理：" + "、".join(g["subject"] or g["task_name"] for g in group[:5]),
            link="/tasks?overdue=1", dedupe_key=f"escalated:dept:{department_id}:{role}:{first}", at=now))
    # The head of each owning department answers for its overdue work (one per task: it names it).
    for i in items:
        if roles.get(i["task_id"]) == Role.head.value:
            continue  # the head already holds the task and was told above
        notes.append(dict(
            department_id=i["department_id"], role=Role.head.value, kind="escalated",
            title=f"本部门任务超期已移交督办：{i['task_name']}"[:200],
            body=f"“{i['subject'] or i['task_name']}”已超期 {i['overdue_working_days']} 个工作日，"
                 "已移交本级政府督查督办，请督促办理。",
            link=f"/tasks/{i['task_id']}", dedupe_key=f"escalated:head:task:{i['task_id']}", at=now))
    # A few statements for the whole batch (a notify() per task cost a recipients query each: 85 % of a sweep).
    notify_many(session, notes, settings=rt.settings)
