"""Fixtures of the designer tests: a small process in two versions with instances at each step."""

from __future__ import annotations

import pytest

from app.org.service import Actor
from app.runtime import Runtime
from tests.designer.migration_helpers import actor, three_instances


@pytest.fixture
def reviewer(rt: Runtime) -> Actor:
    """The demo reviewer of 省公安厅, who starts and works the test process's instances."""
    return actor(rt, "gat_reviewer")


@pytest.fixture
def three(rt: Runtime) -> tuple[int, int, int]:
    """Three v1 instances, waiting at prepare, review and archive; then v2 deployed."""
    return three_instances(rt)
