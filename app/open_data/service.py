"""Queries on open lists (flush, never commit)."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlmodel import Session

from app.catalog.models import CatalogEntry
from app.core.errors import InvalidInput, NotFound
from app.core.history_page import PAGE_SIZE, decode_cursor, page_of
from app.engine.models import ProcessInstance, Task, TaskStatus
from app.open_data.models import (EDITABLE, PUBLIC, RESTRICTED, OpenList, OpenListItem, OpenListReview,
                                  OpenListStatus)
from app.org.models import Department, DepartmentKind, Region
from app.org.scope import hidden, may_read_case, works_cases
from app.org.service import Actor, office_for
from app.sharing.models import ShareGrant

BUSINESS_PREFIX = "open_list:"
IN_PROGRESS = (OpenListStatus.draft.value, OpenListStatus.under_review.value, OpenListStatus.returned.value)


def get(*, session: Session, open_list_id: int) -> OpenList | None:
    """Return an open list by id."""
    return session.get(OpenList, open_list_id)


def require(*, session: Session, open_list_id: int) -> OpenList:
    """Return an open list by id or raise NotFound."""
    open_list = get(session=session, open_list_id=open_list_id)
    if open_list is None:
        raise NotFound("开放清单不存在", code="open_list_not_found")
    return open_list


def may_read(*, session: Session, open_list: OpenList, actor: Actor) -> bool:
    """Tell whether a person may read a list that is not public (yet): the department, its reviewing
    authority, the overseers of the department's area (app.org.scope), an admin."""
    return may_read_case(session=session, actor=actor,
                         parties=(open_list.department_id, open_list.reviewer_department_id),
                         overseen=(open_list.department_id,))


def get_visible(*, session: Session, open_list_id: int, actor: Actor) -> OpenList:
    """Return a list the person may read: any public version, or one of their department or review scope
    (404 alike for a missing or hidden one)."""
    open_list = get(session=session, open_list_id=open_list_id)
    if open_list is None or not (open_list.status in PUBLIC
                                 or may_read(session=session, open_list=open_list, actor=actor)):
        raise hidden("开放清单不存在", code="open_list_not_found")
    return open_list


def get_public(*, session: Session, open_list_id: int) -> OpenList:
    """Return a list the public may read (published, or an earlier published version) or raise NotFound."""
    open_list = get(session=session, open_list_id=open_list_id)
    if open_list is None or open_list.status not in PUBLIC:
        # Drafts and lists under review do not exist for the public.
        raise NotFound("开放清单不存在或尚未公布", code="open_list_not_found")
    return open_list


def get_for_update(*, session: Session, open_list_id: int) -> OpenList:
    """Return a list under a row lock (PostgreSQL), so two edits of one list queue."""
    open_list = session.execute(
        select(OpenList).where(OpenList.id == open_list_id).with_for_update()
        .execution_options(populate_existing=True)
    ).scalar_one_or_none()
    if open_list is None:
        raise NotFound("开放清单不存在", code="open_list_not_found")
    return open_list


def in_progress(*, session: Session, department_id: int, year: int) -> OpenList | None:
    """Return the version of a year the department is still working on (draft, under review, returned)."""
    return session.execute(
        select(OpenList).where(OpenList.department_id == department_id, OpenList.year == year,
                               OpenList.status.in_(IN_PROGRESS))
        .order_by(OpenList.version.desc()).limit(1)
    ).scalars().first()


def published(*, session: Session, department_id: int, year: int) -> OpenList | None:
    """Return the department's published list of a year."""
    return session.execute(
        select(OpenList).where(OpenList.department_id == department_id, OpenList.year == year,
                               OpenList.status == OpenListStatus.published.value)
    ).scalars().first()


def next_version(*, session: Session, department_id: int, year: int) -> int:
    """Return the version number a new list of the year gets."""
    current = session.execute(
        select(func.max(OpenList.version)).where(OpenList.department_id == department_id, OpenList.year == year)
    ).scalar()
    return int(current or 0) + 1


def items_of(*, session: Session, open_list_id: int) -> list[OpenListItem]:
    """Return a list's items in their order."""
    return list(session.execute(
        select(OpenListItem).where(OpenListItem.open_list_id == open_list_id)
        .order_by(OpenListItem.position, OpenListItem.id)
    ).scalars().all())


