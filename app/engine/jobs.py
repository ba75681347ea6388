"""Scheduled work of the engine: fire BPMN timers whose time has come."""

from __future__ import annotations

import logging

from sqlalchemy import select

from app.core.clock import clock
from app.core.errors import DomainError
from app.engine.models import InstanceStatus, ProcessInstance
from app.runtime import Runtime

log = logging.getLogger("govflow.jobs")


def fire_due_timers(rt: Runtime, batch: int = 200) -> int:
    """Fire the timers of every instance whose next timer is due; one transaction per instance."""
    fired = 0
    now = clock.now()
    with rt.db.session() as session:
        ids = session.execute(
            select(ProcessInstance.id).where(ProcessInstance.status == InstanceStatus.running.value,
                                             ProcessInstance.next_timer_at <= now)
            .order_by(ProcessInstance.next_timer_at).limit(batch)
        ).scalars().all()
    for instance_id in ids:
        with rt.db.session() as session:
            try:
                if _claim(rt, session, instance_id) and rt.runner.fire_timers(session, instance_id):
                    session.commit()
                    fired += 1
            except DomainError as exc:
                # A script error in the timer path must not stop the other instances' timers.
                session.rollback()
                log.warning("timer of instance %s failed: %s", instance_id, exc.message_zh)
    return fired


def _claim(rt: Runtime, session, instance_id: int) -> bool:  # type: ignore[no-untyped-def]
    # Several scheduler replicas: skip an instance another replica is firing right now.
    stmt = select(ProcessInstance.id).where(ProcessInstance.id == instance_id)
    if rt.db.is_postgres:
        stmt = stmt.with_for_update(skip_locked=True)
    return session.execute(stmt).scalar_one_or_none() is not None
