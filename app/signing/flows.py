"""Administrators' use cases on signing keys (one commit each, with their audit events)."""

from __future__ import annotations

from sqlmodel import Session

from app.core.clock import clock
from app.core.config import Settings
from app.core.errors import Conflict, Forbidden, NotFound
from app.org import service as org_service
from app.org.models import Department, Role
from app.org.service import Actor
from app.signing import keys
from app.signing.models import SigningKey


def _admin_department(session: Session, actor: Actor, department_code: str) -> Department:
    if not actor.has_role(Role.admin.value):
        raise Forbidden("只有系统管理员可以管理签名密钥", code="admin_required")
    dept = org_service.get_department_by_code(session=session, code=department_code.strip())
    if dept is None or dept.id is None:
        raise NotFound(f"部门“{department_code[:64]}”不存在", code="department_not_found")
    return dept


def create_key(session: Session, settings: Settings, actor: Actor, department_code: str) -> SigningKey:
    """Create a department's first signing key (otherwise made on its first signature)."""
    dept = _admin_department(session, actor, department_code)
    if not dept.is_active:
        raise Conflict(f"{dept.name}已停用，不能生成签名密钥", code="department_inactive")
    key = keys.create(session, dept, settings, at=clock.now(), by=actor.username)
    if key is None:
        raise Conflict(f"{dept.name}已有现行签名密钥；如需更换请使用“更换密钥”", code="signing_key_exists")
    session.commit()
    return key


def rotate_key(session: Session, settings: Settings, actor: Actor, department_code: str
               ) -> tuple[SigningKey, SigningKey]:
    """Rotate a department's key: the new one signs from now on; the old one is retired and kept, so the
    documents it signed still verify."""
    dept = _admin_department(session, actor, department_code)
    pair = keys.rotate(session, dept, settings, at=clock.now(), by=actor.username)
    if pair is None:
        raise Conflict(f"{dept.name}尚无签名密钥，请先生成", code="signing_key_missing")
    session.commit()
    return pair
