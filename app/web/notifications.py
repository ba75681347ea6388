"""Pages of my notifications (站内消息); reading works without JavaScript."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from app.deps import SessionDep
from app.notifications import flows, service
from app.web import FormData, PageUser
from app.web.render import render

router = APIRouter(include_in_schema=False)

PAGE_SIZE = 50


@router.get("/notifications", response_class=HTMLResponse)
def notifications_page(request: Request, session: SessionDep, actor: PageUser, unread: bool = False,
                       offset: int = 0) -> Response:
    """List my notifications, newest first."""
    offset = max(offset, 0)
    items = service.list_for(session, actor.id, unread_only=unread, limit=PAGE_SIZE + 1, offset=offset)
    return render(request, "notifications/list.html", {
        "items": [service.notification_public(n) for n in items[:PAGE_SIZE]],
        "unread_only": unread, "offset": offset, "page_size": PAGE_SIZE, "has_more": len(items) > PAGE_SIZE,
        "unread_count": service.unread_count(session, actor.id),
    })


@router.post("/notifications/read-all")
def read_all(session: SessionDep, actor: PageUser, form: FormData) -> Response:
    """Mark all my notifications read."""
    flows.mark_all_read(session, actor)
    return RedirectResponse("/notifications", status_code=303)


@router.post("/notifications/{notification_id}/read")
def read(notification_id: int, session: SessionDep, actor: PageUser, form: FormData) -> Response:
    """Mark one notification read, then open what it links to (or go back to the list)."""
    notification = flows.mark_read(session, actor, notification_id)
    target = "/notifications"
    if str(form.get("open") or "") == "1" and notification.link and _same_site(notification.link):
        target = notification.link
    return RedirectResponse(target, status_code=303)


def _same_site(url: str) -> bool:
    # Links are relative paths we wrote; never redirect to another host.
    return url.startswith("/") and not url.startswith("//") and "\\" not in url
