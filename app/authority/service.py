"""Queries of the authority console: the disputes and rectification notices an authority oversees (its own
and those of the authorities below it in its area), filtered, ordered by their next deadline and paged in
SQL, with the counts shown above the list (read-only)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, and_, case, false, func, literal, or_, select, true
from sqlalchemy.orm import aliased
from sqlmodel import Session

from app.core import keyset
from app.core.errors import Forbidden, InvalidInput
from app.disputes.models import Dispute
from app.org.models import LEVEL_ZH, Department, DepartmentKind, Level, Region
from app.org.service import Actor, region_covers
from app.rectification.models import RectificationNotice

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


def authorities_in_scope(session: Session, flt: CaseFilter) -> list[int] | None:
    """Return the data authorities whose cases the filter covers (area, region, level), None for every one.

    Read once per request (a few hundred rows at most: one authority per region; kept in the session), so
    that the case queries filter on their own column instead of joining departments and regions per row."""
    if flt.area_code is None and flt.region_code is None and flt.level is None:
        return None
    memo = session.info.setdefault("authority_console_scope", {})
    scope = (flt.area_code, flt.region_code, flt.level)
    if scope not in memo:
        region, parent = aliased(Region), aliased(Region)
        conds: list[ColumnElement[bool]] = [_in_area(region, parent, code)
                                            for code in (flt.area_code, flt.region_code) if code is not None]
        if flt.level is not None:
            conds.append(region.level == flt.level)
        rows = session.execute(
            select(Department.id, case((and_(*conds), 1), else_=0))
            .join(region, region.code == Department.region_code)
            .outerjoin(parent, parent.code == region.parent_code)
            .where(Department.kind == DepartmentKind.data_authority.value)).all()
        # Every authority of the service (the province's, with no region or level chosen): no filter at all.
        memo[scope] = None if all(inside for _, inside in rows) else sorted(i for i, inside in rows if inside)
    return None if memo[scope] is None else list(memo[scope])


# Each kind's table, the column of its opening instant.
_TABLES: dict[str, tuple[Any, Any]] = {"dispute": (Dispute, Dispute.created_at),
                                       "rectification_notice": (RectificationNotice, RectificationNotice.issued_at)}

# The deadline order in segments, each read from an index of its own (ties by kind, then id):
# 0 open cases whose deadline runs (next_due_at, newest first), overdue ones first by nature;
# 1 open cases whose deadline is paused or not set (newest first); 2 closed cases (newest first).
SEGMENTS = {"open": (0, 1), "closed": (2,), "all": (0, 1, 2)}
DEADLINE_KEY = (int, keyset.Optional(datetime), datetime, str, int)
OPENED_KEY = (datetime, str, int)


def _scoped(model: Any, authorities: list[int] | None, sqlite: bool = False) -> ColumnElement[bool]:
    if authorities is None:
        return true()
    if not authorities:
        return false()
    if len(authorities) == 1:
        # One authority (a county's, or a city's with none below it): its own index serves the order.
        return model.authority_department_id == authorities[0]
    if sqlite:
        # Several, on SQLite (no statistics): read the open cases in order from the index of the whole service
        # and keep those of the area ("+ 0" keeps it from taking the per-authority index and sorting).
        return (model.authority_department_id + 0).in_(authorities)
    # PostgreSQL weighs, from its statistics, reading the whole service's index in order and keeping the
    # area's cases against reading the area's cases from the per-authority index and sorting the few found.
    return model.authority_department_id.in_(authorities)


def scope_filter(session: Session, flt: CaseFilter) -> Any:
    """Return model -> the condition "handled by an authority of the filter's scope"."""
    authorities = authorities_in_scope(session, flt)
    sqlite = session.get_bind().dialect.name == "sqlite"
    return lambda model: _scoped(model, authorities, sqlite)


def _segment(model: Any, segment: int, flt: CaseFilter, now: datetime) -> list[ColumnElement[bool]]:
    if segment == 2:
        return [model.closed_at.is_not(None)]
    if segment == 1:
        return [model.closed_at.is_(None), model.next_due_at.is_(None)]
    found = [model.closed_at.is_(None), model.next_due_at.is_not(None)]
    return found + [model.next_due_at < now] if flt.overdue else found


def _segments(flt: CaseFilter) -> tuple[int, ...]:
    if flt.overdue:  # only a running deadline can be overdue
        return () if flt.state == "closed" else (0,)
    return SEGMENTS[flt.state]


def _state(model: Any, flt: CaseFilter, now: datetime) -> list[ColumnElement[bool]]:
    """The cases of the chosen state (and overdue), for the opened-at orders and the count."""
    if flt.overdue:
        return _segment(model, 0, flt, now) if flt.state != "closed" else [false()]
    return {"open": [model.closed_at.is_(None)], "closed": [model.closed_at.is_not(None)], "all": []}[flt.state]


def _deadline_branches(kind: str, flt: CaseFilter, scoped: Any, now: datetime,
                       key: list[Any] | None, need: int) -> list[Any]:
    """One query per segment of one kind, after the cursor in the deadline order, cut to `need` rows."""
    model, opened = _TABLES[kind]
    branches = []
    for segment in _segments(flt):
        if key is not None and segment < key[0]:
            continue
        stmt = (select(literal(segment).label("segment"), model.id.label("id"),
                       model.next_due_at.label("next_due"), opened.label("opened_at"))
                .where(scoped(model), *_segment(model, segment, flt, now)))
        if segment == 0:
            order, desc = [model.next_due_at, opened, model.id], [False, True, False]
        else:
            order, desc = [opened, model.id], [True, False]
        if key is not None and segment == key[0]:
            values = [key[1], key[2], key[3], key[4]] if segment == 0 else [key[2], key[3], key[4]]
            columns = order[:-1] + [kind, model.id]
            stmt = stmt.where(keyset.after_mixed(columns, values, desc[:-1] + [False, False]))
        branches.append(stmt.order_by(*(c.desc() if d else c for c, d in zip(order, desc, strict=True)))
                        .limit(need))
    return branches


def _opened_branch(kind: str, flt: CaseFilter, scoped: Any, now: datetime,
                   key: list[Any] | None, need: int) -> Any:
    """The cases of one kind after the cursor by their opening instant, cut to `need` rows."""
    model, opened = _TABLES[kind]
    desc = flt.sort == "-opened_at"
    stmt = (select(literal(0).label("segment"), model.id.label("id"), model.next_due_at.label("next_due"),
                   opened.label("opened_at"))
            .where(scoped(model), *_state(model, flt, now)))
    if key is not None:
        stmt = stmt.where(keyset.after_mixed([opened, kind, model.id], key, [desc, False, False]))
    return stmt.order_by(opened.desc() if desc else opened, model.id).limit(need)


def get_page(*, session: Session, flt: CaseFilter, now: datetime, limit: int, offset: int = 0,
             cursor: str | None = None) -> tuple[list[tuple[str, int]], str | None]:
    """Return one page of (kind, id), by next deadline by default, and the next page's cursor (None on the
    last page), in one statement.

    Each kind (and each segment of the deadline order) is read from the index of its order, cut after the
    cursor to the page's size (plus the offset of old callers, plus one); the parts are merged here."""
    deadline = flt.sort == "deadline"
    key = keyset.decode(cursor, DEADLINE_KEY if deadline else OPENED_KEY)
    if key is not None and (key[-2] not in KIND_ZH or (deadline and key[0] not in (0, 1, 2))):
        raise keyset.CursorInvalid()
    scoped = scope_filter(session, flt)
    need = offset + limit + 1
    parts: list[tuple[str, Any]] = []
    for kind in ([flt.kind] if flt.kind else list(KIND_ZH)):
        if deadline:
            parts += [(kind, b) for b in _deadline_branches(kind, flt, scoped, now, key, need)]
        else:
            parts.append((kind, _opened_branch(kind, flt, scoped, now, key, need)))
    if not parts:
        return [], None
    tagged = [select(literal(kind).label("kind"), b.subquery()) for kind, b in parts]
    first, *rest = tagged
    found = session.execute(first.union_all(*rest) if rest else first).all()
    if deadline:
        rows = [(int(r.segment), r.next_due if r.segment == 0 else None, r.opened_at, str(r.kind), int(r.id))
                for r in found]
        rows.sort(key=lambda r: (r[0], r[1].timestamp() if r[1] else 0.0, -r[2].timestamp(), r[3], r[4]))
    else:
        sign = -1 if flt.sort == "-opened_at" else 1
        rows = sorted(((r.opened_at, str(r.kind), int(r.id)) for r in found),
                      key=lambda r: (sign * r[0].timestamp(), r[1], r[2]))
    shown, next_cursor = keyset.page(rows[offset:offset + limit + 1], limit, lambda r: r)
    return [(r[-2], r[-1]) for r in shown], next_cursor


