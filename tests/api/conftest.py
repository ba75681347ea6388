"""Fixtures of the API tests."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta, timezone

import pytest

from app.core import security


class RealTime:
    """The real-time source of token, session and lockout expiry, held still and moved by hand."""

    def __init__(self) -> None:
        self.now = datetime.now(timezone.utc)

    def advance(self, delta: timedelta) -> None:
        self.now += delta


@pytest.fixture
def real_time(monkeypatch: pytest.MonkeyPatch) -> Iterator[RealTime]:
    """Replace security.utcnow (no sleeps: expiry and lockout windows move when the test says so)."""
    source = RealTime()
    monkeypatch.setattr(security, "utcnow", lambda: source.now, raising=False)
    yield source