def item_by_code(*, session: Session, open_list_id: int, entry_code: str) -> OpenListItem | None:
    """Return the item of a list that lists a catalog entry."""
    return session.execute(
        select(OpenListItem).where(OpenListItem.open_list_id == open_list_id,
                                   OpenListItem.entry_code == entry_code)
    ).scalar_one_or_none()


REVIEWS_CURSOR = "open_list_reviews"


def reviews_page(*, session: Session, open_list_id: int, cursor: str | None = None, limit: int = PAGE_SIZE
                 ) -> tuple[list[OpenListReview], str | None]:
    """Return the latest `limit` review rounds of a list before the cursor, oldest first, and the cursor to
    the earlier ones (None when these are the first); read from (open_list_id, id)."""
    before = decode_cursor(cursor, REVIEWS_CURSOR)
    stmt = select(OpenListReview).where(OpenListReview.open_list_id == open_list_id)
    if before is not None:
        stmt = stmt.where(OpenListReview.id < before)
    rows = session.execute(stmt.order_by(OpenListReview.id.desc()).limit(limit + 1)).scalars().all()
    return page_of(rows, kind=REVIEWS_CURSOR, limit=limit, key=lambda r: r.id)


def item_names(*, session: Session, open_list_id: int, codes: set[str]) -> dict[str, str]:
    """Return the names of a list's items by entry code (those of `codes`)."""
    if not codes:
        return {}
    rows = session.execute(select(OpenListItem.entry_code, OpenListItem.entry_name).where(
        OpenListItem.open_list_id == open_list_id, OpenListItem.entry_code.in_(codes)))
    return {code: name for code, name in rows}


def latest_review(*, session: Session, open_list_id: int) -> OpenListReview | None:
    """Return a list's latest review round."""
    return session.execute(select(OpenListReview).where(OpenListReview.open_list_id == open_list_id)
                           .order_by(OpenListReview.id.desc()).limit(1)).scalars().first()


def open_task(*, session: Session, open_list: OpenList, task_spec: str) -> Task | None:
    """Return the open task of a list's process at a step (review or revise)."""
    if open_list.instance_id is None:
        return None
    return session.execute(
        select(Task).where(Task.instance_id == open_list.instance_id, Task.task_spec == task_spec,
                           Task.status == TaskStatus.open.value)
    ).scalars().first()


def by_instance(*, session: Session, instance: ProcessInstance) -> OpenList | None:
    """Return the list a process instance reviews (None for a designer's trial instance)."""
    ref = instance.business_ref or ""
    if not ref.startswith(BUSINESS_PREFIX):
        return None
    return session.get(OpenList, int(ref.removeprefix(BUSINESS_PREFIX)))


def get_all_for_actor(*, session: Session, actor: Actor, year: int | None = None, status: str | None = None,
                      limit: int = 200) -> list[tuple[OpenList, Department]]:
    """List the lists a person works on: their department's, and those their authority reviews."""
    if not works_cases(actor):
        return []  # a designer lists no department's cases (app.org.scope)
    stmt = select(OpenList, Department).join(Department, Department.id == OpenList.department_id).where(
        (OpenList.department_id == actor.department_id)
        | (OpenList.reviewer_department_id == actor.department_id))
    if year is not None:
        stmt = stmt.where(OpenList.year == year)
    # Voided drafts only when asked for.
    stmt = stmt.where(OpenList.status == status) if status else \
        stmt.where(OpenList.status != OpenListStatus.discarded.value)
    rows = session.execute(stmt.order_by(OpenList.year.desc(), Department.code, OpenList.version.desc())
                           .limit(limit)).all()
    return [(r[0], r[1]) for r in rows]


def get_all_published(*, session: Session, department_code: str | None = None, year: int | None = None,
                      limit: int = 500) -> list[tuple[OpenList, Department]]:
    """List the current published lists, by department and year."""
    stmt = select(OpenList, Department).join(Department, Department.id == OpenList.department_id).where(
        OpenList.status == OpenListStatus.published.value)
    if department_code:
        stmt = stmt.where(Department.code == department_code)
    if year is not None:
        stmt = stmt.where(OpenList.year == year)
    rows = session.execute(stmt.order_by(OpenList.year.desc(), Department.code).limit(limit)).all()
    return [(r[0], r[1]) for r in rows]


