"""Side tasks (补正, 加签, 委派) beside the engine's tasks, and standing deputies (代理)."""

from datetime import date, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, Index, Text, text
from sqlmodel import Field, SQLModel

from app.core.types import UTCDateTime
from app.engine.models import Task

# The task lists read these indexes in the order they show (app/tasks/service.py), so a page reads about
# a page of index entries however many tasks history holds. Each matches its list's WHERE and ORDER BY:
# 待办 by department and role (one range per role), open and not a trial, by deadline or arrival; 已办 by
# whoever completed, newest first, by deadline or arrival; 我发起的 by who started the case (copied to the
# task), cases newest first, by deadline or by arrival. The predicates are written as the queries write them (literals), so
# that SQLite recognises them.
_task = Task.__table__.c
Index("ix_task_todo_due", _task.department_id, _task.role, _task.due_at, _task.id,
      sqlite_where=text("status = 'open' AND trial = 0"), postgresql_where=text("status = 'open' AND trial = false"))
Index("ix_task_todo_created", _task.department_id, _task.role, _task.created_at, _task.id,
      sqlite_where=text("status = 'open' AND trial = 0"), postgresql_where=text("status = 'open' AND trial = false"))
_COMPLETED = dict(sqlite_where=text("status = 'completed' AND trial = 0"),
                  postgresql_where=text("status = 'completed' AND trial = false"))
Index("ix_task_done", _task.completed_by_id, _task.completed_at, _task.id, **_COMPLETED)
Index("ix_task_done_due", _task.completed_by_id, _task.due_at, _task.id, **_COMPLETED)
Index("ix_task_done_created", _task.completed_by_id, _task.created_at, _task.id, **_COMPLETED)
_NOT_TRIAL = dict(sqlite_where=text("trial = 0"), postgresql_where=text("trial = false"))
Index("ix_task_initiated", _task.initiator_id, _task.instance_id, _task.id, **_NOT_TRIAL)
Index("ix_task_initiated_due", _task.initiator_id, _task.due_at, _task.id, **_NOT_TRIAL)
Index("ix_task_initiated_created", _task.initiator_id, _task.created_at, _task.id, **_NOT_TRIAL)


class SideKind(StrEnum):
    supplement = "supplement"  # 退回给申请人补正: the initiator answers, the task comes back
    addsign_before = "addsign_before"  # 加签（前）: a colleague signs first, the task comes back to its holder
    addsign_after = "addsign_after"  # 加签（后）: the holder decided; the task completes when the colleague signs
    delegate = "delegate"  # 委派: a colleague drafts the opinion, the holder confirms


class SideStatus(StrEnum):
    open = "open"
    answered = "answered"
    cancelled = "cancelled"


SIDE_KIND_ZH = {SideKind.supplement: "补正", SideKind.addsign_before: "加签", SideKind.addsign_after: "加签（会签）",
                SideKind.delegate: "委派"}


class TaskSide(SQLModel, table=True):
    """A piece of work asked of one person about an open task; while open, the task waits (not in any inbox)."""

    __tablename__ = "task_side"
    __table_args__ = (
        Index("ix_task_side_assignee_status", "assignee_id", "status"),
        Index("ix_task_side_task_status", "task_id", "status"),
        # The side tasks a person must answer, oldest first (GET /api/side-tasks, above the 待办 list).
        Index("ix_task_side_open_assignee", "assignee_id", "created_at", "id",
              sqlite_where=text("status = 'open'"), postgresql_where=text("status = 'open'")),
    )

    id: int | None = Field(default=None, primary_key=True)
    task_id: int = Field(foreign_key="task.id")
    instance_id: int = Field(foreign_key="process_instance.id", index=True)
    kind: str = Field(max_length=16)
    assignee_id: int = Field(foreign_key="app_user.id")
    requested_by_id: int = Field(foreign_key="app_user.id")
    reason: str = Field(default="", max_length=500)
    reply: str | None = Field(default=None, sa_type=Text)
    # addsign_after: the holder's submitted form data, with which the engine task completes once signed.
    data: dict[str, Any] | None = Field(default=None, sa_type=JSON)
    status: str = Field(max_length=16)
    created_at: datetime = Field(sa_type=UTCDateTime)
    answered_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class Deputy(SQLModel, table=True):
    """A standing delegation while away (代理): `deputy_id` may work `user_id`'s tasks from `starts_on` to `ends_on`."""

    __tablename__ = "task_deputy"

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="app_user.id", unique=True)
    deputy_id: int = Field(foreign_key="app_user.id", index=True)
    starts_on: date
    ends_on: date
    created_at: datetime = Field(sa_type=UTCDateTime)
