"""How the authority console shows its cases (API and page share this). One page of cases costs a fixed
number of queries: the cases, their open tasks, departments and catalog entries are each loaded once."""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlmodel import Session

from app.authority import service
from app.authority.service import KIND_ZH, CaseFilter
from app.catalog.models import CatalogEntry
from app.core import keyset
from app.core.clock import SHANGHAI
from app.disputes.models import Dispute
from app.disputes.views import status_label as dispute_status_label
from app.engine.models import Task, TaskStatus
from app.org.models import LEVEL_ZH, Department, Level, Region
from app.rectification.models import OPEN_STATUSES, STATUS_ZH, NoticeStatus, RectificationNotice
from app.tasks.service import deadline_fields
from app.workdays.calendar import WorkdayCalendar

PARTY_ZH = {"requester": "使用部门", "provider": "提供部门", "notified": "被通知部门"}
PRINT_ZH = {"adjudication": "争议评判决定书", "settlement": "协商结果确认书", "notice": "整改通知书"}


def console(session: Session, flt: CaseFilter, *, calendar: WorkdayCalendar, now: datetime, limit: int,
            offset: int = 0, cursor: str | None = None) -> dict[str, Any]:
    """Return one page of the console: the cases, their total and the counts of the area (each counted up
    to 100, labelled "99+" beyond 99), and the next page's cursor."""
    keys, next_cursor = service.get_page(session=session, flt=flt, now=now, limit=limit, offset=offset,
                                         cursor=cursor)
    total, counts = service.counts(session=session, flt=flt, now=now)
    return {"items": cases_public(session, keys, calendar=calendar, now=now), "total": total,
            "total_label": keyset.count_label(total), "next_cursor": next_cursor,
            "limit": limit, "offset": offset, "summary": counts,
            "summary_labels": {k: keyset.count_label(v) for k, v in counts.items()},
            "filters": {"kind": flt.kind, "state": flt.state, "overdue": flt.overdue, "region": flt.region_code,
                        "level": flt.level, "sort": flt.sort}}


def cases_public(session: Session, keys: list[tuple[str, int]], *, calendar: WorkdayCalendar,
                 now: datetime) -> list[dict[str, Any]]:
    """Return the cases in the order given, with parties, authority, state, age and next deadline."""
    dispute_ids = [i for k, i in keys if k == "dispute"]
    notice_ids = [i for k, i in keys if k == "rectification_notice"]
    disputes = {d.id: d for d in session.execute(
        select(Dispute).where(Dispute.id.in_(dispute_ids))).scalars()} if dispute_ids else {}
    notices = {n.id: n for n in session.execute(
        select(RectificationNotice).where(RectificationNotice.id.in_(notice_ids))).scalars()} if notice_ids else {}
    cases: list[Dispute | RectificationNotice] = [*disputes.values(), *notices.values()]

    instance_ids = {c.instance_id for c in cases if c.instance_id is not None}
    tasks: dict[int, list[Task]] = defaultdict(list)
    if instance_ids:
        for task in session.execute(select(Task).where(Task.instance_id.in_(instance_ids),
                                                       Task.status == TaskStatus.open.value)).scalars():
            tasks[task.instance_id].append(task)
    nexts = {c.instance_id: next_task(tasks[c.instance_id]) for c in cases if c.instance_id is not None}

    dept_ids = {d.authority_department_id for d in cases} | {t.department_id for t in nexts.values()
                                                              if t is not None and t.department_id is not None}
    for d in disputes.values():
        dept_ids |= {d.requester_department_id, d.provider_department_id}
    for n in notices.values():
        dept_ids.add(n.department_id)
    departments: dict[int, tuple[Department, Region]] = {}
    if dept_ids:
        departments = {dept.id: (dept, region) for dept, region in session.execute(
            select(Department, Region).join(Region, Region.code == Department.region_code)
            .where(Department.id.in_(dept_ids))).all() if dept.id is not None}
    entry_ids = {d.entry_id for d in disputes.values()}
    entries: dict[int, str] = {}
    if entry_ids:
        entries = dict(session.execute(select(CatalogEntry.id, CatalogEntry.name)
                                       .where(CatalogEntry.id.in_(entry_ids))).all())

    out = []
    for kind, case_id in keys:
        if kind == "dispute":
            dispute = disputes[case_id]
            item = _dispute(dispute, departments, entries, now)
            authority_id, instance_id = dispute.authority_department_id, dispute.instance_id
        else:
            notice = notices[case_id]
            item = _notice(notice, departments, now)
            authority_id, instance_id = notice.authority_department_id, notice.instance_id
        item.update(_authority(departments[authority_id]))
        task = nexts.get(instance_id) if instance_id is not None else None
        item.update(_deadline(task, departments, calendar=calendar, now=now))
        out.append(item)
    return out


