"""New business systems (Art. 7): register, the catalog checklist, record the project approval (立项),
withdraw."""

from typing import Any

from fastapi import APIRouter, Query

from app.core.clock import clock
from app.core.history_page import check_limit
from app.deps import CurrentUser, RuntimeDep, SessionDep
from app.systems import flows, service
from app.systems.models import BusinessSystem
from app.systems.views import history_page, system_public, systems_public

router = APIRouter(tags=["systems"])


def _one(session: SessionDep, rt: RuntimeDep, system: BusinessSystem, actor: CurrentUser) -> dict[str, Any]:
    session.refresh(system)
    return system_public(session, system, actor, calendar=rt.calendar.get(session), now=clock.now())


@router.get("/systems/catalog-entries")
def catalog_entries(session: SessionDep, actor: CurrentUser) -> list[dict[str, Any]]:
    """List my department's catalog entries (published, and in its version in the works) a system's data
    items may link to, with their data items."""
    return service.department_entries(session=session, department_id=actor.department_id)


@router.post("/systems", status_code=201)
def register(body: flows.SystemCreate, session: SessionDep, rt: RuntimeDep,
             actor: CurrentUser) -> dict[str, Any]:
    """Register a new business system of my department: name, purpose, data items (each optionally linked to
    an entry of my catalog by `entry_code`), contact. Opens the 立项 step, due in working days."""
    return _one(session, rt, flows.register(session, rt.runner, actor, body), actor)


@router.get("/systems")
def list_systems(session: SessionDep, rt: RuntimeDep, actor: CurrentUser, status: str | None = None,
                 limit: int = Query(100, ge=1, le=500), cursor: str | None = None) -> dict[str, Any]:
    """List the systems of my department, of the departments my authority reviews, or (supervisors) of my
    level (status: open, closed or one status), newest first; `next_cursor` (null on the last page) gives
    the next page as `cursor`."""
    rows, next_cursor = service.get_all_for_actor(session=session, actor=actor, status=status, limit=limit,
                                                  cursor=cursor)
    items = systems_public(session, rows, calendar=rt.calendar.get(session), now=clock.now())
    return {"items": items, "count": len(items), "next_cursor": next_cursor}


@router.get("/systems/{system_id}")
def get_one(system_id: int, session: SessionDep, rt: RuntimeDep, actor: CurrentUser) -> dict[str, Any]:
    """Return a system with its catalog checklist (Art. 7), supervision items and history."""
    return _one(session, rt, service.get_visible(session=session, system_id=system_id, actor=actor), actor)


@router.get("/systems/{system_id}/history")
def history(system_id: int, session: SessionDep, actor: CurrentUser, cursor: str | None = None,
            limit: int | None = None) -> dict[str, Any]:
    """Return lines of a system's 流转记录, oldest first: the latest ones, or those before `cursor`."""
    system = service.get_visible(session=session, system_id=system_id, actor=actor)
    items, next_cursor = history_page(session, system, cursor, check_limit(limit))
    return {"items": items, "next_cursor": next_cursor}


@router.post("/systems/{system_id}/approval")
def record_approval(system_id: int, body: flows.ApprovalBody, session: SessionDep, rt: RuntimeDep,
                    actor: CurrentUser) -> dict[str, Any]:
    """Record the project approval (立项): approval number, date, approving body. Refused (409) until a
    catalog version of my department listing every data item of the system is submitted and reviewed."""
    return _one(session, rt, flows.record_approval(session, rt.runner, actor, system_id, body), actor)


@router.post("/systems/{system_id}/withdraw")
def withdraw(system_id: int, body: flows.WithdrawBody, session: SessionDep, rt: RuntimeDep,
             actor: CurrentUser) -> dict[str, Any]:
    """Withdraw a registration not yet approved, with a reason."""
    return _one(session, rt, flows.withdraw(session, rt.runner, actor, system_id, body), actor)
