"""Open lists (Art. 20–21): drafting and review (logged in), and the public open-data API (no login)."""

from typing import Any, Literal

from fastapi import APIRouter, Query, Response

from app.core.history_page import check_limit
from app.deps import CurrentUser, RuntimeDep, SessionDep
from app.open_data import flows, service
from app.open_data.models import OpenListStatus
from app.open_data.views import history_page, item_public, open_list_detail, open_list_public, reviews_public

lists = APIRouter(prefix="/open-lists", tags=["open_data"])
public = APIRouter(prefix="/open-data", tags=["open_data_public"])


@lists.post("", status_code=201)
def create_list(body: flows.OpenListCreate, session: SessionDep, actor: CurrentUser) -> dict[str, Any]:
    """Start my department's open list of a year (a revised version if that year's list is published)."""
    open_list = flows.create_list(session, actor, body)
    return open_list_detail(session, open_list, actor)


@lists.get("")
def list_lists(session: SessionDep, actor: CurrentUser, year: int | None = Query(None, ge=2000, le=2100),
               status: OpenListStatus | None = None) -> list[dict[str, Any]]:
    """List my department's open lists and those my authority reviews."""
    rows = service.get_all_for_actor(session=session, actor=actor, year=year,
                                     status=status.value if status else None)
    return [open_list_public(session, lst, with_items=False) for lst, _ in rows]


@lists.get("/{open_list_id}")
def get_list(open_list_id: int, session: SessionDep, actor: CurrentUser) -> dict[str, Any]:
    """Return a list with its items, review rounds, comments per item and history."""
    open_list = service.get_visible(session=session, open_list_id=open_list_id, actor=actor)
    return open_list_detail(session, open_list, actor)


@lists.get("/{open_list_id}/history")
def history(open_list_id: int, session: SessionDep, actor: CurrentUser, cursor: str | None = None,
            limit: int | None = None) -> dict[str, Any]:
    """Return lines of a list's 流转记录, oldest first: the latest ones, or those before `cursor`
    (`next_cursor` of the previous answer, or `history_next_cursor` of the list)."""
    open_list = service.get_visible(session=session, open_list_id=open_list_id, actor=actor)
    items, next_cursor = history_page(session, open_list, cursor, check_limit(limit))
    return {"items": items, "next_cursor": next_cursor}


@lists.get("/{open_list_id}/reviews")
def reviews(open_list_id: int, session: SessionDep, actor: CurrentUser, cursor: str | None = None,
            limit: int | None = None) -> dict[str, Any]:
    """Return a list's review rounds with their comments, oldest first: the latest ones, or those before
    `cursor` (`next_cursor` of the previous answer, or `reviews_next_cursor` of the list)."""
    open_list = service.get_visible(session=session, open_list_id=open_list_id, actor=actor)
    items, next_cursor = reviews_public(session, open_list, cursor, check_limit(limit))
    return {"items": items, "next_cursor": next_cursor}


@lists.post("/{open_list_id}/discard")
def discard(open_list_id: int, session: SessionDep, actor: CurrentUser) -> dict[str, Any]:
    """Void a draft that was never submitted (it is kept, marked 已作废)."""
    return open_list_detail(session, flows.discard(session, actor, open_list_id), actor)


@lists.post("/{open_list_id}/items", status_code=201)
def add_item(open_list_id: int, body: flows.OpenListItemCreate, session: SessionDep,
             actor: CurrentUser) -> dict[str, Any]:
    """List one of my department's own published catalog entries."""
    return item_public(flows.add_item(session, actor, open_list_id, body))


@lists.put("/{open_list_id}/items/{entry_code:path}")
def update_item(open_list_id: int, entry_code: str, body: flows.OpenListItemFields, session: SessionDep,
                actor: CurrentUser) -> dict[str, Any]:
    """Change an item's attributes."""
    return item_public(flows.update_item(session, actor, open_list_id, entry_code, body))


@lists.delete("/{open_list_id}/items/{entry_code:path}", status_code=204)
def remove_item(open_list_id: int, entry_code: str, session: SessionDep, actor: CurrentUser) -> Response:
    """Take an item off the list."""
    flows.remove_item(session, actor, open_list_id, entry_code)
    return Response(status_code=204)


@lists.post("/{open_list_id}/submit")
def submit(open_list_id: int, session: SessionDep, rt: RuntimeDep, actor: CurrentUser,
           body: flows.OpenListSubmit | None = None) -> dict[str, Any]:
    """Send the list to the data authority for review, or resubmit it after a return."""
    open_list = flows.submit(session, rt.runner, actor, open_list_id, body or flows.OpenListSubmit())
    return open_list_detail(session, open_list, actor)


@lists.post("/{open_list_id}/review")
def review(open_list_id: int, body: flows.OpenListReviewBody, session: SessionDep, rt: RuntimeDep,
           actor: CurrentUser) -> dict[str, Any]:
    """Review (审查) the list: approve and publish it, or return it with comments (per item if need be)."""
    open_list = flows.review(session, rt.runner, actor, open_list_id, body)
    return open_list_detail(session, open_list, actor)


@public.get("/lists")
def published_lists(session: SessionDep, department_code: str | None = Query(None, max_length=64),
                    year: int | None = Query(None, ge=2000, le=2100)) -> list[dict[str, Any]]:
    """List the published open lists, by department and year (no login)."""
    rows = service.get_all_published(session=session, department_code=department_code, year=year)
    return [open_list_public(session, lst) for lst, _ in rows]


@public.get("/lists/{open_list_id}")
def published_list(open_list_id: int, session: SessionDep) -> dict[str, Any]:
    """Return a published open list (or an earlier published version) with its items (no login)."""
    return open_list_public(session, service.get_public(session=session, open_list_id=open_list_id))


@public.get("/restricted")
def restricted(session: SessionDep, department_code: str | None = Query(None, max_length=64),
               year: int | None = Query(None, ge=2000, le=2100),
               open_type: Literal["conditional", "not_open"] | None = None) -> list[dict[str, Any]]:
    """List the not-open and conditionally open data with their basis (Art. 20; no login)."""
    rows = service.get_restricted_items(session=session, department_code=department_code, year=year,
                                        open_type=open_type)
    return [{**item_public(item), "open_list_id": lst.id, "year": lst.year, "version": lst.version,
             "department_code": dept.code, "department_name": dept.name,
             "published_at": lst.published_at.isoformat() if lst.published_at else None}
            for item, lst, dept in rows]


router = APIRouter()
router.include_router(lists)
router.include_router(public)
