"""Message events: an instance waits for a named message from outside and catches it with its variables."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from SpiffWorkflow.bpmn import BpmnWorkflow

from app.engine.bpmn import describe
from app.engine.core import Engine
from app.engine.errors import BpmnRejected
from tests.engine.support import NAMESPACES, Definition, definition

RESTORE = pytest.mark.parametrize("restore", [False, True], ids=["in_memory", "restore_each_step"])


def _file(body: str, *, messages: str = '<bpmn:message id="m_reply" name="复函" />', key: str = "test_msg") -> bytes:
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions {NAMESPACES} id="d" targetNamespace="http://govflow.example/bpmn">
  {messages}
  <bpmn:process id="{key}" isExecutable="true">
    {body}
  </bpmn:process>
</bpmn:definitions>""".encode()


CATCH_THEN_RECEIVE = _file("""
    <bpmn:startEvent id="start" />
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="wait_reply" />
    <bpmn:intermediateCatchEvent id="wait_reply" name="等待复函">
      <bpmn:messageEventDefinition messageRef="m_reply" />
    </bpmn:intermediateCatchEvent>
    <bpmn:sequenceFlow id="f2" sourceRef="wait_reply" targetRef="receive_material" />
    <bpmn:receiveTask id="receive_material" name="接收补充材料" messageRef="m_material" />
    <bpmn:sequenceFlow id="f3" sourceRef="receive_material" targetRef="end" />
    <bpmn:endEvent id="end" />""", messages='<bpmn:message id="m_reply" name="复函" />'
                                      '<bpmn:message id="m_material" name="补充材料" />')

BOUNDARY = """
    <bpmn:startEvent id="start" />
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="review" />
    <bpmn:userTask id="review" name="审核" camunda:candidateGroups="reviewer" />
    <bpmn:boundaryEvent id="withdrawn" name="申请撤回" attachedToRef="review" cancelActivity="{cancel}">
      <bpmn:messageEventDefinition messageRef="m_reply" />
    </bpmn:boundaryEvent>
    <bpmn:sequenceFlow id="f2" sourceRef="review" targetRef="end" />
    <bpmn:sequenceFlow id="f3" sourceRef="withdrawn" targetRef="{after}" />
    {extra}
    <bpmn:endEvent id="end" />"""

EVENT_GATEWAY = _file("""
    <bpmn:startEvent id="start" />
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="gw" />
    <bpmn:eventBasedGateway id="gw" />
    <bpmn:sequenceFlow id="f2" sourceRef="gw" targetRef="got_reply" />
    <bpmn:sequenceFlow id="f3" sourceRef="gw" targetRef="too_late" />
    <bpmn:intermediateCatchEvent id="got_reply" name="收到复函">
      <bpmn:messageEventDefinition messageRef="m_reply" />
    </bpmn:intermediateCatchEvent>
    <bpmn:intermediateCatchEvent id="too_late" name="逾期未复">
      <bpmn:timerEventDefinition><bpmn:timeDuration>"P5D"</bpmn:timeDuration></bpmn:timerEventDefinition>
    </bpmn:intermediateCatchEvent>
    <bpmn:sequenceFlow id="f4" sourceRef="got_reply" targetRef="handle" />
    <bpmn:sequenceFlow id="f5" sourceRef="too_late" targetRef="urge" />
    <bpmn:userTask id="handle" name="办理复函" camunda:candidateGroups="clerk" />
    <bpmn:userTask id="urge" name="催办" camunda:candidateGroups="clerk" />
    <bpmn:sequenceFlow id="f6" sourceRef="handle" targetRef="end" />
    <bpmn:sequenceFlow id="f7" sourceRef="urge" targetRef="end2" />
    <bpmn:endEvent id="end" />
    <bpmn:endEvent id="end2" />""")


def _again(engine: Engine, workflow: BpmnWorkflow, d: Definition, restore: bool) -> BpmnWorkflow:
    return engine.restore(engine.dump(workflow), d.content_hash, d.xml) if restore else workflow


