"""External tasks in the engine: deployed only with a safe topic, waiting until a worker completes them or
raises a BPMN error, which the nearest matching error boundary event catches (the task's own, else its
subprocess's; never a parallel step's). Each scenario runs in memory and with save/restore between steps."""

from __future__ import annotations

from datetime import timedelta

import pytest
from SpiffWorkflow.bpmn import BpmnWorkflow

from app.engine.bpmn import describe
from app.engine.core import Engine, UncaughtBpmnError
from app.engine.errors import BpmnRejected, TaskNotReady
from tests.engine.support import Definition, fixture, linear

RESTORE = pytest.mark.parametrize("restore", [False, True], ids=["in_memory", "restore_each_step"])


def _again(engine: Engine, workflow: BpmnWorkflow, d: Definition, restore: bool) -> BpmnWorkflow:
    return engine.restore(engine.dump(workflow), d.content_hash, d.xml) if restore else workflow


def _waiting(engine: Engine, workflow: BpmnWorkflow) -> list[tuple[str, str]]:
    return sorted((t.element, t.topic) for t in engine.ready_external_tasks(workflow))


def _problems(xml: bytes) -> list[tuple[str | None, str]]:
    with pytest.raises(BpmnRejected) as caught:
        describe(xml)
    return [(element, code) for element, _, code in caught.value.problems]


def test_only_external_service_tasks_with_a_safe_topic_deploy() -> None:
    ok = describe(linear('<bpmn:serviceTask id="push" camunda:type="external" camunda:topic="exchange.grant" />'))
    assert ok.has_external_tasks
    assert _problems(linear('<bpmn:serviceTask id="push" camunda:type="external" />')) == [("push", "external_task")]
    for topic in ("1abc", "exchange grant", "a" * 101, "${topic}", "主题"):
        problems = _problems(linear(f'<bpmn:serviceTask id="push" camunda:type="external" camunda:topic="{topic}" />'))
        assert ("push", "external_task") in problems, topic
    # Every other service task stays refused, naming the element.
    assert _problems(linear('<bpmn:serviceTask id="plain" />')) == [("plain", "unsupported")]
    java = _problems(linear('<bpmn:serviceTask id="java" camunda:class="org.example.Delegate" />'))
    assert java and {element for element, _ in java} == {"java"}


@RESTORE
def test_a_worker_completes_the_task_with_variables(engine: Engine, frozen_clock, restore: bool) -> None:
    d = fixture("external_task")
    wf = engine.start(d.content_hash, d.xml, {"grant_no": "GX-1"})
    wf = _again(engine, wf, d, restore)
    [task] = engine.ready_external_tasks(wf)
    assert (task.element, task.topic, task.name, task.variables) == (
        "provision", "exchange.grant", "交换平台开通", {"grant_no": "GX-1"})
    assert engine.ready_user_tasks(wf) == []           # not a person's task
    assert engine.next_timer_at(wf) == frozen_clock + timedelta(days=2)  # the boundary timer waits with it
    with pytest.raises(TaskNotReady):
        engine.complete_user_task(wf, task.id, {})
    engine.complete_external_task(wf, task.id, {"account": "acct-1"})
    wf = _again(engine, wf, d, restore)
    assert _waiting(engine, wf) == [("notify", "notify_applicant")]
    assert engine.next_timer_at(wf) is None
    [notify] = engine.ready_external_tasks(wf)
    assert notify.variables == {"grant_no": "GX-1", "account": "acct-1"}
    with pytest.raises(TaskNotReady):
        engine.complete_external_task(wf, task.id, {})  # done already
    engine.complete_external_task(wf, notify.id, {})
    wf = _again(engine, wf, d, restore)
    assert engine.end_event(wf) == "done"


@RESTORE
def test_a_bpmn_error_is_caught_by_the_task_s_error_boundary_event(engine: Engine, restore: bool) -> None:
    d = fixture("external_task")
    wf = _again(engine, engine.start(d.content_hash, d.xml, {}), d, restore)
    [task] = engine.ready_external_tasks(wf)
    engine.external_task_error(wf, task.id, "EXCHANGE_REJECTED", "无接入资质", {"reason": "无接入资质"})
    wf = _again(engine, wf, d, restore)
    assert engine.ready_external_tasks(wf) == []
    assert [t.task_spec for t in engine.ready_user_tasks(wf)] == ["handle_rejection"]
    assert engine.data(wf)["reason"] == "无接入资质"
    assert engine.next_timer_at(wf) is None            # the timer went with the interrupted task


