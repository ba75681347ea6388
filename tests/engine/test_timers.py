"""Timers run on our clock: next_timer_at reports them and fire_timers(now) fires them deterministically."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from SpiffWorkflow.bpmn import BpmnWorkflow

from app.core.clock import SHANGHAI, clock
from app.engine.core import Engine
from tests.engine.support import fixture

REPLY_DUE = datetime(2025, 3, 10, 17, 0, tzinfo=SHANGHAI)
PUBLISH_AT = "2025-03-20T09:00:00+08:00"
VARIABLES = {"reply_due": REPLY_DUE, "publish_at": PUBLISH_AT}


def _restored(engine: Engine, workflow: BpmnWorkflow, restore: bool) -> BpmnWorkflow:
    """Save and restore the instance when the test runs with restore between steps."""
    if not restore:
        return workflow
    process = fixture("timer")
    return engine.restore(engine.dump(workflow), process.content_hash, process.xml)


@pytest.mark.parametrize("restore", [False, True], ids=["in_memory", "restore_each_step"])
def test_boundary_timer_from_a_variable_fires_at_the_frozen_now(
        engine: Engine, frozen_clock: datetime, restore: bool) -> None:
    process = fixture("timer")
    workflow = engine.start(process.content_hash, process.xml, VARIABLES)
    workflow = _restored(engine, workflow, restore)

    due = engine.next_timer_at(workflow)
    assert due == REPLY_DUE
    assert due is not None and due.tzinfo is not None and due.utcoffset() == timedelta(0)

    engine.fire_timers(workflow, REPLY_DUE - timedelta(seconds=1))
    workflow = _restored(engine, workflow, restore)
    assert [t.task_spec for t in engine.ready_user_tasks(workflow)] == ["reply"]

    engine.fire_timers(workflow, REPLY_DUE)
    workflow = _restored(engine, workflow, restore)
    assert [t.task_spec for t in engine.ready_user_tasks(workflow)] == ["escalate"]
    assert engine.next_timer_at(workflow) is None


@pytest.mark.parametrize("restore", [False, True], ids=["in_memory", "restore_each_step"])
def test_intermediate_timer_waits_then_fires(engine: Engine, frozen_clock: datetime, restore: bool) -> None:
    process = fixture("timer")
    workflow = engine.start(process.content_hash, process.xml, VARIABLES)
    [reply] = engine.ready_user_tasks(workflow)

    engine.complete_user_task(workflow, reply.id, {"answer": "同意"})
    workflow = _restored(engine, workflow, restore)

    publish_at = datetime.fromisoformat(PUBLISH_AT)
    assert engine.next_timer_at(workflow) == publish_at
    assert not engine.is_completed(workflow)

    engine.fire_timers(workflow, publish_at + timedelta(minutes=1))
    workflow = _restored(engine, workflow, restore)
    assert engine.is_completed(workflow)
    assert engine.data(workflow)["published"] is True


def test_timers_read_our_clock_not_the_wall_clock(engine: Engine) -> None:
    process = fixture("timer")
    long_past = datetime(2001, 1, 1, tzinfo=timezone.utc)
    workflow = engine.start(process.content_hash, process.xml, {**VARIABLES, "reply_due": long_past})
    assert [t.task_spec for t in engine.ready_user_tasks(workflow)] == ["escalate"]  # due by the app clock

    clock.freeze(datetime(2000, 6, 1, tzinfo=timezone.utc))
    try:
        workflow = engine.start(process.content_hash, process.xml, {**VARIABLES, "reply_due": long_past})
        assert [t.task_spec for t in engine.ready_user_tasks(workflow)] == ["reply"]
        engine.fire_timers(workflow, datetime(2000, 12, 31, tzinfo=timezone.utc))
        assert [t.task_spec for t in engine.ready_user_tasks(workflow)] == ["reply"]
        engine.fire_timers(workflow, long_past)
        assert [t.task_spec for t in engine.ready_user_tasks(workflow)] == ["escalate"]
    finally:
        clock.reset()


def test_naive_time_date_is_read_as_beijing_time(engine: Engine, frozen_clock: datetime) -> None:
    process = fixture("timer")

    workflow = engine.start(process.content_hash, process.xml,
                            {"reply_due": "2025-03-10T17:00:00", "publish_at": PUBLISH_AT})

    assert engine.next_timer_at(workflow) == REPLY_DUE
