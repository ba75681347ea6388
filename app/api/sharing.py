"""Share requests (Art. 16)."""

from typing import Any

from fastapi import APIRouter, Query, Response
from pydantic import BaseModel, Field

from app.core.history_page import check_limit
from app.deps import CurrentUser, RuntimeDep, SessionDep
from app.org.scope import case_department
from app.sharing import flows, service
from app.sharing.views import DepartmentName, history_page, share_request_public, share_requests_public

router = APIRouter(prefix="/share-requests", tags=["sharing"])


@router.post("", status_code=201)
def submit(body: flows.ShareRequestCreate, session: SessionDep, rt: RuntimeDep,
           actor: CurrentUser) -> dict[str, Any]:
    """File a share request: granted, refused or sent to the provider for review."""
    filed = flows.file_request(session, rt.runner, actor, body)
    # The history is one GET away; the filing answer stays light. It is built from what filing read
    # (no second transaction after the commit).
    departments = {actor.department_id: DepartmentName(actor.department_code, actor.department_name),
                   filed.provider.id: DepartmentName(filed.provider.code, filed.provider.name)}
    return share_request_public(session, filed.request, with_history=False, entry=filed.entry,
                                departments=departments, grant=filed.grant)


@router.get("")
def list_mine(session: SessionDep, actor: CurrentUser, response: Response,
              limit: int = Query(100, ge=1, le=500), cursor: str | None = None) -> list[dict[str, Any]]:
    """List the requests my department filed or received, newest first.

    The answer stays a list; the next page's cursor (if any) is in the `X-Next-Cursor` header."""
    rows, next_cursor = service.get_all_for_department(session=session, department_id=case_department(actor),
                                                       limit=limit, cursor=cursor)
    if next_cursor:
        response.headers["X-Next-Cursor"] = next_cursor
    return share_requests_public(session, rows)


@router.get("/{share_request_id}")
def get_one(share_request_id: int, session: SessionDep, actor: CurrentUser) -> dict[str, Any]:
    """Return a share request with its outcome, grant and history."""
    request = service.get_visible(session=session, share_request_id=share_request_id, actor=actor)
    return share_request_public(session, request)


@router.get("/{share_request_id}/history")
def history(share_request_id: int, session: SessionDep, actor: CurrentUser, cursor: str | None = None,
            limit: int | None = None) -> dict[str, Any]:
    """Return lines of a share request's 流转记录, oldest first: the latest ones, or those before `cursor`
    (`next_cursor` of the previous answer, or `history_next_cursor` of the request)."""
    request = service.get_visible(session=session, share_request_id=share_request_id, actor=actor)
    items, next_cursor = history_page(session, request, cursor, check_limit(limit))
    return {"items": items, "next_cursor": next_cursor}


class WithdrawBody(BaseModel):
    reason: str = Field(min_length=2, max_length=500, description="撤销原因")


@router.post("/{share_request_id}/withdraw")
def withdraw(share_request_id: int, body: WithdrawBody, session: SessionDep, rt: RuntimeDep,
             actor: CurrentUser) -> dict[str, Any]:
    """撤销: the applicant's clerk withdraws a request still under review (its review task is withdrawn)."""
    request = flows.withdraw(session, rt.runner, actor, share_request_id, body.reason)
    return share_request_public(session, request)
