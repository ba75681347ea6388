"""Keep `next_due_at` of disputes and rectification notices equal to the earliest running deadline among their
case's open tasks (a paused task's clock does not run), so that the authority console orders by an index.

The one place: every flush of a session, and the runner's Core writes of task rows (CORE_TASK_WRITES). Whatever opens, completes, cancels, pauses, resumes a task or moves its
deadline (the engine's projection, the task flows, the calendar's recomputation) changes `task` rows through the
ORM, so the flush that writes them also updates the case, in the same transaction. Only the tasks of the two
case processes count; the share-request hot path pays nothing. Bulk UPDATEs of tasks (claiming, reminders,
escalation marks) touch no column the deadline depends on.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import event, func, inspect, select, update
from sqlalchemy.orm.attributes import set_committed_value
from sqlmodel import Session

from app.disputes.models import Dispute
from app.engine.models import Task, TaskStatus
from app.engine.runner import CORE_TASK_WRITES
from app.rectification.models import RectificationNotice

# The case processes (app/disputes/flows.py and app/rectification/flows.py PROCESS_KEY).
CASE_MODELS: dict[str, Any] = {"disputes_share_dispute": Dispute, "rectification_notice": RectificationNotice}
_TASK_FIELDS = ("status", "due_at", "paused_at", "instance_id")
_PENDING = "authority_next_due_pending"


def next_due_of(instance_id: Any) -> Any:
    """The earliest deadline that runs among an instance's open tasks (SQL, correlated on `instance_id`)."""
    return (select(func.min(Task.due_at))
            .where(Task.instance_id == instance_id, Task.status == TaskStatus.open.value,
                   Task.due_at.is_not(None), Task.paused_at.is_(None))
            .scalar_subquery())


def _changed(obj: Any, fields: tuple[str, ...]) -> bool:
    attrs = inspect(obj).attrs
    return any(attrs[f].history.has_changes() for f in fields)


def _touched(session: Session) -> dict[Any, set[int]]:
    """The case instances whose next deadline this flush may change, per case model."""
    found: dict[Any, set[int]] = {}

    def add(model: Any, instance_id: int | None) -> None:
        if model is not None and instance_id is not None:
            found.setdefault(model, set()).add(instance_id)

    for obj in session.new:
        if isinstance(obj, Task):
            add(CASE_MODELS.get(obj.process_key), obj.instance_id)
        elif isinstance(obj, (Dispute, RectificationNotice)):
            add(type(obj), obj.instance_id)
    for obj in session.dirty:
        if isinstance(obj, Task) and _changed(obj, _TASK_FIELDS):
            add(CASE_MODELS.get(obj.process_key), obj.instance_id)
        elif isinstance(obj, (Dispute, RectificationNotice)) and _changed(obj, ("instance_id",)):
            add(type(obj), obj.instance_id)
    for obj in session.deleted:
        if isinstance(obj, Task):
            add(CASE_MODELS.get(obj.process_key), obj.instance_id)
    return found


def _write(session: Session, touched: dict[Any, set[int]]) -> None:
    conn = session.connection()
    for model, ids in touched.items():
        table = model.__table__
        conn.execute(update(table).where(table.c.instance_id.in_(ids))
                     .values(next_due_at=next_due_of(table.c.instance_id)))


@event.listens_for(Session, "after_flush")
def _refresh_next_due(session: Session, _context: Any) -> None:
    touched = _touched(session)
    if not touched:
        return
    _write(session, touched)
    session.info.setdefault(_PENDING, []).append(touched)


def _core_task_write(session: Session, process_key: str, instance_id: int) -> None:
    """A task row the runner opened or closed with a Core statement (no flush sees it): same update, now."""
    model = CASE_MODELS.get(process_key)
    if model is None or instance_id is None:
        return
    touched = {model: {instance_id}}
    _write(session, touched)
    _sync(session, [touched])


CORE_TASK_WRITES.append(_core_task_write)


@event.listens_for(Session, "after_flush_postexec")
def _sync_loaded_cases(session: Session, _context: Any) -> None:
    # The case objects this session holds get the value just written, without reloading them.
    pending = session.info.pop(_PENDING, None)
    if pending:
        _sync(session, pending)


def _sync(session: Session, pending: list[dict[Any, set[int]]]) -> None:
    held = [obj for obj in session.identity_map.values() if isinstance(obj, (Dispute, RectificationNotice))
            and any(obj.instance_id in touched.get(type(obj), ()) for touched in pending)]
    if not held:
        return
    due: dict[int, datetime] = dict(session.connection().execute(  # type: ignore[arg-type]
        select(Task.instance_id, func.min(Task.due_at))
        .where(Task.instance_id.in_({obj.instance_id for obj in held}), Task.status == TaskStatus.open.value,
               Task.due_at.is_not(None), Task.paused_at.is_(None))
        .group_by(Task.instance_id)).all())
    for obj in held:
        set_committed_value(obj, "next_due_at", due.get(obj.instance_id))
