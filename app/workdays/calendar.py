"""Statutory working-day calendar of mainland China: pure logic, no database, no web.

Sources, in order of precedence, decided per whole year:

1. ``loaded``: an arrangement an administrator loaded (holiday-cn JSON, see ``holiday_cn.py``);
2. ``chinese_calendar`` (1.11.0 knows 2004–2026, including every make-up workday);
3. no source: the year is unknown. ``is_working_day`` raises ``YearUnknown``; counting functions fall
   back to Mon–Fri and mark the result provisional, so a deadline is never silently wrong.

Counting follows Civil Code arts. 201 and 203 (the regulation itself is silent): the day of receipt is
not counted, and a deadline ends at 24:00 Asia/Shanghai of the N-th working day, or at a configured
close-of-business time on that day.
"""

from __future__ import annotations

import threading
from bisect import bisect_right
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, time
from functools import lru_cache
from zoneinfo import ZoneInfo

import chinese_calendar

SHANGHAI = ZoneInfo("Asia/Shanghai")

SOURCE_PACKAGE = "chinese_calendar"
SOURCE_LOADED = "loaded"

# "24:00" of a day is represented as its last representable instant, so due_at stays on the due date.
END_OF_DAY = time(23, 59, 59, 999999)

# Years probed when listing what chinese_calendar knows; the package raises outside its range, so the
# window only has to contain it (1.11.0: 2004–2026).
_PROBE_YEARS = range(1950, 2101)


class YearUnknown(Exception):
    """No source knows the holiday arrangement of this year."""

    def __init__(self, year: int) -> None:
        self.year = year
        super().__init__(f"{year} 年的节假日安排尚未知晓，请管理员导入该年度安排")


@dataclass(frozen=True)
class YearSource:
    """What one known year looks like and where it comes from."""

    year: int
    source: str  # "chinese_calendar" | "loaded"
    days_off: int  # Mon–Fri days that are not working days (statutory holidays and bridging days)
    makeup_workdays: int  # Sat/Sun days that are working days (调休上班)
    working_days: int  # all working days of the year


@dataclass(frozen=True)
class Deadline:
    """A computed deadline."""

    due_at: datetime  # tz-aware, Asia/Shanghai
    provisional: bool  # True when a day that was counted lies in a year no source knows


@dataclass(frozen=True, slots=True)
class _Year:
    source: str | None  # None: unknown year, Mon–Fri guess
    ordinals: tuple[int, ...]  # sorted ordinals of the working days
    working: frozenset[int]


@lru_cache(maxsize=None)
def _package_flags(year: int) -> tuple[bool, ...] | None:
    """Return chinese_calendar's working-day flag for every day of the year, None if it does not know it."""
    try:
        # A cheap probe first: unknown years fail on their first day.
        chinese_calendar.is_workday(date(year, 1, 1))
        first = date(year, 1, 1).toordinal()
        last = date(year, 12, 31).toordinal()
        return tuple(bool(chinese_calendar.is_workday(date.fromordinal(o))) for o in range(first, last + 1))
    except (NotImplementedError, ValueError, OverflowError):
        # NotImplementedError is how chinese_calendar says "no data for this year"; never let it leak.
        return None


@lru_cache(maxsize=1)
def _package_years() -> tuple[int, ...]:
    """Return every year chinese_calendar knows completely."""
    return tuple(y for y in _PROBE_YEARS if _package_flags(y) is not None)


def _shanghai_date(at: datetime) -> date:
    """Return the calendar date of an aware instant in Asia/Shanghai."""
    if not isinstance(at, datetime):
        raise TypeError("expected a datetime")
    if at.tzinfo is None or at.utcoffset() is None:
        raise ValueError("naive datetime: pass a timezone-aware instant")
    return at.astimezone(SHANGHAI).date()


def _check_day(day: date) -> None:
    """Reject datetimes where a calendar date is meant (their zone would be ambiguous)."""
    if isinstance(day, datetime) or not isinstance(day, date):
        raise TypeError("expected a date (not a datetime)")


