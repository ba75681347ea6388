"""Remind the holders of a task, once, on the working day before its deadline."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select, update

from app.audit import service as audit
from app.core.clock import clock
from app.core.faults import crash_point
from app.engine.models import ProcessInstance, Task, TaskStatus
from app.notifications.service import notify
from app.runtime import Runtime
from app.workdays.calendar import SHANGHAI

BATCH = 500
# The longest run of non-working days (Spring Festival, National Day) is about nine days: a
# task due within this window may be one working day from its deadline.
HORIZON = timedelta(days=12)


def remind_before_due(rt: Runtime, batch: int = BATCH) -> int:
    """Send one reminder per open task whose deadline is the next working day or today."""
    sent = 0
    last_id = 0
    while True:
        with rt.db.session() as session:
            now = clock.now()
            stmt = (
                select(Task.id, Task.instance_id, Task.name, Task.department_id, Task.role, Task.assignee_id,
                       Task.due_at, ProcessInstance.subject)
                .join(ProcessInstance, ProcessInstance.id == Task.instance_id)
                .where(Task.status == TaskStatus.open.value, Task.reminded_at.is_(None), Task.trial.is_(False),
                       Task.paused_at.is_(None), Task.due_at > now, Task.due_at <= now + HORIZON,
                       Task.id > last_id)
                .order_by(Task.id).limit(batch)
            )
            if rt.db.is_postgres:
                stmt = stmt.with_for_update(of=Task, skip_locked=True)
            rows = session.execute(stmt).all()
            if not rows:
                break
            last_id = rows[-1].id
            crash_point("remind-after-claim")
            calendar = rt.calendar.get(session)
            # Working days from today to the due date, both counted: 2 = due on the next working day.
            due_soon = [r for r in rows if calendar.working_days_left(r.due_at, now) <= 2]
            if not due_soon:
                continue
            session.execute(update(Task).where(Task.id.in_([r.id for r in due_soon]), Task.reminded_at.is_(None))
                            .values(reminded_at=now).execution_options(synchronize_session=False))
            for r in due_soon:
                due_day = r.due_at.astimezone(SHANGHAI).strftime("%Y年%m月%d日")
                notify(session, user_ids=[r.assignee_id] if r.assignee_id else None,
                       department_id=None if r.assignee_id else r.department_id,
                       role=None if r.assignee_id else r.role, kind="reminder",
                       title=f"即将到期：{r.name}", body=f"“{r.subject or r.name}”将于{due_day}到期，请及时办理。",
                       link=f"/tasks/{r.id}", dedupe_key=f"reminder:task:{r.id}", at=now, settings=rt.settings)
                audit.append(session, at=now, actor="system", action="task.reminded", entity_type="task",
                             entity_id=r.id, instance_id=r.instance_id, detail={"due_at": r.due_at.isoformat()})
            session.commit()
            sent += len(due_soon)
    return sent
