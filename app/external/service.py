"""Reading external tasks (no writes)."""

from __future__ import annotations

from sqlalchemy import select
from sqlmodel import Session

from app.external.models import ExternalTask, ExternalTaskStatus

INCIDENT_PAGE = 200


def open_incidents(session: Session, limit: int = INCIDENT_PAGE) -> list[ExternalTask]:
    """The tasks whose retries ran out, oldest incident first."""
    return list(session.execute(
        select(ExternalTask).where(ExternalTask.status == ExternalTaskStatus.incident.value)
        .order_by(ExternalTask.incident_at, ExternalTask.id).limit(limit)).scalars())


def recently_resolved(session: Session, limit: int = 20) -> list[ExternalTask]:
    """Incidents an administrator retried, newest first (for the page's second table)."""
    return list(session.execute(
        select(ExternalTask).where(ExternalTask.resolved_at.is_not(None))
        .order_by(ExternalTask.resolved_at.desc(), ExternalTask.id.desc()).limit(limit)).scalars())
