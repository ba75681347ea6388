"""Process definitions, instances and the projection of their open human tasks."""

from datetime import date, datetime, time
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from sqlalchemy import JSON, Column, Index, Integer, LargeBinary, Text, UniqueConstraint, text
from sqlmodel import Field, SQLModel

from app.core.clock import SHANGHAI
from app.core.types import UTCDateTime


class InstanceStatus(StrEnum):
    running = "running"
    completed = "completed"
    cancelled = "cancelled"


class TaskStatus(StrEnum):
    open = "open"
    completed = "completed"
    cancelled = "cancelled"


class ProcessDefinition(SQLModel, table=True):
    """A deployed BPMN file; instances stay on their version.

    The same bytes may be deployed again as a new version (rolling back is deploying an earlier
    version's file anew), so (process_key, content_hash) is indexed, not unique.
    """

    __tablename__ = "process_definition"
    __table_args__ = (
        UniqueConstraint("process_key", "version"),
        Index("ix_process_definition_key_hash", "process_key", "content_hash"),
    )

    id: int | None = Field(default=None, primary_key=True)
    process_key: str = Field(max_length=128, index=True)
    name: str = Field(max_length=200)
    version: int
    content_hash: str = Field(max_length=64)
    bpmn_xml: bytes = Field(sa_type=LargeBinary)
    filename: str | None = Field(default=None, max_length=255)
    meta: dict[str, Any] = Field(default_factory=dict, sa_type=JSON)
    deployed_by: str | None = Field(default=None, max_length=64)
    deployed_at: datetime = Field(sa_type=UTCDateTime)
    # The administrator who approved the designer's submission (four-eyes); None for files the
    # service deployed from its bpmn/ directory.
    approved_by: str | None = Field(default=None, max_length=64)


_LOCK_VERSION = Column("lock_version", Integer, nullable=False)


class ProcessInstance(SQLModel, table=True):
    """A running or finished process; `state` is the lean serialized workflow."""

    __tablename__ = "process_instance"
    # Optimistic lock: every flush checks and bumps it; a lost race raises StaleDataError (409).
    __mapper_args__ = {"version_id_col": _LOCK_VERSION}

    id: int | None = Field(default=None, primary_key=True)
    definition_id: int = Field(foreign_key="process_definition.id", index=True)
    process_key: str = Field(max_length=128, index=True)
    status: str = Field(max_length=16, index=True)
    state: str = Field(sa_type=Text)
    lock_version: int = Field(default=0, sa_column=_LOCK_VERSION)
    next_timer_at: datetime | None = Field(default=None, sa_type=UTCDateTime, index=True)
    subject: str = Field(default="", max_length=300)
    business_ref: str | None = Field(default=None, max_length=64, index=True)
    started_by_id: int | None = Field(default=None, foreign_key="app_user.id")
    department_id: int | None = Field(default=None, foreign_key="department.id", index=True)
    started_at: datetime = Field(sa_type=UTCDateTime)
    updated_at: datetime = Field(sa_type=UTCDateTime)
    ended_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    # A designer's trial run: never in a real inbox, notification, supervision queue or statistic.
    trial: bool = Field(default=False, sa_column_kwargs={"server_default": sa.false()})


class Task(SQLModel, table=True):
    """A human task: open ones are the projection inboxes query; finished ones are history."""

    __tablename__ = "task"
    __table_args__ = (
        UniqueConstraint("instance_id", "spiff_task_id"),
        # An instance's open steps, found directly however many rounds its history holds.
        Index("ix_task_instance_status", "instance_id", "status"),
        # The scheduler's sweeps: open tasks by deadline.
        Index("ix_task_open_due", "status", "due_at"),
        # Escalation scans only what is still to escalate, however many tasks history holds.
        Index("ix_task_to_escalate", "due_at", sqlite_where=text("status = 'open' AND escalated_at IS NULL"),
              postgresql_where=text("status = 'open' AND escalated_at IS NULL")),
    )

    id: int | None = Field(default=None, primary_key=True)
    instance_id: int = Field(foreign_key="process_instance.id")
    process_key: str = Field(max_length=128)
    spiff_task_id: str = Field(max_length=36)
    task_spec: str = Field(max_length=128)
    name: str = Field(max_length=200)
    department_id: int | None = Field(default=None, foreign_key="department.id")
    role: str | None = Field(default=None, max_length=32)
    assignee_id: int | None = Field(default=None, foreign_key="app_user.id", index=True)
    status: str = Field(max_length=16)
    due_rule: str | None = Field(default=None, max_length=64)
    due_working_days: int | None = None
    # Working days added by pauses (挂起): due = receipt + due_working_days + paused_working_days.
    paused_working_days: int = Field(default=0, sa_column_kwargs={"server_default": "0"})
    due_at: datetime | None = Field(default=None, sa_type=UTCDateTime, index=True)
    # The day the deadline counts from when it is not the task's arrival, e.g. the day a law was
    # revised (Art. 9, 之日起); that day itself is not counted (Civil Code art. 201).
    due_from: date | None = None
    due_provisional: bool = Field(default=False, index=True)
    paused_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    pause_reason: str | None = Field(default=None, max_length=500)
    reminded_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    escalated_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    form: list[dict[str, Any]] = Field(default_factory=list, sa_type=JSON)
    data: dict[str, Any] | None = Field(default=None, sa_type=JSON)
    created_at: datetime = Field(sa_type=UTCDateTime)
    completed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    completed_by_id: int | None = Field(default=None, foreign_key="app_user.id", index=True)
    # Copied from the instance so that inbox and sweep queries need no join to exclude trial runs.
    trial: bool = Field(default=False, sa_column_kwargs={"server_default": sa.false()})
    # Who started the case (the instance's started_by_id, which never changes), copied so that 我发起的 reads
    # its own indexes in the order it shows (app/tasks/models.py) instead of sorting all the person's tasks.
    initiator_id: int | None = Field(default=None)

    @property
    def due_start(self) -> datetime:
        """Return the instant the deadline counts from: the start of due_from, or the task's arrival."""
        if self.due_from is None:
            return self.created_at
        return datetime.combine(self.due_from, time(0), SHANGHAI)


class MessageSubscription(SQLModel, table=True):
    """A message a running instance waits for now (catch event, receive task, boundary event).

    Kept by the runner at every step, so that POST /api/messages finds the waiting instance by
    business reference without restoring any state.
    """

    __tablename__ = "message_subscription"
    __table_args__ = (
        UniqueConstraint("instance_id", "message_name"),
        Index("ix_message_subscription_name", "message_name", "instance_id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    instance_id: int = Field(foreign_key="process_instance.id")
    message_name: str = Field(max_length=128)
    created_at: datetime = Field(sa_type=UTCDateTime)
