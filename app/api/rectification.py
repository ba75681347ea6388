"""Rectification notices (Art. 29) and exemption (Art. 30)."""

from typing import Any

from fastapi import APIRouter, Query

from app.core.clock import clock
from app.core.errors import Forbidden
from app.core.history_page import check_limit
from app.deps import CurrentUser, RuntimeDep, SessionDep
from app.rectification import flows, service
from app.rectification.models import RectificationNotice
from app.rectification.views import (article_items, exemption_grounds, history_page, notice_public, notices_public,
                                     submissions_public, supervision_of)

router = APIRouter(tags=["rectification"])


def _one(session: SessionDep, rt: RuntimeDep, notice: RectificationNotice, actor: CurrentUser) -> dict[str, Any]:
    session.refresh(notice)
    return notice_public(session, notice, actor, calendar=rt.calendar.get(session), now=clock.now())


@router.get("/rectification/article-29-items")
def list_article_items(actor: CurrentUser) -> dict[str, Any]:
    """List Art. 29 (1)–(6), the breaches a notice may cite, and the Art. 30 exemption grounds."""
    return {"items": article_items(), "exemption_grounds": exemption_grounds()}


@router.get("/rectification/authorities")
def list_authorities(session: SessionDep, rt: RuntimeDep, actor: CurrentUser) -> list[dict[str, Any]]:
    """List the data authorities with the prefix of their notice numbers (administrators, authorities)."""
    if not actor.has_role("admin", "authority_reviewer"):
        raise Forbidden("只有系统管理员和主管部门审核员可以查看文号设置", code="admin_required")
    return service.all_authorities(session, rt.settings)


@router.put("/rectification/authorities/{department_code}")
def set_prefix(department_code: str, body: flows.PrefixBody, session: SessionDep, actor: CurrentUser
               ) -> dict[str, Any]:
    """Set the prefix of an authority's notice numbers, e.g. 豫数整改 (administrators)."""
    row = flows.set_prefix(session, actor, department_code, body)
    return {"department_code": department_code, "number_prefix": row.number_prefix,
            "updated_at": row.updated_at.isoformat(), "updated_by": row.updated_by}


@router.post("/rectification-notices", status_code=201)
def issue(body: flows.NoticeCreate, session: SessionDep, rt: RuntimeDep, actor: CurrentUser) -> dict[str, Any]:
    """Issue a numbered notice to a department of my level: Art. 29 item, facts, requirements, deadline."""
    return _one(session, rt, flows.issue(session, rt.runner, rt.settings, actor, body), actor)


@router.get("/rectification-notices")
def list_mine(session: SessionDep, rt: RuntimeDep, actor: CurrentUser, status: str | None = None,
              limit: int = Query(100, ge=1, le=500), cursor: str | None = None) -> dict[str, Any]:
    """List the notices my department issued or received (status: open, closed or one status), newest first;
    `next_cursor` (null on the last page) gives the next page as `cursor`."""
    calendar, now = rt.calendar.get(session), clock.now()
    rows, next_cursor = service.get_all_for_actor(session=session, actor=actor, status=status, limit=limit,
                                                  cursor=cursor)
    items = notices_public(session, rows, actor, calendar=calendar, now=now)
    return {"items": items, "count": len(items), "next_cursor": next_cursor}


@router.get("/rectification-notices/{notice_id}")
def get_one(notice_id: int, session: SessionDep, rt: RuntimeDep, actor: CurrentUser) -> dict[str, Any]:
    """Return a notice with its reports, decisions, supervision items, attachments and history."""
    return _one(session, rt, service.get_visible(session=session, notice_id=notice_id, actor=actor), actor)


