"""Queries on regions, departments and users (flush, never commit)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import select
from sqlmodel import Session

from app.core.errors import NotFound
from app.org.models import Department, DepartmentKind, Region, User, UserRole


@dataclass(frozen=True)
class Actor:
    """The person acting, with what permission checks need (no lazy loads later)."""

    id: int
    username: str
    display_name: str
    department_id: int
    department_code: str
    department_name: str
    department_kind: str
    region_code: str
    level: str
    roles: frozenset[str]
    language: str = "zh"

    def has_role(self, *roles: str) -> bool:
        return bool(self.roles.intersection(roles))


class SystemActor:
    """Marker for work the service does by itself (scheduler, automatic grants)."""

    username = "system"


def get_region(*, session: Session, code: str) -> Region | None:
    """Return a region by its code."""
    return session.get(Region, code)


def get_department_by_code(*, session: Session, code: str) -> Department | None:
    """Return a department by its code."""
    return session.execute(select(Department).where(Department.code == code)).scalar_one_or_none()


def require_department(*, session: Session, code: str) -> Department:
    """Return a department by its code or raise NotFound."""
    dept = get_department_by_code(session=session, code=code)
    if dept is None:
        raise NotFound(f"部门“{code}”不存在", code="department_not_found")
    return dept


def level_of(*, session: Session, department: Department) -> str:
    """Return the administrative level of a department (its region's level)."""
    region = session.get(Region, department.region_code)
    assert region is not None  # FK guarantees it
    return region.level


def region_covers(*, session: Session, ancestor_code: str, code: str) -> bool:
    """Tell whether a region is the given one or lies inside it (county in city in province)."""
    current: str | None = code
    for _ in range(6):
        if current is None:
            return False
        if current == ancestor_code:
            return True
        current = session.execute(select(Region.parent_code).where(Region.code == current)).scalar_one_or_none()
    return False


def get_user_by_username(*, session: Session, username: str) -> User | None:
    """Return a user by username."""
    return session.execute(select(User).where(User.username == username)).scalar_one_or_none()


def roles_of(*, session: Session, user_id: int) -> frozenset[str]:
    """Return the roles a user holds."""
    rows = session.execute(select(UserRole.role).where(UserRole.user_id == user_id)).scalars().all()
    return frozenset(rows)


def load_actor(*, session: Session, user_id: int) -> Actor | None:
    """Build the Actor of an active user in one query plus roles."""
    row = session.execute(
        select(User, Department, Region)
        .join(Department, Department.id == User.department_id)
        .join(Region, Region.code == Department.region_code)
        .where(User.id == user_id, User.is_active.is_(True))
    ).first()
    if row is None:
        return None
    user, dept, region = row
    return Actor(id=user.id, username=user.username, display_name=user.display_name,
                 department_id=dept.id, department_code=dept.code, department_name=dept.name,
                 department_kind=dept.kind, region_code=region.code, level=region.level,
                 roles=roles_of(session=session, user_id=user.id), language=user.language)


class ActorCache:
    """Per-process cache of actors for a few seconds: every request needs one, few change.

    A role or department change reaches every replica within `ttl` seconds; a process that
    makes the change forgets the user at once. Freshness is judged on `seconds` (real monotonic time,
    never the business clock, which demo mode moves); tests hand in a clock they advance themselves.
    """

    def __init__(self, ttl: float = 10.0, seconds: Callable[[], float] = time.monotonic) -> None:
        self.ttl = ttl
        self.seconds = seconds
        self._items: dict[int, tuple[float, Actor]] = {}
        self._lock = threading.Lock()

    def cached(self, user_id: int) -> Actor | None:
        """Return the user's actor if the cache holds it fresh, else None (never reads the database)."""
        hit = self._items.get(user_id)
        if hit is not None and hit[0] > self.seconds():
            return hit[1]
        return None

    def get(self, session: Session, user_id: int) -> Actor | None:
        """Return the active user's actor, from the cache while it is fresh."""
        now = self.seconds()
        hit = self._items.get(user_id)
        if hit is not None and hit[0] > now:
            return hit[1]
        actor = load_actor(session=session, user_id=user_id)
        with self._lock:
            if actor is None:
                self._items.pop(user_id, None)
            else:
                self._items[user_id] = (now + self.ttl, actor)
        return actor

    def forget(self, user_id: int | None = None) -> None:
        """Drop one user, or everyone, from the cache."""
        with self._lock:
            if user_id is None:
                self._items.clear()
            else:
                self._items.pop(user_id, None)


def office_for(*, session: Session, region_code: str, kind: DepartmentKind) -> Department | None:
    """Return the (first active) department of a kind in a region, e.g. its government office."""
    return session.execute(
        select(Department).where(Department.region_code == region_code, Department.kind == kind.value,
                                 Department.is_active.is_(True)).order_by(Department.id)
    ).scalars().first()
