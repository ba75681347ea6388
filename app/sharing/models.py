"""Share requests (Art. 16) and the grants they produce."""

from datetime import date, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, Index
from sqlmodel import Field, SQLModel

from app.core.types import UTCDateTime


class ShareRequestStatus(StrEnum):
    under_review = "under_review"
    granted = "granted"
    refused = "refused"
    withdrawn = "withdrawn"  # 撤销: the applicant withdrew it before the reply


STATUS_ZH = {
    ShareRequestStatus.under_review: "审批中",
    ShareRequestStatus.granted: "已通过",
    ShareRequestStatus.refused: "未通过",
    ShareRequestStatus.withdrawn: "已撤销",
}

DECISION_ZH = {"approve": "同意", "partial": "部分同意", "refuse": "不同意"}


class ShareRequest(SQLModel, table=True):
    """A using department's request for a catalog entry of a providing department."""

    __tablename__ = "share_request"
    # A department's list (filed, received) newest first: each side read from its own index.
    __table_args__ = (Index("ix_share_request_requester_id", "requester_department_id", "id"),
                      Index("ix_share_request_provider_id", "provider_department_id", "id"))

    id: int | None = Field(default=None, primary_key=True)
    entry_id: int = Field(foreign_key="catalog_entry.id", index=True)
    requester_department_id: int = Field(foreign_key="department.id")
    provider_department_id: int = Field(foreign_key="department.id")
    requested_by_id: int = Field(foreign_key="app_user.id")
    items: list[str] = Field(default_factory=list, sa_type=JSON)
    purpose: str = Field(max_length=2000)
    scope: str = Field(max_length=2000)
    period_from: date
    period_to: date
    method: str = Field(max_length=8)
    legal_basis: str = Field(max_length=1000)
    contact_phone: str | None = Field(default=None, max_length=32)
    status: str = Field(max_length=16, index=True)
    decision: str | None = Field(default=None, max_length=16)
    approved_items: list[str] | None = Field(default=None, sa_type=JSON)
    terms: str | None = Field(default=None, max_length=2000)
    refusal_reason: str | None = Field(default=None, max_length=2000)
    refusal_basis: str | None = Field(default=None, max_length=1000)
    decided_by: str | None = Field(default=None, max_length=64)
    decided_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    instance_id: int | None = Field(default=None, foreign_key="process_instance.id", index=True)
    created_at: datetime = Field(sa_type=UTCDateTime, index=True)


class ShareGrant(SQLModel, table=True):
    """The right of a using department to obtain data items of an entry, with the provider's terms."""

    __tablename__ = "share_grant"

    id: int | None = Field(default=None, primary_key=True)
    share_request_id: int = Field(foreign_key="share_request.id", unique=True)
    entry_id: int = Field(foreign_key="catalog_entry.id", index=True)
    consumer_department_id: int = Field(foreign_key="department.id", index=True)
    provider_department_id: int = Field(foreign_key="department.id", index=True)
    items: list[str] = Field(default_factory=list, sa_type=JSON)
    terms: str | None = Field(default=None, max_length=2000)
    method: str = Field(max_length=8)
    valid_from: date
    valid_to: date
    basis: str = Field(max_length=32)  # "unconditional" | "review"
    created_at: datetime = Field(sa_type=UTCDateTime)


def public_dict(model: SQLModel) -> dict[str, Any]:
    """Return the model's fields as JSON-friendly values."""
    return model.model_dump(mode="json")
