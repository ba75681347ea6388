"""Queries on the usage log (Art. 12): volumes per department and year, usage over time, the last events,
flags, and the system clients that report (flush, never commit)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

from sqlalchemy import ColumnElement, func, select
from sqlmodel import Session

from app.core import keyset
from app.core.clock import SHANGHAI
from app.org.models import Department
from app.org.scope import hidden, may_read_case
from app.org.service import Actor
from app.sharing.models import ShareGrant, ShareRequest
from app.usage.models import SystemClient, UsageEvent, UsageFlag

E = UsageEvent
SIDES = ("provided", "obtained")
VOLUME_KEYS = ("provided_events", "provided_rows", "provided_calls", "obtained_events", "obtained_rows",
               "obtained_calls", "flagged")
EVENT_PAGE = 50
# The sort key of an event list: newest use first, then the reporting system and its id.
EVENT_KEY_KINDS = (datetime, int, str)


def year_bounds(year: int) -> tuple[datetime, datetime]:
    """Return the instants a calendar year in Asia/Shanghai starts and ends (end exclusive)."""
    return datetime(year, 1, 1, tzinfo=SHANGHAI), datetime(year + 1, 1, 1, tzinfo=SHANGHAI)


def month_start(day: date, delta: int = 0) -> date:
    """Return the first day of the month `delta` months after the one holding `day`."""
    index = day.year * 12 + day.month - 1 + delta
    return date(index // 12, index % 12 + 1, 1)


def shanghai_midnight(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=SHANGHAI)


def volume_by_department(session: Session, year: int, department_ids: list[int] | None = None
                         ) -> dict[int, dict[str, int]]:
    """Per department id: {"provided_events", "provided_rows", "provided_calls",
    "obtained_events", "obtained_rows", "obtained_calls", "flagged"} over events whose time of use
    falls in the calendar year (Asia/Shanghai dates). Departments without events are absent.
    department_ids=None means all. One or two grouped SQL statements, index-served.

    `flagged` counts the flagged events of a department as the using (consuming) department, so that a
    level's total is the sum of its departments' rows (counted on both sides, each event would count
    twice). On PostgreSQL the year's range prunes the scan to its twelve monthly partitions.
    """
    if department_ids is not None and not department_ids:
        return {}
    start, end = year_bounds(year)
    result: dict[int, dict[str, int]] = {}
    for side, column in zip(SIDES, (E.provider_department_id, E.consumer_department_id), strict=True):
        stmt = (select(column, func.count(), func.coalesce(func.sum(E.row_count), 0),
                       func.coalesce(func.sum(E.call_count), 0), func.count(E.flags))
                .where(E.occurred_at >= start, E.occurred_at < end).group_by(column))
        if department_ids is not None:
            stmt = stmt.where(column.in_(sorted(set(department_ids))))
        for department_id, events, rows, calls, flagged in session.execute(stmt):
            volume = result.setdefault(department_id, dict.fromkeys(VOLUME_KEYS, 0))
            volume[f"{side}_events"] = int(events)
            volume[f"{side}_rows"] = int(rows)
            volume[f"{side}_calls"] = int(calls)
            if side == "obtained":
                volume["flagged"] = int(flagged)
    return result


def _month_of(session: Session) -> Any:
    """Return the SQL expression of an event's month of use in Asia/Shanghai, as 'YYYY-MM'."""
    if session.get_bind().dialect.name == "postgresql":
        return func.to_char(func.timezone("Asia/Shanghai", E.occurred_at), "YYYY-MM")
    return func.strftime("%Y-%m", E.occurred_at, "+8 hours")  # SQLite keeps UTC without a zone


def monthly(session: Session, where: Sequence[ColumnElement[bool]], *, until: date, months: int = 12
            ) -> list[dict[str, Any]]:
    """Return the events, rows, calls and flagged events per month (Asia/Shanghai) of the `months` months
    that end with the one holding `until`, oldest first; months without use count zero."""
    first = month_start(until, -(months - 1))
    start, end = shanghai_midnight(first), shanghai_midnight(month_start(until, 1))
    month = _month_of(session)
    found = {m: (n, r, c, f) for m, n, r, c, f in session.execute(
        select(month, func.count(), func.coalesce(func.sum(E.row_count), 0), func.coalesce(func.sum(E.call_count), 0),
               func.count(E.flags))
        .where(*where, E.occurred_at >= start, E.occurred_at < end).group_by(month))}
    series = []
    for i in range(months):
        key = f"{month_start(first, i):%Y-%m}"
        n, r, c, f = found.get(key, (0, 0, 0, 0))
        series.append({"month": key, "events": int(n), "rows": int(r), "calls": int(c), "flagged": int(f)})
    return series


def events_page(session: Session, where: Sequence[ColumnElement[bool]], *, limit: int = EVENT_PAGE,
                cursor: str | None = None) -> tuple[list[UsageEvent], str | None]:
    """Return one page of events, newest use first, and the next page's cursor (None on the last page)."""
    columns = (E.occurred_at, E.system_client_id, E.event_id)
    stmt = select(E).where(*where)
    after = keyset.decode(cursor, EVENT_KEY_KINDS)
    if after is not None:
        stmt = stmt.where(keyset.after(columns, after, desc=True))
    rows = list(session.execute(stmt.order_by(*(c.desc() for c in columns)).limit(limit + 1)).scalars())
    return keyset.page(rows, limit, lambda e: (e.occurred_at, e.system_client_id, e.event_id))


