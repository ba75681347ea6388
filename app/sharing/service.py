"""Queries on share requests and grants (flush, never commit)."""

from __future__ import annotations

from sqlalchemy import select
from sqlmodel import Session

from app.core import keyset

from app.org.models import Department
from app.org.scope import hidden, may_read_case
from app.org.service import Actor
from app.sharing.models import ShareGrant, ShareRequest

BUSINESS_PREFIX = "share_request:"


def get(*, session: Session, share_request_id: int) -> ShareRequest | None:
    """Return a share request by id."""
    return session.get(ShareRequest, share_request_id)


def get_visible(*, session: Session, share_request_id: int, actor: Actor) -> ShareRequest:
    """Return a share request the actor may read (either party, an overseer of its area, an admin) or 404."""
    request = get(session=session, share_request_id=share_request_id)
    if request is None or not may_read_case(
            session=session, actor=actor,
            parties=(request.requester_department_id, request.provider_department_id)):
        raise hidden("共享申请不存在", code="share_request_not_found")
    return request


def get_grant(*, session: Session, share_request_id: int) -> ShareGrant | None:
    """Return the grant a share request produced, if any."""
    return session.execute(
        select(ShareGrant).where(ShareGrant.share_request_id == share_request_id)
    ).scalar_one_or_none()


def get_all_for_department(*, session: Session, department_id: int | None, limit: int = 100,
                           cursor: str | None = None) -> tuple[list[ShareRequest], str | None]:
    """List one page of the requests a department filed or received, newest first; and the next cursor.

    Filed and received are each read newest first from their own index (department, id), then merged."""
    if department_id is None:
        return [], None  # no case role: no department's cases (app.org.scope)
    key = keyset.decode(cursor, (int,))
    found: dict[int, ShareRequest] = {}
    for column in (ShareRequest.requester_department_id, ShareRequest.provider_department_id):
        stmt = select(ShareRequest).where(column == department_id)
        if key is not None:
            stmt = stmt.where(ShareRequest.id < key[0])
        for r in session.execute(stmt.order_by(ShareRequest.id.desc()).limit(limit + 1)).scalars():
            found[r.id or 0] = r
    rows = [found[i] for i in sorted(found, reverse=True)][:limit + 1]
    return keyset.page(rows, limit, lambda r: (r.id,))


def departments_by_id(*, session: Session, ids: set[int]) -> dict[int, Department]:
    """Return departments keyed by id."""
    if not ids:
        return {}
    rows = session.execute(select(Department).where(Department.id.in_(ids))).scalars().all()
    return {d.id: d for d in rows if d.id is not None}
