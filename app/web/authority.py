"""The page of the data authority's console (主管部门工作台); its filters are a plain GET form."""

from __future__ import annotations

from urllib.parse import urlencode

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, Response

from app.authority import service
from app.authority.views import console
from app.core.clock import clock
from app.deps import RuntimeDep, SessionDep
from app.web import PageUser
from app.web.render import render

router = APIRouter(include_in_schema=False)

PAGE_SIZE = 50


@router.get("/authority", response_class=HTMLResponse)
def console_page(request: Request, session: SessionDep, rt: RuntimeDep, actor: PageUser, kind: str = "",
                 state: str = "", overdue: str = "", region: str = "", level: str = "", sort: str = "",
                 offset: int = Query(0, ge=0), cursor: str = "") -> Response:
    """Show the disputes and notices of my level and below with their deadlines, and the counts."""
    service.require_console_user(actor)
    flt = service.parse_filter(session=session, actor=actor, kind=kind, state=state, overdue=overdue,
                               region=region, level=level, sort=sort)
    page = console(session, flt, calendar=rt.calendar.get(session), now=clock.now(),
                   limit=PAGE_SIZE, offset=offset, cursor=cursor or None)
    query = flt.query()

    def link(**over: str | int) -> str:
        params = {**query, **{k: str(v) for k, v in over.items()}}
        return "/authority" + (f"?{urlencode(params)}" if params else "")

    # The counts cover the region and level chosen; their links keep those and pick the rest.
    area = {k: v for k, v in query.items() if k in ("region", "level")}
    return render(request, "authority/console.html", {
        **page, "flt": flt, "KIND_ZH": service.KIND_ZH, "STATE_ZH": service.STATE_ZH, "SORT_ZH": service.SORT_ZH,
        "regions": service.region_options(session=session, actor=actor),
        "levels": service.level_options(actor),
        # 下一页 carries the cursor (the filters kept); 回到第一页 drops it.
        "next_url": link(cursor=page["next_cursor"]) if page["next_cursor"] else None,
        "first_url": link() if cursor or offset else None,
        "overdue_url": "/authority?" + urlencode({**area, "overdue": "1"}),
        "disputes_url": "/authority?" + urlencode({**area, "kind": "dispute"}),
        "notices_url": "/authority?" + urlencode({**area, "kind": "rectification_notice"}),
        "any_provisional": any(i["due_provisional"] for i in page["items"]),
    })
