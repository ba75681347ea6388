"""Catalog entries: a department's data resources (core metadata of the national catalog guide)."""

from datetime import date, datetime
from enum import StrEnum
from typing import Any

from pydantic import field_validator
from sqlalchemy import JSON, Index, UniqueConstraint, text
from sqlmodel import Field, SQLModel

from app.core.types import UTCDateTime


class ShareType(StrEnum):
    unconditional = "unconditional"
    conditional = "conditional"
    not_shared = "not_shared"


SHARE_TYPE_ZH = {
    ShareType.unconditional: "无条件共享",
    ShareType.conditional: "有条件共享",
    ShareType.not_shared: "不予共享",
}

FORMATS = ("电子文件", "电子表格", "数据库", "图形图像", "流媒体", "自描述")
ITEM_TYPES = ("字符型", "数值型", "货币型", "日期型", "日期时间型", "逻辑型", "结构型", "非结构型", "其他")
UPDATE_CYCLES = ("实时", "每日", "每周", "每月", "每季度", "每半年", "每年", "其他")
SHARE_METHODS = ("api", "table", "file")
SHARE_METHOD_ZH = {"api": "接口", "table": "库表", "file": "文件"}


class DataItem(SQLModel):
    """One 信息项 of a catalog entry."""

    name: str = Field(min_length=1, max_length=64)
    type: str = Field(default="字符型", max_length=16)
    length: int | None = Field(default=None, ge=1, le=100000)
    note: str | None = Field(default=None, max_length=200)

    @field_validator("name")
    @classmethod
    def _strip(cls, v: str) -> str:
        v = v.strip()
        if not v:
            raise ValueError("信息项名称不能为空")
        return v


class CatalogEntryBase(SQLModel):
    code: str = Field(max_length=64, unique=True, index=True)
    name: str = Field(max_length=128)
    summary: str = Field(max_length=2000)
    category: str | None = Field(default=None, max_length=64)
    format: str = Field(max_length=16)
    share_type: str = Field(max_length=16, index=True)
    share_conditions: str | None = Field(default=None, max_length=2000)
    share_methods: list[str] = Field(default_factory=list, sa_type=JSON)
    legal_basis: str | None = Field(default=None, max_length=1000)
    open_to_public: bool = False
    open_conditions: str | None = Field(default=None, max_length=2000)
    update_cycle: str = Field(max_length=16)
    classification: str = Field(default="非涉密", max_length=16)


class CatalogEntry(CatalogEntryBase, table=True):
    """A published data resource of a department."""

    __tablename__ = "catalog_entry"

    id: int | None = Field(default=None, primary_key=True)
    department_id: int = Field(foreign_key="department.id", index=True)
    items: list[dict[str, Any]] = Field(default_factory=list, sa_type=JSON)
    status: str = Field(default="published", max_length=16, index=True)
    created_by_id: int | None = Field(default=None, foreign_key="app_user.id")
    created_at: datetime = Field(sa_type=UTCDateTime)
    updated_at: datetime = Field(sa_type=UTCDateTime)


# ---- catalog versions (Art. 8: a department's catalog is 审定 by the authority of its level) ----------

class VersionStatus(StrEnum):
    draft = "draft"
    under_review = "under_review"
    returned = "returned"
    published = "published"
    discarded = "discarded"


VERSION_STATUS_ZH = {
    VersionStatus.draft: "草稿",
    VersionStatus.under_review: "审核中",
    VersionStatus.returned: "已退回",
    VersionStatus.published: "已发布",
    VersionStatus.discarded: "已作废",
}
OPEN_VERSION_STATUSES = (VersionStatus.draft.value, VersionStatus.under_review.value, VersionStatus.returned.value)


class ChangeKind(StrEnum):
    unchanged = "unchanged"
    added = "added"
    changed = "changed"
    withdrawn = "withdrawn"


CHANGE_ZH = {ChangeKind.unchanged: "未变更", ChangeKind.added: "新增", ChangeKind.changed: "变更",
             ChangeKind.withdrawn: "撤销"}
DECISION_ZH = {"approve": "通过", "return": "退回"}


