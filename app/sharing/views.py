"""How a share request is shown (API and pages share this)."""

from __future__ import annotations

from typing import Any, NamedTuple

from sqlalchemy import select
from sqlmodel import Session

from app.audit import service as audit
from app.catalog.models import CatalogEntry
from app.core.history_page import PAGE_SIZE
from app.sharing import service
from app.sharing.models import DECISION_ZH, STATUS_ZH, ShareGrant, ShareRequest, ShareRequestStatus
from app.signing import documents as signed_documents
from app.signing.models import DocType


class DepartmentName(NamedTuple):
    """A department as a share request shows it."""

    code: str
    name: str


_LOOK_UP: Any = object()


def share_requests_public(session: Session, requests: list[ShareRequest]) -> list[dict[str, Any]]:
    """Return several share requests as lists show them: entries, departments and grants read once."""
    if not requests:
        return []
    departments = {k: DepartmentName(d.code, d.name) for k, d in service.departments_by_id(
        session=session, ids={i for r in requests for i in (r.requester_department_id,
                                                            r.provider_department_id)}).items()}
    entries = {e.id: e for e in session.execute(select(CatalogEntry).where(
        CatalogEntry.id.in_({r.entry_id for r in requests}))).scalars()}
    grants = {g.share_request_id: g for g in session.execute(select(ShareGrant).where(
        ShareGrant.share_request_id.in_({r.id for r in requests}))).scalars()}
    return [share_request_public(session, r, with_history=False, entry=entries.get(r.entry_id),
                                 departments=departments, grant=grants.get(r.id or 0)) for r in requests]


def share_request_public(session: Session, request: ShareRequest, *, with_history: bool = True,
                         entry: CatalogEntry | None = None,
                         departments: dict[int, DepartmentName] | None = None,
                         grant: ShareGrant | None = _LOOK_UP) -> dict[str, Any]:
    """Return a share request as the API shows it.

    A caller that has just read the entry, the departments or the grant (or knows there is no grant)
    passes them; what it does not pass is read here.
    """
    assert request.id is not None
    wanted = {request.requester_department_id, request.provider_department_id}
    depts: dict[int, Any] = {k: v for k, v in (departments or {}).items() if k in wanted}
    if len(depts) < len(wanted):
        depts.update(service.departments_by_id(session=session, ids=wanted - depts.keys()))
    if entry is None or entry.id != request.entry_id:
        entry = session.get(CatalogEntry, request.entry_id)
    if grant is _LOOK_UP:
        grant = service.get_grant(session=session, share_request_id=request.id)
    data: dict[str, Any] = {
        "id": request.id, "status": request.status,
        "status_label": STATUS_ZH[ShareRequestStatus(request.status)],
        "instance_id": request.instance_id,
        "entry_code": entry.code if entry else None, "entry_name": entry.name if entry else None,
        "share_type": entry.share_type if entry else None,
        "requester_department_code": depts[request.requester_department_id].code,
        "requester_department_name": depts[request.requester_department_id].name,
        "provider_department_code": depts[request.provider_department_id].code,
        "provider_department_name": depts[request.provider_department_id].name,
        "items": request.items, "purpose": request.purpose, "scope": request.scope,
        "period_from": request.period_from.isoformat(), "period_to": request.period_to.isoformat(),
        "method": request.method, "legal_basis": request.legal_basis, "contact_phone": request.contact_phone,
        "decision": request.decision, "decision_label": DECISION_ZH.get(request.decision or ""),
        "approved_items": request.approved_items, "terms": request.terms,
        "refusal_reason": request.refusal_reason, "refusal_basis": request.refusal_basis,
        "decided_by": request.decided_by,
        "decided_at": request.decided_at.isoformat() if request.decided_at else None,
        "created_at": request.created_at.isoformat(),
        "grant": None if grant is None else {
            "id": grant.id, "items": grant.items, "terms": grant.terms, "method": grant.method,
            "valid_from": grant.valid_from.isoformat(), "valid_to": grant.valid_to.isoformat(),
            "basis": grant.basis, "created_at": grant.created_at.isoformat()},
    }
    if with_history:
        data["history"], data["history_next_cursor"] = history_page(session, request)
        # Art. 26: the signed reply (number, verification code, algorithm, key), once there is a reply.
        data["signature"] = signed_documents.block(session, DocType.share_reply, request.id) \
            if request.status in (ShareRequestStatus.granted.value, ShareRequestStatus.refused.value) else None
    return data


def history_page(session: Session, request: ShareRequest, cursor: str | None = None, limit: int = PAGE_SIZE
                 ) -> tuple[list[dict[str, Any]], str | None]:
    """Return the latest lines of a share request's 流转记录 before the cursor, and the cursor to earlier ones."""
    return audit.trail_page(session, request.instance_id, "share_request", request.id or 0, cursor=cursor,
                            limit=limit)
