"""Open lists (开放清单, Art. 20–21): a department's yearly list of the data it opens to society."""

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, UniqueConstraint
from sqlmodel import Field, SQLModel

from app.core.types import UTCDateTime


class OpenListStatus(StrEnum):
    draft = "draft"
    under_review = "under_review"
    returned = "returned"
    published = "published"
    superseded = "superseded"
    discarded = "discarded"


STATUS_ZH = {
    OpenListStatus.draft: "草稿",
    OpenListStatus.under_review: "审查中",
    OpenListStatus.returned: "已退回",
    OpenListStatus.published: "已公布",
    OpenListStatus.superseded: "已被新版本替代",
    OpenListStatus.discarded: "已作废",
}

# The department may change its list only while it holds it; the authority holds it while reviewing.
EDITABLE = (OpenListStatus.draft.value, OpenListStatus.returned.value)
# What the public may read: the current list, and earlier versions once public.
PUBLIC = (OpenListStatus.published.value, OpenListStatus.superseded.value)


class OpenType(StrEnum):
    unconditional = "unconditional"
    conditional = "conditional"
    not_open = "not_open"


# Art. 20: government data is opened unconditionally, on conditions, or not at all.
OPEN_TYPE_ZH = {
    OpenType.unconditional: "无条件开放",
    OpenType.conditional: "有条件开放",
    OpenType.not_open: "不予开放",
}

# Art. 20: these kinds, with their basis, are published to society.
RESTRICTED = (OpenType.conditional.value, OpenType.not_open.value)

DECISION_ZH = {"approve": "审查通过", "return": "退回修改"}

# Suggestions shown on the form (数据领域 of the national open-data portals); any text is accepted.
DATA_DOMAINS = ("经济建设", "资源环境", "教育文化", "道路交通", "社会发展", "公共安全", "财税金融",
                "卫生健康", "社保就业", "城建住房", "农业农村", "市场监管", "信用服务", "机构团体",
                "地理空间", "气象服务", "科技创新", "生活服务")
# Suggestions for 数据格式; any text is accepted.
DATA_FORMATS = ("CSV", "XLSX", "JSON", "XML", "接口（API）", "电子文件", "电子表格", "数据库", "图形图像")


class OpenList(SQLModel, table=True):
    """One version of a department's open list for a year."""

    __tablename__ = "open_list"
    __table_args__ = (UniqueConstraint("department_id", "year", "version", name="uq_open_list_version"),)

    id: int | None = Field(default=None, primary_key=True)
    department_id: int = Field(foreign_key="department.id", index=True)
    year: int = Field(index=True)
    version: int = 1
    status: str = Field(max_length=16, index=True)
    # The published version this one will replace once it is published itself.
    revises_id: int | None = Field(default=None, foreign_key="open_list.id")
    note: str | None = Field(default=None, max_length=2000)
    reviewer_department_id: int | None = Field(default=None, foreign_key="department.id", index=True)
    instance_id: int | None = Field(default=None, foreign_key="process_instance.id", index=True)
    review_rounds: int = 0
    created_by_id: int = Field(foreign_key="app_user.id")
    created_at: datetime = Field(sa_type=UTCDateTime)
    updated_at: datetime = Field(sa_type=UTCDateTime)
    submitted_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    published_at: datetime | None = Field(default=None, sa_type=UTCDateTime, index=True)
    published_by: str | None = Field(default=None, max_length=64)
    superseded_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class OpenListItem(SQLModel, table=True):
    """One data resource of an open list, taken from the department's own published catalog (Art. 21)."""

    __tablename__ = "open_list_item"
    __table_args__ = (UniqueConstraint("open_list_id", "entry_code", name="uq_open_list_item_entry"),)

    id: int | None = Field(default=None, primary_key=True)
    open_list_id: int = Field(foreign_key="open_list.id", index=True)
    position: int = 0
    entry_id: int = Field(foreign_key="catalog_entry.id", index=True)
    # Kept beside the reference: the published list must read the same if the catalog changes later.
    entry_code: str = Field(max_length=64)
    entry_name: str = Field(max_length=128)
    data_domain: str = Field(max_length=64)
    summary: str = Field(max_length=2000)
    data_items: list[str] = Field(default_factory=list, sa_type=JSON)
    data_format: str = Field(max_length=64)
    open_type: str = Field(max_length=16, index=True)
    open_conditions: str | None = Field(default=None, max_length=2000)
    basis: str | None = Field(default=None, max_length=1000)
    update_frequency: str = Field(max_length=16)
    created_at: datetime = Field(sa_type=UTCDateTime)
    updated_at: datetime = Field(sa_type=UTCDateTime)


class OpenListReview(SQLModel, table=True):
    """One review round's decision by the data authority, with its comments per item."""

    __tablename__ = "open_list_review"

    id: int | None = Field(default=None, primary_key=True)
    open_list_id: int = Field(foreign_key="open_list.id", index=True)
    round: int
    task_id: int = Field(foreign_key="task.id", unique=True)
    decision: str = Field(max_length=16)
    comment: str | None = Field(default=None, max_length=2000)
    # {entry_code: comment}
    item_comments: dict[str, Any] = Field(default_factory=dict, sa_type=JSON)
    reviewer: str = Field(max_length=64)
    reviewer_department_id: int = Field(foreign_key="department.id")
    decided_at: datetime = Field(sa_type=UTCDateTime)
