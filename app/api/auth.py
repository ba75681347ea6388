"""Log in (OAuth2 password flow) and who am I."""

from datetime import datetime, timezone
from typing import Annotated, Any

from fastapi import APIRouter, Depends
from fastapi.security import OAuth2PasswordRequestForm

from app.core.errors import NotAuthenticated
from app.core.security import create_access_token, verify_password
from app.deps import CurrentUser, RuntimeDep, SessionDep
from app.org.service import get_user_by_username

router = APIRouter(tags=["auth"])


def authenticate(session: SessionDep, username: str, password: str) -> int:
    """Return the user id for good credentials; the same 401 whichever part is wrong."""
    user = get_user_by_username(session=session, username=username)
    ok = verify_password(password, user.password_hash if user else None)
    if not ok or user is None or not user.is_active:
        raise NotAuthenticated("用户名或密码错误", code="bad_credentials")
    assert user.id is not None
    return user.id


@router.post("/auth/token")
def login(form: Annotated[OAuth2PasswordRequestForm, Depends()], session: SessionDep,
          rt: RuntimeDep) -> dict[str, Any]:
    """Exchange a username and password for a bearer token."""
    user_id = authenticate(session, form.username, form.password)
    # Token lifetimes run on real time, never on the demo clock.
    token = create_access_token(user_id=user_id, secret=rt.settings.secret_key,
                                now=datetime.now(timezone.utc),
                                minutes=rt.settings.access_token_minutes)
    return {"access_token": token, "token_type": "bearer",
            "expires_in": rt.settings.access_token_minutes * 60}


@router.get("/me")
def me(actor: CurrentUser) -> dict[str, Any]:
    """Return the current user, their department and roles."""
    return {
        "username": actor.username, "display_name": actor.display_name,
        "department": {"code": actor.department_code, "name": actor.department_name,
                       "kind": actor.department_kind, "level": actor.level, "region_code": actor.region_code},
        "roles": sorted(actor.roles),
    }