def get_restricted_items(*, session: Session, department_code: str | None = None, year: int | None = None,
                         open_type: str | None = None, limit: int = 2000
                         ) -> list[tuple[OpenListItem, OpenList, Department]]:
    """List the not-open and conditionally open items of the current published lists (Art. 20)."""
    types = [open_type] if open_type in RESTRICTED else list(RESTRICTED)
    stmt = (select(OpenListItem, OpenList, Department)
            .join(OpenList, OpenList.id == OpenListItem.open_list_id)
            .join(Department, Department.id == OpenList.department_id)
            .where(OpenList.status == OpenListStatus.published.value, OpenListItem.open_type.in_(types)))
    if department_code:
        stmt = stmt.where(Department.code == department_code)
    if year is not None:
        stmt = stmt.where(OpenList.year == year)
    rows = session.execute(stmt.order_by(OpenList.year.desc(), Department.code, OpenListItem.position,
                                         OpenListItem.id).limit(limit)).all()
    return [(r[0], r[1], r[2]) for r in rows]


def published_departments(*, session: Session) -> list[Department]:
    """Return the departments that have a published list, for the public filter."""
    return list(session.execute(
        select(Department).where(Department.id.in_(
            select(OpenList.department_id).where(OpenList.status == OpenListStatus.published.value)))
        .order_by(Department.code)
    ).scalars().all())


def published_years(*, session: Session) -> list[int]:
    """Return the years that have a published list, newest first."""
    return list(session.execute(
        select(OpenList.year).where(OpenList.status == OpenListStatus.published.value).distinct()
        .order_by(OpenList.year.desc())
    ).scalars().all())


def authority_for(*, session: Session, department: Department) -> Department | None:
    """Return the data authority that reviews a department's list: its region's, else the nearest above."""
    code: str | None = department.region_code
    for _ in range(6):
        if code is None:
            return None
        authority = office_for(session=session, region_code=code, kind=DepartmentKind.data_authority)
        if authority is not None:
            return authority
        code = session.execute(select(Region.parent_code).where(Region.code == code)).scalar_one_or_none()
    return None


def own_published_entry(*, session: Session, department_id: int, entry_code: str) -> CatalogEntry:
    """Return a published catalog entry of the department itself, or raise why it cannot be listed (Art. 21)."""
    entry = session.execute(select(CatalogEntry).where(CatalogEntry.code == entry_code)).scalar_one_or_none()
    if entry is None:
        raise InvalidInput(f"目录条目“{entry_code}”不存在", code="entry_not_found", extra={"entry_code": entry_code})
    if entry.department_id != department_id:
        provider = session.get(Department, entry.department_id)
        provider_name = provider.name if provider else "其他部门"
        grant = session.execute(
            select(ShareGrant.id).where(ShareGrant.entry_id == entry.id,
                                        ShareGrant.consumer_department_id == department_id).limit(1)
        ).scalar_one_or_none()
        if grant is not None:
            # Art. 21: data obtained from other departments by sharing is not part of one's own open list.
            raise InvalidInput(
                f"“{entry.name}”（{entry.code}）是本部门通过共享从{provider_name}获取的数据，"
                "依照《河南省政务数据管理办法》第二十一条，通过其他部门数据共享获取的政务数据不纳入本部门的开放清单；"
                f"如需开放，应由{provider_name}列入其开放清单",
                code="entry_obtained_by_sharing", extra={"entry_code": entry.code, "share_grant_id": grant})
        raise InvalidInput(
            f"“{entry.name}”（{entry.code}）是{provider_name}的目录条目，不是本部门的数据；"
            "依照第二十一条，开放清单只能列入本部门政务数据资源目录范围内的数据",
            code="entry_not_own", extra={"entry_code": entry.code})
    if entry.status != "published":
        raise InvalidInput(f"目录条目“{entry.name}”（{entry.code}）尚未发布或已停用，不能列入开放清单",
                           code="entry_not_published", extra={"entry_code": entry.code})
    return entry


def editable(open_list: OpenList) -> bool:
    """Tell whether the department may change the list now."""
    return open_list.status in EDITABLE


def own_entries(*, session: Session, department_id: int) -> list[CatalogEntry]:
    """Return the department's own published catalog entries: what its open list may contain (Art. 21)."""
    return list(session.execute(
        select(CatalogEntry).where(CatalogEntry.department_id == department_id,
                                   CatalogEntry.status == "published").order_by(CatalogEntry.code)
    ).scalars().all())
