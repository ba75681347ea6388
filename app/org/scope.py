"""Who may read a case: the one place the regulation's lines of sight are drawn.

Every area's `get_visible` asks `may_read_case` with the departments of its case, and answers an
out-of-scope object exactly like a missing one (`hidden`, a 404): ids are sequential, so a 403 would
tell an outsider which numbers exist.

- A department sees the cases it is a party to.
- A data authority (its authority reviewers) sees the cases of its level and of the levels below it,
  inside its area: its region covers the department's (a city's authority covers the city and its
  counties, never the province).
- A government's supervision office (督查室) sees the cases of its government's area, alike.
- A process designer works on definitions and trial runs (instances flagged `trial`, which reach no inbox,
  notification, supervision queue or statistic); with no case role it sees no case. Only designers and
  administrators see trial runs (app.tasks.service.may_read_instance).
- An administrator sees everything.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import select
from sqlmodel import Session

from app.core.errors import NotFound
from app.org.models import Department, DepartmentKind, Role
from app.org.service import Actor, region_covers

# Roles that work or oversee cases; a person holding none of them (a designer) reads no case.
CASE_ROLES = (Role.clerk.value, Role.reviewer.value, Role.head.value, Role.authority_reviewer.value,
              Role.supervisor.value, Role.admin.value)


def is_authority(actor: Actor) -> bool:
    """Tell whether the person reviews for a government-data authority (政务数据主管部门)."""
    return (actor.has_role(Role.authority_reviewer.value)
            and actor.department_kind == DepartmentKind.data_authority.value)


def is_overseer(actor: Actor) -> bool:
    """Tell whether the person oversees an area: an authority reviewer or a supervisor."""
    return is_authority(actor) or actor.has_role(Role.supervisor.value)


def works_cases(actor: Actor) -> bool:
    """Tell whether the person holds a role that works or oversees cases."""
    return actor.has_role(*CASE_ROLES)


def case_department(actor: Actor) -> int | None:
    """Return the department whose cases the person's lists show: their own, or None without a case role."""
    return actor.department_id if works_cases(actor) else None


def covers(*, session: Session, actor: Actor, department_ids: Iterable[int | None]) -> bool:
    """Tell whether an overseer's area (its region and the regions inside it) holds one of the departments."""
    if not is_overseer(actor):
        return False
    ids = {d for d in department_ids if d is not None}
    if not ids:
        return False
    regions = set(session.execute(select(Department.region_code).where(Department.id.in_(ids))).scalars().all())
    return any(region_covers(session=session, ancestor_code=actor.region_code, code=code) for code in regions)


def may_read_case(*, session: Session, actor: Actor, parties: Iterable[int | None],
                  overseen: Iterable[int | None] | None = None) -> bool:
    """Tell whether a person may read a case: a party's staff, an overseer whose area holds the overseen
    departments (by default the parties), an administrator."""
    if actor.has_role(Role.admin.value):
        return True
    if not works_cases(actor):
        return False
    party_ids = {d for d in parties if d is not None}
    if actor.department_id in party_ids:
        return True
    return covers(session=session, actor=actor, department_ids=party_ids if overseen is None else overseen)


def hidden(message: str, code: str) -> NotFound:
    """Return the error for an object that is missing or out of the person's sight (the same answer)."""
    return NotFound(message, code=code)
