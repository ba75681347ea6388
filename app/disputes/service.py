"""Queries on disputes, their records and their open steps; the choice of the deciding authority
(flush, never commit)."""

from __future__ import annotations

from collections.abc import Mapping

from sqlalchemy import or_, select
from sqlmodel import Session

from app.core import keyset
from app.core.errors import Conflict
from app.core.history_page import PAGE_SIZE, decode_cursor, page_of
from app.disputes.models import Dispute, DisputeRecord
from app.engine.models import ProcessInstance, Task, TaskStatus
from app.org.models import Department, DepartmentKind, Region
from app.org.scope import hidden, may_read_case
from app.org.service import Actor, office_for
from app.sharing.models import ShareGrant, ShareRequest, ShareRequestStatus

BUSINESS_PREFIX = "dispute:"
# What a dispute file's cursor pages (app.core.history_page).
RECORDS_CURSOR = "dispute_records"


def get(*, session: Session, dispute_id: int) -> Dispute | None:
    """Return a dispute by id."""
    return session.get(Dispute, dispute_id)


def is_party(dispute: Dispute, actor: Actor) -> bool:
    """Tell whether the person works for one of the two departments or the deciding authority."""
    return actor.department_id in (dispute.requester_department_id, dispute.provider_department_id,
                                   dispute.authority_department_id)


def get_visible(*, session: Session, dispute_id: int, actor: Actor) -> Dispute:
    """Return a dispute the person may read, or 404 alike for a missing or hidden one: the parties and the
    deciding authority; read-only, an authority or a government's supervisors whose area covers the
    deciding authority's; an admin."""
    dispute = get(session=session, dispute_id=dispute_id)
    if dispute is None or not may_read_case(
            session=session, actor=actor, parties=(dispute.requester_department_id, dispute.provider_department_id,
                                                   dispute.authority_department_id),
            overseen=(dispute.authority_department_id,)):
        raise hidden("争议不存在", code="dispute_not_found")
    return dispute


def get_all_for_department(*, session: Session, department_id: int | None, limit: int = 100,
                           cursor: str | None = None) -> tuple[list[Dispute], str | None]:
    """List one page of the disputes a department opened, received or decides, newest first; and the next
    page's cursor (None on the last page)."""
    if department_id is None:
        return [], None  # no case role: no department's cases (app.org.scope)
    return keyset.newest_first(session, select(Dispute), [Dispute.requester_department_id == department_id,
                                                          Dispute.provider_department_id == department_id,
                                                          Dispute.authority_department_id == department_id],
                               Dispute.id, limit, cursor)


def disputable_requests(*, session: Session, department_id: int, limit: int = 50) -> list[ShareRequest]:
    """List a department's refused requests it may still dispute, newest first, in one query: no grant, no
    open dispute and no adjudication (the rules of flows.check_disputable)."""
    barred = select(Dispute.id).where(Dispute.share_request_id == ShareRequest.id,
                                      or_(Dispute.closed_at.is_(None), Dispute.resolution == "adjudication"))
    granted = select(ShareGrant.id).where(ShareGrant.share_request_id == ShareRequest.id)
    stmt = select(ShareRequest).where(ShareRequest.requester_department_id == department_id,
                                      ShareRequest.status == ShareRequestStatus.refused.value,
                                      ~barred.exists(), ~granted.exists())
    return list(session.execute(stmt.order_by(ShareRequest.id.desc()).limit(limit)).scalars())


def get_all_by_share_request(*, session: Session, share_request_id: int) -> list[Dispute]:
    """List the disputes over one share request, oldest first."""
    return list(session.execute(
        select(Dispute).where(Dispute.share_request_id == share_request_id).order_by(Dispute.id)
    ).scalars().all())


def get_open_by_share_request(*, session: Session, share_request_id: int) -> Dispute | None:
    """Return the dispute still open over a share request, if any."""
    return session.execute(
        select(Dispute).where(Dispute.share_request_id == share_request_id, Dispute.closed_at.is_(None))
    ).scalar_one_or_none()


def by_instance(*, session: Session, instance: ProcessInstance) -> Dispute | None:
    """Return the dispute a process instance runs (None for a designer's trial instance)."""
    ref = instance.business_ref or ""
    if not ref.startswith(BUSINESS_PREFIX):
        return None
    return session.get(Dispute, int(ref.removeprefix(BUSINESS_PREFIX)))