class CatalogVersion(SQLModel, table=True):
    """One version of a department's catalog: a draft, under review, returned, or published (kept as a snapshot)."""

    __tablename__ = "catalog_version"
    __table_args__ = (
        UniqueConstraint("department_id", "number"),
        # One version in the works per department at a time, even under concurrent requests.
        Index("uq_catalog_version_open", "department_id", unique=True,
              sqlite_where=text("status IN ('draft', 'under_review', 'returned')"),
              postgresql_where=text("status IN ('draft', 'under_review', 'returned')")),
    )

    id: int | None = Field(default=None, primary_key=True)
    department_id: int = Field(foreign_key="department.id", index=True)
    number: int
    status: str = Field(max_length=16, index=True)
    base_version_id: int | None = Field(default=None, foreign_key="catalog_version.id")
    instance_id: int | None = Field(default=None, foreign_key="process_instance.id", index=True)
    authority_department_id: int | None = Field(default=None, foreign_key="department.id")
    note: str | None = Field(default=None, max_length=1000)
    review_round: int = 0
    review_comment: str | None = Field(default=None, max_length=2000)
    # The department's published catalog as this version left it (published versions only).
    snapshot: list[dict[str, Any]] | None = Field(default=None, sa_type=JSON)
    created_by_id: int | None = Field(default=None, foreign_key="app_user.id")
    created_at: datetime = Field(sa_type=UTCDateTime)
    updated_at: datetime = Field(sa_type=UTCDateTime)
    submitted_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    published_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    published_by: str | None = Field(default=None, max_length=64)


class CatalogVersionEntry(SQLModel, table=True):
    """An entry of a version: a copy of a published entry, or an addition, change or withdrawal, with its review."""

    __tablename__ = "catalog_version_entry"
    __table_args__ = (UniqueConstraint("version_id", "code"),)

    id: int | None = Field(default=None, primary_key=True)
    version_id: int = Field(foreign_key="catalog_version.id", index=True)
    code: str = Field(max_length=64, index=True)
    change: str = Field(max_length=16)
    entry_id: int | None = Field(default=None, foreign_key="catalog_entry.id")
    # The entry as drafted (core metadata and items), and as published when the draft was made.
    data: dict[str, Any] = Field(default_factory=dict, sa_type=JSON)
    base: dict[str, Any] | None = Field(default=None, sa_type=JSON)
    # The authority's latest decision; None while one is due (new, or edited since).
    decision: str | None = Field(default=None, max_length=16)
    comment: str | None = Field(default=None, max_length=1000)
    decided_round: int | None = None
    decided_by: str | None = Field(default=None, max_length=64)
    decided_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


# ---- catalog update duty (Art. 9) ------------------------------------------------------------------

class TriggerKind(StrEnum):
    law_revised = "law_revised"
    functions_changed = "functions_changed"


TRIGGER_KIND_ZH = {TriggerKind.law_revised: "法律法规修订", TriggerKind.functions_changed: "行政管理职能变化"}


class CatalogUpdateTrigger(SQLModel, table=True):
    """A law revised or a department's functions changed: the departments concerned must update their catalogs."""

    __tablename__ = "catalog_update_trigger"

    id: int | None = Field(default=None, primary_key=True)
    kind: str = Field(max_length=32)
    document_number: str = Field(max_length=128)
    document_date: date
    # Art. 9 (之日起): the day the law was revised or the functions changed; the 10 working days count
    # from it (that day not counted), not from the day the trigger was entered.
    effective_on: date
    summary: str = Field(max_length=2000)
    recorded_by_id: int = Field(foreign_key="app_user.id")
    recorded_at: datetime = Field(sa_type=UTCDateTime)


class DutyStatus(StrEnum):
    open = "open"
    fulfilled = "fulfilled"


DUTY_STATUS_ZH = {DutyStatus.open: "待提交", DutyStatus.fulfilled: "已提交"}


class CatalogUpdateDuty(SQLModel, table=True):
    """One department's duty to submit an updated catalog within 10 working days of a trigger (Art. 9)."""

    __tablename__ = "catalog_update_duty"
    __table_args__ = (UniqueConstraint("trigger_id", "department_id"),)

    id: int | None = Field(default=None, primary_key=True)
    trigger_id: int = Field(foreign_key="catalog_update_trigger.id", index=True)
    department_id: int = Field(foreign_key="department.id", index=True)
    instance_id: int | None = Field(default=None, foreign_key="process_instance.id", index=True)
    status: str = Field(max_length=16, index=True)
    version_id: int | None = Field(default=None, foreign_key="catalog_version.id")
    created_at: datetime = Field(sa_type=UTCDateTime)
    fulfilled_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    fulfilled_by: str | None = Field(default=None, max_length=64)