def all_events(session: Session, where: Sequence[ColumnElement[bool]], *, start: datetime, end: datetime,
               chunk: int = 5000) -> Any:
    """Yield the events of a period, newest first, reading `chunk` rows at a time (exports)."""
    cursor = None
    while True:
        rows, cursor = events_page(session, [*where, E.occurred_at >= start, E.occurred_at < end],
                                   limit=chunk, cursor=cursor)
        yield from rows
        if cursor is None:
            return


def of_grant(grant_id: int) -> list[ColumnElement[bool]]:
    return [E.grant_id == grant_id]


def of_department(department_id: int, side: str | None = None) -> list[ColumnElement[bool]]:
    """Return the condition "the department provided (or obtained, or either) the data"."""
    if side == "provided":
        return [E.provider_department_id == department_id]
    if side == "obtained":
        return [E.consumer_department_id == department_id]
    return [(E.provider_department_id == department_id) | (E.consumer_department_id == department_id)]


def get_visible_grant(*, session: Session, grant_id: int, actor: Actor) -> tuple[ShareGrant, ShareRequest]:
    """Return a grant (with its request) whose usage the person may read, or 404 alike for a missing or
    hidden one: the two departments; an authority or supervisor whose area holds one of them; an admin."""
    row = session.execute(select(ShareGrant, ShareRequest).join(
        ShareRequest, ShareRequest.id == ShareGrant.share_request_id).where(ShareGrant.id == grant_id)).one_or_none()
    if row is None or not may_read_case(session=session, actor=actor,
                                        parties=(row[0].provider_department_id, row[0].consumer_department_id)):
        raise hidden("共享授权不存在", code="grant_not_found")
    return row[0], row[1]


def get_visible_department(*, session: Session, department_id: int, actor: Actor) -> Department:
    """Return a department whose usage the person may read (its own staff, its overseers, an admin), else 404."""
    department = session.get(Department, department_id)
    if department is None or not may_read_case(session=session, actor=actor, parties=(department_id,)):
        raise hidden("部门不存在", code="department_not_found")
    return department


def grants_of_department(session: Session, department_id: int, limit: int = 200) -> list[dict[str, Any]]:
    """Return a department's grants (as provider or consumer), newest first, with their event totals."""
    grants = list(session.execute(
        select(ShareGrant).where((ShareGrant.provider_department_id == department_id)
                                 | (ShareGrant.consumer_department_id == department_id))
        .order_by(ShareGrant.id.desc()).limit(limit)).scalars())
    totals = {g: (n, r, c, f) for g, n, r, c, f in session.execute(
        select(E.grant_id, func.count(), func.coalesce(func.sum(E.row_count), 0),
               func.coalesce(func.sum(E.call_count), 0), func.count(E.flags))
        .where(E.grant_id.in_([g.id for g in grants])).group_by(E.grant_id))} if grants else {}
    return [{"grant": g, "events": int(totals.get(g.id, (0,))[0]), "rows": int(totals.get(g.id, (0, 0))[1]),
             "calls": int(totals.get(g.id, (0, 0, 0))[2]), "flagged": int(totals.get(g.id, (0, 0, 0, 0))[3])}
            for g in grants]


def flags_of(session: Session, *, grant_id: int | None = None, department_id: int | None = None,
             limit: int = 50) -> list[UsageFlag]:
    """Return the newest flags of a grant or of a department (either side)."""
    stmt = select(UsageFlag)
    if grant_id is not None:
        stmt = stmt.where(UsageFlag.grant_id == grant_id)
    if department_id is not None:
        stmt = stmt.where((UsageFlag.provider_department_id == department_id)
                          | (UsageFlag.consumer_department_id == department_id))
    return list(session.execute(stmt.order_by(UsageFlag.id.desc()).limit(limit)).scalars())


def get_client_by_code(*, session: Session, code: str) -> SystemClient | None:
    """Return a system client by its code."""
    return session.execute(select(SystemClient).where(SystemClient.code == code)).scalar_one_or_none()


def all_clients(session: Session) -> list[SystemClient]:
    """Return every system client, newest first."""
    return list(session.execute(select(SystemClient).order_by(SystemClient.id.desc())).scalars())


def departments_by_id(session: Session, ids: set[int]) -> dict[int, Department]:
    if not ids:
        return {}
    return {d.id: d for d in session.execute(select(Department).where(Department.id.in_(ids))).scalars()
            if d.id is not None}


def shanghai_day(at: datetime) -> date:
    return at.astimezone(SHANGHAI).date()


def retention_cutoff(now: datetime) -> datetime:
    """Return the first instant whose events must still be kept (Art. 12: at least 24 months): the start of
    the Asia/Shanghai month 24 months before this one, so whole months are archived together."""
    return shanghai_midnight(month_start(shanghai_day(now), -24))

