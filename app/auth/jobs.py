"""Scheduled work: forget old sessions and spent login-failure counters."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from app.auth import service
from app.core import security
from app.runtime import Runtime

# Ended sessions are kept a while: who was logged in from where helps investigate an incident.
KEEP_ENDED_SESSIONS = timedelta(days=30)


def prune_logins(rt: Runtime) -> dict[str, Any]:
    """Delete sessions ended over 30 days ago and failure counters that no longer count or lock."""
    now = security.utcnow()
    with rt.db.session() as session:
        sessions = service.delete_ended_sessions(session=session, before=now - KEEP_ENDED_SESSIONS)
        counters = service.delete_spent_counters(
            session=session, now=now, window=timedelta(minutes=rt.settings.login_failure_window_minutes))
        session.commit()
    return {"sessions": sessions, "counters": counters}
