"""Fixtures of the designer tests: a small process in two versions with instances at each step."""

from __future__ import annotations

import pytest

from app.org.service import Actor
from app.runtime import Runtime
from tests.designer.helpers import actor, bpmn, complete, deploy, start

V1 = bpmn(("prepare", "准备材料"), ("review", "审核"), ("archive", "归档"))
# v2 adds a step after review and deletes archive.
V2 = bpmn(("prepare", "准备材料"), ("review", "审核"), ("sign", "签发"))


@pytest.fixture
def reviewer(rt: Runtime) -> Actor:
    return actor(rt, "gat_reviewer")


@pytest.fixture
def three(rt: Runtime, reviewer: Actor) -> tuple[int, int, int]:
    """Three v1 instances, waiting at prepare, review and archive; then v2 deployed."""
    assert deploy(rt, V1) == 1
    at_prepare = start(rt, reviewer)
    at_review = start(rt, reviewer)
    complete(rt, at_review, "prepare", reviewer)
    at_archive = start(rt, reviewer)
    complete(rt, at_archive, "prepare", reviewer)
    complete(rt, at_archive, "review", reviewer)
    assert deploy(rt, V2) == 2
    return at_prepare, at_review, at_archive