@RESTORE
def test_catch_event_and_receive_task_wait_for_their_message_and_take_its_variables(
        engine: Engine, restore: bool) -> None:
    d = definition(CATCH_THEN_RECEIVE)
    workflow = _again(engine, engine.start(d.content_hash, d.xml, {"case_no": "A-1"}), d, restore)
    assert engine.waiting_messages(workflow) == ["复函"]

    # A message nobody waits for changes nothing.
    assert engine.deliver_message(workflow, "补充材料", {"pages": 3}) is False
    workflow = _again(engine, workflow, d, restore)
    assert engine.waiting_messages(workflow) == ["复函"]

    assert engine.deliver_message(workflow, "复函", {"reply": "同意共享"}) is True
    workflow = _again(engine, workflow, d, restore)
    assert engine.waiting_messages(workflow) == ["补充材料"]
    assert engine.data(workflow) == {"case_no": "A-1", "reply": "同意共享"}

    assert engine.deliver_message(workflow, "补充材料", {"pages": 3}) is True
    workflow = _again(engine, workflow, d, restore)
    assert engine.is_completed(workflow)
    assert engine.waiting_messages(workflow) == []
    assert engine.data(workflow) == {"case_no": "A-1", "reply": "同意共享", "pages": 3}


@RESTORE
def test_interrupting_boundary_message_withdraws_the_task(engine: Engine, restore: bool) -> None:
    d = definition(_file(BOUNDARY.format(cancel="true", after="record", extra="""
        <bpmn:userTask id="record" name="登记撤回" camunda:candidateGroups="clerk" />
        <bpmn:sequenceFlow id="f4" sourceRef="record" targetRef="end2" /><bpmn:endEvent id="end2" />""")))
    workflow = _again(engine, engine.start(d.content_hash, d.xml, {}), d, restore)
    assert [t.task_spec for t in engine.ready_user_tasks(workflow)] == ["review"]
    assert engine.waiting_messages(workflow) == ["复函"]

    assert engine.deliver_message(workflow, "复函", {"reason": "申请人撤回"})
    workflow = _again(engine, workflow, d, restore)
    assert [t.task_spec for t in engine.ready_user_tasks(workflow)] == ["record"]
    assert engine.waiting_messages(workflow) == []
    assert engine.data(workflow)["reason"] == "申请人撤回"


@RESTORE
def test_non_interrupting_boundary_message_leaves_the_task_open(
        engine: Engine, restore: bool) -> None:
    d = definition(_file(BOUNDARY.format(cancel="false", after="note", extra="""
        <bpmn:userTask id="note" name="阅知来函" camunda:candidateGroups="clerk" />
        <bpmn:sequenceFlow id="f4" sourceRef="note" targetRef="end2" /><bpmn:endEvent id="end2" />""")))
    workflow = _again(engine, engine.start(d.content_hash, d.xml, {}), d, restore)
    assert engine.deliver_message(workflow, "复函", {"memo": "催问进度"})
    workflow = _again(engine, workflow, d, restore)
    assert sorted(t.task_spec for t in engine.ready_user_tasks(workflow)) == ["note", "review"]
    # SpiffWorkflow catches a non-interrupting boundary event once per activation of its task.
    assert engine.waiting_messages(workflow) == []

    [review] = [t for t in engine.ready_user_tasks(workflow) if t.task_spec == "review"]
    engine.complete_user_task(workflow, review.id, {})
    workflow = _again(engine, workflow, d, restore)
    [note] = engine.ready_user_tasks(workflow)
    assert note.task_spec == "note" and note.data["memo"] == "催问进度"


@RESTORE
def test_event_based_gateway_takes_the_message_branch(engine: Engine, frozen_clock: datetime,
                                                      restore: bool) -> None:
    d = definition(EVENT_GATEWAY)
    workflow = _again(engine, engine.start(d.content_hash, d.xml, {}), d, restore)
    assert engine.waiting_messages(workflow) == ["复函"]
    assert engine.next_timer_at(workflow) == frozen_clock + timedelta(days=5)
    assert engine.deliver_message(workflow, "复函", {"reply": "已复"})
    workflow = _again(engine, workflow, d, restore)
    assert [t.task_spec for t in engine.ready_user_tasks(workflow)] == ["handle"]
    assert engine.waiting_messages(workflow) == [] and engine.next_timer_at(workflow) is None


