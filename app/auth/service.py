"""Queries on sessions and login-failure counters (flush, never commit).

Every instant here is real time (``security.utcnow()``), never the business clock: moving the demo
clock must neither log anyone out nor lift a lockout.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import bindparam, or_, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import Session

from app.auth.models import LoginThrottle, SessionKind, ThrottleScope, UserSession
from app.core.security import new_session_id

_SESSION = UserSession.__table__  # type: ignore[attr-defined]
_THROTTLE = LoginThrottle.__table__  # type: ignore[attr-defined]
# The one query every authenticated request makes: a primary-key read of three columns.
# Built once with its parameter: the statement's cache key is memoized, not recomputed per request.
_LIVE = select(_SESSION.c.user_id, _SESSION.c.expires_at, _SESSION.c.revoked_at).where(
    _SESSION.c.id == bindparam("session_id"))


def create_session(*, session: Session, user_id: int, kind: SessionKind, now: datetime, minutes: int,
                   client_address: str | None) -> UserSession:
    """Open a server-side session for a user who just proved who they are."""
    row = UserSession(id=new_session_id(), user_id=user_id, kind=kind.value, created_at=now,
                      expires_at=now + timedelta(minutes=minutes), client_address=(client_address or None) and
                      client_address[:64])
    session.add(row)
    session.flush()
    return row


def live_user_id(*, session: Session, session_id: str, now: datetime) -> int | None:
    """Return the user of a session that exists, is not revoked and has not expired, else None."""
    if not session_id or len(session_id) > 64:
        return None
    row = session.execute(_LIVE, {"session_id": session_id}).first()
    if row is None or row.revoked_at is not None or row.expires_at <= now:
        return None
    return int(row.user_id)


def revoke(*, session: Session, session_id: str, now: datetime) -> bool:
    """Revoke one live session; tell whether there was one."""
    result = session.execute(update(_SESSION).values(revoked_at=now).where(
        _SESSION.c.id == session_id, _SESSION.c.revoked_at.is_(None)))
    return bool(result.rowcount)


def revoke_all(*, session: Session, user_id: int, now: datetime) -> int:
    """Revoke every live session of a user (page and API); return how many."""
    result = session.execute(update(_SESSION).values(revoked_at=now).where(
        _SESSION.c.user_id == user_id, _SESSION.c.revoked_at.is_(None), _SESSION.c.expires_at > now))
    return int(result.rowcount)


def account_key(username: str) -> str:
    """Return the throttling key of a typed user name (also for names that do not exist)."""
    # Case and padding variants of one name share a counter; unknown names are counted like known
    # ones, so a lockout reveals nothing about which accounts exist.
    return username.strip().lower()[:128]


def locked_until(*, session: Session, keys: dict[ThrottleScope, str], now: datetime
                 ) -> tuple[ThrottleScope, datetime] | None:
    """Return the scope and end of the lockout that applies to any of the keys, latest first, else None."""
    rows = session.execute(select(_THROTTLE.c.scope, _THROTTLE.c.locked_until).where(
        _THROTTLE.c.locked_until > now,
        or_(*((_THROTTLE.c.scope == scope.value) & (_THROTTLE.c.key == key) for scope, key in keys.items())),
    )).all()
    if not rows:
        return None
    scope, until = max(rows, key=lambda r: r.locked_until)
    return ThrottleScope(scope), until


def record_failure(*, session: Session, scope: ThrottleScope, key: str, now: datetime, limit: int,
                   window: timedelta, lockout: timedelta) -> datetime | None:
    """Count one failed login for a key; when it reaches the limit, lock the key and return until when.

    The row is created if missing and then locked (FOR UPDATE on PostgreSQL; SQLite transactions here
    hold the write lock from BEGIN IMMEDIATE), so concurrent failures on several replicas all count.
    """
    insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    session.execute(insert(_THROTTLE).values(scope=scope.value, key=key, failures=0, window_started_at=now,
                                             locked_until=None).on_conflict_do_nothing())
    row = session.execute(select(_THROTTLE.c.failures, _THROTTLE.c.window_started_at)
                          .where(_THROTTLE.c.scope == scope.value, _THROTTLE.c.key == key)
                          .with_for_update()).one()
    failures, started = row.failures + 1, row.window_started_at
    if started <= now - window:
        # The window is fixed from its first failure: an old failure no longer counts.
        failures, started = 1, now
    until = now + lockout if failures >= limit else None
    # A lockout starts a fresh count: after it ends, the next `limit` failures lock again.
    session.execute(update(_THROTTLE).where(_THROTTLE.c.scope == scope.value, _THROTTLE.c.key == key).values(
        failures=0 if until else failures, window_started_at=now if until else started, locked_until=until))
    return until


def clear(*, session: Session, scope: ThrottleScope, key: str) -> None:
    """Forget the failures of a key (a successful login clears its account's count)."""
    session.execute(_THROTTLE.delete().where(_THROTTLE.c.scope == scope.value, _THROTTLE.c.key == key))


def delete_ended_sessions(*, session: Session, before: datetime) -> int:
    """Delete sessions that expired or were revoked before an instant; return how many."""
    result = session.execute(_SESSION.delete().where(
        or_(_SESSION.c.expires_at < before, _SESSION.c.revoked_at < before)))
    return int(result.rowcount)


def delete_spent_counters(*, session: Session, now: datetime, window: timedelta) -> int:
    """Delete counters whose failures are out of the window and whose lockout, if any, has ended."""
    result = session.execute(_THROTTLE.delete().where(
        _THROTTLE.c.window_started_at <= now - window,
        or_(_THROTTLE.c.locked_until.is_(None), _THROTTLE.c.locked_until <= now)))
    return int(result.rowcount)
