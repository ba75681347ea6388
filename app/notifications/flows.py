"""Notification use cases of a person: read one, read all (one commit each)."""

from __future__ import annotations

from sqlmodel import Session

from app.notifications import service
from app.notifications.models import Notification
from app.org.service import Actor


def mark_read(session: Session, actor: Actor, notification_id: int) -> Notification:
    """Mark one of my notifications read."""
    notification = service.mark_read(session, actor.id, notification_id)
    session.commit()
    return notification


def mark_all_read(session: Session, actor: Actor) -> int:
    """Mark all my notifications read; return how many were unread."""
    count = service.mark_all_read(session, actor.id)
    session.commit()
    return count
