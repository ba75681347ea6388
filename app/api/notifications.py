"""My notifications: list, unread count, mark read."""

from typing import Any

from fastapi import APIRouter, Query

from app.deps import CurrentUser, SessionDep
from app.notifications import flows, service

router = APIRouter(prefix="/notifications", tags=["notifications"])


@router.get("")
def list_notifications(session: SessionDep, actor: CurrentUser, unread: bool = False,
                       limit: int = Query(50, ge=1, le=200), offset: int = Query(0, ge=0)) -> dict[str, Any]:
    """List my notifications, newest first, with my unread count."""
    items = service.list_for(session, actor.id, unread_only=unread, limit=limit, offset=offset)
    return {"items": [service.notification_public(n) for n in items],
            "unread": service.unread_count(session, actor.id)}


@router.get("/unread-count")
def unread_count(session: SessionDep, actor: CurrentUser) -> dict[str, int]:
    """Return how many of my notifications are unread."""
    return {"unread": service.unread_count(session, actor.id)}


@router.post("/read-all")
def read_all(session: SessionDep, actor: CurrentUser) -> dict[str, int]:
    """Mark all my notifications read."""
    marked = flows.mark_all_read(session, actor)
    return {"marked": marked, "unread": 0}


@router.post("/{notification_id}/read")
def read(notification_id: int, session: SessionDep, actor: CurrentUser) -> dict[str, Any]:
    """Mark one of my notifications read."""
    notification = flows.mark_read(session, actor, notification_id)
    return {**service.notification_public(notification),
            "unread_total": service.unread_count(session, actor.id)}
