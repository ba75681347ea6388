"""The one source of "now". Tests freeze it; demo mode (time travel) moves it for the whole deployment."""

from __future__ import annotations

import threading
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

from app.core.errors import InvalidInput

SHANGHAI = ZoneInfo("Asia/Shanghai")
# The years deadlines are computed in (the working-day calendar knows 1950–2100); instants given by users
# outside them are refused rather than overflowing the date arithmetic (year 1 or 9999 + N working days).
SUPPORTED_YEARS = range(1950, 2101)


def check_supported(at: datetime, field: str) -> None:
    """Refuse (422) an instant outside the supported years, in its own zone or in Shanghai."""
    local_year = _shanghai_year(at) if at.tzinfo is not None else at.year
    if at.year not in SUPPORTED_YEARS or local_year not in SUPPORTED_YEARS:
        raise InvalidInput(f"{field} 必须在 {SUPPORTED_YEARS[0]}–{SUPPORTED_YEARS[-1]} 年之间",
                           code="time_out_of_range")


def _shanghai_year(at: datetime) -> int:
    # A year-1 or year-9999 instant can fall off the datetime range when its zone changes.
    try:
        return at.astimezone(SHANGHAI).year
    except OverflowError:
        return 0


class Clock:
    """The service's "now": the wall clock (or, in tests, a frozen instant) plus the demo offset.

    The demo offset (time travel) belongs to the whole deployment: it lives in the database
    (`workdays.models.ServiceClock`) and each process copies it in with `set_offset` before a request
    or a scheduler job (`workdays.service.sync_clock`). With time travel off nothing ever sets it, so
    production's "now" is plain real time. Expiry of tokens, sessions and leases is not business time
    and does not read this clock.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._offset = timedelta(0)
        self._frozen: datetime | None = None

    def now(self) -> datetime:
        """Return the current instant, timezone-aware UTC."""
        with self._lock:
            return self._base() + self._offset

    def base(self) -> datetime:
        """Return the instant without the demo offset: the wall clock, or the frozen instant."""
        with self._lock:
            return self._base()

    def _base(self) -> datetime:
        return self._frozen if self._frozen is not None else datetime.now(timezone.utc)

    @property
    def offset(self) -> timedelta:
        """The demo offset this process last took from the database."""
        with self._lock:
            return self._offset

    def set_offset(self, offset: timedelta) -> None:
        """Take the deployment's demo offset (as read from the database)."""
        with self._lock:
            self._offset = offset

    def freeze(self, at: datetime) -> None:
        """Stop the clock so that now() is `at` (tests); the demo offset stays as it is."""
        with self._lock:
            self._frozen = as_utc(at) - self._offset

    def move_to(self, at: datetime) -> None:
        """Move a frozen clock (tests) to an instant.

        A running clock is moved for the whole deployment by `workdays.flows.move_clock`, which
        writes the offset to the database; moving it here would move one process only.
        """
        check_supported(at, "时间")
        with self._lock:
            if self._frozen is None:
                raise RuntimeError("only a frozen clock moves in-process; use workdays.flows.move_clock")
            self._frozen = as_utc(at) - self._offset

    def advance(self, delta: timedelta) -> None:
        """Move a frozen clock forward by a duration (tests)."""
        self.move_to(self.now() + delta)

    def reset(self) -> None:
        """Back to the real wall clock, without an offset."""
        with self._lock:
            self._frozen = None
            self._offset = timedelta(0)


def as_utc(at: datetime) -> datetime:
    """Return an aware UTC instant; a naive one is read as Beijing time."""
    if at.tzinfo is None:
        at = at.replace(tzinfo=SHANGHAI)
    return at.astimezone(timezone.utc)


clock = Clock()
