"""Queries of the authority console: the disputes and rectification notices an authority oversees (its own
and those of the authorities below it in its area), filtered, ordered by their next deadline and paged in
SQL, with the counts shown above the list (read-only)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, String, Subquery, and_, case, func, literal, not_, or_, select
from sqlalchemy.orm import aliased
from sqlmodel import Session

from app.core import keyset
from app.core.errors import Forbidden, InvalidInput
from app.disputes.models import Dispute
from app.engine.models import Task, TaskStatus
from app.org.models import LEVEL_ZH, Department, DepartmentKind, Level, Region
from app.org.service import Actor, region_covers
from app.rectification.models import OPEN_STATUSES, RectificationNotice

KIND_ZH = {"dispute": "共享争议", "rectification_notice": "整改通知"}
STATE_ZH = {"open": "办理中", "closed": "已办结", "all": "全部"}
SORT_ZH = {"deadline": "按下一期限（已超期在前）", "-opened_at": "最新立案在前", "opened_at": "最早立案在前"}
_TRUE = ("1", "true", "on", "yes")
_FALSE = ("", "0", "false", "off", "no")


def may_use_console(actor: Actor) -> bool:
    """Tell whether the person works the console: an administrator, or a data authority's reviewer."""
    return actor.has_role("admin") or (actor.has_role("authority_reviewer")
                                       and actor.department_kind == DepartmentKind.data_authority.value)


def require_console_user(actor: Actor) -> None:
    """Refuse everyone but data authorities' reviewers and administrators (403)."""
    if not may_use_console(actor):
        raise Forbidden("只有政务数据主管部门的审核员和系统管理员可以使用主管部门工作台",
                        code="authority_console_forbidden")


@dataclass(frozen=True)
class CaseFilter:
    """What the console lists; `area_code` None is the whole service (an administrator)."""

    area_code: str | None
    kind: str | None = None
    state: str = "open"
    overdue: bool = False
    region_code: str | None = None
    level: str | None = None
    sort: str = "deadline"

    def query(self) -> dict[str, str]:
        """Return the filter as query parameters (for paging links), defaults left out."""
        params = {"kind": self.kind or "", "state": self.state, "overdue": "1" if self.overdue else "",
                  "region": self.region_code or "", "level": self.level or "", "sort": self.sort}
        return {k: v for k, v in params.items() if v and not (k == "state" and v == "open")
                and not (k == "sort" and v == "deadline")}


def parse_filter(*, session: Session, actor: Actor, kind: str | None = None, state: str | None = None,
                 overdue: str | None = None, region: str | None = None, level: str | None = None,
                 sort: str | None = None) -> CaseFilter:
    """Check the console's filters (an empty value means "any"); refuse a bad one in Chinese (422)."""
    errors: list[dict[str, str]] = []

    def bad(field: str, message: str) -> None:
        errors.append({"field": field, "message": message})

    kind, state, sort = (kind or "").strip(), (state or "").strip() or "open", (sort or "").strip() or "deadline"
    if kind and kind not in KIND_ZH:
        bad("kind", "案件类型必须是 dispute（共享争议）或 rectification_notice（整改通知）")
    if state not in STATE_ZH:
        bad("state", "办理状态必须是 open（办理中）、closed（已办结）或 all（全部）")
    if sort not in SORT_ZH:
        bad("sort", "排序方式必须是 deadline（按下一期限）、-opened_at（最新立案在前）或 opened_at（最早立案在前）")
    flag = (overdue or "").strip().lower()
    if flag not in _TRUE + _FALSE:
        bad("overdue", "“只看已超期”必须是 1（是）或 0（否）")
    level = (level or "").strip()
    if level and level not in Level.__members__:
        bad("level", "层级必须是 province（省级）、city（市级）或 county（县级）")
    area = None if actor.has_role("admin") else actor.region_code
    region = (region or "").strip()
    if region:
        found = session.get(Region, region) if len(region) <= 12 else None
        if found is None:
            bad("region", f"地区代码“{region[:20]}”不存在")
        elif area is not None and not region_covers(session=session, ancestor_code=area, code=region):
            bad("region", f"{found.name}不在本部门的管辖范围内，只能选择本级及下级地区")
    if errors:
        raise InvalidInput("筛选条件有误：" + "；".join(e["message"] for e in errors),
                           code="authority_filter_invalid", extra={"errors": errors})
    return CaseFilter(area_code=area, kind=kind or None, state=state, overdue=flag in _TRUE,
                      region_code=region or None, level=level or None, sort=sort)


