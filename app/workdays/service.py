"""The calendar every process uses, kept in step with the years loaded into the database."""

from __future__ import annotations

import re
import threading
import time as _time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlmodel import Session

from app.core.clock import clock
from app.core.config import Settings
from app.core.db import Database
from app.workdays.calendar import Deadline, WorkdayCalendar
from app.workdays.models import CalendarYear, ServiceClock

DUE_RULE = re.compile(r"^\s*(\d{1,3})\s*WD\s*$", re.IGNORECASE)


class CalendarProvider:
    """Hold one WorkdayCalendar per process; re-read loaded years when another replica changed them."""

    def __init__(self, settings: Settings, check_every: float = 30.0,
                 seconds: Callable[[], float] = _time.monotonic) -> None:
        self.settings = settings
        self.check_every = check_every
        # Real monotonic seconds (never the business clock); tests hand in one they advance themselves.
        self.seconds = seconds
        self._calendar = WorkdayCalendar(close_of_business=settings.close_of_business)
        self._stamp: tuple[tuple[int, str], ...] | None = None
        self._checked = 0.0
        self._lock = threading.Lock()

    def get(self, session: Session) -> WorkdayCalendar:
        """Return the calendar, refreshed from the database at most every `check_every` seconds."""
        now = self.seconds()
        if self._stamp is None or now - self._checked > self.check_every:
            self.refresh(session)
        return self._calendar

    def refresh(self, session: Session) -> WorkdayCalendar:
        """Reload the loaded years if any changed (cheap when none did)."""
        rows = session.execute(select(CalendarYear.year, CalendarYear.loaded_at)).all()
        stamp = tuple(sorted((int(y), at.isoformat()) for y, at in rows))
        with self._lock:
            self._checked = self.seconds()
            if stamp != self._stamp:
                self._calendar = build_calendar(session, self.settings)
                self._stamp = stamp
        return self._calendar


def demo_offset(session: Session) -> timedelta:
    """Return the deployment's demo-clock offset (zero when the clock was never moved)."""
    offset_us = session.execute(select(ServiceClock.offset_us).where(ServiceClock.id == 1)
                                ).scalar_one_or_none()
    return timedelta(microseconds=offset_us or 0)


def demo_clock(session: Session) -> ServiceClock | None:
    """Return the demo-clock row (who moved it last, when, to what), or None when it was never moved."""
    row = session.get(ServiceClock, 1)
    return row if row is not None and row.moved_at is not None else None


def sync_clock(db: Database, settings: Settings) -> None:
    """With time travel on, take the deployment's demo offset into this process's clock.

    Called before every request and every scheduler job run, so all workers and replicas agree on
    "now" from the moment the move commits (a read per request, no cache to expire). With time travel
    off (production) it reads nothing: the clock is the wall clock.
    """
    if not settings.enable_time_travel:
        return
    # A read-only session: on SQLite, reading the clock must not queue behind (or hold up) writers.
    with db.read_session() as session:
        clock.set_offset(demo_offset(session))


def build_calendar(session: Session, settings: Settings) -> WorkdayCalendar:
    """Build a calendar from the package plus every year loaded into the database."""
    loaded = {
        row.year: {date.fromisoformat(d["date"]): bool(d["is_working_day"]) for d in row.days}
        for row in session.execute(select(CalendarYear)).scalars().all()
    }
    return WorkdayCalendar(loaded=loaded, close_of_business=settings.close_of_business)


@dataclass(frozen=True)
class DueRule:
    """A task's limit: N working days, optionally taken from a named statutory limit setting."""

    working_days: int
    text: str  # what the task shows, e.g. "5WD" or "5WD（share_reply）"


def parse_due(meta: dict[str, Any], settings: Settings) -> DueRule | None:
    """Read a user task's limit: camunda:dueDate `NWD`, overridden by property `limit` → setting."""
    raw = meta.get("due_date")
    limit = (meta.get("properties") or {}).get("limit")
    if not raw and not limit:
        return None
    n = int(DUE_RULE.match(raw).group(1)) if raw and DUE_RULE.match(raw) else None  # type: ignore[union-attr]
    if limit:
        value = getattr(settings, f"{limit}_working_days", None)
        if isinstance(value, int) and value > 0:
            return DueRule(value, f"{value}WD（{limit}）")
    if n is None or n < 1:
        return None
    return DueRule(n, f"{n}WD")


def check_due(meta: dict[str, Any], settings: Settings) -> str | None:
    """Return a Chinese problem with a task's limit notation, or None when it is fine (deploy lint)."""
    raw = meta.get("due_date")
    if raw and not DUE_RULE.match(raw):
        return f"办理期限“{raw}”格式无效：请写作“5WD”（5个工作日）"
    if raw and int(DUE_RULE.match(raw).group(1)) < 1:  # type: ignore[union-attr]
        return "办理期限至少为 1 个工作日"
    limit = (meta.get("properties") or {}).get("limit")
    if limit and not isinstance(getattr(settings, f"{limit}_working_days", None), int):
        return f"扩展属性 limit=“{limit}”不是已知的法定时限设置"
    return None


def due_for(calendar: WorkdayCalendar, start: datetime, working_days: int) -> Deadline:
    """Compute a deadline N working days after receipt (receipt day not counted)."""
    return calendar.add_working_days(start, working_days)


class DeadlinePolicy:
    """Turn a task's declared limit into its due instant on the statutory calendar."""

    def __init__(self, settings: Settings, provider: CalendarProvider) -> None:
        self.settings = settings
        self.provider = provider

    def for_task(self, session: Session, meta: dict[str, Any], start: datetime
                 ) -> tuple[DueRule, Deadline] | None:
        """Return the rule and deadline of a new task, or None when it has no limit."""
        rule = parse_due(meta, self.settings)
        if rule is None:
            return None
        return rule, due_for(self.provider.get(session), start, rule.working_days)


def paused_working_days(calendar: WorkdayCalendar, paused_at: datetime, resumed_at: datetime) -> int:
    """Count the working days a pause covered: from the pause date up to, not including, the resume date."""
    from datetime import timedelta

    from app.workdays.calendar import SHANGHAI

    day = timedelta(days=1)
    return calendar.working_days_between(paused_at.astimezone(SHANGHAI) - day,
                                         resumed_at.astimezone(SHANGHAI) - day)


def recompute_due(calendar: WorkdayCalendar, start: datetime, working_days: int,
                  paused_days: int) -> Deadline:
    """Recompute a due instant: start (receipt, or the day its cause arose) + limit + days pauses added."""
    return calendar.add_working_days(start, working_days + paused_days)
