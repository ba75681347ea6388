"""The one source of "now". Tests freeze it; demo mode (time travel) moves it."""

from __future__ import annotations

import threading
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

SHANGHAI = ZoneInfo("Asia/Shanghai")


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
