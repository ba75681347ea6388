"""New business systems (Art. 7): a department registers a system; its project approval (立项) waits for a
catalog that lists the system's data, submitted and reviewed by the data authority."""

from datetime import date, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, Index
from sqlmodel import Field, SQLModel

from app.core.types import UTCDateTime


class SystemStatus(StrEnum):
    pending = "pending"  # registered: the department holds the 立项 step
    approved = "approved"  # project approval recorded: closed
    withdrawn = "withdrawn"  # withdrawn by the department: closed


STATUS_ZH = {
    SystemStatus.pending: "待立项",
    SystemStatus.approved: "已立项",
    SystemStatus.withdrawn: "已撤回",
}
OPEN_STATUSES = (SystemStatus.pending.value,)


class BusinessSystem(SQLModel, table=True):
    """A new business system a department plans, with the data it will collect, and its project approval."""

    __tablename__ = "business_system"
    __table_args__ = (Index("ix_business_system_department_id_id", "department_id", "id"),
                      Index("ix_business_system_authority_id", "authority_department_id", "id"))

    id: int | None = Field(default=None, primary_key=True)
    department_id: int = Field(foreign_key="department.id")
    # The data authority of the department's level, which reviews the catalog the approval waits for.
    authority_department_id: int = Field(foreign_key="department.id")
    name: str = Field(max_length=128)
    purpose: str = Field(max_length=2000)
    # [{"name": 信息项, "entry_code": catalog entry code or None}], in the order the department gave them.
    data_items: list[dict[str, Any]] = Field(default_factory=list, sa_type=JSON)
    contact_name: str = Field(max_length=64)
    contact_phone: str = Field(max_length=32)
    status: str = Field(max_length=16, index=True)
    instance_id: int | None = Field(default=None, foreign_key="process_instance.id", index=True)
    # 立项: the approval document's number, date and the body that approved the project.
    approval_number: str | None = Field(default=None, max_length=128)
    approval_date: date | None = None
    approving_body: str | None = Field(default=None, max_length=128)
    # The catalog version that listed the system's data when the approval was recorded.
    catalog_version_id: int | None = Field(default=None, foreign_key="catalog_version.id")
    approved_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    approved_by: str | None = Field(default=None, max_length=64)
    withdrawn_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    withdrawn_reason: str | None = Field(default=None, max_length=1000)
    created_by_id: int = Field(foreign_key="app_user.id")
    created_at: datetime = Field(sa_type=UTCDateTime)
    updated_at: datetime = Field(sa_type=UTCDateTime)
