"""Drafts of BPMN files and their four-eyes submissions."""

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, Column, Integer, LargeBinary, Text
from sqlmodel import Field, SQLModel

from app.core.types import UTCDateTime


class DraftStatus(StrEnum):
    editing = "editing"
    submitted = "submitted"
    returned = "returned"
    approved = "approved"


DRAFT_STATUS_ZH = {DraftStatus.editing: "编辑中", DraftStatus.submitted: "待审批",
                   DraftStatus.returned: "已退回", DraftStatus.approved: "已批准"}


class SubmissionStatus(StrEnum):
    pending = "pending"
    approved = "approved"
    returned = "returned"


SUBMISSION_STATUS_ZH = {SubmissionStatus.pending: "待审批", SubmissionStatus.approved: "已批准并部署",
                        SubmissionStatus.returned: "已退回"}

_DRAFT_LOCK_VERSION = Column("lock_version", Integer, nullable=False)


class ProcessDraft(SQLModel, table=True):
    """A designer's BPMN file in progress, saved server-side; problems are those of the last save."""

    __tablename__ = "process_draft"
    # Optimistic lock: two tabs saving the same draft cannot silently overwrite each other.
    __mapper_args__ = {"version_id_col": _DRAFT_LOCK_VERSION}

    id: int | None = Field(default=None, primary_key=True)
    title: str = Field(max_length=200)
    process_key: str | None = Field(default=None, max_length=128, index=True)
    base_version: int | None = None
    bpmn_xml: str = Field(sa_type=Text)
    owner_id: int = Field(foreign_key="app_user.id", index=True)
    status: str = Field(max_length=16, index=True)
    problems: list[dict[str, Any]] = Field(default_factory=list, sa_type=JSON)
    review_comment: str | None = Field(default=None, max_length=2000)
    lock_version: int = Field(default=0, sa_column=_DRAFT_LOCK_VERSION)
    created_at: datetime = Field(sa_type=UTCDateTime)
    updated_at: datetime = Field(sa_type=UTCDateTime)


class ProcessSubmission(SQLModel, table=True):
    """A snapshot of a draft (or of a deployed version, to roll back) awaiting an administrator."""

    __tablename__ = "process_submission"

    id: int | None = Field(default=None, primary_key=True)
    draft_id: int | None = Field(default=None, foreign_key="process_draft.id", index=True)
    process_key: str = Field(max_length=128, index=True)
    bpmn_xml: bytes = Field(sa_type=LargeBinary)
    content_hash: str = Field(max_length=64)
    base_version: int | None = None
    submitted_by_id: int = Field(foreign_key="app_user.id", index=True)
    submitted_at: datetime = Field(sa_type=UTCDateTime)
    comment: str | None = Field(default=None, max_length=2000)
    status: str = Field(max_length=16, index=True)
    reviewed_by_id: int | None = Field(default=None, foreign_key="app_user.id")
    reviewed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    review_comment: str | None = Field(default=None, max_length=2000)
    deployed_definition_id: int | None = Field(default=None, foreign_key="process_definition.id")