def records(*, session: Session, dispute_id: int) -> list[DisputeRecord]:
    """Return a dispute's file, oldest first."""
    return list(session.execute(
        select(DisputeRecord).where(DisputeRecord.dispute_id == dispute_id).order_by(DisputeRecord.id)
    ).scalars().all())


def records_page(*, session: Session, dispute_id: int, cursor: str | None = None, limit: int = PAGE_SIZE
                 ) -> tuple[list[DisputeRecord], str | None]:
    """Return the latest `limit` entries of a dispute's file before the cursor, oldest first, and the cursor
    to the earlier ones (None when these are the first); read from (dispute_id, id)."""
    before = decode_cursor(cursor, RECORDS_CURSOR)
    stmt = select(DisputeRecord).where(DisputeRecord.dispute_id == dispute_id)
    if before is not None:
        stmt = stmt.where(DisputeRecord.id < before)
    rows = session.execute(stmt.order_by(DisputeRecord.id.desc()).limit(limit + 1)).scalars().all()
    return page_of(rows, kind=RECORDS_CURSOR, limit=limit, key=lambda r: r.id)


def latest_record(*, session: Session, dispute_id: int, kind: str) -> DisputeRecord | None:
    """Return the latest entry of one kind in a dispute's file."""
    return session.execute(select(DisputeRecord).where(DisputeRecord.dispute_id == dispute_id,
                                                       DisputeRecord.kind == kind)
                           .order_by(DisputeRecord.id.desc()).limit(1)).scalars().first()


def open_tasks(*, session: Session, dispute: Dispute) -> list[Task]:
    """Return the dispute's open steps (tasks), oldest first."""
    if dispute.instance_id is None:
        return []
    return list(session.execute(
        select(Task).where(Task.instance_id == dispute.instance_id, Task.status == TaskStatus.open.value)
        .order_by(Task.id)
    ).scalars().all())


def require_open_task(*, session: Session, dispute: Dispute, task_spec: str, what: str) -> Task:
    """Return the open task of one step, or say that this step is not due now (409)."""
    for task in open_tasks(session=session, dispute=dispute):
        if task.task_spec == task_spec:
            return task
    raise Conflict(f"该争议当前没有待办理的“{what}”环节", code="dispute_step_not_open",
                   extra={"step": task_spec, "status": dispute.status})


def departments_by_id(*, session: Session, ids: set[int]) -> dict[int, Department]:
    """Return departments keyed by id."""
    if not ids:
        return {}
    rows = session.execute(select(Department).where(Department.id.in_(ids))).scalars().all()
    return {d.id: d for d in rows if d.id is not None}


# ---- the deciding authority --------------------------------------------------------------------


def covering_region(parents: Mapping[str, str | None], provider_region: str, requester_region: str) -> str:
    """Return the region whose data authority coordinates a dispute between departments of two regions.

    Art. 16 para 3 sends a failed negotiation to 本级政务数据主管部门: the provider's own level when
    both departments belong to that level's government; otherwise the lowest level whose area covers
    both (two counties of one city → the city; a county and its own city → the city; two cities →
    the province). `parents` maps each region code to its parent's code.
    """
    provider_chain = _chain(parents, provider_region)
    requester_chain = set(_chain(parents, requester_region))
    for code in provider_chain:
        if code in requester_chain:
            return code
    raise ValueError(f"regions {provider_region} and {requester_region} have no common ancestor")


def _chain(parents: Mapping[str, str | None], code: str) -> list[str]:
    chain: list[str] = []
    current: str | None = code
    while current is not None and current not in chain:
        chain.append(current)
        current = parents.get(current)
    return chain


def region_parents(*, session: Session) -> dict[str, str | None]:
    """Return every region's parent code (a few hundred rows for a province)."""
    return {code: parent for code, parent in session.execute(select(Region.code, Region.parent_code)).all()}


def choose_authority(*, session: Session, provider: Department, requester: Department) -> Department:
    """Return the data authority that coordinates and adjudicates a dispute between two departments."""
    code = covering_region(region_parents(session=session), provider.region_code, requester.region_code)
    authority = office_for(session=session, region_code=code, kind=DepartmentKind.data_authority)
    if authority is None:
        region = session.get(Region, code)
        name = region.name if region else code
        raise Conflict(f"{name}尚未登记政务数据主管部门，无法确定协调部门，请联系系统管理员",
                       code="dispute_authority_missing", extra={"region_code": code})
    return authority

