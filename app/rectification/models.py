"""Rectification notices (Art. 29), their numbering, and the department's reports and exemption claims (Art. 30)."""

from datetime import datetime
from enum import StrEnum

from sqlalchemy import JSON, Index, UniqueConstraint, text
from sqlmodel import Field, SQLModel

from app.core.types import UTCDateTime

# Art. 29 (1)–(6), verbatim from the regulation (the list separator "；" / "。" left out).
ART29_ITEMS: dict[int, str] = {
    1: "未按照要求编制或者发布本部门政务数据共享目录或者开放目录、未按规定发布或者更新政务数据的",
    2: "重复采集可以从政务数据共享平台获取的政务数据的",
    3: "对已经发现不完整或者有错误的数据库，拒不进行补充、校核和更正的",
    4: "提供的政务数据不符合统一的标准和规范的",
    5: "未落实政务数据安全职责的",
    6: "其他违反本办法的行为",
}
NUMERALS = {1: "一", 2: "二", 3: "三", 4: "四", 5: "五", 6: "六"}


def item_label(item: int) -> str:
    """Return how a document cites an item: 第二十九条第（一）项."""
    return f"第二十九条第（{NUMERALS[item]}）项"


class ExemptionGround(StrEnum):
    """Art. 30: activities carried out as required, with supervision duties and due care performed, or force majeure."""

    duties_performed = "duties_performed"
    due_care = "due_care"
    force_majeure = "force_majeure"


GROUND_ZH = {
    ExemptionGround.duties_performed: "按照规定开展政务数据活动，并履行了监督管理职责",
    ExemptionGround.due_care: "按照规定开展政务数据活动，并履行了合理注意义务",
    ExemptionGround.force_majeure: "存在不可抗力情形",
}


class NoticeStatus(StrEnum):
    rectifying = "rectifying"  # the department holds the case
    reported = "reported"  # a report awaits the authority's verification
    exemption_claimed = "exemption_claimed"  # an Art. 30 claim awaits the authority's decision
    accepted = "accepted"  # verified: closed
    exempted = "exempted"  # exemption granted: closed
    withdrawn = "withdrawn"  # withdrawn by the authority: closed, the number stays taken


STATUS_ZH = {
    NoticeStatus.rectifying: "整改中",
    NoticeStatus.reported: "待核验",
    NoticeStatus.exemption_claimed: "免责申请审查中",
    NoticeStatus.accepted: "整改完成（核验通过）",
    NoticeStatus.exempted: "已免责办结",
    NoticeStatus.withdrawn: "已撤回",
}
OPEN_STATUSES = (NoticeStatus.rectifying, NoticeStatus.reported, NoticeStatus.exemption_claimed)


class SubmissionKind(StrEnum):
    report = "report"
    exemption_claim = "exemption_claim"


class SubmissionDecision(StrEnum):
    accepted = "accepted"
    returned = "returned"
    granted = "granted"
    refused = "refused"


KIND_ZH = {SubmissionKind.report: "整改情况报告", SubmissionKind.exemption_claim: "免责申请"}
DECISION_ZH = {
    SubmissionDecision.accepted: "核验通过",
    SubmissionDecision.returned: "核验不通过，退回整改",
    SubmissionDecision.granted: "准予免责",
    SubmissionDecision.refused: "不予免责",
}


class RectificationAuthority(SQLModel, table=True):
    """What an issuing authority's notices carry: the prefix of its document numbers (e.g. 豫数整改)."""

    __tablename__ = "rectification_authority"

    department_id: int = Field(foreign_key="department.id", primary_key=True, sa_column_kwargs={"autoincrement": False})
    number_prefix: str = Field(max_length=32)
    updated_at: datetime = Field(sa_type=UTCDateTime)
    updated_by: str = Field(max_length=64)


class RectificationNumberCounter(SQLModel, table=True):
    """The last sequence number an authority used in a calendar year; locked by each issuance."""

    __tablename__ = "rectification_number_counter"

    authority_department_id: int = Field(foreign_key="department.id", primary_key=True,
                                         sa_column_kwargs={"autoincrement": False})
    year: int = Field(primary_key=True, sa_column_kwargs={"autoincrement": False})
    last_seq: int = 0


