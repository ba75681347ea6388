"""Queries on catalog entries (flush, never commit)."""

from __future__ import annotations

from sqlalchemy import select
from sqlmodel import Session

from app.catalog.models import CatalogEntry
from app.core.errors import NotFound
from app.org.models import Department


def get_by_code(*, session: Session, code: str) -> CatalogEntry | None:
    """Return an entry by its catalog code."""
    return session.execute(select(CatalogEntry).where(CatalogEntry.code == code)).scalar_one_or_none()


def require_by_code(*, session: Session, code: str) -> CatalogEntry:
    """Return an entry by its catalog code or raise NotFound."""
    entry = get_by_code(session=session, code=code)
    if entry is None:
        raise NotFound(f"目录条目“{code}”不存在", code="entry_not_found")
    return entry


def get_all(*, session: Session, department_code: str | None = None, share_type: str | None = None,
            status: str | None = "published", limit: int = 200, offset: int = 0
            ) -> list[tuple[CatalogEntry, Department]]:
    """List entries with their departments, filtered."""
    stmt = select(CatalogEntry, Department).join(Department, Department.id == CatalogEntry.department_id)
    if department_code:
        stmt = stmt.where(Department.code == department_code)
    if share_type:
        stmt = stmt.where(CatalogEntry.share_type == share_type)
    if status:
        stmt = stmt.where(CatalogEntry.status == status)
    rows = session.execute(stmt.order_by(CatalogEntry.code).limit(limit).offset(offset)).all()
    return [(r[0], r[1]) for r in rows]
