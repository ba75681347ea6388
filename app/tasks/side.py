"""Queries over side tasks (补正, 加签, 委派) and deputies: what a person must answer, and which tasks wait."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Select, bindparam, event, exists, literal_column, select, tuple_
from sqlalchemy.orm import aliased
from sqlmodel import Session

from app.core.clock import SHANGHAI
from app.engine.models import ProcessInstance, Task
from app.org.models import User
from app.org.service import Actor
from app.tasks.paging import Cursor, capped_count, decode, encode
from app.tasks.models import SIDE_KIND_ZH, Deputy, SideKind, SideStatus, TaskSide

# Session.info key: ids of tasks found under their instance lock to wait on no side task.
_NONE_OPEN = "tasks_without_open_side"


def not_waiting() -> ColumnElement[bool]:
    """A clause for task queries: the task does not wait on an open side task (it is out of every inbox)."""
    return ~exists().where(TaskSide.task_id == Task.id, TaskSide.status == SideStatus.open.value)


_OPEN_SIDE = select(TaskSide).where(TaskSide.task_id == bindparam("task_id"), TaskSide.status == SideStatus.open.value)


def open_side_of(session: Session, task_id: int, *, locked: bool = False) -> TaskSide | None:
    """Return the open side task a task waits on, if any.

    `locked`: the caller holds the task's instance lock (side tasks open only under it), so an answer of
    none stays true until the transaction ends; closing the task then need not look again.
    """
    side = session.execute(_OPEN_SIDE, {"task_id": task_id}).scalars().first()
    if side is None and locked:
        session.info.setdefault(_NONE_OPEN, set()).add(task_id)
    return side


def known_without_open_side(session: Session, task_id: int) -> bool:
    """Tell whether this transaction found, under the instance lock, that a task waits on no side task."""
    return task_id in session.info.get(_NONE_OPEN, ())


@event.listens_for(Session, "after_transaction_end")
def _forget_none_open(session: Session, transaction: Any) -> None:
    if transaction.parent is None:  # the outermost transaction (flushes and savepoints nest in it)
        session.info.pop(_NONE_OPEN, None)


def open_side_items(session: Session, actor: Actor, *, limit: int = 100, cursor: str | None = None
                    ) -> tuple[list[dict[str, Any]], str | None]:
    """List one page of the side tasks a person must answer (for the 待办 list), oldest first, and the next cursor."""
    after = decode("side", cursor, value_kind=datetime)
    stmt = (select(TaskSide, Task.name, ProcessInstance.subject, User.display_name)
            .join(Task, Task.id == TaskSide.task_id)
            .join(ProcessInstance, ProcessInstance.id == TaskSide.instance_id)
            .join(User, User.id == TaskSide.requested_by_id)
            .where(TaskSide.assignee_id == actor.id, TaskSide.status == literal_column("'open'")))
    if after is not None:
        stmt = stmt.where(tuple_(TaskSide.created_at, TaskSide.id) > tuple_(
            bindparam(None, after.value, type_=TaskSide.created_at.type), bindparam(None, after.id)))
    rows = session.execute(stmt.order_by(TaskSide.created_at, TaskSide.id).limit(limit + 1)).all()
    items = [side_public(side, task_name, subject, requester) for side, task_name, subject, requester in rows[:limit]]
    last = rows[limit - 1][0] if len(rows) > limit else None
    return items, encode("side", Cursor(0, last.created_at, last.id)) if last is not None else None


def open_query(actor: Actor) -> Select[Any]:
    """Return the ids of the side tasks a person must answer (what count_open counts)."""
    return select(TaskSide.id).where(TaskSide.assignee_id == actor.id, TaskSide.status == SideStatus.open.value)


def count_open(session: Session, actor: Actor) -> int:
    """Count the side tasks a person must answer, up to paging.COUNT_CAP."""
    return capped_count(session, open_query(actor))


def side_public(side: TaskSide, task_name: str, subject: str, requester: str | None,
                assignee: str | None = None) -> dict[str, Any]:
    """Return a side task as lists and the API show it."""
    return {"id": side.id, "task_id": side.task_id, "instance_id": side.instance_id, "kind": side.kind,
            "kind_zh": SIDE_KIND_ZH.get(SideKind(side.kind), side.kind), "task_name": task_name,
            "subject": subject, "requested_by_name": requester, "assignee_name": assignee,
            "reason": side.reason, "reply": side.reply, "status": side.status,
            "created_at": side.created_at.isoformat(),
            "answered_at": side.answered_at.isoformat() if side.answered_at else None}


def sides_of_task(session: Session, task_id: int) -> list[dict[str, Any]]:
    """All side tasks of one task, oldest first, with the names of who asked and who answered."""
    asker_user = aliased(User)
    asker = select(asker_user.display_name).where(asker_user.id == TaskSide.requested_by_id).scalar_subquery()
    rows = session.execute(
        select(TaskSide, Task.name, ProcessInstance.subject, asker, User.display_name)
        .join(Task, Task.id == TaskSide.task_id)
        .join(ProcessInstance, ProcessInstance.id == TaskSide.instance_id)
        .join(User, User.id == TaskSide.assignee_id)
        .where(TaskSide.task_id == task_id).order_by(TaskSide.id)).all()
    return [side_public(s, n, subj, a, b) for s, n, subj, a, b in rows]


def principals_query(deputy_id: int, now: datetime) -> Select[Any]:
    """Return the people whose tasks a deputy may work today (代理 in force)."""
    today = now.astimezone(SHANGHAI).date()
    return select(Deputy.user_id).where(Deputy.deputy_id == deputy_id, Deputy.starts_on <= today,
                                        Deputy.ends_on >= today)


def principals_of(session: Session, deputy_id: int, now: datetime) -> list[int]:
    """The people whose tasks a deputy may work today (代理 in force)."""
    return list(session.execute(principals_query(deputy_id, now)).scalars().all())
