"""Every wait an instance can be in has something that ends it: timers of event-based gateways, boundary timers
of any kind, timers in subprocesses and called processes and cycles are all in next_timer_at, and fire.

Each test saves and restores the instance between every step, as two requests of the service do.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest

from app.core.clock import clock
from app.engine.core import Engine
from tests.engine.support import NAMESPACES, Definition, definition, fixture
from tests.engine.test_messages import EVENT_GATEWAY

DAY = timedelta(days=1)


class Walk:
    """One instance stepped on a moving frozen clock, saved and restored after every step."""

    def __init__(self, engine: Engine, d: Definition, t0: datetime, variables: dict[str, Any]) -> None:
        self.engine, self.d, self.t0 = engine, d, t0
        self.workflow = engine.start(d.content_hash, d.xml, variables)
        self._again()

    def _again(self) -> None:
        self.workflow = self.engine.restore(self.engine.dump(self.workflow), self.d.content_hash, self.d.xml)

    def at(self, days: float) -> datetime:
        return self.t0 + days * DAY

    def fire(self, days: float) -> None:
        clock.freeze(self.at(days))
        self.engine.fire_timers(self.workflow, self.at(days))
        self._again()

    def complete(self, task_spec: str, days: float | None = None) -> None:
        if days is not None:
            clock.freeze(self.at(days))
        task = next(t for t in self.engine.ready_user_tasks(self.workflow) if t.task_spec == task_spec)
        self.engine.complete_user_task(self.workflow, task.id, {})
        self._again()

    def deliver(self, message: str) -> bool:
        delivered = self.engine.deliver_message(self.workflow, message, {"reply": "已查实"})
        self._again()
        return delivered

    @property
    def ready(self) -> list[str]:
        return sorted(t.task_spec for t in self.engine.ready_user_tasks(self.workflow))

    @property
    def timers(self) -> dict[str, datetime | None]:
        return self.engine.waiting_timers(self.workflow)

    @property
    def next_timer(self) -> datetime | None:
        return self.engine.next_timer_at(self.workflow)

    @property
    def messages(self) -> list[str]:
        return self.engine.waiting_messages(self.workflow)


def _gateway(engine: Engine, t0: datetime, *, close_in: int = 10, urge_after: str = "P5D") -> Walk:
    walk = Walk(engine, fixture("wait_gateway"), t0,
                {"close_date": (t0 + close_in * DAY).isoformat(), "urge_after": urge_after})
    walk.complete("ask")
    return walk


def test_every_timer_of_an_event_gateway_is_scheduled_at_its_own_instant(engine: Engine, frozen_clock: datetime
                                                                          ) -> None:
    walk = _gateway(engine, frozen_clock)
    # Two branches are labelled 超时 alike: each keeps its own instant (the first evaluated used to set both).
    assert walk.timers == {"close_at": walk.at(10), "urge_after": walk.at(5), "weekly": walk.at(7)}
    assert walk.next_timer == walk.at(5)
    assert walk.messages == ["协查复函"]


def test_the_message_wins_and_withdraws_every_timer(engine: Engine, frozen_clock: datetime) -> None:
    walk = _gateway(engine, frozen_clock)
    assert walk.deliver("协查复函")
    assert walk.ready == ["handle"]
    assert walk.timers == {} and walk.next_timer is None and walk.messages == []
    walk.fire(30)  # nothing is left to fire
    assert walk.ready == ["handle"]


def test_the_earliest_timer_wins_and_the_message_is_no_longer_awaited(engine: Engine, frozen_clock: datetime
                                                                      ) -> None:
    walk = _gateway(engine, frozen_clock)
    walk.fire(5 - 1 / 86400)
    assert walk.ready == [] and walk.next_timer == walk.at(5)
    walk.fire(5)
    assert walk.ready == ["urge"]
    assert walk.messages == [] and walk.timers == {} and walk.next_timer is None
    assert walk.deliver("协查复函") is False
    assert walk.ready == ["urge"]


def test_a_late_scheduler_takes_one_branch_only(engine: Engine, frozen_clock: datetime) -> None:
    walk = _gateway(engine, frozen_clock)
    walk.fire(30)  # every timer is overdue by now: the one due first is the one taken
    assert walk.ready == ["urge"]


@pytest.mark.parametrize(("close_in", "urge_after", "taken"), [(2, "P20D", "close_case"), (30, "P20D", "remind")],
                         ids=["time_date", "cycle_first_repetition"])
def test_time_date_and_cycle_branches_fire_too(engine: Engine, frozen_clock: datetime, close_in: int,
                                               urge_after: str, taken: str) -> None:
    walk = _gateway(engine, frozen_clock, close_in=close_in, urge_after=urge_after)
    due = walk.next_timer
    assert due == walk.at(min(close_in, 7))
    walk.fire(min(close_in, 7))
    assert walk.ready == [taken] and walk.next_timer is None and walk.messages == []


def test_a_message_caught_while_a_timer_is_overdue_is_the_one_branch_taken(engine: Engine, frozen_clock: datetime
                                                                           ) -> None:
    walk = _gateway(engine, frozen_clock)
    clock.freeze(walk.at(6))  # the 5-day timer is overdue, the scheduler has not come yet
    assert walk.deliver("协查复函")
    assert walk.ready == ["handle"]


def test_boundary_timers_of_every_kind_and_timers_inside_subprocesses_are_scheduled(
        engine: Engine, frozen_clock: datetime) -> None:
    walk = Walk(engine, fixture("wait_boundaries"), frozen_clock, {})
    assert walk.ready == ["review"]
    assert walk.timers == {"review_late": walk.at(10), "review_remind": walk.at(1)}
    assert walk.next_timer == walk.at(1)

    walk.fire(1)  # non-interrupting cycle: a reminder, the review stays
    assert walk.ready == ["note", "review"] and walk.next_timer == walk.at(2)
    walk.fire(2)  # its last repetition: the cycle is done, only the deadline is left
    assert walk.ready == ["note", "note", "review"]
    assert walk.timers == {"review_late": walk.at(10)}

    walk.complete("review", 2)  # the multi-instance 会签 with its own deadline
    assert walk.ready == ["note", "note", "sign", "sign"]
    assert walk.timers == {"sign_late": walk.at(5)} and walk.next_timer == walk.at(5)

    walk.fire(5)  # the 会签 is withdrawn; the subprocess waits inside and has a deadline of its own
    assert walk.ready == ["note", "note"]
    assert walk.timers == {"c_wait": walk.at(7), "collect_late": walk.at(10)}
    assert walk.next_timer == walk.at(7)

    walk.fire(7)
    assert walk.ready == ["c_check", "note", "note"] and walk.timers == {"collect_late": walk.at(10)}

    walk.complete("c_check", 8)  # the call activity: a reminder on it, a wait inside its callee
    assert walk.timers == {"consult_remind": walk.at(9), "k_wait": walk.at(11)}
    walk.fire(9)
    assert walk.ready == ["chase", "note", "note"] and walk.timers == {"k_wait": walk.at(11)}
    walk.fire(11)
    assert walk.timers == {} and walk.next_timer is None
    for task in ["chase", "note", "note"]:
        walk.complete(task)
    assert engine.is_completed(walk.workflow)


def test_an_interrupting_boundary_timer_withdraws_the_task(engine: Engine, frozen_clock: datetime) -> None:
    walk = Walk(engine, fixture("wait_boundaries"), frozen_clock, {})
    walk.fire(2)
    walk.fire(10)
    assert walk.ready == ["note", "note"]  # review withdrawn, the instance took end_late
    assert walk.timers == {} and walk.next_timer is None


def test_a_state_saved_before_timers_had_their_own_keys_keeps_its_instant(engine: Engine, frozen_clock: datetime
                                                                          ) -> None:
    # The gateway of the message-passing test file (tests/engine/test_messages.py) has one timer: its instant
    # was saved under SpiffWorkflow's shared key. Rebuild such a state from a new one.
    d = definition(EVENT_GATEWAY)
    workflow = engine.start(d.content_hash, d.xml, {})
    [gateway] = [t for t in workflow.event_manager.tasks.values()]
    gateway.internal_data["event_value"] = gateway.internal_data.pop("event_value:too_late")
    clock.freeze(frozen_clock + 2 * DAY)  # restored later: a duration evaluated again would move
    workflow = engine.restore(engine.dump(workflow), d.content_hash, d.xml)
    assert engine.next_timer_at(workflow) == frozen_clock + 5 * DAY
    engine.fire_timers(workflow, frozen_clock + 5 * DAY)
    assert [t.task_spec for t in engine.ready_user_tasks(workflow)] == ["urge"]


MESSAGE_OR_TIMER = f"""<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions {NAMESPACES} id="d" targetNamespace="http://govflow.example/bpmn">
  <bpmn:message id="m_reply" name="协查复函" />
  <bpmn:process id="test_one_catch_two_events" isExecutable="true">
    <bpmn:startEvent id="start" /><bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="wait" />
    <bpmn:intermediateCatchEvent id="wait" name="复函或三日后">
      <bpmn:messageEventDefinition messageRef="m_reply" />
      <bpmn:timerEventDefinition><bpmn:timeDuration>"P3D"</bpmn:timeDuration></bpmn:timerEventDefinition>
    </bpmn:intermediateCatchEvent>
    <bpmn:sequenceFlow id="f2" sourceRef="wait" targetRef="handle" />
    <bpmn:userTask id="handle" name="办理" camunda:candidateGroups="clerk" />
    <bpmn:sequenceFlow id="f3" sourceRef="handle" targetRef="end" /><bpmn:endEvent id="end" />
  </bpmn:process>
</bpmn:definitions>""".encode()


@pytest.mark.parametrize("by", ["message", "timer"])
def test_a_catch_event_with_a_message_and_a_timer_is_ended_by_either(engine: Engine, frozen_clock: datetime,
                                                                      by: str) -> None:
    walk = Walk(engine, definition(MESSAGE_OR_TIMER), frozen_clock, {})
    assert walk.timers == {"wait": walk.at(3)} and walk.messages == ["协查复函"]
    if by == "message":
        assert walk.deliver("协查复函")
    else:
        walk.fire(3)
    assert walk.ready == ["handle"] and walk.timers == {} and walk.messages == []
