"""Holiday arrangements an administrator loaded (they win over the package for their whole year)."""

from datetime import datetime
from typing import Any

from sqlalchemy import JSON
from sqlmodel import Field, SQLModel

from app.core.types import UTCDateTime


class CalendarYear(SQLModel, table=True):
    """One year's arrangement in the holiday-cn shape: the days that differ from Mon–Fri."""

    __tablename__ = "calendar_year"

    year: int = Field(primary_key=True)
    days: list[dict[str, Any]] = Field(default_factory=list, sa_type=JSON)  # [{date, name, is_working_day}]
    papers: list[str] = Field(default_factory=list, sa_type=JSON)
    loaded_by: str = Field(max_length=64)
    loaded_at: datetime = Field(sa_type=UTCDateTime)
