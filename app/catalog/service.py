"""Queries on catalog entries, versions and update duties (flush, never commit)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, or_, select
from sqlmodel import Session

from app.catalog.models import (
    OPEN_VERSION_STATUSES,
    CatalogEntry,
    CatalogUpdateDuty,
    CatalogUpdateTrigger,
    CatalogVersion,
    CatalogVersionEntry,
    ChangeKind,
    DutyStatus,
    VersionStatus,
)
from app.core.errors import InvalidInput, NotFound
from app.org.models import Department, DepartmentKind, Region
from app.org.scope import hidden, may_read_case, works_cases
from app.org.service import Actor

VERSION_PREFIX = "catalog_version:"
DUTY_PREFIX = "catalog_update_duty:"
MAX_PAGE_SIZE = 1000


# ---- entries ------------------------------------------------------------------------------------


def get_by_code(*, session: Session, code: str) -> CatalogEntry | None:
    """Return an entry by its catalog code."""
    return session.execute(select(CatalogEntry).where(CatalogEntry.code == code)).scalar_one_or_none()


def require_by_code(*, session: Session, code: str) -> CatalogEntry:
    """Return an entry by its catalog code or raise NotFound."""
    entry = get_by_code(session=session, code=code)
    if entry is None:
        raise NotFound(f"目录条目“{code}”不存在", code="entry_not_found")
    return entry


def regions_under(*, session: Session, code: str) -> list[str]:
    """Return a region's code and the codes of every region inside it (city → its counties)."""
    found = [code]
    frontier = [code]
    for _ in range(4):
        if not frontier:
            break
        frontier = list(session.execute(select(Region.code).where(Region.parent_code.in_(frontier))).scalars())
        found.extend(frontier)
    return found


def _filtered(stmt: Any, *, session: Session, department_code: str | None, share_type: str | None,
              status: str | None, level: str | None, region_code: str | None, category: str | None,
              q: str | None) -> Any:
    if department_code:
        stmt = stmt.where(Department.code == department_code)
    if share_type:
        stmt = stmt.where(CatalogEntry.share_type == share_type)
    if status:
        stmt = stmt.where(CatalogEntry.status == status)
    if level:
        stmt = stmt.where(Region.level == level)
    if region_code:
        stmt = stmt.where(Department.region_code.in_(regions_under(session=session, code=region_code)))
    if category:
        # A category filter takes its sub-categories too: 基础信息资源 covers 基础信息资源/人口.
        stmt = stmt.where(or_(CatalogEntry.category == category, CatalogEntry.category.startswith(f"{category}/", autoescape=True)))
    if q:
        text = q.strip()
        stmt = stmt.where(or_(CatalogEntry.name.contains(text, autoescape=True),
                              CatalogEntry.code.contains(text, autoescape=True),
                              CatalogEntry.summary.contains(text, autoescape=True)))
    return stmt


def get_all(*, session: Session, department_code: str | None = None, share_type: str | None = None,
            status: str | None = "published", level: str | None = None, region_code: str | None = None,
            category: str | None = None, q: str | None = None, limit: int = 200, offset: int = 0
            ) -> list[tuple[CatalogEntry, Department]]:
    """List entries with their departments, filtered (level, region and below, category and below...)."""
    stmt = (select(CatalogEntry, Department).join(Department, Department.id == CatalogEntry.department_id)
            .join(Region, Region.code == Department.region_code))
    stmt = _filtered(stmt, session=session, department_code=department_code, share_type=share_type,
                     status=status, level=level, region_code=region_code, category=category, q=q)
    rows = session.execute(stmt.order_by(CatalogEntry.code).limit(limit).offset(offset)).all()
    return [(r[0], r[1]) for r in rows]


def count_all(*, session: Session, department_code: str | None = None, share_type: str | None = None,
              status: str | None = "published", level: str | None = None, region_code: str | None = None,
              category: str | None = None, q: str | None = None) -> int:
    """Count the entries `get_all` would list without paging."""
    stmt = (select(func.count()).select_from(CatalogEntry)
            .join(Department, Department.id == CatalogEntry.department_id)
            .join(Region, Region.code == Department.region_code))
    stmt = _filtered(stmt, session=session, department_code=department_code, share_type=share_type,
                     status=status, level=level, region_code=region_code, category=category, q=q)
    return int(session.execute(stmt).scalar_one())


def level_summary(*, session: Session) -> list[dict[str, Any]]:
    """Count published entries and departments per level and region (the province's overview)."""
    rows = session.execute(
        select(Region.level, Region.code, Region.name, func.count(func.distinct(Department.id)),
               func.count(CatalogEntry.id))
        .select_from(CatalogEntry).join(Department, Department.id == CatalogEntry.department_id)
        .join(Region, Region.code == Department.region_code)
        .where(CatalogEntry.status == "published")
        .group_by(Region.level, Region.code, Region.name).order_by(Region.code)
    ).all()
    return [{"level": r[0], "region_code": r[1], "region_name": r[2], "departments": r[3], "entries": r[4]}
            for r in rows]