@router.get("/rectification-notices/{notice_id}/history")
def history(notice_id: int, session: SessionDep, actor: CurrentUser, cursor: str | None = None,
            limit: int | None = None) -> dict[str, Any]:
    """Return lines of a notice's 流转记录, oldest first: the latest ones, or those before `cursor`
    (`next_cursor` of the previous answer, or `history_next_cursor` of the notice)."""
    notice = service.get_visible(session=session, notice_id=notice_id, actor=actor)
    items, next_cursor = history_page(session, notice, cursor, check_limit(limit))
    return {"items": items, "next_cursor": next_cursor}


@router.get("/rectification-notices/{notice_id}/submissions")
def submissions(notice_id: int, session: SessionDep, actor: CurrentUser, cursor: str | None = None,
                limit: int | None = None) -> dict[str, Any]:
    """Return a notice's reports and exemption claims with their decisions, oldest first: the latest ones,
    or those before `cursor` (`next_cursor` of the previous answer, or `submissions_next_cursor` of the
    notice)."""
    notice = service.get_visible(session=session, notice_id=notice_id, actor=actor)
    page = submissions_public(session, notice, cursor, check_limit(limit), actor=actor)
    return {"items": page["submissions"], "next_cursor": page["submissions_next_cursor"]}


@router.get("/rectification-notices/{notice_id}/supervision")
def supervision(notice_id: int, session: SessionDep, rt: RuntimeDep, actor: CurrentUser, cursor: str | None = None,
                limit: int | None = None) -> dict[str, Any]:
    """Return a notice's supervision items (督查督办) with their decisions, oldest first: the latest ones, or
    those before `cursor` (`next_cursor` of the previous answer, or `supervision_next_cursor` of the
    notice)."""
    notice = service.get_visible(session=session, notice_id=notice_id, actor=actor)
    page = supervision_of(session, notice, cursor, check_limit(limit), calendar=rt.calendar.get(session),
                          now=clock.now())
    return {"items": page["supervision"], "next_cursor": page["supervision_next_cursor"]}


@router.post("/rectification-notices/{notice_id}/report")
def report(notice_id: int, body: flows.ReportBody, session: SessionDep, rt: RuntimeDep, actor: CurrentUser
           ) -> dict[str, Any]:
    """Report the rectification (text and attachment ids uploaded to the notice) for verification."""
    return _one(session, rt, flows.report(session, rt.runner, actor, notice_id, body), actor)


@router.post("/rectification-notices/{notice_id}/exemption-claim")
def claim_exemption(notice_id: int, body: flows.ExemptionClaimBody, session: SessionDep, rt: RuntimeDep,
                    actor: CurrentUser) -> dict[str, Any]:
    """Claim exemption (Art. 30): ground duties_performed | due_care | force_majeure, explanation, attachments."""
    return _one(session, rt, flows.claim_exemption(session, rt.runner, actor, notice_id, body), actor)


@router.post("/rectification-notices/{notice_id}/verification")
def verify(notice_id: int, body: flows.VerificationBody, session: SessionDep, rt: RuntimeDep,
           actor: CurrentUser) -> dict[str, Any]:
    """Verify a report: accept, or return with reasons and a new deadline in working days."""
    return _one(session, rt, flows.verify(session, rt.runner, actor, notice_id, body), actor)


@router.post("/rectification-notices/{notice_id}/exemption-decision")
def decide_exemption(notice_id: int, body: flows.ExemptionDecisionBody, session: SessionDep, rt: RuntimeDep,
                     actor: CurrentUser) -> dict[str, Any]:
    """Decide an exemption claim with reasons: grant, or refuse with a new deadline in working days."""
    return _one(session, rt, flows.decide_exemption(session, rt.runner, actor, notice_id, body), actor)


@router.post("/rectification-notices/{notice_id}/withdraw")
def withdraw(notice_id: int, body: flows.WithdrawBody, session: SessionDep, rt: RuntimeDep,
             actor: CurrentUser) -> dict[str, Any]:
    """Withdraw an open notice with a reason; its number stays taken."""
    return _one(session, rt, flows.withdraw(session, rt.runner, rt.settings, actor, notice_id, body), actor)