class WorkdayCalendar:
    """Working days of mainland China from chinese_calendar plus administrator-loaded years."""

    def __init__(self, loaded: Mapping[int, Mapping[date, bool]] | None = None,
                 close_of_business: time | None = None) -> None:
        """Build a calendar; ``loaded`` maps year -> {date: is_working_day} for days unlike Mon–Fri."""
        if close_of_business is not None and close_of_business.tzinfo is not None:
            raise ValueError("close_of_business is a wall-clock time in Asia/Shanghai; pass it naive")
        self.close_of_business = close_of_business
        self._lock = threading.Lock()
        self._loaded: dict[int, dict[date, bool]] = {}
        self._cache: dict[int, _Year] = {}
        for year, days in (loaded or {}).items():
            self.load(year, days)

    # ----------------------------------------------------------------------------- sources

    def load(self, year: int, days: Mapping[date, bool]) -> None:
        """Load or replace an administrator's arrangement; it beats chinese_calendar for the whole year."""
        if isinstance(year, bool) or not isinstance(year, int):
            raise TypeError("year must be an int")
        checked: dict[date, bool] = {}
        for day, working in days.items():
            _check_day(day)
            if day.year != year:
                raise ValueError(f"{day.isoformat()} is not in {year}")
            checked[day] = bool(working)
        with self._lock:
            self._loaded[year] = checked
            # Deadlines computed before were provisional or package-based; the caller recomputes them.
            self._cache.pop(year, None)

    def knows(self, year: int) -> bool:
        """Tell whether a source (loaded or chinese_calendar) knows the year."""
        return year in self._loaded or _package_flags(year) is not None

    def years(self) -> list[YearSource]:
        """List every known year with its source and day counts."""
        out: list[YearSource] = []
        for year in sorted(set(_package_years()) | set(self._loaded)):
            y = self._year(year)
            assert y.source is not None
            first = date(year, 1, 1).toordinal()
            last = date(year, 12, 31).toordinal()
            days_off = makeup = 0
            for o in range(first, last + 1):
                # date.fromordinal(1) is a Monday, so (o - 1) % 7 >= 5 is Saturday or Sunday.
                weekend = (o - 1) % 7 >= 5
                if weekend and o in y.working:
                    makeup += 1
                elif not weekend and o not in y.working:
                    days_off += 1
            out.append(YearSource(year=year, source=y.source, days_off=days_off,
                                  makeup_workdays=makeup, working_days=len(y.ordinals)))
        return out

    def _year(self, year: int) -> _Year:
        """Return the cached working days of a year, building them once."""
        cached = self._cache.get(year)
        if cached is not None:
            return cached
        with self._lock:
            cached = self._cache.get(year)
            if cached is not None:
                return cached
            first = date(year, 1, 1).toordinal()
            last = date(year, 12, 31).toordinal()
            source: str | None
            if year in self._loaded:
                # Loaded days override the Mon–Fri default; unlisted days keep it.
                overrides = self._loaded[year]
                source = SOURCE_LOADED
                flags = [overrides.get(date.fromordinal(o), (o - 1) % 7 < 5) for o in range(first, last + 1)]
            else:
                package = _package_flags(year)
                if package is not None:
                    source = SOURCE_PACKAGE
                    flags = list(package)
                else:
                    source = None  # unknown: Mon–Fri guess, results are provisional
                    flags = [(o - 1) % 7 < 5 for o in range(first, last + 1)]
            ordinals = tuple(first + i for i, f in enumerate(flags) if f)
            built = _Year(source=source, ordinals=ordinals, working=frozenset(ordinals))
            self._cache[year] = built
            return built

    # ----------------------------------------------------------------------------- single days

    def is_working_day(self, day: date) -> bool:
        """Tell whether a date is a working day; raise YearUnknown when no source knows its year."""
        _check_day(day)
        y = self._year(day.year)
        if y.source is None:
            raise YearUnknown(day.year)
        return day.toordinal() in y.working

    def is_working_day_or_guess(self, day: date) -> tuple[bool, bool]:
        """Return (working, provisional); unknown years are guessed Mon–Fri and flagged provisional."""
        _check_day(day)
        y = self._year(day.year)
        return day.toordinal() in y.working, y.source is None

    # ----------------------------------------------------------------------------- counting

    def add_working_days(self, start: datetime, n: int) -> Deadline:
        """Return the deadline N working days after receipt at ``start``.

        Civil Code art. 201: the day of receipt (start's Asia/Shanghai date) is not counted, whatever
        the hour, even 23:30. Art. 203: the deadline is 24:00 of the N-th working day, represented as
        23:59:59.999999 Asia/Shanghai; with ``close_of_business`` set, that time on the N-th working day.
        Receipt on a holiday or weekend counts from the next working day. Provisional when any day in
        (receipt date, due date] lies in an unknown year (those years are counted Mon–Fri).
        """
        if isinstance(n, bool) or not isinstance(n, int) or n < 1:
            raise ValueError("n must be an integer >= 1")
        received = _shanghai_date(start).toordinal()
        due, provisional = self._nth_working_after(received, n)
        return Deadline(due_at=self._close_of(date.fromordinal(due)), provisional=provisional)

    def working_days_between(self, start: datetime, end: datetime) -> int:
        """Count working days after start's date up to and including end's date (0 if end is not later).

        Dates are Asia/Shanghai. Unknown years are counted Mon–Fri.
        """
        return self._count(_shanghai_date(start).toordinal(), _shanghai_date(end).toordinal())

    def working_days_left(self, due_at: datetime, now: datetime) -> int:
        """Return working days left (> 0), or minus working days overdue (< 0).

        Not overdue (now <= due_at): the number of working days from today through the due date, both
        included (Asia/Shanghai dates), today counting whether or not its hours are partly spent. Due
        end of Tue: Mon 10:00 -> 2, Tue -> 1. For a deadline computed here this is >= 1; 0 only for a
        hand-set due_at whose remaining days are all non-working.
        Overdue (now > due_at): minus the number of working days strictly after the due date up to and
        including today, but at least 1 once the deadline has passed. Due end of Tue: Wed -> -1,
        Thu -> -2; due end of Fri: Sat, Sun -> -1, next Mon -> -1, Tue -> -2; due Tue 17:30 and now
        Tue 18:00 -> -1. Unknown years are counted Mon–Fri.
        """
        due_day = _shanghai_date(due_at).toordinal()
        today = _shanghai_date(now).toordinal()
        if now <= due_at:
            return self._count(today - 1, due_day)
        return -max(1, self._count(due_day, today))

    def pause_shift(self, due_at: datetime, paused_from: datetime, resumed_at: datetime) -> Deadline:
        """Move a deadline forward by the working days a pause covered.

        Covered days are the working days d with paused_date <= d < resumed_date (Asia/Shanghai): the day
        the pause began counts if it is a working day and the pause lasted into a later day; the day of
        resumption does not count (work goes on that day). A pause that begins and ends on the same date
        moves nothing. The due date moves forward by that many working days, keeping its time of day.
        Provisional when a covered or added day, or the due date itself, lies in an unknown year (the
        caller should also keep the original deadline's own flag).
        """
        due_day = _shanghai_date(due_at).toordinal()
        local_due = due_at.astimezone(SHANGHAI)
        paused = _shanghai_date(paused_from).toordinal()
        resumed = _shanghai_date(resumed_at).toordinal()
        if resumed_at < paused_from:
            raise ValueError("resumed_at is before paused_from")
        covered = self._count(paused - 1, resumed - 1)
        provisional = self._any_unknown(paused, resumed - 1) or not self.knows(local_due.year)
        if covered == 0:
            return Deadline(due_at=local_due, provisional=provisional)
        new_day, shifted_provisional = self._nth_working_after(due_day, covered)
        moved = datetime.combine(date.fromordinal(new_day), local_due.time(), tzinfo=SHANGHAI)
        return Deadline(due_at=moved, provisional=provisional or shifted_provisional)

    # ----------------------------------------------------------------------------- internals

    def _close_of(self, day: date) -> datetime:
        """Return the instant a deadline ends on its due date."""
        return datetime.combine(day, self.close_of_business or END_OF_DAY, tzinfo=SHANGHAI)

    def _nth_working_after(self, ordinal: int, n: int) -> tuple[int, bool]:
        """Return (ordinal of the n-th working day strictly after ``ordinal``, provisional)."""
        year = date.fromordinal(ordinal).year
        # Days of the start year count only if the start is not its last day.
        first_counted_year = date.fromordinal(ordinal + 1).year
        provisional = False
        remaining = n
        while True:
            y = self._year(year)
            if y.source is None and year >= first_counted_year:
                provisional = True
            i = bisect_right(y.ordinals, ordinal)
            available = len(y.ordinals) - i
            if remaining <= available:
                return y.ordinals[i + remaining - 1], provisional
            remaining -= available
            year += 1

    def _count(self, after: int, upto: int) -> int:
        """Count working days with ordinal in (after, upto]."""
        if upto <= after:
            return 0
        total = 0
        for year in range(date.fromordinal(after + 1).year, date.fromordinal(upto).year + 1):
            ords = self._year(year).ordinals
            total += bisect_right(ords, upto) - bisect_right(ords, after)
        return total

    def _any_unknown(self, first: int, last: int) -> bool:
        """Tell whether any day with ordinal in [first, last] lies in an unknown year."""
        if last < first:
            return False
        return any(not self.knows(y)
                   for y in range(date.fromordinal(first).year, date.fromordinal(last).year + 1))
