"""Share disputes (Art. 16 para 3, Art. 17): negotiation between the two departments, then
coordination and adjudication (评判) by the data authority, and the record of every step."""

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, Index, text
from sqlmodel import Field, SQLModel

from app.core.types import UTCDateTime


class DisputeStatus(StrEnum):
    negotiating = "negotiating"
    coordinating = "coordinating"
    settled = "settled"
    decided = "decided"
    complied = "complied"


STATUS_ZH = {
    DisputeStatus.negotiating: "协商中",
    DisputeStatus.coordinating: "主管部门协调中",
    DisputeStatus.settled: "协商解决",
    DisputeStatus.decided: "已评判",
    DisputeStatus.complied: "已落实",
}


class DisputeKind(StrEnum):
    refused = "refused"          # conditional data the provider refused
    not_shared = "not_shared"    # data the catalog lists as not shared


KIND_ZH = {DisputeKind.refused: "有条件共享数据被拒绝共享", DisputeKind.not_shared: "不予共享类数据"}

OUTCOME_ZH = {"share": "予以共享", "not_share": "不予共享"}
RESOLUTION_ZH = {"settlement": "协商一致", "adjudication": "主管部门评判"}
ESCALATION_ZH = {"failed": "协商未果", "deadline": "协商期限届满"}
STANCE_ZH = {"share": "同意共享", "partial": "部分共享", "not_share": "仍不同意共享"}
RESPONSE_ZH = {"accept": "接受，协商一致", "continue": "不接受，继续协商", "escalate": "协商未果，提请协调"}
ACTION_ZH = {"ask_requester": "要求使用部门陈述意见", "ask_provider": "要求提供部门陈述意见",
             "ask_both": "要求双方陈述意见", "meeting": "记录协调会", "decide": "作出评判"}


class RecordKind(StrEnum):
    opened = "opened"
    provider_position = "provider_position"
    requester_position = "requester_position"
    escalated = "escalated"
    statement_requested = "statement_requested"
    requester_statement = "requester_statement"
    provider_statement = "provider_statement"
    meeting = "meeting"
    settled = "settled"
    decided = "decided"
    complied = "complied"


RECORD_ZH = {
    RecordKind.opened: "提起争议",
    RecordKind.provider_position: "提供部门协商意见",
    RecordKind.requester_position: "使用部门回应",
    RecordKind.escalated: "提请主管部门协调",
    RecordKind.statement_requested: "要求陈述意见",
    RecordKind.requester_statement: "使用部门陈述意见",
    RecordKind.provider_statement: "提供部门陈述意见",
    RecordKind.meeting: "协调会",
    RecordKind.settled: "协商一致",
    RecordKind.decided: "主管部门评判",
    RecordKind.complied: "提供部门落实评判",
}

# While a dispute is open no second one may be opened for the same share request.
OPEN = "closed_at IS NULL"


class Dispute(SQLModel, table=True):
    """A using department's dispute over a refused share request, from opening to its binding outcome."""

    __tablename__ = "dispute"
    __table_args__ = (
        Index("uq_dispute_open_request", "share_request_id", unique=True,
              sqlite_where=text(OPEN), postgresql_where=text(OPEN)),
        # A department's list newest first, each side (requester, provider, authority) from its own index.
        Index("ix_dispute_requester_id", "requester_department_id", "id"),
        Index("ix_dispute_provider_id", "provider_department_id", "id"),
        Index("ix_dispute_authority_id", "authority_department_id", "id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    share_request_id: int = Field(foreign_key="share_request.id", index=True)
    entry_id: int = Field(foreign_key="catalog_entry.id", index=True)
    requester_department_id: int = Field(foreign_key="department.id")
    provider_department_id: int = Field(foreign_key="department.id")
    # Chosen when the dispute is opened (the level rule), so every party knows from the start.
    authority_department_id: int = Field(foreign_key="department.id")
    opened_by_id: int = Field(foreign_key="app_user.id")
    kind: str = Field(max_length=16)
    items: list[str] = Field(default_factory=list, sa_type=JSON)
    duties: str = Field(max_length=2000)
    need: str = Field(max_length=2000)
    status: str = Field(max_length=16, index=True)
    negotiation_due_at: datetime = Field(sa_type=UTCDateTime)
    negotiation_rounds: int = 0
    escalation_reason: str | None = Field(default=None, max_length=16)
    escalated_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    resolution: str | None = Field(default=None, max_length=16)
    outcome: str | None = Field(default=None, max_length=16)
    outcome_items: list[str] | None = Field(default=None, sa_type=JSON)
    terms: str | None = Field(default=None, max_length=2000)
    reasons: str | None = Field(default=None, max_length=5000)
    basis: str | None = Field(default=None, max_length=1000)
    resolved_by: str | None = Field(default=None, max_length=64)
    resolved_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    grant_id: int | None = Field(default=None, foreign_key="share_grant.id")
    compliance_note: str | None = Field(default=None, max_length=2000)
    complied_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    closed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    instance_id: int | None = Field(default=None, foreign_key="process_instance.id", index=True)
    # The earliest deadline running among the case's open tasks (a paused task's does not run); kept by the
    # flush that changes the tasks (app/authority/next_due.py), so the console orders by an index.
    next_due_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    created_at: datetime = Field(sa_type=UTCDateTime, index=True)
    updated_at: datetime = Field(sa_type=UTCDateTime)


# The authority console's default order of the open cases (next deadline, newest first, id): the whole
# service's, and one authority's (migration 0032).
Index("ix_dispute_console_due", Dispute.next_due_at, Dispute.created_at.desc(), Dispute.id,  # type: ignore[attr-defined]
      sqlite_where=text("closed_at IS NULL"), postgresql_where=text("closed_at IS NULL"))
Index("ix_dispute_console_authority_due", Dispute.authority_department_id, Dispute.next_due_at,
      Dispute.created_at.desc(), Dispute.id,  # type: ignore[attr-defined]
      sqlite_where=text("closed_at IS NULL"), postgresql_where=text("closed_at IS NULL"))
# The open cases without a running deadline (paused, or a step with none), newest first: PostgreSQL cannot order
# by the index above after "next_due_at IS NULL".
Index("ix_dispute_console_undated", Dispute.created_at.desc(), Dispute.id,  # type: ignore[attr-defined]
      sqlite_where=text("closed_at IS NULL AND next_due_at IS NULL"),
      postgresql_where=text("closed_at IS NULL AND next_due_at IS NULL"))
# One authority's cases by their opening (the closed ones of the deadline order, the opened-at orders).
Index("ix_dispute_authority_opened", Dispute.authority_department_id, Dispute.created_at, Dispute.id)


class DisputeRecord(SQLModel, table=True):
    """One entry of a dispute's file (卷宗): a position, a statement, a meeting, the outcome."""

    __tablename__ = "dispute_record"
    # The file pages newest first (「更早的记录」).
    __table_args__ = (Index("ix_dispute_record_dispute", "dispute_id", "id"),)

    id: int | None = Field(default=None, primary_key=True)
    dispute_id: int = Field(foreign_key="dispute.id")
    kind: str = Field(max_length=32)
    round: int | None = None
    # Each finished task is recorded once, whichever path (API, page, generic task form) completed it.
    task_id: int | None = Field(default=None, foreign_key="task.id", unique=True)
    department_id: int | None = Field(default=None, foreign_key="department.id")
    actor: str = Field(max_length=64)
    detail: dict[str, Any] = Field(default_factory=dict, sa_type=JSON)
    at: datetime = Field(sa_type=UTCDateTime)
