"""The data authority's console (主管部门工作台): disputes and rectification notices of its level and below."""

from typing import Any

from fastapi import APIRouter, Query

from app.authority import service
from app.authority.views import console
from app.core.clock import clock
from app.deps import CurrentUser, RuntimeDep, SessionDep

router = APIRouter(prefix="/authority", tags=["authority"])


@router.get("/cases")
def list_cases(session: SessionDep, rt: RuntimeDep, actor: CurrentUser, kind: str | None = None,
               state: str | None = None, overdue: str | None = None, region: str | None = None,
               level: str | None = None, sort: str | None = None,
               limit: int = Query(50, ge=1, le=200), offset: int = Query(0, ge=0),
               cursor: str | None = None) -> dict[str, Any]:
    """List the disputes and notices my authority and the authorities below it handle, by next deadline.

    Filters (empty means any): kind dispute | rectification_notice; state open (default) | closed | all;
    overdue 1 | 0; region (a region code in my area: its authority and those below); level
    province | city | county (of the handling authority); sort deadline (default) | -opened_at | opened_at.
    `next_cursor` (null on the last page) gives the next page as `cursor`; `total` and the summary's counts
    stop at 100 (shown as "99+").
    """
    service.require_console_user(actor)
    flt = service.parse_filter(session=session, actor=actor, kind=kind, state=state, overdue=overdue,
                               region=region, level=level, sort=sort)
    return console(session, flt, calendar=rt.calendar.get(session), now=clock.now(),
                   limit=limit, offset=offset, cursor=cursor)
