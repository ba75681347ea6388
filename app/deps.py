"""Annotated dependencies shared by the API and the pages."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import OAuth2PasswordBearer
from starlette.concurrency import run_in_threadpool
from sqlmodel import Session

from app.auth.service import live_user_id
from app.core import security
from app.core.errors import CsrfFailed, Forbidden, NotAuthenticated
from app.core.security import csrf_matches, decode_access_token
from app.ops import PROBE_PATHS
from app.org.service import Actor
from app.runtime import Runtime
from app.workdays.service import sync_clock

oauth2_scheme = OAuth2PasswordBearer(tokenUrl="/api/auth/token", auto_error=False)


# Methods that change nothing (RFC 9110 §9.2.1); every other one is a write.
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})
CSRF_HEADER = "X-CSRF-Token"


def check_cookie_csrf(request: Request) -> None:
    """Refuse a write authenticated by the page cookie unless it carries the session's CSRF token header.

    The browser attaches the cookie to any same-site form post, body-less or multipart; a plain form cannot
    set a header, and cross-origin script cannot without a CORS preflight we never grant. Bearer-token
    calls carry no ambient credential and never come here.
    """
    if request.method in SAFE_METHODS:
        return
    if not csrf_matches(request.session.get("csrf"), request.headers.get(CSRF_HEADER)):
        raise CsrfFailed()


# Cheap dependencies are async: a sync one costs a thread-pool hop per request.
async def get_runtime(request: Request) -> Runtime:
    """Return the runtime the app was built with."""
    return request.app.state.runtime  # type: ignore[no-any-return]


RuntimeDep = Annotated[Runtime, Depends(get_runtime)]


async def sync_demo_clock(rt: RuntimeDep, request: Request) -> None:
    """Time travel on: take the deployment's demo offset from the database before the request's work.

    Mounted on the whole app only when time travel is enabled; then every worker answers with the
    same "now" from the moment a move commits. The probes (/healthz, /readyz, /metrics) are left out:
    /healthz must not touch the database and the others answer for themselves when it is down.
    """
    if request.url.path in PROBE_PATHS:
        return
    await run_in_threadpool(sync_clock, rt.db, rt.settings)


async def get_session(rt: RuntimeDep, request: Request) -> AsyncIterator[Session]:
    """Yield a database session for one request (it connects lazily, in the endpoint's thread).

    A request of a safe method gets a read-only session: on SQLite it neither waits for nor blocks the
    writers of the other workers, and a write in it fails (a GET that must record something opens its
    own write session for that, e.g. app/web/desk.py task_desk_context).
    """
    factory = rt.db.read_session_factory if request.method in SAFE_METHODS else rt.db.session_factory
    session = factory()
    # Template globals that read (app/web/task_actions.py) use the request's own session: on a write
    # request, a second connection would wait on this one's SQLite write lock.
    request.state.db_session = session
    try:
        yield session
    finally:
        # Closing returns the connection to the pool; a short, non-blocking step on the event loop.
        session.close()


SessionDep = Annotated[Session, Depends(get_session)]


def session_actor(session: Session, rt: Runtime, session_id: str, now: datetime,
                  user_id: int | None = None) -> Actor | None:
    """Return the actor of a live server-side session (and of the expected user, if given), else None.

    The session row is read on every request (a primary-key read), never cached: a logout on any
    replica ends the session everywhere at once. Only the actor (name, department, roles) is cached.
    """
    owner = live_user_id(session=session, session_id=session_id, now=now)
    if owner is None or (user_id is not None and owner != user_id):
        return None
    return rt.actors.get(session, owner)


async def get_current_user(request: Request, session: SessionDep, rt: RuntimeDep,
                           token: Annotated[str | None, Depends(oauth2_scheme)]) -> Actor:
    """Return the user of the bearer token (API) or of the page session cookie.

    Both carry the id of a server-side session that must still be live. Async with the database read
    in one worker-thread hop, as a sync dependency would be.
    """
    now = security.utcnow()
    session_id: str | None = None
    user_id: int | None = None
    if token:
        claims = decode_access_token(token, secret=rt.settings.secret_key, now=now)
        if claims is not None:
            user_id, session_id = claims
    elif "session" in request.scope:
        raw = request.session.get("sid")
        session_id = raw if isinstance(raw, str) else None
        if session_id is not None:
            check_cookie_csrf(request)
    actor = None
    if session_id is not None:
        actor = await run_in_threadpool(session_actor, session, rt, session_id, now, user_id)
    if actor is None:
        raise NotAuthenticated()
    # The API logout revokes the session the request came with.
    request.state.auth_session_id = session_id
    request.state.user_id = actor.id  # the access log line names who made the request (app/core/logs.py)
    return actor


CurrentUser = Annotated[Actor, Depends(get_current_user)]


def require_roles(*roles: str):  # type: ignore[no-untyped-def]
    """Build a dependency that admits only users holding one of the roles."""
    async def dep(actor: CurrentUser) -> Actor:
        if not actor.has_role(*roles):
            raise Forbidden("您没有执行此操作所需的角色", code="role_required", extra={"roles": list(roles)})
        return actor
    return Depends(dep)


AdminUser = Annotated[Actor, require_roles("admin")]
DesignerUser = Annotated[Actor, require_roles("designer", "admin")]
