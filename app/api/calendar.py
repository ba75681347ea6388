"""The working-day calendar: known years, loading a year, and deadline arithmetic."""

from datetime import datetime
from typing import Any

from fastapi import APIRouter, Body, Query

from app.core.clock import check_supported, clock
from app.core.errors import InvalidInput
from app.deps import AdminUser, CurrentUser, RuntimeDep, SessionDep
from app.workdays import flows

router = APIRouter(tags=["calendar"])


@router.get("/admin/calendar/years")
def list_years(session: SessionDep, rt: RuntimeDep, actor: AdminUser) -> dict[str, Any]:
    """List the years the calendar knows, where each comes from, and a notice when next year is missing."""
    calendar = rt.calendar.get(session)
    return {"years": flows.years_public(session, calendar),
            "notice": flows.next_year_notice(calendar, clock.now())}


@router.post("/admin/calendar/years", status_code=201)
def load_year(session: SessionDep, rt: RuntimeDep, actor: AdminUser,
              payload: dict[str, Any] = Body(..., examples=[{"year": 2027, "papers": ["https://www.gov.cn/..."],
                                                            "days": [{"name": "元旦", "date": "2027-01-01",
                                                                      "isOffDay": True}]}])) -> dict[str, Any]:
    """Load a year's arrangement (holiday-cn JSON); open provisional deadlines are recomputed."""
    return flows.load_year(session, rt.calendar, actor.username, payload)


@router.get("/calendar/deadline")
def deadline(session: SessionDep, rt: RuntimeDep, actor: CurrentUser, start: datetime,
             working_days: int = Query(ge=1, le=365)) -> dict[str, Any]:
    """Compute the deadline N working days after a receipt instant (receipt day not counted)."""
    if start.tzinfo is None:
        raise InvalidInput("start 必须带时区，例如 2026-09-30T15:00:00+08:00", code="naive_datetime")
    check_supported(start, "start")
    due = rt.calendar.get(session).add_working_days(start, working_days)
    return {"due_at": due.due_at.isoformat(), "provisional": due.provisional}
