"""Administration: departments, users, audit verification, the demo clock."""

from datetime import datetime
from typing import Any

from fastapi import APIRouter, Query
from pydantic import BaseModel

from app.audit import flows as audit
from app.auth import flows as auth_flows
from app.core.clock import clock
from app.core.errors import NotFound
from app.deps import AdminUser, RuntimeDep, SessionDep
from app.ops.stuck import stuck_instances
from app.org import flows
from app.org.models import Role
from app.org.service import get_user_by_username
from app.workdays import flows as calendar_flows

router = APIRouter(prefix="/admin", tags=["admin"])


@router.post("/departments", status_code=201)
def create_department(body: flows.DepartmentCreate, session: SessionDep, actor: AdminUser) -> dict[str, Any]:
    """Create a department in a region."""
    dept = flows.create_department(session, actor, body)
    return {"id": dept.id, "code": dept.code, "name": dept.name, "kind": dept.kind,
            "region_code": dept.region_code}


@router.post("/users", status_code=201)
def create_user(body: flows.UserCreate, session: SessionDep, actor: AdminUser) -> dict[str, Any]:
    """Create a user with roles in a department."""
    user = flows.create_user(session, actor, body)
    return {"id": user.id, "username": user.username, "display_name": user.display_name,
            "department_code": body.department_code, "roles": sorted(r.value for r in set(body.roles))}


@router.post("/users/{username}/logout-everywhere")
def logout_user_everywhere(username: str, session: SessionDep, actor: AdminUser) -> dict[str, Any]:
    """Revoke every session (page and API) of a user, e.g. a lost laptop or a leaked token; audited."""
    user = get_user_by_username(session=session, username=username)
    if user is None or user.id is None:
        raise NotFound(f"用户“{username}”不存在", code="user_not_found")
    return {"username": user.username,
            "revoked": auth_flows.logout_everywhere(session, user_id=user.id, by=actor)}


@router.get("/audit/verify")
def verify_audit(session: SessionDep, rt: RuntimeDep, actor: AdminUser) -> dict[str, Any]:
    """Recompute the keyed audit chain, hold it to the last exported head, and say whether it is intact."""
    return audit.check(session, path=rt.settings.audit_head_export_path).to_public()


@router.get("/stuck-instances")
def list_stuck_instances(session: SessionDep, actor: AdminUser, limit: int = Query(100, ge=1, le=500),
                         after: int | None = Query(None, ge=0, le=2**31 - 1)) -> dict[str, Any]:
    """Running instances nothing can move on (no open task, timer or awaited message), as the job last found
    them: instance, process, since when, the elements it sits at. Page on with `after` = `next_after`."""
    return stuck_instances(session, limit=limit, after=after)


class ClockMove(BaseModel):
    now: datetime


# Mounted only when GOVFLOW_ENABLE_TIME_TRAVEL is on: otherwise the route does not exist (404).
clock_router = APIRouter(prefix="/admin", tags=["admin"])


@clock_router.put("/clock")
def move_clock(body: ClockMove, session: SessionDep, actor: AdminUser) -> dict[str, Any]:
    """Move the service clock of the whole deployment (demo mode): every worker and scheduler sees it."""
    return {"now": calendar_flows.move_clock(session, actor.username, body.now).isoformat()}


@clock_router.get("/clock")
def read_clock(actor: AdminUser) -> dict[str, Any]:
    """Tell the service clock's time."""
    return {"now": clock.now().isoformat()}


@router.get("/roles")
def roles(actor: AdminUser) -> list[str]:
    """List the roles a user may hold."""
    return [r.value for r in Role]