def _in_area(region: Any, parent: Any, code: str) -> ColumnElement[bool]:
    # Regions nest three deep (province → city → county): a region lies in an area when the area is the
    # region itself, its parent or its grandparent. One join, no per-row walk up the tree.
    return or_(region.code == code, region.parent_code == code, parent.parent_code == code)


def _next_due(instance_id: Any) -> Any:
    """The earliest deadline that runs among an instance's open tasks (a paused task's does not)."""
    return (select(func.min(Task.due_at))
            .where(Task.instance_id == instance_id, Task.status == TaskStatus.open.value,
                   Task.due_at.is_not(None), Task.paused_at.is_(None))
            .scalar_subquery())


def _part(kind: str, model: Any, opened_at: Any, is_open: ColumnElement[bool], flt: CaseFilter,
          state: str) -> Any:
    authority, region, parent = aliased(Department), aliased(Region), aliased(Region)
    stmt = (
        select(literal(kind, String).label("kind"), model.id.label("id"),
               _next_due(model.instance_id).label("next_due"), opened_at.label("opened_at"),
               case((is_open, 1), else_=0).label("is_open"))
        .select_from(model)
        .join(authority, authority.id == model.authority_department_id)
        .join(region, region.code == authority.region_code)
        .outerjoin(parent, parent.code == region.parent_code)
    )
    if flt.area_code is not None:
        stmt = stmt.where(_in_area(region, parent, flt.area_code))
    if flt.region_code is not None:
        stmt = stmt.where(_in_area(region, parent, flt.region_code))
    if flt.level is not None:
        stmt = stmt.where(region.level == flt.level)
    if state == "open":
        stmt = stmt.where(is_open)
    elif state == "closed":
        stmt = stmt.where(not_(is_open))
    return stmt


def _cases(flt: CaseFilter, *, kind: str | None, state: str) -> Subquery:
    """One row per case in the area: kind, id, next deadline, opened at, open (1/0)."""
    parts: list[Any] = []
    if kind in (None, "dispute"):
        parts.append(_part("dispute", Dispute, Dispute.created_at, Dispute.closed_at.is_(None), flt, state))
    if kind in (None, "rectification_notice"):
        parts.append(_part("rectification_notice", RectificationNotice, RectificationNotice.issued_at,
                           RectificationNotice.status.in_([s.value for s in OPEN_STATUSES]), flt, state))
    first, *rest = parts
    cases: Subquery = (first.union_all(*rest) if rest else first).subquery("cases")
    return cases


def _overdue(cases: Subquery, now: datetime) -> ColumnElement[bool]:
    # A task is overdue once its due instant has passed (WorkdayCalendar.working_days_left < 0).
    return and_(cases.c.is_open == 1, cases.c.next_due < now)


# The cursor of each order: the sort key of the last case shown (its kind and id last).
DEADLINE_KEY = (int, keyset.Optional(datetime), int, datetime, str, int)
OPENED_KEY = (datetime, str, int)


def _order(sort: str, c: Any) -> list[tuple[Any, bool]]:
    """Return the console's order as (column, descending) over a case row's columns."""
    if sort == "deadline":
        # Overdue deadlines are the earliest, so they come first; then open cases whose deadline is
        # paused or not set; closed cases last, the latest first. The deadline is the earliest of a case's
        # running tasks, so no index serves this order: a page reads the area's cases and sorts them.
        return [(case((c.next_due.is_(None), 1), else_=0), False), (c.next_due, False), (c.is_open, True),
                (c.opened_at, True), (c.kind, False), (c.id, False)]
    # Opened at: each kind's branch is read from its index on the opening instant (ties by kind, then id).
    return [(c.opened_at, sort == "-opened_at"), (c.kind, False), (c.id, False)]


