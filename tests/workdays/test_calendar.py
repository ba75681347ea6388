"""Working-day calendar: real chinese_calendar data, REFERENCE.md worked examples, no mocks."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta, timezone

import holidays
import pytest

from app.workdays.calendar import SHANGHAI, Deadline, WorkdayCalendar, YearSource, YearUnknown
from app.workdays.holiday_cn import parse_holiday_cn
from tests.workdays.test_holiday_cn import SYNTHETIC_2027

UTC = timezone.utc
CAL = WorkdayCalendar()
COB = WorkdayCalendar(close_of_business=time(17, 30))


def sh(y: int, m: int, d: int, hh: int = 0, mm: int = 0) -> datetime:
    return datetime(y, m, d, hh, mm, tzinfo=SHANGHAI)


def eod(y: int, m: int, d: int) -> datetime:
    """24:00 of a day, as the calendar represents it."""
    return datetime(y, m, d, 23, 59, 59, 999999, tzinfo=SHANGHAI)


def loaded_2027() -> WorkdayCalendar:
    year, days = parse_holiday_cn(SYNTHETIC_2027)
    return WorkdayCalendar(loaded={year: days})


# ------------------------------------------------------------------ single days (REFERENCE.md, 2026)

DAYS_2026 = [
    (date(2026, 1, 1), False), (date(2026, 1, 2), False), (date(2026, 1, 3), False),
    (date(2026, 1, 4), True),  # Sunday make-up (元旦)
    (date(2026, 2, 14), True),  # Saturday make-up (春节)
    *((date(2026, 2, d), False) for d in range(15, 24)),  # 春节 2/15–2/23
    (date(2026, 2, 24), True),
    (date(2026, 2, 28), True),  # Saturday make-up (春节)
    (date(2026, 4, 4), False), (date(2026, 4, 5), False), (date(2026, 4, 6), False),  # 清明
    *((date(2026, 5, d), False) for d in range(1, 6)),  # 劳动节 5/1–5/5
    (date(2026, 5, 9), True),  # Saturday make-up
    (date(2026, 5, 10), False),
    (date(2026, 6, 19), False), (date(2026, 6, 20), False), (date(2026, 6, 21), False),  # 端午
    (date(2026, 9, 20), True),  # Sunday make-up (国庆)
    (date(2026, 9, 25), False), (date(2026, 9, 26), False), (date(2026, 9, 27), False),  # 中秋
    *((date(2026, 10, d), False) for d in range(1, 8)),  # 国庆 10/1–10/7
    (date(2026, 10, 8), True), (date(2026, 10, 9), True),
    (date(2026, 10, 10), True),  # Saturday make-up (国庆)
    (date(2026, 10, 11), False),
    (date(2026, 3, 7), False), (date(2026, 3, 9), True),  # ordinary weekend / Monday
    (date(2026, 12, 31), True),
]


@pytest.mark.parametrize(("day", "working"), DAYS_2026, ids=[d.isoformat() for d, _ in DAYS_2026])
def test_is_working_day_2026(day: date, working: bool) -> None:
    assert CAL.is_working_day(day) is working
    assert CAL.is_working_day_or_guess(day) == (working, False)


def test_2026_has_248_working_days() -> None:
    first = date(2026, 1, 1)
    assert sum(CAL.is_working_day(first + timedelta(i)) for i in range(365)) == 248
    assert CAL.working_days_between(sh(2025, 12, 31, 12), sh(2026, 12, 31, 12)) == 248


def test_years_lists_package_range_with_counts() -> None:
    years = {y.year: y for y in CAL.years()}
    assert sorted(years) == list(range(2004, 2027))
    # 2026: 261 Mon–Fri days, 19 of them off, 6 weekend make-up days -> 248.
    assert years[2026] == YearSource(year=2026, source="chinese_calendar", days_off=19, makeup_workdays=6,
                                     working_days=248)
    assert all(y.source == "chinese_calendar" for y in years.values())


def test_rejects_datetime_where_date_is_meant() -> None:
    with pytest.raises(TypeError):
        CAL.is_working_day(sh(2026, 1, 4, 10))  # type: ignore[arg-type]


# ------------------------------------------------------------------ cross-check against holidays.China

@pytest.mark.parametrize("year", [2024, 2025, 2026])
def test_matches_holidays_package_every_day(year: int) -> None:
    # holidays.China has no WORKDAY category, but records the weekend days an off day was substituted
    # from in `weekend_workdays`, and `is_working_day` uses them: make-up days are compared too.
    other = holidays.China(years=year)
    day = date(year, 1, 1)
    mismatches = []
    while day.year == year:
        if CAL.is_working_day(day) != other.is_working_day(day):
            mismatches.append(day)
        day += timedelta(1)
    assert mismatches == []


def test_holidays_package_knows_2026_makeup_days() -> None:
    makeups = {d for d in holidays.China(years=2026).weekend_workdays if d.year == 2026}
    assert makeups == {date(2026, 1, 4), date(2026, 2, 14), date(2026, 2, 28), date(2026, 5, 9),
                       date(2026, 9, 20), date(2026, 10, 10)}


def _naive_deadline(oracle: holidays.HolidayBase, received: date, n: int) -> date:
    """Count day by day with the independent holidays.China oracle."""
    day = received
    while n:
        day += timedelta(1)
        n -= oracle.is_working_day(day)
    return day


def test_add_working_days_matches_day_by_day_oracle() -> None:
    oracle = holidays.China(years=range(2024, 2027))
    received = date(2024, 1, 1)
    checked = 0
    while received <= date(2026, 10, 31):  # n <= 30 stays inside 2026
        for n in (1, 2, 5, 10, 30):
            got = CAL.add_working_days(datetime.combine(received, time(9), tzinfo=SHANGHAI), n)
            assert got == Deadline(eod(*_ymd(_naive_deadline(oracle, received, n))), False), (received, n)
            checked += 1
        received += timedelta(1)
    assert checked > 5000


def _ymd(d: date) -> tuple[int, int, int]:
    return d.year, d.month, d.day


# ------------------------------------------------------------------ deadlines

DEADLINES = [
    # (case, received, n, due date)
    ("reference: National Day + Sat make-up", sh(2026, 9, 30, 15), 5, date(2026, 10, 13)),
    ("reference: Spring Festival", sh(2026, 2, 13, 9), 10, date(2026, 3, 5)),
    ("year-end crossing, 元旦 + Sun make-up", sh(2025, 12, 30, 10), 5, date(2026, 1, 7)),
    ("received on a holiday", sh(2026, 10, 3, 10), 1, date(2026, 10, 8)),
    ("received on a holiday, through a make-up Sat", sh(2026, 10, 3, 10), 3, date(2026, 10, 10)),
    ("received on a holiday, next day is a make-up Sun", sh(2026, 1, 3, 10), 1, date(2026, 1, 4)),
    ("received on a weekend", sh(2026, 3, 7, 10), 1, date(2026, 3, 9)),
    ("received on a make-up Saturday", sh(2026, 10, 10, 10), 1, date(2026, 10, 12)),
    ("received 23:30: still that day, not counted", sh(2026, 9, 30, 23, 30), 5, date(2026, 10, 13)),
    ("received 23:30 before a make-up Sat", sh(2026, 10, 9, 23, 30), 1, date(2026, 10, 10)),
    ("received at 00:00", sh(2026, 3, 10, 0, 0), 1, date(2026, 3, 11)),
    ("清明", sh(2026, 4, 3, 10), 1, date(2026, 4, 7)),
    ("劳动节", sh(2026, 4, 30, 10), 2, date(2026, 5, 7)),
    ("劳动节 through make-up Sat", sh(2026, 4, 30, 10), 4, date(2026, 5, 9)),
    # UTC instants are converted to Asia/Shanghai before taking the date of receipt.
    ("UTC 2026-09-29T17:00Z is 09-30 01:00 Shanghai", datetime(2026, 9, 29, 17, tzinfo=UTC), 5,
     date(2026, 10, 13)),
    ("UTC 2026-09-29T15:59Z is 09-29 23:59 Shanghai", datetime(2026, 9, 29, 15, 59, tzinfo=UTC), 5,
     date(2026, 10, 12)),
]


@pytest.mark.parametrize(("received", "n", "due"), [c[1:] for c in DEADLINES], ids=[c[0] for c in DEADLINES])
def test_add_working_days(received: datetime, n: int, due: date) -> None:
    got = CAL.add_working_days(received, n)
    assert got == Deadline(due_at=eod(due.year, due.month, due.day), provisional=False)
    assert got.due_at.tzinfo is SHANGHAI and got.due_at.utcoffset() == timedelta(hours=8)


@pytest.mark.parametrize(("received", "n", "due"), [c[1:] for c in DEADLINES], ids=[c[0] for c in DEADLINES])
def test_add_working_days_close_of_business(received: datetime, n: int, due: date) -> None:
    got = COB.add_working_days(received, n)
    assert got == Deadline(due_at=datetime.combine(due, time(17, 30), tzinfo=SHANGHAI), provisional=False)


@pytest.mark.parametrize("n", [0, -1, True, 2.0])
def test_add_working_days_rejects_bad_n(n: object) -> None:
    with pytest.raises(ValueError):
        CAL.add_working_days(sh(2026, 3, 10, 9), n)  # type: ignore[arg-type]


def test_naive_datetimes_are_rejected() -> None:
    naive = datetime(2026, 3, 10, 9)
    with pytest.raises(ValueError):
        CAL.add_working_days(naive, 5)
    with pytest.raises(ValueError):
        CAL.working_days_left(naive, sh(2026, 3, 10, 9))
    with pytest.raises(ValueError):
        CAL.pause_shift(eod(2026, 3, 20), naive, sh(2026, 3, 11))


def test_close_of_business_must_be_naive() -> None:
    with pytest.raises(ValueError):
        WorkdayCalendar(close_of_business=time(17, 30, tzinfo=SHANGHAI))


# ------------------------------------------------------------------ unknown year 2027 and loading it

def test_unknown_year() -> None:
    assert not CAL.knows(2027)
    assert not CAL.knows(2003)
    assert CAL.knows(2004) and CAL.knows(2026)
    with pytest.raises(YearUnknown) as caught:
        CAL.is_working_day(date(2027, 1, 4))
    assert caught.value.year == 2027
    # Weekday guess, flagged provisional.
    assert CAL.is_working_day_or_guess(date(2027, 1, 1)) == (True, True)  # Friday
    assert CAL.is_working_day_or_guess(date(2027, 1, 2)) == (False, True)  # Saturday


PROVISIONAL = [
    # (case, received, n, due when 2027 is unknown, provisional, due with SYNTHETIC_2027 loaded)
    ("crosses into 2027", sh(2026, 12, 28, 10), 5, date(2027, 1, 4), True, date(2027, 1, 5)),
    ("stays in 2026", sh(2026, 12, 28, 10), 3, date(2026, 12, 31), False, date(2026, 12, 31)),
    ("received on the last day of 2026", sh(2026, 12, 31, 10), 1, date(2027, 1, 1), True, date(2027, 1, 4)),
    ("received in 2027", sh(2027, 2, 4, 10), 1, date(2027, 2, 5), True, date(2027, 2, 15)),
    ("make-up Sunday 2027-01-31", sh(2027, 1, 29, 10), 1, date(2027, 2, 1), True, date(2027, 1, 31)),
]


@pytest.mark.parametrize(("received", "n", "guessed", "provisional", "exact"),
                         [c[1:] for c in PROVISIONAL], ids=[c[0] for c in PROVISIONAL])
def test_provisional_until_year_is_loaded(received: datetime, n: int, guessed: date, provisional: bool,
                                          exact: date) -> None:
    assert CAL.add_working_days(received, n) == Deadline(eod(*_ymd(guessed)), provisional)
    assert loaded_2027().add_working_days(received, n) == Deadline(eod(*_ymd(exact)), False)


def test_loaded_year_is_exact() -> None:
    cal = loaded_2027()
    assert cal.knows(2027)
    assert cal.is_working_day(date(2027, 1, 1)) is False  # listed off day
    assert cal.is_working_day(date(2027, 2, 8)) is False  # 春节, a Monday
    assert cal.is_working_day(date(2027, 2, 20)) is True  # listed make-up Saturday
    assert cal.is_working_day(date(2027, 3, 1)) is True  # unlisted Monday
    assert cal.is_working_day(date(2027, 3, 6)) is False  # unlisted Saturday
    assert cal.is_working_day_or_guess(date(2027, 2, 20)) == (True, False)
    assert cal.years()[-1] == YearSource(year=2027, source="loaded", days_off=18, makeup_workdays=6,
                                         working_days=249)


def test_load_recomputes_on_the_same_instance() -> None:
    cal = WorkdayCalendar()
    received = sh(2026, 12, 28, 10)
    assert cal.add_working_days(received, 5) == Deadline(eod(2027, 1, 4), True)
    cal.load(*parse_holiday_cn(SYNTHETIC_2027))
    assert cal.add_working_days(received, 5) == Deadline(eod(2027, 1, 5), False)


def test_loaded_year_wins_for_the_whole_year() -> None:
    # Only 10/10 listed: every unlisted day of 2026 falls back to Mon–Fri, chinese_calendar is ignored.
    cal = WorkdayCalendar(loaded={2026: {date(2026, 10, 10): True}})
    assert cal.is_working_day(date(2026, 10, 1)) is True
    assert cal.is_working_day(date(2026, 1, 4)) is False
    assert cal.is_working_day(date(2026, 10, 10)) is True
    assert [y.source for y in cal.years() if y.year == 2026] == ["loaded"]
    assert CAL.is_working_day(date(2026, 10, 1)) is False  # other instances are unaffected


def test_load_rejects_day_outside_year() -> None:
    with pytest.raises(ValueError):
        WorkdayCalendar(loaded={2027: {date(2026, 12, 31): True}})


# ------------------------------------------------------------------ between / left / overdue

BETWEEN = [
    (sh(2026, 9, 30, 15), sh(2026, 10, 13, 10), 5),
    (sh(2026, 9, 30, 15), sh(2026, 10, 8, 10), 1),
    (sh(2026, 3, 6, 9), sh(2026, 3, 9, 9), 1),  # Fri -> Mon
    (sh(2026, 3, 10, 9), sh(2026, 3, 10, 18), 0),  # same day
    (sh(2026, 3, 10, 9), sh(2026, 3, 9, 9), 0),  # end before start
    (sh(2025, 12, 30, 9), sh(2026, 1, 4, 9), 2),  # 2025-12-31, 2026-01-04 (Sun make-up)
]


@pytest.mark.parametrize(("start", "end", "expected"), BETWEEN)
def test_working_days_between(start: datetime, end: datetime, expected: int) -> None:
    assert CAL.working_days_between(start, end) == expected


# March 2026 is holiday-free: Mon 9, Tue 10, Wed 11, Thu 12, Fri 13, Sat 14, Sun 15, Mon 16, Tue 17.
LEFT = [
    ("due end of Tue, now Mon", eod(2026, 3, 10), sh(2026, 3, 9, 10), 2),
    ("due end of Tue, now Tue morning", eod(2026, 3, 10), sh(2026, 3, 10, 9), 1),
    ("due end of Tue, now Tue 23:00", eod(2026, 3, 10), sh(2026, 3, 10, 23), 1),
    ("due end of Tue, now the Saturday before", eod(2026, 3, 10), sh(2026, 3, 7, 10), 2),
    ("due Wed 00:00, now exactly then: not late", sh(2026, 3, 11), sh(2026, 3, 11), 1),
    ("due end of Tue, now Wed", eod(2026, 3, 10), sh(2026, 3, 11, 0, 1), -1),
    ("due end of Tue, now Thu", eod(2026, 3, 10), sh(2026, 3, 12, 10), -2),
    ("due end of Fri, now Sat (at least 1)", eod(2026, 3, 13), sh(2026, 3, 14, 10), -1),
    ("due end of Fri, now Sun", eod(2026, 3, 13), sh(2026, 3, 15, 10), -1),
    ("due end of Fri, now Mon", eod(2026, 3, 13), sh(2026, 3, 16, 10), -1),
    ("due end of Fri, now Tue", eod(2026, 3, 13), sh(2026, 3, 17, 10), -2),
    ("due 9/30, now 10/8 (holidays are not overdue days)", eod(2026, 9, 30), sh(2026, 10, 8, 10), -1),
    ("due 9/30, now 10/10 make-up Sat", eod(2026, 9, 30), sh(2026, 10, 10, 10), -3),
    ("due 10/13, now 9/30", eod(2026, 10, 13), sh(2026, 9, 30, 16), 6),
    ("close of business, before", sh(2026, 3, 10, 17, 30), sh(2026, 3, 10, 17), 1),
    ("close of business, after, same day", sh(2026, 3, 10, 17, 30), sh(2026, 3, 10, 18), -1),
    ("close of business, next day", sh(2026, 3, 10, 17, 30), sh(2026, 3, 11, 10), -1),
    ("now in UTC is already Tue in Shanghai", eod(2026, 3, 10), datetime(2026, 3, 9, 16, 30, tzinfo=UTC), 1),
    ("unknown 2027 counted Mon–Fri", eod(2027, 1, 5), sh(2026, 12, 31, 10), 4),
]


@pytest.mark.parametrize(("due_at", "now", "expected"), [c[1:] for c in LEFT], ids=[c[0] for c in LEFT])
def test_working_days_left(due_at: datetime, now: datetime, expected: int) -> None:
    assert CAL.working_days_left(due_at, now) == expected


# ------------------------------------------------------------------ pauses

PAUSES = [
    # (case, due_at, paused_from, resumed_at, new due_at, provisional)
    ("within one day moves nothing", eod(2026, 3, 20), sh(2026, 3, 10, 9), sh(2026, 3, 10, 17),
     eod(2026, 3, 20), False),
    ("Mon 10:00 -> Wed 09:00 covers Mon, Tue", eod(2026, 3, 20), sh(2026, 3, 9, 10), sh(2026, 3, 11, 9),
     eod(2026, 3, 24), False),
    ("Fri 16:00 -> Mon 09:00 covers Fri", eod(2026, 3, 20), sh(2026, 3, 13, 16), sh(2026, 3, 16, 9),
     eod(2026, 3, 23), False),
    ("Sat -> Mon covers nothing", eod(2026, 3, 20), sh(2026, 3, 14, 10), sh(2026, 3, 16, 9),
     eod(2026, 3, 20), False),
    ("over National Day covers 9/30, 10/8", eod(2026, 10, 13), sh(2026, 9, 30, 10), sh(2026, 10, 9, 10),
     eod(2026, 10, 15), False),
    ("shift runs over National Day", eod(2026, 9, 30), sh(2026, 9, 28, 10), sh(2026, 9, 30, 10),
     eod(2026, 10, 9), False),
    ("keeps close-of-business time", sh(2026, 3, 20, 17, 30), sh(2026, 3, 9, 10), sh(2026, 3, 11, 9),
     sh(2026, 3, 24, 17, 30), False),
    ("shift into unknown 2027", eod(2026, 12, 31), sh(2026, 12, 28, 10), sh(2026, 12, 30, 10),
     eod(2027, 1, 4), True),
]


@pytest.mark.parametrize(("due_at", "paused", "resumed", "moved", "provisional"), [c[1:] for c in PAUSES],
                         ids=[c[0] for c in PAUSES])
def test_pause_shift(due_at: datetime, paused: datetime, resumed: datetime, moved: datetime,
                     provisional: bool) -> None:
    got = CAL.pause_shift(due_at, paused, resumed)
    assert got == Deadline(due_at=moved, provisional=provisional)
    assert got.due_at.tzinfo is SHANGHAI


def test_pause_shift_rejects_resume_before_pause() -> None:
    with pytest.raises(ValueError):
        CAL.pause_shift(eod(2026, 3, 20), sh(2026, 3, 11), sh(2026, 3, 10))
