"""The figures of the yearly evaluation (Art. 18), computed by grouped SQL over each area's records.

Each figure is counted per department by one grouped query per area (never a loop over the year's rows);
a level's totals are the sums of its departments' rows, since every record belongs to exactly one
department on the side it is counted for. The year runs from 1 January 00:00 to 1 January 00:00 of the
next year, Asia/Shanghai.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import Date, and_, case, cast, column, func, literal, or_, select, values
from sqlalchemy.sql.elements import ColumnElement
from sqlmodel import Session

from app.catalog.models import CatalogEntry, ShareType
from app.core.clock import SHANGHAI
from app.core.errors import InvalidInput, NotFound
from app.core.types import UTCDateTime
from app.disputes.models import Dispute
from app.open_data.models import OpenList, OpenListItem, OpenListStatus
from app.org.models import Department, DepartmentKind, Region
from app.rectification.models import NoticeStatus, RectificationNotice
from app.sharing.models import ShareRequest, ShareRequestStatus
from app.supervision.models import ItemState, SupervisionItem
from app.usage.service import volume_by_department
from app.workdays.calendar import WorkdayCalendar

# Every figure of a department's row, in the order the tables and exports show them.
FIGURES: tuple[str, ...] = (
    "catalog_unconditional", "catalog_conditional", "catalog_not_shared",
    "catalog_restricted_with_basis", "catalog_restricted_without_basis",
    "requests_received", "requests_made",
    "replies_due", "replies_on_time", "replies_late", "replies_pending",
    "refused", "refused_with_basis", "refused_without_basis",
    "disputes_as_provider", "disputes_as_requester", "disputes_open", "disputes_settled",
    "disputes_adjudicated_share", "disputes_adjudicated_not_share", "disputes_complied",
    "escalations", "escalations_open",
    "notices_received", "notices_open", "notices_accepted", "notices_exempted", "notices_withdrawn",
    "open_items_published", "open_items_unconditional", "open_items_conditional", "open_items_not_open",
    "provided_events", "provided_rows", "provided_calls", "obtained_events", "obtained_rows", "obtained_calls",
    "flagged",
)
VOLUME_FIGURES = ("provided_events", "provided_rows", "provided_calls", "obtained_events", "obtained_rows",
                  "obtained_calls", "flagged")

FIGURE_ZH: dict[str, str] = {
    "catalog_unconditional": "目录条目：无条件共享",
    "catalog_conditional": "目录条目：有条件共享",
    "catalog_not_shared": "目录条目：不予共享",
    "catalog_restricted_with_basis": "有条件/不予共享条目：列明依据",
    "catalog_restricted_without_basis": "有条件/不予共享条目：未列明依据",
    "requests_received": "收到的共享申请",
    "requests_made": "提出的共享申请",
    "replies_due": "应答复的申请",
    "replies_on_time": "5个工作日内答复",
    "replies_late": "逾期答复或逾期未答复",
    "replies_pending": "审核中（未到期）",
    "on_time_rate": "按时答复率（%）",
    "refused": "不予共享的申请",
    "refused_with_basis": "拒绝：有依据",
    "refused_without_basis": "拒绝：无依据",
    "disputes_as_provider": "争议（作为提供部门）",
    "disputes_as_requester": "争议（作为使用部门）",
    "disputes_open": "争议：处理中",
    "disputes_settled": "争议：协商一致",
    "disputes_adjudicated_share": "争议：评判予以共享",
    "disputes_adjudicated_not_share": "争议：评判不予共享",
    "disputes_complied": "争议：评判已落实",
    "escalations": "提交督查督办",
    "escalations_open": "督办中",
    "notices_received": "收到的整改通知",
    "notices_open": "整改通知：整改中",
    "notices_accepted": "整改通知：核验通过",
    "notices_exempted": "整改通知：免责办结",
    "notices_withdrawn": "整改通知：已撤回",
    "open_items_published": "开放清单已公布数据",
    "open_items_unconditional": "开放清单：无条件开放",
    "open_items_conditional": "开放清单：有条件开放",
    "open_items_not_open": "开放清单：不予开放",
    "provided_events": "提供数据：次数",
    "provided_rows": "提供数据：条数",
    "provided_calls": "提供数据：调用次数",
    "obtained_events": "获取数据：次数",
    "obtained_rows": "获取数据：条数",
    "obtained_calls": "获取数据：调用次数",
    "flagged": "异常使用（作为使用部门）",
}

MIN_YEAR, MAX_YEAR = 2000, 2100


@dataclass(frozen=True)
class Area:
    """The level a report covers: a region and every region under it."""

    region: Region
    codes: tuple[str, ...]


def year_bounds(year: int) -> tuple[datetime, datetime]:
    """Return the first instant of the year and of the next one, Asia/Shanghai."""
    return datetime(year, 1, 1, tzinfo=SHANGHAI), datetime(year + 1, 1, 1, tzinfo=SHANGHAI)


def check_year(year: int) -> int:
    """Return the year if a report may speak of it, else raise InvalidInput."""
    if not MIN_YEAR <= year <= MAX_YEAR:
        raise InvalidInput(f"年度须在 {MIN_YEAR}–{MAX_YEAR} 之间", code="report_year_invalid")
    return year


def get_area(*, session: Session, region_code: str) -> Area:
    """Return the region with every region under it, or raise NotFound."""
    regions = session.execute(select(Region.code, Region.parent_code)).all()
    region = session.get(Region, region_code)
    if region is None:
        raise NotFound(f"行政区划“{region_code}”不存在", code="region_not_found")
    children: dict[str | None, list[str]] = {}
    for code, parent in regions:
        children.setdefault(parent, []).append(code)
    codes, todo = [], [region_code]
    while todo:
        code = todo.pop()
        codes.append(code)
        todo.extend(children.get(code, []))
    return Area(region=region, codes=tuple(sorted(codes)))


def authority_of(*, session: Session, region_code: str) -> Department | None:
    """Return the data authority of a level (the first active one of its region)."""
    return session.execute(
        select(Department).where(Department.region_code == region_code,
                                 Department.kind == DepartmentKind.data_authority.value,
                                 Department.is_active.is_(True)).order_by(Department.id)).scalars().first()


def _due_days(calendar: WorkdayCalendar, year: int, working_days: int) -> tuple[Any, bool]:
    """A VALUES table (day, due_at): the reply deadline of a request received that day (Asia/Shanghai).

    Art. 16: the provider replies within 5 working days; the deadline is computed on the statutory
    calendar exactly as for the review task (receipt day not counted, 24:00 of the N-th working day).
    One row per day of the year, so the deadline of a million requests is a hash join, not a loop.
    """
    start = date(year, 1, 1)
    rows, provisional = [], False
    for offset in range((date(year + 1, 1, 1) - start).days):
        day = start + timedelta(days=offset)
        deadline = calendar.add_working_days(datetime(day.year, day.month, day.day, 12, tzinfo=SHANGHAI),
                                             working_days)
        provisional = provisional or deadline.provisional
        rows.append((day, deadline.due_at))
    table = values(column("day", Date()), column("due_at", UTCDateTime()), name="report_due_day").data(rows)
    return table.cte("report_due_day"), provisional


def _shanghai_day(session: Session, at: Any) -> Any:
    """The Asia/Shanghai date of a stored instant, in SQL (UTC+8 all year: China keeps no daylight time)."""
    if session.get_bind().dialect.name == "postgresql":
        return cast(func.timezone("Asia/Shanghai", at), Date)
    return func.date(at, "+8 hours")


def _count(condition: ColumnElement[bool]) -> Any:
    return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)


def _filled(value: Any) -> ColumnElement[bool]:
    """Text a person wrote: present and not blank."""
    return and_(value.is_not(None), func.trim(value) != "")


def _merge(rows: dict[int, dict[str, int]], result: Any, names: tuple[str, ...]) -> None:
    for row in result:
        target = rows.setdefault(int(row[0]), {})
        for name, value in zip(names, row[1:]):
            target[name] = target.get(name, 0) + int(value or 0)


def compute(session: Session, calendar: WorkdayCalendar, *, year: int, region_code: str, as_of: datetime,
            reply_working_days: int = 5, department_id: int | None = None) -> dict[str, Any]:
    """Compute a level's report for a year: per department rows and the level's totals.

    `as_of` decides whether a request still under review is overdue or pending. With `department_id` the
    report holds that department's row only (its totals are its own figures).
    """
    check_year(year)
    area = get_area(session=session, region_code=region_code)
    start, end = year_bounds(year)
    dept = Department.__table__.c  # type: ignore[attr-defined]
    in_area = select(dept.id).where(dept.region_code.in_(area.codes))
    if department_id is not None:
        in_area = in_area.where(dept.id == department_id)
    rows: dict[int, dict[str, int]] = {}

    # Catalog (Art. 15): the entries published by the end of the year, by share type; a conditional or
    # not-shared entry must cite its legal basis (catalog_entry.legal_basis).
    ce = CatalogEntry.__table__.c  # type: ignore[attr-defined]
    restricted = ce.share_type.in_((ShareType.conditional.value, ShareType.not_shared.value))
    _merge(rows, session.execute(
        select(ce.department_id, _count(ce.share_type == ShareType.unconditional.value),
               _count(ce.share_type == ShareType.conditional.value),
               _count(ce.share_type == ShareType.not_shared.value),
               _count(and_(restricted, _filled(ce.legal_basis))),
               _count(and_(restricted, ~_filled(ce.legal_basis))))
        .where(ce.status == "published", ce.created_at < end, ce.department_id.in_(in_area))
        .group_by(ce.department_id)),
        ("catalog_unconditional", "catalog_conditional", "catalog_not_shared", "catalog_restricted_with_basis",
         "catalog_restricted_without_basis"))

    # Share requests received (provider side, Art. 16) with the 5-working-day reply: a request needs a
    # reply unless the platform decided it at once (decided_by 'system': unconditional or not-shared) or
    # the applicant withdrew it; on time = decided_at no later than the deadline of its created_at.
    sr = ShareRequest.__table__.c  # type: ignore[attr-defined]
    days, provisional = _due_days(calendar, year, reply_working_days)
    needs_reply = and_(sr.status != ShareRequestStatus.withdrawn.value,
                       or_(sr.decided_by.is_(None), sr.decided_by != "system"))
    under_review = sr.status == ShareRequestStatus.under_review.value
    refused = sr.status == ShareRequestStatus.refused.value
    as_of_param = literal(as_of, UTCDateTime())
    _merge(rows, session.execute(
        select(sr.provider_department_id, func.count(), _count(needs_reply),
               _count(and_(needs_reply, sr.decided_at.is_not(None), sr.decided_at <= days.c.due_at)),
               _count(and_(needs_reply, or_(sr.decided_at > days.c.due_at,
                                            and_(under_review, days.c.due_at < as_of_param)))),
               _count(and_(under_review, days.c.due_at >= as_of_param)),
               _count(refused), _count(and_(refused, _filled(sr.refusal_basis))),
               _count(and_(refused, ~_filled(sr.refusal_basis))))
        .join(days, _shanghai_day(session, sr.created_at) == days.c.day)
        .where(sr.created_at >= start, sr.created_at < end, sr.provider_department_id.in_(in_area))
        .group_by(sr.provider_department_id)),
        ("requests_received", "replies_due", "replies_on_time", "replies_late", "replies_pending", "refused",
         "refused_with_basis", "refused_without_basis"))
    _merge(rows, session.execute(
        select(sr.requester_department_id, func.count())
        .where(sr.created_at >= start, sr.created_at < end, sr.requester_department_id.in_(in_area))
        .group_by(sr.requester_department_id)), ("requests_made",))

    # Disputes (Art. 16–17) opened in the year, counted for the providing department with how they ended
    # (dispute.resolution, dispute.outcome, dispute.status); also for the using department.
    dp = Dispute.__table__.c  # type: ignore[attr-defined]
    adjudicated = dp.resolution == "adjudication"
    _merge(rows, session.execute(
        select(dp.provider_department_id, func.count(), _count(dp.resolution.is_(None)),
               _count(dp.resolution == "settlement"), _count(and_(adjudicated, dp.outcome == "share")),
               _count(and_(adjudicated, dp.outcome == "not_share")), _count(dp.status == "complied"))
        .where(dp.created_at >= start, dp.created_at < end, dp.provider_department_id.in_(in_area))
        .group_by(dp.provider_department_id)),
        ("disputes_as_provider", "disputes_open", "disputes_settled", "disputes_adjudicated_share",
         "disputes_adjudicated_not_share", "disputes_complied"))
    _merge(rows, session.execute(
        select(dp.requester_department_id, func.count())
        .where(dp.created_at >= start, dp.created_at < end, dp.requester_department_id.in_(in_area))
        .group_by(dp.requester_department_id)), ("disputes_as_requester",))

    # Overdue duties escalated to the level government's supervision queue (supervision_item.escalated_at).
    si = SupervisionItem.__table__.c  # type: ignore[attr-defined]
    _merge(rows, session.execute(
        select(si.department_id, func.count(), _count(si.state == ItemState.open.value))
        .where(si.escalated_at >= start, si.escalated_at < end, si.department_id.in_(in_area))
        .group_by(si.department_id)), ("escalations", "escalations_open"))

    # Rectification notices (Art. 29) issued to the department in the year, by their status now.
    rn = RectificationNotice.__table__.c  # type: ignore[attr-defined]
    _merge(rows, session.execute(
        select(rn.department_id, func.count(),
               _count(rn.status.in_((NoticeStatus.rectifying.value, NoticeStatus.reported.value,
                                     NoticeStatus.exemption_claimed.value))),
               _count(rn.status == NoticeStatus.accepted.value), _count(rn.status == NoticeStatus.exempted.value),
               _count(rn.status == NoticeStatus.withdrawn.value))
        .where(rn.issued_at >= start, rn.issued_at < end, rn.department_id.in_(in_area))
        .group_by(rn.department_id)),
        ("notices_received", "notices_open", "notices_accepted", "notices_exempted", "notices_withdrawn"))

    # Open-list items (Art. 20–21) of the year's list as published (open_list.year, status published).
    ol_t, oi_t = OpenList.__table__, OpenListItem.__table__  # type: ignore[attr-defined]
    ol, oi = ol_t.c, oi_t.c
    _merge(rows, session.execute(
        select(ol.department_id, func.count(), _count(oi.open_type == "unconditional"),
               _count(oi.open_type == "conditional"), _count(oi.open_type == "not_open"))
        .select_from(ol_t).join(oi_t, oi.open_list_id == ol.id)
        .where(ol.year == year, ol.status == OpenListStatus.published.value, ol.department_id.in_(in_area))
        .group_by(ol.department_id)),
        ("open_items_published", "open_items_unconditional", "open_items_conditional", "open_items_not_open"))

    departments = session.execute(
        select(dept.id, dept.code, dept.name, dept.kind, dept.region_code)
        .where(dept.id.in_(in_area), dept.is_active.is_(True)).order_by(dept.region_code, dept.code)).all()
    volume = _volume(session, year, [d.id for d in departments])
    for dept_id, figures in volume.items():
        target = rows.setdefault(int(dept_id), {})
        for name in VOLUME_FIGURES:
            target[name] = target.get(name, 0) + int(figures.get(name, 0) or 0)

    region_names = dict(session.execute(select(Region.code, Region.name).where(Region.code.in_(area.codes))).all())
    listed = []
    for d in departments:
        figures = {name: rows.get(d.id, {}).get(name, 0) for name in FIGURES}
        # Departments that provide and use data are always listed; the authority, the government office
        # only when a figure concerns them.
        if d.kind in (DepartmentKind.data_authority.value, DepartmentKind.government_office.value) \
                and not any(figures.values()):
            continue
        listed.append({"id": d.id, "code": d.code, "name": d.name, "kind": d.kind, "region_code": d.region_code,
                       "region_name": region_names.get(d.region_code, d.region_code),
                       "figures": with_rates(figures)})
    totals = {name: sum(row["figures"][name] for row in listed) for name in FIGURES}
    return {"year": year, "region_code": area.region.code, "region_name": area.region.name,
            "level": area.region.level, "as_of": as_of.isoformat(), "reply_working_days": reply_working_days,
            "calendar_provisional": provisional,
            "totals": with_rates(totals), "departments": listed}


def with_rates(figures: dict[str, int]) -> dict[str, Any]:
    """Add the on-time reply rate (%, one decimal; None when no reply fell due)."""
    decided = figures["replies_on_time"] + figures["replies_late"]
    rate = round(100 * figures["replies_on_time"] / decided, 1) if decided else None
    return {**figures, "on_time_rate": rate}


def _volume(session: Session, year: int, department_ids: list[int]) -> dict[int, dict[str, int]]:
    """The volume of use from the Art. 12 log (app/usage), per department id."""
    return volume_by_department(session, year, department_ids)
