"""The engine's part of migration: what blocks a move, and that a moved instance runs the new path."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from app.core.clock import clock
from app.engine.core import Engine
from tests.engine.support import Definition, definition, fixture

ADD_AFTER_ROUND = (b'<bpmn:sequenceFlow id="f_round" sourceRef="review_round" targetRef="approve" />',
                   b'<bpmn:sequenceFlow id="f_round" sourceRef="review_round" targetRef="sign" />'
                   b'<bpmn:userTask id="sign" name="\xe7\xad\xbe\xe5\x8f\x91" camunda:candidateGroups="reviewer" />'
                   b'<bpmn:sequenceFlow id="f_sign" sourceRef="sign" targetRef="approve" />')
ADD_INSIDE_ROUND = (b'<bpmn:sequenceFlow id="rf_review" sourceRef="review" targetRef="count_round" />',
                    b'<bpmn:sequenceFlow id="rf_review" sourceRef="review" targetRef="sign" />'
                    b'<bpmn:userTask id="sign" name="\xe7\xad\xbe\xe5\x8f\x91" camunda:candidateGroups="reviewer" />'
                    b'<bpmn:sequenceFlow id="f_sign" sourceRef="sign" targetRef="count_round" />')


@pytest.fixture
def engine() -> Engine:
    return Engine(script_timeout=0.5)


def _edit(base: Definition, *pairs: tuple[bytes, bytes]) -> Definition:
    xml = base.xml
    for old, new in pairs:
        assert old in xml
        xml = xml.replace(old, new)
    return definition(xml)


def _in_review_round(engine: Engine, review: Definition):  # type: ignore[no-untyped-def]
    wf = engine.start(review.content_hash, review.xml, {})
    [submit] = engine.ready_user_tasks(wf)
    engine.complete_user_task(wf, submit.id, {"title": "申请", "needs_review": True})
    [first] = engine.ready_user_tasks(wf)
    engine.complete_user_task(wf, first.id, {"approved": False})  # second round now
    return engine.restore(engine.dump(wf), review.content_hash, review.xml)


def _run_to_end(engine: Engine, wf, target: Definition) -> list[str]:  # type: ignore[no-untyped-def]
    path = []
    while (ready := engine.ready_user_tasks(wf)) and len(path) < 10:
        path.append(ready[0].task_spec)
        engine.complete_user_task(wf, ready[0].id, {"approved": True})
        wf = engine.restore(engine.dump(wf), target.content_hash, target.xml)
    assert engine.is_completed(wf)
    return path


@pytest.mark.parametrize("edit", [ADD_AFTER_ROUND, ADD_INSIDE_ROUND], ids=["after_subprocess", "inside_subprocess"])
def test_a_step_added_after_a_running_subprocess_is_not_skipped(engine: Engine, edit) -> None:  # type: ignore[no-untyped-def]
    review = fixture("review")
    v2 = _edit(review, edit)
    wf = _in_review_round(engine, review)
    [waiting] = engine.ready_user_tasks(wf)
    plan = engine.plan_migration(wf, v2.content_hash, v2.xml)
    assert plan.problems == []
    engine.migrate(wf, plan)
    wf = engine.restore(engine.dump(wf), v2.content_hash, v2.xml)
    # The open task is the same engine task (same id: its task row keeps its claim and deadline).
    assert [t.id for t in engine.ready_user_tasks(wf)] == [waiting.id]
    assert _run_to_end(engine, wf, v2) == ["review", "sign"]
    # SpiffWorkflow's migrate_workflow would leave `approve` predicted after the STARTED round and skip
    # `sign`; our migration predicts again after it.


def test_the_current_step_renamed_or_removed_blocks_with_a_reason(engine: Engine) -> None:
    review = fixture("review")
    renamed = _edit(review, (b'name="\xe5\xa4\x8d\xe6\xa0\xb8" camunda', b'name="\xe5\xa4\x8d\xe5\xae\xa1" camunda'))
    wf = _in_review_round(engine, review)
    [problem] = engine.plan_migration(wf, renamed.content_hash, renamed.xml).problems
    assert problem.element == "review"
    assert problem.message == "当前所在步骤 复核（review） 在新版本中已变更（名称）"

    no_round = _edit(review, (b'<bpmn:sequenceFlow id="f_review" sourceRef="gw_review" targetRef="review_round">',
                              b'<bpmn:sequenceFlow id="f_review" sourceRef="gw_review" targetRef="approve">'),
                     (b'<bpmn:sequenceFlow id="f_round" sourceRef="review_round" targetRef="approve" />', b''))
    start, end = no_round.xml.index(b"<bpmn:subProcess"), no_round.xml.index(b"</bpmn:subProcess>")
    no_round = definition(no_round.xml[:start] + no_round.xml[end + len(b"</bpmn:subProcess>"):])
    messages = [p.message for p in engine.plan_migration(wf, no_round.content_hash, no_round.xml).problems]
    assert "正在执行的子流程 复核轮次（review_round） 在新版本中已删除或改名" in messages
    assert "正在执行的子流程 复核轮次（review_round） 的定义在新版本中已删除" in messages
    with pytest.raises(ValueError):
        engine.migrate(wf, engine.plan_migration(wf, no_round.content_hash, no_round.xml))


def test_a_finished_step_deleted_in_the_new_version_blocks(engine: Engine) -> None:
    review = fixture("review")
    wf = _in_review_round(engine, review)
    v2 = _edit(review, (b'<bpmn:scriptTask id="init" name="\xe5\x88\x9d\xe5\xa7\x8b\xe5\x8c\x96" scriptFormat="python">',
                        b'<bpmn:scriptTask id="init2" name="\xe5\x88\x9d\xe5\xa7\x8b\xe5\x8c\x96" scriptFormat="python">'),
                (b'targetRef="init"', b'targetRef="init2"'), (b'sourceRef="init"', b'sourceRef="init2"'))
    messages = [p.message for p in engine.plan_migration(wf, v2.content_hash, v2.xml).problems]
    assert messages == ["已办结的步骤 初始化（init） 在新版本中已删除或改名，实例的办理记录无法对应到新版本"]


def test_a_waiting_duration_timer_keeps_its_due_instant(engine: Engine) -> None:
    timer = fixture("timer")
    v1 = _edit(timer, (b'<bpmn:timeDate xsi:type="bpmn:tFormalExpression">reply_due</bpmn:timeDate>',
                       b'<bpmn:timeDuration xsi:type="bpmn:tFormalExpression">"P2D"</bpmn:timeDuration>'))
    v2 = _edit(v1, (b'<bpmn:sequenceFlow id="f_reply" sourceRef="reply" targetRef="wait_publish" />',
                    b'<bpmn:sequenceFlow id="f_reply" sourceRef="reply" targetRef="check" />'
                    b'<bpmn:userTask id="check" name="check" camunda:candidateGroups="provider" />'
                    b'<bpmn:sequenceFlow id="f_check" sourceRef="check" targetRef="wait_publish" />'))
    clock.freeze(datetime(2026, 11, 2, 1, tzinfo=timezone.utc))
    try:
        wf = engine.start(v1.content_hash, v1.xml, {"publish_at": "2026-12-25T00:00:00+00:00"})
        due = engine.next_timer_at(wf)
        assert due == datetime(2026, 11, 4, 1, tzinfo=timezone.utc)
        clock.freeze(datetime(2026, 11, 3, 1, tzinfo=timezone.utc))  # a day later: a reset would restart it
        plan = engine.plan_migration(wf, v2.content_hash, v2.xml)
        assert plan.problems == []
        engine.migrate(wf, plan)
        wf = engine.restore(engine.dump(wf), v2.content_hash, v2.xml)
        assert engine.next_timer_at(wf) == due
        engine.fire_timers(wf, due)
        assert [t.task_spec for t in engine.ready_user_tasks(wf)] == ["escalate"]
    finally:
        clock.reset()


def test_a_removed_boundary_timer_names_the_timer_not_the_engine_nodes(engine: Engine) -> None:
    timer = fixture("timer")
    wf = engine.start(timer.content_hash, timer.xml, {"reply_due": "2026-12-20T00:00:00+00:00"})
    start, end = timer.xml.index(b'<bpmn:boundaryEvent'), timer.xml.index(b'<bpmn:endEvent id="end_escalated" />')
    v2 = definition(timer.xml[:start] + timer.xml[end + len(b'<bpmn:endEvent id="end_escalated" />'):])
    messages = [p.message for p in engine.plan_migration(wf, v2.content_hash, v2.xml).problems]
    assert messages == ["当前所在步骤 答复超时（reply_overdue） 在新版本中已删除或改名"]


def test_a_boundary_event_added_to_the_current_step_blocks(engine: Engine) -> None:
    review = fixture("review")
    wf = _in_review_round(engine, review)
    v2 = _edit(review, (b'<bpmn:sequenceFlow id="rf_review"',
                        b'<bpmn:boundaryEvent id="late" name="\xe8\xb6\x85\xe6\x97\xb6" attachedToRef="review">'
                        b'<bpmn:timerEventDefinition><bpmn:timeDuration>"P2D"</bpmn:timeDuration>'
                        b'</bpmn:timerEventDefinition></bpmn:boundaryEvent>'
                        b'<bpmn:sequenceFlow id="rf_late" sourceRef="late" targetRef="round_end" />'
                        b'<bpmn:sequenceFlow id="rf_review"'))
    messages = [p.message for p in engine.plan_migration(wf, v2.content_hash, v2.xml).problems]
    # Moved anyway, completing the review would fail in the join after the split it never passed.
    assert messages == ["当前所在步骤 复核（review） 在新版本中的前序结构已变更（例如新增了边界事件），实例无法停留在该步骤"]


def _states(engine: Engine, name: str):  # type: ignore[no-untyped-def]
    """Yield (label, workflow) for the wait states of a fixture process."""
    process = fixture(name)
    if name == "review":
        wf = engine.start(process.content_hash, process.xml, {})
        yield "submit", wf
        yield "review", _in_review_round(engine, process)
    else:
        variables = {"reply_due": "2026-12-20T00:00:00+00:00", "publish_at": "2026-12-25T00:00:00+00:00"}
        wf = engine.start(process.content_hash, process.xml, variables)
        yield "reply", wf
        wf = engine.start(process.content_hash, process.xml, variables)
        [reply] = engine.ready_user_tasks(wf)
        engine.complete_user_task(wf, reply.id, {})
        yield "wait_publish", wf


@pytest.mark.parametrize("name", ["review", "timer"])
def test_every_wait_state_moves_to_a_copy_that_differs_only_in_a_comment(engine: Engine, name: str) -> None:
    process = fixture(name)
    copy = definition(process.xml.replace(b"</bpmn:definitions>", b"<!-- v2 --></bpmn:definitions>"))
    for label, wf in _states(engine, name):
        wf = engine.restore(engine.dump(wf), process.content_hash, process.xml)
        ready = [t.id for t in engine.ready_user_tasks(wf)]
        due = engine.next_timer_at(wf)
        plan = engine.plan_migration(wf, copy.content_hash, copy.xml)
        assert plan.problems == [], label
        engine.migrate(wf, plan)
        wf = engine.restore(engine.dump(wf), copy.content_hash, copy.xml)
        assert [t.id for t in engine.ready_user_tasks(wf)] == ready, label
        assert engine.next_timer_at(wf) == due, label


def _parallel(*branches: str) -> Definition:
    ns = ('xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" '
          'xmlns:camunda="http://camunda.org/schema/1.0/bpmn"')
    tasks = "".join(
        f'<bpmn:userTask id="{b}" name="会签{b}" camunda:candidateGroups="reviewer" />'
        f'<bpmn:sequenceFlow id="s_{b}" sourceRef="split" targetRef="{b}" />'
        f'<bpmn:sequenceFlow id="j_{b}" sourceRef="{b}" targetRef="join" />' for b in branches)
    return definition(f'''<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions {ns} id="D" targetNamespace="http://govflow.example/bpmn">
  <bpmn:process id="test_parallel" isExecutable="true">
    <bpmn:startEvent id="start" /><bpmn:sequenceFlow id="f_start" sourceRef="start" targetRef="split" />
    <bpmn:parallelGateway id="split" name="分送会签" />{tasks}<bpmn:parallelGateway id="join" name="会签汇总" />
    <bpmn:sequenceFlow id="f_end" sourceRef="join" targetRef="end" /><bpmn:endEvent id="end" />
  </bpmn:process>
</bpmn:definitions>'''.encode())


def test_a_branch_added_to_a_parallel_split_the_instance_is_inside_blocks(engine: Engine) -> None:
    v1, v2 = _parallel("a", "b"), _parallel("a", "b", "c")
    wf = engine.start(v1.content_hash, v1.xml, {})
    # Moved anyway, the join would wait for ever for a branch c that never started.
    assert [p.message for p in engine.plan_migration(wf, v2.content_hash, v2.xml).problems] == [
        "实例正处在网关 分送会签（split） 分出的分支中，而该网关的分支在新版本中已变更"]
    b = [t for t in engine.ready_user_tasks(wf) if t.task_spec == "b"][0]
    engine.complete_user_task(wf, b.id, {})
    messages = [p.message for p in engine.plan_migration(wf, v2.content_hash, v2.xml).problems]
    assert "当前所在步骤 会签汇总（join） 在新版本中已变更（汇聚的分支）" in messages


def test_documentation_of_the_current_step_may_change(engine: Engine) -> None:
    review = fixture("review")
    wf = _in_review_round(engine, review)
    v2 = _edit(review, (b'camunda:dueDate="5WD">', b'camunda:dueDate="5WD">'
                        b'<bpmn:documentation>\xe5\xa4\x8d\xe6\xa0\xb8\xe8\xaf\xb4\xe6\x98\x8e</bpmn:documentation>'))
    assert engine.plan_migration(wf, v2.content_hash, v2.xml).problems == []
