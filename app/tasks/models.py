"""Side tasks (补正, 加签, 委派) beside the engine's tasks, and standing deputies (代理)."""

from datetime import date, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, Index, Text
from sqlmodel import Field, SQLModel

from app.core.types import UTCDateTime


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