def get_page(*, session: Session, flt: CaseFilter, now: datetime, limit: int, offset: int = 0,
             cursor: str | None = None) -> tuple[int, list[tuple[str, int]], str | None]:
    """Return the number of matching cases (counted up to 100), one page of (kind, id) by next deadline by
    default, and the next page's cursor (None on the last page).

    Each kind is read as its own query, ordered like the page and cut after the cursor to the page's size
    (plus the offset of old callers, plus one); the two are then merged by the same order."""
    key = keyset.decode(cursor, DEADLINE_KEY if flt.sort == "deadline" else OPENED_KEY)
    if key is not None and key[-2] not in KIND_ZH:
        raise keyset.CursorInvalid()
    cases = _cases(flt, kind=flt.kind, state=flt.state)
    where = [_overdue(cases, now)] if flt.overdue else []
    total = keyset.capped_count(session, select(cases.c.id).where(*where))
    branches = []
    for kind in ([flt.kind] if flt.kind else list(KIND_ZH)):
        part = _cases(flt, kind=kind, state=flt.state)
        stmt = select(part).where(_overdue(part, now)) if flt.overdue else select(part)
        order = _order(flt.sort, part.c)
        if key is not None:
            columns = [kind if col is part.c.kind else col for col, _ in order]
            stmt = stmt.where(keyset.after_mixed(columns, key, [d for _, d in order]))
        stmt = stmt.order_by(*(col.desc() if d else col for col, d in order)).limit(offset + limit + 1)
        branches.append(select(stmt.subquery()))
    first, *rest = branches
    merged = (first.union_all(*rest) if rest else first).subquery("page")
    order = _order(flt.sort, merged.c)
    rows = session.execute(select(merged).order_by(*(col.desc() if d else col for col, d in order))
                           .limit(limit + 1).offset(offset)).all()

    def sort_key(row: Any) -> tuple[Any, ...]:
        if flt.sort == "deadline":
            return (1 if row.next_due is None else 0, row.next_due, row.is_open, row.opened_at, row.kind, row.id)
        return (row.opened_at, row.kind, row.id)

    shown, next_cursor = keyset.page(rows, limit, sort_key)
    return total, [(str(r.kind), int(r.id)) for r in shown], next_cursor


def summary(*, session: Session, flt: CaseFilter, now: datetime) -> dict[str, int]:
    """Count the open disputes, open notices and overdue cases of the area (region and level filters apply),
    each counted up to 100 (shown as "99+"), in one statement."""

    def count(kind: str | None, *conds: Any) -> Any:
        cases = _cases(flt, kind=kind, state="all")
        found = select(cases.c.id).where(*(c(cases) for c in conds)).limit(keyset.COUNT_CAP).subquery()
        return select(func.count()).select_from(found).scalar_subquery()

    def is_open(c: Subquery) -> ColumnElement[bool]:
        return c.c.is_open == 1

    def late(c: Subquery) -> ColumnElement[bool]:
        return _overdue(c, now)

    row = session.execute(select(
        count("dispute", is_open), count("rectification_notice", is_open),
        count(None, late), count("dispute", late), count("rectification_notice", late),
    )).one()
    keys = ("open_disputes", "open_notices", "overdue", "overdue_disputes", "overdue_notices")
    return {k: int(v) for k, v in zip(keys, row, strict=True)}


def region_options(*, session: Session, actor: Actor) -> list[dict[str, str]]:
    """List the regions of the area that have a data authority (the choices of the region filter)."""
    region, parent = aliased(Region), aliased(Region)
    stmt = (select(region.code, region.name, region.level).distinct()
            .join(Department, and_(Department.region_code == region.code,
                                   Department.kind == DepartmentKind.data_authority.value))
            .outerjoin(parent, parent.code == region.parent_code))
    if not actor.has_role("admin"):
        stmt = stmt.where(_in_area(region, parent, actor.region_code))
    rows = session.execute(stmt.order_by(region.code)).all()
    return [{"code": code, "name": name, "level": level, "label": f"{name}（{LEVEL_ZH[Level(level)]}）"}
            for code, name, level in rows]


def level_options(actor: Actor) -> list[dict[str, str]]:
    """List the levels at and below the person's (all three for an administrator)."""
    levels = list(Level)
    start = 0 if actor.has_role("admin") or actor.level not in Level.__members__ else levels.index(Level(actor.level))
    return [{"level": lv.value, "label": LEVEL_ZH[lv]} for lv in levels[start:]]
