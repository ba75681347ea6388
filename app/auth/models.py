"""Server-side sessions (page cookies and API tokens) and login-failure counters."""

from datetime import datetime
from enum import StrEnum

from sqlmodel import Field, SQLModel

from app.core.types import UTCDateTime


class SessionKind(StrEnum):
    page = "page"
    api = "api"


class UserSession(SQLModel, table=True):
    """One login: a page cookie or an API token carries its random id; logout revokes the row.

    Every authenticated request reads this row by its primary key, so a revoked or expired session
    stops working at once on every replica (the signed cookie or token alone is not enough).
    """

    __tablename__ = "user_session"

    id: str = Field(primary_key=True, max_length=64)
    user_id: int = Field(foreign_key="app_user.id", index=True)
    kind: str = Field(max_length=8)
    created_at: datetime = Field(sa_type=UTCDateTime)
    expires_at: datetime = Field(sa_type=UTCDateTime)
    revoked_at: datetime | None = Field(default=None, sa_type=UTCDateTime, nullable=True)
    client_address: str | None = Field(default=None, max_length=64)


class ThrottleScope(StrEnum):
    account = "account"
    address = "address"
    client = "client"  # a system client (app/usage/auth.py) by its code


class LoginThrottle(SQLModel, table=True):
    """Failed logins of one account name or one client address in the current window, and any lockout.

    A table, not process memory: every web replica counts into the same rows.
    """

    __tablename__ = "login_throttle"

    scope: str = Field(primary_key=True, max_length=8)
    key: str = Field(primary_key=True, max_length=128)
    failures: int = 0
    window_started_at: datetime = Field(sa_type=UTCDateTime)
    locked_until: datetime | None = Field(default=None, sa_type=UTCDateTime, nullable=True)
