"""Fixtures for engine tests: a real engine and a frozen clock."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime

import pytest

from app.core.clock import SHANGHAI, clock
from app.engine.core import Engine


@pytest.fixture
def engine() -> Engine:
    """Return a fresh engine with a short script deadline."""
    return Engine(script_timeout=0.5)


@pytest.fixture
def frozen_clock() -> Iterator[datetime]:
    """Freeze the app clock at Monday 2025-03-03 09:00 Beijing time."""
    at = datetime(2025, 3, 3, 9, 0, tzinfo=SHANGHAI)
    clock.freeze(at)
    try:
        yield at
    finally:
        clock.reset()
