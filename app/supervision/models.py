"""The supervision queue (督查督办) of each level government: overdue duties escalated to it."""

from datetime import datetime
from enum import StrEnum

from sqlalchemy import Index
from sqlmodel import Field, SQLModel

from app.core.types import UTCDateTime


class ItemState(StrEnum):
    open = "open"
    closed = "closed"


STATE_ZH = {ItemState.open: "督办中", ItemState.closed: "已办结"}
CLOSE_REASON_ZH = {"task_done": "任务已办理，自动办结", "task_cancelled": "任务已由流程撤回，自动办结",
                   "closed_by_supervisor": "督查员办结"}


class SupervisionItem(SQLModel, table=True):
    """One overdue task escalated, exactly once, to the government office of its department's level."""

    __tablename__ = "supervision_item"
    # The queue reads each state in deadline order: a supervisor's office (and an administrator's whole
    # service) from its own index, so a page costs the same at any depth.
    __table_args__ = (Index("ix_supervision_item_office_queue", "office_department_id", "state", "due_at", "id"),
                      Index("ix_supervision_item_queue", "state", "due_at", "id"))

    id: int | None = Field(default=None, primary_key=True)
    # The unique key under which escalation records its effect: one item per task, ever.
    task_id: int = Field(foreign_key="task.id", unique=True)
    instance_id: int = Field(foreign_key="process_instance.id", index=True)
    process_key: str = Field(max_length=128, index=True)
    task_name: str = Field(max_length=200)
    subject: str = Field(default="", max_length=300)
    department_id: int = Field(foreign_key="department.id", index=True)
    office_department_id: int = Field(foreign_key="department.id")
    level: str = Field(max_length=16)
    due_at: datetime = Field(sa_type=UTCDateTime)
    escalated_at: datetime = Field(sa_type=UTCDateTime, index=True)
    overdue_working_days: int
    state: str = Field(default=ItemState.open.value, max_length=16)
    urge_count: int = 0
    last_urged_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    task_done_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    closed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    closed_by: str | None = Field(default=None, max_length=64)
    close_reason: str | None = Field(default=None, max_length=32)
    close_note: str | None = Field(default=None, max_length=1000)
    # The supervisor's decision (督办决定), e.g. Art. 29's order to correct (责令改正).
    decision: str | None = Field(default=None, max_length=32)
    decision_note: str | None = Field(default=None, max_length=1000)
    decided_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    decided_by: str | None = Field(default=None, max_length=64)


class SupervisionDecision(StrEnum):
    order_to_correct = "order_to_correct"
    refer_for_sanction = "refer_for_sanction"


DECISION_ZH = {
    # Art. 29: the level government takes the case into supervision and orders the department to correct it.
    SupervisionDecision.order_to_correct: "责令改正",
    # Art. 29: in serious cases the competent organ sanctions the persons directly responsible.
    SupervisionDecision.refer_for_sanction: "情节严重，移送有权机关依法处分",
}


def decision_public(item: SupervisionItem) -> dict[str, str | None]:
    """Return the supervisor's decision on an item as the API and pages show it."""
    return {"decision": item.decision,
            "decision_label": DECISION_ZH.get(SupervisionDecision(item.decision)) if item.decision else None,
            "decision_note": item.decision_note,
            "decided_at": item.decided_at.isoformat() if item.decided_at else None, "decided_by": item.decided_by}