@RESTORE
def test_an_uncaught_bpmn_error_is_refused_and_changes_nothing(engine: Engine, restore: bool) -> None:
    d = fixture("external_task")
    wf = _again(engine, engine.start(d.content_hash, d.xml, {}), d, restore)
    before = engine.dump(wf)
    [task] = engine.ready_external_tasks(wf)
    with pytest.raises(UncaughtBpmnError) as caught:
        engine.external_task_error(wf, task.id, "NOT_MODELLED", "未建模的错误", {"x": 1})
    assert caught.value.status_code == 422 and caught.value.extra["element_id"] == "provision"
    assert "NOT_MODELLED" in caught.value.message_zh
    assert engine.dump(wf) == before


@RESTORE
def test_the_boundary_timer_interrupts_the_waiting_task(engine: Engine, frozen_clock, restore: bool) -> None:
    d = fixture("external_task")
    wf = _again(engine, engine.start(d.content_hash, d.xml, {}), d, restore)
    engine.fire_timers(wf, frozen_clock + timedelta(days=1))
    wf = _again(engine, wf, d, restore)
    assert _waiting(engine, wf) == [("provision", "exchange.grant")]
    engine.fire_timers(wf, frozen_clock + timedelta(days=2))
    wf = _again(engine, wf, d, restore)
    assert engine.ready_external_tasks(wf) == []
    assert [t.task_spec for t in engine.ready_user_tasks(wf)] == ["urge"]


@RESTORE
def test_errors_go_to_the_nearest_matching_boundary_event_never_a_parallel_step_s(
        engine: Engine, restore: bool) -> None:
    d = fixture("external_task_subprocess")

    def started() -> tuple[BpmnWorkflow, dict[str, str]]:
        wf = _again(engine, engine.start(d.content_hash, d.xml, {}), d, restore)
        assert _waiting(engine, wf) == [("archive", "archive"), ("push", "exchange.push")]
        return wf, {t.element: t.id for t in engine.ready_external_tasks(wf)}

    # UNREACHABLE from the subprocess's task: its own boundary catches only OTHER, so the subprocess's
    # boundary naming UNREACHABLE takes it (not the catch-all beside it, not archive's in the other branch).
    wf, ids = started()
    engine.external_task_error(wf, ids["push"], "UNREACHABLE", "", {})
    wf = _again(engine, wf, d, restore)
    assert [t.task_spec for t in engine.ready_user_tasks(wf)] == ["manual_push"]
    assert _waiting(engine, wf) == [("archive", "archive")]
    # OTHER: the task's own boundary event; the subprocess ends normally.
    wf, ids = started()
    engine.external_task_error(wf, ids["push"], "OTHER", "", {})
    wf = _again(engine, wf, d, restore)
    assert engine.ready_user_tasks(wf) == [] and _waiting(engine, wf) == [("archive", "archive")]
    engine.complete_external_task(wf, ids["archive"], {})
    wf = _again(engine, wf, d, restore)
    assert engine.end_event(wf) == "end"
    # Any other code: the subprocess's catch-all.
    wf, ids = started()
    engine.external_task_error(wf, ids["push"], "SOMETHING", "", {})
    wf = _again(engine, wf, d, restore)
    assert [t.task_spec for t in engine.ready_user_tasks(wf)] == ["investigate"]
    # A code only a parallel step's boundary names is not caught by it: archive has no catch-all, so its
    # OTHER error is refused even though push's boundary event waits for OTHER.
    wf, ids = started()
    with pytest.raises(UncaughtBpmnError):
        engine.external_task_error(wf, ids["archive"], "OTHER", "", {})
    engine.external_task_error(wf, ids["archive"], "UNREACHABLE", "", {})
    wf = _again(engine, wf, d, restore)
    assert _waiting(engine, wf) == [("push", "exchange.push")]