@RESTORE
def test_event_based_gateway_takes_the_timer_branch_when_no_answer_comes(
        engine: Engine, frozen_clock: datetime, restore: bool) -> None:
    d = definition(EVENT_GATEWAY)
    workflow = _again(engine, engine.start(d.content_hash, d.xml, {}), d, restore)
    engine.fire_timers(workflow, frozen_clock + timedelta(days=5))
    workflow = _again(engine, workflow, d, restore)
    assert [t.task_spec for t in engine.ready_user_tasks(workflow)] == ["urge"]
    assert engine.waiting_messages(workflow) == []
    assert engine.deliver_message(workflow, "复函", {}) is False


def _problems(xml: bytes) -> list[tuple[str | None, str]]:
    with pytest.raises(BpmnRejected) as exc:
        describe(xml)
    return [(element, code) for element, _, code in exc.value.problems]


def test_throw_events_and_send_tasks_are_refused_at_deploy() -> None:
    problems = _problems(_file("""
        <bpmn:startEvent id="start" />
        <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="notify" />
        <bpmn:intermediateThrowEvent id="notify"><bpmn:messageEventDefinition messageRef="m_reply" />
        </bpmn:intermediateThrowEvent>
        <bpmn:sequenceFlow id="f2" sourceRef="notify" targetRef="send" />
        <bpmn:sendTask id="send" messageRef="m_reply" />
        <bpmn:sequenceFlow id="f3" sourceRef="send" targetRef="end" />
        <bpmn:endEvent id="end"><bpmn:messageEventDefinition messageRef="m_reply" /></bpmn:endEvent>"""))
    assert ("notify", "message") in problems
    assert ("end", "message") in problems and ("send", "unsupported") in problems


MESSAGE_START = _file("""
    <bpmn:startEvent id="start" name="收到申请"><bpmn:messageEventDefinition messageRef="m_reply" /></bpmn:startEvent>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="review" />
    <bpmn:userTask id="review" name="审核" camunda:candidateGroups="reviewer" />
    <bpmn:sequenceFlow id="f2" sourceRef="review" targetRef="end" />
    <bpmn:endEvent id="end" />""")


@RESTORE
def test_a_message_start_event_makes_the_started_instance_wait_for_its_message(
        engine: Engine, restore: bool) -> None:
    # As SpiffWorkflow runs it: started like any instance, it waits at the start for the message.
    d = definition(MESSAGE_START)
    workflow = _again(engine, engine.start(d.content_hash, d.xml, {"case_no": "A-2"}), d, restore)
    assert engine.waiting_messages(workflow) == ["复函"]
    assert engine.ready_user_tasks(workflow) == []
    assert engine.deliver_message(workflow, "复函", {"reply": "申请书"}) is True
    workflow = _again(engine, workflow, d, restore)
    assert [t.task_spec for t in engine.ready_user_tasks(workflow)] == ["review"]
    assert engine.waiting_messages(workflow) == []
    assert engine.data(workflow) == {"case_no": "A-2", "reply": "申请书"}


def test_an_event_subprocess_message_start_is_refused_naming_it() -> None:
    problems = _problems(_file("""
        <bpmn:startEvent id="start" />
        <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="end" />
        <bpmn:endEvent id="end" />
        <bpmn:subProcess id="on_withdraw" triggeredByEvent="true">
          <bpmn:startEvent id="withdrawn"><bpmn:messageEventDefinition messageRef="m_reply" /></bpmn:startEvent>
          <bpmn:sequenceFlow id="g1" sourceRef="withdrawn" targetRef="done" />
          <bpmn:endEvent id="done" />
        </bpmn:subProcess>"""))
    assert ("withdrawn", "message") in problems


