"""Catalog entries: a department's data resources (core metadata of the national catalog guide)."""

from datetime import datetime
from enum import StrEnum
from typing import Any

from pydantic import field_validator
from sqlalchemy import JSON
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
