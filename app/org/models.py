"""Regions, departments, users and their roles."""

from datetime import datetime
from enum import StrEnum

from sqlmodel import Field, SQLModel

from app.core.types import UTCDateTime


class Level(StrEnum):
    province = "province"
    city = "city"
    county = "county"


LEVEL_ZH = {Level.province: "省级", Level.city: "市级", Level.county: "县级"}


class DepartmentKind(StrEnum):
    department = "department"
    data_authority = "data_authority"
    government_office = "government_office"
    public_enterprise = "public_enterprise"


KIND_ZH = {
    DepartmentKind.department: "政务部门",
    DepartmentKind.data_authority: "政务数据主管部门",
    DepartmentKind.government_office: "本级人民政府（督查室）",
    DepartmentKind.public_enterprise: "公共企事业单位",
}


class Role(StrEnum):
    clerk = "clerk"
    reviewer = "reviewer"
    authority_reviewer = "authority_reviewer"
    supervisor = "supervisor"
    head = "head"
    designer = "designer"
    admin = "admin"


ROLE_ZH = {
    Role.clerk: "经办人",
    Role.reviewer: "审核人",
    Role.authority_reviewer: "主管部门审核员",
    Role.supervisor: "督查员",
    Role.head: "部门负责人",
    Role.designer: "流程设计员",
    Role.admin: "系统管理员",
}


class Region(SQLModel, table=True):
    """An administrative division (GB/T 2260 code)."""

    code: str = Field(primary_key=True, max_length=12)
    name: str = Field(max_length=64)
    level: str = Field(max_length=16, index=True)
    parent_code: str | None = Field(default=None, foreign_key="region.code", max_length=12, index=True)


class DepartmentBase(SQLModel):
    code: str = Field(max_length=64, unique=True, index=True)
    name: str = Field(max_length=128)
    kind: str = Field(max_length=32)
    region_code: str = Field(foreign_key="region.code", max_length=12, index=True)


class Department(DepartmentBase, table=True):
    """A government body, data authority, government office or public enterprise."""

    id: int | None = Field(default=None, primary_key=True)
    is_active: bool = True
    created_at: datetime = Field(sa_type=UTCDateTime)


class User(SQLModel, table=True):
    """A person who logs in; belongs to one department."""

    __tablename__ = "app_user"

    id: int | None = Field(default=None, primary_key=True)
    username: str = Field(max_length=64, unique=True, index=True)
    password_hash: str = Field(max_length=255)
    display_name: str = Field(max_length=64)
    department_id: int = Field(foreign_key="department.id", index=True)
    is_active: bool = True
    created_at: datetime = Field(sa_type=UTCDateTime)
    # The language of the pages this person reads: 'zh' (default) or 'en' (app/core/i18n.py).
    language: str = Field(default="zh", max_length=8, sa_column_kwargs={"server_default": "zh"})


class UserRole(SQLModel, table=True):
    """A role a user holds inside their department."""

    __tablename__ = "user_role"

    user_id: int = Field(foreign_key="app_user.id", primary_key=True)
    role: str = Field(max_length=32, primary_key=True)