def counts(*, session: Session, flt: CaseFilter, now: datetime) -> tuple[int, dict[str, int]]:
    """Count the cases the list shows, and the open disputes, open notices and overdue cases of the area
    (region and level filters apply, not kind or state), each up to 100 (shown as "99+"), in one statement;
    the area's counts read the open cases' index."""
    scoped = scope_filter(session, flt)

    def capped(stmt: Any) -> Any:
        return select(func.count()).select_from(stmt.limit(keyset.COUNT_CAP).subquery()).scalar_subquery()

    def area_open(model: Any, *conds: ColumnElement[bool]) -> Any:
        return capped(select(model.id).where(scoped(model), model.closed_at.is_(None), *conds))

    def late(model: Any) -> ColumnElement[bool]:
        return and_(model.next_due_at.is_not(None), model.next_due_at < now)

    listed = [select(_TABLES[k][0].id).where(scoped(_TABLES[k][0]), *_state(_TABLES[k][0], flt, now))
              for k in ([flt.kind] if flt.kind else list(KIND_ZH))]
    first, *rest = listed
    row = session.execute(select(
        capped(first.union_all(*rest) if rest else first),
        area_open(Dispute), area_open(RectificationNotice), area_open(Dispute, late(Dispute)),
        area_open(RectificationNotice, late(RectificationNotice)),
    )).one()
    total, disputes, notices, late_disputes, late_notices = (int(v) for v in row)
    # Each part is capped at 100, so their sum capped at 100 is the capped count of both.
    return total, {"open_disputes": disputes, "open_notices": notices,
                   "overdue": min(keyset.COUNT_CAP, late_disputes + late_notices),
                   "overdue_disputes": late_disputes, "overdue_notices": late_notices}


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
