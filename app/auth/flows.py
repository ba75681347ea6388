"""Use cases of logging in and out (one commit each)."""

from __future__ import annotations

import math
from datetime import datetime, timedelta

from sqlmodel import Session

from app.audit.service import append
from app.auth import service
from app.auth.models import SessionKind, ThrottleScope, UserSession
from app.core import security
from app.core.clock import SHANGHAI, clock
from app.core.config import Settings
from app.core.errors import NotAuthenticated, TooManyRequests
from app.org.service import Actor, get_user_by_username


# An account lock is recorded on the typed user name (which may not exist), an address lock on the address.
_LOCK_ACTION = {ThrottleScope.account: "user.login_locked", ThrottleScope.address: "login_address.locked"}
_LOCK_ENTITY = {ThrottleScope.account: "user", ThrottleScope.address: "login_address"}


def _locked(scope: ThrottleScope, until: datetime, now: datetime) -> TooManyRequests:
    seconds = max(1, math.ceil((until - now).total_seconds()))
    minutes = math.ceil(seconds / 60)
    # Shown to a person: Beijing time, rounded up to the minute so "retry after" is never too early.
    local = until.astimezone(SHANGHAI)
    minute = local.replace(second=0, microsecond=0)
    at = (minute if minute == local else minute + timedelta(minutes=1)).strftime("%Y-%m-%d %H:%M")
    who, what = ("该账号", "account") if scope is ThrottleScope.account else ("您所在的网络地址", "address")
    return TooManyRequests(
        f"{who}登录失败次数过多，已暂时锁定。请于北京时间 {at} 之后（约 {minutes} 分钟后）再试；"
        "如忘记密码，请联系系统管理员。",
        message_en=f"Too many failed logins for this {what}; try again after {at} Beijing time "
                   f"(about {minutes} min).",
        code="login_locked", retry_after=seconds,
        extra={"scope": scope.value, "locked_until": until.isoformat()})


def login(session: Session, *, username: str, password: str, client_address: str | None, kind: SessionKind,
          settings: Settings) -> UserSession:
    """Check credentials, within the throttling limits, and open a server-side session.

    A locked account or address is refused before the password hash is computed, so guessing costs
    the service no argon2 work once the limit is reached.
    """
    now = security.utcnow()
    keys = {ThrottleScope.account: service.account_key(username),
            ThrottleScope.address: (client_address or "unknown")[:128]}
    lock = service.locked_until(session=session, keys=keys, now=now)
    if lock is not None:
        raise _locked(*lock, now)
    user = get_user_by_username(session=session, username=username)
    ok = security.verify_password(password, user.password_hash if user else None)
    if not ok or user is None or not user.is_active:
        window = timedelta(minutes=settings.login_failure_window_minutes)
        lockout = timedelta(minutes=settings.login_lockout_minutes)
        limits = {ThrottleScope.account: settings.login_max_failures_per_account,
                  ThrottleScope.address: settings.login_max_failures_per_address}
        locks: list[tuple[ThrottleScope, datetime]] = []
        for scope, limit in limits.items():
            until = service.record_failure(session=session, scope=scope, key=keys[scope], now=now,
                                           limit=limit, window=window, lockout=lockout)
            if until is not None:
                locks.append((scope, until))
                append(session, at=clock.now(), actor="system", action=_LOCK_ACTION[scope],
                       entity_type=_LOCK_ENTITY[scope], entity_id=keys[scope], detail={"username": keys[ThrottleScope.account],
                                                      "client_address": keys[ThrottleScope.address],
                                                      "failures": limit, "locked_until": until.isoformat()})
        session.commit()
        if locks:
            raise _locked(*max(locks, key=lambda lock: lock[1]), now)
        raise NotAuthenticated("用户名或密码错误", code="bad_credentials")
    assert user.id is not None
    service.clear(session=session, scope=ThrottleScope.account, key=keys[ThrottleScope.account])
    row = service.create_session(session=session, user_id=user.id, kind=kind, now=now,
                                 minutes=settings.access_token_minutes, client_address=client_address)
    session.commit()
    return row


def logout(session: Session, *, session_id: str) -> None:
    """End one session: its cookie or token stops working on every replica at once."""
    service.revoke(session=session, session_id=session_id, now=security.utcnow())
    session.commit()


def logout_everywhere(session: Session, *, user_id: int, by: Actor) -> int:
    """End every session of a user (their own request, or an administrator's); return how many."""
    count = service.revoke_all(session=session, user_id=user_id, now=security.utcnow())
    append(session, at=clock.now(), actor=by.username, action="user.sessions_revoked", entity_type="user",
           entity_id=user_id, detail={"sessions": count})
    session.commit()
    return count
