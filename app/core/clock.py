"""The one source of "now". Tests freeze it; demo mode (time travel) moves it."""

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
    """Wall clock with an optional offset (time travel) or a frozen instant (tests)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._offset = timedelta(0)
        self._frozen: datetime | None = None

    def now(self) -> datetime:
        """Return the current instant, timezone-aware UTC."""
        with self._lock:
            if self._frozen is not None:
                return self._frozen
            return datetime.now(timezone.utc) + self._offset

    def freeze(self, at: datetime) -> None:
        """Stop the clock at an instant (tests)."""
        with self._lock:
            self._frozen = _aware(at)

    def move_to(self, at: datetime) -> None:
        """Move the clock to an instant; a frozen clock stays frozen there."""
        check_supported(at, "时间")
        at = _aware(at)
        with self._lock:
            if self._frozen is not None:
                self._frozen = at
            else:
                self._offset = at - datetime.now(timezone.utc)

    def advance(self, delta: timedelta) -> None:
        """Move the clock forward by a duration."""
        self.move_to(self.now() + delta)

    def reset(self) -> None:
        """Back to the real wall clock."""
        with self._lock:
            self._frozen = None
            self._offset = timedelta(0)


def _aware(at: datetime) -> datetime:
    if at.tzinfo is None:
        at = at.replace(tzinfo=SHANGHAI)
    return at.astimezone(timezone.utc)


clock = Clock()
