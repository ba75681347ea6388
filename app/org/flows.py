"""Use cases of the organisation area (one commit each)."""

from __future__ import annotations

import re

from pydantic import BaseModel, Field, field_validator
from sqlmodel import Session

from app.audit import service as audit
from app.core.clock import clock
from app.core.errors import Conflict, InvalidInput
from app.core.security import hash_password
from app.org import service
from app.org.models import Department, DepartmentKind, Role, User, UserRole
from app.org.service import Actor

USERNAME_RE = re.compile(r"^[A-Za-z0-9_.-]{3,64}$")


class DepartmentCreate(BaseModel):
    code: str = Field(min_length=2, max_length=64)
    name: str = Field(min_length=2, max_length=128)
    kind: DepartmentKind
    region_code: str = Field(min_length=6, max_length=12)


class UserCreate(BaseModel):
    username: str
    password: str = Field(min_length=8, max_length=128)
    display_name: str = Field(min_length=1, max_length=64)
    department_code: str
    roles: list[Role] = Field(min_length=1)

    @field_validator("username")
    @classmethod
    def _username(cls, v: str) -> str:
        if not USERNAME_RE.match(v):
            raise ValueError("用户名只能包含字母、数字、下划线、点和连字符，长度 3–64")
        return v


def create_department(session: Session, actor: Actor | str, data: DepartmentCreate) -> Department:
    """Create a department in a known region."""
    if service.get_region(session=session, code=data.region_code) is None:
        raise InvalidInput(f"行政区划代码“{data.region_code}”不存在", code="region_not_found")
    if service.get_department_by_code(session=session, code=data.code) is not None:
        raise Conflict(f"部门代码“{data.code}”已存在", code="department_exists")
    now = clock.now()
    dept = Department(code=data.code, name=data.name, kind=data.kind.value, region_code=data.region_code,
                      created_at=now)
    session.add(dept)
    session.flush()
    audit.append(session, at=now, actor=_name(actor), action="department.created", entity_type="department",
                 entity_id=dept.code, detail=data.model_dump(mode="json"))
    session.commit()
    return dept


def create_user(session: Session, actor: Actor | str, data: UserCreate) -> User:
    """Create a user with roles inside an existing department."""
    dept = service.require_department(session=session, code=data.department_code)
    if service.get_user_by_username(session=session, username=data.username) is not None:
        raise Conflict(f"用户名“{data.username}”已存在", code="user_exists")
    now = clock.now()
    user = User(username=data.username, password_hash=hash_password(data.password),
                display_name=data.display_name, department_id=dept.id, created_at=now)
    session.add(user)
    session.flush()
    for role in sorted(set(data.roles)):
        session.add(UserRole(user_id=user.id, role=role.value))
    audit.append(session, at=now, actor=_name(actor), action="user.created", entity_type="user",
                 entity_id=user.username,
                 detail={"department": dept.code, "roles": sorted(r.value for r in data.roles)})
    session.commit()
    return user


def _name(actor: Actor | str) -> str:
    return actor if isinstance(actor, str) else actor.username


def set_language(session: Session, actor: Actor, language: str) -> None:
    """Record the language a user reads the pages in (a personal preference: no audit event)."""
    from app.core.i18n import LANGUAGES

    if language not in LANGUAGES:
        raise InvalidInput("不支持该语言", code="language_unsupported", extra={"languages": list(LANGUAGES)})
    user = session.get(User, actor.id)
    if user is None:
        raise InvalidInput("用户不存在", code="user_not_found")
    user.language = language
    session.commit()