def published_of(*, session: Session, department_id: int) -> list[CatalogEntry]:
    """Return a department's published entries by code."""
    return list(session.execute(
        select(CatalogEntry).where(CatalogEntry.department_id == department_id,
                                   CatalogEntry.status == "published").order_by(CatalogEntry.code)
    ).scalars())


def published_elsewhere(*, session: Session, department_id: int) -> list[tuple[CatalogEntry, Department]]:
    """Return the published entries of every other department (for the duplicate-collection check)."""
    rows = session.execute(
        select(CatalogEntry, Department).join(Department, Department.id == CatalogEntry.department_id)
        .where(CatalogEntry.status == "published", CatalogEntry.department_id != department_id)
        .order_by(CatalogEntry.code)
    ).all()
    return [(r[0], r[1]) for r in rows]


def code_reserved(*, session: Session, code: str, except_version_id: int | None = None) -> str | None:
    """Tell who holds a catalog code: an entry, or an addition in a version in the works; None if free."""
    entry = get_by_code(session=session, code=code)
    if entry is not None:
        return "entry"
    stmt = (select(CatalogVersionEntry.version_id)
            .join(CatalogVersion, CatalogVersion.id == CatalogVersionEntry.version_id)
            .where(CatalogVersionEntry.code == code, CatalogVersionEntry.change == ChangeKind.added.value,
                   CatalogVersion.status.in_(OPEN_VERSION_STATUSES)))
    if except_version_id is not None:
        stmt = stmt.where(CatalogVersion.id != except_version_id)
    return "draft" if session.execute(stmt.limit(1)).first() is not None else None


# ---- versions -----------------------------------------------------------------------------------


def get_version(*, session: Session, version_id: int) -> CatalogVersion | None:
    """Return a catalog version by id."""
    return session.get(CatalogVersion, version_id)


def may_see_department(*, session: Session, actor: Actor, department: Department) -> bool:
    """Tell whether a person may read a department's versions: its staff, an overseer of its area, an admin."""
    return may_read_case(session=session, actor=actor, parties=(department.id,))


def require_visible_version(*, session: Session, version_id: int, actor: Actor) -> tuple[CatalogVersion, Department]:
    """Return a version and its department if the person may read it; else 404 alike for a missing or hidden one."""
    version = get_version(session=session, version_id=version_id)
    dept = session.get(Department, version.department_id) if version is not None else None
    if version is None or dept is None or not may_see_department(session=session, actor=actor, department=dept):
        raise hidden("目录版本不存在", code="catalog_version_not_found")
    return version, dept


def lock_version(*, session: Session, version_id: int) -> CatalogVersion:
    """Load a version under a row lock (PostgreSQL; SQLite holds the write lock already)."""
    version = session.execute(
        select(CatalogVersion).where(CatalogVersion.id == version_id).with_for_update()
        .execution_options(populate_existing=True)
    ).scalar_one_or_none()
    if version is None:
        raise NotFound("目录版本不存在", code="catalog_version_not_found")
    return version


def open_version_of(*, session: Session, department_id: int) -> CatalogVersion | None:
    """Return the department's version in the works (draft, under review or returned), if any."""
    return session.execute(
        select(CatalogVersion).where(CatalogVersion.department_id == department_id,
                                     CatalogVersion.status.in_(OPEN_VERSION_STATUSES))
    ).scalar_one_or_none()


def latest_published_version(*, session: Session, department_id: int) -> CatalogVersion | None:
    """Return the department's newest published version."""
    return session.execute(
        select(CatalogVersion).where(CatalogVersion.department_id == department_id,
                                     CatalogVersion.status == VersionStatus.published.value)
        .order_by(CatalogVersion.number.desc()).limit(1)
    ).scalar_one_or_none()


def next_number(*, session: Session, department_id: int) -> int:
    """Return the next version number of a department."""
    current = session.execute(
        select(func.max(CatalogVersion.number)).where(CatalogVersion.department_id == department_id)
    ).scalar()
    return int(current or 0) + 1


def list_versions(*, session: Session, actor: Actor, department_code: str | None = None,
                  status: str | None = None, instance_id: int | None = None, limit: int = 100,
                  offset: int = 0) -> list[tuple[CatalogVersion, Department]]:
    """List the versions a person may read: their department's; for an authority, those of its region."""
    if not works_cases(actor):
        return []  # a designer lists no department's cases (app.org.scope)
    stmt = select(CatalogVersion, Department).join(Department, Department.id == CatalogVersion.department_id)
    if department_code:
        stmt = stmt.where(Department.code == department_code)
    if status:
        stmt = stmt.where(CatalogVersion.status == status)
    if instance_id is not None:
        stmt = stmt.where(CatalogVersion.instance_id == instance_id)
    if not actor.has_role("admin"):
        if actor.has_role("authority_reviewer", "supervisor"):
            regions = regions_under(session=session, code=actor.region_code)
            stmt = stmt.where(or_(Department.region_code.in_(regions), Department.id == actor.department_id))
        else:
            stmt = stmt.where(Department.id == actor.department_id)
    rows = session.execute(stmt.order_by(CatalogVersion.id.desc()).limit(limit).offset(offset)).all()
    return [(r[0], r[1]) for r in rows]