def test_a_catch_must_say_which_message_it_waits_for() -> None:
    problems = _problems(_file("""
        <bpmn:startEvent id="start" />
        <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="wait" />
        <bpmn:intermediateCatchEvent id="wait"><bpmn:messageEventDefinition /></bpmn:intermediateCatchEvent>
        <bpmn:sequenceFlow id="f2" sourceRef="wait" targetRef="rcv" />
        <bpmn:receiveTask id="rcv" name="接收" />
        <bpmn:sequenceFlow id="f3" sourceRef="rcv" targetRef="gone" />
        <bpmn:receiveTask id="gone" messageRef="m_missing" />
        <bpmn:sequenceFlow id="f4" sourceRef="gone" targetRef="end" />
        <bpmn:endEvent id="end" />"""))
    assert problems == [("wait", "message"), ("rcv", "message"), ("gone", "message")]


UNNAMED = _file("""
    <bpmn:startEvent id="start" />
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="wait" />
    <bpmn:intermediateCatchEvent id="wait" name="收到回执"><bpmn:messageEventDefinition /></bpmn:intermediateCatchEvent>
    <bpmn:sequenceFlow id="f2" sourceRef="wait" targetRef="rcv" />
    <bpmn:receiveTask id="rcv" messageRef="m_unnamed" />
    <bpmn:sequenceFlow id="f3" sourceRef="rcv" targetRef="end" />
    <bpmn:endEvent id="end" />""", messages='<bpmn:message id="m_unnamed" />')


@RESTORE
def test_a_catch_without_a_message_name_is_delivered_by_its_own_name_or_the_message_id(
        engine: Engine, restore: bool) -> None:
    # As SpiffWorkflow reads them (its own test diagrams are drawn so): no messageRef, the event's name;
    # a bpmn:message without a name, its id.
    d = definition(UNNAMED)
    workflow = _again(engine, engine.start(d.content_hash, d.xml, {}), d, restore)
    assert engine.waiting_messages(workflow) == ["收到回执"]
    assert engine.deliver_message(workflow, "收到回执", {"receipt": "R-1"}) is True
    workflow = _again(engine, workflow, d, restore)
    assert engine.waiting_messages(workflow) == ["m_unnamed"]
    assert engine.deliver_message(workflow, "m_unnamed", {"pages": 2}) is True
    workflow = _again(engine, workflow, d, restore)
    assert engine.is_completed(workflow)
    assert engine.data(workflow) == {"receipt": "R-1", "pages": 2}


def test_a_process_with_a_catch_is_described_as_waiting_for_messages() -> None:
    assert describe(CATCH_THEN_RECEIVE).has_messages is True
    assert describe(EVENT_GATEWAY).has_messages is True


@RESTORE
def test_a_called_process_waiting_for_a_message_catches_it(engine: Engine, restore: bool) -> None:
    d = definition(_file("""
    <bpmn:startEvent id="start" />
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="ask" />
    <bpmn:callActivity id="ask" calledElement="test_ask_province" />
    <bpmn:sequenceFlow id="f2" sourceRef="ask" targetRef="end" />
    <bpmn:endEvent id="end" />
  </bpmn:process>
  <bpmn:process id="test_ask_province" isExecutable="true">
    <bpmn:startEvent id="a_start" />
    <bpmn:sequenceFlow id="a1" sourceRef="a_start" targetRef="a_wait" />
    <bpmn:intermediateCatchEvent id="a_wait"><bpmn:messageEventDefinition messageRef="m_reply" />
    </bpmn:intermediateCatchEvent>
    <bpmn:sequenceFlow id="a2" sourceRef="a_wait" targetRef="a_end" />
    <bpmn:endEvent id="a_end" />"""))
    workflow = _again(engine, engine.start(d.content_hash, d.xml, {}), d, restore)
    assert engine.waiting_messages(workflow) == ["复函"]
    assert engine.deliver_message(workflow, "复函", {"reply": "省厅同意"})
    workflow = _again(engine, workflow, d, restore)
    assert engine.is_completed(workflow) and engine.data(workflow)["reply"] == "省厅同意"
