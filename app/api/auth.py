"""Log in (OAuth2 password flow), log out, and who am I."""

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.security import OAuth2PasswordRequestForm

from app.auth import flows
from app.auth.models import SessionKind
from app.core.security import create_access_token
from app.deps import CurrentUser, RuntimeDep, SessionDep

router = APIRouter(tags=["auth"])


def client_address(request: Request) -> str | None:
    """Return the client's address (behind a proxy, uvicorn's --forwarded-allow-ips makes it the client's)."""
    return request.client.host if request.client else None


@router.post("/auth/token")
def login(request: Request, form: Annotated[OAuth2PasswordRequestForm, Depends()], session: SessionDep,
          rt: RuntimeDep) -> dict[str, Any]:
    """Exchange a username and password for a bearer token (429 `login_locked` after too many failures)."""
    row = flows.login(session, username=form.username, password=form.password,
                      client_address=client_address(request), kind=SessionKind.api, settings=rt.settings)
    token = create_access_token(user_id=row.user_id, session_id=row.id, secret=rt.settings.secret_key,
                                now=row.created_at, minutes=rt.settings.access_token_minutes)
    return {"access_token": token, "token_type": "bearer",
            "expires_in": rt.settings.access_token_minutes * 60}


@router.post("/auth/logout", status_code=204)
def logout(request: Request, actor: CurrentUser, session: SessionDep) -> None:
    """Revoke the session of this token (or page cookie): it is refused from now on, on every replica."""
    flows.logout(session, session_id=request.state.auth_session_id)


@router.post("/auth/logout-everywhere")
def logout_everywhere(actor: CurrentUser, session: SessionDep) -> dict[str, Any]:
    """Revoke every session of the current user: all their tokens and page logins, this one included."""
    return {"revoked": flows.logout_everywhere(session, user_id=actor.id, by=actor)}


@router.get("/me")
def me(actor: CurrentUser) -> dict[str, Any]:
    """Return the current user, their department and roles."""
    return {
        "username": actor.username, "display_name": actor.display_name,
        "department": {"code": actor.department_code, "name": actor.department_name,
                       "kind": actor.department_kind, "level": actor.level, "region_code": actor.region_code},
        "roles": sorted(actor.roles),
    }
