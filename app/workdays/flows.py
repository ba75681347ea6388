"""Use cases of the calendar: load a year's arrangement, recompute provisional deadlines."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from typing import Any

from sqlalchemy import select
from sqlmodel import Session

from app.audit import service as audit
from app.core.clock import as_utc, check_supported, clock
from app.engine.models import Task, TaskStatus
from app.workdays.calendar import SHANGHAI, WorkdayCalendar
from app.workdays.holiday_cn import parse_holiday_cn
from app.workdays.models import CalendarYear, ServiceClock
from app.workdays.service import CalendarProvider, build_calendar, recompute_due


def load_year(session: Session, provider: CalendarProvider, actor: str, payload: dict[str, Any] | str | bytes
              ) -> dict[str, Any]:
    """Store a year's arrangement (replacing an earlier load) and recompute every provisional deadline."""
    year, days = parse_holiday_cn(payload)
    raw = payload if isinstance(payload, dict) else json.loads(payload)
    names = {str(d.get("date")): str(d.get("name", "")) for d in raw.get("days", []) if isinstance(d, dict)}
    papers = [p for p in raw.get("papers", []) if isinstance(p, str)]
    now = clock.now()
    row = session.get(CalendarYear, year) or CalendarYear(year=year, loaded_by=actor, loaded_at=now)
    row.days = [{"date": d.isoformat(), "name": names.get(d.isoformat(), ""), "is_working_day": w}
                for d, w in sorted(days.items())]
    row.papers = papers
    row.loaded_by = actor
    row.loaded_at = now
    session.add(row)
    session.flush()
    calendar = build_calendar(session, provider.settings)  # sees the year just flushed
    recomputed = recompute_provisional(session, calendar)
    audit.append(session, at=now, actor=actor, action="calendar.year_loaded", entity_type="calendar_year",
                 entity_id=year, detail={"days": len(days), "papers": papers, "recomputed_tasks": recomputed})
    session.commit()
    provider.refresh(session)
    return {"year": year, "days": len(days), "recomputed_tasks": recomputed}


def move_clock(session: Session, actor: str, at: datetime) -> datetime:
    """Move the deployment's demo clock to `at` (a naive instant is Beijing time); return the new now.

    The offset is written to the one `service_clock` row, locked, with its audit event in the same
    commit; every worker and scheduler replica reads it before its next request or job run.
    """
    check_supported(at, "时间")
    at = as_utc(at)
    row = session.execute(select(ServiceClock).where(ServiceClock.id == 1).with_for_update()
                          ).scalar_one_or_none()
    if row is None:  # a database whose row was deleted by hand: recreate it
        row = ServiceClock(id=1)
    base = clock.base()  # the wall clock (the frozen instant in tests): the same in every process
    before = base + timedelta(microseconds=row.offset_us or 0)
    offset = at - base
    row.offset_us = offset // timedelta(microseconds=1)
    row.moved_to, row.moved_by, row.moved_at = at, actor, datetime.now(timezone.utc)
    session.add(row)
    audit.append(session, at=before, actor=actor, action="clock.moved", entity_type="service_clock",
                 entity_id=1, detail={"from": before.isoformat(), "to": at.isoformat(),
                                       "offset_seconds": offset.total_seconds()})
    session.commit()
    clock.set_offset(offset)
    return clock.now()


def recompute_provisional(session: Session, calendar: WorkdayCalendar) -> list[int]:
    """Recompute the deadline of every open task whose deadline was provisional; return their ids."""
    rows = session.execute(
        select(Task).where(Task.status == TaskStatus.open.value, Task.due_provisional.is_(True),
                           Task.due_working_days.is_not(None))
    ).scalars().all()
    changed = []
    for task in rows:
        assert task.due_working_days is not None
        due = recompute_due(calendar, task.due_start, task.due_working_days, task.paused_working_days)
        old = task.due_at
        task.due_at, task.due_provisional = due.due_at, due.provisional
        session.add(task)
        changed.append(task.id)
        audit.append(session, at=clock.now(), actor="system", action="task.deadline_recomputed",
                     entity_type="task", entity_id=task.id, instance_id=task.instance_id,
                     detail={"before": old.isoformat() if old else None, "after": due.due_at.isoformat(),
                             "provisional": due.provisional})
    return [c for c in changed if c is not None]


def next_year_notice(calendar: WorkdayCalendar, now: datetime) -> str | None:
    """From 1 November, tell administrators that next year's arrangement is missing."""
    today = now.astimezone(SHANGHAI).date()
    if today.month >= 11 and not calendar.knows(today.year + 1):
        return (f"尚未导入 {today.year + 1} 年节假日安排：跨年的办理期限将按周一至周五暂计并标注“暂定”。"
                "国务院办公厅通知发布后，请在“工作日历”中导入。")
    return None


def years_public(session: Session, calendar: WorkdayCalendar) -> list[dict[str, Any]]:
    """List every known year with its source and counts (loaded ones with who and when)."""
    loaded = {row.year: row for row in session.execute(select(CalendarYear)).scalars().all()}
    out = []
    for ys in calendar.years():
        item: dict[str, Any] = {"year": ys.year, "source": ys.source, "days_off": ys.days_off,
                                "makeup_workdays": ys.makeup_workdays, "working_days": ys.working_days}
        if ys.year in loaded:
            item.update(loaded_by=loaded[ys.year].loaded_by, loaded_at=loaded[ys.year].loaded_at.isoformat(),
                        papers=loaded[ys.year].papers)
        out.append(item)
    return out


