"""Published yearly evaluation reports (Art. 18): a frozen snapshot of the figures with the authority's
improvement opinions (改进意见)."""

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from app.core.types import UTCDateTime


class YearlyReport(SQLModel, table=True):
    """A level's evaluation of one year as the authority published it (公布评估报告和改进意见)."""

    __tablename__ = "yearly_report"
    # One published report per year and level (region): a publication is final.
    __table_args__ = (UniqueConstraint("year", "region_code", name="uq_yearly_report_year_region"),)

    id: int | None = Field(default=None, primary_key=True)
    year: int
    region_code: str = Field(foreign_key="region.code", max_length=12)
    level: str = Field(max_length=16)
    authority_department_id: int = Field(foreign_key="department.id")
    # The figures as computed at publication (app/reports/service.compute), never recomputed.
    figures: dict[str, Any] = Field(default_factory=dict, sa_type=JSON)
    opinions: str = Field(sa_type=Text)
    published_by: str = Field(max_length=64)
    published_by_id: int = Field(foreign_key="app_user.id")
    published_at: datetime = Field(sa_type=UTCDateTime, index=True)
