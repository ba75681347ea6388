"""In-app notifications, and the outbox rows a webhook job delivers."""

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, Index, UniqueConstraint, text
from sqlmodel import Field, SQLModel

from app.core.types import UTCDateTime


class NotificationKind(StrEnum):
    task_assigned = "task_assigned"
    reminder = "reminder"
    escalated = "escalated"
    urged = "urged"
    info = "info"  # something the department should know (e.g. a request it was answering was withdrawn)
    task_arrived = "task_arrived"  # a new task is waiting in the person's inbox
    share_replied = "share_replied"  # the provider answered the applicant's share request
    catalog_returned = "catalog_returned"  # the authority returned a catalog version for revision
    dispute = "dispute"  # a step of a share dispute (app/disputes)
    open_list_returned = "open_list_returned"  # the authority returned an open list for revision
    # task actions (app/tasks/actions.py)
    task_returned = "task_returned"
    side_supplement = "side_supplement"
    side_addsign_before = "side_addsign_before"
    side_addsign_after = "side_addsign_after"
    side_delegate = "side_delegate"
    side_supplement_answered = "side_supplement_answered"
    side_addsign_before_answered = "side_addsign_before_answered"
    side_delegate_answered = "side_delegate_answered"
    deputy_set = "deputy_set"
    task_urged = "task_urged"  # the applicant's 催办 (app.desk)
    case_copied = "case_copied"  # a case copied to the person (抄送, app.desk)
    usage_flagged = "usage_flagged"  # a use of shared data outside its grant (Art. 12, app.usage)


# The one place a notification kind gets the words a person reads (list page and API `kind_label`).
NOTIFICATION_KIND_ZH = {
    NotificationKind.task_assigned: "新待办",
    NotificationKind.reminder: "到期提醒",
    NotificationKind.escalated: "超期督办",
    NotificationKind.urged: "督办催办",
    NotificationKind.info: "通知",
    NotificationKind.task_arrived: "新待办",
    NotificationKind.share_replied: "共享申请答复",
    NotificationKind.catalog_returned: "目录退回修改",
    NotificationKind.dispute: "共享争议",
    NotificationKind.open_list_returned: "开放清单退回修改",
    NotificationKind.task_returned: "退回待办",
    NotificationKind.side_supplement: "请补正",
    NotificationKind.side_addsign_before: "请加签",
    NotificationKind.side_addsign_after: "请加签",
    NotificationKind.side_delegate: "委派待办",
    NotificationKind.side_supplement_answered: "申请人已补正",
    NotificationKind.side_addsign_before_answered: "加签已签署",
    NotificationKind.side_delegate_answered: "委派已答复",
    NotificationKind.deputy_set: "代理安排",
    NotificationKind.task_urged: "催办",
    NotificationKind.case_copied: "抄送",
    NotificationKind.usage_flagged: "数据使用异常",
}
KIND_ZH = NOTIFICATION_KIND_ZH  # the older name, still imported


def kind_label(kind: str) -> str:
    """Return the Chinese label of a notification kind (a kind nobody labelled reads as 通知, never raw)."""
    return NOTIFICATION_KIND_ZH.get(kind, "通知")  # type: ignore[call-overload]


class OutboxStatus(StrEnum):
    pending = "pending"
    sending = "sending"  # claimed by a delivery run; next_attempt_at is the end of its lease
    delivered = "delivered"
    failed = "failed"


NOTIFICATION_TOPIC = "notification"


class NotificationBase(SQLModel):
    kind: str = Field(max_length=32)
    title: str = Field(max_length=200)
    body: str = Field(default="", max_length=2000)
    link: str | None = Field(default=None, max_length=500)


class Notification(NotificationBase, table=True):
    """One message to one user; (user, dedupe_key) is unique so a retried job notifies once."""

    __tablename__ = "notification"
    __table_args__ = (
        UniqueConstraint("user_id", "dedupe_key", name="uq_notification_user_dedupe"),
        # A person's notifications newest first (the list, its pages), and any lookup by person.
        Index("ix_notification_user_created", "user_id", "created_at", "id"),
        # The unread badge: a person's unread ones only (counted up to 100).
        Index("ix_notification_user_unread", "user_id", "id", sqlite_where=text("read_at IS NULL"),
              postgresql_where=text("read_at IS NULL")),
    )

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="app_user.id")
    dedupe_key: str = Field(max_length=200)
    created_at: datetime = Field(sa_type=UTCDateTime)
    read_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class NotificationPublic(NotificationBase):
    id: int
    created_at: datetime
    read_at: datetime | None


class Outbox(SQLModel, table=True):
    """A message to deliver outside the service, written in the transaction that caused it."""

    __tablename__ = "outbox"

    id: int | None = Field(default=None, primary_key=True)
    topic: str = Field(max_length=64)
    payload: dict[str, Any] = Field(default_factory=dict, sa_type=JSON)
    idempotency_key: str = Field(max_length=200, unique=True)
    status: str = Field(default=OutboxStatus.pending.value, max_length=16)
    attempts: int = 0
    # Null once delivered or failed: the due-row scan of the delivery job then never walks
    # the (ever growing) finished rows.
    next_attempt_at: datetime | None = Field(default=None, sa_type=UTCDateTime, index=True)
    created_at: datetime = Field(sa_type=UTCDateTime)
    delivered_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    last_error: str | None = Field(default=None, max_length=1000)
