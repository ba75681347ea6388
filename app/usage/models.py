"""Art. 12: the log of data provided and obtained under a share grant, the exchange systems that report it,
and the flags raised when a use falls outside its grant."""

from __future__ import annotations

import re
from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import JSON, BigInteger, Index, UniqueConstraint
from sqlmodel import Field, SQLModel

from app.core.i18n import N_
from app.core.types import UTCDateTime


class Scope(StrEnum):
    """What a system client may do; a later area (external-task workers) adds its own."""

    usage_report = "usage:report"
    external_task_work = "external_task:work"


SCOPE_ZH = {Scope.usage_report: N_("报送数据提供使用日志"),
            Scope.external_task_work: N_("领取并办理外部任务（按主题）")}


class SystemClient(SQLModel, table=True):
    """A machine credential (共享交换系统 or another system), never a person's: a code and a hashed secret."""

    __tablename__ = "system_client"

    id: int | None = Field(default=None, primary_key=True)
    code: str = Field(max_length=64, unique=True)
    name: str = Field(max_length=128)
    department_id: int = Field(foreign_key="department.id", index=True)
    scopes: list[str] = Field(default_factory=list, sa_type=JSON)
    # The external-task topics a worker system may fetch (scope external_task:work): exact names or
    # `prefix.*` patterns (app/external/topics.py); empty for a system without that scope.
    topics: list[str] = Field(default_factory=list, sa_type=JSON,
                              sa_column_kwargs={"server_default": "[]"})
    # SHA-256 of a 256-bit random secret: a secret with that entropy needs no slow hash, and ingestion
    # authenticates every batch.
    secret_hash: str = Field(max_length=64)
    is_active: bool = True
    created_by: str = Field(max_length=64)
    created_at: datetime = Field(sa_type=UTCDateTime)
    rotated_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    deactivated_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    last_used_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class Flag(StrEnum):
    """Why a reported use does not match its grant."""

    outside_period = "outside_period"
    items_not_granted = "items_not_granted"
    method_not_granted = "method_not_granted"
    grant_withdrawn = "grant_withdrawn"


# Marked for the English catalog: the pages show them through _() (app/core/i18n.py).
FLAG_ZH = {
    Flag.outside_period: N_("超出使用期限"),
    Flag.items_not_granted: N_("使用了未获授权的数据项"),
    Flag.method_not_granted: N_("共享方式与授权不符"),
    Flag.grant_withdrawn: N_("授权已撤销或不再有效"),
}

METHOD_ZH = {"api": N_("接口"), "table": N_("库表"), "file": N_("文件")}

USAGE_EVENT = "usage_event"
# PostgreSQL: monthly partitions usage_event_pYYYYMM (Asia/Shanghai months) and usage_event_default.
PARTITION_NAME = re.compile(r"^usage_event_(p\d{6}|default)$")


def is_partition(name: str | None) -> bool:
    """Tell whether a table name is one of usage_event's partitions (the models know only the parent)."""
    return bool(name and PARTITION_NAME.match(name))


def include_name(name: str | None, type_: str, parent_names: object) -> bool:
    """Alembic's filter: leave usage_event's partitions out of model/database comparisons."""
    return not (type_ == "table" and is_partition(name))


class UsageEvent(SQLModel, table=True):
    """One provision of data under a grant, as an exchange system reported it (append-only, ≥ 24 months).

    The key is the reporting system, its event id and the time of use: PostgreSQL requires a partitioned
    table's unique keys to hold the partition key, and a resend of an event carries its time unchanged.
    """

    __tablename__ = USAGE_EVENT
    __table_args__ = (
        Index("ix_usage_event_grant", "grant_id", "occurred_at"),
        Index("ix_usage_event_provider", "provider_department_id", "occurred_at"),
        Index("ix_usage_event_consumer", "consumer_department_id", "occurred_at"),
    )

    system_client_id: int = Field(primary_key=True, sa_column_kwargs={"autoincrement": False})
    event_id: str = Field(primary_key=True, max_length=64)
    occurred_at: datetime = Field(primary_key=True, sa_type=UTCDateTime)
    # No foreign keys: checked once per batch by the ingestion, and an archived month keeps its ids.
    grant_id: int
    provider_department_id: int
    consumer_department_id: int
    items: list[str] = Field(default_factory=list, sa_type=JSON)
    row_count: int | None = Field(default=None, sa_type=BigInteger)
    call_count: int | None = Field(default=None, sa_type=BigInteger)
    method: str = Field(max_length=8)
    requesting_system: str = Field(max_length=128)
    requesting_user: str = Field(max_length=128)
    # Comma-separated Flag values; null when the use matches its grant.
    flags: str | None = Field(default=None, max_length=128)
    received_at: datetime = Field(sa_type=UTCDateTime)


class UsageFlag(SQLModel, table=True):
    """Uses of one grant on one day (Asia/Shanghai) that fell outside it: notified once, may open a notice."""

    __tablename__ = "usage_flag"
    __table_args__ = (UniqueConstraint("grant_id", "day", name="uq_usage_flag_grant_day"),
                      Index("ix_usage_flag_provider", "provider_department_id", "id"),
                      Index("ix_usage_flag_consumer", "consumer_department_id", "id"))

    id: int | None = Field(default=None, primary_key=True)
    grant_id: int = Field(foreign_key="share_grant.id")
    day: date
    provider_department_id: int = Field(foreign_key="department.id")
    consumer_department_id: int = Field(foreign_key="department.id")
    reasons: list[str] = Field(default_factory=list, sa_type=JSON)
    events: int = 0
    first_event_id: str = Field(max_length=64)
    first_occurred_at: datetime = Field(sa_type=UTCDateTime)
    system_client_id: int = Field(foreign_key="system_client.id")
    created_at: datetime = Field(sa_type=UTCDateTime)
    rectification_notice_id: int | None = Field(default=None, foreign_key="rectification_notice.id")
