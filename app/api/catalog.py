"""Catalog entries."""

from typing import Any

from fastapi import APIRouter, Query

from app.catalog import flows, service
from app.catalog.models import ShareType
from app.deps import CurrentUser, SessionDep
from app.org.service import get_department_by_code

router = APIRouter(prefix="/catalog", tags=["catalog"])


@router.post("/entries", status_code=201)
def create_entry(body: flows.CatalogEntryCreate, session: SessionDep, actor: CurrentUser) -> dict[str, Any]:
    """Record a data resource of the clerk's department (Art. 15 checked)."""
    entry = flows.create_entry(session, actor, body)
    dept = get_department_by_code(session=session, code=actor.department_code)
    assert dept is not None
    return flows.entry_public(entry, dept)


@router.get("/entries")
def list_entries(session: SessionDep, actor: CurrentUser, department_code: str | None = None,
                 share_type: ShareType | None = None, limit: int = Query(200, ge=1, le=1000),
                 offset: int = Query(0, ge=0)) -> list[dict[str, Any]]:
    """List published entries, filtered by department and share type."""
    rows = service.get_all(session=session, department_code=department_code,
                           share_type=share_type.value if share_type else None, limit=limit, offset=offset)
    return [flows.entry_public(e, d) for e, d in rows]


@router.get("/entries/{entry_code}")
def get_entry(entry_code: str, session: SessionDep, actor: CurrentUser) -> dict[str, Any]:
    """Return one entry by its code."""
    entry = service.require_by_code(session=session, code=entry_code)
    from app.org.models import Department

    dept = session.get(Department, entry.department_id)
    assert dept is not None
    return flows.entry_public(entry, dept)