def next_task(tasks: list[Task]) -> Task | None:
    """Return the open task whose deadline comes first: a running one, else a paused one (its clock
    stopped), else the first without a deadline (the authority's coordination has none)."""
    dated = [t for t in tasks if t.due_at is not None]
    running = [t for t in dated if t.paused_at is None]
    if running or dated:
        return min(running or dated, key=lambda t: (t.due_at, t.id or 0))
    return min(tasks, key=lambda t: t.id or 0) if tasks else None


def age_days(opened_at: datetime, closed_at: datetime | None, now: datetime) -> int:
    """Count the calendar days a case has been open (to its closing, if closed), Asia/Shanghai dates."""
    end = closed_at or now
    return max(0, (end.astimezone(SHANGHAI).date() - opened_at.astimezone(SHANGHAI).date()).days)


def _party(role: str, dept: Department) -> dict[str, Any]:
    return {"role": role, "role_label": PARTY_ZH[role], "department_code": dept.code, "department_name": dept.name}


def _dispute(d: Dispute, departments: dict[int, tuple[Department, Region]], entries: dict[int, str],
             now: datetime) -> dict[str, Any]:
    entry = entries.get(d.entry_id, "")
    print_kind = d.resolution if d.resolution in ("adjudication", "settlement") else None
    return {
        "kind": "dispute", "kind_label": KIND_ZH["dispute"], "id": d.id, "number": None,
        "share_request_id": d.share_request_id,
        "title": f"“{entry}”共享争议" if entry else f"共享争议 #{d.id}",
        "parties": [_party("requester", departments[d.requester_department_id][0]),
                    _party("provider", departments[d.provider_department_id][0])],
        "status": d.status, "status_label": dispute_status_label(d), "open": d.closed_at is None,
        "opened_at": d.created_at.isoformat(), "closed_at": _iso(d.closed_at),
        "age_days": age_days(d.created_at, d.closed_at, now),
        "url": f"/disputes/{d.id}",
        "print_url": f"/disputes/{d.id}/decision" if print_kind else None,
        "print_label": PRINT_ZH[print_kind] if print_kind else None,
    }


def _notice(n: RectificationNotice, departments: dict[int, tuple[Department, Region]], now: datetime
            ) -> dict[str, Any]:
    is_open = n.status in OPEN_STATUSES
    return {
        "kind": "rectification_notice", "kind_label": KIND_ZH["rectification_notice"], "id": n.id,
        "number": n.number, "title": n.number,
        "parties": [_party("notified", departments[n.department_id][0])],
        "status": n.status, "status_label": STATUS_ZH[NoticeStatus(n.status)], "open": is_open,
        "opened_at": n.issued_at.isoformat(), "closed_at": _iso(n.closed_at),
        "age_days": age_days(n.issued_at, None if is_open else n.closed_at, now),
        "url": f"/rectification-notices/{n.id}",
        "print_url": f"/rectification-notices/{n.id}/print", "print_label": PRINT_ZH["notice"],
    }


def _authority(pair: tuple[Department, Region]) -> dict[str, Any]:
    dept, region = pair
    return {"authority": {"department_code": dept.code, "department_name": dept.name,
                          "region_code": region.code, "region_name": region.name, "level": region.level,
                          "level_label": LEVEL_ZH[Level(region.level)]}}


def _deadline(task: Task | None, departments: dict[int, tuple[Department, Region]], *,
              calendar: WorkdayCalendar, now: datetime) -> dict[str, Any]:
    if task is None:
        return {"next_due_at": None, "due_provisional": False, "paused": False, "next_step": None,
                "working_days_left": None, "overdue": False, "overdue_working_days": 0, "deadline_label": None}
    holder = departments.get(task.department_id) if task.department_id is not None else None
    return {"next_due_at": _iso(task.due_at), "due_provisional": task.due_provisional,
            "paused": task.paused_at is not None,
            "next_step": {"task_id": task.id, "name": task.name,
                          "department_name": holder[0].name if holder else None},
            **deadline_fields(task, calendar, now)}


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None
