"""Holiday arrangements an administrator loaded (they win over the package for their whole year)."""

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger
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


class ServiceClock(SQLModel, table=True):
    """The deployment's one demo clock (time travel): a single row, id 1, read by every worker and replica.

    `offset_us` is added to the wall clock; the row says who moved the clock last, to what, and when
    (real time). Production (time travel off) never reads it.
    """

    __tablename__ = "service_clock"

    id: int = Field(default=1, primary_key=True)
    offset_us: int = Field(default=0, sa_type=BigInteger)
    moved_to: datetime | None = Field(default=None, sa_type=UTCDateTime)
    moved_by: str | None = Field(default=None, max_length=64)
    moved_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