def version_entries(*, session: Session, version_id: int) -> list[CatalogVersionEntry]:
    """Return a version's entries by code."""
    return list(session.execute(
        select(CatalogVersionEntry).where(CatalogVersionEntry.version_id == version_id)
        .order_by(CatalogVersionEntry.code)
    ).scalars())


def version_entry(*, session: Session, version_id: int, code: str) -> CatalogVersionEntry | None:
    """Return one entry of a version by code."""
    return session.execute(
        select(CatalogVersionEntry).where(CatalogVersionEntry.version_id == version_id,
                                          CatalogVersionEntry.code == code)
    ).scalar_one_or_none()


def require_version_entry(*, session: Session, version_id: int, code: str) -> CatalogVersionEntry:
    """Return one entry of a version by code or raise NotFound."""
    row = version_entry(session=session, version_id=version_id, code=code)
    if row is None:
        raise NotFound(f"该版本中没有目录条目“{code}”", code="version_entry_not_found")
    return row


def version_of_instance(*, session: Session, instance_business_ref: str | None) -> CatalogVersion | None:
    """Return the version a review instance is about."""
    ref = instance_business_ref or ""
    if not ref.startswith(VERSION_PREFIX):
        return None
    return session.get(CatalogVersion, int(ref.removeprefix(VERSION_PREFIX)))


# ---- the data authority of a level -------------------------------------------------------------


def authority_for(*, session: Session, department: Department) -> Department:
    """Return the data authority of a department's level: its region's, else the nearest above (Art. 8)."""
    region_code: str | None = department.region_code
    for _ in range(6):
        if region_code is None:
            break
        found = session.execute(
            select(Department).where(Department.region_code == region_code,
                                     Department.kind == DepartmentKind.data_authority.value,
                                     Department.is_active.is_(True)).order_by(Department.id).limit(1)
        ).scalar_one_or_none()
        if found is not None:
            return found
        region_code = session.execute(select(Region.parent_code).where(Region.code == region_code)).scalar_one_or_none()
    raise InvalidInput(f"未找到“{department.name}”所在层级的政务数据主管部门，无法提交审定",
                       code="no_data_authority")


# ---- update duties ------------------------------------------------------------------------------


def open_duties_of(*, session: Session, department_id: int) -> list[CatalogUpdateDuty]:
    """Return a department's open update duties, oldest first."""
    return list(session.execute(
        select(CatalogUpdateDuty).where(CatalogUpdateDuty.department_id == department_id,
                                        CatalogUpdateDuty.status == DutyStatus.open.value)
        .order_by(CatalogUpdateDuty.id)
    ).scalars())


def duty_of_instance(*, session: Session, instance_business_ref: str | None) -> CatalogUpdateDuty | None:
    """Return the update duty an instance is about."""
    ref = instance_business_ref or ""
    if not ref.startswith(DUTY_PREFIX):
        return None
    return session.get(CatalogUpdateDuty, int(ref.removeprefix(DUTY_PREFIX)))


def list_duties(*, session: Session, actor: Actor, status: str | None = None, trigger_id: int | None = None,
                limit: int = 200, offset: int = 0
                ) -> list[tuple[CatalogUpdateDuty, CatalogUpdateTrigger, Department]]:
    """List the update duties a person may read: their department's; an authority's region; all for an admin."""
    if not works_cases(actor):
        return []  # a designer lists no department's cases (app.org.scope)
    stmt = (select(CatalogUpdateDuty, CatalogUpdateTrigger, Department)
            .join(CatalogUpdateTrigger, CatalogUpdateTrigger.id == CatalogUpdateDuty.trigger_id)
            .join(Department, Department.id == CatalogUpdateDuty.department_id))
    if status:
        stmt = stmt.where(CatalogUpdateDuty.status == status)
    if trigger_id is not None:
        stmt = stmt.where(CatalogUpdateDuty.trigger_id == trigger_id)
    if not actor.has_role("admin"):
        if actor.has_role("authority_reviewer", "supervisor"):
            regions = regions_under(session=session, code=actor.region_code)
            stmt = stmt.where(or_(Department.region_code.in_(regions), Department.id == actor.department_id))
        else:
            stmt = stmt.where(Department.id == actor.department_id)
    rows = session.execute(stmt.order_by(CatalogUpdateDuty.id.desc()).limit(limit).offset(offset)).all()
    return [(r[0], r[1], r[2]) for r in rows]
