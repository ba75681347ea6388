"""Share disputes (Art. 16 para 3, Art. 17): open, negotiate, coordinate, adjudicate, comply."""

from typing import Any

from fastapi import APIRouter, Query
from sqlmodel import Session

from app.core.clock import clock
from app.core.history_page import check_limit
from app.deps import CurrentUser, RuntimeDep, SessionDep
from app.disputes import flows, service
from app.disputes.models import Dispute
from app.disputes.views import attachments_for, dispute_public, history_page, records_public, summaries
from app.org.scope import case_department
from app.org.service import Actor
from app.runtime import Runtime

router = APIRouter(prefix="/disputes", tags=["disputes"])


def _public(session: Session, rt: Runtime, dispute: Dispute, actor: Actor) -> dict[str, Any]:
    return dispute_public(session, dispute, actor=actor, calendar=rt.calendar.get(session), now=clock.now())


@router.post("", status_code=201)
def open_dispute(body: flows.DisputeOpen, session: SessionDep, rt: RuntimeDep,
                 actor: CurrentUser) -> dict[str, Any]:
    """Open a dispute over one's own refused share request, stating why one's duties need the data."""
    dispute = flows.open_dispute(session, rt, actor, body)
    return _public(session, rt, dispute, actor)


@router.get("")
def list_mine(session: SessionDep, actor: CurrentUser, limit: int = Query(100, ge=1, le=500),
              cursor: str | None = None) -> dict[str, Any]:
    """List the disputes my department opened, received or decides, newest first; `next_cursor` (null on
    the last page) gives the next page as `cursor`."""
    rows, next_cursor = service.get_all_for_department(session=session, department_id=case_department(actor),
                                                       limit=limit, cursor=cursor)
    return {"items": summaries(session, rows), "count": len(rows), "next_cursor": next_cursor}


@router.get("/{dispute_id}")
def get_one(dispute_id: int, session: SessionDep, rt: RuntimeDep, actor: CurrentUser) -> dict[str, Any]:
    """Return a dispute with its file, open steps, outcome, grant, attachments and history."""
    dispute = service.get_visible(session=session, dispute_id=dispute_id, actor=actor)
    return _public(session, rt, dispute, actor)


@router.get("/{dispute_id}/history")
def history(dispute_id: int, session: SessionDep, actor: CurrentUser, cursor: str | None = None,
            limit: int | None = None) -> dict[str, Any]:
    """Return lines of a dispute's 流转记录, oldest first: the latest ones, or those before `cursor`
    (`next_cursor` of the previous answer, or `history_next_cursor` of the dispute); `next_cursor` is null
    at the first line."""
    dispute = service.get_visible(session=session, dispute_id=dispute_id, actor=actor)
    items, next_cursor = history_page(session, dispute, cursor, check_limit(limit))
    return {"items": items, "next_cursor": next_cursor}


@router.get("/{dispute_id}/records")
def records(dispute_id: int, session: SessionDep, actor: CurrentUser, cursor: str | None = None,
            limit: int | None = None) -> dict[str, Any]:
    """Return entries of a dispute's file (卷宗), oldest first: the latest ones, or those before `cursor`
    (`next_cursor` of the previous answer, or `records_next_cursor` of the dispute)."""
    dispute = service.get_visible(session=session, dispute_id=dispute_id, actor=actor)
    page = records_public(session, dispute, cursor, check_limit(limit))
    return {"items": page["records"], "next_cursor": page["records_next_cursor"]}


@router.get("/{dispute_id}/attachments")
def attachments(dispute_id: int, session: SessionDep, actor: CurrentUser, cursor: str | None = None,
                limit: int | None = None) -> dict[str, Any]:
    """Return a dispute's attachments with uploading department and person, oldest first: the latest ones, or
    those before `cursor` (`next_cursor` of the previous answer, or `attachments_next_cursor` of the
    dispute). The parties only: anyone else who may read the dispute gets none, as in the dispute."""
    dispute = service.get_visible(session=session, dispute_id=dispute_id, actor=actor)
    page = attachments_for(session, dispute, actor, cursor, check_limit(limit))
    return {"items": page["attachments"], "next_cursor": page["attachments_next_cursor"]}


@router.post("/{dispute_id}/provider-position")
def provider_position(dispute_id: int, body: flows.ProviderPosition, session: SessionDep, rt: RuntimeDep,
                      actor: CurrentUser) -> dict[str, Any]:
    """The providing department states its position for this round (offer, or refusal with basis)."""
    dispute = flows.state_position(session, rt.runner, actor, dispute_id, body)
    return _public(session, rt, dispute, actor)


@router.post("/{dispute_id}/requester-reply")
def requester_reply(dispute_id: int, body: flows.RequesterReply, session: SessionDep, rt: RuntimeDep,
                    actor: CurrentUser) -> dict[str, Any]:
    """The using department accepts (settled), answers for another round, or declares failure."""
    dispute = flows.reply(session, rt.runner, actor, dispute_id, body)
    return _public(session, rt, dispute, actor)


@router.post("/{dispute_id}/statement-requests")
def request_statement(dispute_id: int, body: flows.StatementRequest, session: SessionDep, rt: RuntimeDep,
                      actor: CurrentUser) -> dict[str, Any]:
    """The authority asks the using department, the providing department or both for a statement."""
    dispute = flows.request_statement(session, rt.runner, actor, dispute_id, body)
    return _public(session, rt, dispute, actor)


@router.post("/{dispute_id}/statements")
def statement(dispute_id: int, body: flows.Statement, session: SessionDep, rt: RuntimeDep,
              actor: CurrentUser) -> dict[str, Any]:
    """Give the statement asked of one's department (attachments uploaded first, owner_type "dispute")."""
    dispute = flows.submit_statement(session, rt.runner, actor, dispute_id, body)
    return _public(session, rt, dispute, actor)


@router.post("/{dispute_id}/meetings")
def meeting(dispute_id: int, body: flows.Meeting, session: SessionDep, rt: RuntimeDep,
            actor: CurrentUser) -> dict[str, Any]:
    """The authority records a coordination meeting."""
    dispute = flows.record_meeting(session, rt.runner, actor, dispute_id, body)
    return _public(session, rt, dispute, actor)


@router.post("/{dispute_id}/decision")
def decision(dispute_id: int, body: flows.Decision, session: SessionDep, rt: RuntimeDep,
             actor: CurrentUser) -> dict[str, Any]:
    """The authority adjudicates (评判): share with items and terms, or not share; reasons always."""
    dispute = flows.decide(session, rt.runner, actor, dispute_id, body)
    return _public(session, rt, dispute, actor)


@router.post("/{dispute_id}/compliance")
def compliance(dispute_id: int, body: flows.Compliance, session: SessionDep, rt: RuntimeDep,
               actor: CurrentUser) -> dict[str, Any]:
    """The providing department reports that the decision to share is in effect."""
    dispute = flows.comply(session, rt.runner, actor, dispute_id, body)
    return _public(session, rt, dispute, actor)