class RectificationNotice(SQLModel, table=True):
    """A notice to a department to correct a breach of Art. 29 (1)–(6) by a deadline."""

    __tablename__ = "rectification_notice"
    # The number's parts: a sequence is used once per authority and year, whatever happens to the notice.
    __table_args__ = (UniqueConstraint("authority_department_id", "year", "seq",
                                       name="uq_rectification_notice_number"),
                      # A department's list newest first, each side (notified, issuing) from its own index.
                      Index("ix_rectification_notice_department_id_id", "department_id", "id"),
                      Index("ix_rectification_notice_authority_id", "authority_department_id", "id"))

    id: int | None = Field(default=None, primary_key=True)
    number: str = Field(max_length=64, unique=True)
    authority_department_id: int = Field(foreign_key="department.id")
    year: int
    seq: int
    department_id: int = Field(foreign_key="department.id")
    article_item: int
    facts: str = Field(max_length=5000)
    requirements: str = Field(max_length=5000)
    # The deadline as issued (the printed notice), in working days from receipt, and its date.
    deadline_working_days: int
    issued_due_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    # The current round's deadline: a return or a refused exemption sets a new one.
    round_working_days: int
    due_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    due_provisional: bool = False
    status: str = Field(max_length=24, index=True)
    round: int = 1
    instance_id: int | None = Field(default=None, foreign_key="process_instance.id", index=True)
    # The earliest running deadline among the notice's open tasks (app/authority/next_due.py keeps it).
    next_due_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    issued_by_id: int = Field(foreign_key="app_user.id")
    issued_at: datetime = Field(sa_type=UTCDateTime, index=True)
    closed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    withdrawn_reason: str | None = Field(default=None, max_length=1000)


# The authority console's default order of the open notices (next deadline, newest first, id): the whole
# service's, and one authority's (migration 0032).
Index("ix_rectification_notice_console_due", RectificationNotice.next_due_at,
      RectificationNotice.issued_at.desc(), RectificationNotice.id,  # type: ignore[attr-defined]
      sqlite_where=text("closed_at IS NULL"), postgresql_where=text("closed_at IS NULL"))
Index("ix_rectification_notice_console_authority_due", RectificationNotice.authority_department_id,
      RectificationNotice.next_due_at, RectificationNotice.issued_at.desc(),  # type: ignore[attr-defined]
      RectificationNotice.id, sqlite_where=text("closed_at IS NULL"), postgresql_where=text("closed_at IS NULL"))
# The open notices without a running deadline, newest first (see ix_dispute_console_undated).
Index("ix_rectification_notice_console_undated", RectificationNotice.issued_at.desc(),  # type: ignore[attr-defined]
      RectificationNotice.id, sqlite_where=text("closed_at IS NULL AND next_due_at IS NULL"),
      postgresql_where=text("closed_at IS NULL AND next_due_at IS NULL"))
# One authority's notices by their issue (the closed ones of the deadline order, the opened-at orders).
Index("ix_rectification_notice_authority_opened", RectificationNotice.authority_department_id,
      RectificationNotice.issued_at, RectificationNotice.id)


class RectificationSubmission(SQLModel, table=True):
    """A department's report or exemption claim in one round, and the authority's decision on it."""

    __tablename__ = "rectification_submission"

    id: int | None = Field(default=None, primary_key=True)
    notice_id: int = Field(foreign_key="rectification_notice.id", index=True)
    round: int
    kind: str = Field(max_length=24)
    text: str = Field(max_length=5000)
    ground: str | None = Field(default=None, max_length=32)
    attachment_ids: list[int] = Field(default_factory=list, sa_type=JSON)
    task_id: int = Field(foreign_key="task.id")
    submitted_by_id: int = Field(foreign_key="app_user.id")
    submitted_at: datetime = Field(sa_type=UTCDateTime)
    decision: str | None = Field(default=None, max_length=16)
    decision_reason: str | None = Field(default=None, max_length=2000)
    new_deadline_working_days: int | None = None
    decided_by_id: int | None = Field(default=None, foreign_key="app_user.id")
    decided_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
