"""The external tasks of running instances as workers see them: fetchable by topic, locked by one worker."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, Index, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from app.core.i18n import N_
from app.core.types import UTCDateTime


class ExternalTaskStatus(StrEnum):
    open = "open"              # waiting for a worker (from next_attempt_at on, after a failure)
    locked = "locked"          # fetched by a worker until locked_until; fetchable again once that has passed
    incident = "incident"      # retries exhausted: waits for an administrator to retry it
    completed = "completed"    # completed by its worker, or ended by a BPMN error its process caught
    cancelled = "cancelled"    # withdrawn by the engine (instance cancelled, boundary event, reset)


STATUS_ZH = {
    ExternalTaskStatus.open: N_("待领取"), ExternalTaskStatus.locked: N_("已锁定"),
    ExternalTaskStatus.incident: N_("故障待处理"), ExternalTaskStatus.completed: N_("已完成"),
    ExternalTaskStatus.cancelled: N_("已撤回"),
}
# What a worker may report: Camunda's errorDetails are a stack trace, kept bounded.
MAX_ERROR_MESSAGE = 500
MAX_ERROR_DETAILS = 8000


class ExternalTask(SQLModel, table=True):
    """One external task of an instance (the engine's task id is unique per instance), open until done."""

    __tablename__ = "external_task"
    __table_args__ = (
        UniqueConstraint("instance_id", "spiff_task_id", name="uq_external_task_engine_task"),
        # Fetch-and-lock: the open/locked tasks of a topic, oldest first.
        Index("ix_external_task_fetch", "topic", "status", "id"),
        Index("ix_external_task_status", "status", "id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    instance_id: int = Field(foreign_key="process_instance.id", index=True)
    process_key: str = Field(max_length=128)
    spiff_task_id: str = Field(max_length=36)
    element_id: str = Field(max_length=255)
    name: str = Field(max_length=200)
    topic: str = Field(max_length=100)
    status: str = Field(default=ExternalTaskStatus.open.value, max_length=16)
    # The task's variables when it became ready (a waiting engine task's data does not change).
    variables: dict[str, Any] = Field(default_factory=dict, sa_type=JSON)
    business_ref: str | None = Field(default=None, max_length=64)
    trial: bool = False
    worker_id: str | None = Field(default=None, max_length=128)
    locked_by_client_id: int | None = Field(default=None, foreign_key="system_client.id")
    locked_until: datetime | None = Field(default=None, sa_type=UTCDateTime)
    # Null until a worker reports a failure (Camunda: the worker sets the count it has left).
    retries: int | None = None
    error_message: str | None = Field(default=None, max_length=MAX_ERROR_MESSAGE)
    error_details: str | None = Field(default=None, sa_type=Text)
    # Back-off: after a failure with retries left, not fetchable before this instant.
    next_attempt_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    attempts: int = 0
    created_at: datetime = Field(sa_type=UTCDateTime)
    completed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    completed_by: str | None = Field(default=None, max_length=200)
    incident_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    incident_by: str | None = Field(default=None, max_length=200)
    resolved_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    resolved_by: str | None = Field(default=None, max_length=64)
